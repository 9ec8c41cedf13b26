// rekap bench ingest: one submission per TPS through validation, ledger append (durable
// group commits) and projections, against raw SQLite inserts of the same rows.
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "common.h"
#include "rekap/import.h"
#include "simulate.h"

namespace rekap::cli {

std::string FindDataFile(const std::string& dir_opt, const std::string& rel);

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double PeakRssMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

struct BenchOptions {
  std::string tps = "all";
  std::string data;  // folder with kpu_wilayah_pemilu2024.csv and kpu_tps_pemilu2024.csv.gz
  std::string dir;   // where the databases go
  size_t batch = 8192;
  uint64_t seed = 1;
  bool verify = false;
};

std::string FindPemiluData(const std::string& opt) {
  std::vector<std::string> dirs;
  if (!opt.empty()) dirs.push_back(opt);  // named: that one only (a wrong one fell back before)
  else dirs.push_back("../shared/data/pemilu2024");
  if (opt.empty()) dirs.push_back(std::string(REKAP_SOURCE_DIR) + "/../shared/data/pemilu2024");
  for (const auto& d : dirs)
    if (std::filesystem::exists(d + "/kpu_tps_pemilu2024.csv.gz")) return d;
  return "";
}

// Inserts the same rows into a plain table with the same commit grouping and durability:
// the cost of storage alone, measured in the same run.
Result<double> SqliteBaseline(const std::string& path, const std::vector<StoredEvent>& rows, size_t batch) {
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return Unavailable("baseline db");
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE events(seq INTEGER PRIMARY KEY, batch INTEGER NOT NULL, hash BLOB NOT NULL, body BLOB NOT NULL)", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?, ?, ?, ?)", -1, &st, nullptr);
  auto t0 = Clock::now();
  for (size_t i = 0; i < rows.size(); i += batch) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (size_t j = i; j < std::min(rows.size(), i + batch); ++j) {
      sqlite3_reset(st);
      sqlite3_bind_int64(st, 1, static_cast<int64_t>(rows[j].seq));
      sqlite3_bind_int64(st, 2, static_cast<int64_t>(rows[j].batch));
      sqlite3_bind_blob(st, 3, rows[j].hash.data(), 32, SQLITE_STATIC);
      sqlite3_bind_blob(st, 4, rows[j].body.data(), static_cast<int>(rows[j].body.size()), SQLITE_STATIC);
      sqlite3_step(st);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  double secs = Seconds(t0, Clock::now());
  sqlite3_finalize(st);
  sqlite3_close(db);
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  return static_cast<double>(rows.size()) / secs;
}

Status RunIngest(const BenchOptions& o) {
  // Arguments first, before the data's seconds of loading. --tps 0 ran all 822,116 TPS before.
  size_t limit = 0;
  if (o.tps != "all") {
    if (!AllDigits(o.tps) || o.tps.size() > 7 || std::stoul(o.tps) == 0)
      return InvalidArgument("--tps: 'all' atau bilangan 1..9999999 / 'all' or a number 1..9999999, not '" +
                             o.tps.substr(0, 40) + "'");
    limit = std::stoul(o.tps);
  }
  if (!o.dir.empty()) {  // a file there threw out of the command (exit 70) before
    std::error_code ec;
    if (!std::filesystem::is_directory(o.dir, ec))
      return InvalidArgument("--dir: bukan direktori / not a directory: " + o.dir);
  }
  std::string data = FindPemiluData(o.data);
  if (data.empty()) {
    return NotFound((o.data.empty() ? std::string() : "--data " + o.data + ": ") +
                    "data KPU tidak ditemukan; beri --data FOLDER berisi kpu_tps_pemilu2024.csv.gz / KPU data not "
                    "found; pass --data DIR holding kpu_wilayah_pemilu2024.csv and kpu_tps_pemilu2024.csv.gz");
  }
  // Setup (not timed): the real region tree and TPS list.
  auto tree = std::make_shared<RegionTree>();
  {
    REKAP_ASSIGN_OR_RETURN(std::string text, ReadFileMaybeGz(data + "/kpu_wilayah_pemilu2024.csv"));
    REKAP_ASSIGN_OR_RETURN(auto regions, ReadRegions(text, "kpu_wilayah_pemilu2024.csv"));
    for (auto& r : regions) REKAP_RETURN_IF_ERROR(tree->AddRegion(std::move(r.region)));
    REKAP_ASSIGN_OR_RETURN(std::string ttext, ReadFileMaybeGz(data + "/kpu_tps_pemilu2024.csv.gz"));
    REKAP_ASSIGN_OR_RETURN(auto tps, ReadTpsList(ttext, "kpu_tps_pemilu2024.csv.gz"));
    if (limit && limit < tps.size()) tps.resize(limit);
    for (auto& t : tps) REKAP_RETURN_IF_ERROR(tree->AddTps(std::move(t)));
    REKAP_RETURN_IF_ERROR(tree->Finish(true));
  }
  auto schemas = EmbeddedSchemas();
  REKAP_ASSIGN_OR_RETURN(Election election,
                         Election::Parse(EmbeddedFile("data/elections/pemilu-2024-ppwp.toml"), "pemilu-2024-ppwp"));
  REKAP_RETURN_IF_ERROR(election.Resolve(schemas));
  auto el = std::make_shared<const Election>(std::move(election));
  const Contest& contest = el->contests.front();
  const Form& form = *contest.form;

  std::string dir = o.dir.empty() ? std::filesystem::temp_directory_path().string() : o.dir;
  std::string path = dir + "/rekap-bench-" + std::to_string(getpid()) + ".db";
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  REKAP_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(path, /*durable=*/true));
  std::array<uint8_t, 32> seed{};
  seed[0] = 42;
  REKAP_ASSIGN_OR_RETURN(auto engine, Engine::OpenWith(store.get(), Signer::FromSeed(seed), SystemClock(), tree, el));

