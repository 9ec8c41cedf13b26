// Tests of ContestTally on hand-made events: aggregation at every level, scope, hash
// chains, and that a refused event changes nothing.

#include "rekap/tally.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine_test_util.h"

namespace rekap::engine_testing {
namespace {

using ::testing::HasSubstr;
using Values = std::map<std::string, Value>;

Hash H(uint8_t n) {
  Hash h;
  h.fill(n);
  h[0] = 0xAB;  // never the zero hash
  return h;
}

class TallyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_ = MakeSmallTree();
    auto schema = FormSchema::LoadFile(kPpwpSchema);
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    for (Contest* c : {&kab_, &national_}) {
      c->kind = "ppwp";
      c->schema_id = (*schema)->id();
      c->params = {{"max_voters", 300}};
      for (int i = 1; i <= 3; ++i) c->candidates.push_back(Candidate{i, "Paslon " + std::to_string(i), ""});
      auto form = (*schema)->Bind(3, c->params);
      ASSERT_TRUE(form.ok()) << form.status().ToString();
      c->form = *form;
    }
    kab_.id = "ppwp-3171";
    kab_.scope = "3171";
    national_.id = "ppwp";
    national_.scope = "";
  }

  std::vector<FieldValue> Fields(const Values& v) const {
    std::vector<FieldValue> out;
    for (const auto& [id, x] : v) {
      int idx = kab_.form->IndexOf(id);
      EXPECT_GE(idx, 0) << id;
      out.push_back(FieldValue{static_cast<uint16_t>(idx), x});
    }
    std::sort(out.begin(), out.end(), [](const FieldValue& a, const FieldValue& b) { return a.field < b.field; });
    return out;
  }
  Event Ev(uint64_t seq, EventKind kind, const Contest& c, const std::string& tps, const std::string& source,
           const Values& v, const Hash& prev) const {
    Event e;
    e.seq = seq;
    e.kind = kind;
    e.time_ms = 1707879600000 + static_cast<int64_t>(seq);
    e.contest = c.id;
    e.subject = tps;
    e.source = source;
    e.author = "uji";
    e.reason = kind == EventKind::kSubmission ? "" : "alasan";
    e.prev = prev;
    e.values = Fields(v);
    return e;
  }
  int32_t N(const std::string& code) const { return tree_->Find(code); }

  std::shared_ptr<const RegionTree> tree_;
  Contest kab_, national_;
};

