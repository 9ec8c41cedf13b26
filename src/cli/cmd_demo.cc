// rekap demo: voting day in Kabupaten Indramayu, simulated over the real TPS list.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "common.h"
#include "rekap/import.h"
#include "simulate.h"

namespace rekap::cli {

void PrintTable(const RegionTree& tree, const ContestTally& t, int32_t node, std::ostream& os);

// Finds a data file shipped in the repository: under --data-dir, ./data, or the source tree.
std::string FindDataFile(const std::string& dir_opt, const std::string& rel) {
  std::vector<std::string> dirs;
  if (!dir_opt.empty()) dirs.push_back(dir_opt);
  dirs.push_back("data");
  dirs.push_back(std::string(REKAP_SOURCE_DIR) + "/data");
  for (const auto& d : dirs) {
    std::string p = d + "/" + rel;
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

namespace {

struct DemoOptions {
  uint64_t seed = 2024;
  double misread_rate = 0.03;
  double witness_rate = 0.10;
  double retry_rate = 0.05;
  std::string data_dir;
  bool keep = false;
};

struct Arrival {
  double hour;       // simulated clock, hours after 00:00 on voting day
  int kind;          // 0 KPPS submission, 1 retry (duplicate), 2 witness copy, 3 PPK correction
  int32_t tps;
};

// The demo replaces only a database of its own. `rekap demo` run where rekap.db (the default
// --db) holds a real count deleted it and its signing key before (2026-12-07 audit). Ours: the
// demo's election, or no election and no event (an empty file, or a demo stopped early). Read
// without writing: a file that is not a rekap database is left as it is.
Status CheckDemoMayReplace(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || st.st_size == 0) return Status::Ok();
  sqlite3* db = nullptr;
  std::string election;
  int64_t events = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT (SELECT id FROM elections LIMIT 1), (SELECT count(*) FROM events)", -1, &q,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
      if (const unsigned char* t = sqlite3_column_text(q, 0)) election = reinterpret_cast<const char*>(t);
      events = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
  }
  sqlite3_close_v2(db);
  auto demo = Election::Parse(EmbeddedFile("data/elections/demo-indramayu.toml"), "builtin:demo-indramayu");
  if ((demo.ok() && !election.empty() && election == demo->id) || (election.empty() && events == 0))
    return Status::Ok();
  const std::string what = events < 0 ? Tr("bukan basis data rekap", "is not a rekap database")
                                      : Tr("berisi pemilihan '", "holds election '") + election + "' (" +
                                            std::to_string(events) + Tr(" peristiwa)", " events)");
  return FailedPrecondition("--db " + path + " " + what +
                            Tr("; demo hanya menimpa basis datanya sendiri: beri --db lain",
                               "; the demo replaces only its own database: give another --db"));
}

Status RunDemo(const DemoOptions& o) {
  // A share: NaN, below 0 or above 1 ran as 0 or 1 and exited 0 before (2026-12-07).
  if (!(o.misread_rate >= 0 && o.misread_rate <= 1))
    return InvalidArgument("--misread-rate: harus 0..1 / must be 0..1, not " + std::to_string(o.misread_rate));
  // --data-dir named is the one used: a wrong one fell back to ./data or the source tree.
  const std::string dir = o.data_dir.empty() ? std::string() : o.data_dir + "/";
  std::string regions = o.data_dir.empty() ? FindDataFile("", "demo/kpu_wilayah_3212.csv.gz")
                                           : dir + "demo/kpu_wilayah_3212.csv.gz";
  std::string tps_file = o.data_dir.empty() ? FindDataFile("", "demo/kpu_tps_3212.csv.gz")
                                            : dir + "demo/kpu_tps_3212.csv.gz";
  if (regions.empty() || tps_file.empty() || !std::filesystem::exists(regions) || !std::filesystem::exists(tps_file)) {
    return NotFound(o.data_dir.empty()
                        ? "data demo tidak ditemukan (data/demo/) / demo data not found (data/demo/)"
                        : "--data-dir: tidak ada demo/kpu_wilayah_3212.csv.gz dan demo/kpu_tps_3212.csv.gz di " +
                              o.data_dir + " / no demo/kpu_wilayah_3212.csv.gz and demo/kpu_tps_3212.csv.gz in " +
                              o.data_dir);
  }
  if (G().db.empty()) return InvalidArgument("--db: jalur kosong / empty path");
  if (!o.keep) {
    // Only files are removed: a directory, FIFO or device at --db (or its key) was deleted, or
    // threw out of the command, before (2026-12-07).
    for (const char* suffix : {"", "-wal", "-shm", ".key"}) {
      struct stat st;
      if (::lstat((G().db + suffix).c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
        return InvalidArgument(std::string(*suffix ? "--db (" + std::string(suffix) + ")" : "--db") +
                               ": bukan berkas biasa / not a regular file: " + G().db + suffix);
    }
    REKAP_RETURN_IF_ERROR(CheckDemoMayReplace(G().db));
    for (const char* suffix : {"", "-wal", "-shm", ".key"}) {
      std::error_code ec;
      std::filesystem::remove(G().db + suffix, ec);
      if (ec) return Unavailable("--db: tidak bisa menghapus / cannot remove " + G().db + suffix + ": " + ec.message());
    }
  }
  std::cout << Tr("== rekap demo: hari pemungutan suara di Kabupaten Indramayu (3212) ==\n",
                  "== rekap demo: voting day in Kabupaten Indramayu (3212) ==\n");
  REKAP_ASSIGN_OR_RETURN(Db db, OpenDb(true));
  REKAP_ASSIGN_OR_RETURN(Signer signer, LoadOrCreateKey(db, true));
  {
    REKAP_ASSIGN_OR_RETURN(std::string text, ReadFileMaybeGz(regions));
    REKAP_ASSIGN_OR_RETURN(auto list, ReadRegions(text, regions));
    REKAP_RETURN_IF_ERROR(db.store->PutRegions(list));
    REKAP_ASSIGN_OR_RETURN(std::string ttext, ReadFileMaybeGz(tps_file));
    REKAP_ASSIGN_OR_RETURN(auto tps, ReadTpsList(ttext, tps_file));
    REKAP_RETURN_IF_ERROR(db.store->PutTps(tps));
    std::cout << Tr("Wilayah: ", "Regions: ") << list.size() << ", TPS: " << tps.size() << " ("
              << Tr("data KPU 2024 asli", "real KPU 2024 data") << ")\n";
  }
  REKAP_RETURN_IF_ERROR(LoadElectionText(db.store.get(), EmbeddedFile("data/elections/demo-indramayu.toml"),
                                         "builtin:demo-indramayu"));
  REKAP_ASSIGN_OR_RETURN(auto engine, Engine::Open(db.store.get(), signer, SystemClock()));
  const Contest& contest = engine->election().contests.front();
  const Form& form = *contest.form;
  const RegionTree& tree = engine->tree();
  std::cout << Tr("Kontes: ", "Contest: ") << contest.name << "\n";
  for (const auto& c : contest.candidates) std::cout << "  " << c.number << ". " << c.name << "\n";

  // Each TPS: its voters, turnout, and the kecamatan's leaning (so regions differ).
  std::mt19937_64 rng(o.seed);
  std::vector<SimTps> sims(tree.tps_count());
  std::vector<std::vector<double>> shares(tree.size());
  for (size_t n = 0; n < tree.size(); ++n) {
    std::vector<double> w(contest.candidates.size());
    double sum = 0;
    for (size_t c = 0; c < w.size(); ++c) sum += w[c] = std::gamma_distribution<double>(8.0 - 2.0 * static_cast<double>(c), 1.0)(rng);
    for (auto& x : w) x /= sum;
    shares[n] = w;
  }
  std::vector<Arrival> arrivals;
  std::uniform_real_distribution<double> u01(0, 1);
  std::lognormal_distribution<double> delay(std::log(3.0), 0.7);  // hours after counting ends
  for (int32_t t = 0; t < static_cast<int32_t>(tree.tps_count()); ++t) {
    sims[t].dpt = std::uniform_int_distribution<int>(170, 300)(rng);
    sims[t].turnout = std::clamp(std::normal_distribution<double>(0.72, 0.08)(rng), 0.4, 0.95);
    double at = 15.0 + std::min(delay(rng), 40.0);  // counting ends around 15:00
    arrivals.push_back({at, 0, t});
    if (u01(rng) < o.retry_rate) arrivals.push_back({at + 0.2, 1, t});
    if (u01(rng) < o.witness_rate) arrivals.push_back({at + u01(rng) * 6, 2, t});
  }
  std::sort(arrivals.begin(), arrivals.end(), [](const Arrival& a, const Arrival& b) { return a.hour < b.hour; });

  // What each TPS truly counted, and whether the KPPS upload carries a misread.
  std::vector<std::vector<FieldValue>> truth(tree.tps_count());
  std::vector<uint8_t> misread(tree.tps_count());
  for (int32_t t = 0; t < static_cast<int32_t>(tree.tps_count()); ++t) {
    int32_t kec = tree.node(tree.tps(t).desa).parent;
    truth[t] = SimulateResult(rng, form, sims[t], shares[kec]);
    misread[t] = u01(rng) < o.misread_rate;
  }
  int32_t kab = tree.Find("3212");
  const ContestTally& tally = *engine->tally(contest.id);
  size_t next = 0;
  int64_t refused = 0, duplicates = 0;
  std::vector<Arrival> corrections;
  std::vector<std::string> examples;  // the first misreads the rules caught
  std::cout << "\n" << Tr("jam    TPS masuk        dihitung  ditandai  konflik  dikoreksi\n",
                          "time   TPS in           counted   flagged   conflict corrected\n");
  for (double hour = 16; next < arrivals.size() || !corrections.empty(); hour += 1) {
    std::vector<Command> batch;
    auto add = [&](const Arrival& a) {
      Command c;
      c.contest = contest.id;
      c.tps = tree.tps(a.tps).tps.id;
      std::vector<FieldValue> v = truth[a.tps];
      if (a.kind == 0 || a.kind == 1) {
        if (misread[a.tps]) {  // the same misread on a retry: seeded per TPS
          std::mt19937_64 r(o.seed ^ static_cast<uint64_t>(a.tps));
          Misread(r, form, &v);
        }
        c.source = "kpps";
        c.author = "kpps-" + c.tps;
      } else if (a.kind == 2) {
        c.source = "saksi:1";
        c.author = "saksi-1-" + c.tps;
        if (u01(rng) < 0.05) Misread(rng, form, &v);  // a witness copy that disagrees
      } else {
        c.kind = EventKind::kCorrection;
        c.author = "ppk-" + c.tps.substr(0, 6);
        c.reason = "Pleno PPK: angka dibaca ulang dari C.Hasil plano / PPK plenary: re-read from the paper form";
      }
      c.values = ToNamed(form, v);
      batch.push_back(std::move(c));
    };
    while (next < arrivals.size() && arrivals[next].hour < hour) add(arrivals[next++]);
    for (const auto& a : corrections) add(a);
    corrections.clear();
    auto results = engine->Execute(batch);
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      if (!r.ok()) {
        ++refused;
        continue;
      }
      if (r->kind == Outcome::Kind::kDuplicate) ++duplicates;
      if (r->flagged && r->kind == Outcome::Kind::kAppended && examples.size() < 3) {
        for (const auto& f : r->failures) {
          if (f.severity != Severity::kError) continue;
          std::string vals;
          for (size_t k = 0; k < f.fields.size(); ++k)
            vals += (k ? ", " : "") + f.fields[k] + "=" + std::to_string(f.values[k]);
          examples.push_back("TPS " + batch[i].tps + " (" + batch[i].source + "): " + f.rule_id + " [" + vals + "] " +
                             f.detail);
          break;
        }
      }
    }
    // Every 6 hours after the first results, the PPK corrects what is flagged in its kecamatan.
    if (static_cast<int>(hour) % 6 == 0) {
      for (int32_t t = 0; t < static_cast<int32_t>(tree.tps_count()); ++t) {
        const TpsState& s = tally.tps_state(t);
        if ((s.flags & kFlagged) || (s.flags & kConflicting)) corrections.push_back({hour, 3, t});
      }
    }
    RegionTotals r = tally.Read(kab);
    char line[160];
    std::snprintf(line, sizeof line, "%02d:00  %5lld/%-5lld %6s  %7lld  %8lld  %7lld  %9lld\n",
                  static_cast<int>(hour) % 24, static_cast<long long>(r.received), static_cast<long long>(r.expected),
                  Percent(r.received, r.expected).c_str(), static_cast<long long>(r.counted),
                  static_cast<long long>(r.flagged), static_cast<long long>(r.conflicting),
                  static_cast<long long>(r.corrected));
    // Hourly until midnight, then every six hours.
    if (hour <= 24 || static_cast<int>(hour) % 6 == 0 || (next >= arrivals.size() && corrections.empty())) std::cout << line;
    if (hour > 96) break;
  }
  std::cout << "\n" << Tr("Duplikat (kiriman ulang, dihitung sekali): ", "Duplicates (retries, counted once): ")
            << duplicates << Tr(", ditolak: ", ", refused: ") << refused << "\n";
  std::cout << Tr("Contoh salah baca yang ditahan aturan formulir (tidak dipublikasikan sampai dikoreksi PPK):\n",
                  "Examples of misreads the form's rules held back (not published until the PPK corrected them):\n");
  for (const auto& e : examples) std::cout << "  " << e << "\n";
  std::cout << "\n";
  PrintTable(tree, tally, kab, std::cout);

  VerifyReport rep = Verify(db.store.get(), engine->public_key(), engine.get(), engine->tree_ptr(), engine->election_ptr());
  std::cout << "\n" << Tr("Verifikasi: ", "Verification: ") << rep.events << Tr(" peristiwa, ", " events, ")
            << rep.batches << " batch: " << (rep.ok() ? "OK" : Tr("GAGAL", "FAILED")) << "\n";
  for (const auto& p : rep.problems) std::cout << "  " << p << "\n";
  std::cout << Tr("Basis data: ", "Database: ") << G().db << Tr("  (coba: rekap --db ", "  (try: rekap --db ") << G().db
            << " results --region 321201)\n";
  if (!rep.ok()) return DataLoss("verifikasi gagal / verification failed");
  return Status::Ok();
}

}  // namespace

void AddDemo(CLI::App& app) {
  static DemoOptions o;
  auto* d = app.add_subcommand("demo", "simulasi hari pemungutan suara di Indramayu / simulate voting day in Indramayu");
  d->add_option("--seed", o.seed, "benih acak / random seed")->capture_default_str();
  d->add_option("--misread-rate", o.misread_rate, "bagian TPS dengan salah baca (0..1) / share of TPS with a misread (0..1)")->capture_default_str();
  d->add_option("--data-dir", o.data_dir, "folder data/ repo / the repository's data/ folder");
  d->add_flag("--keep", o.keep, "jangan hapus basis data demo lama (basis data lain tidak pernah dihapus) / keep an existing demo database (any other database is never removed)");
  d->callback([] { Status st = RunDemo(o); ExitCode() = st.ok() ? 0 : Fail(st); });
}

}  // namespace rekap::cli
