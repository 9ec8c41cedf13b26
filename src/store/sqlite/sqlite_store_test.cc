#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "rekap/store.h"

namespace rekap {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("rekap-store-test-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db"))
                .string();
    Remove();
    auto s = OpenSqliteStore(path_, false);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    Remove();
  }
  void Remove() {
    for (const char* x : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + x);
  }
  int64_t Count(const char* sql) {
    sqlite3* db;
    sqlite3_open(path_.c_str(), &db);
    sqlite3_stmt* st;
    sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
  }
  static std::vector<StoredEvent> Events(uint64_t first, size_t n, uint64_t batch) {
    std::vector<StoredEvent> v;
    for (size_t i = 0; i < n; ++i) {
      StoredEvent e;
      e.seq = first + i;
      e.batch = batch;
      e.body = "event-body-" + std::to_string(first + i);
      e.hash = Sha256(e.body);
      v.push_back(e);
    }
    return v;
  }
  static BatchHead Head(uint64_t batch, uint64_t first, uint64_t size) {
    BatchHead h;
    h.batch = batch;
    h.first_seq = first;
    h.size = size;
    h.time_ms = 1700000000000;
    h.root[0] = static_cast<uint8_t>(batch);
    return h;
  }
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, MigrationsAreVersionedAndIdempotent) {
  store_.reset();
  auto again = OpenSqliteStore(path_, false);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  again->reset();
  EXPECT_EQ(Count("SELECT count(*) FROM schema_migrations"), 1);
  EXPECT_EQ(Count("SELECT max(version) FROM schema_migrations"), 1);
}

TEST_F(SqliteStoreTest, RefusesANewerSchema) {
  store_.reset();
  sqlite3* db;
  sqlite3_open(path_.c_str(), &db);
  sqlite3_exec(db, "INSERT INTO schema_migrations(version) VALUES (99)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto s = OpenSqliteStore(path_, false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
}

TEST_F(SqliteStoreTest, AppendsAndScansInOrder) {
  ASSERT_TRUE(store_->AppendBatch(Events(1, 3, 1), Head(1, 1, 3)).ok());
  ASSERT_TRUE(store_->AppendBatch(Events(4, 2, 2), Head(2, 4, 2)).ok());
  EXPECT_EQ(*store_->LastSeq(), 5u);
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(store_->ScanEvents(2, [&](const StoredEvent& e) {
    seqs.push_back(e.seq);
    EXPECT_EQ(e.body, "event-body-" + std::to_string(e.seq));
    EXPECT_EQ(e.hash, Sha256(e.body));
    return true;
  }).ok());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{2, 3, 4, 5}));
  auto b = store_->GetBatch(2);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ(**b, Head(2, 4, 2));
  EXPECT_FALSE(store_->GetBatch(3)->has_value());
}

TEST_F(SqliteStoreTest, AFailedBatchWritesNothing) {
  ASSERT_TRUE(store_->AppendBatch(Events(1, 2, 1), Head(1, 1, 2)).ok());
  // seq 2 already exists: the second event collides, so the whole batch must roll back.
  auto evs = Events(3, 2, 2);
  evs[1].seq = 2;
  Status st = store_->AppendBatch(evs, Head(2, 3, 2));
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(Count("SELECT count(*) FROM events"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM batches"), 1);
  // An inconsistent head is refused before touching the database.
  EXPECT_EQ(store_->AppendBatch(Events(3, 2, 2), Head(2, 3, 5)).code(), Code::kInvalidArgument);
}

TEST_F(SqliteStoreTest, LedgerRowsAreAppendOnly) {
  ASSERT_TRUE(store_->AppendBatch(Events(1, 1, 1), Head(1, 1, 1)).ok());
  sqlite3* db;
  sqlite3_open(path_.c_str(), &db);
  for (const char* sql : {"UPDATE events SET body = x'00' WHERE seq = 1", "DELETE FROM events",
                          "UPDATE batches SET size = 2", "DELETE FROM batches"}) {
    char* err = nullptr;
    EXPECT_NE(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << sql;
    if (err) {
      EXPECT_NE(std::string(err).find("append-only"), std::string::npos) << err;
      sqlite3_free(err);
    }
  }
  sqlite3_close(db);
  EXPECT_EQ(Count("SELECT count(*) FROM events"), 1);
}

TEST_F(SqliteStoreTest, ConstraintsGuardReferenceData) {
  StoredRegion ok{{"32", "JAWA BARAT", "provinsi", Level::kProvinsi}, "kpu2024", ""};
  ASSERT_TRUE(store_->PutRegions({ok}).ok());
  StoredRegion bad_level{{"3212", "X", "kabupaten", Level::kKecamatan}, "kpu2024", ""};
  EXPECT_FALSE(store_->PutRegions({bad_level}).ok());
  StoredRegion bad_code{{"32x2", "X", "kabupaten", Level::kKabKota}, "kpu2024", ""};
  EXPECT_FALSE(store_->PutRegions({bad_code}).ok());
  // All or nothing: a bad row at the end leaves none of the batch behind.
  StoredRegion good2{{"3212", "INDRAMAYU", "kabupaten", Level::kKabKota}, "kpu2024", ""};
  EXPECT_FALSE(store_->PutRegions({good2, bad_code}).ok());
  EXPECT_EQ(*store_->CountRegions(), 1);
  // A TPS must sit under a known desa and carry its code.
  EXPECT_FALSE(store_->PutTps({Tps{"3212012001001", "TPS 001"}}).ok());
  EXPECT_EQ(*store_->CountTps(), 0);
}

TEST_F(SqliteStoreTest, MetaAndDocuments) {
  EXPECT_FALSE(store_->GetMeta("k")->has_value());
  ASSERT_TRUE(store_->PutMeta("k", "v1").ok());
  ASSERT_TRUE(store_->PutMeta("k", "v2").ok());
  EXPECT_EQ(**store_->GetMeta("k"), "v2");
  ASSERT_TRUE(store_->PutElection({"e1", "id = \"e1\""}).ok());
  ASSERT_TRUE(store_->PutElection({"e2", "id = \"e2\""}).ok());
  auto e = store_->GetElection();
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->id, "e2");
}

TEST(SqliteStoreOpen, UnwritablePathIsUnavailable) {
  auto s = OpenSqliteStore("/nonexistent-dir/for/sure/x.db", false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kUnavailable);
}

TEST(SqliteStoreOpen, ANonDatabaseFileIsAnError) {
  std::string p = (std::filesystem::temp_directory_path() / ("rekap-notdb-" + std::to_string(getpid()))).string();
  {
    FILE* f = fopen(p.c_str(), "w");
    fputs("this is not a database, just text that is long enough to be read as a header.....", f);
    fclose(f);
  }
  auto s = OpenSqliteStore(p, false);
  EXPECT_FALSE(s.ok());
  std::filesystem::remove(p);
}

}  // namespace
}  // namespace rekap
