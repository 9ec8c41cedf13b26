// Tests of the engine: one test per invariant or semantic of engine.h, plus a seeded
// property test against a brute-force model of the per-TPS state and the tallies.

#include "rekap/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/engine_test_util.h"

namespace rekap::engine_testing {
namespace {

using ::testing::HasSubstr;

using Values = std::map<std::string, Value>;

// A misread of the votes of paslon 1 (58 -> 958, or 158 -> 58): breaks
// suara_sah_sama_jumlah_paslon, always.
Values Misread(Values v) {
  Value& s1 = v.at("suara_1");
  s1 = s1 <= 99 ? s1 + 900 : s1 % 100;
  return v;
}

bool HasRule(const std::vector<RuleFailure>& failures, const std::string& id) {
  return std::any_of(failures.begin(), failures.end(), [&](const RuleFailure& f) { return f.rule_id == id; });
}
bool HasError(const std::vector<RuleFailure>& failures) {
  return std::any_of(failures.begin(), failures.end(),
                     [](const RuleFailure& f) { return f.severity == Severity::kError; });
}

int64_t CountBatches(Store* store) {
  int64_t n = 0;
  Status st = store->ScanBatches([&](const BatchHead&) {
    ++n;
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return n;
}

// The codes of a TPS's desa and all its ancestors, the national root ("") last.
std::vector<std::string> Ancestry(const std::string& tps) {
  return {tps.substr(0, 10), tps.substr(0, 6), tps.substr(0, 4), tps.substr(0, 2), ""};
}

class EngineTest : public EngineFixture {};

// ---- 1. A consistent submission is appended, durable and counted at every level ------------

TEST_F(EngineTest, ConsistentSubmissionIsAppendedAndCountedAtEveryLevel) {
  const std::string tps = "3171011001002";
  const Values values = ConsistentResult(250, {58, 120, 33}, 4);
  {
    std::vector<RuleFailure> failures;
    std::vector<Value> row(form().size(), kMissing);
    for (const auto& [id, v] : values) row[form().IndexOf(id)] = v;
    ASSERT_TRUE(form().Validate(row.data(), &failures)) << failures.front().rule_id;
    EXPECT_TRUE(failures.empty()) << failures.front().rule_id;  // not even a warning
  }

  auto o = engine_->Execute(Submit(tps, "kpps", values));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->kind, Outcome::Kind::kAppended);
  EXPECT_EQ(o->seq, 1u);
  EXPECT_EQ(o->batch, 1u);
  EXPECT_FALSE(o->flagged);
  EXPECT_FALSE(o->conflicting);
  EXPECT_TRUE(o->failures.empty());
  EXPECT_EQ(engine_->last_seq(), 1u);
  EXPECT_EQ(engine_->last_batch(), 1u);

  // Durable before the acknowledgement: another connection to the file sees the event.
  {
    auto other = OpenSqliteStore(path_, /*durable=*/false);
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    auto last = (*other)->LastSeq();
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(*last, 1u);
    auto head = (*other)->GetBatch(1);
    ASSERT_TRUE(head.ok() && head->has_value());
    EXPECT_EQ((*head)->first_seq, 1u);
    EXPECT_EQ((*head)->size, 1u);
    EXPECT_TRUE(VerifyHead(engine_->public_key(), **head));
  }
  std::vector<Event> events = StoredEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].seq, 1u);
  EXPECT_EQ(events[0].kind, EventKind::kSubmission);
  EXPECT_EQ(events[0].subject, tps);
  EXPECT_EQ(events[0].source, "kpps");
  EXPECT_EQ(events[0].author, "petugas-kpps");
  EXPECT_EQ(events[0].time_ms, clock_.NowMs());
  EXPECT_EQ(events[0].prev, Hash{});
  EXPECT_EQ(ByFieldId(events[0].values), values);

  const std::map<std::string, int64_t> expected = {
      {"3171011001", 3}, {"317101", 6}, {"3171", 12}, {"31", 24}, {"", 24}};
  for (const std::string& code : Ancestry(tps)) {
    SCOPED_TRACE("region '" + code + "'");
    RegionTotals r = Totals(code);
    EXPECT_EQ(r.votes, (std::vector<int64_t>{58, 120, 33}));
    EXPECT_EQ(r.valid, 211);
    EXPECT_EQ(r.invalid, 4);
    EXPECT_EQ(r.dpt, 250);
    EXPECT_EQ(r.expected, expected.at(code));
    EXPECT_EQ(r.received, 1);
    EXPECT_EQ(r.counted, 1);
    EXPECT_EQ(r.flagged, 0);
    EXPECT_EQ(r.conflicting, 0);
    EXPECT_EQ(r.corrected, 0);
  }
  // Regions not above the TPS are untouched.
  for (const char* code : {"3171011002", "317102", "3172"}) {
    RegionTotals r = Totals(code);
    EXPECT_EQ(r.votes, (std::vector<int64_t>{0, 0, 0})) << code;
    EXPECT_EQ(r.received, 0) << code;
    EXPECT_EQ(r.valid, 0) << code;
  }
  EXPECT_EQ(Totals("3172").expected, 12);

  // A second TPS elsewhere adds up at the common ancestors only.
  auto o2 = engine_->Execute(Submit("3172021002003", "kpps", ConsistentResult(200, {10, 20, 30}, 2)));
  ASSERT_TRUE(o2.ok()) << o2.status().ToString();
  EXPECT_EQ(o2->seq, 2u);
  EXPECT_EQ(o2->batch, 2u);
  EXPECT_EQ(Totals("").votes, (std::vector<int64_t>{68, 140, 63}));
  EXPECT_EQ(Totals("31").valid, 211 + 60);
  EXPECT_EQ(Totals("31").dpt, 450);
  EXPECT_EQ(Totals("3171").votes, (std::vector<int64_t>{58, 120, 33}));
  EXPECT_EQ(Totals("3172").votes, (std::vector<int64_t>{10, 20, 30}));
  EXPECT_EQ(Totals("").received, 2);
  EXPECT_EQ(tally().CheckAgainstLeaves(), "");
}

// ---- 2. Idempotence ---------------------------------------------------------------------

TEST_F(EngineTest, SameSubmissionTwiceYieldsTheSameReceiptAndCountsOnce) {
  const Command c = Submit("3171021002001", "kpps", ConsistentResult(280, {100, 90, 50}, 7));
  auto first = engine_->Execute(c);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->kind, Outcome::Kind::kAppended);
  const RegionTotals before = Totals("");
  const uint64_t last = StoreLastSeq();

  clock_.Advance(60000);  // a retry a minute later
  auto second = engine_->Execute(c);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->kind, Outcome::Kind::kDuplicate);
  EXPECT_EQ(second->seq, first->seq);
  EXPECT_EQ(second->event_hash, first->event_hash);
  EXPECT_FALSE(second->flagged);
  EXPECT_FALSE(second->conflicting);

  EXPECT_EQ(StoreLastSeq(), last);
  EXPECT_EQ(engine_->last_seq(), last);
  EXPECT_EQ(CountBatches(store_.get()), 1);
  EXPECT_EQ(Totals(""), before);
  EXPECT_EQ(Totals("").votes, (std::vector<int64_t>{100, 90, 50}));
  EXPECT_EQ(Totals("").received, 1);

  // The receipt of the retry is the receipt of the original.
  auto r = engine_->ReceiptFor(second->seq);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->event_hash, first->event_hash);
}

