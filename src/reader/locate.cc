// rekap reader: finding the page in a photo (corner markers, checkers, homography, the
// alignment of a page that does not lie flat). See read_internal.h and docs/reader.md.
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

#include <opencv2/aruco.hpp>
#include <opencv2/calib3d.hpp>

#include "reader/omr.h"
#include "reader/render.h"

namespace rekap::reader::detail {

// A combination of corner checkers fitting at least this well is refined (LocateKpu).
constexpr double kRefineFrom = 0.4;
// The alignment of a page that does not lie flat (read_internal.h, before kAlignFrom): each
// number moved by up to kAlignMaxMm; for a homography that fits under kRealignBelow.
constexpr double kAlignMaxMm = 4.0;
constexpr double kRealignBelow = 0.9;
// On KPU's page, how many of the best-fitting checker combinations are tried aligned.
constexpr size_t kAlignCombinations = 3;
// On KPU's page, a combination of the checkers found as blobs that fits this well once aligned
// is taken without the checker search (which could only find the same checkers again, at
// 40-100 ms); under it the search runs, and its combinations are aligned with these.
constexpr double kBentEarly = kRealignBelow;

// ---------------------------------------------------------------------------------------------
// Finding the page


int DictFor(std::string_view name) {
  if (name == kAprilTag36h11) return cv::aruco::DICT_APRILTAG_36h11;
  if (name == "apriltag_36h10") return cv::aruco::DICT_APRILTAG_36h10;
  return cv::aruco::DICT_4X4_50;
}

cv::Ptr<cv::aruco::DetectorParameters> FastParams() {
  auto p = cv::aruco::DetectorParameters::create();
  p->adaptiveThreshWinSizeMin = 21;
  p->adaptiveThreshWinSizeMax = 21;
  p->adaptiveThreshWinSizeStep = 10;
  p->minMarkerPerimeterRate = 0.06;
  p->cornerRefinementMethod = cv::aruco::CORNER_REFINE_NONE;
  return p;
}

// `rejected`, if given, receives the quads the detector found but could not decode (in
// working px): on a blurred photo the tag's outline survives where its cells do not.
std::vector<Marker> DetectMarkers(const cv::Mat& det, double to_work, int dict_id,
                                  const cv::Ptr<cv::aruco::DetectorParameters>& params,
                                  std::vector<std::array<cv::Point2f, 4>>* rejected = nullptr) {
  std::vector<Marker> out;
  std::vector<std::vector<cv::Point2f>> corners, rej;
  std::vector<int> ids;
  try {
    const auto dict = cv::aruco::getPredefinedDictionary(dict_id);
    cv::aruco::detectMarkers(det, dict, corners, ids, params, rej);
  } catch (const cv::Exception&) {
    return out;
  }
  if (rejected != nullptr)
    for (const auto& q : rej) {
      if (q.size() != 4) continue;
      std::array<cv::Point2f, 4> a;
      for (int k = 0; k < 4; ++k) a[size_t(k)] = q[size_t(k)] * float(to_work);
      rejected->push_back(a);
    }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (corners[i].size() != 4) continue;
    Marker m;
    m.id = ids[i];
    double side = 0;
    for (int k = 0; k < 4; ++k) {
      m.corners[size_t(k)] = corners[i][size_t(k)] * float(to_work);
      side += cv::norm(corners[i][size_t(k)] - corners[i][size_t((k + 1) % 4)]);
    }
    m.side = side / 4 * to_work;
    out.push_back(m);
  }
  return out;
}

// Sub-pixel refinement of marker corners on the working image.
void RefineCorners(const cv::Mat& work, std::vector<cv::Point2f>* pts, double side_px) {
  if (pts->empty()) return;
  const int win = std::clamp(int(side_px / 10), 2, 10);
  try {
    cv::cornerSubPix(work, *pts, cv::Size(win, win), cv::Size(-1, -1),
                     cv::TermCriteria(cv::TermCriteria::EPS + cv::TermCriteria::COUNT, 20, 0.03));
  } catch (const cv::Exception&) {
  }
}

// A quad the detector rejected, read again cell by cell without a hard threshold. Blur
// spreads a 4 mm cell of KPU's AprilTag over its neighbours, so the detector's binarized
// cells come out wrong while the cells' mean darkness still follows the code. The 8 x 8 cells
// (black border and 6 x 6 code) are sampled through the quad's homography (the mean over the
// middle of each cell) and correlated with every code of the dictionary in each of the four
// rotations. The quad is taken as marker `ids[i]` only when that code correlates best, at
// least `min_r`, and better by `min_margin` than any other code or rotation; the page's
// layout fit decides after that whether the homography it gives is right.
struct SoftTag {
  Marker marker;
  double r = 0, runner_up = 0;
};

// Every code of a dictionary in each of its four rotations as the 8 x 8 cells of a marker seen
// upright (border black), centred and scaled to unit length: correlating a quad's centred cell
// darkness with them is a dot product each.
struct CodeTable {
  int cells = 0;
  std::vector<float> rows;  // (id * 4 + rot) * cells^2
};
const CodeTable& CodesOf(int dict_id) {
  static std::mutex mu;
  static std::map<int, CodeTable> tables;
  std::lock_guard<std::mutex> lock(mu);
  auto it = tables.find(dict_id);
  if (it != tables.end()) return it->second;
  CodeTable& t = tables[dict_id];
  const auto dict = cv::aruco::getPredefinedDictionary(dict_id);
  const int n = dict->markerSize, cells = n + 2, nn = cells * cells;
  t.cells = cells;
  t.rows.assign(size_t(dict->bytesList.rows) * 4 * size_t(nn), 0.f);
  for (int id = 0; id < dict->bytesList.rows; ++id) {
    const cv::Mat bits = cv::aruco::Dictionary::getBitsFromByteList(dict->bytesList.rowRange(id, id + 1), n);
    for (int rot = 0; rot < 4; ++rot) {
      float* e = &t.rows[(size_t(id) * 4 + size_t(rot)) * size_t(nn)];
      double mean = 0;
      for (int r = 0; r < cells; ++r)
        for (int c = 0; c < cells; ++c) {
          int rr = r, cc = c;
          for (int k = 0; k < rot; ++k) {  // undo one clockwise quarter turn
            const int tr = cells - 1 - cc, tc = rr;
            rr = tr;
            cc = tc;
          }
          const bool border = rr == 0 || cc == 0 || rr == cells - 1 || cc == cells - 1;
          e[r * cells + c] = border ? 0.f : float(bits.at<uint8_t>(rr - 1, cc - 1));
          mean += e[r * cells + c];
        }
      mean /= nn;
      double ss = 0;
      for (int k = 0; k < nn; ++k) ss += (e[k] - mean) * (e[k] - mean);
      const double inv = ss > 0 ? 1 / std::sqrt(ss) : 0;
      for (int k = 0; k < nn; ++k) e[k] = float((e[k] - mean) * inv);
    }
  }
  return t;
}

// The homography from a marker's grid of cells x cells unit cells (corner k of the marker at
// (0,0), (cells,0), (cells,cells), (0,cells)) to the photo; nullopt for a degenerate quad.
std::optional<cv::Matx33d> CellHomography(const std::array<cv::Point2f, 4>& corners, int cells) {
  const std::vector<cv::Point2f> unit = {{0, 0}, {float(cells), 0}, {float(cells), float(cells)}, {0, float(cells)}};
  try {
    const cv::Mat h = cv::getPerspectiveTransform(unit, std::vector<cv::Point2f>(corners.begin(), corners.end()));
    if (h.empty()) return std::nullopt;
    return cv::Matx33d(h);
  } catch (const cv::Exception&) {
    return std::nullopt;
  }
}

std::optional<SoftTag> SoftDecodeQuad(const cv::Mat& work, const std::array<cv::Point2f, 4>& quad, int dict_id,
                                      const std::vector<int>& ids, double min_r = 0.7, double min_margin = 0.15) {
  const CodeTable& codes = CodesOf(dict_id);
  const int cells = codes.cells, nn = cells * cells;
  // Clockwise in the image (y down), as the detector orders a marker's corners.
  std::array<cv::Point2f, 4> q = quad;
  double area2 = 0;
  for (int k = 0; k < 4; ++k)
    area2 += double(q[size_t(k)].x) * q[size_t((k + 1) % 4)].y - double(q[size_t((k + 1) % 4)].x) * q[size_t(k)].y;
  if (area2 < 0) std::swap(q[1], q[3]);
  // A marker seen at up to 60 degrees of tilt: no side under a third of the longest.
  double lo = 1e18, hi = 0;
  for (int k = 0; k < 4; ++k) {
    const double d = cv::norm(q[size_t(k)] - q[size_t((k + 1) % 4)]);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  if (!(lo >= 3 * cells / 2.0 && lo * 3 >= hi)) return std::nullopt;
  const std::optional<cv::Matx33d> Hc = CellHomography(q, cells);
  if (!Hc) return std::nullopt;
  const cv::Matx33d& H = *Hc;
  std::vector<double> v(static_cast<size_t>(nn));
  for (int r = 0; r < cells; ++r)
    for (int c = 0; c < cells; ++c) {
      double sum = 0;
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
          const cv::Point2d p = Apply(H, c + 0.3 + 0.2 * j, r + 0.3 + 0.2 * i);
          const int x = int(std::floor(p.x)), y = int(std::floor(p.y));
          if (x < 0 || y < 0 || x + 1 >= work.cols || y + 1 >= work.rows) return std::nullopt;
          const double fx = p.x - x, fy = p.y - y;
          sum += (1 - fy) * ((1 - fx) * work.at<uint8_t>(y, x) + fx * work.at<uint8_t>(y, x + 1)) +
                 fy * ((1 - fx) * work.at<uint8_t>(y + 1, x) + fx * work.at<uint8_t>(y + 1, x + 1));
        }
      v[size_t(r * cells + c)] = sum / 9;
    }
  double mean = 0;
  for (double x : v) mean += x;
  mean /= nn;
  double ss = 0;
  for (double& x : v) {
    x -= mean;
    ss += x * x;
  }
  if (!(ss > 0)) return std::nullopt;
  const double inv = 1 / std::sqrt(ss);
  std::vector<float> vf(static_cast<size_t>(nn));
  for (int k = 0; k < nn; ++k) vf[size_t(k)] = float(v[size_t(k)] * inv);
  const size_t variants = codes.rows.size() / size_t(nn);
  auto corr = [&](size_t k) {
    const float* e = &codes.rows[k * size_t(nn)];
    float dot = 0;
    for (int i = 0; i < nn; ++i) dot += vf[size_t(i)] * e[i];
    return double(dot);
  };
  // Only a quad that reads as one of `ids` at min_r can pass: the rest of the dictionary is
  // compared only then (a page's words and boxes give hundreds of quads).
  double best_wanted = -1;
  for (int id : ids)
    for (size_t rot = 0; rot < 4 && id >= 0 && size_t(id) * 4 + rot < variants; ++rot)
      best_wanted = std::max(best_wanted, corr(size_t(id) * 4 + rot));
  if (best_wanted < min_r) return std::nullopt;
  SoftTag best;
  int best_id = -1, best_rot = 0;
  double second = -1;
  for (size_t k = 0; k < variants; ++k) {
    const double dot = corr(k);
    if (dot > best.r) {
      second = std::max(second, best.r);
      best.r = dot;
      best_id = int(k / 4);
      best_rot = int(k % 4);
    } else {
      second = std::max(second, dot);
    }
  }
  best.runner_up = second;
  if (std::find(ids.begin(), ids.end(), best_id) == ids.end() || best.r < min_r || best.r - second < min_margin)
    return std::nullopt;
  best.marker.id = best_id;
  double side = 0;
  for (int k = 0; k < 4; ++k) {
    best.marker.corners[size_t(k)] = q[size_t((k + best_rot) % 4)];
    side += cv::norm(q[size_t(k)] - q[size_t((k + 1) % 4)]);
  }
  best.marker.side = side / 4;
  return best;
}

// The blur at a marker's outer edges (Gaussian sigma, working px): across each side of the
// quad, at three places, the darkness profile from a cell outside (the paper around the tag) to
// half a cell inside (its black border); the distance between 20 % and 80 % of the rise is
// 1.68 sigma for a blurred step. The median of the twelve; 0 if none could be measured.
double MarkerEdgeBlurPx(const cv::Mat& work, const Marker& m, int cells) {
  const std::optional<cv::Matx33d> Hc = CellHomography(m.corners, cells);
  if (!Hc) return 0;
  const cv::Matx33d& H = *Hc;
  constexpr int kSteps = 31;  // u from -1 to +0.5 cells, 0.05 apart
  std::vector<double> widths;
  for (int side = 0; side < 4; ++side)
    for (double t : {0.3, 0.5, 0.7}) {
      const double a = t * cells;
      std::array<double, kSteps> v{};
      std::array<cv::Point2d, kSteps> at{};
      bool inside = true;
      for (int k = 0; k < kSteps && inside; ++k) {
        const double u = -1.0 + 0.05 * k;  // < 0 outside the quad
        const cv::Point2d q = side == 0 ? cv::Point2d(a, u) : side == 1 ? cv::Point2d(cells - u, a)
                              : side == 2 ? cv::Point2d(a, cells - u) : cv::Point2d(u, a);
        at[size_t(k)] = Apply(H, q.x, q.y);
        const int x = int(std::lround(at[size_t(k)].x)), y = int(std::lround(at[size_t(k)].y));
        if (x < 0 || y < 0 || x >= work.cols || y >= work.rows) inside = false;
        else v[size_t(k)] = work.at<uint8_t>(y, x);
      }
      if (!inside) continue;
      double paper = 0;
      for (int k = 0; k < 6; ++k) paper += v[size_t(k)] / 6;
      const double ink = *std::min_element(v.begin() + 20, v.end());
      if (paper - ink < 20) continue;
      auto cross = [&](double level) {  // the first position (in px along the profile) below level
        double dist = 0;
        for (int k = 1; k < kSteps; ++k) {
          const double step = cv::norm(at[size_t(k)] - at[size_t(k - 1)]);
          if (v[size_t(k)] <= level) {
            const double f = (v[size_t(k - 1)] - level) / std::max(1e-9, v[size_t(k - 1)] - v[size_t(k)]);
            return dist + std::clamp(f, 0.0, 1.0) * step;
          }
          dist += step;
        }
        return -1.0;
      };
      const double p20 = cross(paper - 0.2 * (paper - ink)), p80 = cross(paper - 0.8 * (paper - ink));
      if (p20 >= 0 && p80 >= p20) widths.push_back((p80 - p20) / 1.68);
    }
  if (widths.empty()) return 0;
  return Median(std::move(widths));
}

