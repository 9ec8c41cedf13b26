// Power cuts: the engine on the durable SQLite store, run on a VFS that cuts the power at a
// random write or sync and then leaves on disk only what a disk keeps (store/sqlite/
// powercut_vfs.h: synced data, plus any subset of what was written since, torn in 512-byte
// pieces). After each cut the database must open, replay, verify (hashes, chains, Merkle
// heads, signatures, projections) and hold every event the engine acknowledged, and the
// engine must take new results. The same workload on the store without syncs
// (durable=false) must lose something under the same cuts, or the check proves nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/engine_test_util.h"
#include "rekap/engine.h"
#include "rekap/store.h"
#include "store/sqlite/powercut_vfs.h"

namespace rekap {
namespace {

using engine_testing::ConsistentResult;
using engine_testing::EngineFixture;

struct Ack {
  uint64_t seq;
  Hash hash;
};

// One run: a seeded mix of single commands and batches (some committed every N commands on
// the engine's writer thread), submissions from three sources, duplicates and corrections.
class Workload {
 public:
  explicit Workload(uint64_t seed) : rng_(seed), tps_(engine_testing::SmallTreeTps()) {}

  // Runs `steps` Execute calls (fewer if the power goes: then three more, which must fail
  // or be duplicates of durable events); every acknowledged outcome goes to `acks`.
  void Run(Engine* engine, engine_testing::FixedClock* clock, int steps, const powercut::PowerCutVfs& vfs,
           std::vector<Ack>* acks) {
    int after_cut = 0;
    for (int i = 0; i < steps && after_cut < 3; ++i) {
      if (vfs.cut()) ++after_cut;
      clock->Advance(1000);
      std::vector<Command> cmds;
      ExecuteOptions opt;
      if (std::uniform_int_distribution<int>(0, 9)(rng_) < 6) {
        cmds.push_back(Next());
      } else {
        int n = std::uniform_int_distribution<int>(2, 8)(rng_);
        for (int k = 0; k < n; ++k) cmds.push_back(Next());
        opt.commit_every = std::uniform_int_distribution<size_t>(0, 3)(rng_);
      }
      for (const auto& r : engine->Execute(cmds, opt))
        if (r.ok()) acks->push_back(Ack{r->seq, r->event_hash});
    }
  }

 private:
  Command Next() {
    const std::string& tps = tps_[std::uniform_int_distribution<size_t>(0, tps_.size() - 1)(rng_)];
    static const char* const kSources[] = {"kpps", "saksi:1", "saksi:2"};
    const std::string source = kSources[std::uniform_int_distribution<int>(0, 2)(rng_)];
    auto key = tps + "/" + source;
    int roll = std::uniform_int_distribution<int>(0, 9)(rng_);
    if (sent_.count(key) && roll < 3) return sent_[key];  // the same again: a duplicate
    auto values = Values();
    if (sent_.count(key) && roll < 6)
      return EngineFixture::Correct(tps, values, "salah hitung di TPS / miscount");
    Command c = EngineFixture::Submit(tps, source, values);
    if (!sent_.count(key)) sent_[key] = c;  // a second, different one is refused: not acknowledged
    return c;
  }
  std::map<std::string, Value> Values() {
    std::uniform_int_distribution<int> v(0, 60);
    return ConsistentResult(280, {v(rng_), v(rng_), v(rng_)}, v(rng_) / 10);
  }

  std::mt19937_64 rng_;
  std::vector<std::string> tps_;
  std::map<std::string, Command> sent_;
};

struct Trial {
  uint64_t operations = 0;  // writes, truncates and syncs until the first store was closed
  uint64_t acks = 0;
  uint64_t unacknowledged_kept = 0;  // events committed whose outcome the cut kept from the caller
  bool cut = false;
  std::vector<std::string> problems;  // empty: nothing lost, everything verifies
};

class PowerCutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_ = engine_testing::MakeSmallTree();
    election_ = engine_testing::LoadPpwpElection();
    ASSERT_NE(election_, nullptr);
  }

