// rekap: the engine applies commands to the ledger: it validates a submission against its
// form, decides (new, duplicate, refused, conflicting), appends the events of a batch in one
// durable group commit sealed by a signed Merkle head, and only then updates projections
// and acknowledges.
//
// Invariants (tests prove each):
// - An acknowledged event is durable (AppendBatch returned OK) before its outcome is returned.
// - The same submission twice yields the same receipt (seq and hash) and counts once.
// - A different result from the same source without a correction reason is refused.
// - A result that breaks a hard rule is stored, flagged, and excluded from the tallies until
//   an authorized correction or acceptance with a reason.
// Not thread-safe: one caller at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rekap/election.h"
#include "rekap/ledger.h"
#include "rekap/region.h"
#include "rekap/store.h"
#include "rekap/tally.h"

namespace rekap {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() = 0;
};
Clock* SystemClock();

// A command: submit, correct or accept one TPS result of one contest.
struct Command {
  EventKind kind = EventKind::kSubmission;
  std::string contest;
  std::string tps;
  std::string source;   // submissions: "kpps", "saksi:<paslon>", "import:<format>", ...
  std::string author;
  std::string reason;   // required for corrections and acceptances
  std::optional<Hash> photo;
  // Field id -> value, for submissions and corrections. Every field given must exist in the
  // contest's form and hold 0..999, and every field of the form must be given, unless
  // `partial` (then an omitted field is "not yet received", never zero).
  std::map<std::string, Value> values;
  bool partial = false;
  // Imports of another system's data keep values above the form's maximum (up to 999,999)
  // as they were, flagged by the range rule, instead of refusing the whole file.
  bool keep_out_of_range = false;
};

struct Outcome {
  enum class Kind { kAppended, kDuplicate };
  Kind kind = Kind::kAppended;
  uint64_t seq = 0;
  Hash event_hash{};
  uint64_t batch = 0;              // 0 for a duplicate whose batch is not looked up
  bool flagged = false;            // the TPS's current values break a hard rule
  bool conflicting = false;
  std::vector<RuleFailure> failures;  // failed rules of the submitted values (errors and warnings)
};

struct ExecuteOptions {
  // 0: the whole call is one batch, one transaction: all or nothing (imports).
  // N > 0: a batch (transaction, signed head) every N accepted commands, each committed on a
  // writer thread while the next is prepared; a command's outcome is still returned only
  // after its batch is durable, and after a failed commit nothing more of the call is written.
  size_t commit_every = 0;
};

class Engine {
 public:
  // Loads regions, TPS, the election and its schemas from `store`, and replays the ledger
  // into fresh projections (checking hashes and chains on the way).
  static Result<std::unique_ptr<Engine>> Open(Store* store, Signer signer, Clock* clock);
  // Builds an engine over an already-built tree and election (tests, benchmarks). The
  // store must hold no events for other elections.
  static Result<std::unique_ptr<Engine>> OpenWith(Store* store, Signer signer, Clock* clock,
                                                  std::shared_ptr<const RegionTree> tree,
                                                  std::shared_ptr<const Election> election);

  // Executes commands in order as one batch: every accepted command becomes one event, all
  // in one transaction sealed by one signed head. Per command: an Outcome or the Status that
  // refused it (nothing is written for a refused command; other commands still apply).
  // If the store fails, no command of the batch is acknowledged and the projections are
  // rebuilt from the store.
  std::vector<Result<Outcome>> Execute(const std::vector<Command>& commands,
                                       const ExecuteOptions& options = {});
  Result<Outcome> Execute(const Command& command);

  // Checks a command without writing: the Status it would get (dry run for import files).
  Status Check(const Command& command) const;

  const RegionTree& tree() const { return *tree_; }
  std::shared_ptr<const RegionTree> tree_ptr() const { return tree_; }
  std::shared_ptr<const Election> election_ptr() const { return election_; }
  const Election& election() const { return *election_; }
  const ContestTally* tally(std::string_view contest) const;
  const std::array<uint8_t, 32>& public_key() const { return signer_.public_key(); }
  uint64_t last_seq() const { return last_seq_; }
  uint64_t last_batch() const { return last_batch_; }
  Store* store() { return store_; }

  // A receipt (inclusion proof against the signed head) for the event at `seq`.
  Result<Receipt> ReceiptFor(uint64_t seq);

 private:
  Engine(Store* store, Signer signer, Clock* clock) : store_(store), signer_(std::move(signer)), clock_(clock) {}
  Status Init(std::shared_ptr<const RegionTree> tree, std::shared_ptr<const Election> election);
  Status Replay();
  // Fills `e` (reused across calls to keep its buffers) with the event for `c`.
  Status Prepare(const Command& c, Event* e, ContestTally** tally, int32_t* tps,
                 std::optional<Outcome>* duplicate) const;

  struct Staged;
  // Prepares commands [begin, end) into one sealed, signed batch and applies them to the
  // projections; appends each command's outcome or refusal to `results`.
  void Stage(const std::vector<Command>& commands, size_t begin, size_t end, int64_t now,
             std::vector<Result<Outcome>>* results, Staged* out);

  Store* store_;
  Signer signer_;
  Clock* clock_;
  std::shared_ptr<const RegionTree> tree_;
  std::shared_ptr<const Election> election_;
  std::map<std::string, std::unique_ptr<ContestTally>, std::less<>> tallies_;
  uint64_t last_seq_ = 0;
  uint64_t last_batch_ = 0;
  Hash last_head_{};
};

// Builds the region tree from a store's regions and TPS.
Result<std::shared_ptr<const RegionTree>> LoadTree(Store* store);
// Loads the election stored in `store` and binds its forms to the stored schemas.
Result<std::shared_ptr<const Election>> LoadElection(Store* store);

// Result of a full verification of a store.
struct VerifyReport {
  uint64_t events = 0, batches = 0;
  std::vector<std::string> problems;  // empty = everything agrees
  bool ok() const { return problems.empty(); }
};
// Recomputes from scratch: every event hash, every chain link, every batch's Merkle root and
// signed head, and every projection by fresh replay; compares the projections with
// `incremental` (the engine's live state) and every aggregate with a bottom-up recomputation
// from the TPS leaves. Independent of Engine's replay path except for ContestTally::Apply.
VerifyReport Verify(Store* store, const std::array<uint8_t, 32>& public_key, const Engine* incremental,
                    std::shared_ptr<const RegionTree> tree, std::shared_ptr<const Election> election);

}  // namespace rekap