// The blur of the photo itself, where no marker could be measured (a page not found at all):
// the lower quartile of the spread (Gaussian sigma, px) of the strong edges in the photo's
// middle quarter, where the page is when a KPPS frames it (the margins may show a wall or a
// table at another focus). At each edge pixel (a local maximum of the gradient along its direction) the profile
// is followed both ways along the gradient to where it stops rising; a step of height H
// blurred by sigma rises at most H / (sigma sqrt(2 pi)) per px. Edges under 40 levels high are
// left out (JPEG noise, faint print); so is everything on a photo with fewer than 500 edges
// (0: not measured). A thin printed line reads sharper than it is (0.66 sigma), so this errs
// towards calling a photo sharp. docs/reader.md, "Photo sharpness".
double PhotoEdgeBlurPx(const cv::Mat& work) {
  if (work.empty() || work.type() != CV_8UC1 || work.cols < 16 || work.rows < 16) return 0;
  const cv::Mat roi = work(cv::Rect(work.cols / 4, work.rows / 4, work.cols / 2, work.rows / 2));
  cv::Mat f, dx, dy;
  roi.convertTo(f, CV_32F);
  cv::Sobel(f, dx, CV_32F, 1, 0, 3, 1.0 / 8);  // levels per px
  cv::Sobel(f, dy, CV_32F, 0, 1, 3, 1.0 / 8);
  constexpr float kMinSlope = 3;  // levels per px
  constexpr double kMinHeight = 40;
  constexpr int kMaxWalk = 60;
  auto slope = [&](int x, int y) { return std::hypot(dx.at<float>(y, x), dy.at<float>(y, x)); };
  std::vector<double> sigmas;
  for (int y = 2; y < f.rows - 2; ++y)
    for (int x = 2; x < f.cols - 2; ++x) {
      const float gx = dx.at<float>(y, x), gy = dy.at<float>(y, x);
      const float g = std::hypot(gx, gy);
      if (g < kMinSlope) continue;
      const double a = std::atan2(gy, gx);
      const int sx = int(std::lround(std::cos(a))), sy = int(std::lround(std::sin(a)));
      if (slope(x + sx, y + sy) > g || slope(x - sx, y - sy) >= g) continue;
      auto end = [&](int dir) {  // the level where the profile stops rising (falling for dir -1)
        float best = f.at<float>(y, x);
        int xx = x, yy = y, flat = 0;
        for (int k = 0; k < kMaxWalk && flat <= 2; ++k) {
          xx += dir * sx;
          yy += dir * sy;
          if (xx < 0 || yy < 0 || xx >= f.cols || yy >= f.rows) break;
          const float v = f.at<float>(yy, xx);
          if (dir * (v - best) > 0) {
            best = v;
            flat = 0;
          } else {
            ++flat;
          }
        }
        return best;
      };
      const double height = end(+1) - end(-1);
      if (height >= kMinHeight) sigmas.push_back(height / (g * std::sqrt(2 * M_PI)));
    }
  if (sigmas.size() < 500) return 0;
  const auto q = sigmas.begin() + std::ptrdiff_t(sigmas.size() / 4);
  std::nth_element(sigmas.begin(), q, sigmas.end());
  return *q;
}


cv::Mat DetectionImage(const cv::Mat& work, int max_side, double* to_work) {
  const int longer = std::max(work.cols, work.rows);
  if (longer <= max_side) {
    *to_work = 1;
    return work;
  }
  // Halve with pyrDown (cheap, anti-aliased) while more than twice too large, then linear.
  cv::Mat det = work;
  while (std::max(det.cols, det.rows) >= 2 * max_side) {
    cv::Mat half;
    cv::pyrDown(det, half);
    det = half;
  }
  const double g = double(max_side) / std::max(det.cols, det.rows);
  if (g < 1) {
    cv::Mat r;
    cv::resize(det, r, cv::Size(), g, g, cv::INTER_LINEAR);
    det = r;
  }
  *to_work = double(work.cols) / det.cols;
  return det;
}

// Homography from point correspondences (mm -> px) with a robust fit and a sanity check.
bool FitHomography(const std::vector<cv::Point2f>& mm, const std::vector<cv::Point2f>& px,
                   double tol_px, size_t min_inliers, cv::Matx33d* H) {
  if (mm.size() < 4) return false;
  cv::Mat mask;
  cv::Mat h;
  try {
    h = cv::findHomography(mm, px, mm.size() > 4 ? cv::RANSAC : 0, tol_px, mask);
  } catch (const cv::Exception&) {
    return false;
  }
  if (h.empty()) return false;
  if (!mask.empty() && size_t(cv::countNonZero(mask)) < min_inliers) return false;
  if (!mask.empty() && mm.size() > 4) {  // refit on the inliers
    std::vector<cv::Point2f> a, b;
    for (int i = 0; i < mask.rows; ++i)
      if (mask.at<uint8_t>(i)) {
        a.push_back(mm[size_t(i)]);
        b.push_back(px[size_t(i)]);
      }
    try {
      cv::Mat h2 = cv::findHomography(a, b, 0);
      if (!h2.empty()) h = h2;
    } catch (const cv::Exception&) {
    }
  }
  *H = cv::Matx33d(h);
  for (int i = 0; i < 9; ++i)
    if (!std::isfinite((*H).val[i])) return false;
  return true;
}

// Checks a homography maps the page to a plausible convex quadrilateral of sensible size.
bool PlausiblePage(const cv::Matx33d& H, const PageLayout& L, double* px_per_mm, int* rot) {
  std::array<cv::Point2d, 4> c = RectCorners({0, 0, L.width_mm, L.height_mm});
  std::vector<cv::Point2f> q;
  for (const auto& p : c) {
    const cv::Vec3d v = H * cv::Vec3d(p.x, p.y, 1);
    if (v[2] <= 1e-9) return false;  // behind the camera
    q.emplace_back(float(v[0] / v[2]), float(v[1] / v[2]));
  }
  if (!cv::isContourConvex(q)) return false;
  const double area = std::abs(cv::contourArea(q));
  const double s = std::sqrt(area / (L.width_mm * L.height_mm));
  if (!(s > 0.5 && s < 200)) return false;  // px per mm
  *px_per_mm = s;
  const cv::Point2d a = Apply(H, L.width_mm / 2, L.height_mm / 2);
  const cv::Point2d b = Apply(H, L.width_mm / 2 + 10, L.height_mm / 2);
  const double ang = std::atan2(b.y - a.y, b.x - a.x) * 180 / CV_PI;
  *rot = (int(std::lround(ang / 90.0)) % 4 + 4) % 4 * 90;
  return true;
}


