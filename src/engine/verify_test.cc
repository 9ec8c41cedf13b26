// Tests of Verify(): a store written by the engine verifies; every kind of tampering with
// the SQLite file by an attacker with file access (append-only triggers dropped) is found
// and named.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/engine_test_util.h"
#include "rekap/engine.h"

namespace rekap::engine_testing {
namespace {

using ::testing::HasSubstr;

// Direct access to the database file, bypassing the Store.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << sqlite3_errmsg(db_);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // OK or the SQLite error message.
  std::string Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = rc == SQLITE_OK ? "OK" : (err ? err : "error");
    sqlite3_free(err);
    return msg;
  }
  void DropTriggers() {
    for (const char* t : {"events_append_only_update", "events_append_only_delete", "batches_append_only_update",
                          "batches_append_only_delete"}) {
      ASSERT_EQ(Exec(std::string("DROP TRIGGER ") + t), "OK") << t;
    }
  }
  // Reads one blob column of one row.
  std::string Blob(const std::string& table, const std::string& column, const std::string& key, int64_t id) {
    sqlite3_stmt* s = nullptr;
    std::string sql = "SELECT " + column + " FROM " + table + " WHERE " + key + " = ?";
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    sqlite3_bind_int64(s, 1, id);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW) {
      out.assign(static_cast<const char*>(sqlite3_column_blob(s, 0)), static_cast<size_t>(sqlite3_column_bytes(s, 0)));
    } else {
      ADD_FAILURE() << "no row " << table << " " << id;
    }
    sqlite3_finalize(s);
    return out;
  }
  void SetBlob(const std::string& table, const std::string& column, const std::string& key, int64_t id,
               const std::string& value) {
    sqlite3_stmt* s = nullptr;
    std::string sql = "UPDATE " + table + " SET " + column + " = ? WHERE " + key + " = ?";
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    sqlite3_bind_blob(s, 1, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, id);
    EXPECT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(db_);
    EXPECT_EQ(sqlite3_changes(db_), 1);
    sqlite3_finalize(s);
  }
  std::string Body(int64_t seq) { return Blob("events", "body", "seq", seq); }
  std::string HashCol(int64_t seq) { return Blob("events", "hash", "seq", seq); }
  void SetEvent(int64_t seq, const std::string& body, const std::string& hash) {
    SetBlob("events", "body", "seq", seq, body);
    SetBlob("events", "hash", "seq", seq, hash);
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string HashBytes(const Hash& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); }

std::string Joined(const VerifyReport& rep) {
  std::string out;
  for (const auto& p : rep.problems) out += p + "\n";
  return out;
}