// ---- 3. A different result from the same source is refused --------------------------------

TEST_F(EngineTest, SameSourceDifferentValuesWithoutCorrectionIsRefused) {
  const std::string tps = "3171011002003";
  const Values a = ConsistentResult(240, {80, 70, 60}, 5);
  ASSERT_TRUE(engine_->Execute(Submit(tps, "kpps", a)).ok());
  const RegionTotals before = Totals("");
  const uint64_t last = StoreLastSeq();

  Values b = ConsistentResult(240, {81, 70, 59}, 5);
  auto o = engine_->Execute(Submit(tps, "kpps", b));
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), Code::kAlreadyExists) << o.status().ToString();
  EXPECT_THAT(o.status().message(), HasSubstr("kpps"));
  EXPECT_THAT(o.status().message(), HasSubstr("correction"));
  EXPECT_EQ(engine_->Check(Submit(tps, "kpps", b)).code(), Code::kAlreadyExists);

  EXPECT_EQ(StoreLastSeq(), last);
  EXPECT_EQ(engine_->last_seq(), last);
  EXPECT_EQ(Totals(""), before);
  EXPECT_EQ(CurrentValues(tps), a);
  // A partial resend (a subset of the fields) is a different result too.
  Values partial = {{"suara_1", 80}};
  EXPECT_EQ(engine_->Execute(Submit(tps, "kpps", partial)).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(StoreLastSeq(), last);
}

// ---- 4. Sources that disagree -------------------------------------------------------------

TEST_F(EngineTest, SecondSourceWithDifferentValuesMarksConflictAndKeepsFirstValues) {
  const std::string tps = "3172011001001";
  const Values kpps = ConsistentResult(260, {100, 100, 40}, 6);
  const Values saksi = ConsistentResult(260, {90, 110, 40}, 6);
  auto o1 = engine_->Execute(Submit(tps, "kpps", kpps));
  ASSERT_TRUE(o1.ok());
  EXPECT_FALSE(o1->conflicting);
  auto o2 = engine_->Execute(Submit(tps, "saksi:02", saksi, "saksi-paslon-2"));
  ASSERT_TRUE(o2.ok()) << o2.status().ToString();
  EXPECT_EQ(o2->kind, Outcome::Kind::kAppended);
  EXPECT_EQ(o2->seq, 2u);
  EXPECT_TRUE(o2->conflicting);
  EXPECT_FALSE(o2->flagged);
  EXPECT_EQ(StoreLastSeq(), 2u);

  EXPECT_EQ(CurrentValues(tps), kpps);
  EXPECT_EQ(tally().tps_state(TpsIndex(tps)).primary, "kpps");
  EXPECT_TRUE(tally().tps_state(TpsIndex(tps)).flags & kConflicting);
  for (const std::string& code : Ancestry(tps)) {
    RegionTotals r = Totals(code);
    EXPECT_EQ(r.conflicting, 1) << code;
    EXPECT_EQ(r.received, 1) << code;  // one TPS, whatever the number of sources
    EXPECT_EQ(r.counted, 1) << code;
    EXPECT_EQ(r.votes, (std::vector<int64_t>{100, 100, 40})) << code;
  }
  // The second source's chain link is the first event.
  std::vector<Event> events = StoredEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].prev, o1->event_hash);
  EXPECT_EQ(events[1].source, "saksi:02");

  // Identical values from a second source: confirmation, no conflict.
  const std::string other = "3172011001002";
  const Values same = ConsistentResult(190, {40, 50, 60}, 3);
  ASSERT_TRUE(engine_->Execute(Submit(other, "kpps", same)).ok());
  auto o3 = engine_->Execute(Submit(other, "saksi:01", same, "saksi-paslon-1"));
  ASSERT_TRUE(o3.ok()) << o3.status().ToString();
  EXPECT_EQ(o3->kind, Outcome::Kind::kAppended);
  EXPECT_FALSE(o3->conflicting);
  EXPECT_EQ(Totals(other.substr(0, 10)).conflicting, 1);  // only the first TPS
  EXPECT_EQ(Totals("").conflicting, 1);
  EXPECT_EQ(Totals("").received, 2);
  EXPECT_EQ(Totals("").votes, (std::vector<int64_t>{140, 150, 100}));

  // A correction resolves the conflict (here: confirming the first source's values).
  auto fix = engine_->Execute(Correct(tps, kpps, "C.Hasil plano diperiksa ulang: angka KPPS benar"));
  ASSERT_TRUE(fix.ok()) << fix.status().ToString();
  EXPECT_FALSE(fix->conflicting);
  EXPECT_EQ(Totals("").conflicting, 0);
  EXPECT_EQ(Totals("").corrected, 1);
  EXPECT_EQ(tally().CheckAgainstLeaves(), "");

  // A correction settles what every source said before it: a new source agreeing with the
  // corrected values is no conflict, one disagreeing with them is.
  auto fix2 = engine_->Execute(Correct(tps, saksi, "Pleno PPK: saksi benar / the witness was right"));
  ASSERT_TRUE(fix2.ok()) << fix2.status().ToString();
  EXPECT_FALSE(fix2->conflicting);
  auto agree = engine_->Execute(Submit(tps, "saksi:03", saksi, "saksi-paslon-3"));
  ASSERT_TRUE(agree.ok()) << agree.status().ToString();
  EXPECT_FALSE(agree->conflicting);
  auto disagree = engine_->Execute(Submit(tps, "pengawas", kpps, "pengawas-1"));
  ASSERT_TRUE(disagree.ok()) << disagree.status().ToString();
  EXPECT_TRUE(disagree->conflicting);
}

// Pipelined execution: a batch every N commands, committed on a writer thread while the next
// is prepared; the outcomes and the ledger equal those of one batch per call.
TEST_F(EngineTest, PipelinedBatchesMatchAndVerify) {
  std::vector<Command> commands;
  for (const auto& id : SmallTreeTps()) commands.push_back(Submit(id, "kpps", ConsistentResult(200, {50, 60, 70}, 4)));
  commands.push_back(commands.front());  // a duplicate within the call
  commands.push_back(Submit("3171011001009", "kpps", ConsistentResult(200, {50, 60, 70}, 4)));  // unknown TPS
  auto results = engine_->Execute(commands, ExecuteOptions{5});
  ASSERT_EQ(results.size(), commands.size());
  size_t appended = 0;
  for (size_t i = 0; i + 2 < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    appended += results[i]->kind == Outcome::Kind::kAppended;
  }
  EXPECT_EQ(appended, SmallTreeTps().size());
  ASSERT_TRUE(results[results.size() - 2].ok());
  EXPECT_EQ(results[results.size() - 2]->kind, Outcome::Kind::kDuplicate);
  EXPECT_EQ(results[results.size() - 2]->seq, results[0]->seq);
  EXPECT_FALSE(results.back().ok());
  size_t batches = 0;
  ASSERT_TRUE(store_->ScanBatches([&](const BatchHead& h) {
    EXPECT_LE(h.size, 5u);
    ++batches;
    return true;
  }).ok());
  EXPECT_EQ(batches, (SmallTreeTps().size() + 4) / 5);
  EXPECT_EQ(StoreLastSeq(), SmallTreeTps().size());
  VerifyReport rep = Verify(store_.get(), engine_->public_key(), engine_.get(), engine_->tree_ptr(),
                            engine_->election_ptr());
  EXPECT_TRUE(rep.ok()) << (rep.problems.empty() ? "" : rep.problems.front());
}