namespace {

// One printed feature: `on` points on a printed line, `off` points on the paper beside them
// (page mm).
struct LayoutFeature {
  std::vector<cv::Point2d> on, off;
  int part = 0;  // 0: a digit box edge; 1 + r: a bubble of row r
};

// The features LayoutFit checks, per number: some bubbles of every row (the outline against
// the paper just outside it) and every edge of every digit box.
// The paper beside a line is sampled at least kGapPx away from the line's edge: in a 1,000 px
// photo of KPU's 60 x 90 cm plano (about 1 px per mm) 0.6 mm falls on the blurred line itself.
// kGapPx in mm, at homography H's scale at the page centre.
// A blurred photo spreads a line over a few px: `gap_px` is then wider (LocateKpu's retry).
double GapMm(const cv::Matx33d& H, const PageLayout& L, double gap_px = kGapPx) {
  const double cx = L.width_mm / 2, cy = L.height_mm / 2;
  const cv::Point2d c = Apply(H, cx, cy);
  const double s = 0.5 * (cv::norm(Apply(H, cx + 10, cy) - c) + cv::norm(Apply(H, cx, cy + 10) - c)) / 10;
  return std::isfinite(s) && s > 0 ? gap_px / s : 0;
}

std::vector<std::vector<LayoutFeature>> LayoutFeatures(const cv::Matx33d& H, const PageLayout& L,
                                                      double gap_px = kGapPx) {
  const double gap_mm = GapMm(H, L, gap_px);
  const double bubble_gap = std::max(0.8, gap_mm), edge_gap = std::max(0.6, gap_mm);  // mm
  std::vector<std::vector<LayoutFeature>> out(L.numbers.size());
  for (size_t i = 0; i < L.numbers.size(); ++i) {
    const NumberLayout& num = L.numbers[i];
    for (size_t r = 0; r < num.bubbles.size(); ++r)
      for (size_t v = 0; v < num.bubbles[r].size() && num.has_bubbles; v += 3) {
        const Rect& b = num.bubbles[r][v];
        const double R = b.w / 2;
        LayoutFeature f;
        f.part = int(std::min<size_t>(1 + r, kParts - 1));
        for (int k = 0; k < 8; ++k) {
          const double t = k * CV_PI / 4, c = std::cos(t), s = std::sin(t);
          f.on.emplace_back(b.cx() + c * (R - 0.15), b.cy() + s * (R - 0.15));
          f.off.emplace_back(b.cx() + c * (R + bubble_gap), b.cy() + s * (R + bubble_gap));
        }
        out[i].push_back(std::move(f));
      }
    const double lw = std::max(0.2, num.box_line_mm);
    for (const Rect& b : num.digit_boxes)
      for (int e = 0; e < 4; ++e) {  // top, right, bottom, left
        LayoutFeature f;
        for (double t : {0.3, 0.5, 0.7}) {
          const double x = e == 1 ? b.right() - lw / 2 : e == 3 ? b.x + lw / 2 : b.x + t * b.w;
          const double y = e == 0 ? b.y + lw / 2 : e == 2 ? b.bottom() - lw / 2 : b.y + t * b.h;
          const double dx = e == 1 ? -1 : e == 3 ? 1 : 0, dy = e == 0 ? 1 : e == 2 ? -1 : 0;
          f.on.emplace_back(x, y);
          f.off.emplace_back(x + dx * (lw / 2 + edge_gap), y + dy * (lw / 2 + edge_gap));
        }
        out[i].push_back(std::move(f));
      }
  }
  return out;
}

// One number's features moved by `d` mm: how many are inside the photo and how many fit (the
// printed line darker than the paper beside it by at least 4 % of that paper), and their summed
// contrast (a tie-break between offsets that fit as many).
struct FitCount {
  int features = 0, fitting = 0;
  double contrast = 0;
};
FitCount CountFit(const cv::Mat& work, const cv::Matx33d& H, const std::vector<LayoutFeature>& fs, cv::Point2d d,
                  int part = -1) {
  FitCount n;
  auto sample = [&](const cv::Point2d& p, double* v) {
    const cv::Vec3d q = H * cv::Vec3d(p.x + d.x, p.y + d.y, 1);
    if (!(q[2] > 1e-9)) return false;
    const double px = q[0] / q[2], py = q[1] / q[2];
    if (!(px >= 0 && py >= 0 && px < work.cols - 1 && py < work.rows - 1)) return false;
    *v = work.at<uint8_t>(int(py + 0.5), int(px + 0.5));
    return true;
  };
  for (const LayoutFeature& f : fs) {
    if (part >= 0 && f.part != part) continue;
    double son = 0, soff = 0, v = 0;
    bool inside = true;
    for (const auto& p : f.on) {
      if (!(inside = sample(p, &v))) break;
      son += v;
    }
    for (size_t k = 0; inside && k < f.off.size(); ++k) {
      if (!(inside = sample(f.off[k], &v))) break;
      soff += v;
    }
    if (!inside) continue;
    son /= double(f.on.size());
    soff /= double(f.off.size());
    ++n.features;
    n.fitting += soff - son >= 0.04 * soff;
    n.contrast += (soff - son) / std::max(1.0, soff);
  }
  return n;
}

// The largest offset number `num` may be moved by: under half the pitch of its bubbles (or of
// its digit boxes), and at most kAlignMaxMm.
double AlignRadius(const NumberLayout& num) {
  double pitch = num.digit_boxes.size() > 1 ? std::abs(num.digit_boxes[1].cx() - num.digit_boxes[0].cx()) : 10;
  if (num.has_bubbles && !num.bubbles.empty() && num.bubbles[0].size() > 1) {
    const Rect &a = num.bubbles[0][0], &b = num.bubbles[0][1];
    pitch = std::min(pitch, std::hypot(b.cx() - a.cx(), b.cy() - a.cy()));
  }
  return std::min(kAlignMaxMm, 0.45 * pitch);
}

// One pass of the alignment: number by number, the offset (page mm, applied before H) on a
// 0.5 mm grid within each number's radius that fits most of its features (then the most
// contrast, then the smallest), refined once at 0.25 mm; then each part of the number (its
// digit boxes, each bubble row) by a residual of up to 1 mm of its own on a 0.25 mm grid (the
// bend differs across a number a few centimetres wide; 1 mm is under a bubble's half pitch). A
// feature outside the photo at some offset does not fit there. Returns the fitting features;
// `offset` gets each number's per part, `counts` each number's at its whole offset. With
// `part_h` (BendField) each part is searched only by its residual, through its own homography,
// and `offset` gets the residuals.
using PartOffsets = std::array<cv::Point2d, kParts>;
int AlignPass(const cv::Mat& work, const cv::Matx33d& H, const PageLayout& L,
              const std::vector<std::vector<LayoutFeature>>& fs, std::vector<PartOffsets>* offset,
              std::vector<FitCount>* counts,
              const std::vector<std::array<cv::Matx33d, kParts>>* part_h = nullptr,
              const std::vector<cv::Point2d>* start = nullptr) {
  int fitting = 0;
  offset->assign(fs.size(), {});
  counts->assign(fs.size(), {});
  // The best of the offsets `c + (gx, gy) * step` within `R` of the origin (or of `c` when
  // `around`), for `part` (-1: all), starting from `best` at `bd`.
  auto search = [&](size_t i, int part, cv::Point2d c, int n, double step, double R, bool around, FitCount* best,
                    cv::Point2d* bd) {
    const FitCount floor = *best;
    for (int gy = -n; gy <= n; ++gy)
      for (int gx = -n; gx <= n; ++gx) {
        const cv::Point2d d(c.x + gx * step, c.y + gy * step);
        const cv::Point2d from = around ? c : cv::Point2d(0, 0);
        if (std::hypot(d.x - from.x, d.y - from.y) > R + 1e-9) continue;
        const FitCount k = CountFit(work, H, fs[i], d, part);
        if (k.features < floor.features) continue;
        const bool better = k.fitting != best->fitting ? k.fitting > best->fitting
                            : std::abs(k.contrast - best->contrast) > 1e-9
                                ? k.contrast > best->contrast
                                : std::hypot(d.x - from.x, d.y - from.y) < std::hypot(bd->x - from.x, bd->y - from.y);
        if (better) *best = k, *bd = d;
      }
  };
  for (size_t i = 0; i < fs.size(); ++i) {
    if (part_h != nullptr) {  // each part through its own homography, within the residual
      int parts_fitting = 0;
      for (int part = 0; part < kParts; ++part) {
        // The residual search of the passes before, on Hp, stopping at the first row of offsets
        // where every feature fits.
        const cv::Matx33d& Hp = (*part_h)[i][size_t(part)];
        cv::Point2d pd(0, 0);
        FitCount pb = CountFit(work, Hp, fs[i], pd, part);
        const FitCount floor = pb;
        for (int gy = -4; gy <= 4 && pb.fitting < pb.features; ++gy)
          for (int gx = -4; gx <= 4; ++gx) {
            const cv::Point2d d(gx * 0.25, gy * 0.25);
            if (std::hypot(d.x, d.y) > 1.0 + 1e-9) continue;
            const FitCount k = CountFit(work, Hp, fs[i], d, part);
            if (k.features < floor.features) continue;
            const bool better = k.fitting != pb.fitting ? k.fitting > pb.fitting
                                : std::abs(k.contrast - pb.contrast) > 1e-9 ? k.contrast > pb.contrast
                                                                             : std::hypot(d.x, d.y) < std::hypot(pd.x, pd.y);
            if (better) pb = k, pd = d;
          }
        (*offset)[i][size_t(part)] = pd;
        parts_fitting += pb.fitting;
        (*counts)[i].features += pb.features;
        (*counts)[i].fitting += pb.fitting;
      }
      fitting += parts_fitting;
      continue;
    }
    const double R = AlignRadius(L.numbers[i]);
    // `start`: each number searched within its radius of where its neighbours predict it.
    const cv::Point2d s0 = start != nullptr ? (*start)[i] : cv::Point2d(0, 0);
    FitCount best = CountFit(work, H, fs[i], s0);
    cv::Point2d bd = s0;
    if (best.fitting < best.features && start != nullptr) {
      search(i, -1, s0, int(std::floor(R / 0.5)), 0.5, R, true, &best, &bd);
      search(i, -1, bd, 1, 0.25, 0.5, true, &best, &bd);
    } else if (best.fitting < best.features) {
      search(i, -1, {0, 0}, int(std::floor(R / 0.5)), 0.5, R, false, &best, &bd);
      search(i, -1, bd, 1, 0.25, R, false, &best, &bd);
    }
    (*counts)[i] = best;
    int parts_fitting = 0;
    for (int part = 0; part < kParts; ++part) {
      FitCount pb = CountFit(work, H, fs[i], bd, part);
      cv::Point2d pd = bd;
      if (pb.fitting < pb.features) search(i, part, bd, 4, 0.25, 1.0, true, &pb, &pd);
      (*offset)[i][size_t(part)] = pd;
      parts_fitting += pb.fitting;
    }
    fitting += parts_fitting;
  }
  return fitting;
}

// The printed rules (the layout's black frames) within kRuleNearMm of a number's digit boxes,
// as features: pieces of a rule (three points on it, the paper on both sides of it) every
// kRulePieceMm. `across[0]` holds the vertical rules (they place the boxes in x), `across[1]`
// the horizontal ones (in y).
constexpr double kRuleNearMm = 10, kRulePieceMm = 4;
constexpr int kMinRulePieces = 3;  // fewer in one direction: nothing to check there
// A rule is checked in runs of up to this many pieces (20 mm), each at its own offset: a page
// that does not lie flat turns a rule a little against the boxes, not only shifts it.
constexpr size_t kRuleRunPieces = 5;
struct Rule {
  std::vector<LayoutFeature> pieces;
  cv::Point2d normal;  // page mm, unit
};
struct BoxRules {
  std::array<std::vector<Rule>, 2> across;
};
BoxRules RulesNearBoxes(const PageLayout& L, const NumberLayout& num, double gap_mm) {
  BoxRules out;
  Rect near = Union(num.digit_boxes.front(), num.digit_boxes.back());
  near = {near.x - kRuleNearMm, near.y - kRuleNearMm, near.w + 2 * kRuleNearMm, near.h + 2 * kRuleNearMm};
  const double gap = std::max(0.6, gap_mm);
  // One straight rule from a to b (axis-parallel); `vertical` when it runs along y.
  auto add = [&](cv::Point2d a, cv::Point2d b, double lw, bool vertical) {
    const double lo = vertical ? std::max(a.y, near.y) : std::max(a.x, near.x);
    const double hi = vertical ? std::min(b.y, near.bottom()) : std::min(b.x, near.right());
    const double at = vertical ? a.x : a.y;
    if (vertical ? at < near.x || at > near.right() : at < near.y || at > near.bottom()) return;
    Rule rule;
    rule.normal = vertical ? cv::Point2d(1, 0) : cv::Point2d(0, 1);
    const cv::Point2d n = rule.normal * (lw / 2 + gap);
    for (double t = lo + 1; t + 1 <= hi; t += kRulePieceMm) {
      if (rule.pieces.size() == kRuleRunPieces) {  // a run of its own from here
        out.across[vertical ? 0 : 1].push_back(std::move(rule));
        rule.pieces.clear();
      }
      LayoutFeature f;
      for (double u : {-1.0, 0.0, 1.0}) {
        const cv::Point2d on = vertical ? cv::Point2d(at, t + u) : cv::Point2d(t + u, at);
        f.on.push_back(on);
        f.off.push_back(on + n);
        f.off.push_back(on - n);
      }
      rule.pieces.push_back(std::move(f));
    }
    if (!rule.pieces.empty()) out.across[vertical ? 0 : 1].push_back(std::move(rule));
  };
  for (const Frame& fr : L.frames) {
    // Only rules a photo of a few px per mm shows: black and at least 0.5 mm (not a tally grid's
    // grey guides, nor our own form's 0.3 mm grey section lines, which blur away).
    if (fr.gray > 0.2 || fr.line_mm < 0.5) continue;
    const Rect& r = fr.box;
    if (r.h == 0 || r.w > 0) {  // top (the whole rule when it is a horizontal line), bottom
      add({r.x, r.y}, {r.right(), r.y}, fr.line_mm, false);
      if (r.h > 0) add({r.x, r.bottom()}, {r.right(), r.bottom()}, fr.line_mm, false);
    }
    if (r.w == 0 || r.h > 0) {  // left, right
      add({r.x, r.y}, {r.x, r.bottom()}, fr.line_mm, true);
      if (r.w > 0) add({r.right(), r.y}, {r.right(), r.bottom()}, fr.line_mm, true);
    }
  }
  return out;
}

// How many of the pieces of `rules` fit through H, each rule at the best of its own offsets
// across it within kRuleResidualMm (the page bends between two rules a few centimetres apart
// as it does between the parts of a number), and how many are inside the photo.
constexpr double kRuleResidualMm = 1.0;
FitCount CountRules(const cv::Mat& work, const cv::Matx33d& H, const std::vector<Rule>& rules) {
  FitCount total;
  for (const Rule& rule : rules) {
    FitCount best;
    for (double r = -kRuleResidualMm; r <= kRuleResidualMm + 1e-9; r += 0.25) {
      const FitCount c = CountFit(work, H, rule.pieces, rule.normal * r);
      if (c.fitting > best.fitting || (c.fitting == best.fitting && c.features > best.features)) best = c;
    }
    total.features += best.features;
    total.fitting += best.fitting;
  }
  return total;
}

// A number's centre (page mm): of its digit boxes and bubbles.
cv::Point2d NumberCentre(const NumberLayout& n) {
  Rect r = Union(n.digit_boxes[0], n.digit_boxes[2]);
  if (n.has_bubbles)
    for (const auto& row : n.bubbles)
      for (const Rect& b : row) r = Union(r, b);
  return {r.cx(), r.cy()};
}

// Each part's centre (page mm): the mean of its features' points on the print; `count` (may be
// nullptr) gets each part's features. A part without features: its number's centre.
std::vector<std::array<cv::Point2d, kParts>> PartCentres(
    const PageLayout& L, const std::vector<std::vector<LayoutFeature>>& fs,
    std::vector<std::array<int, kParts>>* count = nullptr) {
  std::vector<std::array<cv::Point2d, kParts>> centre(fs.size());
  std::vector<std::array<int, kParts>> n(fs.size(), std::array<int, kParts>{});
  for (size_t i = 0; i < fs.size(); ++i) {
    for (const LayoutFeature& f : fs[i]) {
      cv::Point2d c(0, 0);
      for (const auto& q : f.on) c += q;
      centre[i][size_t(f.part)] += c * (1.0 / double(f.on.size()));
      ++n[i][size_t(f.part)];
    }
    for (int part = 0; part < kParts; ++part)
      centre[i][size_t(part)] = n[i][size_t(part)] == 0
                                    ? NumberCentre(L.numbers[i])
                                    : centre[i][size_t(part)] * (1.0 / n[i][size_t(part)]);
  }
  if (count != nullptr) *count = std::move(n);
  return centre;
}

// Per part, its homography in `h` followed by the shift `off` found for it there (page mm).
std::vector<std::array<cv::Matx33d, kParts>> Shifted(
    const std::vector<std::array<cv::Matx33d, kParts>>& h, const std::vector<PartOffsets>& off) {
  std::vector<std::array<cv::Matx33d, kParts>> out(h.size());
  for (size_t i = 0; i < h.size(); ++i)
    for (int part = 0; part < kParts; ++part) {
      const cv::Point2d d = off[i][size_t(part)];
      out[i][size_t(part)] = h[i][size_t(part)] * cv::Matx33d(1, 0, d.x, 0, 1, d.y, 0, 0, 1);
    }
  return out;
}

// Per part, H times the affine approximation at the part's centre of the displacement `field`
// (page mm -> mm: x -> x + field(x)): its offset there and its derivative.
std::vector<std::array<cv::Matx33d, kParts>> ThroughField(
    const cv::Matx33d& H, const std::vector<std::array<cv::Point2d, kParts>>& centre,
    const std::function<cv::Point2d(const cv::Point2d&)>& field) {
  std::vector<std::array<cv::Matx33d, kParts>> out(centre.size());
  for (size_t i = 0; i < centre.size(); ++i)
    for (int part = 0; part < kParts; ++part) {
      const cv::Point2d c = centre[i][size_t(part)];
      const cv::Point2d f0 = field(c);
      constexpr double e = 1.0;  // mm, for the derivative
      const cv::Point2d fx =
          (field(c + cv::Point2d(e, 0)) - field(c - cv::Point2d(e, 0))) * (0.5 / e);
      const cv::Point2d fy =
          (field(c + cv::Point2d(0, e)) - field(c - cv::Point2d(0, e))) * (0.5 / e);
      // x -> x + f(c) + J (x - c)
      const cv::Matx33d A(1 + fx.x, fy.x, f0.x - fx.x * c.x - fy.x * c.y,  //
                          fx.y, 1 + fy.y, f0.y - fx.y * c.x - fy.y * c.y,  //
                          0, 0, 1);
      out[i][size_t(part)] = H * A;
    }
  return out;
}

// A page that does not lie flat bends more smoothly than its numbers' own offsets say, and
// more than a homography follows: the synthesizer's bend (and a curled sheet) moves the page by
// a field that changes across a number a few centimetres wide. The offsets that fit (each
// part of each number at `off` through H: every feature of it fits) are points of that field at
// the parts' centres; a quartic in x and y (15 terms, least squares; points more than 0.75 mm
// off it dropped and the rest fitted again, three times) describes it. Per part, `part_h`
// gets H times the field's affine approximation at the part's centre (its offset there and its
// derivative), to be searched from by a residual of its own. False when fewer than 30 parts
// fit (a page of few numbers: KPU's page 2 has 12 parts at most). With `prev_h` the parts lie
// where those homographies put them (a later round), moved by `off` from there.
bool BendField(const cv::Mat& work, const cv::Matx33d& H, const PageLayout& L,
               const std::vector<std::vector<LayoutFeature>>& fs, const std::vector<PartOffsets>& off,
               std::vector<std::array<cv::Matx33d, kParts>>* part_h,
               const std::vector<std::array<cv::Matx33d, kParts>>* prev_h = nullptr) {
  const cv::Matx33d Hinv = H.inv();
  constexpr size_t kTerms = 15;
  constexpr int kMinPoints = 30;
  constexpr double kInlierMm = 0.75;
  auto terms = [&](const cv::Point2d& p) {
    const double x = (p.x - L.width_mm / 2) / L.width_mm, y = (p.y - L.height_mm / 2) / L.height_mm;
    return std::array<double, kTerms>{1, x, y, x * x, x * y, y * y, x * x * x, x * x * y, x * y * y, y * y * y,
                                      x * x * x * x, x * x * x * y, x * x * y * y, x * y * y * y, y * y * y * y};
  };
  std::vector<std::array<int, kParts>> count;
  const std::vector<std::array<cv::Point2d, kParts>> centre = PartCentres(L, fs, &count);
  struct Point {
    cv::Point2d at, d;
  };
  std::vector<Point> points;
  for (size_t i = 0; i < fs.size(); ++i) {
    for (int part = 0; part < kParts; ++part) {
      if (count[i][size_t(part)] == 0) continue;
      const cv::Matx33d& Hp = prev_h != nullptr ? (*prev_h)[i][size_t(part)] : H;
      const FitCount c = CountFit(work, Hp, fs[i], off[i][size_t(part)], part);
      if (c.features < 2 || c.fitting < c.features) continue;
      cv::Point2d d = off[i][size_t(part)];
      if (prev_h != nullptr) {  // the part's centre as it lies now, in H's page millimetres
        const cv::Point2d c0 = centre[i][size_t(part)];
        const cv::Vec3d q = Hinv * (Hp * cv::Vec3d(c0.x + d.x, c0.y + d.y, 1));
        if (!(std::abs(q[2]) > 1e-12)) continue;
        d = cv::Point2d(q[0] / q[2], q[1] / q[2]) - c0;
      }
      points.push_back({centre[i][size_t(part)], d});
    }
  }
  std::vector<uint8_t> use(points.size(), 1);
  cv::Mat coef;
  auto field = [&](const cv::Point2d& p) {
    const auto t = terms(p);
    cv::Point2d v(0, 0);
    for (size_t j = 0; j < kTerms; ++j) {
      v.x += t[j] * coef.at<double>(int(j), 0);
      v.y += t[j] * coef.at<double>(int(j), 1);
    }
    return v;
  };
  for (int round = 0; round < 3; ++round) {
    const int n = int(std::count(use.begin(), use.end(), uint8_t{1}));
    if (n < kMinPoints) return false;
    cv::Mat A(n, int(kTerms), CV_64F), B(n, 2, CV_64F);
    int r = 0;
    for (size_t k = 0; k < points.size(); ++k) {
      if (!use[k]) continue;
      const auto t = terms(points[k].at);
      for (size_t j = 0; j < kTerms; ++j) A.at<double>(r, int(j)) = t[j];
      B.at<double>(r, 0) = points[k].d.x;
      B.at<double>(r, 1) = points[k].d.y;
      ++r;
    }
    if (!cv::solve(A, B, coef, cv::DECOMP_SVD)) return false;
    for (size_t k = 0; k < points.size(); ++k) use[k] = cv::norm(field(points[k].at) - points[k].d) <= kInlierMm;
  }
  *part_h = ThroughField(H, centre, field);
  return true;
}


}  // namespace

