// rekap reader: the print of a page that does not lie flat, found patch by patch (register.h).
#include "reader/register.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "reader/render.h"

namespace rekap::reader {

namespace {

// The drawing's scale: about half a megapixel for the page (2 px per mm on our A3, 0.96 on
// KPU's plano), enough for its 0.3-1 mm lines blurred a little, and cheap to search.
double DrawingScale(const PageLayout& L) {
  return std::clamp(std::sqrt(5e5 / std::max(1.0, L.width_mm * L.height_mm)), 0.5, 3.0);
}

// How dark the print is against the paper around it, 0 (paper) to 1, blurred by half a
// millimetre so that a line a pixel off still overlaps itself. The paper is the brightest
// within 3 mm (the photo's light changes across the page; a filled bubble or a digit's stroke
// is narrower than that), smoothed.
cv::Mat Ink(const cv::Mat& gray, double s) {
  cv::Mat g;
  gray.convertTo(g, CV_32F);
  const int k = std::max(3, int(std::lround(3 * s)) | 1);
  cv::Mat paper;
  cv::dilate(g, paper, cv::getStructuringElement(cv::MORPH_RECT, {k, k}));
  cv::GaussianBlur(paper, paper, {0, 0}, 1.5 * s);
  cv::Mat ink = paper - g;
  cv::max(paper, 1.0, paper);
  cv::divide(ink, paper, ink);
  cv::threshold(ink, ink, 1.0, 1.0, cv::THRESH_TRUNC);
  cv::max(ink, 0.0, ink);
  cv::GaussianBlur(ink, ink, {0, 0}, std::max(0.5, 0.5 * s));
  return ink;
}

// The layout drawn as printed (render.h; without its QR code, which differs per TPS), as Ink,
// at DrawingScale. Cached per layout: drawing our A3 takes some tens of milliseconds.
std::shared_ptr<const cv::Mat> Drawing(const PageLayout& L) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const cv::Mat>> cache;
  const std::string key = ToJson(L).dump();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  PageLayout plain = L;
  plain.qr.reset();
  const double s = DrawingScale(L);
  auto img = RenderPageImage(plain, RenderInput{}, s);
  if (!img.ok()) return nullptr;
  cv::Mat gray;
  cv::cvtColor(*img, gray, cv::COLOR_BGR2GRAY);
  auto ink = std::make_shared<const cv::Mat>(Ink(gray, s));
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= 16) cache.clear();  // a server reads few layouts; bounded all the same
  cache.emplace(key, ink);
  return ink;
}

// A patch of the drawing found in the photo: at page point `at` (mm) the print lies `d` mm off;
// `wx`, `wy` (0-1) how sharply the match pins each direction (a patch of long horizontal
// rules says little about x).
struct Match {
  cv::Point2d at, d;
  double wx = 1, wy = 1;
};

