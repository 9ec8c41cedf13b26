// SQLite backend of rekap::Store: WAL, versioned migrations, group commit.
#include <sqlite3.h>

#include <cstring>
#include <string>

#include "rekap/store.h"
#include "schema_sql.h"

namespace rekap {
namespace {

// Migrations in order; version i+1 is kMigrations[i]. Never edit a shipped entry: append.
const char* const kMigrations[] = {sqlite_schema::kSchemaV1};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }
  sqlite3_stmt** out() { return &s_; }
  sqlite3_stmt* get() const { return s_; }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

std::string ColText(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s, i)) : "";
}

template <size_t N>
bool ColBlob(sqlite3_stmt* s, int i, std::array<uint8_t, N>* out) {
  if (sqlite3_column_bytes(s, i) != static_cast<int>(N)) return false;
  std::memcpy(out->data(), sqlite3_column_blob(s, i), N);
  return true;
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  // close_v2 defers the close until the member statements are finalized after this body.
  ~SqliteStore() override { sqlite3_close_v2(db_); }

  Status Init(bool durable) {
    REKAP_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    REKAP_RETURN_IF_ERROR(Exec(durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF"));
    REKAP_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys=ON"));
    REKAP_RETURN_IF_ERROR(Exec("PRAGMA busy_timeout=5000"));
    REKAP_RETURN_IF_ERROR(Exec("PRAGMA cache_size=-65536"));
    REKAP_RETURN_IF_ERROR(Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "applied_ms INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER) * 1000)) STRICT"));
    int current = 0;
    {
      Stmt s;
      REKAP_RETURN_IF_ERROR(Prepare("SELECT coalesce(max(version), 0) FROM schema_migrations", &s));
      if (sqlite3_step(s.get()) == SQLITE_ROW) current = sqlite3_column_int(s.get(), 0);
    }
    if (current > kSchemaVersion) {
      return FailedPrecondition("basis data versi skema " + std::to_string(current) +
                                " lebih baru dari program ini / database schema version " +
                                std::to_string(current) + " is newer than this program (" +
                                std::to_string(kSchemaVersion) + ")");
    }
    for (int v = current + 1; v <= kSchemaVersion; ++v) {
      REKAP_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
      Status st = Exec(kMigrations[v - 1]);
      if (st.ok()) st = Exec("INSERT INTO schema_migrations(version) VALUES (" + std::to_string(v) + ")");
      if (!st.ok()) {
        (void)Exec("ROLLBACK");
        return st;
      }
      REKAP_RETURN_IF_ERROR(Exec("COMMIT"));
    }
    REKAP_RETURN_IF_ERROR(Prepare("INSERT INTO events(seq, batch, hash, body) VALUES (?, ?, ?, ?)",
                                  &append_event_));
    REKAP_RETURN_IF_ERROR(Prepare(
        "INSERT INTO batches(batch, first_seq, size, time_ms, root, prev_head, signature) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        &append_batch_));
    return Status::Ok();
  }

  Status PutRegions(const std::vector<StoredRegion>& regions) override {
    Stmt s;
    REKAP_RETURN_IF_ERROR(Prepare(
        "INSERT INTO regions(code, level, kind, name, source, name_alt) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(code) DO UPDATE SET kind=excluded.kind, name=excluded.name, "
        "source=excluded.source, name_alt=excluded.name_alt",
        &s));
    return InTransaction([&]() -> Status {
      for (const auto& r : regions) {
        s.Reset();
        sqlite3_bind_text(s.get(), 1, r.region.code.data(), r.region.code.size(), SQLITE_STATIC);
        sqlite3_bind_int(s.get(), 2, static_cast<int>(r.region.level));
        sqlite3_bind_text(s.get(), 3, r.region.kind.data(), r.region.kind.size(), SQLITE_STATIC);
        sqlite3_bind_text(s.get(), 4, r.region.name.data(), r.region.name.size(), SQLITE_STATIC);
        sqlite3_bind_text(s.get(), 5, r.source.data(), r.source.size(), SQLITE_STATIC);
        if (r.name_alt.empty()) {
          sqlite3_bind_null(s.get(), 6);
        } else {
          sqlite3_bind_text(s.get(), 6, r.name_alt.data(), r.name_alt.size(), SQLITE_STATIC);
        }
        if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("wilayah/region " + r.region.code);
      }
      return Status::Ok();
    });
  }

  Status PutTps(const std::vector<Tps>& tps) override {
    Stmt s;
    REKAP_RETURN_IF_ERROR(Prepare(
        "INSERT INTO tps(id, desa, name) VALUES (?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET name=excluded.name",
        &s));
    return InTransaction([&]() -> Status {
      for (const auto& t : tps) {
        s.Reset();
        sqlite3_bind_text(s.get(), 1, t.id.data(), t.id.size(), SQLITE_STATIC);
        sqlite3_bind_text(s.get(), 2, t.id.data(), std::min<size_t>(10, t.id.size()), SQLITE_STATIC);
        sqlite3_bind_text(s.get(), 3, t.name.data(), t.name.size(), SQLITE_STATIC);
        if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("TPS " + t.id);
      }
      return Status::Ok();
    });
  }

  Status ScanRegions(const std::function<void(const StoredRegion&)>& fn) override {
    Stmt s;
    REKAP_RETURN_IF_ERROR(
        Prepare("SELECT code, level, kind, name, source, coalesce(name_alt, '') FROM regions ORDER BY code", &s));
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      StoredRegion r;
      r.region.code = ColText(s.get(), 0);
      r.region.level = static_cast<Level>(sqlite3_column_int(s.get(), 1));
      r.region.kind = ColText(s.get(), 2);
      r.region.name = ColText(s.get(), 3);
      r.source = ColText(s.get(), 4);
      r.name_alt = ColText(s.get(), 5);
      fn(r);
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan regions");
  }

  Status ScanTps(const std::function<void(const Tps&)>& fn) override {
    Stmt s;
    REKAP_RETURN_IF_ERROR(Prepare("SELECT id, name FROM tps ORDER BY id", &s));
    int rc;
    Tps t;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      t.id = ColText(s.get(), 0);
      t.name = ColText(s.get(), 1);
      fn(t);
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan tps");
  }

  Result<int64_t> CountRegions() override { return Count("SELECT count(*) FROM regions"); }
  Result<int64_t> CountTps() override { return Count("SELECT count(*) FROM tps"); }

  Status PutSchema(const StoredDocument& doc) override {
    return PutDoc("INSERT INTO schemas(id, text) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET text=excluded.text", doc);
  }
  Status PutElection(const StoredDocument& doc) override {
    return InTransaction([&]() -> Status {
      REKAP_RETURN_IF_ERROR(Exec("DELETE FROM elections"));
      return PutDoc("INSERT INTO elections(id, text) VALUES (?, ?)", doc);
    });
  }
  Status ScanSchemas(const std::function<void(const StoredDocument&)>& fn) override {
    Stmt s;
    REKAP_RETURN_IF_ERROR(Prepare("SELECT id, text FROM schemas ORDER BY id", &s));
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) fn({ColText(s.get(), 0), ColText(s.get(), 1)});
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan schemas");
  }
  Result<std::optional<StoredDocument>> GetElection() override {
    Stmt s;
    REKAP_RETURN_IF_ERROR(Prepare("SELECT id, text FROM elections LIMIT 1", &s));
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) return std::optional<StoredDocument>(StoredDocument{ColText(s.get(), 0), ColText(s.get(), 1)});
    if (rc == SQLITE_DONE) return std::optional<StoredDocument>();
    return Error("get election");
  }

  Result<std::optional<std::string>> GetMeta(const std::string& key) override {
    Stmt s;
    REKAP_RETURN_IF_ERROR(Prepare("SELECT value FROM meta WHERE key = ?", &s));
    sqlite3_bind_text(s.get(), 1, key.data(), key.size(), SQLITE_STATIC);
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) return std::optional<std::string>(ColText(s.get(), 0));
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    return Error("get meta " + key);
  }
  Status PutMeta(const std::string& key, const std::string& value) override {
    return PutDoc("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                  {key, value});
  }

  Status AppendBatch(const std::vector<StoredEvent>& events, const BatchHead& head) override {
    if (events.empty() || events.size() != head.size || events.front().seq != head.first_seq) {
      return InvalidArgument("batch tidak konsisten / inconsistent batch");
    }
    return InTransaction([&]() -> Status {
      sqlite3_stmt* b = append_batch_.get();
      append_batch_.Reset();
      sqlite3_bind_int64(b, 1, static_cast<int64_t>(head.batch));
      sqlite3_bind_int64(b, 2, static_cast<int64_t>(head.first_seq));
      sqlite3_bind_int64(b, 3, static_cast<int64_t>(head.size));
      sqlite3_bind_int64(b, 4, head.time_ms);
      sqlite3_bind_blob(b, 5, head.root.data(), 32, SQLITE_STATIC);
      sqlite3_bind_blob(b, 6, head.prev_head.data(), 32, SQLITE_STATIC);
      sqlite3_bind_blob(b, 7, head.signature.data(), 64, SQLITE_STATIC);
      if (sqlite3_step(b) != SQLITE_DONE) return Error("append batch");
      sqlite3_stmt* s = append_event_.get();
      for (const auto& e : events) {
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, static_cast<int64_t>(e.seq));
        sqlite3_bind_int64(s, 2, static_cast<int64_t>(head.batch));
        sqlite3_bind_blob(s, 3, e.hash.data(), 32, SQLITE_STATIC);
        sqlite3_bind_blob(s, 4, e.body.data(), static_cast<int>(e.body.size()), SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE) return Error("append event " + std::to_string(e.seq));
      }
      return Status::Ok();
    });
  }

  Status ScanEvents(uint64_t from_seq, const std::function<bool(const StoredEvent&)>& fn) override {
    Stmt s;
    REKAP_RETURN_IF_ERROR(Prepare("SELECT seq, batch, hash, body FROM events WHERE seq >= ? ORDER BY seq", &s));
    sqlite3_bind_int64(s.get(), 1, static_cast<int64_t>(from_seq));
    int rc;
    StoredEvent e;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      e.seq = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
      e.batch = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 1));
      e.hash = {};
      if (!ColBlob(s.get(), 2, &e.hash)) return DataLoss("event " + std::to_string(e.seq) + ": hash is not 32 bytes");
      const void* p = sqlite3_column_blob(s.get(), 3);
      e.body.assign(static_cast<const char*>(p), sqlite3_column_bytes(s.get(), 3));
      if (!fn(e)) return Status::Ok();
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan events");
  }

  Status ScanBatches(const std::function<bool(const BatchHead&)>& fn) override {
    Stmt s;
    REKAP_RETURN_IF_ERROR(Prepare(kBatchSelect + std::string(" ORDER BY batch"), &s));
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      BatchHead h;
      REKAP_RETURN_IF_ERROR(ReadBatch(s.get(), &h));
      if (!fn(h)) return Status::Ok();
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan batches");
  }

  Result<std::optional<BatchHead>> GetBatch(uint64_t batch) override {
    Stmt s;
    REKAP_RETURN_IF_ERROR(Prepare(kBatchSelect + std::string(" WHERE batch = ?"), &s));
    sqlite3_bind_int64(s.get(), 1, static_cast<int64_t>(batch));
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE) return std::optional<BatchHead>();
    if (rc != SQLITE_ROW) return Error("get batch");
    BatchHead h;
    REKAP_RETURN_IF_ERROR(ReadBatch(s.get(), &h));
    return std::optional<BatchHead>(h);
  }

  Result<uint64_t> LastSeq() override {
    REKAP_ASSIGN_OR_RETURN(int64_t n, Count("SELECT coalesce(max(seq), 0) FROM events"));
    return static_cast<uint64_t>(n);
  }

 private:
  static constexpr const char* kBatchSelect =
      "SELECT batch, first_seq, size, time_ms, root, prev_head, signature FROM batches";

  static Status ReadBatch(sqlite3_stmt* s, BatchHead* h) {
    h->batch = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
    h->first_seq = static_cast<uint64_t>(sqlite3_column_int64(s, 1));
    h->size = static_cast<uint64_t>(sqlite3_column_int64(s, 2));
    h->time_ms = sqlite3_column_int64(s, 3);
    if (!ColBlob(s, 4, &h->root) || !ColBlob(s, 5, &h->prev_head) || !ColBlob(s, 6, &h->signature)) {
      return DataLoss("batch " + std::to_string(h->batch) + ": malformed hash or signature");
    }
    return Status::Ok();
  }

  Status Error(const std::string& what) {
    int code = sqlite3_errcode(db_);
    std::string msg = "sqlite (" + what + "): " + sqlite3_errmsg(db_);
    if (code == SQLITE_CONSTRAINT) return InvalidArgument(msg);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_FULL || code == SQLITE_IOERR)
      return Unavailable(msg);
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return DataLoss(msg);
    return Internal(msg);
  }

  Status Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "?";
      sqlite3_free(err);
      Status st = Error(sql.substr(0, 40));
      return Status(st.code(), "sqlite: " + m);
    }
    return Status::Ok();
  }

  Status Prepare(const std::string& sql, Stmt* s) {
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, s->out(), nullptr) != SQLITE_OK) return Error("prepare");
    return Status::Ok();
  }

  Result<int64_t> Count(const char* sql) {
    Stmt s;
    REKAP_RETURN_IF_ERROR(Prepare(sql, &s));
    if (sqlite3_step(s.get()) != SQLITE_ROW) return Error("count");
    return static_cast<int64_t>(sqlite3_column_int64(s.get(), 0));
  }

  Status PutDoc(const char* sql, const StoredDocument& doc) {
    Stmt s;
    REKAP_RETURN_IF_ERROR(Prepare(sql, &s));
    sqlite3_bind_text(s.get(), 1, doc.id.data(), doc.id.size(), SQLITE_STATIC);
    sqlite3_bind_text(s.get(), 2, doc.text.data(), doc.text.size(), SQLITE_STATIC);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return Error(doc.id);
    return Status::Ok();
  }

  // Runs `body` in one transaction (nested calls join the outer one); rolls back on error.
  template <typename F>
  Status InTransaction(F&& body) {
    if (!sqlite3_get_autocommit(db_)) return body();
    REKAP_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status st = body();
    if (st.ok()) st = Exec("COMMIT");
    if (!st.ok()) {
      if (!sqlite3_get_autocommit(db_)) (void)Exec("ROLLBACK");
      return st;
    }
    return Status::Ok();
  }

  sqlite3* db_;
  Stmt append_event_;
  Stmt append_batch_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, bool durable) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Unavailable("tidak dapat membuka basis data / cannot open database " + path + ": " + m);
  }
  auto store = std::make_unique<SqliteStore>(db);
  Status st = store->Init(durable);
  if (!st.ok()) return Status(st.code(), "basis data / database " + path + ": " + st.message());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace rekap