double LayoutFit(const cv::Mat& work, const cv::Matx33d& H, const PageLayout& L, Alignment* align,
                 double align_from, double gap_px, PrintFields* print_fields) {
  const auto fs = LayoutFeatures(H, L, gap_px);
  int features = 0, fitting = 0;
  for (size_t i = 0; i < fs.size(); ++i) {
    const FitCount c = CountFit(work, H, fs[i], {0, 0});
    features += c.features;
    fitting += c.fitting;
  }
  const double fit = features >= 8 ? double(fitting) / features : 0;
  if (align != nullptr) *align = Alignment{};
  if (align == nullptr || fit >= kRealignBelow || fit < align_from || features < 8) return fit;
  // First pass against H. The offsets of the numbers that fit well then give a homography of
  // their own (the page's smooth part of the bend: RANSAC, 1.5 mm), and a second pass against it
  // catches the numbers the first could not reach within their radius. The better pass is kept.
  std::vector<PartOffsets> off;
  std::vector<FitCount> counts;
  int best = AlignPass(work, H, L, fs, &off, &counts);
  cv::Matx33d base = H;
  std::vector<PartOffsets> best_off = off;
  std::vector<FitCount> best_counts = counts;
  std::vector<cv::Point2f> mm, px;
  for (size_t i = 0; i < fs.size(); ++i) {
    if (counts[i].features == 0 || counts[i].fitting < 0.8 * counts[i].features) continue;
    const cv::Point2d c = NumberCentre(L.numbers[i]);
    const cv::Point2d q = Apply(H, c.x + off[i][0].x, c.y + off[i][0].y);
    mm.emplace_back(float(c.x), float(c.y));
    px.emplace_back(float(q.x), float(q.y));
  }
  if (mm.size() >= 6) {
    const cv::Point2d c = Apply(H, L.width_mm / 2, L.height_mm / 2);
    const double px_per_mm = cv::norm(Apply(H, L.width_mm / 2 + 10, L.height_mm / 2) - c) / 10;
    try {
      cv::Mat h = cv::findHomography(mm, px, cv::RANSAC, std::max(1.0, 1.5 * px_per_mm));
      if (!h.empty()) {
        const cv::Matx33d H2(h);
        std::vector<PartOffsets> off2;
        std::vector<FitCount> counts2;
        const int f2 = AlignPass(work, H2, L, fs, &off2, &counts2);
        if (f2 > best) best = f2, base = H2, best_off = off2, best_counts = counts2;
      }
    } catch (const cv::Exception&) {
    }
  }
  // Propagation: a strong bend (our A4 form at 3 mm) moves numbers further than their radius
  // allows from where the homography puts them, and too few fit for the bend field below. The
  // numbers that fit say where their neighbours are: each number that does not is searched
  // again within its radius of the offset its nearest fitted numbers predict (weighted by
  // inverse distance), while that fits more lines; the field then takes over.
  for (int round = 0; round < 4; ++round) {
    std::vector<cv::Point2d> centre(fs.size()), whole(fs.size());
    std::vector<size_t> fitted;
    for (size_t i = 0; i < fs.size(); ++i) {
      centre[i] = NumberCentre(L.numbers[i]);
      cv::Point2d m(0, 0);
      for (int part = 0; part < kParts; ++part) m += best_off[i][size_t(part)] * (1.0 / kParts);
      whole[i] = m;
      if (best_counts[i].features > 0 && best_counts[i].fitting >= 0.8 * best_counts[i].features) fitted.push_back(i);
    }
    if (fitted.size() < 3 || fitted.size() == fs.size()) break;
    std::vector<cv::Point2d> start(fs.size());
    for (size_t i = 0; i < fs.size(); ++i) {
      if (std::find(fitted.begin(), fitted.end(), i) != fitted.end()) {
        start[i] = whole[i];
        continue;
      }
      std::vector<std::pair<double, size_t>> near;
      for (size_t j : fitted) near.emplace_back(cv::norm(centre[j] - centre[i]), j);
      std::sort(near.begin(), near.end());
      cv::Point2d sum(0, 0);
      double wsum = 0;
      for (size_t k = 0; k < std::min<size_t>(4, near.size()); ++k) {
        const double w = 1 / std::max(1.0, near[k].first);
        sum += whole[near[k].second] * w;
        wsum += w;
      }
      start[i] = sum * (1 / wsum);
    }
    std::vector<PartOffsets> offp;
    std::vector<FitCount> countsp;
    const int fp = AlignPass(work, base, L, fs, &offp, &countsp, nullptr, &start);
    if (Prof().on) std::fprintf(stderr, "  propagation pass: %d fitting, before %d\n", fp, best);
    if (fp <= best) break;
    best = fp, best_off = offp, best_counts = countsp;
  }
  // Third pass: through a smooth field of offsets over the page, where the parts that fit
  // give one (BendField), each part searched again by its residual through the field's map.
  std::vector<std::array<cv::Matx33d, kParts>> part_h, field_h;
  bool use_part_h = false;
  std::vector<PartOffsets> residual = best_off;
  // Through the field of the print itself (FieldFromPrint: the drawn layout found patch by patch
  // in the photo), each part searched again by its residual: a bend that moves the page's
  // middle further than a number's radius (KPU's plano 8 mm off the plane through its corner
  // checkers), on a page of too few numbers for the field of their offsets (KPU's page 2: three).
  // `print_fields`: the fields the page's read may compute or has (nullptr: none).
  double print_bend_mm = -1;
  if (print_fields != nullptr && best < features) {
    if (const std::optional<PageField> pf = print_fields->Get(work, H, L)) {
      const auto print_h = ThroughField(H, PartCentres(L, fs),
                                        [&](const cv::Point2d& p) { return pf->At(p); });
      std::vector<PartOffsets> off4;
      std::vector<FitCount> counts4;
      const int f4 = AlignPass(work, H, L, fs, &off4, &counts4, &print_h);
      if (Prof().on)
        std::fprintf(stderr,
                     "  print field (%d patches, %d matched, %d kept, up to %.1f mm, %.1f at the "
                     "marks): %d fitting, before %d\n",
                     pf->patches, pf->matched, pf->kept, pf->max_mm, pf->marks_mm, f4, best);
      // Or each number searched within its radius around where the field puts its centre
      // (the field a millimetre or two off at a number, as between its patches).
      std::vector<cv::Point2d> start(fs.size());
      for (size_t i = 0; i < fs.size(); ++i) start[i] = pf->At(NumberCentre(L.numbers[i]));
      std::vector<PartOffsets> off5;
      std::vector<FitCount> counts5;
      const int f5 = AlignPass(work, H, L, fs, &off5, &counts5, nullptr, &start);
      if (Prof().on) std::fprintf(stderr, "  print field as a start: %d fitting\n", f5);
      if (f5 > best && f5 >= f4) {
        best = f5, base = H, best_off = off5, best_counts = counts5;
        residual = best_off;
        print_bend_mm = pf->max_mm;
      } else if (f4 > best) {
        best = f4;
        print_bend_mm = pf->max_mm;
        use_part_h = true;
        part_h = Shifted(print_h, off4);
        residual.assign(fs.size(), PartOffsets{});
      }
    }
  }
  // Up to three rounds, each field fitted to where the round before put the parts, while the
  // page fits more lines (our form at 3 mm of bend, seed 70, with a cubic field: 89 pages of
  // 200 accepted after one round, 98 after three, 98 after five; with the quartic, 108).
  constexpr int kBendRounds = 3;
  for (int round = 0; round < kBendRounds; ++round) {
    if (!BendField(work, base, L, fs, residual, &field_h, use_part_h ? &part_h : nullptr)) break;
    std::vector<PartOffsets> off3;
    std::vector<FitCount> counts3;
    const int f3 = AlignPass(work, base, L, fs, &off3, &counts3, &field_h);
    if (Prof().on) std::fprintf(stderr, "  bend field pass: %d fitting, before %d\n", f3, best);
    if (f3 <= best) break;
    best = f3;
    use_part_h = true;
    part_h = Shifted(field_h, off3);
    residual.assign(fs.size(), PartOffsets{});
  }
  align->H.resize(fs.size());
  align->print_bend_mm = print_bend_mm;
  for (size_t i = 0; i < fs.size(); ++i)
    for (int part = 0; part < kParts; ++part) {
      const cv::Point2d d = best_off[i][size_t(part)];
      align->H[i][size_t(part)] = use_part_h ? part_h[i][size_t(part)] : base * cv::Matx33d(1, 0, d.x, 0, 1, d.y, 0, 0, 1);
    }
  // Boxes and bubbles repeat: moved by a box's pitch, most of their lines fit again, and a
  // homography a box off (a wrong corner mark) aligns onto its neighbours. The rules around
  // each number's boxes do not repeat with them: where the alignment puts the boxes, the
  // rules beside them in each direction must fit too, or the page is not aligned at all.
  const double gap_mm = GapMm(H, L, gap_px);
  for (size_t i = 0; i < fs.size(); ++i) {
    const BoxRules rules = RulesNearBoxes(L, L.numbers[i], gap_mm);
    for (int k = 0; k < 2; ++k) {
      const FitCount c = CountRules(work, align->H[i][0], rules.across[size_t(k)]);
      if (Prof().on)
        std::fprintf(stderr, "  number %zu rules %s: %d of %d fit\n", i, k == 0 ? "x" : "y", c.fitting, c.features);
      if (c.features >= kMinRulePieces && c.fitting < kMinLayoutFit * c.features) {
        *align = Alignment{};
        return fit;
      }
    }
  }
  if (fit >= kMinLayoutFit && best <= fitting) {  // fits as a whole, and no better aligned
    *align = Alignment{};
    return fit;
  }
  return double(best) / features;
}

// A corner marker's four corners: page mm (its printed square, turned as printed) and photo px.
void AddMarkerCorners(const Fiducial& f, const Marker& m, std::vector<cv::Point2f>* mm, std::vector<cv::Point2f>* px) {
  const auto box = RectCorners(f.box);
  for (int k = 0; k < 4; ++k) {
    const auto& b = box[size_t((k + f.rotation_deg / 90) % 4)];
    mm->emplace_back(float(b.x), float(b.y));
    px->push_back(m.corners[size_t(k)]);
  }
}

// Our form's corner markers not found in the reduced image, looked for where the ones found
// put them: the page's homography from three found markers' corners (an affine map from two)
// predicts each missing marker's place and size, and a window of 4 marker sides around it (10
// from two) is searched in the working image. Returns the markers of the missing ids found so
// (working px).
std::vector<Marker> NearPredictedMarkers(const cv::Mat& work, const PageLayout& L, const std::map<int, size_t>& fid_of,
                                         const std::vector<Marker>& found) {
  std::vector<Marker> out;
  std::vector<cv::Point2f> mm, px;
  std::set<int> have;
  for (const Marker& m : found) {
    const auto it = fid_of.find(m.id);
    if (it == fid_of.end() || !have.insert(m.id).second) continue;
    AddMarkerCorners(L.fiducials[it->second], m, &mm, &px);
  }
  if (have.size() < 2) return out;
  // Three markers (12 corners) give the page's homography; two only an affine map, which a
  // steep view leaves further off (a wider window).
  cv::Matx33d M = cv::Matx33d::eye();
  try {
    if (have.size() >= 3) {
      const cv::Mat h = cv::findHomography(mm, px, 0);
      if (h.empty()) return out;
      M = cv::Matx33d(h);
    } else {
      const cv::Mat a = cv::estimateAffine2D(mm, px);
      if (a.empty()) return out;
      const cv::Matx23d a2(a);
      M = cv::Matx33d(a2(0, 0), a2(0, 1), a2(0, 2), a2(1, 0), a2(1, 1), a2(1, 2), 0, 0, 1);
    }
  } catch (const cv::Exception&) {
    return out;
  }
  auto to_px = [&](double x, double y) { return Apply(M, x, y); };
  const double reach = have.size() >= 3 ? 2 : 5;  // marker sides either way of the prediction
  for (const auto& [id, i] : fid_of) {
    if (have.count(id)) continue;
    const Rect& b = L.fiducials[i].box;
    const cv::Point2d c = to_px(b.cx(), b.cy());
    const double side = cv::norm(to_px(b.x + b.w, b.y) - to_px(b.x, b.y));
    if (!(side >= 8) || side > 0.5 * std::max(work.cols, work.rows)) continue;
    // A prediction off the photo (markers found in a degenerate place) is not looked at.
    if (!(c.x > -side && c.y > -side && c.x < work.cols + side && c.y < work.rows + side)) continue;
    const int half = int(std::ceil(reach * side));
    const cv::Rect win = cv::Rect(int(c.x) - half, int(c.y) - half, 2 * half, 2 * half) & cv::Rect(0, 0, work.cols, work.rows);
    if (win.width < side || win.height < side) continue;
    auto params = FastParams();
    params->adaptiveThreshWinSizeMin = 7;
    params->adaptiveThreshWinSizeMax = 37;
    params->minMarkerPerimeterRate = 0.1;
    bool hit = false;
    for (Marker m : DetectMarkers(work(win), 1, cv::aruco::DICT_4X4_50, params)) {
      if (m.id != id) continue;
      for (auto& q : m.corners) q += cv::Point2f(float(win.x), float(win.y));
      out.push_back(m);
      hit = true;
      break;
    }
    if (Prof().on)
      std::fprintf(stderr, "  marker %d looked for at (%.0f,%.0f), side %.1f px, window %dx%d: %s\n", id, c.x, c.y, side,
                   win.width, win.height, hit ? "found" : "not found");
  }
  return out;
}

