// Internal: SHA-256 through OpenSSL's low-level interface, which uses the CPU's SHA
// extensions where present (about 10x libsodium's portable code on this hardware: the
// ledger hashes every event twice, so this bounds ingest throughput).
#pragma once

#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>

namespace rekap::internal {

// SHA-256 of prefix (0 or 1 byte) || data.
inline void Sha256Prefixed(const uint8_t* prefix, size_t prefix_len, const void* data, size_t len,
                           uint8_t out[32]) {
  SHA256_CTX c;
  SHA256_Init(&c);
  if (prefix_len) SHA256_Update(&c, prefix, prefix_len);
  SHA256_Update(&c, data, len);
  SHA256_Final(out, &c);
}

}  // namespace rekap::internal
