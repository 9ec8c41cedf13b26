// Micro-benchmarks of the ingest path's parts, beside their baselines in the same run:
// rule validation, event encoding and hashing (OpenSSL SHA-256 vs libsodium's), Merkle
// sealing, and one append through the SQLite store vs a bare SQLite insert.
//   make bench-micro   (builds with -DREKAP_BENCH=ON and runs ./build/rekap_bench)
#include <benchmark/benchmark.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "rekap/election.h"
#include "rekap/ledger.h"
#include "rekap/store.h"

namespace rekap {
namespace {

std::shared_ptr<const Form> PpwpForm() {
  static std::shared_ptr<const Form> form = [] {
    auto schemas = LoadSchemaDir(REKAP_SOURCE_DIR "/data/schemas");
    return *schemas->at("C.HASIL-PPWP-2024")->Bind(3, {{"max_voters", 300}});
  }();
  return form;
}

std::vector<Value> ConsistentValues(const Form& f) {
  std::vector<Value> v(f.size(), kMissing);
  auto set = [&](const char* n, Value x) { v[f.IndexOf(n)] = x; };
  set("dpt_l", 150); set("dpt_p", 150); set("dpt_j", 300);
  set("pengguna_dpt_l", 110); set("pengguna_dpt_p", 120); set("pengguna_dpt_j", 230);
  for (const char* g : {"pengguna_dptb", "pengguna_dpk"}) {
    std::string s = g;
    set((s + "_l").c_str(), 0); set((s + "_p").c_str(), 0); set((s + "_j").c_str(), 0);
  }
  set("pengguna_total_l", 110); set("pengguna_total_p", 120); set("pengguna_total_j", 230);
  set("surat_diterima", 306); set("surat_digunakan", 230); set("surat_rusak", 1); set("surat_sisa", 75);
  set("disabilitas_l", 1); set("disabilitas_p", 0); set("disabilitas_j", 1);
  set("suara_1", 58); set("suara_2", 120); set("suara_3", 47);
  set("suara_sah", 225); set("suara_tidak_sah", 5); set("suara_total", 230);
  return v;
}

void BM_Validate(benchmark::State& state) {
  auto form = PpwpForm();
  auto v = ConsistentValues(*form);
  std::vector<RuleFailure> out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(form->Validate(v.data(), &out));
  }
}
BENCHMARK(BM_Validate);

Event SampleEvent() {
  auto form = PpwpForm();
  auto v = ConsistentValues(*form);
  Event e;
  e.seq = 123456;
  e.time_ms = 1707868800000;
  e.contest = "ppwp";
  e.subject = "3212012001001";
  e.source = "kpps";
  e.author = "kpps-3212012001001";
  for (size_t i = 0; i < v.size(); ++i) e.values.push_back({static_cast<uint16_t>(i), v[i]});
  return e;
}

void BM_EncodeAndHash(benchmark::State& state) {
  Event e = SampleEvent();
  for (auto _ : state) {
    std::string b = Encode(e);
    benchmark::DoNotOptimize(EventHash(b));
    benchmark::DoNotOptimize(MerkleLeafHash(b));
  }
}
BENCHMARK(BM_EncodeAndHash);

// Baseline for the hash choice: libsodium's portable SHA-256 of the same bytes.
void BM_Sha256Libsodium(benchmark::State& state) {
  if (sodium_init() < 0) state.SkipWithError("sodium_init");
  std::string b = Encode(SampleEvent());
  unsigned char h[32];
  for (auto _ : state) {
    crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(b.data()), b.size());
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_Sha256Libsodium);

void BM_Sha256OpenSsl(benchmark::State& state) {
  std::string b = Encode(SampleEvent());
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(b));
}
BENCHMARK(BM_Sha256OpenSsl);

void BM_MerkleRoot(benchmark::State& state) {
  std::vector<Hash> leaves(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < leaves.size(); ++i) leaves[i] = Sha256(std::to_string(i));
  for (auto _ : state) benchmark::DoNotOptimize(MerkleRoot(leaves));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MerkleRoot)->Arg(8192);

std::string TempDb(const char* name) {
  std::string p = (std::filesystem::temp_directory_path() / (std::string(name) + std::to_string(getpid()) + ".db")).string();
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(p + s);
  return p;
}

// One batch of 8192 events appended through the Store (durable), per iteration.
void BM_StoreAppendBatch(benchmark::State& state) {
  std::string path = TempDb("rekap-bench-store-");
  auto store = std::move(OpenSqliteStore(path, true)).value();
  std::string body = Encode(SampleEvent());
  uint64_t seq = 1, batch = 1;
  for (auto _ : state) {
    std::vector<StoredEvent> ev(8192);
    for (auto& e : ev) {
      e.seq = seq++;
      e.batch = batch;
      e.body = body;
      e.hash = Sha256(body + std::to_string(e.seq));
    }
    BatchHead h;
    h.batch = batch++;
    h.first_seq = ev.front().seq;
    h.size = ev.size();
    if (!store->AppendBatch(ev, h).ok()) state.SkipWithError("append");
  }
  state.SetItemsProcessed(state.iterations() * 8192);
  store.reset();
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
}
BENCHMARK(BM_StoreAppendBatch)->Unit(benchmark::kMillisecond);

// Baseline: bare SQLite inserts of the same rows, same transaction size and durability.
void BM_SqliteBareInsertBatch(benchmark::State& state) {
  std::string path = TempDb("rekap-bench-bare-");
  sqlite3* db;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE events(seq INTEGER PRIMARY KEY, batch INTEGER, hash BLOB, body BLOB)", nullptr, nullptr, nullptr);
  sqlite3_stmt* st;
  sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?, ?, ?, ?)", -1, &st, nullptr);
  std::string body = Encode(SampleEvent());
  int64_t seq = 1;
  for (auto _ : state) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (int i = 0; i < 8192; ++i) {
      Hash h = Sha256(body + std::to_string(seq));
      sqlite3_reset(st);
      sqlite3_bind_int64(st, 1, seq++);
      sqlite3_bind_int64(st, 2, 1);
      sqlite3_bind_blob(st, 3, h.data(), 32, SQLITE_TRANSIENT);
      sqlite3_bind_blob(st, 4, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
      sqlite3_step(st);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  state.SetItemsProcessed(state.iterations() * 8192);
  sqlite3_finalize(st);
  sqlite3_close(db);
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
}
BENCHMARK(BM_SqliteBareInsertBatch)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rekap