// Our own form: ArUco DICT_4X4_50 ids at the four corners.
// With `blurred`, a photo whose markers are blurred (MarkerEdgeBlurPx) has their corners fitted
// within 1.5 sigma of the blur as well (a blurred corner is found up to about a sigma off).
Location LocateOwn(const cv::Mat& work, const PageLayout& L, bool blurred, double corner_tolerance) {
  Location loc;
  std::map<int, size_t> fid_of;  // marker id -> fiducial index
  for (size_t i = 0; i < L.fiducials.size(); ++i) fid_of[L.fiducials[i].marker_id] = i;

  std::vector<Marker> ms;
  for (int attempt = 0; attempt < 3; ++attempt) {
    double to_work = 1;
    cv::Mat det = DetectionImage(work, attempt == 0 ? 1000 : attempt == 1 ? 1400 : 100000, &to_work);
    auto params = FastParams();
    if (attempt == 1) {
      params->adaptiveThreshWinSizeMin = 7;
      params->adaptiveThreshWinSizeMax = 37;
      params->minMarkerPerimeterRate = 0.03;
    }
    if (attempt == 2) {
      params->minMarkerPerimeterRate = 0.02;
      params->adaptiveThreshWinSizeMin = 3;
      params->adaptiveThreshWinSizeMax = 53;
      params->adaptiveThreshWinSizeStep = 10;
      params->adaptiveThreshConstant = 10;
    }
    Prof().Mark("prep");
    ms = DetectMarkers(det, to_work, cv::aruco::DICT_4X4_50, params);
    Prof().Mark(attempt == 0 ? "aruco0" : attempt == 1 ? "aruco1" : "aruco2");
    loc.detect_scale = to_work;
    std::set<int> have;
    for (const Marker& m : ms)
      if (fid_of.count(m.id)) have.insert(m.id);
    // Two or three of the four found: the page is where they say, and the others are looked
    // for there, each in a window of the full-resolution photo (a page that fills only part of
    // the frame has markers too small for the reduced image, and the slower attempts below
    // would search the whole photo again).
    if (attempt == 0 && have.size() >= 2 && have.size() < 4) {
      for (const Marker& m : NearPredictedMarkers(work, L, fid_of, ms)) {
        ms.push_back(m);
        have.insert(m.id);
      }
    }
    if (Prof().on) std::fprintf(stderr, "aruco attempt %d at %dx%d: %zu of ours\n", attempt, det.cols, det.rows, have.size());
    if (have.size() >= 4 || (attempt == 2 && have.size() >= 3)) break;
  }
  loc.markers = ms;
  // Per expected id its markers, largest first; the largest of each id is tried first. More
  // than one of an id: another sheet of our form is in the photo too (below).
  std::map<int, std::vector<const Marker*>> of_id;
  for (const Marker& m : ms)
    if (fid_of.count(m.id)) of_id[m.id].push_back(&m);
  for (auto& [id, v] : of_id)
    std::stable_sort(v.begin(), v.end(), [](const Marker* a, const Marker* b) { return a->side > b->side; });
  std::map<int, const Marker*> best;
  for (const auto& [id, v] : of_id) best[id] = v.front();
  {  // the markers' edge blur, in px and in mm on the page (also for a page not found below)
    std::vector<double> blur_px, blur_mm;
    for (const auto& [id, m] : best)
      if (const double b = MarkerEdgeBlurPx(work, *m, 4 + 2); b > 0 && m->side > 0) {
        blur_px.push_back(b);
        blur_mm.push_back(b * L.fiducials[fid_of[id]].box.w / m->side);
      }
    if (!blur_px.empty()) loc.tag_blur_px = Median(std::move(blur_px));
    if (!blur_mm.empty()) loc.blur_mm = Median(std::move(blur_mm));
  }
  if (best.size() < 3) {
    // Something else? KPU's AprilTags, or ArUco markers of no corner of ours.
    double to_work = 1;
    cv::Mat det = DetectionImage(work, 1100, &to_work);
    auto tags = DetectMarkers(det, to_work, cv::aruco::DICT_APRILTAG_36h10, FastParams());
    if (!tags.empty()) {
      // KPU's C.HASIL-PPWP prints tags 101, 102 and 103 on its pages 1, 2 and 3: say which page
      // it is and how to read it (the caller asked for our own form).
      const int id = tags[0].id;
      std::string hint;
      if (id == 102 || id == 103)
        hint = "; ini halaman " + std::to_string(id - 100) +
               " C.HASIL-PPWP KPU: baca dengan --form kpu-ppwp-2 (halaman 2) atau --form kpu-ppwp "
               "(halaman 2 dan 3) / this is page " + std::to_string(id - 100) +
               " of KPU's C.HASIL-PPWP: read it with --form kpu-ppwp-2 (page 2) or --form kpu-ppwp (pages 2 and 3)";
      else if (id == 101)
        hint = "; ini halaman 1 C.HASIL-PPWP KPU (tidak dibaca) / this is page 1 of KPU's C.HASIL-PPWP (not read)";
      loc.failure = MakeReason(reason::kMarkerMismatch,
                               "penanda AprilTag " + std::to_string(id) +
                                   ": bukan formulir rekap / AprilTag marker: not a rekap form page" + hint);
    } else if (best.empty() && !ms.empty()) {
      loc.failure = MakeReason(reason::kMarkerMismatch,
                               "penanda ArUco tak dikenal / unknown ArUco marker id " +
                                   std::to_string(ms[0].id));
    } else {
      loc.failure = MakeReason(reason::kPageNotFound,
                               "penanda sudut ditemukan / corner markers found: " +
                                   std::to_string(best.size()) + " of 4");
    }
    return loc;
  }
  // One marker of each id: the page through their corners, or false.
  auto fit = [&](const std::map<int, const Marker*>& group, bool say) {
    std::vector<cv::Point2f> mm, px;
    double side = 0;
    for (const auto& [id, m] : group) {
      AddMarkerCorners(L.fiducials[fid_of[id]], *m, &mm, &px);
      side += m->side;
    }
    side /= double(group.size());
    RefineCorners(work, &px, side);
    const double tol = std::max(2.0, side * corner_tolerance);
    const double blurred_tol = blurred ? std::max(tol, 1.5 * loc.tag_blur_px) : tol;
    if (say && Prof().on) std::fprintf(stderr, "own markers %zu, edge blur %.2f px, corner tolerance %.2f / %.2f px\n", group.size(), loc.tag_blur_px, tol, blurred_tol);
    const bool fitted = FitHomography(mm, px, tol, 12, &loc.H) ||
                        (blurred_tol > tol && FitHomography(mm, px, blurred_tol, 12, &loc.H));
    const bool plausible = fitted && PlausiblePage(loc.H, L, &loc.px_per_mm, &loc.rotation_deg);
    if (Prof().on && !plausible) std::fprintf(stderr, "own markers: %s\n", fitted ? "not a plausible page" : "no homography fits");
    return plausible;
  };
  bool found = fit(best, true);
  size_t copies = 0;
  for (const auto& [id, v] : of_id) copies = std::max(copies, v.size());
  if (copies > 1) {
    // Two sheets (two TPS's forms side by side, say): the largest marker of each id may be of
    // either. Every choice of one marker per id among each id's three largest (at most 81) is
    // fitted, the one with the largest markers first; the first that fits is the page.
    std::vector<std::map<int, const Marker*>> groups(1);
    for (const auto& [id, v] : of_id) {
      std::vector<std::map<int, const Marker*>> more;
      for (const auto& g : groups)
        for (size_t k = 0; k < std::min<size_t>(3, v.size()); ++k) {
          more.push_back(g);
          more.back()[id] = v[k];
        }
      groups = std::move(more);
    }
    auto total = [](const std::map<int, const Marker*>& g) {
      double t = 0;
      for (const auto& [id, m] : g) t += m->side;
      return t;
    };
    std::stable_sort(groups.begin(), groups.end(), [&](const auto& a, const auto& b) { return total(a) > total(b); });
    // The largest markers may fit only where three are of one sheet and the fourth of another
    // (the fit takes 12 of the 16 corners): a group of markers that all fit comes first.
    if (found) {
      const cv::Matx33d h = loc.H;
      bool all = true;
      for (const auto& [id, m] : best) {
        const Rect& b = L.fiducials[fid_of[id]].box;
        all = all && cv::norm(cv::Point2f(Apply(h, b.cx(), b.cy())) - MarkerCentre(*m)) < 0.25 * m->side;
      }
      found = all;
    }
    for (const auto& g : groups) {
      if (found) break;
      if (g == best) continue;
      if (fit(g, false)) {
        best = g;
        found = true;
      }
    }
    if (!found) found = fit(best, false);  // none fits whole: the largest, as before
  }
  if (!found) {
    loc.failure = MakeReason(reason::kPageNotFound,
                             "penanda sudut tidak konsisten / corner markers inconsistent");
    return loc;
  }
  loc.found = true;
  // Markers of our corners outside the page found: maybe another sheet of the form (ObservePage).
  std::vector<cv::Point2f> quad;
  for (const auto& c : RectCorners({0, 0, L.width_mm, L.height_mm})) quad.push_back(cv::Point2f(Apply(loc.H, c.x, c.y)));
  for (const auto& [id, v] : of_id)
    for (const Marker* m : v)
      if (cv::pointPolygonTest(quad, MarkerCentre(*m), true) < -0.5 * m->side) loc.other_sheets.push_back(*m);
  for (const auto& [id, m] : best) loc.tag_side += m->side / double(best.size());
  return loc;
}

// A template of a KPU corner checker (2x2, top-left and bottom-right quarters black, in page
// orientation) as homography H (mm -> px of an image scaled by `f`) shows it, centred on its
// predicted position `c` (px), with half size h.
cv::Mat CheckerTemplate(const cv::Matx33d& H, const Rect& box, cv::Point2d* c, int* h) {
  *c = Apply(H, box.cx(), box.cy());
  const cv::Point2d e = Apply(H, box.cx() + box.w / 2, box.cy());
  const cv::Point2d e2 = Apply(H, box.cx(), box.cy() + box.h / 2);
  const double half_px = std::max({3.0, cv::norm(e - *c), cv::norm(e2 - *c)});
  *h = int(std::ceil(half_px * 1.35));
  if (*h > 150 || !std::isfinite(c->x) || !std::isfinite(c->y)) return {};
  const cv::Matx33d Hi = H.inv();
  cv::Mat tpl(2 * *h + 1, 2 * *h + 1, CV_8UC1);
  for (int y = -*h; y <= *h; ++y)
    for (int x = -*h; x <= *h; ++x) {
      const cv::Point2d m = Apply(Hi, c->x + x, c->y + y);
      const double dx = m.x - box.cx(), dy = m.y - box.cy();
      uint8_t v = 255;
      if (std::abs(dx) <= box.w / 2 && std::abs(dy) <= box.h / 2) v = (dx < 0) == (dy < 0) ? 0 : 255;
      tpl.at<uint8_t>(y + *h, x + *h) = v;
    }
  return tpl;
}

// Best normalized cross-correlation of `tpl` (half size h) within +-radius px of c in `img`.
std::optional<std::pair<cv::Point2d, double>> MatchAround(const cv::Mat& img, const cv::Mat& tpl, int h,
                                                           cv::Point2d c, double radius) {
  const int r = int(std::ceil(radius));
  cv::Rect win(int(std::floor(c.x)) - r - h, int(std::floor(c.y)) - r - h, 2 * (r + h) + 1, 2 * (r + h) + 1);
  win &= cv::Rect(0, 0, img.cols, img.rows);
  if (win.width <= tpl.cols || win.height <= tpl.rows) return std::nullopt;
  cv::Mat score;
  try {
    cv::matchTemplate(img(win), tpl, score, cv::TM_CCOEFF_NORMED);
  } catch (const cv::Exception&) {
    return std::nullopt;
  }
  double best = 0;
  cv::Point at;
  cv::minMaxLoc(score, nullptr, &best, nullptr, &at);
  if (!std::isfinite(best)) return std::nullopt;
  return std::make_pair(cv::Point2d(win.x + at.x + h, win.y + at.y + h), best);
}



// The saddle point of a checker near `start` (working px), to sub-pixel, with a search window
// of `window` px; `start` itself if the refinement fails or wanders further than `max_move` (to
// an outer corner of one of the black squares).
cv::Point2f RefineSaddle(const cv::Mat& work, cv::Point2f start, int window, double max_move) {
  std::vector<cv::Point2f> pt = {start};
  try {
    cv::cornerSubPix(work, pt, cv::Size(window, window), cv::Size(-1, -1),
                     cv::TermCriteria(cv::TermCriteria::EPS + cv::TermCriteria::COUNT, 30, 0.01));
  } catch (const cv::Exception&) {
    return start;
  }
  if (!std::isfinite(pt[0].x) || !std::isfinite(pt[0].y) || cv::norm(pt[0] - start) > max_move) return start;
  return pt[0];
}