// The ledger written by SetUp: 4 batches, 12 events.
//   batch 1: seq 1-3   batch 2: seq 4   batch 3: seq 5-8   batch 4: seq 9-12
// TPS 3171011001001 has events 1 (kpps), 5 (saksi:01), 9 (correction): a chain of three.
class VerifyTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    if (HasFatalFailure()) return;
    const std::string a = "3171011001001";
    std::vector<std::vector<Command>> batches = {
        {Submit(a, "kpps", ConsistentResult(250, {58, 120, 33}, 4)),
         Submit("3171011001002", "kpps", Misread(ConsistentResult(240, {12, 100, 80}, 9))),
         Submit("3172011001001", "kpps", ConsistentResult(300, {150, 100, 45}, 5))},
        {Submit("3172021002003", "saksi:03", ConsistentResult(180, {30, 60, 70}, 2))},
        {Submit(a, "saksi:01", ConsistentResult(250, {60, 118, 33}, 4)),
         Submit("3171021002003", "kpps", Misread(ConsistentResult(210, {88, 70, 40}, 3))),
         Submit("3172021002003", "kpps", ConsistentResult(180, {30, 60, 70}, 2)),
         Submit("3172021001001", "kpps", ConsistentResult(90, {20, 30, 40}, 0))},
        {Correct(a, ConsistentResult(250, {59, 119, 33}, 4), "dicocokkan dengan C.Hasil plano"),
         Correct("3171011001002", ConsistentResult(240, {12, 100, 80}, 9), "salah baca"),
         Accept("3171021002003", "sesuai plano"),
         Submit("3171011002001", "saksi:02", ConsistentResult(199, {1, 2, 3}, 1))},
    };
    for (const auto& b : batches) {
      for (const auto& r : engine_->Execute(b)) ASSERT_TRUE(r.ok()) << r.status().ToString();
      clock_.Advance(1000);
    }
    ASSERT_EQ(engine_->last_seq(), 12u);
    ASSERT_EQ(engine_->last_batch(), 4u);
    pk_ = engine_->public_key();
    copy_ = TempDbPath("_copy");
    RemoveDb(copy_);
  }
  void TearDown() override {
    copy_store_.reset();
    RemoveDb(copy_);
    EngineFixture::TearDown();
  }

  using Values = std::map<std::string, Value>;
  static Values Misread(Values v) {
    v["suara_1"] += 900;
    return v;
  }

  // Closes the engine and store and copies the database file: tests tamper with the copy.
  void CloseAndCopy() {
    engine_.reset();
    store_.reset();
    for (const char* suffix : {"", "-wal"}) {
      if (std::filesystem::exists(path_ + suffix))
        std::filesystem::copy_file(path_ + suffix, copy_ + suffix, std::filesystem::copy_options::overwrite_existing);
    }
  }
  Store* OpenCopy() {
    auto s = OpenSqliteStore(copy_, /*durable=*/false);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return nullptr;
    copy_store_ = std::move(s).value();
    return copy_store_.get();
  }
  VerifyReport VerifyCopy() {
    Store* s = OpenCopy();
    if (!s) return VerifyReport{0, 0, {"cannot open copy"}};
    return Verify(s, pk_, /*incremental=*/nullptr, tree_, election_);
  }
  // The original file is untouched by the tampering of the copy.
  void ExpectOriginalVerifies() {
    auto s = OpenSqliteStore(path_, /*durable=*/false);
    ASSERT_TRUE(s.ok());
    VerifyReport rep = Verify(s->get(), pk_, nullptr, tree_, election_);
    EXPECT_TRUE(rep.ok()) << Joined(rep);
  }
  Status OpenEngineOnCopy() {
    if (!copy_store_ && !OpenCopy()) return Internal("no copy");
    auto e = Engine::OpenWith(copy_store_.get(), TestSigner(), &clock_, tree_, election_);
    return e.ok() ? Status::Ok() : e.status();
  }

  std::array<uint8_t, 32> pk_{};
  std::string copy_;
  std::unique_ptr<Store> copy_store_;
};

TEST_F(VerifyTest, UntamperedStoreVerifies) {
  VerifyReport rep = Verify(store_.get(), pk_, engine_.get(), tree_, election_);
  EXPECT_TRUE(rep.ok()) << Joined(rep);
  EXPECT_EQ(rep.events, 12u);
  EXPECT_EQ(rep.batches, 4u);
  VerifyReport cold = Verify(store_.get(), pk_, nullptr, tree_, election_);
  EXPECT_TRUE(cold.ok()) << Joined(cold);
  // Another key did not sign these heads.
  VerifyReport other_key = Verify(store_.get(), TestSigner(99).public_key(), nullptr, tree_, election_);
  EXPECT_FALSE(other_key.ok());
  EXPECT_THAT(Joined(other_key), HasSubstr("signature invalid"));
  // A live projection that differs from the ledger is reported.
  auto empty_store = OpenSqliteStore(TempDbPath("_empty"), false);
  ASSERT_TRUE(empty_store.ok());
  {
    auto empty = Engine::OpenWith(empty_store->get(), TestSigner(), &clock_, tree_, election_);
    ASSERT_TRUE(empty.ok());
    VerifyReport stale = Verify(store_.get(), pk_, empty->get(), tree_, election_);
    EXPECT_FALSE(stale.ok());
    EXPECT_THAT(Joined(stale), HasSubstr("live projection differs from replay"));
  }
  empty_store->reset();
  RemoveDb(TempDbPath("_empty"));
}

TEST_F(VerifyTest, AppendOnlyTriggersRefuseUpdateAndDelete) {
  CloseAndCopy();
  {
    RawDb db(copy_);
    EXPECT_THAT(db.Exec("UPDATE events SET body = x'0102030405060708' WHERE seq = 1"), HasSubstr("append-only"));
    EXPECT_THAT(db.Exec("UPDATE events SET hash = zeroblob(32)"), HasSubstr("append-only"));
    EXPECT_THAT(db.Exec("DELETE FROM events"), HasSubstr("append-only"));
    EXPECT_THAT(db.Exec("DELETE FROM events WHERE seq = 12"), HasSubstr("append-only"));
    EXPECT_THAT(db.Exec("UPDATE batches SET root = zeroblob(32) WHERE batch = 1"), HasSubstr("append-only"));
    EXPECT_THAT(db.Exec("DELETE FROM batches"), HasSubstr("append-only"));
  }
  VerifyReport rep = VerifyCopy();
  EXPECT_TRUE(rep.ok()) << Joined(rep);
  EXPECT_EQ(rep.events, 12u);
}