  const size_t n = tree->tps_count();
  if (!G().json) {
    std::cerr << "bench ingest: " << n << " TPS, batch " << o.batch << ", SQLite WAL synchronous=FULL (" << path
              << ")\n";
  }
  std::mt19937_64 rng(o.seed);
  const std::vector<double> shares = {0.25, 0.58, 0.17};
  // Submissions are generated per batch outside the timed part (synthesizing random
  // consistent forms is the benchmark's own cost, not the system's); the clock runs over
  // Engine::Execute: validation, encoding, hashing, Merkle sealing, signing, the durable
  // group commit and the projection updates.
  Progress p("ingest", static_cast<int64_t>(n));
  std::vector<Command> batch;
  double gen_seconds = 0, secs = 0;
  size_t appended = 0;
  auto w0 = Clock::now();
  // Commands are handed over in rounds of four batches; within a round each batch commits on
  // the writer thread while the next is prepared (ExecuteOptions::commit_every).
  const size_t round = o.batch * 4;
  for (size_t i = 0; i < n; i += round) {
    auto g0 = Clock::now();
    batch.clear();
    for (size_t j = i; j < std::min(n, i + round); ++j) {
      SimTps s;
      s.dpt = 150 + static_cast<int>(rng() % 151);
      s.turnout = 0.6 + static_cast<double>(rng() % 300) / 1000.0;
      Command c;
      c.contest = contest.id;
      c.tps = tree->tps(static_cast<int32_t>(j)).tps.id;
      c.source = "kpps";
      c.author = "kpps";
      c.values = ToNamed(form, SimulateResult(rng, form, s, shares));
      batch.push_back(std::move(c));
    }
    auto e0 = Clock::now();
    gen_seconds += Seconds(g0, e0);
    auto results = engine->Execute(batch, ExecuteOptions{o.batch});
    secs += Seconds(e0, Clock::now());
    for (auto& r : results) {
      if (!r.ok()) return Status(r.status().code(), "bench: " + r.status().message());
      appended += r->kind == Outcome::Kind::kAppended;
    }
    p.Update(static_cast<int64_t>(std::min(n, i + round)));
  }
  double wall = Seconds(w0, Clock::now());
  p.Done();
  double rss = PeakRssMb();

