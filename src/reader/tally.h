// rekap reader: the tally grid of KPU's page 2 ("rincian perolehan suara sah"), read coarsely.
//
// The KPPS draw one stroke per vote as the ballots are read out, in groups of five (turus:
// four upright, one across), one group per cell of the paslon's grid, cell after cell. Counting
// strokes in a photo is fragile; telling a cell with ink from an empty one is not. The cells
// with ink, n of them and a prefix in reading order, say the count lies in
// per_cell * (n - 1) + 1 .. per_cell * n: a third reading of the number, independent of the
// digit boxes and the bubbles, coarse but enough to tell 98 from 8 or 78 (the leading digit of
// a number whose bubble row was left empty). Anything else (ink after an empty cell, a cell
// neither clearly inked nor clearly empty) is "not read", never a guess. The strokes of the
// last cell are counted too, but only where the full cells before it each count four uprights
// by the same measure (TallyOptions::count_last).
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "reader/layout.h"

namespace rekap::reader {

struct TallyOptions {
  // Per cell, the interior (the cell less `inset_mm` on every side, clear of the printed grid)
  // is scored by its column profile: the mean darkness of each column (the share of the
  // paper's light absorbed, the paper estimated under the strokes), its highest column above
  // the median, in per cent. An upright stroke scores the same alone or with three others;
  // shadows and gradients cancel out. Measured on 200 synthetic photos (seed 41): empty cells
  // mostly under 2, cells with strokes mostly over 5.
  double inset_mm = 2.0;
  double inked = 1.0;   // a cell with strokes scores at least this
  double ratio = 2.0;   // ... and at least this times any empty cell after it
  double noise = 0.5;   // empty cells are taken to score at least this
  // The grid's outer frame on KPU's pages is a dark rule 0.85-0.93 mm wide (its cell rules are
  // light grey): on a blurred photo its tail reaches past `inset_mm` into the cells along it, and
  // an empty one there scored like a faint stroke (validation seed 9: empty cells of the first
  // and last columns 1.55 / 1.59 on the grids not read, 0.9-1.3 elsewhere). Their score leaves
  // out this much more beside the frame. Their strokes are still counted over the whole
  // interior (count_last), as every other cell's.
  double frame_inset_mm = 1.0;
  // The last inked cell's upright strokes are counted (narrowing the range to one count, or to
  // 4..5 for four uprights, whose fifth stroke across may be there or not) only when every
  // earlier cell, each a full group, counts exactly four uprights the same way: the photo shows
  // strokes apart clearly enough. A stroke is a run of columns at least `stroke` times the
  // cell's highest column (above its median); every run between `faint` and `stroke` times it,
  // or wider than `wide` times the full cells' median run, makes the count unclear.
  bool count_last = true;
  double stroke = 0.4;
  double faint = 0.2;
  double wide = 1.5;
  // Upright strokes stand 2-3 mm apart: below this resolution two of them may run together.
  double count_px_per_mm = 1.5;
};

struct TallyReading {
  bool read = false;        // the inked cells are a clear prefix of the grid
  int cells = 0;            // cells with ink (when read)
  int lo = 0, hi = 0;       // the counts the tally allows (when read): 0..0 or per*(n-1)+1..per*n,
                            // narrowed when the last cell's strokes are counted
  int last_uprights = 0;    // upright strokes counted in the last inked cell (1..4); 0: not counted
  std::vector<float> ink;   // per cell, its score (diagnostics)
  std::string problem;      // when not read: "unclear" (no clear split) or "ambiguous" (several)
  bool Allows(int v) const { return read && v >= lo && v <= hi; }
};

// Measures the grid `g` in `grey` through the homography H (layout mm -> px of grey), sampling
// at about the photo's own resolution (at most 4 px/mm).
TallyReading MeasureTally(const cv::Mat& grey, const cv::Matx33d& H, const TallyGrid& g,
                          const TallyOptions& opt = {});

}  // namespace rekap::reader
