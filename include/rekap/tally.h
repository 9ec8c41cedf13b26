// rekap: projections of the ledger: per-TPS state and per-region tallies of one contest.
//
// A ContestTally is a pure function of the events applied to it, in order: replaying the
// ledger from scratch yields the same state as applying events one at a time as they
// arrive. Aggregates are maintained incrementally (each TPS change adds its delta to the
// at most five ancestors of its desa) and can be recomputed from the TPS leaves for
// verification (RecomputeFromLeaves). Not thread-safe: one writer; readers must
// synchronize with it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "rekap/election.h"
#include "rekap/ledger.h"
#include "rekap/region.h"

namespace rekap {

// Status flags of one TPS for one contest.
enum TpsFlag : uint8_t {
  kReceived = 1 << 0,     // has current values
  kFlagged = 1 << 1,      // current values break a hard rule (and were not accepted)
  kAccepted = 1 << 2,     // an authorized officer accepted the flagged values with a reason
  kConflicting = 1 << 3,  // another source sent different values, not yet resolved
  kCorrected = 1 << 4,    // at least one correction was made
  kIncomplete = 1 << 5,   // a field the totals add up (a paslon, valid, invalid, DPT) is missing
};

// What one source last sent for a TPS.
struct SourceState {
  std::string source;
  uint64_t seq = 0;
  Hash event_hash{};
  Hash content{};  // ContentDigest of its values and photo
  bool settled = false;  // a correction decided the TPS after this source's last report
};

struct TpsState {
  uint8_t flags = 0;
  uint64_t last_seq = 0;      // last event of (contest, tps): the chain head
  Hash last_hash{};
  Hash content{};             // digest of the current values
  std::string primary;        // the source whose values are current (until corrected)
  std::vector<SourceState> sources;
  // In the totals: received, whole (a partial result would add its paslon without its valid
  // votes, and the region's sums would break), and not flagged unless accepted.
  bool counted() const {
    return (flags & kReceived) && !(flags & kIncomplete) && (!(flags & kFlagged) || (flags & kAccepted));
  }
};

// Totals of one region node. Votes and sums count only TPS whose values are published
// (received and not flagged, or accepted); the counters count TPS.
struct RegionTotals {
  std::vector<int64_t> votes;  // per candidate, index 0 = candidate 1
  int64_t valid = 0, invalid = 0, dpt = 0;
  int64_t expected = 0, received = 0, flagged = 0, conflicting = 0, corrected = 0, counted = 0;
  bool operator==(const RegionTotals&) const = default;
};

// Digest of a set of values and an optional photo hash; equal content, equal digest.
Hash ContentDigest(const std::vector<FieldValue>& values, const std::optional<Hash>& photo);

class ContestTally {
 public:
  // `tree` and `contest` must outlive the tally. contest.form must be bound.
  ContestTally(const RegionTree* tree, const Contest* contest);

  const Contest& contest() const { return *contest_; }
  // True iff TPS index t lies in the contest's scope.
  bool InScope(int32_t tps) const;

  // Applies one event of this contest whose hash is `hash`. The event's subject must be a
  // TPS in scope (the engine checks before appending; replay reports violations). When
  // `failures` is given, it receives the failed rules of the values the event carries.
  Status Apply(const Event& e, const Hash& hash, std::vector<RuleFailure>* failures = nullptr);

  const TpsState& tps_state(int32_t tps) const { return tps_[tps]; }
  // Current values of a TPS (form().size() entries, kMissing where absent).
  const Value* tps_values(int32_t tps) const { return &values_[static_cast<size_t>(tps) * width_]; }
  RegionTotals Read(int32_t node) const;
  // Totals of one TPS as it contributes to its desa.
  RegionTotals ReadTps(int32_t tps) const;

  // Recomputes every node from the TPS leaves, bottom-up, independently of the
  // incremental path; returns the first node code whose totals differ, or "" if none.
  std::string CheckAgainstLeaves() const;
  // Compares all node totals and TPS states with another tally of the same contest.
  std::string Diff(const ContestTally& other) const;

 private:
  // Layout of a node's row: [votes x n][valid, invalid, dpt][received, flagged,
  // conflicting, corrected, counted].
  void Contribution(int32_t tps, int64_t* row) const;
  RegionTotals FromRow(const int64_t* row) const;  // all but `expected`
  void AddToAncestors(int32_t tps, const int64_t* delta);
  Status BadEvent(const Event& e, const std::string& why) const;

  const RegionTree* tree_;
  const Contest* contest_;
  const Form* form_;
  int ncand_;
  size_t width_;  // values per TPS
  size_t row_;    // int64 per node
  std::vector<TpsState> tps_;
  std::vector<Value> values_;
  std::vector<int64_t> nodes_;
  std::vector<int64_t> expected_;
  std::vector<uint8_t> in_scope_;
  std::vector<RuleFailure> scratch_;
  std::vector<int64_t> before_, after_;  // Apply's contribution rows, reused
};

}  // namespace rekap