// (a) One flipped bit in one stored event body.
TEST_F(VerifyTest, FlippedByteInEventBodyIsFound) {
  CloseAndCopy();
  {
    RawDb db(copy_);
    db.DropTriggers();
    std::string body = db.Body(6);
    body[body.size() - 3] ^= 0x01;  // inside the last value
    db.SetBlob("events", "body", "seq", 6, body);
  }
  VerifyReport rep = VerifyCopy();
  EXPECT_FALSE(rep.ok());
  const std::string all = Joined(rep);
  EXPECT_THAT(all, HasSubstr("event 6: "));
  EXPECT_THAT(all, HasSubstr("stored hash does not match the body"));
  EXPECT_THAT(all, HasSubstr("batch 3: "));  // its Merkle root no longer matches
  EXPECT_THAT(all, HasSubstr("Merkle root mismatch"));
  // The engine refuses to start on it.
  Status st = OpenEngineOnCopy();
  EXPECT_EQ(st.code(), Code::kDataLoss) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("event 6"));
  ExpectOriginalVerifies();
}

// (b) A "smart" attacker changes a vote inside an event and rewrites the body canonically
// with a matching hash column: the chain of that TPS and the batch's Merkle root break.
TEST_F(VerifyTest, RewrittenEventWithMatchingHashIsFound) {
  CloseAndCopy();
  {
    RawDb db(copy_);
    db.DropTriggers();
    auto e = Decode(db.Body(5));  // saksi:01 at 3171011001001, followed by the correction (seq 9)
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    const int s2 = election_->FindContest(kContest)->form->IndexOf("suara_2");
    bool changed = false;
    for (auto& fv : e->values) {
      if (fv.field == s2) {
        fv.value += 50;
        changed = true;
      }
    }
    ASSERT_TRUE(changed);
    std::string body = Encode(*e);
    db.SetEvent(5, body, HashBytes(EventHash(body)));
  }
  VerifyReport rep = VerifyCopy();
  EXPECT_FALSE(rep.ok());
  const std::string all = Joined(rep);
  EXPECT_THAT(all, HasSubstr("batch 3: "));
  EXPECT_THAT(all, HasSubstr("Merkle root mismatch"));
  EXPECT_THAT(all, HasSubstr("event 9: "));
  EXPECT_THAT(all, HasSubstr("hash chain broken for ppwp 3171011001001"));
  EXPECT_THAT(all, ::testing::Not(HasSubstr("stored hash does not match")));
  EXPECT_EQ(OpenEngineOnCopy().code(), Code::kDataLoss);  // the chain break stops replay
  ExpectOriginalVerifies();
}

// (b') The same on the last event of a chain: only the signed Merkle root catches it.
TEST_F(VerifyTest, RewrittenLastEventOfAChainIsFoundByMerkleRoot) {
  CloseAndCopy();
  {
    RawDb db(copy_);
    db.DropTriggers();
    auto e = Decode(db.Body(12));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    ASSERT_FALSE(e->values.empty());
    e->values.front().value += 1;
    std::string body = Encode(*e);
    db.SetEvent(12, body, HashBytes(EventHash(body)));
  }
  VerifyReport rep = VerifyCopy();
  EXPECT_FALSE(rep.ok());
  EXPECT_THAT(Joined(rep), HasSubstr("batch 4: akar Merkle tidak cocok / Merkle root mismatch"));
  EXPECT_EQ(rep.problems.size(), 1u) << Joined(rep);
}

// (c) Two events swapped (bodies and hashes): the order of the ledger changed.
TEST_F(VerifyTest, SwappedEventsAreFound) {
  CloseAndCopy();
  {
    RawDb db(copy_);
    db.DropTriggers();
    const std::string b2 = db.Body(2), h2 = db.HashCol(2);
    const std::string b3 = db.Body(3), h3 = db.HashCol(3);
    db.SetEvent(2, b3, h3);
    db.SetEvent(3, b2, h2);
  }
  VerifyReport rep = VerifyCopy();
  EXPECT_FALSE(rep.ok());
  const std::string all = Joined(rep);
  EXPECT_THAT(all, HasSubstr("event 2: nomor urut di isi 3 / body seq differs"));
  EXPECT_THAT(all, HasSubstr("event 3: nomor urut di isi 2 / body seq differs"));
  EXPECT_THAT(all, HasSubstr("batch 1: akar Merkle tidak cocok / Merkle root mismatch"));
  EXPECT_EQ(OpenEngineOnCopy().code(), Code::kDataLoss);
}