// The least-squares field on a grid of nodes through the matches (bilinear), each direction
// on its own with its weights, held smooth by second differences between neighbouring nodes
// (weight `smooth` against a sure match's 1), so that a node without matches nearby follows its
// neighbours, and barely held to no move (a node nothing reaches).
void FitGrid(const std::vector<Match>& m, const std::vector<uint8_t>& use, double smooth,
             PageField* f) {
  const int nx = f->nx, ny = f->ny, n = nx * ny;
  const double cw = f->width_mm / (nx - 1), ch = f->height_mm / (ny - 1);
  f->node.assign(size_t(n), {0, 0});
  for (int axis = 0; axis < 2; ++axis) {
    int rows = std::max(0, nx - 2) * ny + nx * std::max(0, ny - 2) + n;
    for (size_t k = 0; k < m.size(); ++k) rows += use[k] && (axis == 0 ? m[k].wx : m[k].wy) > 0;
    cv::Mat A = cv::Mat::zeros(rows, n, CV_64F), B = cv::Mat::zeros(rows, 1, CV_64F);
    int r = 0;
    for (size_t k = 0; k < m.size(); ++k) {
      const double w = axis == 0 ? m[k].wx : m[k].wy;
      if (!use[k] || !(w > 0)) continue;
      const double gx = std::clamp(m[k].at.x / cw, 0.0, nx - 1.000001);
      const double gy = std::clamp(m[k].at.y / ch, 0.0, ny - 1.000001);
      const int x0 = int(gx), y0 = int(gy);
      const double fx = gx - x0, fy = gy - y0;
      A.at<double>(r, y0 * nx + x0) = w * (1 - fx) * (1 - fy);
      A.at<double>(r, y0 * nx + x0 + 1) = w * fx * (1 - fy);
      A.at<double>(r, (y0 + 1) * nx + x0) = w * (1 - fx) * fy;
      A.at<double>(r, (y0 + 1) * nx + x0 + 1) = w * fx * fy;
      B.at<double>(r, 0) = w * (axis == 0 ? m[k].d.x : m[k].d.y);
      ++r;
    }
    for (int y = 0; y < ny; ++y)
      for (int x = 1; x + 1 < nx; ++x, ++r) {
        A.at<double>(r, y * nx + x - 1) = smooth;
        A.at<double>(r, y * nx + x) = -2 * smooth;
        A.at<double>(r, y * nx + x + 1) = smooth;
      }
    for (int y = 1; y + 1 < ny; ++y)
      for (int x = 0; x < nx; ++x, ++r) {
        A.at<double>(r, (y - 1) * nx + x) = smooth;
        A.at<double>(r, y * nx + x) = -2 * smooth;
        A.at<double>(r, (y + 1) * nx + x) = smooth;
      }
    for (int k = 0; k < n; ++k, ++r) A.at<double>(r, k) = 1e-3;
    cv::Mat X;
    if (!cv::solve(A, B, X, cv::DECOMP_QR)) continue;
    for (int k = 0; k < n; ++k)
      (axis == 0 ? f->node[size_t(k)].x : f->node[size_t(k)].y) = X.at<double>(k, 0);
  }
}

// How far match k lies off the field, in the directions it pins.
double Residual(const PageField& f, const Match& m) {
  const cv::Point2d r = f.At(m.at) - m.d;
  return std::max(m.wx > 0.2 ? std::abs(r.x) : 0.0, m.wy > 0.2 ? std::abs(r.y) : 0.0);
}

// The field through `m` on nx x ny nodes: three rounds, each dropping the matches far off the
// field of the round before (a patch matched onto a look-alike: more than `tol` mm and 3 times
// the median off). False when fewer than `min_kept` matches, or under half of them, stay.
bool FitField(const std::vector<Match>& m, int nx, int ny, double smooth, double tol, int min_kept,
              PageField* f) {
  f->nx = std::max(2, nx);
  f->ny = std::max(2, ny);
  std::vector<uint8_t> use(m.size(), 1);
  if (int(m.size()) < min_kept) return false;
  for (int round = 0; round < 3; ++round) {
    FitGrid(m, use, smooth, f);
    std::vector<double> kept;
    for (size_t k = 0; k < m.size(); ++k)
      if (use[k]) kept.push_back(Residual(*f, m[k]));
    if (kept.empty()) return false;
    std::nth_element(kept.begin(), kept.begin() + std::ptrdiff_t(kept.size() / 2), kept.end());
    const double limit = std::max(tol, 3 * kept[kept.size() / 2]);
    for (size_t k = 0; k < m.size(); ++k) use[k] = Residual(*f, m[k]) <= limit;
  }
  f->kept = int(std::count(use.begin(), use.end(), uint8_t{1}));
  if (f->kept < min_kept || 2 * f->kept < int(m.size())) return false;
  FitGrid(m, use, smooth, f);
  f->max_mm = 0;
  for (size_t k = 0; k < m.size(); ++k)
    if (use[k]) f->max_mm = std::max(f->max_mm, cv::norm(m[k].d));
  return true;
}

