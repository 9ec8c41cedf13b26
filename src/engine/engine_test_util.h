// Test fixtures for the engine, verification and tally tests: a small region tree, the
// shipped PPWP election, a fixed clock, a deterministic signer, a temporary SQLite store,
// and a builder of consistent C.Hasil-PPWP results (every hard rule holds).
//
// Only for tests (included by *_test.cc). Everything lives in rekap::engine_testing.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "rekap/election.h"
#include "rekap/engine.h"
#include "rekap/form.h"
#include "rekap/ledger.h"
#include "rekap/region.h"
#include "rekap/store.h"
#include "rekap/tally.h"

namespace rekap::engine_testing {

inline constexpr char kSchemaDir[] = REKAP_SOURCE_DIR "/data/schemas";
inline constexpr char kPpwpSchema[] = REKAP_SOURCE_DIR "/data/schemas/c-hasil-ppwp-2024.toml";
inline constexpr char kPpwpElection[] = REKAP_SOURCE_DIR "/data/elections/pemilu-2024-ppwp.toml";
inline constexpr char kContest[] = "ppwp";

// A clock that only moves when told.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t now_ms = 1707879600000) : now_(now_ms) {}  // 2024-02-14T03:00Z
  int64_t NowMs() override { return now_; }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  int64_t now_;
};

inline Signer TestSigner(uint8_t fill = 7) {
  std::array<uint8_t, 32> seed;
  seed.fill(fill);
  return Signer::FromSeed(seed);
}

// Province 31, kab/kota 3171 and 3172, two kecamatan each (xx01, xx02), two desa each
// (kec + "1001", kec + "1002"), three TPS per desa (desa + "001".."003"): 24 TPS.
inline std::vector<std::string> SmallTreeKab() { return {"3171", "3172"}; }
inline std::vector<std::string> SmallTreeKecamatan() {
  std::vector<std::string> out;
  for (const auto& k : SmallTreeKab())
    for (const char* s : {"01", "02"}) out.push_back(k + s);
  return out;
}
inline std::vector<std::string> SmallTreeDesa() {
  std::vector<std::string> out;
  for (const auto& k : SmallTreeKecamatan())
    for (const char* s : {"1001", "1002"}) out.push_back(k + s);
  return out;
}
inline std::vector<std::string> SmallTreeTps() {
  std::vector<std::string> out;
  for (const auto& d : SmallTreeDesa())
    for (const char* s : {"001", "002", "003"}) out.push_back(d + s);
  return out;
}
// Every region code of the small tree, national ("") first.
inline std::vector<std::string> SmallTreeRegions() {
  std::vector<std::string> out = {"", "31"};
  for (const auto& v : {SmallTreeKab(), SmallTreeKecamatan(), SmallTreeDesa()}) out.insert(out.end(), v.begin(), v.end());
  return out;
}

inline std::shared_ptr<const RegionTree> MakeSmallTree() {
  auto tree = std::make_shared<RegionTree>();
  auto add = [&](const std::string& code, const char* kind) {
    Status st = tree->AddRegion(Region{code, "WILAYAH " + code, kind, Level::kNational});
    EXPECT_TRUE(st.ok()) << st.ToString();
  };
  add("31", "provinsi");
  for (const auto& c : SmallTreeKab()) add(c, "kota");
  for (const auto& c : SmallTreeKecamatan()) add(c, "kecamatan");
  for (const auto& c : SmallTreeDesa()) add(c, "kelurahan");
  for (const auto& t : SmallTreeTps()) {
    Status st = tree->AddTps(Tps{t, "TPS " + t.substr(10)});
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  Status st = tree->Finish(/*create_missing_parents=*/false);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return tree;
}

inline std::map<std::string, std::shared_ptr<const FormSchema>> ShippedSchemas() {
  auto schemas = LoadSchemaDir(kSchemaDir);
  EXPECT_TRUE(schemas.ok()) << schemas.status().ToString();
  return schemas.ok() ? *schemas : std::map<std::string, std::shared_ptr<const FormSchema>>{};
}

// The shipped Pemilu 2024 PPWP election (contest "ppwp", 3 paslon, national scope), resolved.
inline std::shared_ptr<const Election> LoadPpwpElection() {
  auto e = Election::LoadFile(kPpwpElection);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (!e.ok()) return nullptr;
  Status st = e->Resolve(ShippedSchemas());
  EXPECT_TRUE(st.ok()) << st.ToString();
  return std::make_shared<const Election>(std::move(e).value());
}

// A full C.Hasil-PPWP result satisfying every hard rule (and, when
// turnout == sum(votes) + invalid, every warning rule except implausibly lopsided votes).
// Preconditions: sum(votes) + invalid <= turnout <= dpt <= 300.
inline std::map<std::string, Value> ConsistentResult(int dpt, int turnout, const std::vector<int>& votes,
                                                     int invalid) {
  const int valid = std::accumulate(votes.begin(), votes.end(), 0);
  EXPECT_LE(valid + invalid, turnout);
  EXPECT_LE(turnout, dpt);
  EXPECT_LE(dpt, 300);
  std::map<std::string, Value> v;
  auto triple = [&](const std::string& base, int l, int p) {
    v[base + "_l"] = l;
    v[base + "_p"] = p;
    v[base + "_j"] = l + p;
  };
  triple("dpt", dpt / 2, dpt - dpt / 2);
  const int dptb = turnout >= 20 ? 2 : 0;
  const int dpk = turnout >= 20 ? 1 : 0;
  const int pdpt = turnout - dptb - dpk;
  triple("pengguna_dpt", pdpt / 2, pdpt - pdpt / 2);
  triple("pengguna_dptb", dptb / 2, dptb - dptb / 2);
  triple("pengguna_dpk", dpk / 2, dpk - dpk / 2);
  triple("pengguna_total", pdpt / 2 + dptb / 2 + dpk / 2,
         (pdpt - pdpt / 2) + (dptb - dptb / 2) + (dpk - dpk / 2));
  const int dis_l = v["pengguna_total_l"] >= 1 ? 1 : 0;
  triple("disabilitas", dis_l, 0);
  const int received = dpt + (2 * dpt + 99) / 100;  // DPT + ceil(2%)
  const int damaged = received - turnout >= 1 ? 1 : 0;
  v["surat_diterima"] = received;
  v["surat_digunakan"] = turnout;
  v["surat_rusak"] = damaged;
  v["surat_sisa"] = received - turnout - damaged;
  for (size_t i = 0; i < votes.size(); ++i) v["suara_" + std::to_string(i + 1)] = votes[i];
  v["suara_sah"] = valid;
  v["suara_tidak_sah"] = invalid;
  v["suara_total"] = valid + invalid;
  return v;
}

// Shorthand: turnout = sum(votes) + invalid.
inline std::map<std::string, Value> ConsistentResult(int dpt, const std::vector<int>& votes, int invalid) {
  return ConsistentResult(dpt, std::accumulate(votes.begin(), votes.end(), 0) + invalid, votes, invalid);
}

// A unique temporary database path for the running test.
inline std::string TempDbPath(const std::string& tag = "") {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "rekap_" + std::to_string(::getpid()) + "_";
  if (info) name += std::string(info->test_suite_name()) + "_" + info->name();
  name += tag + ".db";
  for (char& c : name)
    if (c == '/') c = '_';
  return (std::filesystem::path(::testing::TempDir()) / name).string();
}

inline void RemoveDb(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix, ec);
}