  // A region total read from memory: national, every province and kab/kota, round robin.
  const ContestTally& tally = *engine->tally(contest.id);
  std::vector<int32_t> nodes = {0};
  for (int32_t c : tree->node(0).children) {
    nodes.push_back(c);
    for (int32_t k : tree->node(c).children) nodes.push_back(k);
  }
  const int reads = 200000;
  int64_t sink = 0;
  auto r0 = Clock::now();
  for (int i = 0; i < reads; ++i) sink += tally.Read(nodes[static_cast<size_t>(i) % nodes.size()]).valid;
  double read_us = Seconds(r0, Clock::now()) * 1e6 / reads;
  RegionTotals national = tally.Read(0);

  // Baseline: the same rows, raw SQLite inserts, same batches and durability.
  std::vector<StoredEvent> rows;
  rows.reserve(appended);
  REKAP_RETURN_IF_ERROR(store->ScanEvents(1, [&](const StoredEvent& e) {
    rows.push_back(e);
    return true;
  }));
  REKAP_ASSIGN_OR_RETURN(double baseline, SqliteBaseline(path + ".baseline", rows, o.batch));
  bool verified = false;
  if (o.verify) {
    VerifyReport rep = Verify(store.get(), engine->public_key(), engine.get(), tree, el);
    verified = rep.ok();
    if (!rep.ok()) return DataLoss("verify: " + rep.problems.front());
  }
  engine.reset();
  store.reset();
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);

  double rate = static_cast<double>(appended) / secs;
  if (G().json) {
    std::cout << nlohmann::json{{"submissions", appended},
                                {"seconds", secs},
                                {"per_second", rate},
                                {"generate_seconds", gen_seconds},
                                {"wall_seconds_including_generation", wall},
                                {"peak_rss_mb", rss},
                                {"region_read_us", read_us},
                                {"sqlite_baseline_per_second", baseline},
                                {"batch", o.batch},
                                {"national_valid_votes", national.valid},
                                {"national_tps_counted", national.counted},
                                {"verified", o.verify ? nlohmann::json(verified) : nlohmann::json(nullptr)},
                                {"checksum", sink}}
                     .dump()
              << "\n";
  } else {
    std::printf("submissions            %zu\n", appended);
    std::printf("seconds                %.3f in Engine::Execute (+ %.3f generating the submissions)\n", secs, gen_seconds);
    std::printf("submissions/s          %.0f\n", rate);
    std::printf("peak RSS               %.0f MB\n", rss);
    std::printf("region total read      %.3f us\n", read_us);
    std::printf("raw SQLite inserts/s   %.0f (baseline: same rows, same batches, WAL synchronous=FULL)\n", baseline);
    std::printf("national: %lld TPS counted, %lld valid votes\n", static_cast<long long>(national.counted),
                static_cast<long long>(national.valid));
  }
  return Status::Ok();
}

}  // namespace

CLI::App* AddBench(CLI::App& app) {
  static BenchOptions o;
  auto* b = app.add_subcommand("bench", "tolok ukur / benchmarks");
  b->require_subcommand(1);
  auto* in = b->add_subcommand("ingest", "satu kiriman per TPS: validasi, ledger, proyeksi / one submission per TPS");
  in->add_option("--tps", o.tps, "all | N (TPS pertama / first N TPS)")->capture_default_str();
  in->add_option("--data", o.data, "folder data pemilu2024 / the pemilu2024 data folder");
  in->add_option("--dir", o.dir, "folder basis data sementara / folder for the temporary databases");
  in->add_option("--batch", o.batch, "kiriman per commit / submissions per group commit")->capture_default_str()->check(CLI::Range(1, 100000));
  in->add_option("--seed", o.seed, "benih acak / random seed")->capture_default_str();
  in->add_flag("--verify", o.verify, "verifikasi penuh sesudahnya / full verification afterwards");
  in->callback([] { Status st = RunIngest(o); ExitCode() = st.ok() ? 0 : Fail(st); });
  return b;
}

}  // namespace rekap::cli