TEST_F(TallyTest, ExpectedCountsTheInScopeTpsBelowEachNode) {
  ContestTally kab(tree_.get(), &kab_);
  ContestTally nat(tree_.get(), &national_);
  const std::map<std::string, std::pair<int64_t, int64_t>> expected = {
      // code: {kab contest 3171, national contest}
      {"", {12, 24}},          {"31", {12, 24}},        {"3171", {12, 12}},      {"3172", {0, 12}},
      {"317101", {6, 6}},      {"317102", {6, 6}},      {"317201", {0, 6}},      {"3171011001", {3, 3}},
      {"3171021002", {3, 3}},  {"3172021002", {0, 3}},
  };
  for (const auto& [code, e] : expected) {
    ASSERT_GE(N(code), 0) << code;
    EXPECT_EQ(kab.Read(N(code)).expected, e.first) << code;
    EXPECT_EQ(nat.Read(N(code)).expected, e.second) << code;
    EXPECT_EQ(nat.Read(N(code)).expected, tree_->TpsUnder(N(code))) << code;
  }
  for (const std::string& code : SmallTreeRegions()) {
    int64_t in_scope = 0;
    for (const std::string& t : SmallTreeTps())
      in_scope += t.compare(0, code.size(), code) == 0 && t.compare(0, 4, "3171") == 0;
    EXPECT_EQ(kab.Read(N(code)).expected, in_scope) << code;
  }
  for (const std::string& t : SmallTreeTps()) {
    const int32_t i = tree_->FindTps(t);
    EXPECT_EQ(kab.InScope(i), t.compare(0, 4, "3171") == 0) << t;
    EXPECT_TRUE(nat.InScope(i)) << t;
    EXPECT_EQ(kab.ReadTps(i).expected, kab.InScope(i) ? 1 : 0);
  }
  EXPECT_FALSE(kab.InScope(-1));
  EXPECT_FALSE(kab.InScope(static_cast<int32_t>(tree_->tps_count())));
  // Nothing received yet.
  RegionTotals r = kab.Read(0);
  EXPECT_EQ(r.votes, (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(r.received, 0);
  EXPECT_EQ(kab.CheckAgainstLeaves(), "");
}

TEST_F(TallyTest, ApplyAggregatesAtEveryLevel) {
  ContestTally t(tree_.get(), &kab_);
  const std::string a = "3171011001001", b = "3171011001003", c = "3171021002002", d = "3171021001001";
  const Values va = ConsistentResult(250, {58, 120, 33}, 4);
  const Values vb = ConsistentResult(200, {10, 20, 30}, 1);
  const Values vc = ConsistentResult(300, {100, 100, 100}, 0);
  Values vd = ConsistentResult(150, {40, 40, 40}, 2);
  vd["suara_1"] = 940;  // misread: breaks suara_sah_sama_jumlah_paslon

  std::vector<RuleFailure> failures;
  ASSERT_TRUE(t.Apply(Ev(1, EventKind::kSubmission, kab_, a, "kpps", va, Hash{}), H(1), &failures).ok());
  EXPECT_TRUE(failures.empty());
  ASSERT_TRUE(t.Apply(Ev(2, EventKind::kSubmission, kab_, b, "kpps", vb, Hash{}), H(2)).ok());
  ASSERT_TRUE(t.Apply(Ev(3, EventKind::kSubmission, kab_, c, "kpps", vc, Hash{}), H(3)).ok());
  failures.clear();
  ASSERT_TRUE(t.Apply(Ev(4, EventKind::kSubmission, kab_, d, "kpps", vd, Hash{}), H(4), &failures).ok());
  EXPECT_TRUE(std::any_of(failures.begin(), failures.end(),
                          [](const RuleFailure& f) { return f.rule_id == "suara_sah_sama_jumlah_paslon"; }));

  auto expect_votes = [&](const std::string& code, std::vector<int64_t> votes, int64_t received, int64_t counted) {
    RegionTotals r = t.Read(N(code));
    EXPECT_EQ(r.votes, votes) << code;
    EXPECT_EQ(r.valid, votes[0] + votes[1] + votes[2]) << code;
    EXPECT_EQ(r.received, received) << code;
    EXPECT_EQ(r.counted, counted) << code;
  };
  expect_votes("3171011001", {68, 140, 63}, 2, 2);
  expect_votes("317101", {68, 140, 63}, 2, 2);
  expect_votes("3171021002", {100, 100, 100}, 1, 1);
  expect_votes("3171021001", {0, 0, 0}, 1, 0);  // flagged
  expect_votes("317102", {100, 100, 100}, 2, 1);
  expect_votes("3171", {168, 240, 163}, 4, 3);
  expect_votes("31", {168, 240, 163}, 4, 3);
  expect_votes("", {168, 240, 163}, 4, 3);
  expect_votes("3172", {0, 0, 0}, 0, 0);
  RegionTotals nat = t.Read(0);
  EXPECT_EQ(nat.invalid, 4 + 1 + 0);
  EXPECT_EQ(nat.dpt, 250 + 200 + 300);
  EXPECT_EQ(nat.flagged, 1);
  EXPECT_EQ(t.CheckAgainstLeaves(), "");

  // A second source disagreeing at a: chained on event 1.
  const Values va2 = ConsistentResult(250, {57, 121, 33}, 4);
  ASSERT_TRUE(t.Apply(Ev(5, EventKind::kSubmission, kab_, a, "saksi:01", va2, H(1)), H(5)).ok());
  EXPECT_EQ(t.Read(0).conflicting, 1);
  EXPECT_EQ(t.Read(0).votes, (std::vector<int64_t>{168, 240, 163}));  // a keeps KPPS's values
  const TpsState& sa = t.tps_state(tree_->FindTps(a));
  EXPECT_EQ(sa.last_seq, 5u);
  EXPECT_EQ(sa.last_hash, H(5));
  EXPECT_EQ(sa.primary, "kpps");
  EXPECT_EQ(sa.sources.size(), 2u);

  // A correction at a takes the second source's values and resolves the conflict.
  Event corr = Ev(6, EventKind::kCorrection, kab_, a, "kpps", va2, H(5));
  corr.previous = Fields(va);
  ASSERT_TRUE(t.Apply(corr, H(6)).ok());
  EXPECT_EQ(t.Read(0).conflicting, 0);
  EXPECT_EQ(t.Read(0).corrected, 1);
  EXPECT_EQ(t.Read(0).votes, (std::vector<int64_t>{167, 241, 163}));

  // Acceptance of d counts its values as written.
  ASSERT_TRUE(t.Apply(Ev(7, EventKind::kAcceptance, kab_, d, "kpps", {}, H(4)), H(7)).ok());
  RegionTotals rd = t.Read(N("3171021001"));
  EXPECT_EQ(rd.votes, (std::vector<int64_t>{940, 40, 40}));
  EXPECT_EQ(rd.valid, 120);  // suara_sah as written, not the sum
  EXPECT_EQ(rd.counted, 1);
  EXPECT_EQ(rd.flagged, 0);
  EXPECT_EQ(t.Read(0).flagged, 0);
  EXPECT_EQ(t.Read(0).counted, 4);
  EXPECT_EQ(t.Read(0).votes, (std::vector<int64_t>{1107, 281, 203}));
  EXPECT_EQ(t.CheckAgainstLeaves(), "");

  // ReadTps is the TPS's own contribution.
  RegionTotals ra = t.ReadTps(tree_->FindTps(a));
  EXPECT_EQ(ra.votes, (std::vector<int64_t>{57, 121, 33}));
  EXPECT_EQ(ra.corrected, 1);
  EXPECT_EQ(ra.expected, 1);

  // Replaying the same events into a fresh tally yields the same state.
  ContestTally again(tree_.get(), &kab_);
  std::vector<std::pair<Event, Hash>> events = {
      {Ev(1, EventKind::kSubmission, kab_, a, "kpps", va, Hash{}), H(1)},
      {Ev(2, EventKind::kSubmission, kab_, b, "kpps", vb, Hash{}), H(2)},
      {Ev(3, EventKind::kSubmission, kab_, c, "kpps", vc, Hash{}), H(3)},
      {Ev(4, EventKind::kSubmission, kab_, d, "kpps", vd, Hash{}), H(4)},
      {Ev(5, EventKind::kSubmission, kab_, a, "saksi:01", va2, H(1)), H(5)},
      {corr, H(6)},
  };
  for (const auto& [e, h] : events) ASSERT_TRUE(again.Apply(e, h).ok());
  EXPECT_NE(again.Diff(t), "");  // the acceptance is still missing
  ASSERT_TRUE(again.Apply(Ev(7, EventKind::kAcceptance, kab_, d, "kpps", {}, H(4)), H(7)).ok());
  EXPECT_EQ(again.Diff(t), "");
  EXPECT_EQ(t.Diff(again), "");
}

TEST_F(TallyTest, TpsOutsideScopeIsDataLossAndChangesNothing) {
  ContestTally t(tree_.get(), &kab_);
  ASSERT_TRUE(
      t.Apply(Ev(1, EventKind::kSubmission, kab_, "3171011001001", "kpps", ConsistentResult(100, {1, 2, 3}, 0), Hash{}),
              H(1))
          .ok());
  const RegionTotals before = t.Read(0);
  Status st = t.Apply(
      Ev(2, EventKind::kSubmission, kab_, "3172011001001", "kpps", ConsistentResult(100, {4, 5, 6}, 0), Hash{}), H(2));
  EXPECT_EQ(st.code(), Code::kDataLoss) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("outside the contest scope"));
  EXPECT_THAT(st.message(), HasSubstr("3172011001001"));
  EXPECT_EQ(t.Read(0), before);
  EXPECT_EQ(t.Read(N("3172")).received, 0);
  EXPECT_EQ(t.tps_state(tree_->FindTps("3172011001001")).flags, 0);
  EXPECT_EQ(t.CheckAgainstLeaves(), "");

  // Unknown TPS and another contest's event: DataLoss too.
  st = t.Apply(Ev(3, EventKind::kSubmission, kab_, "3171011001009", "kpps", {{"suara_1", 1}}, Hash{}), H(3));
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("unknown TPS"));
  st = t.Apply(Ev(3, EventKind::kSubmission, national_, "3171011001002", "kpps", {{"suara_1", 1}}, Hash{}), H(3));
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("contest mismatch"));
  // A field index beyond the form.
  Event wide = Ev(3, EventKind::kSubmission, kab_, "3171011001002", "kpps", {}, Hash{});
  wide.values = {FieldValue{static_cast<uint16_t>(kab_.form->size()), 1}};
  st = t.Apply(wide, H(3));
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("field index outside the form"));
  // A correction or acceptance without a result.
  st = t.Apply(Ev(3, EventKind::kAcceptance, kab_, "3171011001002", "kpps", {}, Hash{}), H(3));
  EXPECT_EQ(st.code(), Code::kDataLoss);
  st = t.Apply(Ev(3, EventKind::kCorrection, kab_, "3171011001002", "kpps", {{"suara_1", 1}}, Hash{}), H(3));
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_EQ(t.Read(0), before);
  EXPECT_EQ(t.tps_state(tree_->FindTps("3171011001002")).flags, 0);
  EXPECT_EQ(t.tps_state(tree_->FindTps("3171011001002")).last_hash, Hash{});
  EXPECT_EQ(t.CheckAgainstLeaves(), "");
}

