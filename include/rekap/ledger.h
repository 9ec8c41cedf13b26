// rekap: the append-only ledger: events, their canonical encoding, hash links, Merkle
// sealing (RFC 9162 hashing), signed batch heads and inclusion proofs.
//
// The byte format is specified as a grammar in docs/ledger.md; Encode() is the only
// producer and Decode() the only consumer. Encoding is canonical: one Event has exactly
// one encoding, and Decode(Encode(e)) == e; Decode rejects any other byte string (trailing
// bytes, non-minimal forms, unknown kinds, out-of-range fields).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rekap/status.h"

namespace rekap {

using Hash = std::array<uint8_t, 32>;  // SHA-256
std::string ToHex(const Hash& h);
Result<Hash> HashFromHex(std::string_view hex);
Hash Sha256(std::string_view bytes);

enum class EventKind : uint8_t {
  kSubmission = 1,   // a result for (contest, tps) from one source (KPPS, witness, import)
  kCorrection = 2,   // an authorized change of the current values, with reason and previous values
  kAcceptance = 3,   // an authorized acceptance of a flagged result as it stands, with reason
  kObjection = 4,    // reserved: an objection (keberatan) recorded against a result
  kAdoption = 5,     // reserved: a level adopts its recap (D.Hasil), locking it
  kPublication = 6,  // reserved: a publication of results
};
std::string_view EventKindName(EventKind k);

struct FieldValue {
  uint16_t field = 0;  // field index in the bound form of the contest
  int32_t value = 0;   // 0..999, or -1 (kMissing) only in `previous`
  bool operator==(const FieldValue&) const = default;
};

struct Event {
  uint64_t seq = 0;            // global position, 1-based, contiguous
  EventKind kind = EventKind::kSubmission;
  int64_t time_ms = 0;         // wall clock at append, Unix ms
  std::string contest;         // contest id
  std::string subject;         // TPS id (13 digits) or region code for level events
  std::string source;          // "kpps", "saksi:01", "import:kpu-dki-2024", ...
  std::string author;          // who: user or process
  std::string reason;          // required for corrections and acceptances
  Hash prev{};                 // hash of the previous event of the same (contest, subject); zero if first
  std::optional<Hash> photo;   // SHA-256 of the photo the values came from
  std::vector<FieldValue> values;    // sorted by field, unique; the full new values
  std::vector<FieldValue> previous;  // corrections: the values being replaced, sorted
  bool operator==(const Event&) const = default;
};

// OK if `e` satisfies every rule of the encoding (string bounds, UTF-8 without NUL, fields
// strictly increasing, values in range); otherwise kInvalidArgument naming the field and rule.
// Callers holding untrusted data check with this before Encode().
Status CheckEncodable(const Event& e);
// Canonical bytes of `e` (docs/ledger.md). Precondition: CheckEncodable(e).ok() (asserted).
std::string Encode(const Event& e);
// Parses canonical bytes; any deviation is kDataLoss naming the offset and the rule.
Result<Event> Decode(std::string_view bytes);
// SHA-256 over the canonical bytes. Links and receipts use this.
Hash EventHash(std::string_view encoded);

// RFC 9162 §2.1.1 hashing: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || l || r).
Hash MerkleLeafHash(std::string_view leaf_data);
Hash MerkleNodeHash(const Hash& left, const Hash& right);
// Merkle Tree Hash (MTH) of the given leaf hashes; empty list -> SHA-256("").
Hash MerkleRoot(const std::vector<Hash>& leaf_hashes);
// Audit path for leaf `index` in a tree of leaf_hashes.size() leaves (RFC 9162 §2.1.3.1).
std::vector<Hash> InclusionProof(const std::vector<Hash>& leaf_hashes, size_t index);
// Verifies an audit path (RFC 9162 §2.1.3.2).
bool VerifyInclusion(const Hash& leaf_hash, size_t index, size_t tree_size,
                     const std::vector<Hash>& proof, const Hash& root);

// A sealed batch: events [first_seq, first_seq + size) form one Merkle tree whose leaves
// are the events' canonical bytes. Heads chain by `prev_head`.
struct BatchHead {
  uint64_t batch = 0;          // 1-based, contiguous
  uint64_t first_seq = 0;
  uint64_t size = 0;
  int64_t time_ms = 0;
  Hash root{};
  Hash prev_head{};            // HeadHash of batch - 1, zero for batch 1
  std::array<uint8_t, 64> signature{};  // Ed25519 over EncodeHeadForSigning(*this)
  bool operator==(const BatchHead&) const = default;
};
// Canonical bytes of a head, excluding the signature (what is signed).
std::string EncodeHeadForSigning(const BatchHead& h);
Hash HeadHash(const BatchHead& h);

// Ed25519 key pair (libsodium).
class Signer {
 public:
  static Signer Generate();
  // From a 32-byte seed (deterministic; tests).
  static Signer FromSeed(const std::array<uint8_t, 32>& seed);
  // secret_key: 64 bytes as libsodium stores it.
  static Result<Signer> FromSecretKey(std::string_view secret_key);
  const std::array<uint8_t, 32>& public_key() const { return pk_; }
  std::string secret_key() const;
  std::array<uint8_t, 64> Sign(std::string_view message) const;

 private:
  std::array<uint8_t, 32> pk_{};
  std::array<uint8_t, 64> sk_{};
};
bool VerifySignature(const std::array<uint8_t, 32>& public_key, std::string_view message,
                     const std::array<uint8_t, 64>& signature);

// Signs `head` in place.
void SignHead(const Signer& signer, BatchHead* head);
bool VerifyHead(const std::array<uint8_t, 32>& public_key, const BatchHead& head);

// A receipt for one event: enough to check it against a published signed head offline.
struct Receipt {
  uint64_t seq = 0;
  Hash event_hash{};
  BatchHead head;
  uint64_t index = 0;               // leaf index in the batch
  std::vector<Hash> proof;
};
// Checks the leaf and path against head.root and the head's signature.
bool VerifyReceipt(const std::array<uint8_t, 32>& public_key, std::string_view encoded_event,
                   const Receipt& r);

}  // namespace rekap