// The drawing's patches (`patch_mm` square, `step_mm` apart) found in the photo `I` (both Ink at
// `s` px per mm), each within `reach_mm` of where `prior` puts it (no prior: where it is
// drawn). `unique`: the best offset must beat every other more than 3 mm from it by 0.02 (a
// wide search could land on a look-alike). `patches` gets the patches with print enough.
std::vector<Match> MatchPatches(const cv::Mat& T, const cv::Mat& I, double s, double patch_mm,
                                double step_mm, double reach_mm, const PageField* prior,
                                bool unique, int* patches) {
  const double W = T.cols / s, Hh = T.rows / s;
  const int P = std::max(8, int(std::lround(patch_mm * s))),
            R = std::max(2, int(std::lround(reach_mm * s)));
  const int cols = std::max(1, int(std::floor((W - patch_mm) / step_mm)) + 1);
  const int rows = std::max(1, int(std::floor((Hh - patch_mm) / step_mm)) + 1);
  const double x_first = (W - (cols - 1) * step_mm) / 2, y_first = (Hh - (rows - 1) * step_mm) / 2;
  const int exclude = std::max(2, int(std::lround(3.0 * s)));
  const int k = std::max(1, int(std::lround(1.0 * s)));  // 1 mm: how sharp the peak is
  std::vector<Match> out;
  *patches = 0;
  for (int gy = 0; gy < rows; ++gy)
    for (int gx = 0; gx < cols; ++gx) {
      const cv::Point2d c(x_first + gx * step_mm, y_first + gy * step_mm);
      const cv::Rect tr(int(std::lround(c.x * s)) - P / 2, int(std::lround(c.y * s)) - P / 2, P, P);
      if ((tr & cv::Rect(0, 0, T.cols, T.rows)) != tr) continue;
      const cv::Mat tpl = T(tr);
      cv::Scalar mean, sd;
      cv::meanStdDev(tpl, mean, sd);
      if (sd[0] < 0.04) continue;  // too little print to find
      ++*patches;
      const cv::Point2d p0 = prior != nullptr ? prior->At(c) : cv::Point2d(0, 0);
      const cv::Point shift(int(std::lround(p0.x * s)), int(std::lround(p0.y * s)));
      const cv::Rect sr(tr.x + shift.x - R, tr.y + shift.y - R, P + 2 * R, P + 2 * R);
      if ((sr & cv::Rect(0, 0, I.cols, I.rows)) != sr) continue;  // at the page's edge: skipped
      cv::Mat score;
      cv::matchTemplate(I(sr), tpl, score, cv::TM_CCOEFF_NORMED);
      double best = 0;
      cv::Point loc;
      cv::minMaxLoc(score, nullptr, &best, nullptr, &loc);
      if (!(best >= 0.3)) continue;
      // Not at the search's edge (the print may be farther off).
      if (loc.x < k || loc.y < k || loc.x + k >= score.cols || loc.y + k >= score.rows) continue;
      if (unique) {
        cv::Mat masked = score.clone();
        cv::circle(masked, loc, exclude, cv::Scalar(-1), cv::FILLED);
        double second = 0;
        cv::minMaxLoc(masked, nullptr, &second);
        if (second > best - 0.02) continue;
      }
      auto at = [&](int x, int y) { return double(score.at<float>(y, x)); };
      // How much the score falls 1 mm to either side in each direction: a match sliding along
      // its lines pins only the other direction.
      const double fall_x = best - std::max(at(loc.x - k, loc.y), at(loc.x + k, loc.y));
      const double fall_y = best - std::max(at(loc.x, loc.y - k), at(loc.x, loc.y + k));
      Match m;
      m.wx = std::clamp((fall_x - 0.005) / 0.03, 0.0, 1.0);
      m.wy = std::clamp((fall_y - 0.005) / 0.03, 0.0, 1.0);
      if (m.wx == 0 && m.wy == 0) continue;
      // Sub-pixel: a parabola through the peak and its neighbours in each direction.
      auto vertex = [](double a, double b, double c2) {
        const double den = a - 2 * b + c2;
        return std::abs(den) > 1e-9 ? std::clamp(0.5 * (a - c2) / den, -0.5, 0.5) : 0.0;
      };
      const double sx = vertex(at(loc.x - 1, loc.y), best, at(loc.x + 1, loc.y));
      const double sy = vertex(at(loc.x, loc.y - 1), best, at(loc.x, loc.y + 1));
      m.at = c;
      m.d = {(loc.x + sx - R + shift.x) / s, (loc.y + sy - R + shift.y) / s};
      out.push_back(m);
    }
  return out;
}

}  // namespace

cv::Point2d PageField::At(const cv::Point2d& p) const {
  if (nx < 2 || ny < 2 || node.size() != size_t(nx) * size_t(ny) || !std::isfinite(p.x) || !std::isfinite(p.y) ||
      !(width_mm > 0) || !(height_mm > 0))
    return {0, 0};
  const double gx = std::clamp(p.x / width_mm * (nx - 1), 0.0, nx - 1.000001);
  const double gy = std::clamp(p.y / height_mm * (ny - 1), 0.0, ny - 1.000001);
  const int x0 = int(gx), y0 = int(gy);
  const double fx = gx - x0, fy = gy - y0;
  auto n = [&](int x, int y) { return node[size_t(y * nx + x)]; };
  return n(x0, y0) * ((1 - fx) * (1 - fy)) + n(x0 + 1, y0) * (fx * (1 - fy)) +
         n(x0, y0 + 1) * ((1 - fx) * fy) + n(x0 + 1, y0 + 1) * (fx * fy);
}

