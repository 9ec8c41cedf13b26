// Tests of Ed25519 keys, signed batch heads and receipts.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "rekap/ledger.h"

namespace rekap {
namespace {

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

template <size_t N>
std::string Hex(const std::array<uint8_t, N>& a) {
  static constexpr char kD[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : a) {
    s += kD[b >> 4];
    s += kD[b & 15];
  }
  return s;
}

std::array<uint8_t, 32> Seed(uint8_t b) {
  std::array<uint8_t, 32> s;
  s.fill(b);
  return s;
}

// ---- keys and signatures --------------------------------------------------------------------

// RFC 8032 §7.1, TEST 1 (empty message).
TEST(SignEd25519, Rfc8032KnownAnswer) {
  const std::string seed_bytes =
      Unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  std::array<uint8_t, 32> seed;
  std::copy(seed_bytes.begin(), seed_bytes.end(), seed.begin());
  const Signer s = Signer::FromSeed(seed);
  EXPECT_EQ(Hex(s.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const auto sig = s.Sign("");
  EXPECT_EQ(Hex(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
            "39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(VerifySignature(s.public_key(), "", sig));
}

TEST(SignEd25519, FromSeedIsDeterministic) {
  const Signer a = Signer::FromSeed(Seed(7)), b = Signer::FromSeed(Seed(7));
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_EQ(a.secret_key(), b.secret_key());
  EXPECT_EQ(a.Sign("hello"), b.Sign("hello"));  // Ed25519 signatures are deterministic
  EXPECT_NE(Signer::FromSeed(Seed(8)).public_key(), a.public_key());
  EXPECT_NE(Signer::Generate().public_key(), Signer::Generate().public_key());
}

TEST(SignEd25519, SignAndVerify) {
  const Signer s = Signer::FromSeed(Seed(1));
  const Signer other = Signer::FromSeed(Seed(2));
  const std::string msg = "hasil TPS 001";
  const auto sig = s.Sign(msg);
  EXPECT_TRUE(VerifySignature(s.public_key(), msg, sig));
  EXPECT_FALSE(VerifySignature(other.public_key(), msg, sig));
  EXPECT_FALSE(VerifySignature(s.public_key(), "hasil TPS 002", sig));
  EXPECT_FALSE(VerifySignature(s.public_key(), msg + '\0', sig));
  for (size_t i = 0; i < sig.size(); ++i) {
    auto bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifySignature(s.public_key(), msg, bad)) << "byte " << i;
  }
}

TEST(SignEd25519, SecretKeyRoundTripAndRejection) {
  const Signer s = Signer::Generate();
  const std::string sk = s.secret_key();
  ASSERT_EQ(sk.size(), 64u);
  Result<Signer> back = Signer::FromSecretKey(sk);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->public_key(), s.public_key());
  EXPECT_TRUE(VerifySignature(s.public_key(), "m", back->Sign("m")));

  Result<Signer> short_key = Signer::FromSecretKey(sk.substr(0, 32));
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(short_key.status().message(), ::testing::HasSubstr("64 bytes"));

  std::string corrupt = sk;
  corrupt[40] ^= 0x01;  // the public half no longer matches the seed
  Result<Signer> bad = Signer::FromSecretKey(corrupt);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST(SignEd25519, ThreadSafeFirstUse) {
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t, &ok] {
      const Signer s = Signer::Generate();
      const std::string m = "thread " + std::to_string(t);
      ok[t] = VerifySignature(s.public_key(), m, s.Sign(m));
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_TRUE(ok[t]) << t;
}

// ---- heads ----------------------------------------------------------------------------------

BatchHead SampleHead() {
  BatchHead h;
  h.batch = 3;
  h.first_seq = 201;
  h.size = 100;
  h.time_ms = 1707879600000;
  h.root.fill(0xaa);
  h.prev_head.fill(0xbb);
  return h;
}

TEST(SignHead, SigningBytesLayout) {
  const BatchHead h = SampleHead();
  const std::string b = EncodeHeadForSigning(h);
  EXPECT_EQ(b, Unhex("524b4801"
                     "0000000000000003"
                     "00000000000000c9"
                     "0000000000000064"
                     "0000018da58e8f80") +
                   std::string(32, '\xaa') + std::string(32, '\xbb'));
  // The signature is not part of what is signed.
  BatchHead signed_head = h;
  SignHead(Signer::FromSeed(Seed(1)), &signed_head);
  EXPECT_EQ(EncodeHeadForSigning(signed_head), b);
}

TEST(SignHead, SignVerifyAndTamper) {
  const Signer s = Signer::FromSeed(Seed(3));
  BatchHead h = SampleHead();
  SignHead(s, &h);
  ASSERT_TRUE(VerifyHead(s.public_key(), h));
  EXPECT_FALSE(VerifyHead(Signer::FromSeed(Seed(4)).public_key(), h));

  void (*tampers[])(BatchHead*) = {
      [](BatchHead* x) { x->batch++; },
      [](BatchHead* x) { x->first_seq++; },
      [](BatchHead* x) { x->size--; },
      [](BatchHead* x) { x->time_ms++; },
      [](BatchHead* x) { x->root[0] ^= 1; },
      [](BatchHead* x) { x->prev_head[31] ^= 1; },
      [](BatchHead* x) { x->signature[10] ^= 1; },
  };
  for (auto tamper : tampers) {
    BatchHead t = h;
    tamper(&t);
    EXPECT_FALSE(VerifyHead(s.public_key(), t));
  }
}

TEST(SignHead, HeadHashCoversTheSignature) {
  BatchHead h = SampleHead();
  SignHead(Signer::FromSeed(Seed(5)), &h);
  const std::string sig(h.signature.begin(), h.signature.end());
  EXPECT_EQ(HeadHash(h), Sha256(EncodeHeadForSigning(h) + sig));
  BatchHead other = h;
  other.signature[0] ^= 1;
  EXPECT_NE(HeadHash(other), HeadHash(h));
  other = h;
  other.prev_head[0] ^= 1;
  EXPECT_NE(HeadHash(other), HeadHash(h));
}

// ---- receipts -------------------------------------------------------------------------------

class ReceiptTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kFirstSeq = 1001;
  static constexpr size_t kSize = 13;

  void SetUp() override {
    // A batch of events; each links to the previous event of the same (contest, subject).
    std::map<std::string, Hash> last;
    std::vector<Hash> leaves;
    for (size_t i = 0; i < kSize; ++i) {
      Event e;
      e.seq = kFirstSeq + i;
      e.kind = EventKind::kSubmission;
      e.time_ms = 1707879600000 + static_cast<int64_t>(i);
      e.contest = i % 2 ? "ppwp" : "dpr";
      e.subject = "317101000100" + std::to_string(i % 3);
      e.source = "kpps";
      e.author = "kpps:" + e.subject;
      e.prev = last[e.contest + "/" + e.subject];
      e.values = {{0, static_cast<int32_t>(i)}, {1, 200}};
      encoded_.push_back(Encode(e));
      last[e.contest + "/" + e.subject] = EventHash(encoded_.back());
      leaves.push_back(MerkleLeafHash(encoded_.back()));
    }
    head_.batch = 11;
    head_.first_seq = kFirstSeq;
    head_.size = kSize;
    head_.time_ms = 1707879700000;
    head_.root = MerkleRoot(leaves);
    head_.prev_head.fill(0x42);
    SignHead(signer_, &head_);
    for (size_t i = 0; i < kSize; ++i) {
      Receipt r;
      r.seq = kFirstSeq + i;
      r.event_hash = EventHash(encoded_[i]);
      r.head = head_;
      r.index = i;
      r.proof = InclusionProof(leaves, i);
      receipts_.push_back(r);
    }
  }

  Signer signer_ = Signer::FromSeed(Seed(9));
  BatchHead head_;
  std::vector<std::string> encoded_;
  std::vector<Receipt> receipts_;
};

TEST_F(ReceiptTest, EveryReceiptVerifies) {
  for (size_t i = 0; i < kSize; ++i) {
    EXPECT_TRUE(VerifyReceipt(signer_.public_key(), encoded_[i], receipts_[i])) << i;
  }
}

TEST_F(ReceiptTest, TamperedEventFails) {
  const Receipt& r = receipts_[5];
  const std::string& ev = encoded_[5];
  for (size_t i = 0; i < ev.size(); ++i) {
    std::string bad = ev;
    bad[i] ^= 0x04;
    EXPECT_FALSE(VerifyReceipt(signer_.public_key(), bad, r)) << "byte " << i;
  }
  EXPECT_FALSE(VerifyReceipt(signer_.public_key(), encoded_[6], r));  // another event
  // The event hash in the receipt matching tampered bytes does not help: the leaf is not in
  // the tree.
  std::string bad = ev;
  bad[bad.size() - 1] ^= 0x01;
  Receipt forged = r;
  forged.event_hash = EventHash(bad);
  EXPECT_FALSE(VerifyReceipt(signer_.public_key(), bad, forged));
}

TEST_F(ReceiptTest, TamperedReceiptFails) {
  const auto pk = signer_.public_key();
  const std::string& ev = encoded_[4];
  std::vector<void (*)(Receipt*)> tampers = {
      [](Receipt* r) { r->event_hash[0] ^= 1; },
      [](Receipt* r) { r->seq++; },
      [](Receipt* r) { r->index++; },
      [](Receipt* r) { r->index--; },
      [](Receipt* r) { r->proof[1][7] ^= 1; },
      [](Receipt* r) { r->proof.pop_back(); },
      [](Receipt* r) { r->proof.push_back(r->proof.back()); },
      [](Receipt* r) { r->head.root[3] ^= 1; },
      [](Receipt* r) { r->head.size++; },
      [](Receipt* r) { r->head.first_seq--; },
      [](Receipt* r) { r->head.batch++; },
      [](Receipt* r) { r->head.signature[0] ^= 1; },
  };
  for (size_t i = 0; i < tampers.size(); ++i) {
    Receipt r = receipts_[4];
    tampers[i](&r);
    EXPECT_FALSE(VerifyReceipt(pk, ev, r)) << "tamper " << i;
  }
  EXPECT_FALSE(VerifyReceipt(Signer::FromSeed(Seed(10)).public_key(), ev, receipts_[4]));
  // A re-signed head over a forged root by another key fails under the real key.
  Receipt r = receipts_[4];
  r.head.root[0] ^= 1;
  SignHead(Signer::FromSeed(Seed(10)), &r.head);
  EXPECT_FALSE(VerifyReceipt(pk, ev, r));
}

// A head whose leaves are not in seq order: the path and the signature check out, but the
// leaf at index i is not event first_seq + i, so the receipt proves nothing about that seq.
TEST_F(ReceiptTest, EventAtTheWrongPositionFails) {
  std::vector<std::string> swapped = encoded_;
  std::swap(swapped[2], swapped[3]);
  std::vector<Hash> leaves;
  for (const std::string& e : swapped) leaves.push_back(MerkleLeafHash(e));
  BatchHead h = head_;
  h.root = MerkleRoot(leaves);
  SignHead(signer_, &h);
  Receipt r;
  r.seq = kFirstSeq + 2;  // what the event says
  r.event_hash = EventHash(encoded_[2]);
  r.head = h;
  r.index = 3;  // where it really sits
  r.proof = InclusionProof(leaves, 3);
  ASSERT_TRUE(VerifyInclusion(MerkleLeafHash(encoded_[2]), 3, kSize, r.proof, h.root));
  ASSERT_TRUE(VerifyHead(signer_.public_key(), h));
  EXPECT_FALSE(VerifyReceipt(signer_.public_key(), encoded_[2], r));
  r.seq = kFirstSeq + 3;  // consistent with the position, but not with the event
  EXPECT_FALSE(VerifyReceipt(signer_.public_key(), encoded_[2], r));
}

}  // namespace
}  // namespace rekap