  // A workload on a fresh database, cut before operation `cut_at` (0: no cut), restored
  // as a disk would be, reopened and checked.
  Trial RunTrial(powercut::PowerCutVfs* vfs, uint64_t seed, uint64_t cut_at, bool durable, int steps) {
    Trial t;
    const std::string path = engine_testing::TempDbPath("_" + std::to_string(seed) + (durable ? "" : "_off"));
    engine_testing::RemoveDb(path);
    std::vector<Ack> acks;
    engine_testing::FixedClock clock;
    {
      auto store = OpenSqliteStore(path, durable);
      if (!store.ok()) {
        t.problems.push_back("first open: " + store.status().ToString());
        return t;
      }
      auto engine = Engine::OpenWith(store->get(), engine_testing::TestSigner(), &clock, tree_, election_);
      if (!engine.ok()) {
        t.problems.push_back("first engine: " + engine.status().ToString());
        return t;
      }
      t.operations = vfs->operations();
      vfs->CutAfter(cut_at);
      Workload(seed).Run(engine->get(), &clock, steps, *vfs, &acks);
    }  // the engine and the store are closed here (a checkpoint), the power still off if cut
    t.cut = vfs->cut();
    t.operations = vfs->operations() - t.operations;
    std::mt19937_64 rng(seed * 7919 + 1);
    vfs->Restore(rng);
    t.acks = acks.size();

    auto store = OpenSqliteStore(path, durable);
    if (!store.ok()) {
      t.problems.push_back("reopen: " + store.status().ToString());
      engine_testing::RemoveDb(path);
      return t;
    }
    auto engine = Engine::OpenWith(store->get(), engine_testing::TestSigner(), &clock, tree_, election_);
    if (!engine.ok()) {
      t.problems.push_back("replay: " + engine.status().ToString());
      engine_testing::RemoveDb(path);
      return t;
    }
    VerifyReport rep = Verify(store->get(), engine_testing::TestSigner().public_key(), engine->get(), tree_, election_);
    for (const auto& p : rep.problems) t.problems.push_back("verify: " + p);
    uint64_t lost = 0;
    std::vector<uint64_t> acked;
    for (const Ack& a : acks) {
      acked.push_back(a.seq);
      bool found = false;
      Status st = (*store)->ScanEvents(a.seq, [&](const StoredEvent& e) {
        found = e.seq == a.seq && e.hash == a.hash;
        return false;
      });
      if (!st.ok() || !found) ++lost;
    }
    if (lost > 0) t.problems.push_back(std::to_string(lost) + " acknowledged events lost");
    std::sort(acked.begin(), acked.end());
    Status st = (*store)->ScanEvents(1, [&](const StoredEvent& e) {
      if (!std::binary_search(acked.begin(), acked.end(), e.seq)) ++t.unacknowledged_kept;
      return true;
    });
    if (!st.ok()) t.problems.push_back("scan: " + st.ToString());
    // Still up: a new result is taken, and the ledger still verifies.
    clock.Advance(60000);
    auto r = (*engine)->Execute(EngineFixture::Submit(engine_testing::SmallTreeTps()[0], "pengawas:01",
                                                      ConsistentResult(250, {10, 20, 30}, 2)));
    if (!r.ok()) t.problems.push_back("after recovery: " + r.status().ToString());
    VerifyReport again = Verify(store->get(), engine_testing::TestSigner().public_key(), engine->get(), tree_, election_);
    for (const auto& p : again.problems) t.problems.push_back("verify after recovery: " + p);
    engine->reset();
    store->reset();
    engine_testing::RemoveDb(path);
    return t;
  }

