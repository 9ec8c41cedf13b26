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
#include "reader/layout.h"
#include "rekap/form.h"

namespace rekap::reader {

// Thresholds on a bubble's score: its mean darkness (the share of the paper's light absorbed,
// the paper measured on a ring just outside the bubble, averaged over the inner disc of 72 % of
// the radius, inside the printed outline) above the page's baseline for that value (the
// printed label: light grey on our form, black on KPU's). Measured on 150 synthetic photos of
// each form (seeds 21 and 31): unmarked bubbles score <= 0.083 (99.99 % <= 0.055), marked ones
// >= 0.137 (99.9 % >= 0.16).
struct OmrOptions {
  double mark = 0.11;   // at or above: marked
  double clear = 0.09;  // below: certainly not marked; in between: unclear
  double epsilon = 1e-3;  // likelihood of a value whose bubble is clearly unmarked
};

// One row of ten bubbles (one digit position of a number).
struct BubbleRow {
  std::array<double, 10> score{};  // darkness above the row's baseline
  std::array<double, 10> dark{};   // mean darkness inside the bubble (0 paper .. 1 black)
  std::array<double, 10> ink{};    // share of the bubble's pixels that are ink
  int marked = -1;      // the single clearly marked value, or -1
  int marks = 0;        // bubbles at or above `mark`
  int unclear = 0;      // bubbles between `clear` and `mark`
  bool empty() const { return marks == 0 && unclear == 0; }
  // Likelihood of each value given the marks (1 for marked, epsilon for clearly unmarked,
  // linear in between). All ones when the row is empty (no information).
  std::array<double, 10> likelihood{};
};

// The local paper level of a rectified crop holding bubbles of `bubble_px` diameter: the
// lighting with marks, outlines and labels removed (same size as `grey`).
cv::Mat PaperImage(const cv::Mat& grey, double bubble_px);

// Measures a row of bubbles in a rectified greyscale crop against its paper image
// (PaperImage), or when `paper` is empty against the paper on a ring just outside each bubble:
// `centers` and `radius` in crop pixels. Scores against the row's own median;
// ScoreBubbleRow re-scores against a page baseline.
BubbleRow MeasureBubbleRow(const cv::Mat& grey, const cv::Mat& paper,
                           const std::array<cv::Point2f, 10>& centers, float radius,
                           const OmrOptions& opt = {});

// The evidence of one digit box: the CNN's probabilities, or "empty".
struct BoxEvidence {
  bool empty = true;
  std::array<float, 10> prob{};  // CNN softmax (valid when !empty)
};

// The per-number reading.
struct NumberEvidence {
  std::array<BoxEvidence, 3> boxes;  // [0] hundreds, [1] tens, [2] ones
  std::array<BubbleRow, 3> rows;     // same order
  bool no_bubbles = false;           // the number has no bubbles (KPU page 3): rows unused
};

struct NumberReading {
  Value ocr = kMissing;      // digit boxes alone (most probable value), kMissing if unusable
  double ocr_p = 0;          // its probability under the CNN alone
  Value omr = kMissing;      // bubbles alone, kMissing if a row is empty/unclear/double
  double ocr_p_of_omr = 0;   // the CNN's probability of `omr` (0 if omr is kMissing)
  bool double_marked = false;
  bool omr_empty = false;    // no bubble of the number is marked at all
  bool blank = false;        // all three digit boxes empty
  std::vector<std::pair<Value, double>> hypotheses;  // combined, most probable first
  std::vector<std::pair<Value, double>> ocr_hypotheses;  // digit boxes alone, most probable first
  std::array<BubbleRow, 3> rows;
};

// Whether the bubbles are compatible with `v`: every row either confirms its digit (a leading
// row: 0 or nothing) with a single clear mark, or is empty or has the digit among several marks
// (then counted in `*unconfirmed`). False if some row's marks exclude the digit.
bool OmrCompatible(const NumberReading& n, Value v, int* unconfirmed);

// The disc a bubble is measured by, as a share of the bubble's radius (inside the printed outline).
constexpr double kInnerDisc = 0.72;

// The grey level of 8-bit `img` at (x, y), interpolated bilinearly; *ok = false (and 0) when
// the 2x2 neighbourhood leaves the image.
double SampleBilinear(const cv::Mat& img, double x, double y, bool* ok);

// The same, sampled straight from the photo through homography H (layout mm -> photo px): a
// grid of ~50 points on each bubble's inner disc, 16 on a ring around it for the paper.
BubbleRow MeasureBubbleRowDirect(const cv::Mat& grey, const cv::Matx33d& H,
                                 const std::array<Rect, 10>& bubbles, const OmrOptions& opt = {});

// (Re)computes a measured row's scores, marks and likelihoods against `baseline` (per value:
// the ink share of an unmarked bubble, e.g. its printed label) raised by the row's median
// above it (0 .. OmrOptions::clear), or against the row's own median when null.
void ScoreBubbleRow(BubbleRow* row, const std::array<double, 10>* baseline, const OmrOptions& opt = {});

// Per value, the median ink share over all the rows of a page: an unmarked bubble's printed
// label and outline (each value's label recurs in every row; few rows mark any given value).
std::array<double, 10> PageBubbleBaseline(const std::vector<const BubbleRow*>& rows);

// Combines boxes and bubbles over every value 0..max_value. Leading positions may be blank
// boxes or a written 0, and unmarked rows or a marked 0. Keeps the `k` most probable values.
NumberReading CombineNumber(const NumberEvidence& e, Value max_value, int k);

}  // namespace rekap::reader
