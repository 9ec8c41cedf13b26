// rekap reader: the tally grid, read coarsely (see tally.h).
#include "reader/tally.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <opencv2/imgproc.hpp>

namespace rekap::reader {

namespace {

cv::Point2d Map(const cv::Matx33d& H, double x, double y) {
  const cv::Vec3d p = H * cv::Vec3d(x, y, 1);
  return {p[0] / p[2], p[1] / p[2]};
}

double Median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Upright strokes in one cell's column profile `col` (mean darkness per column): runs of
// columns at least `stroke` x the highest column above the median. Returns the runs' widths in
// px, or nothing when some run is faint (between `faint` and `stroke` x the highest) or has two
// maxima, so the count would be a guess.
std::optional<std::vector<int>> Uprights(const std::vector<double>& col, double px_per_mm, const TallyOptions& opt) {
  if (col.size() < 3) return std::nullopt;
  const double med = Median(col);
  // Smoothed over about 0.3 mm, so pixel noise does not split a stroke.
  const int r = std::max(0, int(std::lround(0.15 * px_per_mm)));
  std::vector<double> e(col.size());
  for (size_t x = 0; x < col.size(); ++x) {
    double sum = 0;
    int n = 0;
    for (int d = -r; d <= r; ++d) {
      const long i = long(x) + d;
      if (i < 0 || i >= long(col.size())) continue;
      sum += col[size_t(i)];
      ++n;
    }
    e[x] = std::max(0.0, sum / n - med);
  }
  const double top = *std::max_element(e.begin(), e.end());
  if (!(top > 0)) return std::nullopt;
  std::vector<int> widths;
  for (size_t x = 0; x < e.size();) {
    if (e[x] < opt.faint * top) {
      ++x;
      continue;
    }
    size_t end = x;
    double peak = 0;
    while (end < e.size() && e[end] >= opt.faint * top) peak = std::max(peak, e[end++]);
    if (peak < opt.stroke * top) return std::nullopt;  // a faint stroke: counting would guess
    // Two strokes run together: two maxima in one run with a dip under 0.6 x either between.
    constexpr double kDip = 0.6;
    double rise = 0, dip = peak;
    for (size_t i = x; i < end; ++i) {
      if (rise >= opt.stroke * top && e[i] < kDip * rise) dip = std::min(dip, e[i]);
      if (dip < peak && e[i] >= opt.stroke * top && e[i] > dip / kDip) return std::nullopt;
      rise = std::max(rise, e[i]);
    }
    widths.push_back(int(end - x));
    x = end;
  }
  return widths;
}

}  // namespace

TallyReading MeasureTally(const cv::Mat& grey, const cv::Matx33d& H, const TallyGrid& g,
                          const TallyOptions& opt) {
  TallyReading out;
  if (grey.empty() || grey.type() != CV_8UC1 || g.rows <= 0 || g.cols <= 0 || g.box.w <= 0 ||
      g.box.h <= 0) {
    out.problem = "unclear";
    return out;
  }
  // The photo's resolution over the grid: the mapped length of its diagonal.
  const cv::Point2d a = Map(H, g.box.x, g.box.y), b = Map(H, g.box.right(), g.box.bottom());
  const cv::Point2d c = Map(H, g.box.right(), g.box.y), d = Map(H, g.box.x, g.box.bottom());
  const double diag_mm = std::hypot(g.box.w, g.box.h);
  const double px_per_mm = 0.5 * (cv::norm(b - a) + cv::norm(c - d)) / diag_mm;
  if (!std::isfinite(px_per_mm) || px_per_mm <= 0) {
    out.problem = "unclear";
    return out;
  }
  const double s = std::clamp(px_per_mm, 1.0, 4.0);
  const int w = std::max(1, int(std::lround(g.box.w * s))), h = std::max(1, int(std::lround(g.box.h * s)));
  if (double(w) * h > 4e6) {
    out.problem = "unclear";
    return out;
  }
  const cv::Matx33d T(1 / s, 0, g.box.x + 0.5 / s, 0, 1 / s, g.box.y + 0.5 / s, 0, 0, 1);
  cv::Mat grid;
  cv::warpPerspective(grey, grid, cv::Mat(H * T), cv::Size(w, h), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                      cv::BORDER_REPLICATE);
  // The paper under the strokes: the grid with every dark line narrower than 2.5 mm lifted
  // (a grey-level dilation), smoothed. Shadows and light gradients cancel out against it.
  cv::Mat paper;
  {
    const int k = std::max(3, int(std::lround(2.5 * s)) | 1);
    cv::dilate(grid, paper, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(k, k)));
    cv::blur(paper, paper, cv::Size(k, k));
  }
  const int n = g.cells();
  out.ink.resize(size_t(n));
  std::vector<std::vector<double>> profiles(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const Rect cell = g.Cell(i);
    const int x0 = int(std::lround((cell.x - g.box.x + opt.inset_mm) * s));
    const int y0 = int(std::lround((cell.y - g.box.y + opt.inset_mm) * s));
    const int x1 = int(std::lround((cell.right() - g.box.x - opt.inset_mm) * s));
    const int y1 = int(std::lround((cell.bottom() - g.box.y - opt.inset_mm) * s));
    const cv::Rect roi = cv::Rect(x0, y0, std::max(1, x1 - x0), std::max(1, y1 - y0)) & cv::Rect(0, 0, w, h);
    if (roi.empty()) continue;
    const cv::Mat m = grid(roi), bg = paper(roi);
    // Column profile: the mean darkness of each column of the interior. An upright stroke is a
    // peak over the column's median whatever the number of strokes; pixel noise averages out
    // over the column's height.
    std::vector<double> col(size_t(m.cols), 0.0);
    for (int y = 0; y < m.rows; ++y) {
      const uint8_t* p = m.ptr<uint8_t>(y);
      const uint8_t* q = bg.ptr<uint8_t>(y);
      for (int x = 0; x < m.cols; ++x) col[size_t(x)] += std::max(0.0, double(q[x] - p[x]) / std::max<int>(1, q[x]));
    }
    for (double& c : col) c /= m.rows;
    profiles[size_t(i)] = col;
    // The score: the columns less those beside the grid's outer frame (frame_inset_mm).
    const int trim = int(std::lround(opt.frame_inset_mm * s));
    const size_t from = i % g.cols == 0 ? size_t(std::clamp(trim, 0, int(col.size()) - 1)) : 0;
    const size_t to = i % g.cols == g.cols - 1 ? size_t(std::max(int(from) + 1, int(col.size()) - trim)) : col.size();
    const std::vector<double> scored(col.begin() + long(from), col.begin() + long(to));
    const double med = Median(scored);
    double peak = 0;
    for (double c : scored) peak = std::max(peak, c - med);
    out.ink[size_t(i)] = float(peak * 100);  // per cent of the light
  }
  // A prefix of inked cells, then empty ones: the split k where every cell before it holds at
  // least `ratio` times the ink of any cell after it (at least `inked`, and the empty cells'
  // noise taken as no less than `noise`). Exactly one such split, or the tally is not read.
  std::vector<float> min_before(size_t(n) + 1), max_after(size_t(n) + 1);
  min_before[0] = std::numeric_limits<float>::infinity();
  for (int i = 0; i < n; ++i) min_before[size_t(i) + 1] = std::min(min_before[size_t(i)], out.ink[size_t(i)]);
  max_after[size_t(n)] = 0;
  for (int i = n - 1; i >= 0; --i) max_after[size_t(i)] = std::max(max_after[size_t(i) + 1], out.ink[size_t(i)]);
  int k = -1, splits = 0;
  for (int j = 0; j <= n; ++j) {
    // No cell inked (no votes): every cell scores under what a stroke would need.
    const double in = j == 0 ? opt.inked : min_before[size_t(j)];
    // Every cell inked (300 votes) has no empty cell to contrast with: its faintest cell must
    // then be `ratio` times what a stroke needs.
    const double after = std::max<double>(j == n ? opt.inked : opt.noise, max_after[size_t(j)]);
    if (in >= opt.inked && in >= opt.ratio * after) {
      k = j;
      ++splits;
    }
  }
  if (splits != 1) {
    out.problem = splits == 0 ? "unclear" : "ambiguous";
    return out;
  }
  out.read = true;
  out.cells = k;
  out.lo = k == 0 ? 0 : g.per_cell * (k - 1) + 1;
  out.hi = g.per_cell * k;
  // The last cell's strokes, when the full cells before it show that strokes are told apart
  // here: each counts per_cell - 1 uprights (the stroke across them is too faint in a column
  // profile to count), with no run much wider than the others (two strokes run together).
  if (opt.count_last && k >= 2 && g.per_cell >= 2 && s >= opt.count_px_per_mm) {
    std::vector<int> full_widths;
    bool clear = true;
    for (int i = 0; i + 1 < k && clear; ++i) {
      const auto w = Uprights(profiles[size_t(i)], s, opt);
      clear = w && int(w->size()) == g.per_cell - 1;
      if (clear) full_widths.insert(full_widths.end(), w->begin(), w->end());
    }
    const auto last = clear ? Uprights(profiles[size_t(k) - 1], s, opt) : std::nullopt;
    if (last && !last->empty() && int(last->size()) <= g.per_cell - 1) {
      std::nth_element(full_widths.begin(), full_widths.begin() + full_widths.size() / 2, full_widths.end());
      const double typical = full_widths[full_widths.size() / 2];
      const bool merged = std::any_of(last->begin(), last->end(), [&](int w) { return w > opt.wide * typical; });
      if (!merged) {
        const int u = int(last->size());
        out.last_uprights = u;
        out.lo = g.per_cell * (k - 1) + u;
        out.hi = u == g.per_cell - 1 ? g.per_cell * k : out.lo;
      }
    }
  }
  return out;
}

}  // namespace rekap::reader
