// rekap reader: optical mark recognition of the bubble columns, and the per-number
// combination of the digit boxes (CNN) with the bubbles (OMR).
//
// Pure functions on already rectified crops and on probabilities; no I/O. See docs/reader.md.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "reader/digits.h"
#include "rekap/form.h"

namespace rekap::reader {

// Thresholds on a bubble's score: the share of its inner disc (72 % of the radius, inside the
// printed outline) covered by ink (pixels absorbing >= 45 % of the local paper's light), above
// the row's own baseline (the median of its ten bubbles).
struct OmrOptions {
  double mark = 0.06;   // at or above: marked
  double clear = 0.02;  // below: certainly not marked; in between: unclear
  double epsilon = 1e-3;  // likelihood of a value whose bubble is clearly unmarked
};

// One row of ten bubbles (one digit position of a number).
struct BubbleRow {
  std::array<double, 10> score{};  // darkness above the row's baseline
  std::array<double, 10> dark{};   // mean darkness inside the bubble (0 paper .. 1 black)
  std::array<double, 10> ink{};    // share of the bubble's pixels that are ink
  std::array<double, 10> ring_dark{}, ring_ink{};  // the same on the ring 0.5..0.8 R (no label)
  int marked = -1;      // the single clearly marked value, or -1
  int marks = 0;        // bubbles at or above `mark`
  int unclear = 0;      // bubbles between `clear` and `mark`
  bool empty() const { return marks == 0 && unclear == 0; }
  // Likelihood of each value given the marks (1 for marked, epsilon for clearly unmarked,
  // linear in between). All ones when the row is empty (no information).
  std::array<double, 10> likelihood{};
};

// Measures a row of bubbles in a rectified greyscale crop: `centers` and `radius` in crop
// pixels, `paper` the crop's paper level (0..255).
BubbleRow MeasureBubbleRow(const cv::Mat& grey, const std::array<cv::Point2f, 10>& centers,
                           float radius, double paper, const OmrOptions& opt = {});

// The evidence of one digit box: the CNN's probabilities, or "empty".
struct BoxEvidence {
  bool empty = true;
  std::array<float, 10> prob{};  // CNN softmax (valid when !empty)
};

// The per-number reading.
struct NumberEvidence {
  std::array<BoxEvidence, 3> boxes;  // [0] hundreds, [1] tens, [2] ones
  std::array<BubbleRow, 3> rows;     // same order
};

struct NumberReading {
  Value ocr = kMissing;      // digit boxes alone (most probable value), kMissing if unusable
  double ocr_p = 0;          // its probability under the CNN alone
  Value omr = kMissing;      // bubbles alone, kMissing if a row is empty/unclear/double
  bool double_marked = false;
  bool omr_empty = false;    // no bubble of the number is marked at all
  bool blank = false;        // all three digit boxes empty
  std::vector<std::pair<Value, double>> hypotheses;  // combined, most probable first
  std::array<BubbleRow, 3> rows;
};

// Whether the bubbles are compatible with `v`: every row either confirms its digit (a leading
// row: 0 or nothing) with a single clear mark, or is empty or has the digit among several marks
// (then counted in `*unconfirmed`). False if some row's marks exclude the digit.
bool OmrCompatible(const NumberReading& n, Value v, int* unconfirmed);

// (Re)computes a measured row's scores, marks and likelihoods against `baseline` (per value:
// the ink share of an unmarked bubble, e.g. its printed label), or against the row's own
// median when null.
void ScoreBubbleRow(BubbleRow* row, const std::array<double, 10>* baseline, const OmrOptions& opt = {});

// Per value, the median ink share over all the rows of a page: an unmarked bubble's printed
// label and outline (each value's label recurs in every row; few rows mark any given value).
std::array<double, 10> PageBubbleBaseline(const std::vector<const BubbleRow*>& rows);

// Combines boxes and bubbles over every value 0..max_value. Leading positions may be blank
// boxes or a written 0, and unmarked rows or a marked 0. Keeps the `k` most probable values.
NumberReading CombineNumber(const NumberEvidence& e, Value max_value, int k);

}  // namespace rekap::reader