// (c') Swapped across batches.
TEST_F(VerifyTest, EventsSwappedAcrossBatchesAreFound) {
  CloseAndCopy();
  {
    RawDb db(copy_);
    db.DropTriggers();
    const std::string b4 = db.Body(4), h4 = db.HashCol(4);
    const std::string b10 = db.Body(10), h10 = db.HashCol(10);
    db.SetEvent(4, b10, h10);
    db.SetEvent(10, b4, h4);
  }
  VerifyReport rep = VerifyCopy();
  const std::string all = Joined(rep);
  EXPECT_THAT(all, HasSubstr("event 4: nomor urut di isi 10"));
  EXPECT_THAT(all, HasSubstr("batch 2: akar Merkle tidak cocok"));
  EXPECT_THAT(all, HasSubstr("batch 4: akar Merkle tidak cocok"));
}

// (d) Only the stored hash column changed.
TEST_F(VerifyTest, ChangedHashColumnIsFound) {
  CloseAndCopy();
  {
    RawDb db(copy_);
    db.DropTriggers();
    std::string h = db.HashCol(7);
    h[0] ^= 0xff;
    db.SetBlob("events", "hash", "seq", 7, h);
  }
  VerifyReport rep = VerifyCopy();
  EXPECT_FALSE(rep.ok());
  EXPECT_THAT(Joined(rep), HasSubstr("event 7: hash tersimpan tidak cocok dengan isi / stored hash does not match the body"));
  Status st = OpenEngineOnCopy();
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("event 7"));
}

// (e) The last event deleted.
TEST_F(VerifyTest, DeletedLastEventIsFound) {
  CloseAndCopy();
  {
    RawDb db(copy_);
    db.DropTriggers();
    ASSERT_EQ(db.Exec("DELETE FROM events WHERE seq = 12"), "OK");
  }
  VerifyReport rep = VerifyCopy();
  EXPECT_FALSE(rep.ok());
  EXPECT_EQ(rep.events, 11u);
  EXPECT_THAT(Joined(rep), HasSubstr("batch 4: berisi 3 peristiwa, kepala menyatakan 4 / holds 3 events, head says 4"));
  // An acknowledged event is missing: the engine must not start (and then reuse seq 12).
  Status st = OpenEngineOnCopy();
  EXPECT_EQ(st.code(), Code::kDataLoss) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("12"));
}

// (e') An event deleted in the middle: a sequence gap.
TEST_F(VerifyTest, DeletedMiddleEventIsFound) {
  CloseAndCopy();
  {
    RawDb db(copy_);
    db.DropTriggers();
    ASSERT_EQ(db.Exec("DELETE FROM events WHERE seq = 6"), "OK");
  }
  VerifyReport rep = VerifyCopy();
  const std::string all = Joined(rep);
  EXPECT_THAT(all, HasSubstr("event 7: nomor urut tidak berurutan / sequence gap, expected 6"));
  EXPECT_THAT(all, HasSubstr("batch 3: berisi 3 peristiwa"));
  EXPECT_EQ(OpenEngineOnCopy().code(), Code::kDataLoss);
}

// A batch head changed (its root replaced to match a rewritten event): the signature breaks.
TEST_F(VerifyTest, ChangedBatchHeadIsFound) {
  CloseAndCopy();
  {
    RawDb db(copy_);
    db.DropTriggers();
    std::string root = db.Blob("batches", "root", "batch", 2);
    root[5] ^= 0x10;
    db.SetBlob("batches", "root", "batch", 2, root);
  }
  VerifyReport rep = VerifyCopy();
  const std::string all = Joined(rep);
  EXPECT_THAT(all, HasSubstr("batch 2: tanda tangan tidak sah / signature invalid"));
  EXPECT_THAT(all, HasSubstr("batch 2: akar Merkle tidak cocok"));
  EXPECT_THAT(all, HasSubstr("batch 3: prev_head tidak cocok"));  // the head chain breaks too
}

}  // namespace
}  // namespace rekap::engine_testing
