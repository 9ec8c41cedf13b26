// rekap: persistence. One interface; the SQLite backend is the embedded default and a
// PostgreSQL backend can implement the same interface later without changing callers.
//
// Contract for every backend:
// - AppendBatch is atomic and durable: when it returns OK, the events and their batch head
//   survive a crash (one fsync per batch: group commit). When it fails, nothing was written.
// - Ledger rows are never updated or deleted (the SQLite schema enforces it with triggers).
// - Put* of reference data (regions, TPS, schemas, elections) is all-or-nothing per call.
// A Store is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rekap/ledger.h"
#include "rekap/region.h"
#include "rekap/status.h"

namespace rekap {

struct StoredRegion {
  Region region;
  std::string source;    // "kpu2024" or "kemendagri2025"
  std::string name_alt;  // the other source's name, when both have the code
};

struct StoredEvent {
  uint64_t seq = 0;
  uint64_t batch = 0;
  Hash hash{};           // as stored; verify recomputes it from `body`
  std::string body;      // canonical bytes (docs/ledger.md)
};

struct StoredDocument {  // a form schema or an election definition, kept verbatim
  std::string id;
  std::string text;      // TOML
};

class Store {
 public:
  virtual ~Store() = default;

  // Reference data.
  virtual Status PutRegions(const std::vector<StoredRegion>& regions) = 0;  // upsert
  virtual Status PutTps(const std::vector<Tps>& tps) = 0;                   // upsert
  virtual Status ScanRegions(const std::function<void(const StoredRegion&)>& fn) = 0;
  virtual Status ScanTps(const std::function<void(const Tps&)>& fn) = 0;
  virtual Result<int64_t> CountRegions() = 0;
  virtual Result<int64_t> CountTps() = 0;

  virtual Status PutSchema(const StoredDocument& doc) = 0;
  virtual Status PutElection(const StoredDocument& doc) = 0;
  virtual Status ScanSchemas(const std::function<void(const StoredDocument&)>& fn) = 0;
  virtual Result<std::optional<StoredDocument>> GetElection() = 0;  // the one loaded election

  virtual Result<std::optional<std::string>> GetMeta(const std::string& key) = 0;
  virtual Status PutMeta(const std::string& key, const std::string& value) = 0;

  // Ledger. `events` have seq head.first_seq .. head.first_seq + size - 1, in order.
  virtual Status AppendBatch(const std::vector<StoredEvent>& events, const BatchHead& head) = 0;
  // Events with seq >= from_seq in seq order. `fn` returning false stops the scan.
  virtual Status ScanEvents(uint64_t from_seq,
                            const std::function<bool(const StoredEvent&)>& fn) = 0;
  virtual Status ScanBatches(const std::function<bool(const BatchHead&)>& fn) = 0;
  virtual Result<std::optional<BatchHead>> GetBatch(uint64_t batch) = 0;
  virtual Result<uint64_t> LastSeq() = 0;
};

// Opens (creating if needed) a SQLite database and applies pending migrations.
// `durable` = synchronous=FULL in WAL mode (one fsync per commit); tests may pass false.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, bool durable = true);

}  // namespace rekap