std::optional<PageField> FieldFromPrint(const cv::Mat& work, const cv::Matx33d& H,
                                        const PageLayout& L) {
  if (work.empty() || work.type() != CV_8UC1 || L.width_mm <= 0 || L.height_mm <= 0)
    return std::nullopt;
  const std::shared_ptr<const cv::Mat> drawing = Drawing(L);
  if (drawing == nullptr || drawing->empty()) return std::nullopt;
  const cv::Mat& T = *drawing;
  const double s = DrawingScale(L);
  // The photo on the drawing's pixels: drawing px -> mm -> work px.
  const cv::Matx33d M = H * cv::Matx33d(1 / s, 0, 0, 0, 1 / s, 0, 0, 0, 1);
  cv::Mat on_page;
  try {
    cv::warpPerspective(work, on_page, cv::Mat(M), T.size(),
                        cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT,
                        cv::Scalar(255));
  } catch (const cv::Exception&) {
    return std::nullopt;
  }
  const cv::Mat I = Ink(on_page, s);
  PageField f;
  f.width_mm = L.width_mm;
  f.height_mm = L.height_mm;
  const double side = std::min(L.width_mm, L.height_mm);
  // First, patches of a third of the page's shorter side (200 mm on KPU's plano, 100 on our
  // A3) at half the drawing's scale, searched up to 2.5 % of the page's diagonal (27 and 13 mm):
  // so much print does not repeat, and the field they give is coarse and sure (3 x 4 nodes or
  // so, held smooth).
  cv::Mat T2, I2;
  cv::pyrDown(T, T2);
  cv::pyrDown(I, I2);
  const double s2 = s * T2.cols / double(T.cols);
  const double big = side / 3, reach = 0.025 * std::hypot(L.width_mm, L.height_mm);
  int patches = 0;
  const std::vector<Match> coarse =
      MatchPatches(T2, I2, s2, big, big / 2, reach, nullptr, true, &patches);
  // The field, where the homography through the page's marks holds, moves them little.
  auto at_marks = [&](PageField x) {
    x.marks_mm = 0;
    for (const Fiducial& m : L.fiducials)
      x.marks_mm = std::max(x.marks_mm, cv::norm(x.At({m.box.cx(), m.box.cy()})));
    return x;
  };
  PageField c = f;
  constexpr int kMinCoarse = 6;
  if (!FitField(coarse, int(std::lround(L.width_mm / big)) + 1,
                int(std::lround(L.height_mm / big)) + 1, 1.0, 1.5, kMinCoarse, &c))
    return std::nullopt;
  // Then finer: patches of a sixth (96 and 48 mm), each within 4 mm of where the coarse field
  // puts it, and of a tenth (60 and 30 mm) within 2 mm of the field of the sixths; nodes about
  // a patch apart. The bend changes across a patch; smaller patches follow it closer.
  PageField f6 = f;
  const double sixth = side / 6, tenth = side / 10;
  const std::vector<Match> m6 =
      MatchPatches(T, I, s, sixth, sixth / 2, 4.0, &c, false, &f6.patches);
  f6.matched = int(m6.size());
  constexpr int kMinFine = 12;
  if (!FitField(m6, int(std::lround(L.width_mm / sixth)) + 1,
                int(std::lround(L.height_mm / sixth)) + 1, 0.5, 1.0, kMinFine, &f6))
    return at_marks(c);  // the coarse field alone
  const std::vector<Match> m10 =
      MatchPatches(T, I, s, tenth, tenth / 2, 2.0, &f6, false, &f.patches);
  f.matched = int(m10.size());
  if (!FitField(m10, int(std::lround(L.width_mm / tenth)) + 1,
                int(std::lround(L.height_mm / tenth)) + 1, 0.5, 1.0, kMinFine, &f))
    return at_marks(f6);
  return at_marks(f);
}

}  // namespace rekap::reader