  // Cut points: half spread over the whole run, half within 40 operations of a checkpoint
  // (the last of which is the one on closing the store).
  static std::vector<uint64_t> CutPoints(uint64_t operations, const std::vector<uint64_t>& checkpoints, int n,
                                         uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint64_t> out;
    for (int i = 0; i < n; ++i) {
      if (i % 2 == 0 || checkpoints.empty()) {
        out.push_back(std::uniform_int_distribution<uint64_t>(1, operations)(rng));
      } else {
        uint64_t c = checkpoints[std::uniform_int_distribution<size_t>(0, checkpoints.size() - 1)(rng)];
        uint64_t lo = c > 40 ? c - 40 : 1;
        out.push_back(std::uniform_int_distribution<uint64_t>(lo, c + 40)(rng));
      }
    }
    return out;
  }

  std::shared_ptr<const RegionTree> tree_;
  std::shared_ptr<const Election> election_;
};

constexpr int kSteps = 800;

TEST_F(PowerCutTest, EveryAcknowledgedEventSurvivesACutAtAnyWrite) {
  powercut::PowerCutVfs vfs;
  // A run without a cut counts the workload's operations and finds its checkpoints; the
  // workload is seeded and the engine's clock fixed, so each trial repeats it exactly up to
  // its cut (the writer thread of commit_every changes only the order of two files' writes).
  const uint64_t start = vfs.operations();
  Trial dry = RunTrial(&vfs, 1, 0, /*durable=*/true, kSteps);
  ASSERT_TRUE(dry.problems.empty()) << dry.problems[0];
  ASSERT_FALSE(dry.cut);
  const uint64_t operations = dry.operations;
  std::vector<uint64_t> checkpoints;
  for (uint64_t op : vfs.database_sync_operations())
    if (op > start && op - start <= operations) checkpoints.push_back(op - start);
  ASSERT_GT(operations, 1000u);
  ASSERT_GE(checkpoints.size(), 2u) << "the workload must reach a WAL checkpoint before the one on closing";
  uint64_t cuts = 0, acks = 0, kept = 0;
  int trial = 0;
  for (uint64_t at : CutPoints(operations, checkpoints, 40, 20240214)) {
    ++trial;
    Trial t = RunTrial(&vfs, 1, at, /*durable=*/true, kSteps);
    EXPECT_TRUE(t.problems.empty()) << "cut before operation " << at << " of " << operations << " (trial " << trial
                                    << "): " << t.problems[0];
    cuts += t.cut;
    acks += t.acks;
    kept += t.unacknowledged_kept;
  }
  // The cuts must land inside the runs (a cut after the end would test nothing).
  EXPECT_GE(cuts, 36u);
  EXPECT_GT(acks, 1000u);
  std::cout << "[ powercut ] " << operations << " writes and syncs a run, " << checkpoints.size()
            << " checkpoints; 40 runs, " << cuts << " cut; " << acks
            << " acknowledged events, none lost; " << kept << " committed but not acknowledged\n";
}

// The control: without syncs (synchronous=OFF) the same cuts lose acknowledged events or
// leave a database that does not verify, and the check above sees it.
TEST_F(PowerCutTest, WithoutSyncsTheSameCutsLoseEvents) {
  powercut::PowerCutVfs vfs;
  // Without syncs nothing is durable, so even the run without a cut may lose everything
  // here; it only counts the operations.
  const uint64_t operations = RunTrial(&vfs, 1, 0, /*durable=*/false, kSteps).operations;
  ASSERT_GT(operations, 1000u);
  int caught = 0, trials = 0;
  for (uint64_t at : CutPoints(operations, {}, 10, 7)) {
    Trial t = RunTrial(&vfs, 1, at, /*durable=*/false, kSteps);
    ++trials;
    if (!t.problems.empty()) ++caught;
  }
  std::cout << "[ powercut ] without syncs: " << caught << " of " << trials << " cuts lost or broke something\n";
  EXPECT_GE(caught, 5);
}

}  // namespace
}  // namespace rekap