// ---- 5. Hard rules ------------------------------------------------------------------------

TEST_F(EngineTest, ResultBreakingHardRuleIsStoredFlaggedAndNotCounted) {
  const std::string tps = "3171021001003";
  ASSERT_TRUE(engine_->Execute(Submit("3171011001001", "kpps", ConsistentResult(200, {50, 60, 70}, 2))).ok());
  const RegionTotals before = Totals("");
  const Values good = ConsistentResult(250, {58, 120, 33}, 4);
  const Values bad = Misread(good);
  ASSERT_EQ(bad.at("suara_1"), 958);

  auto o = engine_->Execute(Submit(tps, "kpps", bad));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->kind, Outcome::Kind::kAppended);
  EXPECT_EQ(o->seq, 2u);
  EXPECT_TRUE(o->flagged);
  EXPECT_TRUE(HasRule(o->failures, "suara_sah_sama_jumlah_paslon"));
  for (const RuleFailure& f : o->failures) {
    if (f.rule_id != "suara_sah_sama_jumlah_paslon") continue;
    EXPECT_EQ(f.severity, Severity::kError);
    EXPECT_THAT(f.fields, ::testing::Contains("suara_1"));
    EXPECT_THAT(f.fields, ::testing::Contains("suara_sah"));
  }
  EXPECT_EQ(StoreLastSeq(), 2u);
  EXPECT_EQ(CurrentValues(tps), bad);  // stored as read, history is kept

  RegionTotals now = Totals("");
  EXPECT_EQ(now.votes, before.votes);
  EXPECT_EQ(now.valid, before.valid);
  EXPECT_EQ(now.invalid, before.invalid);
  EXPECT_EQ(now.dpt, before.dpt);
  EXPECT_EQ(now.received, before.received + 1);
  EXPECT_EQ(now.flagged, 1);
  EXPECT_EQ(now.counted, before.counted);
  RegionTotals desa = Totals(tps.substr(0, 10));
  EXPECT_EQ(desa.votes, (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(desa.received, 1);
  EXPECT_EQ(desa.flagged, 1);
  EXPECT_EQ(desa.counted, 0);

  // A warning alone does not flag: 96% for one paslon is implausible but published.
  const std::string lopsided = "3171021001001";
  auto w = engine_->Execute(Submit(lopsided, "kpps", ConsistentResult(120, {96, 2, 2}, 0)));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_FALSE(w->flagged);
  EXPECT_TRUE(HasRule(w->failures, "suara_paslon_tak_wajar"));
  EXPECT_FALSE(HasError(w->failures));
  EXPECT_EQ(Totals(lopsided.substr(0, 10)).counted, 1);
}

// A partial result (fields not yet received) is stored and shown as received, but not added to
// the totals: its paslon without its valid votes would break sum(paslon) = valid in every region
// above it (found 2026-12-07: `submit --partial suara_1=55` gave the nation paslon 1 = 55 and
// valid 0). A correction that completes it counts it.
TEST_F(EngineTest, PartialResultIsNotCountedUntilWhole) {
  const std::string tps = "3171021001002";
  const RegionTotals before = Totals("");
  Command c = Submit(tps, "kpps", {{"suara_1", 55}});
  c.partial = true;
  auto o = engine_->Execute(c);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  RegionTotals now = Totals("");
  EXPECT_EQ(now.votes, before.votes);
  EXPECT_EQ(now.valid, before.valid);
  EXPECT_EQ(now.received, before.received + 1);
  EXPECT_EQ(now.counted, before.counted);
  RegionTotals desa = Totals(tps.substr(0, 10));
  EXPECT_EQ(desa.votes, (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(desa.counted, 0);
  const Values whole = ConsistentResult(250, {55, 120, 33}, 4);
  ASSERT_TRUE(engine_->Execute(Correct(tps, whole, "formulir lengkap diterima")).ok());
  desa = Totals(tps.substr(0, 10));
  EXPECT_EQ(desa.votes, (std::vector<int64_t>{55, 120, 33}));
  EXPECT_EQ(desa.counted, 1);
}

// ---- 6. Corrections -----------------------------------------------------------------------

TEST_F(EngineTest, CorrectionNeedsReasonReplacesValuesAndKeepsPrevious) {
  const std::string tps = "3172021002002";
  const Values good = ConsistentResult(250, {58, 120, 33}, 4);
  const Values bad = Misread(good);
  auto sub = engine_->Execute(Submit(tps, "kpps", bad));
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(sub->flagged);

  // Without a reason: refused, naming the field.
  auto no_reason = engine_->Execute(Correct(tps, good, ""));
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(no_reason.status().message(), HasSubstr("'reason'"));
  // Only blanks is no reason either (accepted before 2026-12-07).
  for (const char* blank : {" ", "  \t\n "}) {
    auto b = engine_->Execute(Correct(tps, good, blank));
    ASSERT_FALSE(b.ok()) << blank;
    EXPECT_EQ(b.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(b.status().message(), HasSubstr("'reason'"));
  }
  EXPECT_EQ(StoreLastSeq(), 1u);
  EXPECT_EQ(CurrentValues(tps), bad);

  // Nothing to correct at a TPS without a result.
  auto nothing = engine_->Execute(Correct("3172021002001", good, "salah ketik"));
  EXPECT_EQ(nothing.status().code(), Code::kFailedPrecondition);

  clock_.Advance(3600 * 1000);
  const std::string reason = "Salah baca angka paslon 1: 958 pada foto tertulis 58 (C.Hasil plano)";
  auto fix = engine_->Execute(Correct(tps, good, reason, "operator.ppk-01"));
  ASSERT_TRUE(fix.ok()) << fix.status().ToString();
  EXPECT_EQ(fix->kind, Outcome::Kind::kAppended);
  EXPECT_EQ(fix->seq, 2u);
  EXPECT_FALSE(fix->flagged);
  EXPECT_FALSE(HasError(fix->failures));
  EXPECT_EQ(CurrentValues(tps), good);
  const TpsState& s = tally().tps_state(TpsIndex(tps));
  EXPECT_TRUE(s.flags & kCorrected);
  EXPECT_FALSE(s.flags & kFlagged);
  EXPECT_TRUE(s.counted());
  for (const std::string& code : Ancestry(tps)) {
    RegionTotals r = Totals(code);
    EXPECT_EQ(r.votes, (std::vector<int64_t>{58, 120, 33})) << code;
    EXPECT_EQ(r.flagged, 0) << code;
    EXPECT_EQ(r.counted, 1) << code;
    EXPECT_EQ(r.corrected, 1) << code;
    EXPECT_EQ(r.received, 1) << code;
  }

  // History: the correction event records author, time, reason and the previous values.
  std::vector<Event> events = StoredEvents();
  ASSERT_EQ(events.size(), 2u);
  const Event& e = events[1];
  EXPECT_EQ(e.kind, EventKind::kCorrection);
  EXPECT_EQ(e.seq, 2u);
  EXPECT_EQ(e.subject, tps);
  EXPECT_EQ(e.reason, reason);
  EXPECT_EQ(e.author, "operator.ppk-01");
  EXPECT_EQ(e.source, "kpps");  // the values it corrects came from KPPS
  EXPECT_EQ(e.time_ms, clock_.NowMs());
  EXPECT_EQ(e.prev, sub->event_hash);
  EXPECT_EQ(ByFieldId(e.previous), bad);
  EXPECT_EQ(ByFieldId(e.values), good);
  // The original submission is still there, untouched.
  EXPECT_EQ(ByFieldId(events[0].values), bad);

  // A correction that changes nothing is refused.
  auto again = engine_->Execute(Correct(tps, good, "sama"));
  EXPECT_EQ(again.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(StoreLastSeq(), 2u);
}

// ---- 7. Acceptance ------------------------------------------------------------------------

TEST_F(EngineTest, AcceptanceCountsFlaggedValuesAndNeedsAFlaggedResult) {
  const std::string tps = "3171011002001";
  const Values bad = Misread(ConsistentResult(250, {58, 120, 33}, 4));
  ASSERT_TRUE(engine_->Execute(Submit(tps, "kpps", bad)).ok());
  ASSERT_EQ(Totals("").flagged, 1);

  auto no_reason = engine_->Execute(Accept(tps, ""));
  EXPECT_EQ(no_reason.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(no_reason.status().message(), HasSubstr("'reason'"));
  EXPECT_EQ(StoreLastSeq(), 1u);

  const std::string reason = "Rapat pleno PPK: angka sesuai C.Hasil plano yang disaksikan";
  auto ok = engine_->Execute(Accept(tps, reason, "ketua.ppk"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->kind, Outcome::Kind::kAppended);
  EXPECT_EQ(ok->seq, 2u);
  EXPECT_FALSE(ok->flagged);
  const TpsState& s = tally().tps_state(TpsIndex(tps));
  EXPECT_TRUE(s.flags & kAccepted);
  EXPECT_TRUE(s.flags & kFlagged);  // still breaks the rule; accepted as it stands
  for (const std::string& code : Ancestry(tps)) {
    RegionTotals r = Totals(code);
    EXPECT_EQ(r.votes, (std::vector<int64_t>{958, 120, 33})) << code;
    EXPECT_EQ(r.valid, 211) << code;  // suara_sah as written
    EXPECT_EQ(r.invalid, 4) << code;
    EXPECT_EQ(r.dpt, 250) << code;
    EXPECT_EQ(r.flagged, 0) << code;
    EXPECT_EQ(r.counted, 1) << code;
  }
  std::vector<Event> events = StoredEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, EventKind::kAcceptance);
  EXPECT_EQ(events[1].reason, reason);
  EXPECT_EQ(events[1].author, "ketua.ppk");
  EXPECT_TRUE(events[1].values.empty());

  // Accepting again, or accepting an unflagged result: nothing to accept.
  EXPECT_EQ(engine_->Execute(Accept(tps, reason)).status().code(), Code::kFailedPrecondition);
  const std::string clean = "3171011002002";
  ASSERT_TRUE(engine_->Execute(Submit(clean, "kpps", ConsistentResult(200, {1, 2, 3}, 0))).ok());
  auto unflagged = engine_->Execute(Accept(clean, reason));
  EXPECT_EQ(unflagged.status().code(), Code::kFailedPrecondition) << unflagged.status().ToString();
  EXPECT_EQ(engine_->Execute(Accept("3171011002003", reason)).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(StoreLastSeq(), 3u);

  // A later correction with values that break a rule again needs a new acceptance.
  auto fix = engine_->Execute(Correct(tps, Misread(ConsistentResult(250, {59, 120, 33}, 4)), "koreksi"));
  ASSERT_TRUE(fix.ok()) << fix.status().ToString();
  EXPECT_TRUE(fix->flagged);
  EXPECT_EQ(Totals(tps.substr(0, 10)).counted, 1);  // only `clean`
  EXPECT_EQ(Totals(tps.substr(0, 10)).votes, (std::vector<int64_t>{1, 2, 3}));
}

// ---- 8. Bad input -------------------------------------------------------------------------

TEST_F(EngineTest, BadInputIsRefusedNamingTheFieldAndWritesNothing) {
  const std::string tps = "3171011001001";
  const Values good = ConsistentResult(250, {58, 120, 33}, 4);
  // One received TPS so that corrections reach their own checks.
  ASSERT_TRUE(engine_->Execute(Submit(tps, "kpps", good)).ok());
  const RegionTotals before = Totals("");
  const Values fixed = ConsistentResult(250, {57, 121, 33}, 4);

  struct Case {
    std::string name;
    Command cmd;
    Code code;
    std::string needle;
  };
  auto with = [&](Values v, auto&& edit) {
    Command c = Submit("3171011001002", "kpps", std::move(v));
    edit(c);
    return c;
  };
  Values neg = good, big = good, nine = good, foo = good;
  neg["suara_2"] = -1;
  big["suara_3"] = 1000;
  nine["suara_9"] = 5;
  foo["foo"] = 1;
  const std::string long_reason(1001, 'x');
  std::vector<Case> cases = {
      {"short tps", with(good, [](Command& c) { c.tps = "12345"; }), Code::kInvalidArgument, "'tps'"},
      {"14-digit tps", with(good, [](Command& c) { c.tps = "31710110010010"; }), Code::kInvalidArgument, "'tps'"},
      {"letters in tps", with(good, [](Command& c) { c.tps = "317101100100a"; }), Code::kInvalidArgument, "'tps'"},
      {"tps number 000", with(good, [](Command& c) { c.tps = "3171011001000"; }), Code::kInvalidArgument, "'tps'"},
      {"empty tps", with(good, [](Command& c) { c.tps = ""; }), Code::kInvalidArgument, "'tps'"},
      {"source in capitals", with(good, [](Command& c) { c.source = "KPPS"; }), Code::kInvalidArgument, "'source'"},
      {"source naming no one", with(good, [](Command& c) { c.source = "saksi:"; }), Code::kInvalidArgument,
       "'source'"},
      {"source without a name", with(good, [](Command& c) { c.source = ":01"; }), Code::kInvalidArgument, "'source'"},
      {"unknown tps", with(good, [](Command& c) { c.tps = "3171011001009"; }), Code::kNotFound, "'tps'"},
      {"tps of unknown desa", with(good, [](Command& c) { c.tps = "3273011001001"; }), Code::kNotFound, "'tps'"},
      {"unknown contest", with(good, [](Command& c) { c.contest = "dpr-ri"; }), Code::kNotFound, "'contest'"},
      {"empty contest", with(good, [](Command& c) { c.contest = ""; }), Code::kNotFound, "'contest'"},
      {"field suara_9", with(nine, [](Command&) {}), Code::kInvalidArgument, "'suara_9'"},
      {"field foo", with(foo, [](Command&) {}), Code::kInvalidArgument, "'foo'"},
      {"negative value", with(neg, [](Command&) {}), Code::kInvalidArgument, "'suara_2'"},
      {"value 1000", with(big, [](Command&) {}), Code::kInvalidArgument, "'suara_3'"},
      {"empty values", with({}, [](Command&) {}), Code::kInvalidArgument, "'values'"},
      {"empty author", with(good, [](Command& c) { c.author = ""; }), Code::kInvalidArgument, "'author'"},
      {"author with spaces", with(good, [](Command& c) { c.author = "budi santoso"; }), Code::kInvalidArgument,
       "'author'"},
      {"author too long", with(good, [](Command& c) { c.author = std::string(65, 'a'); }),
       Code::kInvalidArgument, "'author'"},
      {"source with ;", with(good, [](Command& c) { c.source = "kpps;drop"; }), Code::kInvalidArgument,
       "'source'"},
      {"source with newline", with(good, [](Command& c) { c.source = "kpps\nx"; }), Code::kInvalidArgument,
       "'source'"},
      {"empty source", with(good, [](Command& c) { c.source = ""; }), Code::kInvalidArgument, "'source'"},
      {"submission reason over 1000 bytes", with(good, [&](Command& c) { c.reason = long_reason; }),
       Code::kInvalidArgument, "'reason'"},
      {"reason with control character", with(good, [](Command& c) { c.reason = "a\x01z"; }),
       Code::kInvalidArgument, "'reason'"},
      {"correction reason over 1000 bytes", Correct(tps, fixed, long_reason), Code::kInvalidArgument, "'reason'"},
      {"correction without values", Correct(tps, {}, "alasan"), Code::kInvalidArgument, "'values'"},
      {"correction with unknown field", Correct(tps, foo, "alasan"), Code::kInvalidArgument, "'foo'"},
      {"acceptance reason over 1000 bytes", Accept(tps, long_reason), Code::kInvalidArgument, "'reason'"},
      {"correction by author with spaces", Correct(tps, fixed, "alasan", "a b"), Code::kInvalidArgument,
       "'author'"},
  };
  // 1000 bytes exactly is allowed (checked without writing).
  EXPECT_TRUE(engine_->Check(Correct(tps, fixed, std::string(1000, 'x'))).ok());
  EXPECT_TRUE(engine_->Check(Submit("3171011001002", "saksi:01", good)).ok());

  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Status dry = engine_->Check(c.cmd);
    EXPECT_EQ(dry.code(), c.code) << dry.ToString();
    auto r = engine_->Execute(c.cmd);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr(c.needle));
    EXPECT_EQ(r.status().message(), dry.message());
    EXPECT_LT(r.status().message().size(), 600u);  // bounded, even for a 1001-byte reason
    EXPECT_EQ(StoreLastSeq(), 1u);
    EXPECT_EQ(engine_->last_seq(), 1u);
    EXPECT_EQ(Totals(""), before);
  }
  EXPECT_EQ(CountBatches(store_.get()), 1);
  EXPECT_EQ(CurrentValues(tps), good);
  EXPECT_EQ(StoredEvents().size(), 1u);
}

// A reason that is not UTF-8 must be refused like any other bad input: it cannot be encoded
// in the ledger (docs/ledger.md), and a stored event that does not decode breaks replay.
TEST_F(EngineTest, ReasonThatIsNotUtf8IsRefused) {
  const std::string tps = "3171011001001";
  ASSERT_TRUE(engine_->Execute(Submit(tps, "kpps", Misread(ConsistentResult(250, {58, 120, 33}, 4)))).ok());
  for (Command c : {Accept(tps, "diterima \xff\xfe"), Correct(tps, ConsistentResult(250, {58, 120, 33}, 4), "\xc3"),
                    Submit("3171011001002", "kpps", ConsistentResult(100, {1, 2, 3}, 0))}) {
    if (c.kind == EventKind::kSubmission) c.reason = "catatan \xe2\x82";  // truncated UTF-8
    SCOPED_TRACE(std::string(EventKindName(c.kind)));
    auto r = engine_->Execute(c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr("reason"));
    EXPECT_EQ(StoreLastSeq(), 1u);
  }
  // Valid UTF-8 beyond ASCII is fine.
  auto ok = engine_->Execute(Accept(tps, "Diterima: angka sesuai plano \xe2\x80\x94 saksi setuju"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto replay = Reopen();
  ASSERT_NE(replay, nullptr);
  EXPECT_EQ(replay->tally(kContest)->Diff(tally()), "");
}

// ---- 9. Batches ---------------------------------------------------------------------------

TEST_F(EngineTest, BatchAppliesEachCommandAndWritesOneHead) {
  const Command good = Submit("3171011001001", "kpps", ConsistentResult(250, {58, 120, 33}, 4));
  Command bad = good;
  bad.tps = "3171011001999";  // unknown TPS
  std::vector<Result<Outcome>> r = engine_->Execute(std::vector<Command>{good, bad, good});
  ASSERT_EQ(r.size(), 3u);
  ASSERT_TRUE(r[0].ok()) << r[0].status().ToString();
  EXPECT_EQ(r[0]->kind, Outcome::Kind::kAppended);
  EXPECT_EQ(r[0]->seq, 1u);
  EXPECT_EQ(r[0]->batch, 1u);
  ASSERT_FALSE(r[1].ok());
  EXPECT_EQ(r[1].status().code(), Code::kNotFound);
  ASSERT_TRUE(r[2].ok()) << r[2].status().ToString();
  EXPECT_EQ(r[2]->kind, Outcome::Kind::kDuplicate);
  EXPECT_EQ(r[2]->seq, 1u);
  EXPECT_EQ(r[2]->event_hash, r[0]->event_hash);

  EXPECT_EQ(CountBatches(store_.get()), 1);
  EXPECT_EQ(StoreLastSeq(), 1u);
  EXPECT_EQ(Totals("").received, 1);
  EXPECT_EQ(Totals("").votes, (std::vector<int64_t>{58, 120, 33}));

  // Several events in one batch: one head covering them, chained within the batch.
  const std::string tps = "3172021001003";
  const Values bad_values = Misread(ConsistentResult(220, {40, 100, 60}, 5));
  std::vector<Command> cmds = {
      Submit(tps, "kpps", bad_values),
      Submit(tps, "saksi:01", ConsistentResult(220, {40, 100, 60}, 5)),
      Correct(tps, ConsistentResult(220, {40, 100, 60}, 5), "salah baca"),
      Submit("3172021001002", "kpps", ConsistentResult(150, {50, 50, 40}, 1)),
      Submit(tps, "kpps", bad_values),  // a retry inside the batch
  };
  r = engine_->Execute(cmds);
  ASSERT_EQ(r.size(), 5u);
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(r[i].ok()) << i << ": " << r[i].status().ToString();
    EXPECT_EQ(r[i]->kind, Outcome::Kind::kAppended) << i;
    EXPECT_EQ(r[i]->seq, 2 + i) << i;
    EXPECT_EQ(r[i]->batch, 2u) << i;
  }
  EXPECT_TRUE(r[0]->flagged);
  EXPECT_TRUE(r[1]->conflicting);
  EXPECT_FALSE(r[2]->flagged);
  EXPECT_FALSE(r[2]->conflicting);
  ASSERT_TRUE(r[4].ok());
  EXPECT_EQ(r[4]->kind, Outcome::Kind::kDuplicate);
  EXPECT_EQ(r[4]->seq, 2u);
  EXPECT_EQ(r[4]->event_hash, r[0]->event_hash);

  EXPECT_EQ(CountBatches(store_.get()), 2);
  auto head = store_->GetBatch(2);
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->first_seq, 2u);
  EXPECT_EQ((*head)->size, 4u);
  std::vector<Event> events = StoredEvents();
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[2].prev, r[0]->event_hash);
  EXPECT_EQ(events[3].prev, r[1]->event_hash);
  EXPECT_EQ(Totals("3172").votes, (std::vector<int64_t>{90, 150, 100}));
  EXPECT_EQ(Totals("").corrected, 1);

  // A batch with nothing to write writes no head.
  r = engine_->Execute(std::vector<Command>{bad, good});
  EXPECT_FALSE(r[0].ok());
  EXPECT_EQ(r[1]->kind, Outcome::Kind::kDuplicate);
  EXPECT_EQ(CountBatches(store_.get()), 2);
  EXPECT_TRUE(engine_->Execute(std::vector<Command>{}).empty());
  EXPECT_EQ(CountBatches(store_.get()), 2);
  EXPECT_EQ(StoreLastSeq(), 5u);
}

// ---- 10. Replay ---------------------------------------------------------------------------

std::vector<Command> Scenario() {
  using F = EngineFixture;
  return {
      F::Submit("3171011001001", "kpps", ConsistentResult(250, {58, 120, 33}, 4)),
      F::Submit("3171011001002", "kpps", Misread(ConsistentResult(240, {12, 100, 80}, 9))),
      F::Submit("3171011001001", "saksi:01", ConsistentResult(250, {60, 118, 33}, 4)),
      F::Submit("3171021002003", "kpps", Misread(ConsistentResult(210, {88, 70, 40}, 3))),
      F::Submit("3172011001001", "kpps", ConsistentResult(300, {150, 100, 45}, 5)),
      F::Submit("3172021002003", "saksi:03", ConsistentResult(180, {30, 60, 70}, 2)),
      F::Correct("3171011001002", ConsistentResult(240, {12, 100, 80}, 9), "salah baca"),
      F::Accept("3171021002003", "sesuai plano"),
      F::Submit("3172021002003", "kpps", ConsistentResult(180, {30, 60, 70}, 2)),
      F::Submit("3172011001001", "saksi:02", Misread(ConsistentResult(300, {150, 100, 45}, 5))),
  };
}

TEST_F(EngineTest, ReplayRebuildsTheSameProjections) {
  std::vector<Command> cmds = Scenario();
  // Several batches of uneven sizes.
  size_t i = 0;
  for (size_t n : {1u, 3u, 2u, 4u}) {
    std::vector<Command> batch(cmds.begin() + i, cmds.begin() + i + n);
    for (const auto& r : engine_->Execute(batch)) ASSERT_TRUE(r.ok()) << r.status().ToString();
    i += n;
    clock_.Advance(1000);
  }
  ASSERT_EQ(engine_->last_seq(), 10u);
  ASSERT_EQ(engine_->last_batch(), 4u);

  std::unique_ptr<Engine> other = Reopen();
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->last_seq(), 10u);
  EXPECT_EQ(other->last_batch(), 4u);
  const ContestTally& replayed = *other->tally(kContest);
  EXPECT_EQ(tally().Diff(replayed), "");
  EXPECT_EQ(replayed.Diff(tally()), "");
  EXPECT_EQ(replayed.CheckAgainstLeaves(), "");
  std::map<std::string, RegionTotals> recorded;
  for (const std::string& code : SmallTreeRegions()) {
    EXPECT_EQ(replayed.Read(Node(code)), Totals(code)) << code;
    recorded[code] = Totals(code);
  }
  for (size_t t = 0; t < tree_->tps_count(); ++t) {
    const auto ti = static_cast<int32_t>(t);
    EXPECT_EQ(replayed.ReadTps(ti), tally().ReadTps(ti));
    EXPECT_EQ(replayed.tps_state(ti).flags, tally().tps_state(ti).flags);
    EXPECT_EQ(replayed.tps_state(ti).primary, tally().tps_state(ti).primary);
  }
  // The scenario's expected national totals (3171011001002 corrected, 3171021002003
  // accepted as misread 988, 3172011001001 kept at KPPS's values but conflicting).
  RegionTotals nat = recorded.at("");
  EXPECT_EQ(nat.votes, (std::vector<int64_t>{58 + 12 + 988 + 150 + 30, 120 + 100 + 70 + 100 + 60,
                                             33 + 80 + 40 + 45 + 70}));
  EXPECT_EQ(nat.received, 5);
  EXPECT_EQ(nat.counted, 5);
  EXPECT_EQ(nat.flagged, 0);
  EXPECT_EQ(nat.conflicting, 2);
  EXPECT_EQ(nat.corrected, 1);

  // Across a restart: close everything, reopen the file.
  other.reset();
  engine_.reset();
  store_.reset();
  OpenStore();
  OpenEngine();
  for (const std::string& code : SmallTreeRegions()) EXPECT_EQ(Totals(code), recorded.at(code)) << code;
  EXPECT_EQ(tally().CheckAgainstLeaves(), "");
  // And the ledger continues where it stopped.
  auto next = engine_->Execute(Submit("3171011001001", "saksi:02", ConsistentResult(250, {58, 120, 33}, 4)));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->seq, 11u);
  EXPECT_EQ(next->batch, 5u);
  VerifyReport rep = Verify(store_.get(), engine_->public_key(), engine_.get(), tree_, election_);
  EXPECT_TRUE(rep.ok()) << ::testing::PrintToString(rep.problems);
  EXPECT_EQ(rep.events, 11u);
  EXPECT_EQ(rep.batches, 5u);
}

// ---- 11. Receipts -------------------------------------------------------------------------

TEST_F(EngineTest, ReceiptsVerifyAgainstTheSignedHead) {
  std::vector<Command> cmds = Scenario();
  for (const auto& r : engine_->Execute(std::vector<Command>(cmds.begin(), cmds.begin() + 5)))
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& r : engine_->Execute(std::vector<Command>(cmds.begin() + 5, cmds.begin() + 6)))
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& r : engine_->Execute(std::vector<Command>(cmds.begin() + 6, cmds.end())))
    ASSERT_TRUE(r.ok()) << r.status().ToString();

  std::map<uint64_t, StoredEvent> stored;
  ASSERT_TRUE(store_->ScanEvents(1, [&](const StoredEvent& e) {
                      stored[e.seq] = e;
                      return true;
                    }).ok());
  ASSERT_EQ(stored.size(), 10u);
  const auto& pk = engine_->public_key();
  // Every seq, including the first and the last of each batch (1, 5, 6, 7, 10).
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    SCOPED_TRACE("seq " + std::to_string(seq));
    auto r = engine_->ReceiptFor(seq);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const std::string& body = stored[seq].body;
    EXPECT_EQ(r->seq, seq);
    EXPECT_EQ(r->event_hash, EventHash(body));
    EXPECT_EQ(r->head.batch, stored[seq].batch);
    EXPECT_EQ(r->index, seq - r->head.first_seq);
    EXPECT_TRUE(VerifyReceipt(pk, body, *r));

    std::string tampered = body;
    tampered[tampered.size() / 2] ^= 0x01;
    EXPECT_FALSE(VerifyReceipt(pk, tampered, *r));
    EXPECT_FALSE(VerifyReceipt(pk, stored[seq == 1 ? 2 : seq - 1].body, *r));  // another event
    Receipt bad_root = *r;
    bad_root.head.root[0] ^= 0x80;
    EXPECT_FALSE(VerifyReceipt(pk, body, bad_root));
    EXPECT_FALSE(VerifyReceipt(TestSigner(9).public_key(), body, *r));  // another key
  }
  auto head = engine_->ReceiptFor(5);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->head.size, 5u);
  EXPECT_EQ(head->index, 4u);
  EXPECT_EQ(engine_->ReceiptFor(11).status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->ReceiptFor(0).status().code(), Code::kNotFound);
}