TEST_F(TallyTest, BrokenChainIsDataLossAndChangesNothing) {
  ContestTally t(tree_.get(), &national_);
  const std::string a = "3172021002001";
  const Values v1 = ConsistentResult(100, {1, 2, 3}, 0);
  const Values v2 = ConsistentResult(100, {3, 2, 1}, 0);
  // The first event of a TPS must have a zero prev.
  Status st = t.Apply(Ev(1, EventKind::kSubmission, national_, a, "kpps", v1, H(77)), H(1));
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("chain"));
  EXPECT_EQ(t.Read(0).received, 0);

  ASSERT_TRUE(t.Apply(Ev(1, EventKind::kSubmission, national_, a, "kpps", v1, Hash{}), H(1)).ok());
  const RegionTotals before = t.Read(0);
  // A second event that does not link to the first: a zero prev, or another hash.
  for (const Hash& wrong : {Hash{}, H(2), H(99)}) {
    st = t.Apply(Ev(2, EventKind::kSubmission, national_, a, "saksi:01", v2, wrong), H(2));
    EXPECT_EQ(st.code(), Code::kDataLoss);
    EXPECT_THAT(st.message(), HasSubstr("hash chain broken"));
    EXPECT_THAT(st.message(), HasSubstr(a));
    EXPECT_EQ(t.Read(0), before);
    EXPECT_EQ(t.tps_state(tree_->FindTps(a)).last_hash, H(1));
    EXPECT_EQ(t.tps_state(tree_->FindTps(a)).sources.size(), 1u);
  }
  Event corr = Ev(2, EventKind::kCorrection, national_, a, "kpps", v2, H(3));
  corr.previous = Fields(v1);
  EXPECT_EQ(t.Apply(corr, H(2)).code(), Code::kDataLoss);
  EXPECT_EQ(t.Read(0), before);
  // Linked correctly, it applies; other TPS chains are independent.
  corr.prev = H(1);
  ASSERT_TRUE(t.Apply(corr, H(2)).ok());
  ASSERT_TRUE(t.Apply(Ev(3, EventKind::kSubmission, national_, "3171011001001", "kpps", v1, Hash{}), H(3)).ok());
  EXPECT_EQ(t.Read(0).votes, (std::vector<int64_t>{4, 4, 4}));
  EXPECT_EQ(t.CheckAgainstLeaves(), "");
}

TEST_F(TallyTest, ContentDigestDependsOnValuesAndPhoto) {
  const std::vector<FieldValue> a = {{1, 10}, {2, 20}};
  const std::vector<FieldValue> b = {{1, 10}, {2, 21}};
  EXPECT_EQ(ContentDigest(a, std::nullopt), ContentDigest(a, std::nullopt));
  EXPECT_NE(ContentDigest(a, std::nullopt), ContentDigest(b, std::nullopt));
  EXPECT_NE(ContentDigest(a, std::nullopt), ContentDigest(a, H(1)));
  EXPECT_NE(ContentDigest(a, H(1)), ContentDigest(a, H(2)));
  EXPECT_NE(ContentDigest({{1, 10}}, std::nullopt), ContentDigest({{1, 10}, {2, 0}}, std::nullopt));
}

}  // namespace
}  // namespace rekap::engine_testing
