// rekap reader: deciding the values of a TPS from the observations of its photos (constraint
// search, acceptance, reasons). See read_internal.h and docs/reader.md.
#include "reader/read_internal.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <queue>
#include <set>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "reader/omr.h"

namespace rekap::reader::detail {

// ---------------------------------------------------------------------------------------------
// Deciding: constraint search and acceptance

struct SearchResult {
  bool found = false;
  std::vector<Value> values;
  int states = 0;
  double cost = 0;  // -log of the chosen assignment's probability (product over the fields)
  // With want_second: a lower bound on the cost of the next-best assignment that satisfies every
  // hard rule (its exact cost when one was found; infinite when there is none).
  double second_cost = std::numeric_limits<double>::infinity();
};

// Best-first enumeration of assignments in decreasing probability (product of the per-field
// hypothesis probabilities); the first one that satisfies every hard rule wins. The enumeration
// then goes on (within max_states) to the runner-up, so that a caller can tell how much more
// probable the winner is.
SearchResult SearchAssignment(const Form& form, const std::vector<Value>& base,
                              const std::vector<int>& fields,
                              const std::vector<std::vector<std::pair<Value, double>>>& hyp,
                              int max_states, bool want_second = false) {
  SearchResult out;
  const size_t n = fields.size();
  std::vector<std::vector<double>> cost(n);
  for (size_t i = 0; i < n; ++i)
    for (const auto& [v, p] : hyp[i]) cost[i].push_back(-std::log(std::max(p, 1e-300)));
  struct State {
    double cost;
    uint32_t id;
  };
  std::vector<uint8_t> ranks;   // state id * n .. : rank per field
  std::vector<uint16_t> pivot;  // per state
  auto cmp = [](const State& a, const State& b) { return a.cost > b.cost || (a.cost == b.cost && a.id > b.id); };
  std::priority_queue<State, std::vector<State>, decltype(cmp)> pq(cmp);
  double c0 = 0;
  for (size_t i = 0; i < n; ++i) {
    if (cost[i].empty()) return out;
    c0 += cost[i][0];
  }
  ranks.assign(n, 0);
  pivot.push_back(0);
  pq.push({c0, 0});
  std::vector<Value> vals = base;
  while (!pq.empty() && out.states < max_states) {
    const State s = pq.top();
    pq.pop();
    ++out.states;
    const uint8_t* r = &ranks[size_t(s.id) * n];
    for (size_t i = 0; i < n; ++i) vals[size_t(fields[i])] = hyp[i][r[i]].first;
    if (out.found) out.second_cost = s.cost;  // nothing left is cheaper than this
    if (form.Validate(vals.data(), nullptr)) {
      if (out.found) return out;
      out.found = true;
      out.values = vals;
      out.cost = s.cost;
      if (!want_second) return out;
    }
    if (ranks.size() / std::max<size_t>(n, 1) > size_t(max_states) * 8) continue;  // memory bound
    for (size_t i = pivot[s.id]; i < n; ++i) {
      const uint8_t* rr = &ranks[size_t(s.id) * n];
      if (size_t(rr[i]) + 1 >= cost[i].size()) continue;
      const double c = s.cost - cost[i][rr[i]] + cost[i][size_t(rr[i]) + 1];
      if (!std::isfinite(c)) continue;
      const uint32_t id = uint32_t(pivot.size());
      const size_t off = ranks.size();
      ranks.resize(off + n);
      std::memcpy(&ranks[off], &ranks[size_t(s.id) * n], n);
      ranks[off + i]++;
      pivot.push_back(uint16_t(i));
      pq.push({c, id});
    }
  }
  if (out.found && pq.empty()) out.second_cost = std::numeric_limits<double>::infinity();
  return out;
}

// True if no value other than vals[f] in 0..max satisfies the hard rules, given only the
// fields in `known` (and f) are present.
bool PinnedByRules(const Form& form, const std::vector<Value>& vals, const std::vector<bool>& known,
                   int f) {
  std::vector<Value> v(vals.size(), kMissing);
  for (size_t i = 0; i < vals.size(); ++i)
    if (known[i]) v[i] = vals[i];
  v[size_t(f)] = vals[size_t(f)];
  if (!form.Validate(v.data(), nullptr)) return false;
  const Value maxv = form.fields()[size_t(f)].max_value;
  for (Value alt = 0; alt <= maxv; ++alt) {
    if (alt == vals[size_t(f)]) continue;
    v[size_t(f)] = alt;
    if (form.Validate(v.data(), nullptr)) return false;
  }
  return true;
}

// The blur past which a page's photo is asked for again (ReadOptions::blurred_line_mm; 0 = the
// form's own limit).
double BlurredLineLimitMm(const ReadOptions& o) {
  return o.blurred_line_mm > 0 ? o.blurred_line_mm : IsKpu(o.form) ? 1.9 : 1.35;
}

Reading Decide(const Form& form, const std::vector<PageLayout>& layouts,
               std::vector<PageObservation>& obs, const ReadOptions& o) {
  Reading rd;
  rd.form = layouts[0].form_id;
  rd.page_found = !obs.empty();
  std::set<int> pages_seen;
  std::vector<int> dup_pages;
  for (auto& ob : obs) {
    for (auto& r : ob.reasons) rd.reasons.push_back(r);
    if (!ob.found) rd.page_found = false;
    // The page's sharpness: the median width of its upright borders and of its level ones,
    // the wider of the two. A shaken camera smears the photo along one direction: the borders
    // across it widen, those along it stay sharp, and a median over both would call a photo
    // sharp whose digits are smeared.
    for (const auto& widths : ob.line_widths)
      if (ob.page > 0 && !widths.empty()) rd.line_mm[ob.page] = std::max(rd.line_mm[ob.page], Median(widths));
    if (ob.page > 0 && ob.found) rd.grain[ob.page] = ob.grain;
    if (ob.page > 0 && ob.found && ob.spilled_boxes > 0)
      rd.spilled_boxes[ob.page] = ob.spilled_boxes;
    if (ob.page > 0 && ob.found && ob.boxes_moved > 0) rd.boxes_moved[ob.page] = ob.boxes_moved;
    if (ob.page > 0 && ob.found && ob.finer > 0) rd.decoded_finer[ob.page] = ob.finer;
    if (ob.page > 0 && ob.found && ob.rows_moved > 0) rd.rows_moved[ob.page] = ob.rows_moved;
    if (ob.page > 0 && ob.found && ob.bend_mm >= 0) rd.bend_mm[ob.page] = ob.bend_mm;
    rd.print_fields += ob.print_fields;
    if (ob.page > 0) {
      if (!pages_seen.insert(ob.page).second) dup_pages.push_back(ob.page);
      rd.pages.push_back(ob.page);
    }
    if (!ob.qr.empty() && ob.page > 0) rd.qr[ob.page] = ob.qr;
    if (!ob.tps.empty()) {
      if (rd.tps.empty()) rd.tps = ob.tps;
      else if (rd.tps != ob.tps && !rd.HasReason(reason::kTpsMismatch))
        rd.reasons.push_back(MakeReason(reason::kTpsMismatch, "TPS " + rd.tps + " != " + ob.tps));
    }
  }
  std::sort(rd.pages.begin(), rd.pages.end());
  rd.page = rd.pages.empty() ? 0 : rd.pages[0];
  if (!rd.tps.empty()) {
    rd.tps_from = tps_from::kQr;
  } else if (!o.expected_tps.empty()) {
    rd.tps = o.expected_tps;
    rd.tps_from = tps_from::kCaller;
  }
  if (rd.tps.empty() && rd.page_found)
    rd.reasons.push_back(MakeReason(reason::kTpsUnknown, "TPS tidak diketahui / TPS unknown (--tps)"));
  for (int p : dup_pages)
    rd.reasons.push_back(MakeReason(reason::kWrongPage, "halaman ganda / duplicate page " + std::to_string(p)));
  if (rd.page_found && o.expected_page == 0 && layouts.size() > 1) {
    for (const PageLayout& l : layouts)
      if (!pages_seen.count(l.page))
        rd.reasons.push_back(MakeReason(reason::kPageMissing, "halaman / page " + std::to_string(l.page)));
  }

  // Gather the fields read, in form order.
  std::vector<const FieldReading*> fr_of(form.size(), nullptr);
  std::vector<const NumberReading*> nr_of(form.size(), nullptr);
  for (auto& ob : obs)
    for (size_t i = 0; i < ob.fields.size(); ++i) {
      const int fi = form.IndexOf(ob.fields[i].field);
      if (fi < 0 || fr_of[size_t(fi)] != nullptr) continue;
      fr_of[size_t(fi)] = &ob.fields[i];
      nr_of[size_t(fi)] = &ob.numbers[i];
    }
  std::vector<int> read_fields;
  std::vector<std::vector<std::pair<Value, double>>> hyp;
  std::vector<Value> top1(form.size(), kMissing);
  for (size_t f = 0; f < form.size(); ++f) {
    if (fr_of[f] == nullptr || nr_of[f]->hypotheses.empty()) continue;
    if (nr_of[f]->blank && nr_of[f]->omr_empty) continue;  // nothing written at all
    read_fields.push_back(int(f));
    auto h = nr_of[f]->hypotheses;
    // Drop hypotheses that are hopeless relative to the best.
    const double pmax = h[0].second;
    std::erase_if(h, [&](const auto& x) { return x.second < pmax * 1e-12; });
    hyp.push_back(h);
    top1[f] = h[0].first;
  }

  // The values as read (top hypothesis) and the rules they break; reported if the page goes
  // to review.
  std::vector<Reason> value_reasons;
  std::vector<RuleFailure> failures;
  form.Validate(top1.data(), &failures);
  for (const RuleFailure& f : failures) {
    if (f.severity == Severity::kWarning) continue;
    Reason r = MakeReason(reason::kRuleBroken, f.detail);
    r.rule = f.rule_id;
    value_reasons.push_back(r);
  }

  std::vector<Value> chosen = top1;
  bool solved = false;
  if (!read_fields.empty()) {
    SearchResult sr = SearchAssignment(form, top1, read_fields, hyp, o.max_search_states);
    rd.search_states = sr.states;
    solved = sr.found;
    if (sr.found) chosen = sr.values;
    else value_reasons.push_back(MakeReason(reason::kNoSolution,
                                            "tidak ada nilai yang memenuhi aturan / no values satisfy the rules (" +
                                                std::to_string(sr.states) + " checked)"));
  }
  {
    std::vector<RuleFailure> all;
    form.Validate(chosen.data(), &all);
    for (RuleFailure& f : all)
      if (f.severity == Severity::kWarning) rd.warnings.push_back(std::move(f));
  }

  // Per field: is the chosen value confirmed by two independent channels? The channels are the
  // digit boxes (CNN), the bubbles (OMR) and the form's hard rules (the value is the only one
  // the rules allow given numbers already confirmed). Clear bubbles that say something else
  // always veto.
  auto prob_of = [&](int f) {
    for (const auto& [v, q] : nr_of[size_t(f)]->hypotheses)
      if (v == chosen[size_t(f)]) return q;
    return 0.0;
  };
  // The bubbles confirm v when every row of a significant digit has that digit as its single
  // clear mark (leading rows empty or 0); they veto v when some row's marks exclude its digit.
  // An empty row is neither (a missed mark).
  auto omr_confirms = [&](int f, Value v) {
    int unconfirmed = 0;
    return OmrCompatible(*nr_of[size_t(f)], v, &unconfirmed) && unconfirmed == 0;
  };
  std::vector<bool> verified(form.size(), false);
  std::vector<std::string> how(form.size());
  // Whether the boxes' second reading may settle number f: not on a page photographed past the
  // blur limit (photo_blurred). There the CNN's second readings of digits written otherwise
  // reach the 0.2 more often (a 40 bubbled 90 at 0.206 on 300 all-inconsistent KPU photos at
  // twice the blur, docs/reader.md), and the KPPS can still take the photo again.
  const double blur_limit = BlurredLineLimitMm(o);
  auto second_reading_allowed = [&](int f) {
    const auto it = rd.line_mm.find(fr_of[size_t(f)]->page);
    return it == rd.line_mm.end() || it->second <= blur_limit;
  };
  // The CNN's probability of value v for number f (0 if not among its top readings).
  auto cnn_p_of = [&](int f, Value v) {
    for (const auto& [x, q] : nr_of[size_t(f)]->ocr_hypotheses)
      if (x == v) return q;
    return 0.0;
  };
  // A misread known on the sheet: a confirmed number whose CNN reading is another value. The
  // confirmations below that rest on the CNN alone (a number without bubbles, or whose bubbles
  // say nothing) assume its readings are as reliable as on the digits it was trained on; a
  // sheet where it has misread one number is written in a hand it reads less well, and two
  // misreads that happen to satisfy a rule together become likely enough to matter. Measured
  // with "other hands" (`rekap bench reader --restyle 1`, the CNN reading about 90 % of the
  // boxes): 3 of 1,000 consistent KPU sheets were accepted with V.B and V.C both misread so
  // that V.C = V.A + V.B still held, each on a sheet with a misread known elsewhere; none
  // with this check (docs/reader.md). `except` leaves one number out (the one being decided).
  auto misread_known = [&](int except) {
    if (o.min_cross_probability_after_misread > 1) return false;  // turned off
    for (int f : read_fields) {
      if (f == except || !verified[size_t(f)]) continue;
      const FieldReading& fr = *fr_of[size_t(f)];
      if (fr.ocr != kMissing && fr.ocr != chosen[size_t(f)]) return true;
    }
    return false;
  };
  // The chosen assignment is at least min_runner_up_ratio times as probable as any other that
  // satisfies every hard rule (searched once, when first asked).
  int winner_known = -1;
  auto clear_winner = [&]() {
    if (winner_known < 0) {
      const SearchResult s2 = SearchAssignment(form, top1, read_fields, hyp, o.max_search_states, true);
      winner_known = s2.found && s2.values == chosen &&
                     s2.second_cost - s2.cost >= std::log(o.min_runner_up_ratio);
    }
    return winner_known == 1;
  };
  for (int f : read_fields) {
    const FieldReading& fr = *fr_of[size_t(f)];
    const Value v = chosen[size_t(f)];
    if (omr_confirms(f, v) && fr.ocr == v && fr.ocr_p >= o.min_ocr_probability &&
        prob_of(f) >= o.min_probability) {
      verified[size_t(f)] = true;
      how[size_t(f)] = "boxes+bubbles";
    }
  }
  // The bubbles read the number clearly and the boxes, though their best reading differs (an
  // ambiguous handwritten digit), give the bubbles' value a fair probability too.
  for (int f : read_fields) {
    if (verified[size_t(f)]) continue;
    const Value v = chosen[size_t(f)];
    if (omr_confirms(f, v) && cnn_p_of(f, v) >= o.min_support_probability &&
        prob_of(f) >= o.min_probability && second_reading_allowed(f)) {
      verified[size_t(f)] = true;
      how[size_t(f)] = "bubbles+boxes(2nd)";
    }
  }
  // Partly double-read: every bubble row but one confirms its digit, that row is empty or holds
  // the digit among several marks, and the digit box of that one position is read by the CNN
  // very confidently (>= min_partial_probability) as the same digit: over all ten digits for an
  // empty row, among the marked values for a row marked twice. The CNN's reading of the whole
  // number must be the value with min_ocr_probability, as for "boxes+bubbles": a box judged
  // empty leaves every digit equally likely, so a number whose units box is empty has the CNN's
  // best reading end in 0 at about 0.1; with thin pencil digits (`rekap bench reader
  // --pen-strokes 1 --inconsistent-rate 1`) 64 written, 60 bubbled and the 4 judged empty was
  // accepted as 60 (ReadSynth.BoxReadEmptyDoesNotConfirmTheBubbles). The number's other digits are
  // then read twice and the one digit once, by a confident CNN (in a row marked twice the
  // bubbles narrow it to the marks and the CNN chooses among them). Never when the bubbles on
  // their own spell another complete number: boxes 98 with only the 8 bubbled reads "8" in the
  // bubbles, and a leading digit the boxes add that the bubbles do not have is the 2024 "58
  // read as 948" failure, which the bubbles are there to catch.
  auto digit_at = [](Value x, int j) { return j == 0 ? x / 100 : j == 1 ? (x / 10) % 10 : x % 10; };
  // Whether the CNN reads box j of number f as digit d with min_partial_probability among the
  // digits the other readings leave (weighted by how much they leave each: w).
  auto box_chooses = [&](const FieldReading& fr, int j, int d, const std::array<double, 10>& w) {
    const auto& prob = fr.box_prob[size_t(j)];
    double left = 0;
    for (int c = 0; c < 10; ++c) left += double(prob[size_t(c)]) * w[size_t(c)];
    return fr.box_digit[size_t(j)] == d && left > 0 &&
           double(prob[size_t(d)]) * w[size_t(d)] >= o.min_partial_probability * left;
  };
  auto partly_confirmed = [&](int f, Value v) {
    const FieldReading& fr = *fr_of[size_t(f)];
    const NumberReading& nr = *nr_of[size_t(f)];
    int unconfirmed = 0;
    if (nr.omr_empty || (nr.omr != kMissing && nr.omr != v)) return false;
    if (!OmrCompatible(nr, v, &unconfirmed) || unconfirmed > 1) return false;
    const int first = v >= 100 ? 0 : v >= 10 ? 1 : 2;
    for (int j = first; j < 3; ++j) {
      const BubbleRow& row = nr.rows[size_t(j)];
      if (row.marked == digit_at(v, j)) continue;  // confirmed by the bubbles
      // The box's probability of the digit, or in a row marked twice (or more) its probability
      // among the marked values (weighted by their likelihood): the bubbles have already
      // excluded the others, so the box need only choose between the marks.
      std::array<double, 10> w;
      w.fill(1.0);
      if (row.marks >= 2) std::copy(row.likelihood.begin(), row.likelihood.end(), w.begin());
      if (!box_chooses(fr, j, digit_at(v, j), w)) return false;
    }
    return true;
  };
  if (o.accept_partial_bubbles) {
    for (int f : read_fields) {
      if (verified[size_t(f)]) continue;
      const FieldReading& fr = *fr_of[size_t(f)];
      const Value v = chosen[size_t(f)];
      if (fr.ocr == v && fr.ocr_p >= o.min_ocr_probability && prob_of(f) >= o.min_partial_combined &&
          partly_confirmed(f, v)) {
        verified[size_t(f)] = true;
        how[size_t(f)] = "boxes+some bubbles";
      }
    }
  }
  // The tally (KPU page 2): a bubble row left empty or double-marked is settled when the tally
  // and the bubbles together leave only the value the boxes read. Every other value in the
  // tally's range must be excluded by the bubbles' clear marks, so the digit missing from the
  // bubbles is read twice after all: by the CNN and by the tally. Boxes 98 with only the 8
  // bubbled and 20 cells of tally (96..100) are 98; boxes 98 with a tally of 2 cells (6..10)
  // stay in review. A units row left empty under a coarse tally (26..30, boxes 27, the tens
  // bubbled 2) leaves 26..29: the CNN must then choose 27 among them as surely as the
  // one-digit-read-once rule asks among all ten (its probability of the units box's 7 among
  // 6, 7, 8 and 9 >= min_partial_probability), the tally and the bubbles having excluded the
  // rest; and a counted last cell (tally.h) narrows 96..100 to one or two values. A number
  // without bubbles (page 3's V.B, the invalid votes) is settled the same way by its boxes and
  // its tally alone ("boxes+tally"): a tally counted to the value the boxes read, or a range in
  // which the boxes choose their digit as surely as above (boxes 3 under a tally of 1..5).
  auto tally_confirms = [&](int f, Value v) {
    const FieldReading& fr = *fr_of[size_t(f)];
    const NumberReading& nr = *nr_of[size_t(f)];
    if (!fr.tally || !fr.tally->Allows(v) || (nr.omr_empty && fr.has_bubbles && !o.tally_without_bubbles))
      return false;
    if (fr.ocr != v || fr.ocr_p < o.min_pinned_probability) return false;
    int unconfirmed = 0;
    if (!OmrCompatible(nr, v, &unconfirmed)) return false;
    // The other values the tally and the bubbles allow: where each differs from v only in one
    // and the same written box, that box's CNN probabilities weigh v against them; otherwise the
    // boxes' probabilities of the whole values do (below).
    int open = -1;
    std::array<double, 10> left{};  // the digits left in that box
    bool several = false;           // some value left differs from v in another box, or in two
    std::vector<Value> alts;        // the values left
    const int first = v >= 100 ? 0 : v >= 10 ? 1 : 2;
    for (Value alt = fr.tally->lo; alt <= fr.tally->hi; ++alt) {
      if (alt == v || !OmrCompatible(nr, alt, &unconfirmed)) continue;
      // A leading box left empty holds no digit: boxes "6" with the tens box empty are not 10
      // (a tally of 6..10 then leaves 6..9, which differ in the units box alone).
      bool excluded = false;
      for (int j = 0; j < first; ++j) excluded = excluded || (fr.box_digit[size_t(j)] < 0 && digit_at(alt, j) != 0);
      if (excluded) continue;
      int diff = -1, ndiff = 0;
      for (int j = 0; j < 3; ++j)
        if (digit_at(alt, j) != digit_at(v, j)) {
          // A box the CNN judged empty, or reads as another digit than v's, cannot tell v from alt.
          if (fr.box_digit[size_t(j)] != digit_at(v, j)) return false;
          diff = j, ++ndiff;
        }
      if (ndiff != 1 || (open >= 0 && diff != open)) several = true;
      if (!several) {
        open = diff;
        left[size_t(digit_at(alt, open))] = 1;
      }
      alts.push_back(alt);
    }
    if (alts.empty()) return true;  // the tally and the bubbles leave v alone
    if (!several) {
      left[size_t(digit_at(v, open))] = 1;
      return box_chooses(fr, open, digit_at(v, open), left);
    }
    // The values left differ from v in more than one box, or in different boxes (a tally of
    // 26..30 under boxes 27 whose bubbles are left out: 26, 28 and 29 differ in the units box,
    // 30 in the tens box too; every other range ending in 0 crosses a tens boundary so). The
    // CNN must choose v among them as surely: its probability of a value is the product of its
    // boxes' probabilities of the value's digits (the boxes where all the values agree cancel),
    // and v's must be at least min_partial_probability of the sum over v and the values left.
    auto p_of = [&](Value x) {
      double q = 1;
      for (int j = 0; j < 3; ++j)
        if (fr.box_digit[size_t(j)] >= 0) q *= double(fr.box_prob[size_t(j)][size_t(digit_at(x, j))]);
      return q;
    };
    double sum = p_of(v);
    for (Value alt : alts) sum += p_of(alt);
    return sum > 0 && p_of(v) >= o.min_partial_probability * sum;
  };
  if (o.accept_tally) {
    for (int f : read_fields) {
      if (verified[size_t(f)]) continue;
      if (tally_confirms(f, chosen[size_t(f)])) {
        verified[size_t(f)] = true;
        how[size_t(f)] = fr_of[size_t(f)]->has_bubbles && !nr_of[size_t(f)]->omr_empty ? "boxes+some bubbles+tally"
                                                                                       : "boxes+tally";
      }
    }
  }
  // The tally against a weak confirmation (KPU page 2): a number the boxes and bubbles (or the
  // bubbles and the boxes' second reading) confirmed, which the CNN reads with less than
  // min_ocr_against_tally and whose tally, read, excludes: of the sheet's three copies the
  // clearest disagrees and one of the two that agree is unsure. That is how a misread digit
  // that happens to match the bubbles looks (boxes 42, bubbled 92, the CNN reading 92 at 0.65,
  // a tally of 41..45), so a human looks. A number the CNN reads surely stands, with the
  // turus_sesuai_angka warning (the tally miscounted, or a slip in both copies). A hard rule can
  // still confirm it below.
  std::vector<bool> tally_vetoed(form.size(), false);
  // A number without bubbles (page 3's V.B) whose tally, read, excludes the value its boxes
  // are given, while the CNN gives that value less than min_ocr_against_tally: the rules may
  // not confirm it (they rest on the CNN alone there, and the tally, the one other copy on
  // the sheet, says otherwise). Boxes 6 under a tally of 1..5 go to review.
  auto tally_against = [&](int f) {
    const FieldReading& fr = *fr_of[size_t(f)];
    const Value v = chosen[size_t(f)];
    return !fr.has_bubbles && fr.tally && fr.tally->read && !fr.tally->Allows(v) &&
           cnn_p_of(f, v) < o.min_ocr_against_tally;
  };
  for (int f : read_fields) {
    const FieldReading& fr = *fr_of[size_t(f)];
    const Value v = chosen[size_t(f)];
    if (!verified[size_t(f)] || !fr.tally || !fr.tally->read || fr.tally->Allows(v)) continue;
    if (cnn_p_of(f, v) >= o.min_ocr_against_tally) continue;
    verified[size_t(f)] = false;
    tally_vetoed[size_t(f)] = true;
    how[size_t(f)].clear();
  }
  // Rules: a number fixed by a hard rule to confirmed numbers is confirmed by whichever of the
  // boxes (confident) or the bubbles (clear) agrees with it, as long as the bubbles do not say
  // otherwise; or by both leaning to it: the bubbles hold its digits but for one row where the
  // digit is among two marks or missing (and spell no other number), and the CNN gives it at
  // least min_support_probability (a double-marked 8/7 over boxes read 70 or 80).
  if (solved) {
    // The read fields each hard rule reads (rules reading a field not read are left out: they
    // cannot tie anything). Worked out only when a pair is looked for.
    std::vector<std::vector<int>> rule_members;
    bool have_members = false;
    auto members = [&]() -> const std::vector<std::vector<int>>& {
      if (have_members) return rule_members;
      have_members = true;
      std::vector<Value> probe = chosen;
      for (size_t r = 0; r < form.rules().size(); ++r) {
        if (form.rules()[r].severity != Severity::kError || !form.RuleApplies(r, chosen.data())) continue;
        std::vector<int> m;
        for (int f : read_fields) {
          probe[size_t(f)] = kMissing;
          if (!form.RuleApplies(r, probe.data())) m.push_back(f);
          probe[size_t(f)] = chosen[size_t(f)];
        }
        if (m.size() >= 2) rule_members.push_back(std::move(m));
      }
      return rule_members;
    };
    // Whether number f, not yet confirmed and without bubbles, may be confirmed by the value its
    // boxes give as a second reading (>= min_support_probability): not while its tally says
    // otherwise or a misread is known elsewhere on the sheet.
    auto second_reading_may_confirm = [&](int f) {
      return !verified[size_t(f)] && !fr_of[size_t(f)]->has_bubbles && !tally_against(f) &&
             cnn_p_of(f, chosen[size_t(f)]) >= o.min_support_probability && !misread_known(f) &&
             second_reading_allowed(f);
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (int f : read_fields) {
        if (verified[size_t(f)] || tally_against(f)) continue;
        const FieldReading& fr = *fr_of[size_t(f)];
        const Value v = chosen[size_t(f)];
        int unconfirmed = 0;
        const bool omr_agrees = omr_confirms(f, v);
        const bool cnn_agrees = fr.ocr == v && fr.ocr_p >= o.min_pinned_probability &&
                                OmrCompatible(*nr_of[size_t(f)], v, &unconfirmed);
        bool both_lean = false;
        if (!omr_agrees && !cnn_agrees) {
          const NumberReading& nr = *nr_of[size_t(f)];
          both_lean = !nr.omr_empty && (nr.omr == kMissing || nr.omr == v) &&
                      OmrCompatible(nr, v, &unconfirmed) && unconfirmed <= 1 &&
                      cnn_p_of(f, v) >= o.min_support_probability && second_reading_allowed(f);
        }
        if (!omr_agrees && !cnn_agrees && !both_lean) continue;
        if (PinnedByRules(form, chosen, verified, f)) {
          verified[size_t(f)] = true;
          how[size_t(f)] = omr_agrees ? "bubbles+rules" : cnn_agrees ? "boxes+rules" : "rules+bubbles+boxes(2nd)";
          changed = true;
        }
      }
      if (changed) continue;
      // A number without bubbles (KPU's page 3) that the hard rules fix, given double-read
      // numbers, to a value its boxes give only as a second reading: the total V.A whose
      // handwriting the CNN took for another number, though the three double-read votes sum to
      // one it also finds there. As with the bubbles over an ambiguous digit, the boxes must
      // give that value at least min_support_probability, and no other assignment satisfying
      // the rules may come near in probability.
      for (int f : read_fields) {
        if (!second_reading_may_confirm(f)) continue;
        if (!PinnedByRules(form, chosen, verified, f) || !clear_winner()) continue;
        verified[size_t(f)] = true;
        how[size_t(f)] = "rules+boxes(2nd)";
        changed = true;
      }
      if (changed) continue;
      // Two numbers each read once (by confident digit boxes, or by bubbles clear in every row)
      // that a hard rule ties together (given the confirmed numbers, either fixes the other):
      // each confirms the other. Page 3 of KPU's form has no bubbles, so its totals are read
      // this way, and a page-2 number with a bubble row left empty, or whose boxes the CNN
      // misread, is confirmed by the total V.A read on another sheet. A wrong pair needs two
      // misreads, on different boxes, that happen to satisfy the rule.
      auto single_read = [&](int f) {
        const FieldReading& fr = *fr_of[size_t(f)];
        const Value v = chosen[size_t(f)];
        int unconfirmed = 0;
        if (verified[size_t(f)] || tally_against(f)) return false;
        // The bubbles alone, clear in every row (as in "bubbles+rules", they outvote a CNN
        // misread when the rule agrees with them); or the boxes alone, the bubbles not against.
        if (omr_confirms(f, v)) return true;
        const double need = misread_known(f) ? std::max(o.min_cross_probability, o.min_cross_probability_after_misread)
                                              : o.min_cross_probability;
        return fr.ocr == v && fr.ocr_p >= need && OmrCompatible(*nr_of[size_t(f)], v, &unconfirmed);
      };
      // Candidates: two single reads in one hard rule whose other fields are all confirmed.
      // Bounded: a hostile page cannot make this quadratic in the form's size.
      int pair_checks = 0;
      constexpr int kMaxPairChecks = 64;
      // f and g are the only numbers of some hard rule not yet confirmed, and given either,
      // the rules fix the other.
      auto tied_and_pinned = [&](int f, int g) {
        bool tied = false;
        for (const auto& m : members()) {
          if (!std::count(m.begin(), m.end(), f) || !std::count(m.begin(), m.end(), g)) continue;
          tied = std::all_of(m.begin(), m.end(), [&](int x) { return x == f || x == g || verified[size_t(x)]; });
          if (tied) break;
        }
        if (!tied) return false;
        ++pair_checks;
        std::vector<bool> with_g = verified, with_f = verified;
        with_g[size_t(g)] = true;
        with_f[size_t(f)] = true;
        return PinnedByRules(form, chosen, with_g, f) && PinnedByRules(form, chosen, with_f, g);
      };
      // Two numbers read by their boxes alone are two readings by the same CNN: where the sheet
      // shows that it misreads this hand, they do not confirm each other (either may still be
      // confirmed with a number its bubbles read). Thin pencil digits (`rekap bench reader
      // --form kpu-ppwp --pen-strokes 1`, seed 81, sheet 60) had page 2's 27 and 58 misread as
      // 17 and 50, then page 3's V.B 0 and V.C 154 read as 7 (0.93) and 161 (0.96), which
      // satisfy V.C = V.A + V.B together (ReadSynth.NoBoxesOnlyPairAfterAMisread).
      auto boxes_only = [&](int f) { return !omr_confirms(f, chosen[size_t(f)]); };
      for (size_t a = 0; a < read_fields.size() && !changed && pair_checks < kMaxPairChecks; ++a) {
        const int f = read_fields[a];
        if (!single_read(f)) continue;
        for (size_t b = a + 1; b < read_fields.size() && pair_checks < kMaxPairChecks; ++b) {
          const int g = read_fields[b];
          if (!single_read(g)) continue;
          if (boxes_only(f) && boxes_only(g) && (misread_known(f) || misread_known(g))) continue;
          if (!tied_and_pinned(f, g)) continue;
          verified[size_t(f)] = verified[size_t(g)] = true;
          how[size_t(f)] = how[size_t(g)] = "boxes+boxes+rules";
          changed = true;
          break;
        }
      }
      if (changed) continue;
      // The same pair where one number is read once, confidently, and the other (without
      // bubbles) has the value the rule then fixes only as its boxes' second reading: V.B read
      // clearly and V.C = V.A + V.B a second reading of V.C's boxes (or the other way round).
      // A wrong pair needs a confident misread of the one and the other's boxes lending the
      // misread's consequence a fair probability (>= min_support_probability: a V.C written
      // wrong, with V.B read right, is not mended into agreement unless its handwriting itself
      // reads both ways); and no other assignment that satisfies the rules may come near in
      // probability (clear_winner).
      for (size_t a = 0; a < read_fields.size() && !changed && pair_checks < kMaxPairChecks; ++a) {
        const int g = read_fields[a];
        if (!single_read(g)) continue;
        for (size_t b = 0; b < read_fields.size() && pair_checks < kMaxPairChecks; ++b) {
          const int f = read_fields[b];
          if (f == g || !second_reading_may_confirm(f)) continue;
          if (!tied_and_pinned(f, g)) continue;
          if (!clear_winner()) continue;
          verified[size_t(f)] = verified[size_t(g)] = true;
          how[size_t(g)] = "boxes+rules";
          how[size_t(f)] = "boxes+rules+boxes(2nd)";
          changed = true;
          break;
        }
      }
    }
  }

  for (int f : read_fields)
    if (!verified[size_t(f)] && tally_against(f)) tally_vetoed[size_t(f)] = true;
  bool all_verified = !read_fields.empty();
  for (int f : read_fields) all_verified = all_verified && verified[size_t(f)];
  std::vector<Reason> field_reasons;
  for (size_t f = 0; f < form.size(); ++f) {
    if (fr_of[f] == nullptr) continue;
    FieldReading fr = *fr_of[f];
    const NumberReading& nr = *nr_of[f];
    fr.value = chosen[f];
    fr.confidence = 0;
    for (const auto& h : fr.hypotheses)
      if (h.value == fr.value) fr.confidence = h.p;
    fr.verified = verified[f];
    fr.confirmed_by = how[f];
    // A tally that excludes a number the boxes and bubbles confirmed: the sheet's redundant
    // copies disagree (a miscount on the tally, or a slip in both copies). The number stands,
    // read twice; the disagreement is a warning for the plenary that checks the sheet.
    if (fr.verified && fr.tally && fr.tally->read && !fr.tally->Allows(fr.value)) {
      RuleFailure w;
      w.rule_id = kTallyWarning;
      w.severity = Severity::kWarning;
      w.fields = {fr.field};
      w.values = {fr.value};
      w.message = {"Turus sesuai dengan angka", "The tally matches the number"};
      w.detail = fr.field + ": turus/tally " + std::to_string(fr.tally->lo) + ".." + std::to_string(fr.tally->hi) +
                 ", angka/number " + std::to_string(fr.value);
      rd.warnings.push_back(std::move(w));
    }
    if (nr.blank && nr.omr_empty) {
      field_reasons.push_back({reason::kFieldBlank, fr.field, "", -1, "kosong / not filled in"});
    } else if (!fr.verified) {
      Reason r;
      r.field = fr.field;
      if (tally_vetoed[f]) {
        r.code = reason::kTallyDisagrees;
        r.p = cnn_p_of(int(f), fr.value);
        char buf[160];
        std::snprintf(buf, sizeof buf, "turus/tally %d..%d, angka/number %d; CNN p(%d)=%.3g", fr.tally->lo,
                      fr.tally->hi, fr.value, fr.value, r.p);
        r.detail = buf;
      } else if (!fr.has_bubbles) {
        r.code = reason::kUnconfirmed;
        r.p = fr.ocr_p;
        r.detail = "dibaca sekali (tanpa bulatan), tidak dikonfirmasi aturan / read once (no bubbles), "
                   "not confirmed by a rule";
      } else if (fr.double_marked) {
        r.code = reason::kBubbleDoubleMarked;
      } else if (fr.omr == kMissing && nr.omr_empty) {
        r.code = reason::kBubbleEmpty;
      } else if (fr.ocr != fr.omr) {
        r.code = reason::kOcrOmrDisagree;
        r.detail = "kotak/boxes=" + (fr.ocr == kMissing ? std::string("?") : std::to_string(fr.ocr)) +
                   " bulatan/bubbles=" + (fr.omr == kMissing ? std::string("?") : std::to_string(fr.omr));
        // How the CNN weighs the two: a few per cent for the bubbles' value is handwriting that
        // reads either way; next to nothing is a number written one way and bubbled another.
        if (fr.ocr != kMissing && fr.omr != kMissing) {
          char buf[96];
          std::snprintf(buf, sizeof buf, "; CNN p(%d)=%.3g p(%d)=%.3g", fr.ocr, fr.ocr_p, fr.omr, fr.ocr_p_of_omr);
          r.detail += buf;
        }
      } else {
        r.code = reason::kLowConfidence;
        r.p = std::min(fr.confidence, fr.ocr_p);
      }
      // A box judged empty after a written digit (a number has no gaps): ink too faint or too
      // thin for the empty-box test, which the person checking the crop should look for.
      for (int j = 1; j < 3; ++j) {
        if (fr.box_digit[size_t(j)] >= 0 || *std::max_element(fr.box_digit.begin(), fr.box_digit.begin() + j) < 0)
          continue;
        const std::string n = std::to_string(j + 1);
        r.detail += (r.detail.empty() ? "" : "; ") + ("kotak " + n + " terbaca kosong setelah angka tertulis (tinta " +
                    "terlalu tipis atau samar?) / box " + n + " read as empty after a written digit (ink too thin "
                    "or faint?)");
        break;
      }
      field_reasons.push_back(r);
      if (r.code != reason::kLowConfidence && fr.value != kMissing && fr.confidence < o.min_probability) {
        Reason lc;
        lc.code = reason::kLowConfidence;
        lc.field = fr.field;
        lc.p = fr.confidence;
        field_reasons.push_back(lc);
      }
    }
    rd.fields.push_back(std::move(fr));
  }
  rd.accepted = rd.reasons.empty() && rd.page_found && all_verified && solved && field_reasons.empty();
  // Pages whose numbers may be published while the rest waits for review: every photo found and
  // identified, a solution satisfying every hard rule, and every number of the page confirmed.
  // Only a missing page of the sheet is tolerated (page 2 without page 3).
  const bool identity_ok = rd.page_found && std::all_of(rd.reasons.begin(), rd.reasons.end(), [](const Reason& r) {
    return r.code == reason::kPageMissing;
  });
  if (identity_ok && solved) {
    for (int p : rd.pages) {
      bool all = true, any = false;
      for (const FieldReading& f : rd.fields) {
        if (f.page != p) continue;
        any = true;
        all = all && f.verified;
      }
      if (any && all) rd.pages_confirmed.push_back(p);
    }
  }
  if (!rd.accepted) {
    rd.reasons.insert(rd.reasons.end(), value_reasons.begin(), value_reasons.end());
    rd.reasons.insert(rd.reasons.end(), field_reasons.begin(), field_reasons.end());
    if (rd.reasons.empty())
      rd.reasons.push_back(MakeReason(reason::kPageNotFound, "tidak ada angka terbaca / no numbers read"));
    // A photo too blurred to read reliably: a person could read it, but the KPPS can still take
    // it again while the sheet is at hand. First, with photo_dark below: the reasons the KPPS
    // can act on.
    const double limit = BlurredLineLimitMm(o);
    std::vector<Reason> retake;
    for (const auto& [page, w] : rd.line_mm)
      if (w > limit) {
        char mm[64];
        std::snprintf(mm, sizeof mm, "%.2f mm > %.2f mm", w, limit);
        Reason r = MakeReason(reason::kPhotoBlurred, "foto halaman " + std::to_string(page) +
                                                         " kurang tajam, ambil ulang / the photo of page " +
                                                         std::to_string(page) + " is too blurred, take it again (" +
                                                         "garis kotak / box borders " + mm + ")");
        retake.push_back(std::move(r));
      }
    // A photo taken in too little light: the phone amplified it, and its grain hides or imitates
    // strokes even after the boxes are smoothed. More light, not a steadier hand, helps.
    const double dark_limit = o.grain_limit > 0 ? o.grain_limit : FormGrainLimit(o.form);
    for (const auto& [page, g] : rd.grain)
      if (g > dark_limit) {
        char grain[64];
        std::snprintf(grain, sizeof grain, "%.2f > %.2f", g, dark_limit);
        const std::string pg = std::to_string(page);
        std::string d =
            "foto halaman " + pg + " gelap dan berbintik, ambil ulang dengan cahaya lebih terang";
        d += " / the photo of page " + pg + " is dark and grainy, take it again in better light";
        d += std::string(" (bintik / grain ") + grain + ")";
        retake.push_back(MakeReason(reason::kPhotoDark, d));
      }
    // The reason for photo k whose page was not found, with what was measured.
    auto not_found_blurred = [&](size_t k, const std::string& measured) {
      const std::string which = obs.size() > 1 ? " " + std::to_string(obs[k].photo) : std::string();
      std::string d = "foto" + which + " kurang tajam, halaman tidak ditemukan, ambil ulang";
      d += " / photo" + which + " too blurred to find the page, take it again (" + measured + ")";
      retake.push_back(MakeReason(reason::kPhotoBlurred, d));
    };
    // A photo whose page was not found at all, its markers' edges blurred past what the box
    // borders' limit corresponds to (0.52 mm of sigma at 1.35 mm of border on our form; on KPU's
    // page the tag's blur spreads more, about 1.0-1.4 mm at 1.9 mm of border): the blur, not
    // the page, is why. Measured where at least one marker was found (docs/reader.md, "Photo
    // sharpness").
    const double marker_limit = IsKpu(o.form) ? 1.3 : 0.55;
    // No marker measured at all: the photo's own edges (PhotoEdgeBlurPx), in mm at the largest
    // the page can be on it (so at most as blurred as it says), and at least 2.5 px: usual
    // photos show up to 2 px and 0.39 mm (our form) or 0.90 mm (KPU: a photo of 1,000 px, where
    // a px is nearly 1 mm of the page), and a photo of part of the page makes its mm look
    // larger, so the px floor is what decides. Measured on photos whose blur is known
    // (docs/reader.md, "Photo sharpness").
    const double photo_limit = IsKpu(o.form) ? 0.7 : 0.35;
    constexpr double kPhotoLimitPx = 2.5;
    for (size_t k = 0; k < obs.size(); ++k) {
      if (obs[k].found) continue;
      char mm[96];
      if (obs[k].blur_mm > marker_limit) {
        std::snprintf(mm, sizeof mm, "tepi penanda / marker edges %.2f mm > %.2f mm",
                      obs[k].blur_mm, marker_limit);
        not_found_blurred(k, mm);
      } else if (obs[k].blur_mm == 0 && obs[k].photo_blur_mm > photo_limit &&
                 obs[k].photo_blur_px > kPhotoLimitPx) {
        std::snprintf(mm, sizeof mm, "tepi di foto / edges in the photo %.2f mm > %.2f mm, %.1f px",
                      obs[k].photo_blur_mm, photo_limit, obs[k].photo_blur_px);
        not_found_blurred(k, mm);
      }
    }
    rd.reasons.insert(rd.reasons.begin(), retake.begin(), retake.end());
  }
  return rd;
}

}  // namespace rekap::reader::detail
