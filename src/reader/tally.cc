// rekap reader: the tally grid, read coarsely (see tally.h).
#include "reader/tally.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <opencv2/imgproc.hpp>

namespace rekap::reader {

namespace {

cv::Point2d Map(const cv::Matx33d& H, double x, double y) {
  const cv::Vec3d p = H * cv::Vec3d(x, y, 1);
  return {p[0] / p[2], p[1] / p[2]};
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
    std::vector<double> sorted = col;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    const double med = sorted[sorted.size() / 2];
    double peak = 0;
    for (double c : col) peak = std::max(peak, c - med);
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
    const double after = std::max<double>(opt.noise, max_after[size_t(j)]);
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
  return out;
}

}  // namespace rekap::reader