// ---- 12. Property test: random operations against a brute-force model ----------------------

struct ModelSource {
  Values values;
  uint64_t seq = 0;
  bool settled = false;  // a later correction decided the TPS
};
struct ModelTps {
  bool received = false, flagged = false, accepted = false, conflicting = false, corrected = false;
  Values current;
  std::string primary;
  std::map<std::string, ModelSource> sources;
  bool counted() const { return received && (!flagged || accepted); }
};

struct Expectation {
  enum Kind { kAppend, kDuplicate, kError } kind = kAppend;
  Code code = Code::kOk;
  uint64_t seq = 0;
  bool flagged = false, conflicting = false;
  std::optional<bool> values_valid;  // submissions and corrections
};

class Model {
 public:
  explicit Model(const std::vector<std::string>& tps) {
    for (const auto& t : tps) tps_[t];
  }
  // Applies one command to the model and returns what the engine must answer.
  Expectation Apply(const Command& c, bool valid, bool bad_input) {
    Expectation x;
    if (bad_input) {
      x.kind = Expectation::kError;
      x.code = Code::kInvalidArgument;
      return x;
    }
    ModelTps& m = tps_.at(c.tps);
    switch (c.kind) {
      case EventKind::kSubmission: {
        auto it = m.sources.find(c.source);
        if (it != m.sources.end()) {
          if (it->second.values == c.values) {
            x.kind = Expectation::kDuplicate;
            x.seq = it->second.seq;
          } else {
            x.kind = Expectation::kError;
            x.code = Code::kAlreadyExists;
          }
          x.flagged = m.flagged && !m.accepted;
          x.conflicting = m.conflicting;
          return x;
        }
        if (!m.received) {
          m.received = true;
          m.current = c.values;
          m.primary = c.source;
          m.flagged = !valid;
          m.accepted = false;
        }
        m.sources[c.source] = ModelSource{c.values, ++seq_};
        m.conflicting = false;
        for (const auto& [src, s] : m.sources) m.conflicting |= !s.settled && s.values != m.current;
        x.values_valid = valid;
        break;
      }
      case EventKind::kCorrection:
        if (!m.received || (c.values == m.current && !m.conflicting)) {
          x.kind = Expectation::kError;
          x.code = Code::kFailedPrecondition;
          return x;
        }
        m.current = c.values;
        m.flagged = !valid;
        m.accepted = false;
        m.corrected = true;
        m.conflicting = false;
        for (auto& [src, s] : m.sources) s.settled = true;
        ++seq_;
        x.values_valid = valid;
        break;
      case EventKind::kAcceptance:
        if (!m.flagged || m.accepted) {
          x.kind = Expectation::kError;
          x.code = Code::kFailedPrecondition;
          return x;
        }
        m.accepted = true;
        ++seq_;
        break;
      default:
        ADD_FAILURE() << "unexpected kind";
    }
    x.seq = seq_;
    x.flagged = m.flagged && !m.accepted;
    x.conflicting = m.conflicting;
    return x;
  }