// A store over a temporary SQLite file with an engine for the small tree and the PPWP
// election. Files are removed in TearDown.
class EngineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_ = MakeSmallTree();
    election_ = LoadPpwpElection();
    ASSERT_NE(election_, nullptr);
    path_ = TempDbPath();
    RemoveDb(path_);
    OpenStore();
    OpenEngine();
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    RemoveDb(path_);
  }

  void OpenStore() {
    auto s = OpenSqliteStore(path_, /*durable=*/false);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void OpenEngine() {
    auto e = Engine::OpenWith(store_.get(), TestSigner(), &clock_, tree_, election_);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }
  // A second engine over the same store: a fresh replay of the ledger.
  std::unique_ptr<Engine> Reopen() {
    auto e = Engine::OpenWith(store_.get(), TestSigner(), &clock_, tree_, election_);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(e).value() : nullptr;
  }

  const ContestTally& tally() const { return *engine_->tally(kContest); }
  const Form& form() const { return *election_->FindContest(kContest)->form; }
  int32_t Node(const std::string& code) const {
    int32_t n = tree_->Find(code);
    EXPECT_GE(n, 0) << code;
    return n;
  }
  int32_t TpsIndex(const std::string& id) const {
    int32_t t = tree_->FindTps(id);
    EXPECT_GE(t, 0) << id;
    return t;
  }
  RegionTotals Totals(const std::string& code) const { return tally().Read(Node(code)); }
  uint64_t StoreLastSeq() const {
    auto s = store_->LastSeq();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : 0;
  }
  // Current values of a TPS, by field id (absent fields omitted).
  std::map<std::string, Value> CurrentValues(const std::string& tps) const {
    std::map<std::string, Value> out;
    const Value* v = tally().tps_values(TpsIndex(tps));
    for (size_t i = 0; i < form().size(); ++i)
      if (v[i] != kMissing) out[form().fields()[i].id] = v[i];
    return out;
  }
  // Every stored event, decoded, in order.
  std::vector<Event> StoredEvents() const {
    std::vector<Event> out;
    Status st = store_->ScanEvents(1, [&](const StoredEvent& se) {
      auto e = Decode(se.body);
      EXPECT_TRUE(e.ok()) << e.status().ToString();
      if (e.ok()) out.push_back(*e);
      return true;
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  std::map<std::string, Value> ByFieldId(const std::vector<FieldValue>& fv) const {
    std::map<std::string, Value> out;
    for (const auto& f : fv) out[form().fields().at(f.field).id] = f.value;
    return out;
  }


 public:
  // Command builders (also used outside fixtures).
  static Command Submit(const std::string& tps, const std::string& source, std::map<std::string, Value> values,
                        const std::string& author = "petugas-kpps") {
    Command c;
    c.kind = EventKind::kSubmission;
    c.contest = kContest;
    c.tps = tps;
    c.source = source;
    c.author = author;
    c.values = std::move(values);
    return c;
  }
  static Command Correct(const std::string& tps, std::map<std::string, Value> values, const std::string& reason,
                         const std::string& author = "operator.ppk") {
    Command c;
    c.kind = EventKind::kCorrection;
    c.contest = kContest;
    c.tps = tps;
    c.author = author;
    c.reason = reason;
    c.values = std::move(values);
    return c;
  }
  static Command Accept(const std::string& tps, const std::string& reason,
                        const std::string& author = "ketua.ppk") {
    Command c;
    c.kind = EventKind::kAcceptance;
    c.contest = kContest;
    c.tps = tps;
    c.author = author;
    c.reason = reason;
    return c;
  }

 protected:
  FixedClock clock_;
  std::shared_ptr<const RegionTree> tree_;
  std::shared_ptr<const Election> election_;
  std::string path_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace rekap::engine_testing