// Candidate positions of a KPU corner checker near where homography H (mm -> working px) puts
// it, within +-radius px, best first: a coarse search on a reduced copy (`small`, scale f of
// `work`) with the template as H predicts it (turned by up to 30 degrees when that matches
// poorly: far from the points found so far a tilted photo's perspective is not yet known),
// up to `k` separated peaks; each refined at full resolution and to the saddle point.
std::vector<CheckerHit> FindCheckerCandidates(const cv::Mat& work, const cv::Mat& small, double f,
                                              const cv::Matx33d& H, const Rect& box, double radius,
                                              size_t k) {
  std::vector<CheckerHit> out;
  const cv::Matx33d S(f, 0, 0, 0, f, 0, 0, 0, 1);
  cv::Point2d cs;
  int hs = 0;
  const cv::Mat ts = CheckerTemplate(S * H, box, &cs, &hs);
  if (ts.empty()) return out;
  const int r = int(std::ceil(radius * f));
  cv::Rect win(int(std::floor(cs.x)) - r - hs, int(std::floor(cs.y)) - r - hs, 2 * (r + hs) + 1, 2 * (r + hs) + 1);
  win &= cv::Rect(0, 0, small.cols, small.rows);
  if (win.width <= ts.cols || win.height <= ts.rows) return out;
  // Score map: the best over template variants, and which variant gave it.
  struct Variant {
    double ang, sc;
  };
  std::vector<Variant> variants = {{0, 1}};
  cv::Mat best, which;
  auto run = [&](const Variant& v, int idx) {
    cv::Mat t = ts;
    if (v.ang != 0 || v.sc != 1) {
      cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f(float(hs), float(hs)), v.ang, v.sc);
      cv::warpAffine(ts, t, rot, ts.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(255));
    }
    cv::Mat sc;
    try {
      cv::matchTemplate(small(win), t, sc, cv::TM_CCOEFF_NORMED);
    } catch (const cv::Exception&) {
      return;
    }
    if (best.empty()) {
      best = sc;
      which = cv::Mat(sc.size(), CV_8UC1, cv::Scalar(idx));
      return;
    }
    cv::Mat better = sc > best;
    sc.copyTo(best, better);
    which.setTo(cv::Scalar(idx), better);
  };
  run(variants[0], 0);
  if (best.empty()) return out;
  double top = 0;
  cv::minMaxLoc(best, nullptr, &top);
  if (top < 0.8 && radius > 24) {
    for (double ang : {-15.0, 15.0, -30.0, 30.0}) {
      variants.push_back({ang, 1});
      run(variants.back(), int(variants.size() - 1));
    }
  }
  // Peaks, separated by a checker's size.
  const int sep = std::max(2, hs);
  cv::Mat sc = best.clone();
  for (size_t n = 0; n < k; ++n) {
    double v = 0;
    cv::Point at;
    cv::minMaxLoc(sc, nullptr, &v, nullptr, &at);
    if (!(v >= 0.6)) break;
    cv::rectangle(sc, cv::Rect(at.x - sep, at.y - sep, 2 * sep + 1, 2 * sep + 1), cv::Scalar(-1), cv::FILLED);
    const Variant var = variants[which.at<uint8_t>(at)];
    // Fine: the template at full resolution, shifted to the coarse peak, same variant.
    const cv::Point2d coarse((win.x + at.x + hs) / f, (win.y + at.y + hs) / f);
    const cv::Point2d shift = coarse - Apply(H, box.cx(), box.cy());
    const cv::Matx33d T(1, 0, shift.x, 0, 1, shift.y, 0, 0, 1);
    cv::Point2d c;
    int h = 0;
    cv::Mat tpl = CheckerTemplate(T * H, box, &c, &h);
    if (tpl.empty()) continue;
    auto fine = MatchAround(work, tpl, h, c, 2.5 / f);
    // A turned variant can win on the reduced copy by a little where the predicted template
    // itself fits best at full resolution: both are tried there.
    if (var.ang != 0 || var.sc != 1) {
      cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f(float(h), float(h)), var.ang, var.sc);
      cv::warpAffine(tpl, tpl, rot, tpl.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(255));
      auto turned = MatchAround(work, tpl, h, c, 2.5 / f);
      if (turned && (!fine || turned->second > fine->second)) fine = turned;
    }
    if (!fine || fine->second < 0.5) continue;
    c = fine->first;
    // The saddle point, sub-pixel (not where a refinement wanders off to).
    const double quarter = h / 1.35 / 2;
    out.push_back({RefineSaddle(work, cv::Point2f(float(c.x), float(c.y)), std::clamp(int(quarter * 0.6), 2, 15),
                                std::max(1.5, 0.3 * quarter)),
                   v});
  }
  return out;
}

// Candidate X-junctions (the centre of a 2x2 checker) near `c` (working px), within +-radius:
// the most negative determinants of the Hessian at the checker's scale, on the reduced copy
// (`small`, scale f). Rotation-invariant and tolerant of the shear and foreshortening a tilted
// photo gives a far corner, where a template predicted from the near corners fails.
std::vector<CheckerHit> SaddleCandidates(const cv::Mat& work, const cv::Mat& small, double f, cv::Point2d c,
                                         double radius, double quarter_px, size_t k) {
  std::vector<CheckerHit> out;
  const int r = int(std::ceil(radius * f));
  const double q = std::max(2.0, quarter_px * f);
  const int pad = int(std::ceil(3 * q));
  cv::Rect win(int(std::floor(c.x * f)) - r - pad, int(std::floor(c.y * f)) - r - pad, 2 * (r + pad) + 1,
               2 * (r + pad) + 1);
  win &= cv::Rect(0, 0, small.cols, small.rows);
  if (win.width < 4 * q || win.height < 4 * q) return out;
  cv::Mat g, xx, yy, xy;
  small(win).convertTo(g, CV_32F);
  cv::GaussianBlur(g, g, cv::Size(0, 0), 0.5 * q);
  cv::Sobel(g, xx, CV_32F, 2, 0, 3);
  cv::Sobel(g, yy, CV_32F, 0, 2, 3);
  cv::Sobel(g, xy, CV_32F, 1, 1, 3);
  cv::Mat det = xx.mul(yy) - xy.mul(xy);  // < 0 at a saddle
  const int sep = std::max(2, int(2 * q));
  double lo = 0;
  cv::minMaxLoc(det, &lo);
  for (size_t n = 0; n < k; ++n) {
    double v = 0;
    cv::Point at;
    cv::minMaxLoc(det, &v, nullptr, &at);
    if (!(v < 0.1 * lo) || !(v < 0)) break;
    cv::rectangle(det, cv::Rect(at.x - sep, at.y - sep, 2 * sep + 1, 2 * sep + 1), cv::Scalar(0), cv::FILLED);
    const cv::Point2f start(float((win.x + at.x) / f), float((win.y + at.y) / f));
    out.push_back({RefineSaddle(work, start, std::clamp(int(quarter_px * 0.6), 2, 15), std::max(2.0, 0.5 * quarter_px)),
                   v / lo});
  }
  return out;
}

// Candidate KPU corner checkers anywhere in `work`, whatever the perspective: two dark squares
// meeting at a corner (one 8-connected "bow tie", or two components where blur or ink left a
// gap), confirmed by a ring test around the meeting point (two dark arcs facing each other,
// each about a quarter turn: four light/dark changes, point-symmetric). `quarter_px` is the
// expected side of one square near the tag; squares from 0.4 to 2.5 times that are taken.
// Centres in working px, refined to the saddle point, best first.
std::vector<CheckerHit> BlobCheckers(const cv::Mat& work, double quarter_px, size_t max_hits) {
  std::vector<CheckerHit> out;
  if (!(quarter_px > 1)) return out;
  double to_work = 1;
  const int side = int(std::max(work.cols, work.rows) * std::clamp(7.0 / quarter_px, 0.05, 1.0));
  const cv::Mat small = DetectionImage(work, std::max(side, 200), &to_work);
  const double q = quarter_px / to_work;  // expected square side in `small`
  cv::Mat bin, labels, stats, cents;
  const int block = std::max(11, int(6 * q) | 1);
  try {
    cv::adaptiveThreshold(small, bin, 255, cv::ADAPTIVE_THRESH_MEAN_C, cv::THRESH_BINARY_INV, block, 12);
    cv::connectedComponentsWithStats(bin, labels, stats, cents, 8, CV_32S);
  } catch (const cv::Exception&) {
    return out;
  }
  auto bilinear = [&](double x, double y) {
    bool ok = true;
    const double v = SampleBilinear(small, x, y, &ok);
    return ok ? v : -1.0;
  };
  // Ring test at p for squares of side s: score in (0, 1], or 0.
  auto ring = [&](cv::Point2d p, double s) {
    double score = 1;
    for (double rr : {0.45, 0.75}) {
      constexpr int kN = 32;
      std::array<double, kN> v{};
      double lo = 1e9, hi = -1e9;
      for (int i = 0; i < kN; ++i) {
        const double t = 2 * CV_PI * i / kN;
        v[size_t(i)] = bilinear(p.x + rr * s * std::cos(t), p.y + rr * s * std::sin(t));
        if (v[size_t(i)] < 0) return 0.0;
        lo = std::min(lo, v[size_t(i)]);
        hi = std::max(hi, v[size_t(i)]);
      }
      if (hi - lo < 0.25 * hi || hi - lo < 20) return 0.0;
      const double thr = (lo + hi) / 2;
      int changes = 0, dark = 0, symmetric = 0;
      for (int i = 0; i < kN; ++i) {
        const bool a = v[size_t(i)] < thr, b = v[size_t((i + 1) % kN)] < thr;
        changes += a != b;
        dark += a;
        symmetric += a == (v[size_t((i + kN / 2) % kN)] < thr);
      }
      if (changes != 4 || dark < kN * 0.3 || dark > kN * 0.7 || symmetric < kN - 4) return 0.0;
      score = std::min(score, (hi - lo) / hi * symmetric / kN);
    }
    return score;
  };
  struct Blob {
    cv::Point2d c;
    double area;
    int x, w;
  };
  std::vector<Blob> squares;
  std::vector<std::pair<cv::Point2d, double>> points;  // candidate centre, square side
  const double amin = 0.16 * q * q, amax = 6.25 * q * q;
  for (int i = 1; i < stats.rows; ++i) {
    const int* st = stats.ptr<int>(i);
    const double a = st[cv::CC_STAT_AREA];
    const int bw = st[cv::CC_STAT_WIDTH], bh = st[cv::CC_STAT_HEIGHT];
    if (a < amin * 0.5 || a > 2 * amax * 1.5) continue;
    const cv::Point2d c(cents.at<double>(i, 0), cents.at<double>(i, 1));
    const double fill = a / (double(bw) * bh);
    const double r = std::sqrt(a);
    // One square (seen in perspective): compact.
    if (a <= amax && fill >= 0.4 && std::max(bw, bh) <= 1.8 * r && std::min(bw, bh) >= 0.5 * r)
      squares.push_back({c, a, st[cv::CC_STAT_LEFT], bw});
    // Two squares joined at a corner: about half its bounding box, centroid at the joint.
    if (a >= 2 * amin && fill >= 0.25 && fill <= 0.75 && std::max(bw, bh) <= 3.2 * std::sqrt(a / 2))
      points.emplace_back(c, std::sqrt(a / 2));
  }
  std::sort(squares.begin(), squares.end(), [](const Blob& a, const Blob& b) { return a.c.x < b.c.x; });
  for (size_t i = 0; i < squares.size(); ++i)
    for (size_t j = i + 1; j < squares.size(); ++j) {
      const Blob &a = squares[i], &b = squares[j];
      const double s = std::sqrt((a.area + b.area) / 2);
      if (b.c.x - a.c.x > 2 * s) break;
      if (std::max(a.area, b.area) > 2.5 * std::min(a.area, b.area)) continue;
      const double d = cv::norm(a.c - b.c);
      if (d < 1.1 * s || d > 1.9 * s) continue;
      points.emplace_back((a.c + b.c) * 0.5, s);
    }
  std::vector<std::pair<double, cv::Point2d>> hits;
  for (const auto& [p, s] : points) {
    const double sc = ring(p, s);
    if (sc <= 0) continue;
    bool dup = false;
    for (auto& h : hits)
      if (cv::norm(h.second - p) < s) {
        dup = true;
        if (sc > h.first) h = {sc, p};
      }
    if (!dup) hits.emplace_back(sc, p);
  }
  std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  if (hits.size() > max_hits) hits.resize(max_hits);
  for (const auto& [sc, p] : hits) {
    const cv::Point2f start(float(p.x * to_work), float(p.y * to_work));
    out.push_back({RefineSaddle(work, start, std::clamp(int(quarter_px * 0.5), 2, 15), std::max(2.0, 0.5 * quarter_px)),
                   sc});
  }
  return out;
}