  // Brute force: the totals of a region are a sum over the TPS whose id starts with its code.
  RegionTotals Totals(const std::string& code) const {
    RegionTotals r;
    r.votes.assign(3, 0);
    for (const auto& [id, m] : tps_) {
      if (id.compare(0, code.size(), code) != 0) continue;
      ++r.expected;
      if (!m.received) continue;
      ++r.received;
      r.flagged += m.flagged && !m.accepted;
      r.conflicting += m.conflicting;
      r.corrected += m.corrected;
      if (!m.counted()) continue;
      ++r.counted;
      auto get = [&](const char* f) -> int64_t {
        auto it = m.current.find(f);
        return it == m.current.end() ? 0 : it->second;
      };
      for (int i = 0; i < 3; ++i) r.votes[i] += get(("suara_" + std::to_string(i + 1)).c_str());
      r.valid += get("suara_sah");
      r.invalid += get("suara_tidak_sah");
      r.dpt += get("dpt_j");
    }
    return r;
  }

  const std::map<std::string, ModelTps>& tps() const { return tps_; }
  uint64_t seq() const { return seq_; }

 private:
  std::map<std::string, ModelTps> tps_;
  uint64_t seq_ = 0;
};

class PropertyEngine : public EngineFixture {
 protected:
  // One random consistent result (valid) or a misread of one (invalid).
  std::pair<Values, bool> RandomValues(std::mt19937_64& rng, int misread_percent) {
    auto pick = [&](int lo, int hi) { return static_cast<int>(lo + rng() % static_cast<uint64_t>(hi - lo + 1)); };
    const int dpt = pick(60, 300);
    const int turnout = pick(dpt / 2, dpt);
    const int invalid = pick(0, std::min(10, turnout));
    const int valid = turnout - invalid;
    const int a = pick(0, valid);
    const int b = pick(0, valid - a);
    Values v = ConsistentResult(dpt, turnout, {a, b, valid - a - b}, invalid);
    if (pick(1, 100) <= misread_percent) return {Misread(std::move(v)), false};
    return {std::move(v), true};
  }

