#include "rekap/tally.h"


#include <algorithm>
#include <cstring>

namespace rekap {

Hash ContentDigest(const std::vector<FieldValue>& values, const std::optional<Hash>& photo) {
  // SHA-256 over (u16 field, i32 value) big-endian pairs, then 0 or 1 || photo hash.
  std::string buf;
  buf.reserve(values.size() * 6 + 33);
  for (const auto& fv : values) {
    uint32_t v = static_cast<uint32_t>(fv.value);
    const char b[6] = {static_cast<char>(fv.field >> 8), static_cast<char>(fv.field), static_cast<char>(v >> 24),
                       static_cast<char>(v >> 16),       static_cast<char>(v >> 8),   static_cast<char>(v)};
    buf.append(b, 6);
  }
  buf.push_back(photo ? 1 : 0);
  if (photo) buf.append(reinterpret_cast<const char*>(photo->data()), photo->size());
  return Sha256(buf);
}

ContestTally::ContestTally(const RegionTree* tree, const Contest* contest)
    : tree_(tree),
      contest_(contest),
      form_(contest->form.get()),
      ncand_(static_cast<int>(contest->candidates.size())),
      width_(contest->form->size()),
      row_(static_cast<size_t>(ncand_) + 8) {
  tps_.resize(tree->tps_count());
  before_.resize(row_);
  after_.resize(row_);
  values_.assign(tree->tps_count() * width_, kMissing);
  nodes_.assign(tree->size() * row_, 0);
  expected_.assign(tree->size(), 0);
  in_scope_.assign(tree->tps_count(), 0);
  const std::string& scope = contest->scope;
  for (size_t t = 0; t < tree->tps_count(); ++t) {
    if (tree->tps(t).tps.id.compare(0, scope.size(), scope) != 0) continue;
    in_scope_[t] = 1;
    int32_t anc[6];
    int n = tree->AncestorsOf(tree->tps(t).desa, anc);
    for (int i = 0; i < n; ++i) expected_[anc[i]]++;
  }
}

bool ContestTally::InScope(int32_t tps) const {
  return tps >= 0 && static_cast<size_t>(tps) < in_scope_.size() && in_scope_[tps];
}

void ContestTally::Contribution(int32_t tps, int64_t* row) const {
  std::fill(row, row + row_, 0);
  const TpsState& s = tps_[tps];
  if (!(s.flags & kReceived)) return;
  const Value* v = tps_values(tps);
  size_t c = static_cast<size_t>(ncand_);
  if (s.counted()) {
    for (int i = 0; i < ncand_; ++i) {
      Value x = v[form_->CandidateIndex(i + 1)];
      row[i] = x == kMissing ? 0 : x;
    }
    auto get = [&](int idx) -> int64_t { return idx < 0 || v[idx] == kMissing ? 0 : v[idx]; };
    row[c + 0] = get(form_->valid_index());
    row[c + 1] = get(form_->invalid_index());
    row[c + 2] = get(form_->dpt_index());
  }
  row[c + 3] = 1;
  row[c + 4] = (s.flags & kFlagged) && !(s.flags & kAccepted) ? 1 : 0;
  row[c + 5] = (s.flags & kConflicting) ? 1 : 0;
  row[c + 6] = (s.flags & kCorrected) ? 1 : 0;
  row[c + 7] = s.counted() ? 1 : 0;
}

void ContestTally::AddToAncestors(int32_t tps, const int64_t* delta) {
  int32_t anc[6];
  int n = tree_->AncestorsOf(tree_->tps(tps).desa, anc);
  for (int i = 0; i < n; ++i) {
    int64_t* row = &nodes_[static_cast<size_t>(anc[i]) * row_];
    for (size_t k = 0; k < row_; ++k) row[k] += delta[k];
  }
}

Status ContestTally::BadEvent(const Event& e, const std::string& why) const {
  return DataLoss("peristiwa/event " + std::to_string(e.seq) + " (" + e.contest + ", " + e.subject +
                  "): " + why);
}

Status ContestTally::Apply(const Event& e, const Hash& hash, std::vector<RuleFailure>* failures) {
  if (e.contest != contest_->id) return BadEvent(e, "contest mismatch");
  int32_t t = tree_->FindTps(e.subject);
  if (t < 0) return BadEvent(e, "TPS tidak dikenal / unknown TPS");
  if (!in_scope_[t]) return BadEvent(e, "TPS di luar cakupan kontes / TPS outside the contest scope");
  TpsState& s = tps_[t];
  if (e.prev != s.last_hash) return BadEvent(e, "rantai hash putus / hash chain broken (prev)");

  int64_t* b = before_.data();
  Contribution(t, b);

  for (const auto& fv : e.values) {
    if (fv.field >= width_) return BadEvent(e, "indeks kolom di luar formulir / field index outside the form");
  }
  const Hash content = e.values.empty() ? Hash{} : ContentDigest(e.values, e.photo);
  Value* v = &values_[static_cast<size_t>(t) * width_];
  bool validated = false;
  auto set_values = [&]() -> Status {
    std::fill(v, v + width_, kMissing);
    for (const auto& fv : e.values) v[fv.field] = fv.value;
    std::vector<RuleFailure>* out = failures ? failures : &scratch_;
    scratch_.clear();
    bool ok = form_->Validate(v, out);
    validated = true;
    s.flags = static_cast<uint8_t>((s.flags | kReceived) & ~(kFlagged | kAccepted | kIncomplete));
    if (!ok) s.flags |= kFlagged;
    bool whole = true;
    for (int i = 0; i < ncand_; ++i) whole = whole && v[form_->CandidateIndex(i + 1)] != kMissing;
    for (int idx : {form_->valid_index(), form_->invalid_index(), form_->dpt_index()})
      whole = whole && (idx < 0 || v[idx] != kMissing);
    if (!whole) s.flags |= kIncomplete;
    s.content = content;
    return Status::Ok();
  };
  auto remember_source = [&]() {
    for (auto& src : s.sources) {
      if (src.source == e.source) {
        src.seq = e.seq;
        src.event_hash = hash;
        src.content = content;
        src.settled = false;
        return;
      }
    }
    s.sources.push_back(SourceState{e.source, e.seq, hash, content, false});
  };

  switch (e.kind) {
    case EventKind::kSubmission: {
      bool first = !(s.flags & kReceived);
      if (first || s.primary == e.source) {
        REKAP_RETURN_IF_ERROR(set_values());
        if (first) s.primary = e.source;
      }
      remember_source();
      // Conflicting iff some source's latest values, not settled by a correction since,
      // differ from the current values.
      bool conflict = false;
      for (const auto& src : s.sources) conflict |= !src.settled && src.content != s.content;
      if (conflict) {
        s.flags |= kConflicting;
      } else {
        s.flags &= static_cast<uint8_t>(~kConflicting);
      }
      break;
    }
    case EventKind::kCorrection: {
      if (!(s.flags & kReceived)) return BadEvent(e, "koreksi tanpa hasil / correction without a result");
      REKAP_RETURN_IF_ERROR(set_values());
      s.flags = static_cast<uint8_t>((s.flags | kCorrected) & ~kConflicting);
      // The officer decided: what every source said so far is settled by this correction.
      for (auto& src : s.sources) src.settled = true;
      break;
    }
    case EventKind::kAcceptance: {
      if (!(s.flags & kReceived)) return BadEvent(e, "penerimaan tanpa hasil / acceptance without a result");
      s.flags |= kAccepted;
      break;
    }
    default:
      break;  // objections, adoptions, publications do not change the tallies (yet)
  }
  s.last_seq = e.seq;
  s.last_hash = hash;
  if (failures && !validated && !e.values.empty()) {
    // A second source's values that did not become current: report their rules too.
    std::vector<Value> own(width_, kMissing);
    for (const auto& fv : e.values) own[fv.field] = fv.value;
    form_->Validate(own.data(), failures);
  }

  int64_t* a = after_.data();
  Contribution(t, a);
  bool changed = false;
  for (size_t k = 0; k < row_; ++k) {
    a[k] -= b[k];
    changed |= a[k] != 0;
  }
  if (changed) AddToAncestors(t, a);
  return Status::Ok();
}

RegionTotals ContestTally::Read(int32_t node) const {
  RegionTotals r = FromRow(&nodes_[static_cast<size_t>(node) * row_]);
  r.expected = expected_[node];
  return r;
}

RegionTotals ContestTally::FromRow(const int64_t* row) const {
  RegionTotals r;
  size_t c = static_cast<size_t>(ncand_);
  r.votes.assign(row, row + c);
  r.valid = row[c];
  r.invalid = row[c + 1];
  r.dpt = row[c + 2];
  r.received = row[c + 3];
  r.flagged = row[c + 4];
  r.conflicting = row[c + 5];
  r.corrected = row[c + 6];
  r.counted = row[c + 7];
  return r;
}

RegionTotals ContestTally::ReadTps(int32_t tps) const {
  std::vector<int64_t> row(row_);
  Contribution(tps, row.data());
  RegionTotals r = FromRow(row.data());
  r.expected = in_scope_[tps] ? 1 : 0;
  return r;
}

std::string ContestTally::CheckAgainstLeaves() const {
  // Post-order over the tree: a node's totals are its TPS plus its children's totals.
  std::vector<int64_t> sums(nodes_.size(), 0);
  std::vector<int64_t> exp(tree_->size(), 0);
  std::vector<int64_t> row(row_);
  // Nodes are not stored in topological order; process by decreasing code length.
  std::vector<int32_t> order(tree_->size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return tree_->node(a).region.code.size() > tree_->node(b).region.code.size();
  });
  for (int32_t n : order) {
    int64_t* dst = &sums[static_cast<size_t>(n) * row_];
    for (int32_t t : tree_->node(n).tps) {
      if (!in_scope_[t]) continue;
      exp[n]++;
      Contribution(t, row.data());
      for (size_t k = 0; k < row_; ++k) dst[k] += row[k];
    }
    for (int32_t ch : tree_->node(n).children) {
      const int64_t* src = &sums[static_cast<size_t>(ch) * row_];
      for (size_t k = 0; k < row_; ++k) dst[k] += src[k];
      exp[n] += exp[ch];
    }
  }
  for (int32_t n = 0; n < static_cast<int32_t>(tree_->size()); ++n) {
    if (exp[n] != expected_[n] ||
        !std::equal(&sums[static_cast<size_t>(n) * row_], &sums[static_cast<size_t>(n + 1) * row_],
                    &nodes_[static_cast<size_t>(n) * row_])) {
      const std::string& code = tree_->node(n).region.code;
      return code.empty() ? "nasional" : code;
    }
  }
  return "";
}

std::string ContestTally::Diff(const ContestTally& o) const {
  if (o.nodes_.size() != nodes_.size() || o.tps_.size() != tps_.size()) return "ukuran/size";
  for (size_t n = 0; n < tree_->size(); ++n) {
    if (!std::equal(&nodes_[n * row_], &nodes_[(n + 1) * row_], &o.nodes_[n * row_])) {
      const std::string& code = tree_->node(static_cast<int32_t>(n)).region.code;
      return "wilayah/region " + (code.empty() ? std::string("nasional") : code);
    }
  }
  for (size_t t = 0; t < tps_.size(); ++t) {
    const TpsState& a = tps_[t];
    const TpsState& b = o.tps_[t];
    if (a.flags != b.flags || a.last_hash != b.last_hash || a.content != b.content ||
        !std::equal(tps_values(static_cast<int32_t>(t)), tps_values(static_cast<int32_t>(t)) + width_,
                    o.tps_values(static_cast<int32_t>(t)))) {
      return "TPS " + tree_->tps(static_cast<int32_t>(t)).tps.id;
    }
  }
  return "";
}

}  // namespace rekap