// A KPU page (2 or 3): the AprilTag 36h10 (id 102 or 103) gives the identity and orientation,
// and which of `layouts` the page is; the four corner checkers give the geometry.
// `known`: the markers an earlier call found (its `markers`), not detected again.
// `soft`: when no tag is decoded, read the quads the detector rejected cell by cell
// (ReadOptions::blurred_search).
// `memo`: the searches of an earlier call on the same photo, answered again without searching.
// `print_fields`: LayoutFit's, shared by every homography tried (nullptr: none).
Location LocateKpu(const cv::Mat& work, const std::vector<PageLayout>& layouts, CheckerSearchMemo* memo,
                   double gap_px, const std::vector<Marker>* known, bool soft,
                   PrintFields* print_fields) {
  Location loc;
  loc.gap_px = gap_px;
  for (const PageLayout& l : layouts)
    if (!l.page_marker) {
      loc.failure = MakeReason(reason::kPageNotFound, "layout has no page marker");
      return loc;
    }
  const Fiducial& pm0 = *layouts[0].page_marker;
  std::vector<Marker> tags;
  if (known != nullptr) tags = *known;
  std::vector<std::array<cv::Point2f, 4>> rejected;
  // Attempt 4, only for a photo under 2,000 px: the same at twice the size, where the tag's
  // cells are 2-3 px and the contour approximation loses its corners.
  const int attempts = std::max(work.cols, work.rows) < 2000 ? 5 : 4;
  cv::Size searched;  // the image attempts 0-2 last searched, with the same parameters
  // Reads the rejected quads not read before cell by cell (a quad read before gave no tag: a
  // call that finds one ends the search).
  size_t soft_read = 0;
  auto soft_decode = [&] {
    std::vector<int> ids = {101, 102, 103};  // the pages of KPU's form (another page: wrong_page)
    for (const PageLayout& l : layouts) ids.push_back(l.page_marker->marker_id);
    std::optional<SoftTag> best;
    for (; soft_read < rejected.size(); ++soft_read) {
      const auto& q = rejected[soft_read];
      auto st = SoftDecodeQuad(work, q, DictFor(pm0.dictionary), ids);
      if (Prof().on && st) std::fprintf(stderr, "soft tag %d r %.3f runner-up %.3f\n", st->marker.id, st->r, st->runner_up);
      if (st && (!best || st->marker.side > best->marker.side)) best = st;
    }
    if (best) tags.push_back(best->marker);
    Prof().Mark("soft tag");
  };
  // A tag of one of `layouts` found. Only another page's (page 3 hung beside page 2, both in the
  // photo, page 2's tag too small for the reduced image, or under the detector's smallest
  // perimeter, a share of the wider photo's side): the later attempts search on (before
  // 2026-12-08 such a photo was `wrong_page`). A photo of page 3 alone read as page 2 so costs
  // them before it says `wrong_page`: about 0.3 s more at 2,227 px, 0.6 s at 1,336 px (attempt
  // 4, the doubled size, about 0.45 s of that).
  auto of_layouts = [&] {
    for (const Marker& m : tags)
      for (const PageLayout& l : layouts)
        if (m.id == l.page_marker->marker_id) return true;
    return false;
  };
  for (int attempt = 0; attempt < attempts && known == nullptr && !of_layouts(); ++attempt) {
    // Before the searches at full size (about 0.9 s on a 4,000 px photo whose tag is too
    // blurred to decode): the quads rejected so far read cell by cell, and the tag taken from
    // them if one reads as a page of KPU's form; the full-size searches only where none does.
    // Measured on 200 KPU page-2 photos at four times the usual blur (2026-12-06): the tag
    // stage, mean per page, 178-190 -> 75-87 ms; the page, p95 1,107-1,182 -> 708-800 ms; 163
    // found instead of 162 and 72 accepted either way (at three times: 196 and 108 either
    // way), none wrong. Field dumps byte-identical on validation seed 9, seed 1, the
    // covered corners of seed 70 and the all-inconsistent seed 22 (its small photos found at
    // twice their size included); the blurred all-inconsistent sets flagged as before.
    if (attempt == 2 && soft && !rejected.empty() && tags.empty()) {
      soft_decode();
      if (!tags.empty()) break;
    }
    double to_work = 1;
    cv::Mat det;
    if (attempt == 4) {
      cv::resize(work, det, cv::Size(), 2, 2, cv::INTER_CUBIC);
      to_work = 0.5;
    } else {
      det = DetectionImage(work, attempt == 0 ? 1100 : attempt == 1 ? 1600 : 100000, &to_work);
    }
    // A photo under 1,600 (1,100) px: attempt 1 (and 2) would search the very image attempt 0
    // searched, with the same parameters, and find what it found (nothing); its rejected quads
    // are already in `rejected`.
    if (attempt <= 2) {
      if (det.size() == searched) continue;
      searched = det.size();
    }
    Prof().Mark("prep");
    auto params = FastParams();
    if (attempt >= 3) {  // a small photo of the large sheet: the tag is a few dozen px
      params->minMarkerPerimeterRate = 0.02;
      params->adaptiveThreshWinSizeMin = 3;
      params->adaptiveThreshWinSizeMax = 53;
      params->adaptiveThreshWinSizeStep = 10;
      params->adaptiveThreshConstant = 10;
      params->polygonalApproxAccuracyRate = 0.05;
    }
    std::vector<Marker> found = DetectMarkers(det, to_work, DictFor(pm0.dictionary), params, &rejected);
    Prof().Mark("tag");
    if (found.empty()) continue;  // another page's tag found before stays
    tags = std::move(found);
    loc.detect_scale = to_work;
  }
  if (soft && tags.empty() && !rejected.empty()) {
    // No tag decoded: a blurred photo, read the quads the detector rejected cell by cell.
    soft_decode();
  }
  loc.markers = tags;
  const Marker* tag = nullptr;
  for (const Marker& m : tags)
    for (size_t k = 0; k < layouts.size(); ++k)
      if (m.id == layouts[k].page_marker->marker_id && (tag == nullptr || tag->side < m.side)) {
        tag = &m;
        loc.layout = k;
      }
  if (tag == nullptr) {
    const Fiducial& pm = pm0;
    if (!tags.empty()) {
      const int id = tags[0].id;
      // 101..103: another page of the same form.
      if (id >= 101 && id <= 103)
        loc.failure = MakeReason(reason::kWrongPage,
                                 "halaman lain dari formulir (AprilTag " + std::to_string(id) +
                                     ") / another page of the form (AprilTag " + std::to_string(id) + ")");
      else
        loc.failure = MakeReason(reason::kMarkerMismatch,
                                 "AprilTag " + std::to_string(id) + " bukan " + std::to_string(pm.marker_id) +
                                     " / AprilTag " + std::to_string(id) + " is not " + std::to_string(pm.marker_id));
      return loc;
    }
    double to_work = 1;
    cv::Mat det = DetectionImage(work, 1100, &to_work);
    auto own = DetectMarkers(det, to_work, cv::aruco::DICT_4X4_50, FastParams());
    if (own.size() >= 2)
      loc.failure = MakeReason(reason::kMarkerMismatch,
                               "formulir rekap, bukan formulir KPU: baca dengan --form own / a rekap form, not a KPU "
                               "page: read it with --form own");
    else
      loc.failure = MakeReason(reason::kPageNotFound, "AprilTag " + std::to_string(pm.marker_id) +
                                                          " tidak ditemukan / not found");
    return loc;
  }
  // Another copy of the same tag elsewhere in the photo: another sheet of this page (before
  // 2026-12-08 the larger was read and accepted for the TPS the caller named, whichever it was).
  for (const Marker& m : tags)
    if (&m != tag && m.id == tag->id && cv::norm(MarkerCentre(m) - MarkerCentre(*tag)) > 1.5 * std::max(m.side, tag->side))
      loc.other_sheets.push_back(m);
  loc.tag_side = tag->side;
  const PageLayout& L = layouts[loc.layout];
  const Fiducial& pm = *L.page_marker;
  loc.tag_blur_px = MarkerEdgeBlurPx(work, *tag, cv::aruco::getPredefinedDictionary(DictFor(pm.dictionary))->markerSize + 2);
  if (tag->side > 0) loc.blur_mm = loc.tag_blur_px * pm.box.w / tag->side;
  if (Prof().on) std::fprintf(stderr, "tag edge blur %.2f px, paper gap %.2f px\n", loc.tag_blur_px, gap_px);
  // Initial homography from the tag.
  std::vector<cv::Point2f> tmm, tpx;
  const auto box = RectCorners(pm.box);
  for (int k = 0; k < 4; ++k) {
    const auto& b = box[size_t((k + pm.rotation_deg / 90) % 4)];
    tmm.emplace_back(float(b.x), float(b.y));
    tpx.push_back(tag->corners[size_t(k)]);
  }
  if (Prof().on)
    std::fprintf(stderr, "tag corners (%.1f,%.1f) (%.1f,%.1f) (%.1f,%.1f) (%.1f,%.1f) side %.1f\n", tpx[0].x, tpx[0].y,
                 tpx[1].x, tpx[1].y, tpx[2].x, tpx[2].y, tpx[3].x, tpx[3].y, tag->side);
  RefineCorners(work, &tpx, tag->side);
  if (Prof().on)
    std::fprintf(stderr, "refined    (%.1f,%.1f) (%.1f,%.1f) (%.1f,%.1f) (%.1f,%.1f)\n", tpx[0].x, tpx[0].y,
                 tpx[1].x, tpx[1].y, tpx[2].x, tpx[2].y, tpx[3].x, tpx[3].y);
  cv::Matx33d H0;
  if (!FitHomography(tmm, tpx, 3, 4, &H0)) {
    loc.failure = MakeReason(reason::kPageNotFound, "AprilTag geometry");
    return loc;
  }
  // Checker centres: nearest corners first, each found by matching a template of the checker
  // as the current homography predicts it (scale, rotation, perspective) in a window around
  // its predicted place, then refined to the saddle point; each improves the next prediction.
  const double tag_scale = tag->side / pm.box.w;  // px per mm near the tag
  // Checker k's centre in working px, once chosen.
  std::vector<std::optional<cv::Point2f>> at(L.fiducials.size());
  auto fit_points = [&](int skip, std::vector<cv::Point2f>* mm, std::vector<cv::Point2f>* px) {
    *mm = tmm;
    *px = tpx;
    for (size_t k = 0; k < at.size(); ++k)
      if (at[k] && int(k) != skip) {
        mm->emplace_back(float(L.fiducials[k].box.cx()), float(L.fiducials[k].box.cy()));
        px->push_back(*at[k]);
      }
  };
  // A homography through four checkers must also put the tag where it was seen.
  const double tag_tol = std::max(3.0, 0.2 * tag->side);
  auto tag_error = [&](const cv::Matx33d& H) {
    double e = 0;
    for (size_t i = 0; i < 4; ++i) e = std::max(e, cv::norm(Apply(H, tmm[i].x, tmm[i].y) - cv::Point2d(tpx[i])));
    return std::isfinite(e) ? e : 1e18;
  };
  auto through = [&](const std::vector<cv::Point2f>& pts, cv::Matx33d* H) {
    std::vector<cv::Point2f> a;
    for (const Fiducial& f : L.fiducials) a.emplace_back(float(f.box.cx()), float(f.box.cy()));
    try {
      cv::Mat h = cv::findHomography(a, pts, 0);
      if (h.empty()) return false;
      *H = cv::Matx33d(h);
    } catch (const cv::Exception&) {
      return false;
    }
    double ppm = 0;
    int rot = 0;
    return PlausiblePage(*H, L, &ppm, &rot);
  };
  auto affine = [&](const std::vector<cv::Point2f>& mm, const std::vector<cv::Point2f>& px, cv::Matx33d* H) {
    try {
      cv::Mat A = cv::estimateAffine2D(mm, px, cv::noArray(), cv::LMEDS);
      if (A.empty()) return;
      const cv::Matx23d a(A);
      *H = cv::Matx33d(a(0, 0), a(0, 1), a(0, 2), a(1, 0), a(1, 1), a(1, 2), 0, 0, 1);
    } catch (const cv::Exception&) {
    }
  };
  int found = 0;
  std::vector<size_t> order(L.fiducials.size());  // nearest the tag first
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    auto d = [&](size_t i) {
      return std::hypot(L.fiducials[i].box.cx() - pm.box.cx(), L.fiducials[i].box.cy() - pm.box.cy());
    };
    return d(a) < d(b);
  });
  if (L.fiducials.size() == 4) {
    // A reduced copy for coarse searches: one checker quarter about 5 px (pyramid halving,
    // then linear: far cheaper than an area resize of the whole photo).
    const double quarter_px = tag_scale * L.fiducials[0].box.w / 2;
    double fs = std::clamp(5.0 / std::max(1.0, quarter_px), 0.1, 1.0);
    cv::Mat small = work;
    {
      double f = 1;
      while (f * 0.5 >= fs) {
        cv::Mat half;
        cv::pyrDown(small, half);
        small = half;
        f *= 0.5;
      }
      const double g = fs / f;
      if (g < 0.95) {
        cv::Mat r;
        cv::resize(small, r, cv::Size(), g, g, cv::INTER_LINEAR);
        small = r;
      }
      fs = double(small.cols) / work.cols;
    }
    // The nearest two, one after the other (predictions from an affine fit: a homography from
    // points along one edge extrapolates wildly). Then the far two: candidates for one from
    // the affine fit, and for each the other searched where the homography through the tag,
    // the first two and that candidate puts it; the best combination consistent with the tag.
    cv::Matx33d Hc = H0;
    affine(tmm, tpx, &Hc);
    auto radius_for = [&](size_t k, double share) {
      const Fiducial& f = L.fiducials[k];
      return std::max(12.0, tag_scale * share * std::hypot(f.box.cx() - pm.box.cx(), f.box.cy() - pm.box.cy()));
    };
    auto search = [&](size_t k, const cv::Matx33d& H, double radius, size_t n) {
      const Rect& b = L.fiducials[k].box;
      const std::vector<CheckerHit>& c = memo->Get(b, H, radius, n, [&] {
        auto c = FindCheckerCandidates(work, small, fs, H, b, radius, n);
        if (n > 1) {  // also X-junctions (rotation- and shear-tolerant), for the layout fit to judge
          for (const CheckerHit& h : SaddleCandidates(work, small, fs, Apply(H, b.cx(), b.cy()), radius, quarter_px, n)) {
            bool dup = false;
            for (const CheckerHit& e : c) dup = dup || cv::norm(e.at - h.at) < quarter_px;
            if (!dup) c.push_back(h);
          }
        }
        return c;
      });
      if (Prof().on) {
        const cv::Point2d pr = Apply(H, L.fiducials[k].box.cx(), L.fiducials[k].box.cy());
        std::fprintf(stderr, "checker %zu pred (%.0f,%.0f) r=%.0f -> %zu candidates %.3f:", k, pr.x, pr.y,
                     radius, c.size(), c.empty() ? 0.0 : c[0].score);
        for (const auto& h : c) std::fprintf(stderr, " (%.0f,%.0f)", h.at.x, h.at.y);
        std::fprintf(stderr, "\n");
      }
      return c;
    };
    // The far pair given the first two (at[order[0]], at[order[1]]): the best layout fit.
    auto far_pair = [&](double* best, std::optional<cv::Point2f>* b3, std::optional<cv::Point2f>* b4) {
      cv::Matx33d Ha = H0;
      std::vector<cv::Point2f> mm0, px0;
      fit_points(-1, &mm0, &px0);
      affine(mm0, px0, &Ha);
      // Cheapest first: the best match of each; more candidates, then the other order, only
      // while nothing fits.
      for (int attempt = 0; attempt < 3 && *best < kMinLayoutFit; ++attempt) {
        const int flip = attempt == 2 ? 1 : 0;
        const size_t k3 = order[flip ? 3 : 2], k4 = order[flip ? 2 : 3];
        for (const CheckerHit& c3 : search(k3, Ha, radius_for(k3, 0.4), attempt == 0 ? 1 : 4)) {
          at[k3] = c3.at;
          std::vector<cv::Point2f> mm, px;
          fit_points(-1, &mm, &px);
          at[k3].reset();
          cv::Matx33d H3;
          try {
            cv::Mat h = cv::findHomography(mm, px, 0);
            if (h.empty()) continue;
            H3 = cv::Matx33d(h);
          } catch (const cv::Exception&) {
            continue;
          }
          for (const CheckerHit& c4 : search(k4, H3, radius_for(k4, 0.08), attempt == 0 ? 1 : 2)) {
            std::vector<cv::Point2f> pts(4);
            for (size_t k = 0; k < 4; ++k) pts[k] = k == k3 ? c3.at : k == k4 ? c4.at : (at[k] ? *at[k] : cv::Point2f());
            cv::Matx33d H4;
            if (!through(pts, &H4) || tag_error(H4) > tag_tol) continue;
            const double fit = LayoutFit(work, H4, L, nullptr, 1, gap_px);
            if (Prof().on) std::fprintf(stderr, "  combination: layout fit %.3f\n", fit);
            if (fit > *best) {
              *best = fit;
              *b3 = flip ? c4.at : c3.at;  // order[2]
              *b4 = flip ? c3.at : c4.at;  // order[3]
            }
          }
        }
      }
    };
    Prof().Mark("small");
    // First the checkers found anywhere (BlobCheckers): for each corner those near where the
    // tag's affine fit puts it; the combination that puts the tag where it was seen and fits
    // the printed layout best.
    bool blob_found = false;
    // Combinations that fit too little as a whole but at least kAlignFrom: a page that does not
    // lie flat may fit once aligned number by number (below).
    std::vector<std::pair<double, std::vector<cv::Point2f>>> bent;
    // The best kAlignCombinations of `bent` aligned number by number: the best aligned fit, and
    // its corners in `at` (found = 4) where it reaches `at_least`.
    auto align_bent = [&](double at_least) {
      std::stable_sort(bent.begin(), bent.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      double best_aligned = -1;
      for (size_t c = 0; c < bent.size() && c < kAlignCombinations; ++c) {
        cv::Matx33d H4;
        if (!through(bent[c].second, &H4) || tag_error(H4) > tag_tol) continue;
        Alignment align;
        const double fit = LayoutFit(work, H4, L, &align, kAlignFrom, gap_px, print_fields);
        if (Prof().on) std::fprintf(stderr, "  combination %.3f aligned: layout fit %.3f\n", bent[c].first, fit);
        if (fit >= at_least && fit > best_aligned) {
          best_aligned = fit;
          at.assign(4, std::nullopt);  // emptied when nothing fitted
          for (size_t k = 0; k < 4; ++k) at[k] = bent[c].second[k];
          found = 4;
        }
      }
      return best_aligned;
    };
    std::array<std::vector<cv::Point2f>, 4> cand;  // per corner, the checkers found near it
    // A corner covered or outside the photo (a thumb, a weight, a tight frame on a 60 x 90 cm
    // sheet): the other three checkers and the tag. Each combination's homography once (a
    // candidate the fit leaves out as an outlier gives the homography of the others again, bit
    // for bit: the refit on the same inliers).
    struct Three {
      cv::Matx33d H;
      std::array<size_t, 3> corner;
      std::array<cv::Point2f, 3> at;
    };
    std::vector<Three> threes;
    auto make_threes = [&] {
      for (size_t miss = 0; miss < 4; ++miss) {
        std::array<size_t, 3> k3{};
        for (size_t j = 0, n = 0; j < 4; ++j)
          if (j != miss) k3[n++] = j;
        for (const auto& p0 : cand[k3[0]])
          for (const auto& p1 : cand[k3[1]])
            for (const auto& p2 : cand[k3[2]]) {
              std::vector<cv::Point2f> mm = tmm, px = tpx;
              for (const auto& [k, p] : {std::pair{k3[0], p0}, std::pair{k3[1], p1}, std::pair{k3[2], p2}}) {
                mm.emplace_back(float(L.fiducials[k].box.cx()), float(L.fiducials[k].box.cy()));
                px.push_back(p);
              }
              cv::Matx33d H3;
              double ppm = 0;
              int rot = 0;
              if (!FitHomography(mm, px, std::max(3.0, tag->side * 0.1), 3, &H3) || !PlausiblePage(H3, L, &ppm, &rot))
                continue;
              if (std::any_of(threes.begin(), threes.end(), [&](const Three& t) { return t.H == H3; })) continue;
              threes.push_back({H3, k3, {p0, p1, p2}});
            }
      }
    };
    double best3 = -1;
    auto take = [&](const Three& t, double fit, const char* how) {
      if (Prof().on)
        std::fprintf(stderr, "  three checkers (not %zu, %s): layout fit %.3f\n",
                     size_t(6) - t.corner[0] - t.corner[1] - t.corner[2], how, fit);
      if (fit >= kMinLayoutFit && fit > best3) {
        best3 = fit;
        at.assign(4, std::nullopt);
        for (size_t j = 0; j < 3; ++j) at[t.corner[j]] = t.at[j];
        found = 3;
      }
    };
    // A flat page with a corner covered fits as a whole through the right three (kRealignBelow
    // or more): the best of those, and no combination aligned number by number, each with a
    // field of the print of its own (0.1-0.2 s each; a page of a covered corner took 0.33 s in
    // the median). Only after the checker search: a checker the blobs missed is not always covered,
    // and found it makes the homography exact there (looked at before it, KPU's PDF printed
    // darker was read through three, 0.4 mm off at the fourth corner, and its boxes' printed
    // guides read as 8s).
    auto whole_three = [&] {
      make_threes();
      const int found_before = found;
      const auto at_before = at;
      for (const Three& t : threes) take(t, LayoutFit(work, t.H, L, nullptr, 1, gap_px), "whole");
      if (best3 >= kRealignBelow) return true;
      best3 = -1;
      found = found_before;
      at = at_before;
      return false;
    };
    {
      const std::vector<CheckerHit> blobs = BlobCheckers(work, quarter_px, 40);
      for (size_t k = 0; k < 4; ++k) {
        const Rect& b = L.fiducials[k].box;
        const cv::Point2d pr = Apply(Hc, b.cx(), b.cy());
        const double rad = radius_for(k, 0.6) + 4 * quarter_px;
        std::vector<std::pair<double, cv::Point2f>> near;
        for (const CheckerHit& h : blobs) {
          const double d = cv::norm(cv::Point2d(h.at) - pr);
          if (d <= rad) near.emplace_back(d, h.at);
        }
        std::sort(near.begin(), near.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
        for (size_t i = 0; i < near.size() && i < 3; ++i) cand[k].push_back(near[i].second);
      }
      double best_fit = -1;
      std::vector<cv::Point2f> best_pts;
      if (!cand[0].empty() && !cand[1].empty() && !cand[2].empty() && !cand[3].empty())
        for (const auto& p0 : cand[0])
          for (const auto& p1 : cand[1])
            for (const auto& p2 : cand[2])
              for (const auto& p3 : cand[3]) {
                const std::vector<cv::Point2f> pts = {p0, p1, p2, p3};
                cv::Matx33d H4;
                if (!through(pts, &H4) || tag_error(H4) > tag_tol) continue;
                const double fit = LayoutFit(work, H4, L, nullptr, 1, gap_px);
                if (fit >= kAlignFrom) bent.emplace_back(fit, pts);
                if (fit > best_fit) {
                  best_fit = fit;
                  best_pts = pts;
                }
              }
      if (Prof().on) {
        std::fprintf(stderr, "blob checkers: %zu, per corner %zu %zu %zu %zu, best fit %.3f\n", blobs.size(),
                     cand[0].size(), cand[1].size(), cand[2].size(), cand[3].size(), best_fit);
      }
      Prof().Mark("blobs");
      if (best_fit >= kMinLayoutFit) {
        for (size_t k = 0; k < 4; ++k) at[k] = best_pts[k];
        found = 4;
        blob_found = true;
      } else if (!bent.empty() && align_bent(kBentEarly) >= kBentEarly) {
        // A page that does not lie flat whose checkers were all found as blobs: aligned number
        // by number it fits well, and the checker search below (40-100 ms) would only find
        // the same checkers again.
        blob_found = true;
      }
    }
    if (!blob_found) {
    // The nearest: the best match close to its prediction.
    {
      auto c = search(order[0], Hc, radius_for(order[0], 0.25), 1);
      if (!c.empty()) at[order[0]] = c[0].at;
    }
    double best = -1;
    std::optional<cv::Point2f> b2, b3, b4;
    if (at[order[0]]) {
      std::vector<cv::Point2f> mm, px;
      fit_points(-1, &mm, &px);
      affine(mm, px, &Hc);
      // The second: its best match, and if the far pair then fits nowhere, other candidates
      // (X-junctions too).
      auto c2 = search(order[1], Hc, radius_for(order[1], 0.4), 1);
      for (int level = 0; level < 2 && best < kMinLayoutFit; ++level) {
        if (level == 1) c2 = search(order[1], Hc, radius_for(order[1], 0.4), 4);
        for (const CheckerHit& c : c2) {
          at[order[1]] = c.at;
          double fit = -1;
          std::optional<cv::Point2f> x3, x4;
          far_pair(&fit, &x3, &x4);
          if (fit > best) {
            best = fit;
            b2 = c.at;
            b3 = x3;
            b4 = x4;
          }
        }
        at[order[1]].reset();
      }
    }
    Prof().Mark("checkers");
    // Close but not fitting: at a few px per mm a checker centre off by a px or two puts the
    // printed lines beside where the homography looks for them. Each centre is moved, one
    // after the other, by up to 0.6 mm where that fits the layout better (the tag must stay
    // where it was seen); the page is found only if the result fits as any other must.
    if (best >= kRefineFrom && best < kMinLayoutFit && at[order[0]] && b2 && b3 && b4) {
      std::vector<cv::Point2f> pts(4);
      for (size_t k = 0; k < 4; ++k) pts[k] = *at[k];
      pts[order[1]] = *b2;
      pts[order[2]] = *b3;
      pts[order[3]] = *b4;
      const double step = std::max(0.5, 0.3 * tag_scale);  // 0.3 mm
      for (int round = 0; round < 3 && best < kMinLayoutFit; ++round) {
        bool moved = false;
        for (size_t k = 0; k < 4; ++k) {
          const cv::Point2f c = pts[k];
          cv::Point2f keep = c;
          for (int dy = -2; dy <= 2; ++dy)
            for (int dx = -2; dx <= 2; ++dx) {
              if (dx == 0 && dy == 0) continue;
              pts[k] = c + cv::Point2f(float(dx * step), float(dy * step));
              cv::Matx33d H4;
              if (!through(pts, &H4) || tag_error(H4) > tag_tol) continue;
              const double fit = LayoutFit(work, H4, L, nullptr, 1, gap_px);
              if (fit > best) {
                best = fit;
                keep = pts[k];
                moved = true;
              }
            }
          pts[k] = keep;
        }
        if (Prof().on)
          std::fprintf(stderr, "  refined corners: layout fit %.3f (%.0f,%.0f) (%.0f,%.0f) (%.0f,%.0f) (%.0f,%.0f)\n", best, pts[0].x,
                       pts[0].y, pts[1].x, pts[1].y, pts[2].x, pts[2].y, pts[3].x, pts[3].y);
        if (!moved) break;
      }
      if (best >= kMinLayoutFit) {
        b2 = pts[order[1]];
        b3 = pts[order[2]];
        b4 = pts[order[3]];
        at[order[0]] = pts[order[0]];
      } else {
        bent.emplace_back(best, pts);
      }
    } else if (best >= kAlignFrom && best < kMinLayoutFit && at[order[0]] && b2 && b3 && b4) {
      std::vector<cv::Point2f> pts(4);
      pts[order[0]] = *at[order[0]];
      pts[order[1]] = *b2;
      pts[order[2]] = *b3;
      pts[order[3]] = *b4;
      bent.emplace_back(best, pts);
    }
    if (best >= kMinLayoutFit) {
      at[order[1]] = b2;
      at[order[2]] = b3;
      at[order[3]] = b4;
      found = 4;
    } else {
      at = {};
    }
    }  // !blob_found
    // Nothing fits as a whole: the best few combinations of four aligned number by number (a
    // page that does not lie flat), the one that then fits best if it reaches kMinLayoutFit;
    // else the best of three so, if it reaches kMinLayoutFit.
    if (found < 4) whole_three();  // makes `threes`, which the last step below needs too
    if (found < 3 && !bent.empty()) align_bent(kMinLayoutFit);
    if (found < 3) {
      for (const Three& t : threes) {
        Alignment align;
        take(t, LayoutFit(work, t.H, L, &align, kAlignFrom, gap_px, print_fields), "aligned");
      }
    }
  }
  if (found < 3) {
    loc.failure = MakeReason(reason::kPageNotFound, "penanda sudut ditemukan / corner marks found: " +
                                                        std::to_string(found) + " of 4");
    return loc;
  }
  std::vector<cv::Point2f> mm, px;
  fit_points(-1, &mm, &px);
  for (const auto& a : at)
    if (a) loc.points.push_back(*a);
  // Fit: the four checkers span the page and are found to sub-pixel accuracy; the small tag's
  // corners (a little biased by blur) only stand in for a missing checker.
  if (found == 4) {
    mm.erase(mm.begin(), mm.begin() + 4);
    px.erase(px.begin(), px.begin() + 4);
  }
  if (!FitHomography(mm, px, std::max(3.0, tag->side * 0.1), size_t(found), &loc.H) ||
      !PlausiblePage(loc.H, L, &loc.px_per_mm, &loc.rotation_deg)) {
    loc.failure = MakeReason(reason::kPageNotFound, "penanda tidak konsisten / marks inconsistent");
    return loc;
  }
  loc.found = true;
  return loc;
}

void OtherSheetsOfPage(const cv::Mat& work, const cv::Rect& page, double s, const std::string& dictionary,
                       const std::vector<int>& tag_ids, std::vector<Marker>* others) {
  const cv::Rect p = page & cv::Rect(0, 0, work.cols, work.rows);
  if (p.area() <= 0) return;
  const int min_w = std::max(1, int(0.25 * p.width)), min_h = std::max(1, int(0.25 * p.height));
  std::vector<cv::Rect> strips;
  if (p.x >= min_w) strips.emplace_back(0, 0, p.x, work.rows);
  if (work.cols - p.br().x >= min_w) strips.emplace_back(p.br().x, 0, work.cols - p.br().x, work.rows);
  if (p.y >= min_h) strips.emplace_back(0, 0, work.cols, p.y);
  if (work.rows - p.br().y >= min_h) strips.emplace_back(0, p.br().y, work.cols, work.rows - p.br().y);
  std::vector<Marker>& seen = *others;  // in working px (the corner strips overlap)
  for (const cv::Rect& r : strips) {
    cv::Mat det;
    if (std::abs(s - 1) > 0.05)
      cv::resize(work(r), det, cv::Size(std::max(1, int(r.width / s)), std::max(1, int(r.height / s))), 0, 0,
                 s > 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
    else
      det = work(r);
    // The detector's smallest perimeter is a share of the image's longer side: a long strip
    // would pass over the tags it is searched for (15 px a side at least here).
    auto params = FastParams();
    params->minMarkerPerimeterRate = std::min(0.06, 60.0 / std::max({1, det.cols, det.rows}));
    // Working px per detection px as resized (1 where the strip is searched as it is: before
    // 2026-12-08 `s` then, which put the markers up to 5 % off their place).
    const double to_work = double(r.width) / det.cols;
    for (Marker m : DetectMarkers(det, to_work, DictFor(dictionary), params)) {
      if (std::find(tag_ids.begin(), tag_ids.end(), m.id) == tag_ids.end()) continue;
      for (auto& c : m.corners) c += cv::Point2f(float(r.x), float(r.y));
      bool again = false;
      for (const Marker& o : seen)
        again = again || (o.id == m.id && cv::norm(MarkerCentre(m) - MarkerCentre(o)) < std::max(o.side, m.side));
      if (!again) seen.push_back(m);
    }
  }
}

}  // namespace rekap::reader::detail

namespace rekap::reader {

using namespace detail;

double LayoutFitOf(const cv::Mat& gray, const cv::Matx33d& H, const PageLayout& L, bool aligned,
                   bool print_field, std::vector<cv::Point2d>* centres) {
  if (centres != nullptr) centres->clear();
  if (gray.empty() || gray.type() != CV_8UC1) return 0;
  Alignment align;
  PrintFields fields{print_field ? 1 : 0, {}};
  const double fit =
      LayoutFit(gray, H, L, aligned ? &align : nullptr, kAlignFrom, kGapPx, &fields);
  if (centres != nullptr)
    for (size_t i = 0; i < align.H.size() && i < L.numbers.size(); ++i) {
      if (L.numbers[i].digit_boxes.empty()) continue;
      const Rect& b = L.numbers[i].digit_boxes[0];
      centres->push_back(Apply(align.H[i][0], b.cx(), b.cy()));
    }
  return fit;
}
}  // namespace rekap::reader