  void RunSeed(uint64_t seed, int operations) {
    std::mt19937_64 rng(seed);
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    const std::vector<std::string> all_tps = SmallTreeTps();
    const std::vector<std::string> sources = {"kpps", "saksi:01", "saksi:02"};
    Model model(all_tps);
    // Every (tps, source, values, valid) sent so far, for exact resends.
    struct Sent {
      std::string tps, source;
      Values values;
      bool valid;
    };
    std::vector<Sent> sent;
    std::map<uint64_t, Hash> hash_by_seq;
    uint64_t batches = 0;
    int done = 0;
    while (done < operations) {
      const size_t n = 1 + pick(6);
      std::vector<Command> cmds;
      std::vector<Expectation> expect;
      for (size_t k = 0; k < n && done < operations; ++k, ++done) {
        Command c;
        bool valid = true, bad = false;
        const int r = static_cast<int>(pick(100));
        std::vector<std::string> received, flagged;
        for (const auto& [id, m] : model.tps()) {
          if (m.received) received.push_back(id);
          if (m.flagged && !m.accepted) flagged.push_back(id);
        }
        if (r < 15 && !sent.empty()) {  // exact resend
          const Sent& s = sent[pick(sent.size())];
          c = Submit(s.tps, s.source, s.values);
          valid = s.valid;
        } else if (r < 27 && !received.empty()) {  // a second source, usually disagreeing
          const std::string& t = received[pick(received.size())];
          auto [v, ok] = RandomValues(rng, 20);
          const std::string& src = sources[pick(sources.size())];
          if (pick(4) == 0) {
            v = model.tps().at(t).current;  // agreeing (validity as current: look it up)
            ok = !model.tps().at(t).flagged;
          }
          c = Submit(t, src, v, "saksi");
          valid = ok;
        } else if (r < 32 && !sent.empty()) {  // same source, new values: refused
          const Sent& s = sent[pick(sent.size())];
          auto [v, ok] = RandomValues(rng, 20);
          c = Submit(s.tps, s.source, v);
          valid = ok;
        } else if (r < 50 && !received.empty()) {  // correction
          const std::string& t = received[pick(received.size())];
          auto [v, ok] = RandomValues(rng, 20);
          if (pick(5) == 0) {  // confirm the current values (allowed only to resolve a conflict)
            v = model.tps().at(t).current;
            ok = !model.tps().at(t).flagged;
          }
          c = Correct(t, v, "koreksi rapat pleno #" + std::to_string(done));
          valid = ok;
        } else if (r < 62) {  // acceptance, usually of a flagged result
          const std::string& t = !flagged.empty() && pick(5) != 0 ? flagged[pick(flagged.size())]
                                                                   : all_tps[pick(all_tps.size())];
          c = Accept(t, "diterima rapat pleno #" + std::to_string(done));
        } else if (r < 67) {  // bad input
          auto [v, ok] = RandomValues(rng, 0);
          const std::string& t = all_tps[pick(all_tps.size())];
          switch (pick(4)) {
            case 0: v["suara_4"] = 1; c = Submit(t, sources[pick(3)], v); break;
            case 1: v["suara_2"] = 1000; c = Submit(t, sources[pick(3)], v); break;
            case 2: c = Correct(t, v, ""); break;
            default: c = Accept(t, std::string(1001, 'r')); break;
          }
          bad = true;
        } else {  // a fresh submission
          auto [v, ok] = RandomValues(rng, 20);
          c = Submit(all_tps[pick(all_tps.size())], sources[pick(sources.size())], v);
          valid = ok;
        }
        Expectation x = model.Apply(c, valid, bad);
        if (c.kind == EventKind::kSubmission && x.kind == Expectation::kAppend)
          sent.push_back(Sent{c.tps, c.source, c.values, valid});
        cmds.push_back(std::move(c));
        expect.push_back(x);
      }
      clock_.Advance(static_cast<int64_t>(pick(5000)));
      std::vector<Result<Outcome>> results = engine_->Execute(cmds);
      ASSERT_EQ(results.size(), cmds.size());
      bool appended = false;
      for (const Expectation& x : expect) appended |= x.kind == Expectation::kAppend;
      if (appended) ++batches;
      for (size_t k = 0; k < cmds.size(); ++k) {
        const Expectation& x = expect[k];
        const Result<Outcome>& r = results[k];
        SCOPED_TRACE("command " + std::to_string(k) + " " + std::string(EventKindName(cmds[k].kind)) + " " +
                     cmds[k].tps + " " + cmds[k].source);
        seen_[x.kind == Expectation::kError       ? std::string(CodeName(x.code))
              : x.kind == Expectation::kDuplicate ? "duplicate"
                                                  : "appended " + std::string(EventKindName(cmds[k].kind))]++;
        if (x.kind == Expectation::kAppend && x.flagged) seen_["flagged"]++;
        if (x.kind == Expectation::kAppend && x.conflicting) seen_["conflicting"]++;
        if (x.kind == Expectation::kError) {
          ASSERT_FALSE(r.ok()) << "expected " << CodeName(x.code);
          ASSERT_EQ(r.status().code(), x.code) << r.status().ToString();
          continue;
        }
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_EQ(r->seq, x.seq);
        EXPECT_EQ(r->flagged, x.flagged);
        EXPECT_EQ(r->conflicting, x.conflicting);
        if (x.kind == Expectation::kDuplicate) {
          ASSERT_EQ(r->kind, Outcome::Kind::kDuplicate);
          ASSERT_TRUE(hash_by_seq.count(x.seq));
          EXPECT_EQ(r->event_hash, hash_by_seq[x.seq]);
          continue;
        }
        ASSERT_EQ(r->kind, Outcome::Kind::kAppended);
        EXPECT_EQ(r->batch, batches);
        hash_by_seq[r->seq] = r->event_hash;
        if (x.values_valid) {
          EXPECT_EQ(HasError(r->failures), !*x.values_valid);
        }
      }
      // After every batch: aggregates equal the sum of their children, and the model.
      ASSERT_EQ(tally().CheckAgainstLeaves(), "");
      ASSERT_EQ(engine_->last_seq(), model.seq());
      ASSERT_EQ(Totals(""), model.Totals(""));
    }

    // The end: every region and TPS against the model, and a fresh replay against both.
    ASSERT_EQ(StoreLastSeq(), model.seq());
    ASSERT_EQ(engine_->last_batch(), batches);
    for (const std::string& code : SmallTreeRegions()) EXPECT_EQ(Totals(code), model.Totals(code)) << code;
    for (const auto& [id, m] : model.tps()) {
      EXPECT_EQ(CurrentValues(id), m.current) << id;
      uint8_t f = tally().tps_state(TpsIndex(id)).flags;
      EXPECT_EQ(bool(f & kReceived), m.received) << id;
      EXPECT_EQ(bool(f & kFlagged), m.flagged) << id;
      EXPECT_EQ(bool(f & kAccepted), m.accepted) << id;
      EXPECT_EQ(bool(f & kConflicting), m.conflicting) << id;
      EXPECT_EQ(bool(f & kCorrected), m.corrected) << id;
    }
    std::unique_ptr<Engine> fresh = Reopen();
    ASSERT_NE(fresh, nullptr);
    const ContestTally& replayed = *fresh->tally(kContest);
    EXPECT_EQ(replayed.Diff(tally()), "");
    EXPECT_EQ(tally().Diff(replayed), "");
    EXPECT_EQ(replayed.CheckAgainstLeaves(), "");
    EXPECT_EQ(replayed.Read(0), model.Totals(""));
    for (const std::string& kab : SmallTreeKab()) EXPECT_EQ(replayed.Read(Node(kab)), model.Totals(kab)) << kab;
    EXPECT_EQ(fresh->last_seq(), model.seq());
    VerifyReport rep = Verify(store_.get(), engine_->public_key(), engine_.get(), tree_, election_);
    EXPECT_TRUE(rep.ok()) << ::testing::PrintToString(rep.problems);
    EXPECT_EQ(rep.events, model.seq());
    EXPECT_EQ(rep.batches, batches);
  }

  std::map<std::string, int> seen_;  // outcomes exercised, over all seeds
};

TEST_F(PropertyEngine, RandomOperationsMatchModelAndReplay) {
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    engine_.reset();
    store_.reset();
    RemoveDb(path_);
    OpenStore();
    OpenEngine();
    RunSeed(seed, 300);
    if (HasFatalFailure()) return;
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("elapsed_ms", static_cast<int>(ms));
  // The mix really exercised every path (not a vacuous pass).
  for (const char* k : {"appended submission", "appended correction", "appended acceptance", "duplicate",
                        "ALREADY_EXISTS", "FAILED_PRECONDITION", "INVALID_ARGUMENT", "flagged", "conflicting"}) {
    EXPECT_GE(seen_[k], 50) << k << " " << ::testing::PrintToString(seen_);
  }
  std::string summary;
  for (const auto& [k, n] : seen_) summary += k + "=" + std::to_string(n) + " ";
  RecordProperty("outcomes", summary);
}

}  // namespace
}  // namespace rekap::engine_testing
