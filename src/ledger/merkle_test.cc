// Tests of RFC 9162 §2.1 hashing: MTH, audit paths and their verification.

#include <gtest/gtest.h>

#include <string>
#include <string_view>
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

Hash H(std::string_view hex) { return *HashFromHex(hex); }

std::string Bytes(const Hash& h) { return std::string(h.begin(), h.end()); }

// ---- a direct transcription of RFC 9162 §2.1.1 and §2.1.3.1, recursive ----------------------

size_t Split(size_t n) {  // largest power of two smaller than n
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash RefMth(const std::vector<Hash>& d, size_t lo, size_t hi) {
  const size_t n = hi - lo;
  if (n == 0) return Sha256("");
  if (n == 1) return d[lo];
  const size_t k = Split(n);
  return Sha256("\x01" + Bytes(RefMth(d, lo, lo + k)) + Bytes(RefMth(d, lo + k, hi)));
}

std::vector<Hash> RefPath(size_t m, const std::vector<Hash>& d, size_t lo, size_t hi) {
  const size_t n = hi - lo;
  if (n <= 1) return {};
  const size_t k = Split(n);
  std::vector<Hash> p;
  if (m < k) {
    p = RefPath(m, d, lo, lo + k);
    p.push_back(RefMth(d, lo + k, hi));
  } else {
    p = RefPath(m - k, d, lo + k, hi);
    p.push_back(RefMth(d, lo, lo + k));
  }
  return p;
}

std::vector<Hash> Leaves(size_t n) {
  std::vector<Hash> v;
  for (size_t i = 0; i < n; ++i) v.push_back(MerkleLeafHash("leaf " + std::to_string(i)));
  return v;
}

// The Certificate Transparency reference inputs and tree heads (RFC 6962 hashing, which
// RFC 9162 keeps), as used by the CT and Trillian test suites.
const std::vector<std::string> kCtLeaves = {"",
                                            "00",
                                            "10",
                                            "2021",
                                            "3031",
                                            "40414243",
                                            "5051525354555657",
                                            "606162636465666768696a6b6c6d6e6f"};
const std::vector<std::string> kCtRoots = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

std::vector<Hash> CtLeafHashes(size_t n) {
  std::vector<Hash> v;
  for (size_t i = 0; i < n; ++i) v.push_back(MerkleLeafHash(Unhex(kCtLeaves[i])));
  return v;
}

TEST(MerkleHash, KnownAnswers) {
  // MTH({}) = SHA-256("").
  EXPECT_EQ(ToHex(MerkleRoot({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Domain separation: leaf = SHA-256(0x00 || d), node = SHA-256(0x01 || l || r).
  EXPECT_EQ(MerkleLeafHash("abc"), Sha256(std::string("\0abc", 4)));
  EXPECT_NE(MerkleLeafHash("abc"), Sha256("abc"));
  const Hash l = Sha256("l"), r = Sha256("r");
  EXPECT_EQ(MerkleNodeHash(l, r), Sha256("\x01" + Bytes(l) + Bytes(r)));
  EXPECT_NE(MerkleNodeHash(l, r), MerkleNodeHash(r, l));
}

TEST(MerkleHash, CertificateTransparencyReferenceRoots) {
  for (size_t n = 1; n <= kCtLeaves.size(); ++n) {
    EXPECT_EQ(ToHex(MerkleRoot(CtLeafHashes(n))), kCtRoots[n - 1]) << "size " << n;
  }
}

TEST(MerkleProof, CertificateTransparencyReferencePaths) {
  struct Vector {
    size_t index, size;
    std::vector<std::string> path;
  };
  const Vector vectors[] = {
      {0,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5,
       8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1,
       5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Vector& v : vectors) {
    const std::vector<Hash> leaves = CtLeafHashes(v.size);
    std::vector<Hash> want;
    for (const std::string& h : v.path) want.push_back(H(h));
    EXPECT_EQ(InclusionProof(leaves, v.index), want) << v.index << "/" << v.size;
    EXPECT_TRUE(VerifyInclusion(leaves[v.index], v.index, v.size, want, H(kCtRoots[v.size - 1])));
  }
}

TEST(MerkleHash, RootEqualsRecursiveMthForEverySize) {
  const std::vector<Hash> all = Leaves(1100);
  for (size_t n = 0; n <= 70; ++n) {
    std::vector<Hash> d(all.begin(), all.begin() + n);
    ASSERT_EQ(MerkleRoot(d), RefMth(d, 0, n)) << "n = " << n;
  }
  for (size_t n : {127, 128, 129, 255, 256, 257, 1000, 1023, 1024, 1025, 1100}) {
    std::vector<Hash> d(all.begin(), all.begin() + n);
    ASSERT_EQ(MerkleRoot(d), RefMth(d, 0, n)) << "n = " << n;
  }
}

TEST(MerkleProof, EveryLeafOfEveryTreeUpTo70) {
  const std::vector<Hash> all = Leaves(70);
  for (size_t n = 1; n <= 70; ++n) {
    const std::vector<Hash> d(all.begin(), all.begin() + n);
    const Hash root = MerkleRoot(d);
    Hash wrong_root = root;
    wrong_root[31] ^= 1;
    for (size_t m = 0; m < n; ++m) {
      SCOPED_TRACE("n = " + std::to_string(n) + ", index = " + std::to_string(m));
      const std::vector<Hash> path = InclusionProof(d, m);
      ASSERT_EQ(path, RefPath(m, d, 0, n));
      ASSERT_TRUE(VerifyInclusion(d[m], m, n, path, root));

      // Wrong root, wrong leaf.
      EXPECT_FALSE(VerifyInclusion(d[m], m, n, path, wrong_root));
      EXPECT_FALSE(VerifyInclusion(Sha256("other"), m, n, path, root));
      // Every other index, and indexes past the end.
      for (size_t w = 0; w < n + 2; ++w) {
        if (w != m) {
          EXPECT_FALSE(VerifyInclusion(d[m], w, n, path, root)) << "wrong index " << w;
        }
      }
      // Every path element modified (one bit), path shortened or extended.
      for (size_t i = 0; i < path.size(); ++i) {
        std::vector<Hash> bad = path;
        bad[i][i % 32] ^= 0x80;
        EXPECT_FALSE(VerifyInclusion(d[m], m, n, bad, root)) << "element " << i;
      }
      if (!path.empty()) {
        std::vector<Hash> shorter(path.begin(), path.end() - 1);
        EXPECT_FALSE(VerifyInclusion(d[m], m, n, shorter, root));
      }
      std::vector<Hash> longer = path;
      longer.push_back(root);
      EXPECT_FALSE(VerifyInclusion(d[m], m, n, longer, root));
      // The tree size is not authenticated by the path itself: for n = 3, index 0 the
      // same path also verifies as size 4 (both climb H(H(d0, d1), p)). The signed head binds
      // size and root together, which is why receipts take the size from the head.
    }
  }
}

TEST(MerkleProof, DegenerateInputs) {
  const Hash leaf = MerkleLeafHash("x");
  // A single-leaf tree: the root is the leaf hash and the path is empty.
  EXPECT_EQ(MerkleRoot({leaf}), leaf);
  EXPECT_TRUE(InclusionProof({leaf}, 0).empty());
  EXPECT_TRUE(VerifyInclusion(leaf, 0, 1, {}, leaf));
  EXPECT_FALSE(VerifyInclusion(leaf, 0, 0, {}, leaf));  // empty tree holds nothing
  EXPECT_FALSE(VerifyInclusion(leaf, 1, 1, {}, leaf));
  EXPECT_FALSE(VerifyInclusion(leaf, 0, 2, {}, leaf));  // path too short for the size
  // The path does not authenticate the size (see above): the size-3 path of leaf 0 also
  // climbs to the size-3 root when read as size 4. Only the signed head binds the size.
  const std::vector<Hash> d = Leaves(3);
  EXPECT_TRUE(VerifyInclusion(d[0], 0, 4, InclusionProof(d, 0), MerkleRoot(d)));
}

}  // namespace
}  // namespace rekap
