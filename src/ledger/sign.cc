// rekap: Ed25519 keys (libsodium), signed batch heads and receipts.

#include <sodium.h>

#include <cassert>
#include <cstdlib>
#include <cstring>

#include "rekap/ledger.h"

namespace rekap {
namespace {

// libsodium must be initialized before its random and signing functions; sodium_init() is
// idempotent and thread-safe, and the magic static makes the call once per process.
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // no usable randomness: nothing safe to do
}

constexpr char kHeadMagic[3] = {'R', 'K', 'H'};
constexpr uint8_t kHeadVersion = 0x01;
constexpr size_t kHeadSigningSize = 4 + 8 * 4 + 32 + 32;

char* Put64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (56 - 8 * i));
  return p + 8;
}

std::string_view View(const uint8_t* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

}  // namespace

// ---- keys ----------------------------------------------------------------------------------

Signer Signer::Generate() {
  EnsureSodium();
  Signer s;
  crypto_sign_keypair(s.pk_.data(), s.sk_.data());
  return s;
}

Signer Signer::FromSeed(const std::array<uint8_t, 32>& seed) {
  EnsureSodium();
  Signer s;
  crypto_sign_seed_keypair(s.pk_.data(), s.sk_.data(), seed.data());
  return s;
}

Result<Signer> Signer::FromSecretKey(std::string_view secret_key) {
  EnsureSodium();
  static_assert(crypto_sign_SECRETKEYBYTES == 64 && crypto_sign_PUBLICKEYBYTES == 32);
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    return InvalidArgument(
        "secret_key: harus 64 byte / must be 64 bytes (seed || public key), got " +
        std::to_string(secret_key.size()));
  }
  // libsodium's secret key is seed || public key: rebuild it from the seed and insist the
  // stored public half matches, so a corrupted key file is caught here, not at verification.
  std::array<uint8_t, 32> seed;
  std::memcpy(seed.data(), secret_key.data(), 32);
  Signer s = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  if (sodium_memcmp(s.sk_.data(), secret_key.data(), 64) != 0) {
    return InvalidArgument(
        "secret_key: kunci publik tidak cocok dengan seed / public half does not match the seed");
  }
  return s;
}

std::string Signer::secret_key() const { return std::string(View(sk_.data(), sk_.size())); }

std::array<uint8_t, 64> Signer::Sign(std::string_view message) const {
  EnsureSodium();
  std::array<uint8_t, 64> sig;
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), sk_.data());
  return sig;
}

bool VerifySignature(const std::array<uint8_t, 32>& public_key, std::string_view message,
                     const std::array<uint8_t, 64>& signature) {
  EnsureSodium();
  return crypto_sign_verify_detached(signature.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), public_key.data()) == 0;
}

// ---- heads ---------------------------------------------------------------------------------

std::string EncodeHeadForSigning(const BatchHead& h) {
  std::string out(kHeadSigningSize, '\0');
  char* p = out.data();
  std::memcpy(p, kHeadMagic, 3);
  p[3] = static_cast<char>(kHeadVersion);
  p += 4;
  p = Put64(p, h.batch);
  p = Put64(p, h.first_seq);
  p = Put64(p, h.size);
  p = Put64(p, static_cast<uint64_t>(h.time_ms));
  std::memcpy(p, h.root.data(), 32);
  std::memcpy(p + 32, h.prev_head.data(), 32);
  return out;
}

Hash HeadHash(const BatchHead& h) {
  std::string bytes = EncodeHeadForSigning(h);
  bytes.append(View(h.signature.data(), h.signature.size()));
  return Sha256(bytes);
}

void SignHead(const Signer& signer, BatchHead* head) {
  assert(head != nullptr);
  head->signature = signer.Sign(EncodeHeadForSigning(*head));
}

bool VerifyHead(const std::array<uint8_t, 32>& public_key, const BatchHead& head) {
  return VerifySignature(public_key, EncodeHeadForSigning(head), head.signature);
}

// ---- receipts ------------------------------------------------------------------------------

bool VerifyReceipt(const std::array<uint8_t, 32>& public_key, std::string_view encoded_event,
                   const Receipt& r) {
  // The receipt must be about the event it carries: the bytes hash to event_hash, they are a
  // canonical event, and that event's seq is the receipt's seq, at leaf seq - first_seq.
  if (EventHash(encoded_event) != r.event_hash) return false;
  Result<Event> e = Decode(encoded_event);
  if (!e.ok() || e->seq != r.seq) return false;
  if (r.seq < r.head.first_seq || r.seq - r.head.first_seq != r.index) return false;
  if (r.index >= r.head.size) return false;
  static_assert(sizeof(size_t) >= sizeof(uint64_t));
  // The leaf is in the tree the head commits to ...
  if (!VerifyInclusion(MerkleLeafHash(encoded_event), static_cast<size_t>(r.index),
                       static_cast<size_t>(r.head.size), r.proof, r.head.root)) {
    return false;
  }
  // ... and the head is signed by the key.
  return VerifyHead(public_key, r.head);
}

}  // namespace rekap
