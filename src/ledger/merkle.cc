// rekap: RFC 9162 §2.1 Merkle Tree Hash, audit paths and their verification.

#include <sodium.h>

#include "sha256.h"

#include <algorithm>
#include <array>
#include <cassert>

#include "rekap/ledger.h"

namespace rekap {
namespace {

// Largest power of two strictly smaller than n (n >= 2).
size_t SplitPoint(size_t n) {
  assert(n >= 2);
  size_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

// MTH(D[0:n]) of the n leaf hashes at `leaves`, n >= 1, without recursion and without
// allocation. A stack keeps the roots of the perfect subtrees of the leaves seen so far
// (sizes = the binary digits of the count, largest first); folding it from the right gives
// exactly the RFC's split at the largest power of two smaller than n, recursively.
Hash RangeRoot(const Hash* leaves, size_t n) {
  assert(n >= 1);
  std::array<Hash, 64> stack;
  size_t depth = 0;
  for (size_t i = 0; i < n; ++i) {
    Hash h = leaves[i];
    // Leaf i completes one perfect subtree per trailing one bit of i.
    for (size_t c = i; c & 1; c >>= 1) h = MerkleNodeHash(stack[--depth], h);
    stack[depth++] = h;
  }
  Hash root = stack[--depth];
  while (depth > 0) root = MerkleNodeHash(stack[--depth], root);
  return root;
}

}  // namespace

Hash MerkleLeafHash(std::string_view leaf_data) {
  const uint8_t prefix = 0x00;
  Hash h;
  internal::Sha256Prefixed(&prefix, 1, leaf_data.data(), leaf_data.size(), h.data());
  return h;
}

Hash MerkleNodeHash(const Hash& left, const Hash& right) {
  unsigned char buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  Hash h;
  internal::Sha256Prefixed(nullptr, 0, buf, sizeof buf, h.data());
  return h;
}

Hash MerkleRoot(const std::vector<Hash>& leaf_hashes) {
  if (leaf_hashes.empty()) return Sha256("");
  return RangeRoot(leaf_hashes.data(), leaf_hashes.size());
}

// RFC 9162 §2.1.3.1: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k,
//                                   PATH(m - k, D[k:n]) : MTH(D[0:k]) otherwise.
// Walked top-down; the siblings are collected root-first and reversed so the path runs
// from the leaf up, as the RFC orders it. Total hashing is O(n).
std::vector<Hash> InclusionProof(const std::vector<Hash>& leaf_hashes, size_t index) {
  assert(index < leaf_hashes.size() && "InclusionProof: index out of range");
  std::vector<Hash> path;
  if (index >= leaf_hashes.size()) return path;
  const Hash* d = leaf_hashes.data();
  size_t n = leaf_hashes.size();
  size_t m = index;
  while (n > 1) {
    const size_t k = SplitPoint(n);
    if (m < k) {
      path.push_back(RangeRoot(d + k, n - k));
      n = k;
    } else {
      path.push_back(RangeRoot(d, k));
      d += k;
      n -= k;
      m -= k;
    }
  }
  std::reverse(path.begin(), path.end());
  return path;
}

// RFC 9162 §2.1.3.2, step by step.
bool VerifyInclusion(const Hash& leaf_hash, size_t index, size_t tree_size,
                     const std::vector<Hash>& proof, const Hash& root) {
  // 1. leaf_index must be < tree_size.
  if (index >= tree_size) return false;
  // 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
  size_t fn = index, sn = tree_size - 1;
  Hash r = leaf_hash;
  // 4. For each p in the path:
  for (const Hash& p : proof) {
    // a. If sn is 0, stop and fail.
    if (sn == 0) return false;
    // b. If LSB(fn) is set, or fn == sn:
    if ((fn & 1) || fn == sn) {
      // i. r = HASH(0x01 || p || r)
      r = MerkleNodeHash(p, r);
      // ii. If LSB(fn) is not set, right-shift fn and sn until LSB(fn) is set or fn is 0.
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      // Otherwise r = HASH(0x01 || r || p).
      r = MerkleNodeHash(r, p);
    }
    // c. Right-shift fn and sn by one.
    fn >>= 1;
    sn >>= 1;
  }
  // 5. sn must be 0 and r must equal the root. Compared in constant time for good measure.
  return sn == 0 && sodium_memcmp(r.data(), root.data(), r.size()) == 0;
}

}  // namespace rekap
