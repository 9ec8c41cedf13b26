// rekap reader: reading a photo of a filled C.Hasil page, failing closed. See read.h and
// docs/reader.md.
#include "reader/read_internal.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <deque>
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
#include <opencv2/calib3d.hpp>
#include <opencv2/imgcodecs.hpp>

#include "reader/omr.h"
#include "reader/render.h"

namespace rekap::reader::detail {

// ---------------------------------------------------------------------------------------------
// One photo


// A page that fills only part of a large photo (a sheet on a table with the table around it, a
// plano photographed from across the room) is small in the working image: the photo is reduced
// while decoding to 1,500-3,000 px on its longer side (DecodePhoto), as if the page filled it.
// Where the located page spans under kSmallPageShare of the photo's longer side and under
// kPagePx px, the photo is decoded again with less reduction, so that the page spans kPagePx
// (or the photo's full size), and the page is read from that. A page that fills most of the
// photo, as the benchmark's do, reads as before. Our form's page at half a photo's width, 60
// photos (seed 5, 2,000-4,000 px, placed on a canvas twice as large): per digit 98.85 % read
// from the reduced image, 99.31 % for the same photos unpadded (docs/reader.md).
constexpr double kSmallPageShare = 0.6;
constexpr double kPagePx = 1500;


struct Stage {
  std::string dir, name;
  void Write(const std::string& what, const cv::Mat& img) const {
    if (dir.empty() || img.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    try {
      cv::imwrite(dir + "/" + name + "-" + what + ".png", img);
    } catch (const cv::Exception&) {
    }
  }
};

// The form actually checked: for the KPU page with a voters bound, rebound with it.
struct FormRef {
  std::shared_ptr<const Form> form;
};

Result<FormRef> EffectiveForm(const ReadOptions& o) {
  if (o.contest == nullptr || o.contest->form == nullptr)
    return InvalidArgument("ReadOptions.contest (bound) is required");
  FormRef r{o.contest->form};
  if (IsKpu(o.form) && o.voters > 0) {
    auto params = o.contest->params;
    params["max_voters"] = o.voters;
    auto f = o.contest->form->schema().Bind(o.contest->form->candidates(), params);
    if (!f.ok()) return f.status();
    r.form = *f;
  }
  return r;
}

Result<std::vector<PageLayout>> Layouts(const ReadOptions& o) {
  std::vector<PageLayout> out;
  if (IsKpu(o.form)) {
    auto l = KpuPpwpPage2Layout();
    if (!l.ok()) return l.status();
    out.push_back(*l);
    if (o.form == FormKind::kKpuPpwp) {
      auto l3 = KpuPpwpPage3Layout();
      if (!l3.ok()) return l3.status();
      out.push_back(*l3);
    }
    return out;
  }
  const int pages = OwnPageCount(*o.contest->form);
  if (pages < 1) return InvalidArgument("formulir tidak dapat ditata / form cannot be laid out");
  for (int p = 1; p <= pages; ++p) {
    auto l = LayoutOwnPage(*o.contest->form, *o.contest, p);
    if (!l.ok()) return l.status();
    out.push_back(std::move(*l));
  }
  return out;
}

// How dark the darkest ink in a digit box crop's central part is, 0..255 below the paper (a
// digit always crosses that part; leftovers of the printed border, blurred into the crop's
// edges, do not). NormalizeDigitCrop's minimum contrast is 40.
double CentreContrast(const cv::Mat& crop) {
  const cv::Rect c(crop.cols / 5, crop.rows / 6, crop.cols - 2 * (crop.cols / 5), crop.rows - 2 * (crop.rows / 6));
  if (c.width < 2 || c.height < 2) return 255;
  const double paper = PaperLevel(crop, 0.75);
  cv::Mat centre;
  cv::blur(crop(c), centre, cv::Size(3, 3));
  double lo = 0;
  cv::minMaxLoc(centre, &lo, nullptr);
  return (paper - lo) * 255.0 / std::max(paper, 64.0);
}

// A copy of `crop` where every pixel absorbing less than `share` of the paper's light (the
// crop's 90th percentile) is set to the paper level.
// Sets everything lighter than ink (absorbing < `share` of the paper's light) to paper, except
// light regions wider than 2 * keep_wide + 1 px (faint strokes) when keep_wide > 0.
cv::Mat SuppressLightGrey(const cv::Mat& crop, double share, int keep_wide = 0) {
  const double paper = PaperLevel(crop, 0.90);
  const int cut = int(paper * (1 - share));
  const uint8_t pv = cv::saturate_cast<uint8_t>(paper);
  cv::Mat out = crop.clone();
  cv::Mat wide;  // light grey regions wider than a guide's dots: a faint stroke, kept
  if (keep_wide > 0) {
    cv::Mat light;
    cv::inRange(crop, cv::Scalar(0), cv::Scalar(int(paper * (1 - share * 0.4))), light);
    cv::morphologyEx(light, wide, cv::MORPH_OPEN,
                     cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * keep_wide + 1, 2 * keep_wide + 1)));
  }
  for (int y = 0; y < out.rows; ++y) {
    uint8_t* p = out.ptr<uint8_t>(y);
    const uint8_t* w = wide.empty() ? nullptr : wide.ptr<uint8_t>(y);
    for (int x = 0; x < out.cols; ++x)
      if (p[x] > cut && !(w && w[x])) p[x] = pv;
  }
  return out;
}

// Paints a band of `w` px along the crop's edges with the paper level.
void WhitenEdges(cv::Mat* crop, int w) {
  const double paper = PaperLevel(*crop, 0.75);
  const cv::Scalar v(paper);
  w = std::min({w, crop->cols / 4, crop->rows / 4});
  if (w <= 0) return;
  (*crop)(cv::Rect(0, 0, crop->cols, w)).setTo(v);
  (*crop)(cv::Rect(0, crop->rows - w, crop->cols, w)).setTo(v);
  (*crop)(cv::Rect(0, 0, w, crop->rows)).setTo(v);
  (*crop)(cv::Rect(crop->cols - w, 0, w, crop->rows)).setTo(v);
}

// How sharp the photo shows the page: the apparent width (mm) of a printed line of the layout,
// centred at page point `c` (mm) and crossed along the unit normal `nrm`: the area of its
// darkness profile (paper minus photo, sampled every `step` mm over +-`half` mm) divided by the
// profile's peak. A sharp photo of a line w mm wide gives about w; blur, coarse pixels and
// JPEG widen it (a Gaussian blur of sigma s alone gives about 2.5 s). NaN where the profile
// shows no line (a peak under 12 % of the paper's light) or runs off the photo.
double ApparentLineWidthMm(const cv::Mat& gray, const cv::Matx33d& H, cv::Point2d c, cv::Point2d nrm,
                           double half = 1.6, double step = 0.1) {
  const int n = int(std::lround(2 * half / step)) + 1;
  std::vector<double> v(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    const double t = -half + k * step;
    const cv::Point2d q = Apply(H, c.x + nrm.x * t, c.y + nrm.y * t);
    bool ok = true;
    v[size_t(k)] = SampleBilinear(gray, q.x, q.y, &ok);
    if (!ok) return std::nan("");
  }
  const int e = std::max(2, n / 8);  // the paper: the lighter of the profile's two ends
  double a = 0, b = 0;
  for (int k = 0; k < e; ++k) a += v[size_t(k)], b += v[size_t(n - 1 - k)];
  const double paper = std::max(a, b) / e;
  double peak = 0, area = 0;
  for (double x : v) {
    const double d = std::max(0.0, paper - x);
    peak = std::max(peak, d);
    area += d * step;
  }
  if (peak < 0.12 * paper) return std::nan("");
  return area / peak;
}

// Reads the numbers of a located page.
// A digit box's interior as it is read: the printed border, `line_mm` inside the box's rect,
// and `inset_mm` of alignment slack left out (at most 15 % of the box's width on each side).
Rect BoxInterior(const Rect& box, double line_mm, double inset_mm) {
  return Expand(box, -std::min(line_mm + inset_mm, box.w * 0.15));
}

// Where a number's digit boxes really are, against where homography H puts them. On a page
// that does not lie flat the alignment moves a number's boxes and bubbles together, and its
// boxes by up to 1 mm more; a bent page can still leave the boxes a few mm off and turned a
// little, so that the interior crops hold a border and miss part of the digit (a 5 mm bend,
// seed 402: 16 of 34 misread boxes). Each box's printed border is looked for within
// `reach_mm` around its place: the rows of its top and bottom sides over its width, the columns
// of its left and right sides over its height, each scored by how much darker the line is than
// the paper either side of it, the weaker of the two sides counting. The three boxes' offsets
// give a correction in page mm, a shift that may vary along the row (a turn, a stretch), which
// is returned as the affine map to put after H. It is the identity unless the borders fit
// clearly better so, every box agrees with the correction within 0.6 mm and one box moves by at
// least 0.4 mm: on a page where the boxes already fit, nothing read changes.
cv::Matx33d BoxesCorrection(const cv::Mat& work, const cv::Matx33d& H, const NumberLayout& n, double crop_px_per_mm,
                            double reach_mm) {
  const cv::Matx33d none = cv::Matx33d::eye();
  // px per mm: the crops' own, at most 4.5 (enough for borders 0.5 mm wide, and cheap on our
  // form's 28 numbers).
  const double ds = std::min(crop_px_per_mm, 4.5);
  const Rect region = Union(n.digit_boxes[0], n.digit_boxes[2]);
  const cv::Mat g = WarpRegion(work, H, Expand(region, reach_mm), ds);
  const int reach = int(std::floor(reach_mm * ds));
  const double line = n.box_line_mm;
  const int gap = std::max(2, int(std::lround((line + 0.6) * ds)));  // paper beside a line, px
  auto px_x = [&](double mm) { return int(std::lround((mm - region.x + reach_mm) * ds)); };
  auto px_y = [&](double mm) { return int(std::lround((mm - region.y + reach_mm) * ds)); };
  // A line at px i of a darkness profile: darker than the mean of the paper `gap` px either side.
  auto edge = [&](const std::vector<double>& prof, int i) {
    if (i - gap < 0 || i + gap >= int(prof.size())) return -255.0;
    return prof[size_t(i)] - 0.5 * (prof[size_t(i - gap)] + prof[size_t(i + gap)]);
  };
  // The best offset (px) of a pair of lines at a and b in a profile, and its score and that at 0.
  struct Best {
    int d = 0;
    double s = 0, at0 = 0;
  };
  auto best_pair = [&](const std::vector<double>& prof, int a, int b) {
    Best r;
    r.at0 = r.s = std::min(edge(prof, a), edge(prof, b));
    for (int d = -reach; d <= reach; ++d) {
      const double s = std::min(edge(prof, a + d), edge(prof, b + d));
      if (s > r.s) {
        r.s = s;
        r.d = d;
      }
    }
    return r;
  };
  std::array<cv::Point2d, 3> off;  // per box, mm
  std::array<double, 3> cx{};      // the boxes' centres, page mm
  double gain = 0, total = 0, moved = 0;
  for (size_t p = 0; p < 3; ++p) {
    const Rect& b = n.digit_boxes[p];
    cx[p] = b.cx();
    // Darkness (255 - grey) along the rows over the box's inside (away from its sides), and
    // along the columns over its height (away from its top and bottom).
    const int x0 = std::max(0, px_x(b.x + 3 * line)), x1 = std::min(g.cols, px_x(b.right() - 3 * line));
    const int y0 = std::max(0, px_y(b.y + 3 * line)), y1 = std::min(g.rows, px_y(b.bottom() - 3 * line));
    if (x1 <= x0 || y1 <= y0) return none;
    // The columns only as far as this box's sides can be looked for.
    const int c0 = std::max(0, px_x(b.x) - reach - gap - 1), c1 = std::min(g.cols, px_x(b.right()) + reach + gap + 2);
    std::vector<double> rows(size_t(g.rows), 0.0), cols(size_t(g.cols), 0.0);
    for (int y = 0; y < g.rows; ++y) {
      const uint8_t* q = g.ptr<uint8_t>(y);
      int sum = 0;
      for (int x = x0; x < x1; ++x) sum += 255 - q[x];
      rows[size_t(y)] = double(sum) / (x1 - x0);
      if (y >= y0 && y < y1)
        for (int x = c0; x < c1; ++x) cols[size_t(x)] += 255 - q[x];
    }
    for (double& c : cols) c /= (y1 - y0);
    const Best bx = best_pair(cols, px_x(b.x + line / 2), px_x(b.right() - line / 2));
    const Best by = best_pair(rows, px_y(b.y + line / 2), px_y(b.bottom() - line / 2));
    off[p] = {bx.d / ds, by.d / ds};
    gain += (bx.s - std::max(bx.at0, 0.0)) + (by.s - std::max(by.at0, 0.0));
    total += bx.s + by.s;
    moved = std::max(moved, cv::norm(off[p]));
  }
  // The correction: offsets linear in x, fitted to the three boxes (least squares).
  const double mx = (cx[0] + cx[1] + cx[2]) / 3;
  double sxx = 0;
  cv::Point2d mean(0, 0), sxd(0, 0);
  for (size_t p = 0; p < 3; ++p) mean += off[p] / 3.0;
  for (size_t p = 0; p < 3; ++p) {
    sxx += (cx[p] - mx) * (cx[p] - mx);
    sxd += (cx[p] - mx) * (off[p] - mean);
  }
  const cv::Point2d v = sxx > 0 ? sxd / sxx : cv::Point2d(0, 0);
  double worst = 0;
  for (size_t p = 0; p < 3; ++p) worst = std::max(worst, cv::norm(mean + (cx[p] - mx) * v - off[p]));
  const bool clear = total >= 60 && gain >= 0.3 * total && moved >= 0.4 && worst <= 0.6;
  if (Prof().on)
    std::fprintf(stderr, "  boxes %s: (%.2f,%.2f) (%.2f,%.2f) (%.2f,%.2f) mm, score %.1f, gain %.1f, off the fit %.2f mm%s\n",
                 n.field.c_str(), off[0].x, off[0].y, off[1].x, off[1].y, off[2].x, off[2].y, total, gain, worst,
                 clear ? " (moved)" : "");
  if (!clear) return none;
  // p -> p + mean + (p.x - mx) v
  return cv::Matx33d(1 + v.x, 0, mean.x - mx * v.x, v.y, 1, mean.y - mx * v.y, 0, 0, 1);
}

// The bubble rows of a number whose boxes were found off by BoxesCorrection's A. The alignment
// moves a number's boxes and bubbles together, then each bubble row by at most 1 mm; where
// the number as a whole was a bubble's pitch or more off (a bent page: our form's rows stand
// 4.5 mm apart, its boxes were found a row lower than printed), each row settled on its
// neighbour's printed bubbles, which look the same, and read them (78 read as 800). The boxes
// do not repeat, so their offset says by how many pitches the bubbles slipped: it is written
// in the lattice of the bubbles (along a row, and from row to row) and rounded; only an offset
// within 0.3 of a pitch of a whole number of pitches, not zero, moves the rows (page mm).
cv::Point2d BubbleSlip(const NumberLayout& n, const cv::Matx33d& A) {
  if (n.bubbles.size() < 2 || n.bubbles[0].size() < 2) return {0, 0};
  const Rect& b0 = n.bubbles[0][0];
  const cv::Point2d c0(b0.cx(), b0.cy());
  const cv::Point2d u = cv::Point2d(n.bubbles[0][1].cx(), n.bubbles[0][1].cy()) - c0;  // along a row
  const cv::Point2d w = cv::Point2d(n.bubbles[1][0].cx(), n.bubbles[1][0].cy()) - c0;  // row to row
  const double det = u.x * w.y - u.y * w.x;
  if (std::abs(det) < 1e-6) return {0, 0};
  // The boxes' offset at their middle.
  const Rect mid = Union(n.digit_boxes[0], n.digit_boxes[2]);
  const cv::Point2d m = Apply(A, mid.cx(), mid.cy()) - cv::Point2d(mid.cx(), mid.cy());
  const double a = (m.x * w.y - m.y * w.x) / det, b = (u.x * m.y - u.y * m.x) / det;  // m = a u + b w
  const double ka = std::round(a), kb = std::round(b);
  if ((ka == 0 && kb == 0) || std::abs(a - ka) > 0.3 || std::abs(b - kb) > 0.3) return {0, 0};
  return ka * u + kb * w;
}

// A bubble row's own offset on a page that does not lie flat (page mm, applied before H). The
// alignment leaves each row within about half a millimetre of its printed bubbles (its search
// stops where every outline it checks is darker than the paper beside it), and the inner disc
// a bubble is measured by (0.72 of its radius: 1.3 mm on our form) reaches the printed outline
// half a millimetre off: an empty bubble then reads partly inked, and the row unclear. Returns
// the offset within `reach` mm (under a quarter of any form's bubble pitch, so a row cannot
// settle on its neighbour's bubbles) at which the ten outlines stand darkest against the paper
// just outside them, on a 0.2 mm grid refined at 0.1 mm; zero unless that is at least 10 %
// more contrast than where the row is.
constexpr double kRowReachMm = 1.0;
cv::Point2d BubbleRowOffset(const cv::Mat& work, const cv::Matx33d& H, const std::array<Rect, 10>& bubbles,
                            double reach) {
  constexpr int kPoints = 8;
  struct Outline {
    std::array<cv::Point2d, kPoints> on, off;  // on the printed outline; on the paper outside it
  };
  std::array<Outline, 10> outlines;
  for (size_t v = 0; v < 10; ++v) {
    const Rect& b = bubbles[v];
    const double R = b.w / 2;
    for (int k = 0; k < kPoints; ++k) {
      const double t = k * 2 * CV_PI / kPoints, c = std::cos(t), sn = std::sin(t);
      outlines[v].on[size_t(k)] = {b.cx() + c * (R - 0.15), b.cy() + sn * (R - 0.15)};
      outlines[v].off[size_t(k)] = {b.cx() + c * (R + 0.6), b.cy() + sn * (R + 0.6)};
    }
  }
  // The outlines' contrast against the paper, summed; NaN where a point falls off the photo.
  auto contrast = [&](cv::Point2d d) {
    double sum = 0;
    for (const Outline& o : outlines) {
      double on = 0, off = 0;
      bool ok = true;
      for (int k = 0; k < kPoints && ok; ++k) {
        const cv::Point2d a = Apply(H, o.on[size_t(k)].x + d.x, o.on[size_t(k)].y + d.y);
        const cv::Point2d b = Apply(H, o.off[size_t(k)].x + d.x, o.off[size_t(k)].y + d.y);
        on += SampleBilinear(work, a.x, a.y, &ok);
        off += SampleBilinear(work, b.x, b.y, &ok);
      }
      if (!ok) return std::nan("");
      sum += (off - on) / std::max(8.0, off);
    }
    return sum;
  };
  const double at_row = contrast({0, 0});
  if (!std::isfinite(at_row)) return {0, 0};
  cv::Point2d best(0, 0);
  double most = at_row;
  for (const double step : {0.2, 0.1}) {
    const cv::Point2d c = best;
    const int n = step == 0.2 ? int(std::floor(reach / step)) : 1;
    for (int gy = -n; gy <= n; ++gy)
      for (int gx = -n; gx <= n; ++gx) {
        const cv::Point2d d(c.x + gx * step, c.y + gy * step);
        if (std::hypot(d.x, d.y) > reach + 1e-9) continue;
        const double k = contrast(d);
        if (std::isfinite(k) && k > most) most = k, best = d;
      }
  }
  return most > at_row + 0.1 * std::max(0.0, at_row) ? best : cv::Point2d(0, 0);
}

// Digits too big for their box. A hurried hand writes past the printed border: into the margin,
// or into the next box. The box's interior alone then holds part of the digit (a 7 without its
// bar, a 0 cut open), and the next box a piece of it (a stray stroke read as a 1). Where a box's
// ink crosses its border, or a neighbour's ink enters it, the box is read from the ink that
// belongs to it instead: the number's boxes are warped with a margin around them, the printed
// borders taken out except where a stroke runs across them, and each piece of ink given to
// the box holding most of it. Returns, per box, such a crop (paper but for that box's ink), or
// an empty Mat where nothing crosses (the usual interior crop is read then, as before).
// `guides`: KPU's dotted guides, taken out first as for the interior crop.
std::array<cv::Mat, 3> SpillCrops(const cv::Mat& work, const cv::Matx33d& H, const NumberLayout& n,
                                  double ds, double px_per_mm, double line_seen, bool guides,
                                  double guide_cut, int faint_px, double inset_mm, double edge_mm) {
  std::array<cv::Mat, 3> out;
  const double bh = n.digit_boxes[0].h, bw = n.digit_boxes[0].w;
  // The margin: where a digit 1.2 times the box's height, off-centre, reaches.
  const double margin = 0.35 * bh;
  const Rect ext = Expand(Union(n.digit_boxes[0], n.digit_boxes[2]), margin);
  cv::Mat g = WarpRegion(work, H, ext, ds);
  if (g.cols < 16 || g.rows < 16) return out;
  if (guides) g = SuppressLightGrey(g, guide_cut, faint_px);
  const double paper = PaperLevel(g, 0.75);
  // Ink: darker than the paper by the normal ink contrast, and on the dark side of the region's
  // Otsu split, which leaves out the grey that blur spreads beside a printed border.
  cv::Mat dark;
  g.convertTo(dark, CV_8U, -1, paper);  // paper - grey, 0 where lighter
  cv::Mat split;
  const double otsu = cv::threshold(dark, split, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  const double min_dark = std::max(paper, 64.0) * NormalizeOptions{}.min_contrast / 255.0;
  cv::Mat ink = dark > std::max(otsu, min_dark);
  // The printed borders, where the photo shows them: each side of each box searched for within
  // 0.6 mm of where the alignment puts it (the row or column whose median darkness along the
  // side is highest), then a band around it as wide as the line, its blur and a pixel or so.
  double gap = 1e9;
  for (int p = 0; p + 1 < 3; ++p)
    gap = std::min(gap, n.digit_boxes[size_t(p + 1)].x - n.digit_boxes[size_t(p)].right());
  const double blur = std::max(0.0, line_seen - n.box_line_mm);  // mm the borders look wider
  // mm beyond each side of a line: a photo pixel, and a fifth of the blur (chosen on validation
  // seeds 5 and 9 and spill seed 202, docs/reader.md: with none, blurred borders' residue was
  // taken for crossings on 17 of 1,000 usual KPU photos and cost 4 pages; with half, fewer
  // crossings were seen).
  const double slack = 0.15 + 0.2 * blur + 1.0 / std::max(px_per_mm, 0.5);
  auto px = [&](const Rect& r) {
    return cv::Rect(int(std::lround((r.x - ext.x) * ds)), int(std::lround((r.y - ext.y) * ds)),
                    int(std::lround(r.w * ds)), int(std::lround(r.h * ds)));
  };
  const cv::Rect whole(0, 0, g.cols, g.rows);
  const double lw = n.box_line_mm * ds;
  const int reach = std::max(2, int(std::lround(0.6 * ds)));
  // The median darkness along a line: column x over rows [y0, y1), or row y over columns.
  std::vector<uint8_t> vals;
  auto along = [&](bool column, int at, int from, int to) {
    vals.clear();
    for (int t = std::max(from, 0); t < to; ++t) {
      const int x = column ? at : t, y = column ? t : at;
      if (x >= 0 && y >= 0 && x < g.cols && y < g.rows) vals.push_back(dark.at<uint8_t>(y, x));
    }
    if (vals.empty()) return 0;
    std::nth_element(vals.begin(), vals.begin() + std::ptrdiff_t(vals.size() / 2), vals.end());
    return int(vals[vals.size() / 2]);
  };
  auto snap = [&](bool column, double centre, int from, int to) {
    int best = int(std::lround(centre)), best_v = -1;
    for (int d = -reach; d <= reach; ++d) {
      const int at = int(std::lround(centre)) + d;
      const int v = along(column, at, from, to);
      if (v > best_v || (v == best_v && std::abs(d) < std::abs(best - int(std::lround(centre)))))
        best = at, best_v = v;
    }
    return double(best);
  };
  const double half = lw / 2 + slack * ds;  // px from a line's centre to its band's edge
  cv::Mat frames(g.size(), CV_8U, cv::Scalar(0));  // each box to its band's outer edge
  std::array<cv::Rect, 3> inner;
  std::array<cv::Rect, 3> outer;
  for (int p = 0; p < 3; ++p) {
    const cv::Rect r = px(n.digit_boxes[size_t(p)]);
    const int y0 = r.y + r.height / 5, y1 = r.y + r.height * 4 / 5, x0 = r.x + r.width / 5,
              x1 = r.x + r.width * 4 / 5;
    const double left = snap(true, r.x + lw / 2, y0, y1),
                 right = snap(true, r.x + r.width - lw / 2, y0, y1);
    const double top = snap(false, r.y + lw / 2, x0, x1),
                 bottom = snap(false, r.y + r.height - lw / 2, x0, x1);
    outer[size_t(p)] =
        cv::Rect(cv::Point(int(std::floor(left - half)), int(std::floor(top - half))),
                 cv::Point(int(std::ceil(right + half)) + 1, int(std::ceil(bottom + half)) + 1));
    inner[size_t(p)] =
        cv::Rect(cv::Point(int(std::ceil(left + half)), int(std::ceil(top + half))),
                 cv::Point(int(std::floor(right - half)), int(std::floor(bottom - half)))) &
        whole;
    cv::rectangle(frames, outer[size_t(p)], cv::Scalar(255), cv::FILLED);
  }
  // Boxes close together (our form's stand 1 mm apart): in a photo the paper between them is
  // greyed by both borders' blur, and is taken as border too. A stroke from one box into the
  // next is not looked for there: bridged across both borders and the gap, the blur's residue
  // along the two borders joined the boxes' digits on usual photos (our form's seed 201: 184
  // boxes taken as crossing, CNN per digit 99.45 -> 99.37 %). KPU's boxes stand 2.4 mm apart:
  // a stroke from one into the next is seen on the paper between them.
  const bool close = gap < 2.0;
  if (close)
    for (int p = 0; p + 1 < 3; ++p) {
      const cv::Rect& a = outer[size_t(p)];
      const cv::Rect& b = outer[size_t(p + 1)];
      const cv::Rect between(cv::Point(a.x + a.width, std::min(a.y, b.y)),
                             cv::Point(b.x, std::max(a.y + a.height, b.y + b.height)));
      if (between.width > 0 && between.height > 0) cv::rectangle(frames, between, cv::Scalar(255), cv::FILLED);
    }
  // The band: the frames less the boxes' interiors.
  cv::Mat band = frames.clone();
  for (const cv::Rect& r : inner)
    if (r.width > 0 && r.height > 0) band(r).setTo(0);
  // A stroke across a border: ink on both sides of the band, bridged across it.
  const int across = std::max(3, int(std::ceil(2 * half)) + 3);
  cv::Mat free = ink & ~band, bridged_v, bridged_h;
  cv::morphologyEx(free, bridged_v, cv::MORPH_CLOSE,
                   cv::getStructuringElement(cv::MORPH_RECT, cv::Size(1, across)));
  cv::morphologyEx(free, bridged_h, cv::MORPH_CLOSE,
                   cv::getStructuringElement(cv::MORPH_RECT, cv::Size(across, 1)));
  const cv::Mat crossing = ink & band & (bridged_v | bridged_h);
  // Nothing crosses a band: every piece then lies within one box's interior or outside every
  // frame (the band, at least a pixel wide, parts them even 8-connected), so no box spilled.
  // Most numbers end here, before the labelling that cost half of this look (perf on seed 1's
  // photos of our form: the labelling's CPU fell by about two thirds).
  if (cv::countNonZero(crossing) == 0) return out;
  const cv::Mat all = free | crossing;
  cv::Mat labels, stats, centroids;
  const int k = cv::connectedComponentsWithStats(all, labels, stats, centroids, 8, CV_32S);
  if (k <= 1) return out;
  // Per piece of ink: its pixels in each box's interior, and outside every box.
  std::vector<std::array<int, 3>> in_box(size_t(k), std::array<int, 3>{0, 0, 0});
  std::vector<int> outside(size_t(k), 0);
  for (int y = 0; y < g.rows; ++y) {
    const int* l = labels.ptr<int>(y);
    const uint8_t* f = frames.ptr<uint8_t>(y);
    for (int x = 0; x < g.cols; ++x) {
      if (!l[x]) continue;
      if (!f[x]) ++outside[size_t(l[x])];
      for (int p = 0; p < 3; ++p)
        if (inner[size_t(p)].contains(cv::Point(x, y))) ++in_box[size_t(l[x])][size_t(p)];
    }
  }
  // A piece is a box's when that box's interior holds most of it (and some of it at all); a
  // piece no interior holds is print or a stray mark beside the boxes, and is left out.
  const double box_px = bh * bw * ds * ds;
  const int min_px =
      std::max(4, int(0.004 * box_px));  // a speck is neither a box's ink nor a crossing
  std::vector<int> owner(size_t(k), -1);
  std::array<bool, 3> spilled{false, false, false};
  for (int c = 1; c < k; ++c) {
    const auto& ib = in_box[size_t(c)];
    const int best = int(std::max_element(ib.begin(), ib.end()) - ib.begin());
    if (ib[size_t(best)] < min_px) continue;
    // Print swept up with the ink (a border the alignment missed, a label): no digit is so long.
    const int cw = stats.at<int>(c, cv::CC_STAT_WIDTH), ch = stats.at<int>(c, cv::CC_STAT_HEIGHT);
    if (cw > 1.7 * bw * ds || ch > 1.7 * bh * ds) return {};
    // Two boxes' digits joined (each touching the border they share): which ink is whose is
    // not known; both boxes keep their interiors.
    bool joined = false;
    for (int p = 0; p < 3; ++p)
      joined = joined || (p != best && ib[size_t(p)] > 0.3 * ib[size_t(best)]);
    if (joined) continue;
    owner[size_t(c)] = best;
    if (outside[size_t(c)] >= min_px) spilled[size_t(best)] = true;
    for (int p = 0; p < 3; ++p)
      if (p != best && ib[size_t(p)] >= min_px) spilled[size_t(best)] = spilled[size_t(p)] = true;
  }
  // The interior crop's rect (ReadNumbers: the border and a little slack left out).
  auto interior = [&](int p) {
    return px(BoxInterior(n.digit_boxes[size_t(p)], n.box_line_mm, inset_mm)) & whole;
  };
  for (int p = 0; p < 3; ++p) {
    if (!spilled[size_t(p)]) continue;
    cv::Mat mine(g.size(), CV_8U, cv::Scalar(0)), theirs(g.size(), CV_8U, cv::Scalar(0));
    for (int y = 0; y < g.rows; ++y) {
      const int* l = labels.ptr<int>(y);
      uint8_t* m = mine.ptr<uint8_t>(y);
      uint8_t* t = theirs.ptr<uint8_t>(y);
      for (int x = 0; x < g.cols; ++x) {
        const int who = l[x] ? owner[size_t(l[x])] : -1;
        m[x] = who == p ? 255 : 0;
        t[x] = who >= 0 && who != p ? 255 : 0;
      }
    }
    // The strokes' soft edges come with them, the printed border's pixels beside them do not.
    const cv::Mat soft = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(5, 5));
    cv::dilate(mine, mine, soft);
    cv::dilate(theirs, theirs, soft);
    mine &= ~(band & ~crossing);
    // What is read: the box's interior as it is, less the ink of other boxes' digits, and this
    // box's own ink wherever it runs.
    const cv::Rect in = interior(p);
    cv::Mat keep(g.size(), CV_8U, cv::Scalar(0));
    // (Less the band along its edges that ReadNumbers paints paper: the border's residue.)
    const int edge = std::max(1, int(std::lround(edge_mm * ds)));
    const cv::Rect core(in.x + edge, in.y + edge, in.width - 2 * edge, in.height - 2 * edge);
    if (core.width > 0 && core.height > 0) keep(core).setTo(255);
    keep &= ~theirs;
    keep |= mine;
    const cv::Rect bb = cv::boundingRect(keep);
    cv::Rect win = in | bb;
    const int pad = std::max(2, int(0.1 * std::max(win.width, win.height)));
    win = cv::Rect(win.x - pad, win.y - pad, win.width + 2 * pad, win.height + 2 * pad) & whole;
    cv::Mat crop(win.size(), CV_8U, cv::Scalar(cv::saturate_cast<uint8_t>(paper)));
    g(win).copyTo(crop, keep(win));
    out[size_t(p)] = crop;
  }
  return out;
}

void ReadNumbers(const cv::Mat& work, const cv::Matx33d& H0, const Alignment& align, double px_per_mm,
                 const PageLayout& L, const Form& form, const ReadOptions& o, PageObservation* obs, cv::Mat* overlay) {
  constexpr double kGuideCut = 0.2;  // KPU's dotted guides absorb < 20 % of the light (after blur)
  // ... but so does a faint stroke (a blue ballpoint, blurred): light regions that survive an
  // opening of radius 1 px (wider than 3 px, 0.4-0.7 mm at these scales, where a guide's dots
  // are 0.3 mm) are kept as ink. Chosen on a validation set (KPU pages of seed 5: 38 -> 32
  // misread boxes of 4,520; radius 2: 36, 3: 38), not the benchmark's seed.
  constexpr int kFaintStrokePx = 1;
  constexpr double kInset = 0.2;     // mm inside the box's printed border
  constexpr double kBoxesReachMm = 8;  // how far from H's place the boxes' borders are looked for
  constexpr double kBand = 0.2;      // mm along the crop's edges painted paper
  struct Pending {
    size_t number;
    int pos;
  };
  std::vector<Image28> batch;
  std::vector<Pending> where;
  std::vector<cv::Mat> cleaned;  // per batch entry: the crop it was normalized from
  struct Gathered {  // a box with ink enough to be looked at, before it is normalized
    size_t number;
    int pos;
    cv::Mat clean;
    bool centre;  // ink at the normal contrast in its centre (else only the faint look's)
    double contrast;  // CentreContrast
  };
  std::vector<Gathered> boxes;
  std::vector<NumberEvidence> ev(L.numbers.size());
  // Boxes judged empty that hold some ink at the faint contrast: looked at again below where
  // the number says a digit must be there, or on a page written faintly.
  std::vector<std::array<cv::Mat, 3>> faint_crops(L.numbers.size());
  std::vector<std::array<double, 3>> faint_contrasts(L.numbers.size());  // their CentreContrast
  obs->fields.resize(L.numbers.size());
  const OmrOptions omr_opt;
  for (size_t i = 0; i < L.numbers.size(); ++i) {
    const NumberLayout& n = L.numbers[i];
    const cv::Matx33d H = align.For(H0, i);
    FieldReading& fr = obs->fields[i];
    fr.field = n.field;
    fr.page = L.page;
    ev[i].no_bubbles = !n.has_bubbles;
    fr.has_bubbles = n.has_bubbles;
    // One warp per number (digit boxes and bubbles) at ~50 px per box height and ~20 px per
    // bubble; the boxes and bubble rows are sub-rectangles of it.
    Rect br = n.digit_boxes[0];
    if (n.has_bubbles) {
      br = n.bubbles[0][0];
      for (const auto& row : n.bubbles)
        for (const Rect& r : row) br = Union(br, r);
      br = Expand(br, n.bubbles[0][0].w * 0.25);
    }
    // Digit boxes: one warp for the three, at the photo's own resolution (50..90 px per box
    // height); each box's interior is a sub-rectangle.
    const Rect dregion = Union(n.digit_boxes[0], n.digit_boxes[2]);
    const double bh = std::max(1.0, n.digit_boxes[0].h);
    const double ds = std::clamp(px_per_mm, 50.0 / bh, 90.0 / bh);
    // The boxes' own homography: H, moved to where their printed borders are if that is
    // clearly elsewhere. Only on a page aligned number by number (it does not lie flat); on a
    // page that fits as a whole the boxes are where H puts them.
    cv::Matx33d Hb = H;
    cv::Point2d bubbles_slip(0, 0);  // page mm: the bubble rows moved with the boxes (below)
    if (o.box_borders && !align.H.empty()) {
      const cv::Matx33d A = BoxesCorrection(work, H, n, ds, std::min(kBoxesReachMm, 0.6 * bh));
      if (A != cv::Matx33d::eye()) {
        Hb = H * A;
        ++obs->boxes_moved;
        if (n.has_bubbles) bubbles_slip = BubbleSlip(n, A);
      }
    }
    const cv::Mat dc = WarpRegion(work, Hb, dregion, ds);
    // The box borders' apparent width (PageObservation::line_widths, Reading::line_mm): three
    // places on each side.
    // An upright border whose neighbouring box's border lies within the profile (our form's
    // boxes stand 1 mm apart) would be measured with it, twice as wide: only the sides with
    // room are measured.
    constexpr double kProfileHalf = 1.6, kClear = 0.5;  // mm: ApparentLineWidthMm's reach, blur tails
    const std::array<size_t, 2> widths_before{obs->line_widths[0].size(),
                                              obs->line_widths[1].size()};
    for (size_t p = 0; p < n.digit_boxes.size(); ++p) {
      const Rect& b = n.digit_boxes[p];
      const double h = n.box_line_mm / 2;
      auto room = [&](size_t q, bool left) {  // the gap to box q, beside b's left or right side
        const Rect& o = n.digit_boxes[q];
        return left ? b.x - o.right() : o.x - b.right();
      };
      const bool left_ok = p == 0 || room(p - 1, true) + h > kProfileHalf + kClear;
      const bool right_ok = p + 1 == n.digit_boxes.size() || room(p + 1, false) + h > kProfileHalf + kClear;
      for (double f : {0.3, 0.5, 0.7}) {
        const std::pair<cv::Point2d, bool> at[4] = {  // a border's centre; crossed along x (upright)
            {{b.x + h, b.y + f * b.h}, true}, {{b.x + b.w - h, b.y + f * b.h}, true},
            {{b.x + f * b.w, b.y + h}, false}, {{b.x + f * b.w, b.y + b.h - h}, false}};
        for (int k = 0; k < 4; ++k) {
          if ((k == 0 && !left_ok) || (k == 1 && !right_ok)) continue;
          const auto& [c, upright] = at[k];
          const double w = ApparentLineWidthMm(work, Hb, c, upright ? cv::Point2d(1, 0) : cv::Point2d(0, 1), kProfileHalf);
          if (std::isfinite(w)) obs->line_widths[upright ? 0 : 1].push_back(w);
        }
      }
    }
    // Digits written past their boxes' borders: those boxes read from their own ink instead.
    // The borders' apparent width just measured (the wider of the two orientations' medians)
    // says how far their blur spreads.
    double line_seen = n.box_line_mm;
    for (int k = 0; k < 2; ++k) {
      std::vector<double> w(
          obs->line_widths[size_t(k)].begin() + std::ptrdiff_t(widths_before[size_t(k)]),
          obs->line_widths[size_t(k)].end());
      if (!w.empty()) line_seen = std::max(line_seen, Median(w));
    }
    std::array<cv::Mat, 3> interiors;
    for (int p = 0; p < 3; ++p) {
      // The box interior: the printed border (and a little alignment slack) left out.
      const Rect in = BoxInterior(n.digit_boxes[size_t(p)], n.box_line_mm, kInset);
      const cv::Rect bpx = cv::Rect(int(std::lround((in.x - dregion.x) * ds)), int(std::lround((in.y - dregion.y) * ds)),
                                    int(std::lround(in.w * ds)), int(std::lround(in.h * ds))) &
                           cv::Rect(0, 0, dc.cols, dc.rows);
      if (bpx.width < 8 || bpx.height < 8) continue;
      interiors[size_t(p)] = dc(bpx);
      // KPU's boxes carry a dotted 8-segment guide in light grey: anything lighter than ink
      // (absorbing < 20 % of the paper's light) is paper.
      if (n.segment_guides)
        interiors[size_t(p)] = SuppressLightGrey(interiors[size_t(p)], kGuideCut, kFaintStrokePx);
    }
    const double ts0 = Prof().on ? ThreadCpuMs() : 0;
    const std::array<cv::Mat, 3> spill =
        o.spill ? SpillCrops(work, Hb, n, ds, px_per_mm, line_seen, n.segment_guides, kGuideCut,
                             kFaintStrokePx, kInset, kBand)
                : std::array<cv::Mat, 3>{};
    if (Prof().on) Prof().spill_ms += ThreadCpuMs() - ts0;
    for (int p = 0; p < 3; ++p) {
      if (interiors[size_t(p)].empty()) continue;
      cv::Mat crop = interiors[size_t(p)];
      if (!spill[size_t(p)].empty()) {
        crop = spill[size_t(p)];
        ++obs->spilled_boxes;
      }
      if (o.box_crops || !o.debug_dir.empty()) fr.box_crops[size_t(p)] = crop.clone();
      // An empty box (residue of the border is not ink); a box with fainter ink is kept for
      // the second look below.
      const double contrast = CentreContrast(crop);
      const bool centre = contrast >= NormalizeOptions{}.min_contrast;
      if (!centre && !(o.faint_contrast > 0 && contrast >= o.faint_contrast)) continue;
      cv::Mat clean = crop.clone();
      WhitenEdges(&clean, std::max(1, int(std::lround(kBand * ds))));
      boxes.push_back({i, p, std::move(clean), centre, contrast});
    }
    const double tb0 = Prof().on ? ThreadCpuMs() : 0;
    // Bubbles: sampled straight from the photo through the homography. A number without
    // bubbles keeps three empty rows (no marks: the bubbles say nothing).
    for (int p = 0; p < 3 && n.has_bubbles; ++p) {
      cv::Matx33d Hr = align.For(H0, i, std::min(1 + p, kParts - 1)) *
                       cv::Matx33d(1, 0, bubbles_slip.x, 0, 1, bubbles_slip.y, 0, 0, 1);
      ev[i].rows[size_t(p)] = MeasureBubbleRowDirect(work, Hr, n.bubbles[size_t(p)], omr_opt);
      // On a page that does not lie flat, a row read unclear or with more than one mark is
      // looked for where its printed outlines are (BubbleRowOffset) and read again there. Only
      // where the disc a bubble is measured by stands less than that search's reach inside the
      // outline (our form's 3.6 mm bubbles: 0.5 mm); KPU's 8.4 mm bubbles leave 1.2 mm, more
      // than the alignment misses by (a bent KPU page lost a page to it, none gained).
      const BubbleRow& first = ev[i].rows[size_t(p)];
      const double margin = (1 - kInnerDisc) * n.bubbles[size_t(p)][0].w / 2;
      if (o.bubble_rows && !align.H.empty() && margin < kRowReachMm && (first.unclear > 0 || first.marks > 1)) {
        const cv::Point2d d = BubbleRowOffset(work, Hr, n.bubbles[size_t(p)], kRowReachMm);
        if (d != cv::Point2d(0, 0)) {
          Hr = Hr * cv::Matx33d(1, 0, d.x, 0, 1, d.y, 0, 0, 1);
          ev[i].rows[size_t(p)] = MeasureBubbleRowDirect(work, Hr, n.bubbles[size_t(p)], omr_opt);
          ++obs->rows_moved;
        }
      }
      for (int v = 0; v < 10; ++v) {
        fr.bubble_dark[size_t(p)][size_t(v)] = float(ev[i].rows[size_t(p)].dark[size_t(v)]);
        fr.bubble_ink[size_t(p)][size_t(v)] = float(ev[i].rows[size_t(p)].ink[size_t(v)]);
      }
    }
    if (Prof().on) Prof().bubbles_ms += ThreadCpuMs() - tb0;
    if (o.crops) {
      Rect all = Expand(Union(Union(n.digit_boxes[0], n.digit_boxes[2]), br), 1.0);
      cv::Mat c = WarpRegion(work, H, all, 6.0);
      try {
        cv::imencode(".png", c, fr.crop_png);
      } catch (const cv::Exception&) {
      }
    }
  }
  // The boxes' digits, normalized with the photo's grain: the median of up to 25 boxes' (a dim
  // photo's grain is the same all over the page; one box's estimate varies, and would smooth
  // a usual photo's box now and then).
  NormalizeOptions norm;
  std::vector<double> written_contrast;  // CentreContrast of the boxes read (then of the faint look's too)
  const double grain_limit = o.grain_limit != 0 ? o.grain_limit : FormGrainLimit(o.form);
  norm.grain_limit = std::max(grain_limit, 0.0);  // < 0: never (NormalizeOptions' 0)
  {
    const double tn0 = Prof().on ? ThreadCpuMs() : 0;
    std::vector<double> grains;
    const size_t step = std::max<size_t>(1, (boxes.size() + 24) / 25);
    for (size_t k = 0; k < boxes.size(); k += step) grains.push_back(CropGrain(boxes[k].clean));
    if (!grains.empty()) norm.grain = Median(grains);
    obs->grain = std::max(norm.grain, 0.0);
    for (Gathered& g : boxes) {
      Result<NormalizedDigit> nd = g.centre ? NormalizeDigitCrop(g.clean, norm) : NormalizedDigit{};
      if (o.faint_contrast > 0 && (!nd.ok() || nd->empty)) {
        faint_crops[g.number][size_t(g.pos)] = g.clean;
        faint_contrasts[g.number][size_t(g.pos)] = g.contrast;
      }
      if (nd.ok() && !nd->empty) {
        written_contrast.push_back(g.contrast);
        ev[g.number].boxes[size_t(g.pos)].empty = false;
        if (o.digit_inputs) obs->fields[g.number].box_input[size_t(g.pos)] = nd->pixels;
        batch.push_back(nd->pixels);
        where.push_back({g.number, g.pos});
        cleaned.push_back(std::move(g.clean));
      }
    }
    if (Prof().on) Prof().normalize_ms += ThreadCpuMs() - tn0;
  }
  // Bubble scores against the page's own per-value baseline (the printed labels: light grey
  // on our form, black on KPU's, where a "8" label holds more ink than a "1").
  {
    std::vector<const BubbleRow*> all;
    for (size_t i = 0; i < ev.size(); ++i)
      for (const auto& r : ev[i].rows)
        if (L.numbers[i].has_bubbles) all.push_back(&r);
    const std::array<double, 10> base = PageBubbleBaseline(all);
    for (size_t i = 0; i < ev.size(); ++i)
      for (int p = 0; p < 3 && L.numbers[i].has_bubbles; ++p) {
        ScoreBubbleRow(&ev[i].rows[size_t(p)], all.size() >= 6 ? &base : nullptr, omr_opt);
        obs->fields[i].row_mark[size_t(p)] = ev[i].rows[size_t(p)].marked;
      }
  }
  // A box judged empty where the number must hold a digit, after a written digit (a number has
  // no gaps) or where its bubbles spell a digit (a mark above 0 in this row or a row before):
  // looked at again for fainter ink, a light ballpoint or pencil stroke under the normal ink
  // contrast. Then, on a page written faintly (the boxes read so far, at either contrast, of a
  // median contrast under ReadOptions::faint_page_contrast), every box still judged empty with
  // such ink, a leading one too. A page with no digit read (a blank printed page, whose darker
  // guide dots show ink at the faint contrast) is not written faintly. Whatever the look reads
  // still has to agree with the bubbles or the form's rules.
  {
    bool added = false;
    auto look = [&](size_t i, int p) {
      NormalizeOptions faint = norm;
      faint.min_contrast = o.faint_contrast;
      auto nd = NormalizeDigitCrop(faint_crops[i][size_t(p)], faint);
      if (!nd.ok() || nd->empty) return;
      ev[i].boxes[size_t(p)].empty = false;
      if (o.digit_inputs) obs->fields[i].box_input[size_t(p)] = nd->pixels;
      batch.push_back(nd->pixels);
      where.push_back({i, p});
      cleaned.push_back(faint_crops[i][size_t(p)]);
      written_contrast.push_back(faint_contrasts[i][size_t(p)]);
      added = true;
    };
    for (size_t i = 0; i < L.numbers.size(); ++i) {
      bool written_before = false, bubbled_before = false;
      for (int p = 0; p < 3; ++p) {
        const BubbleRow& row = ev[i].rows[size_t(p)];
        bubbled_before = bubbled_before || (L.numbers[i].has_bubbles && row.marked > 0);
        const BoxEvidence& be = ev[i].boxes[size_t(p)];
        if (be.empty && (written_before || bubbled_before) && !faint_crops[i][size_t(p)].empty()) look(i, p);
        written_before = written_before || !be.empty;
      }
    }
    if (o.faint_page_contrast > 0 && !written_contrast.empty() &&
        Median(written_contrast) < o.faint_page_contrast) {
      for (size_t i = 0; i < L.numbers.size(); ++i)
        for (int p = 0; p < 3; ++p)
          if (ev[i].boxes[size_t(p)].empty && !faint_crops[i][size_t(p)].empty()) look(i, p);
    }
    if (added) {  // back in the order of the numbers and their boxes
      std::vector<size_t> order(where.size());
      for (size_t k = 0; k < order.size(); ++k) order[k] = k;
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return std::make_pair(where[a].number, where[a].pos) < std::make_pair(where[b].number, where[b].pos);
      });
      std::vector<Image28> b2;
      std::vector<Pending> w2;
      std::vector<cv::Mat> c2;
      for (size_t k : order) {
        b2.push_back(batch[k]);
        w2.push_back(where[k]);
        c2.push_back(cleaned[k]);
      }
      batch.swap(b2);
      where.swap(w2);
      cleaned.swap(c2);
    }
  }
  if (!o.debug_dir.empty()) {  // per number a row: the three boxes as the CNN sees them, then
                                // the three crops they came from
    constexpr int kRow = 60;
    cv::Mat mosaic(int(L.numbers.size()) * kRow, 3 * 60 + 3 * 60, CV_8UC1, cv::Scalar(128));
    size_t k = 0;
    for (size_t i = 0; i < L.numbers.size(); ++i)
      for (int p = 0; p < 3; ++p) {
        if (k < where.size() && where[k].number == i && where[k].pos == p) {
          cv::Mat big;
          cv::resize(ToMat(batch[k]), big, cv::Size(56, 56), 0, 0, cv::INTER_NEAREST);
          big.copyTo(mosaic(cv::Rect(p * 60, int(i) * kRow, 56, 56)));
          ++k;
        }
        cv::Mat c = obs->fields[i].box_crops[size_t(p)];
        if (c.empty()) continue;
        cv::resize(c, c, cv::Size(std::min(56, c.cols * 56 / std::max(1, c.rows)), 56));
        c.copyTo(mosaic(cv::Rect(180 + p * 60, int(i) * kRow, c.cols, 56)));
      }
    Stage{o.debug_dir, o.debug_name}.Write("4-digits", mosaic);
  }
  Prof().Mark("crops");
  if (!batch.empty() && (o.model != nullptr || o.fast != nullptr)) {
    std::vector<DigitPrediction> pred;
    if (o.fast != nullptr) pred = o.fast->ClassifyBatch(batch);
    if (pred.size() != batch.size() && o.model != nullptr) pred = o.model->ClassifyBatch(batch);
    // A second look at the boxes the CNN is unsure of: normalized again keeping the fainter
    // stretches of the strokes (where the pen pressed lightly, which the ink threshold drops),
    // the two readings averaged. Only where that changes the input.
    if (o.second_look_below > 0 && pred.size() == batch.size()) {
      NormalizeOptions faint = norm;
      faint.weak_ratio = 0.5;
      std::vector<Image28> again;
      std::vector<size_t> which;
      for (size_t k = 0; k < pred.size(); ++k) {
        if (pred[k].confidence >= o.second_look_below) continue;
        auto nd = NormalizeDigitCrop(cleaned[k], faint);
        if (!nd.ok() || nd->empty || nd->pixels == batch[k]) continue;
        again.push_back(nd->pixels);
        which.push_back(k);
      }
      std::vector<DigitPrediction> p2;
      if (!again.empty() && o.fast != nullptr) p2 = o.fast->ClassifyBatch(again);
      if (!again.empty() && p2.size() != again.size() && o.model != nullptr) p2 = o.model->ClassifyBatch(again);
      for (size_t j = 0; j < p2.size() && p2.size() == which.size(); ++j) {
        DigitPrediction& a = pred[which[j]];
        for (int d = 0; d < 10; ++d) a.prob[size_t(d)] = 0.5f * (a.prob[size_t(d)] + p2[j].prob[size_t(d)]);
        a.digit = int(std::max_element(a.prob.begin(), a.prob.end()) - a.prob.begin());
        a.confidence = a.prob[size_t(a.digit)];
        a.runner_up = a.digit == 0 ? 1 : 0;
        for (int d = 0; d < 10; ++d)
          if (d != a.digit && a.prob[size_t(d)] > a.prob[size_t(a.runner_up)]) a.runner_up = d;
        a.runner_up_prob = a.prob[size_t(a.runner_up)];
        if (o.digit_inputs) obs->fields[where[which[j]].number].box_input[size_t(where[which[j]].pos)] = again[j];
      }
    }
    Prof().Mark("cnn");
    for (size_t k = 0; k < pred.size(); ++k) {
      BoxEvidence& be = ev[where[k].number].boxes[size_t(where[k].pos)];
      be.prob = pred[k].prob;
      obs->fields[where[k].number].box_digit[size_t(where[k].pos)] = pred[k].digit;
      obs->fields[where[k].number].box_p[size_t(where[k].pos)] = pred[k].confidence;
      obs->fields[where[k].number].box_prob[size_t(where[k].pos)] = pred[k].prob;
    }
  }
  obs->numbers.resize(L.numbers.size());
  for (size_t i = 0; i < L.numbers.size(); ++i) {
    const int fi = form.IndexOf(L.numbers[i].field);
    const Value maxv = fi >= 0 ? form.fields()[size_t(fi)].max_value : L.numbers[i].max_value;
    obs->numbers[i] = CombineNumber(ev[i], std::min<Value>(maxv, L.numbers[i].max_value), o.hypotheses);
    const NumberReading& nr = obs->numbers[i];
    FieldReading& fr = obs->fields[i];
    fr.ocr = nr.ocr;
    fr.ocr_p = nr.ocr_p;
    fr.omr = nr.omr;
    fr.ocr_p_of_omr = nr.ocr_p_of_omr;
    fr.double_marked = nr.double_marked;
    for (const auto& [v, p] : nr.hypotheses) fr.hypotheses.push_back({v, p});
    if (L.numbers[i].tally) {
      fr.tally = MeasureTally(work, align.For(H0, i), *L.numbers[i].tally);
      if (Prof().on) {
        std::fprintf(stderr, "tally %s: %s cells %d (%d..%d) %s ink", fr.field.c_str(), fr.tally->read ? "read" : "not read",
                     fr.tally->cells, fr.tally->lo, fr.tally->hi, fr.tally->problem.c_str());
        for (float x : fr.tally->ink) std::fprintf(stderr, " %.1f", x);
        std::fprintf(stderr, " last cell uprights %d\n", fr.tally->last_uprights);
      }
    }
  }
  Prof().Mark("tally");
  if (overlay != nullptr && !overlay->empty()) {
    const double s = double(overlay->cols) / L.width_mm;
    for (size_t i = 0; i < L.numbers.size(); ++i) {
      const NumberLayout& n = L.numbers[i];
      const FieldReading& fr = obs->fields[i];
      const bool agree = fr.ocr != kMissing && fr.ocr == fr.omr;
      const cv::Scalar col = agree ? cv::Scalar(0, 160, 0) : cv::Scalar(0, 0, 230);
      for (const Rect& b : n.digit_boxes)
        cv::rectangle(*overlay, cv::Rect2d(b.x * s, b.y * s, b.w * s, b.h * s), col, 1);
      for (int p = 0; p < 3 && n.has_bubbles; ++p)
        for (int v = 0; v < 10; ++v) {
          const Rect& r = n.bubbles[size_t(p)][size_t(v)];
          const bool m = fr.row_mark[size_t(p)] == v;
          cv::circle(*overlay, cv::Point2d(r.cx() * s, r.cy() * s), std::max(1, int(r.w * s / 2)),
                     m ? cv::Scalar(255, 0, 0) : cv::Scalar(200, 200, 200), m ? 2 : 1);
        }
      const std::string t = (fr.ocr == kMissing ? std::string("?") : std::to_string(fr.ocr)) + "/" +
                            (fr.omr == kMissing ? std::string("?") : std::to_string(fr.omr));
      cv::putText(*overlay, t, cv::Point2d(n.digit_boxes[0].x * s, n.digit_boxes[0].y * s - 2),
                  cv::FONT_HERSHEY_SIMPLEX, 0.35, col, 1);
    }
  }
}

// The outline of page L through homography H (mm -> working px), `margin_mm` beyond its edges:
// what is painted over when another sheet in the photo is looked for.
std::vector<cv::Point> PageQuad(const cv::Matx33d& H, const PageLayout& L, double margin_mm) {
  std::vector<cv::Point> quad;
  for (const auto& c : RectCorners({-margin_mm, -margin_mm, L.width_mm + 2 * margin_mm, L.height_mm + 2 * margin_mm})) {
    const cv::Point2d p = Apply(H, c.x, c.y);
    quad.emplace_back(int(std::lround(std::clamp(p.x, -1e6, 1e6))), int(std::lround(std::clamp(p.y, -1e6, 1e6))));
  }
  return quad;
}

// `whole_photo`: false where `work` is the page's own box decoded finer (ReadDecoded), whose
// photo was searched for other sheets of our form already.
PageObservation ObservePage(const cv::Mat& work, const std::vector<PageLayout>& layouts,
                            const Form& form, const ReadOptions& o, bool whole_photo = true) {
  PageObservation obs;
  Stage stage{o.debug_dir, o.debug_name};
  const PageLayout& L0 = layouts[0];
  CheckerSearchMemo memo;
  // The print's field (LayoutFit) costs 0.1-0.2 s a homography tried; on a KPU page bent 8 mm the
  // right one came after up to 20 wrong ones (seed 418), and at most 3, 6, 12 or 24 tried found
  // 144, 157, 167 or 177 of 200 pages (180 unbounded; p95 0.8, 1.2, 1.6, 2.2 and 3.1 s), before
  // the chosen one's field was remembered for its alignment; since, 24 find 180 (p95 1.4 s).
  // Bounded all the same (a hostile photo), at 24.
  constexpr int kPrintFieldsLocating = 24;
  PrintFields print{o.print_field ? kPrintFieldsLocating : 0, {}};
  Location loc = IsKpu(o.form) ? LocateKpu(work, layouts, &memo, kGapPx, nullptr, o.blurred_search, &print)
                                : LocateOwn(work, L0, o.blurred_search);
  // Our own form's QR, read here once (the identity below uses it).
  std::optional<std::string> qr_text;
  bool qr_read = false;
  size_t own_several = 0;  // other sheets that may be the same TPS's same page
  PageObservation::Beside own;  // our form's other sheets (obs.beside)
  if (o.form == FormKind::kOwn && loc.found && L0.qr && whole_photo) {
    qr_text = ReadQr(work, loc.H, *L0.qr);
    qr_read = true;
    Prof().Mark("qr");
    // Another sheet of our form in the photo: two TPS counting in one hall hang or lay their
    // forms side by side, or a KPPS photographs a sheet beside the one it replaces. Looked for
    // where the page found has corner markers outside it (LocateOwn), or where its QR names
    // another TPS than the caller expects: the page found so far painted over (paper white, 3 mm
    // beyond its edges) and the page looked for again, up to three sheets in all. With --tps, the
    // sheet whose QR names that TPS is read. Any other sheet that may be the same TPS's same page
    // (its QR the same, or not read) keeps the page in review: which of the two counts is for
    // a person to say.
    auto identity = [&](const std::optional<std::string>& text) -> std::optional<QrPayload> {
      if (!text) return std::nullopt;
      auto q = ParseQrPayload(*text);
      if (!q.ok() || q->form_id != L0.form_id) return std::nullopt;
      return *q;
    };
    auto other_tps = [&](const std::optional<std::string>& text) {
      const auto q = identity(text);
      return q && !o.expected_tps.empty() && q->tps != o.expected_tps;
    };
    {  // our markers in the strips beside the page, as for KPU's tag (a sheet too small in the
       // reduced image LocateOwn searched first)
      std::vector<int> ids;
      for (const Fiducial& f : L0.fiducials) ids.push_back(f.marker_id);
      // Where a sheet half the size of this one shows its markers 20 detection px wide.
      OtherSheetsOfPage(work, cv::boundingRect(PageQuad(loc.H, L0, 0)), std::clamp(loc.tag_side / 2 / 20, 1.0 / 3, 4.0),
                        L0.fiducials[0].dictionary, ids, &loc.other_sheets);
      // Two corners at least: one alone may be a stray mark read as a marker.
      std::set<int> seen;
      for (const Marker& m : loc.other_sheets) seen.insert(m.id);
      if (seen.size() < 2) loc.other_sheets.clear();
      Prof().Mark("other sheets' markers");
    }
    if (!loc.other_sheets.empty() || other_tps(qr_text)) {
      struct Sheet {
        Location loc;
        std::optional<std::string> text;
        int matched = 0;  // its QR not decoded, its pattern the expected TPS's code on this page
      };
      // Each sheet's QR decoded, else read module by module, else its pattern matched with the
      // expected TPS's code: the page found first as well as the others, since which sheet is
      // which page of which TPS is told from them below.
      auto identify = [&](const cv::Mat& img, Sheet* sh) {
        if (!sh->text && o.qr_by_modules) sh->text = ReadQrByModules(img, sh->loc.H, L0);
        if (!sh->text && o.qr_by_pattern && !o.expected_tps.empty())
          sh->matched = MatchExpectedQr(img, sh->loc.H, layouts, o);
      };
      std::vector<Sheet> sheets{{loc, qr_text, 0}};
      identify(work, &sheets[0]);
      cv::Mat rest = work.clone();
      std::vector<std::vector<cv::Point>> quads;  // the sheets found, 3 mm beyond their edges
      // Corner markers outside every sheet found, of two corners at least: a sheet not yet found.
      auto unaccounted = [&] {
        std::set<int> ids;
        for (const Marker& m : loc.other_sheets)
          if (std::all_of(quads.begin(), quads.end(),
                          [&](const auto& q) { return cv::pointPolygonTest(q, MarkerCentre(m), false) < 0; }))
            ids.insert(m.id);
        return ids.size() >= 2;
      };
      for (int more = 0; more < 2; ++more) {
        quads.push_back(PageQuad(sheets.back().loc.H, L0, 3));
        cv::fillConvexPoly(rest, quads.back(), cv::Scalar(255));
        // The first other sheet is looked for also where no marker was seen outside the page
        // (its QR names another TPS than the caller's: the expected one may be beside it); a
        // third only where markers outside both are left.
        if (more > 0 && !unaccounted()) break;
        // Its corners within a tenth of its markers' side, not 6 %: a sheet beside the one the
        // photo was reduced for may be smaller and less sharp, its corners found less exactly in
        // px (it must fit its layout all the same, below).
        Location at = LocateOwn(rest, L0, o.blurred_search, 0.1);
        if (!at.found) break;
        Sheet sh{at, ReadQr(rest, at.H, *L0.qr), 0};
        identify(rest, &sh);
        if (Prof().on) std::fprintf(stderr, "another sheet of ours: QR %s%s\n", sh.text ? sh.text->c_str() : "unread", sh.matched > 0 ? " (matched)" : "");
        sheets.push_back(std::move(sh));
      }
      if (quads.size() < sheets.size()) quads.push_back(PageQuad(sheets.back().loc.H, L0, 3));  // the last found
      size_t chosen = 0;
      if (other_tps(qr_text))
        for (size_t k = 1; k < sheets.size(); ++k)
          if ((sheets[k].text && !other_tps(sheets[k].text) && identity(sheets[k].text)) || sheets[k].matched > 0) {
            chosen = k;
            break;
          }
      loc.H = sheets[chosen].loc.H;
      loc.px_per_mm = sheets[chosen].loc.px_per_mm;
      loc.rotation_deg = sheets[chosen].loc.rotation_deg;
      loc.markers = sheets[chosen].loc.markers;
      if (sheets[chosen].loc.blur_mm > 0) {
        loc.blur_mm = sheets[chosen].loc.blur_mm;
        loc.tag_blur_px = sheets[chosen].loc.tag_blur_px;
      }
      qr_text = sheets[chosen].text;
      qr_read = sheets[chosen].matched == 0;  // matched: identified again below, by its pattern
      // Each sheet's TPS and page, from its QR or its pattern.
      struct Id {
        std::string tps;
        int page = 0;
      };
      auto id_of = [&](const Sheet& sh) -> std::optional<Id> {
        if (const auto q = identity(sh.text)) return Id{q->tps, q->page};
        if (sh.matched > 0) return Id{o.expected_tps, sh.matched};
        return std::nullopt;
      };
      const auto me = id_of(sheets[chosen]);
      size_t same = 0, unknown = 0;
      for (size_t k = 0; k < sheets.size(); ++k) {
        if (k == chosen) continue;
        const auto q = id_of(sheets[k]);
        if (q && me) {
          if (q->tps == me->tps && q->page == me->page)
            ++same;
          else if (q->tps == me->tps)
            own.other_page = true;  // another page of this TPS's form: read too (ReadDecoded)
        } else if (q) {
          // The sheet read not identified at this size: a sheet of the expected TPS, or of any
          // where none is expected, may be its very page (ReadDecoded tells, once it is).
          if (o.expected_tps.empty() || q->tps == o.expected_tps) own.unplaced.push_back({q->tps, q->page});
        } else if (!sheets[k].text) {
          own.unread.push_back(quads[k]);  // its QR not read (ReadDecoded looks again, finer)
        } else {
          ++unknown;  // its QR not our form's
        }
      }
      // Markers outside the sheets found but no sheet located from them: a sheet only partly in
      // the photo, of a TPS no one can tell.
      if (unaccounted()) ++unknown;
      own_several = same + unknown + own.unread.size() + own.unplaced.size();
      own.in_review = int(same + unknown);
      own.copy = same == 1 && unknown == 0 && own.unread.empty() && own.unplaced.empty();
      if (Prof().on)
        std::fprintf(stderr, "other sheets: %zu found; the same page %zu, unknown %zu, QR unread %zu, page read unknown %zu, another page %d\n",
                     sheets.size(), same, unknown, own.unread.size(), own.unplaced.size(), int(own.other_page));
      Prof().Mark("other sheets");
    }
  }
  // A KPU page not found on a blurred photo: its printed lines are spread over a few px, and
  // the paper 1.5 px beside them is still the line. Found again with the paper sampled twice
  // the blur away (only then: every page found before is found as before).
  if (IsKpu(o.form) && o.blurred_search && !loc.found && 2 * loc.tag_blur_px > kGapPx) {
    Location again =
        LocateKpu(work, layouts, &memo, 2 * loc.tag_blur_px, &loc.markers, true, &print);
    if (again.found) loc = again;
  }
  Prof().Mark("locate");
  obs.print_fields = int(print.done.size());
  obs.blur_mm = loc.blur_mm;
  if (loc.found) {
    const PageLayout& Lf = layouts[std::min(loc.layout, layouts.size() - 1)];
    obs.page_px = loc.px_per_mm * std::max(Lf.width_mm, Lf.height_mm);
    obs.page_share = obs.page_px / std::max(1, std::max(work.cols, work.rows));
    std::vector<cv::Point2f> q;
    for (const auto& c : RectCorners({0, 0, Lf.width_mm, Lf.height_mm})) {
      const cv::Point2d p = Apply(loc.H, c.x, c.y);
      q.emplace_back(float(p.x), float(p.y));
    }
    obs.page_box = cv::boundingRect(q);
    obs.page_quad = PageQuad(loc.H, Lf, 3);
    obs.beside = own;
    if (IsKpu(o.form))
      for (const Marker& m : loc.markers)
        for (const PageLayout& l : layouts)
          obs.beside.other_page = obs.beside.other_page || (&l != &Lf && l.page_marker && m.id == l.page_marker->marker_id);
  }
  if (!loc.found && loc.blur_mm == 0) {
    double page_mm = 0;
    for (const PageLayout& L : layouts) page_mm = std::max({page_mm, L.width_mm, L.height_mm});
    obs.photo_blur_px = PhotoEdgeBlurPx(work);
    obs.photo_blur_mm = obs.photo_blur_px * page_mm / std::max(work.cols, work.rows);
    Prof().Mark("photo blur");
  }
  if (Prof().on && loc.found) {
    for (const auto& c : RectCorners({0, 0, L0.width_mm, L0.height_mm})) {
      const auto q = Apply(loc.H, c.x, c.y);
      std::fprintf(stderr, "corner (%.1f, %.1f) ", q.x, q.y);
    }
    std::fprintf(stderr, " [working px; x reduction for the photo]\n");
    for (const auto& f : L0.fiducials) {
      const auto q = Apply(loc.H, f.box.cx(), f.box.cy());
      std::fprintf(stderr, "fid (%.1f, %.1f) ", q.x, q.y);
    }
    for (const auto& p : loc.points) std::fprintf(stderr, "pt (%.1f, %.1f) ", p.x, p.y);
    std::fprintf(stderr, "\n");
  }
  if (!o.debug_dir.empty()) {
    cv::Mat dbg;
    cv::cvtColor(work, dbg, cv::COLOR_GRAY2BGR);
    for (const Marker& m : loc.markers) {
      std::vector<cv::Point> poly;
      for (const auto& c : m.corners) poly.emplace_back(int(c.x), int(c.y));
      cv::polylines(dbg, poly, true, cv::Scalar(0, 200, 0), 3);
      cv::putText(dbg, std::to_string(m.id), poly[0], cv::FONT_HERSHEY_SIMPLEX, 1.5, cv::Scalar(0, 0, 255), 3);
    }
    for (const auto& p : loc.points) cv::circle(dbg, p, 12, cv::Scalar(0, 0, 255), 2);
    if (loc.found) {
      std::vector<cv::Point> poly;
      for (const auto& c : RectCorners({0, 0, L0.width_mm, L0.height_mm})) {
        const auto p = Apply(loc.H, c.x, c.y);
        poly.emplace_back(int(p.x), int(p.y));
      }
      cv::polylines(dbg, poly, true, cv::Scalar(255, 0, 0), 3);
    }
    stage.Write("1-detection", dbg);
  }
  if (!loc.found) {
    obs.reasons.push_back(loc.failure.value_or(MakeReason(reason::kPageNotFound)));
    return obs;
  }

  // Identity.
  const PageLayout* L = &L0;
  if (o.form == FormKind::kOwn) {
    std::optional<std::string> text = qr_text;
    if (L0.qr && !qr_read) text = ReadQr(work, loc.H, *L0.qr);
    if (!text && L0.qr && o.qr_by_modules) text = ReadQrByModules(work, loc.H, L0);
    if (!text && L0.qr && o.qr_by_pattern && !o.expected_tps.empty()) {
      // Not decoded: is it the code printed for the expected TPS, on one of the pages?
      if (const int page = MatchExpectedQr(work, loc.H, layouts, o); page > 0) {
        obs.tps = o.expected_tps;
        obs.page = page;
        obs.qr = qr::kMatched;
        L = &layouts[size_t(page - 1)];
      }
    }
    if (!text && obs.qr.empty()) {
      obs.reasons.push_back(MakeReason(
          reason::kQrUnreadable,
          !o.qr_by_pattern ? std::string("kode QR tidak terbaca / QR code unreadable")
          : o.expected_tps.empty()
              ? std::string("kode QR tidak terbaca; dengan --tps polanya dicocokkan / QR code unreadable; with "
                            "--tps its pattern is matched")
              : "kode QR tidak terbaca dan polanya bukan kode TPS " + o.expected_tps +
                    " / QR code unreadable, and its pattern is not the code of TPS " + o.expected_tps));
      obs.page = 0;
      obs.qr = qr::kUnreadable;
    } else if (text) {
      obs.qr = qr::kDecoded;
      auto q = ParseQrPayload(*text);
      if (!q.ok()) {
        obs.reasons.push_back(MakeReason(reason::kMarkerMismatch,
                                         "kode QR bukan formulir rekap / QR is not a rekap form: " +
                                             text->substr(0, 80)));
        return obs;
      }
      if (q->form_id != L0.form_id || q->version != L0.version || q->contest != L0.contest ||
          q->pages != int(layouts.size())) {
        obs.reasons.push_back(MakeReason(
            reason::kMarkerMismatch, "formulir lain / another form: " + q->form_id + " v" +
                                         std::to_string(q->version) + " " + q->contest + " " +
                                         std::to_string(q->page) + "/" + std::to_string(q->pages)));
        return obs;
      }
      obs.tps = q->tps;
      obs.page = q->page;
      if (q->page < 1 || q->page > int(layouts.size()) ||
          (o.expected_page > 0 && q->page != o.expected_page)) {
        obs.reasons.push_back(MakeReason(reason::kWrongPage,
                                         "halaman / page " + std::to_string(q->page)));
        return obs;
      }
      if (!o.expected_tps.empty() && q->tps != o.expected_tps) {
        obs.reasons.push_back(MakeReason(reason::kTpsMismatch,
                                         "QR TPS " + q->tps + " != " + o.expected_tps));
        return obs;
      }
      L = &layouts[size_t(q->page - 1)];
    }
    if (obs.page == 0) {
      // Without the QR we do not know the page; with a one-page form it can only be page 1.
      if (layouts.size() == 1 || o.expected_page > 0) {
        obs.page = o.expected_page > 0 ? o.expected_page : 1;
        if (obs.page > int(layouts.size())) return obs;
        L = &layouts[size_t(obs.page - 1)];
      } else {
        return obs;
      }
    }
  } else {
    L = &layouts[std::min(loc.layout, layouts.size() - 1)];
    obs.page = L->page;
    if (o.expected_page > 0 && o.expected_page != L->page) {
      obs.reasons.push_back(MakeReason(reason::kWrongPage, "halaman / page " + std::to_string(L->page)));
      return obs;
    }
  }
  // Fail closed on a misregistered page: the printed boxes and bubbles must be where the
  // homography puts them (each number moved by its own small offset on a page that does not lie
  // flat).
  Alignment align;
  {
    if (o.print_field) print.left += 2;  // this page's own alignment (its field remembered if computed)
    double fit = LayoutFit(work, loc.H, *L, &align, kAlignFrom, loc.gap_px, &print);
    // Our form on a blurred photo: the paper beside each printed line sampled twice the blur
    // at the markers' edges away, as LocateKpu's retry does (only for a page that did not fit).
    if (!IsKpu(o.form) && o.blurred_search && fit < kMinLayoutFit && 2 * loc.tag_blur_px > loc.gap_px) {
      Alignment again;
      const double fit2 = LayoutFit(work, loc.H, *L, &again, kAlignFrom, 2 * loc.tag_blur_px, &print);
      if (Prof().on) std::fprintf(stderr, "layout fit %.3f; with the paper %.2f px away %.3f\n", fit, 2 * loc.tag_blur_px, fit2);
      if (fit2 >= kMinLayoutFit) {
        fit = fit2;
        align = std::move(again);
        loc.gap_px = 2 * loc.tag_blur_px;
      }
    }
    if (Prof().on) std::fprintf(stderr, "layout fit %.3f%s\n", fit, !align.H.empty() ? " (aligned number by number)" : "");
    obs.print_fields = int(print.done.size());
    if (fit < kMinLayoutFit) {
      obs.reasons.push_back(MakeReason(reason::kPageNotFound,
                                       "tata letak tidak cocok / the layout does not fit the photo (" +
                                           std::to_string(fit).substr(0, 5) + ")"));
      obs.page = 0;
      return obs;
    }
  }
  obs.bend_mm = align.print_bend_mm;
  obs.found = obs.reasons.empty() || obs.reasons[0].code == reason::kQrUnreadable;
  Prof().Mark("qr");
  if (IsKpu(o.form) && L->page_marker) {
    // Searched where a tag a third of the side of the page's own spans about 30 detection px,
    // for the tags of the form's other pages read too (the whole sheet, `--form kpu-ppwp`).
    std::vector<int> ids{L->page_marker->marker_id};
    for (const PageLayout& l : layouts)
      if (l.page_marker && l.page_marker->marker_id != ids[0]) ids.push_back(l.page_marker->marker_id);
    OtherSheetsOfPage(work, obs.page_box, std::clamp(loc.tag_side / 3 / 30, 1.0 / 3, 4.0), L->page_marker->dictionary,
                      ids, &loc.other_sheets);
    // Another page's tag is another page hung beside this one, not another sheet of it.
    const auto others =
        std::stable_partition(loc.other_sheets.begin(), loc.other_sheets.end(), [&](const Marker& m) { return m.id == ids[0]; });
    obs.beside.other_page = obs.beside.other_page || others != loc.other_sheets.end();
    loc.other_sheets.erase(others, loc.other_sheets.end());
    Prof().Mark("other sheets");
  }
  if (IsKpu(o.form)) obs.beside.copy = loc.other_sheets.size() == 1;
  if (const size_t several = IsKpu(o.form) ? loc.other_sheets.size() : own_several; several > 0) {
    // found and read all the same, for the person who checks it
    const std::string n = std::to_string(several + 1), page = std::to_string(L->page);
    obs.reasons.push_back(MakeReason(reason::kSeveralSheets,
                                     n + " lembar halaman " + page +
                                         " dalam satu foto; satu di antaranya dibaca. Foto satu lembar saja / " + n +
                                         " sheets of page " + page +
                                         " in one photo; one of them is read. Photograph one sheet at a time"));
  }

  cv::Mat overlay;
  if (!o.debug_dir.empty()) {
    const double s = 3.0 * 297.0 / std::max(297.0, L->width_mm);
    overlay = WarpRegion(work, loc.H, {0, 0, L->width_mm, L->height_mm}, s);
    stage.Write("2-rectified", overlay);
    cv::cvtColor(overlay, overlay, cv::COLOR_GRAY2BGR);
  }
  ReadNumbers(work, loc.H, align, loc.px_per_mm, *L, form, o, &obs, overlay.empty() ? nullptr : &overlay);
  if (!overlay.empty()) stage.Write("3-boxes", overlay);
  return obs;
}

// Photos holding two sheets of one page (`copies`: the index in `obs` of the sheet read first,
// and the other's observation). Decided as read (`several_sheets`), unless both sheets, each
// decided with the other photos in place of the first, are accepted with every number the
// same: then the page is, and says so (Reading::copies). Where both are read well enough to be
// accepted alone but differ, each number that differs is named (`copies_disagree`).
Reading CopiesAgree(const Form& form, const std::vector<PageLayout>& layouts, std::vector<PageObservation>& obs,
                    std::vector<std::pair<size_t, PageObservation>>& copies, const ReadOptions& o) {
  Reading rd = Decide(form, layouts, obs, o);
  auto drop = [](PageObservation* ob) {
    std::erase_if(ob->reasons, [](const Reason& r) { return r.code == reason::kSeveralSheets; });
  };
  std::vector<PageObservation> alone = obs;
  for (auto& [k, copy] : copies) {
    drop(&alone[k]);
    drop(&copy);
  }
  Reading first = Decide(form, layouts, alone, o);
  if (!first.accepted) return rd;
  std::vector<std::string> differ;
  for (auto& [k, copy] : copies) {
    std::vector<PageObservation> other = alone;
    other[k] = copy;
    const Reading second = Decide(form, layouts, other, o);
    if (!second.accepted) return rd;
    for (const FieldReading& f : first.fields) {
      if (f.page != obs[k].page) continue;
      const FieldReading* g = second.Find(f.field);
      if (g == nullptr || g->value != f.value)
        differ.push_back(f.field + ": " + std::to_string(f.value) + " / " +
                         (g == nullptr || g->value == kMissing ? std::string("?") : std::to_string(g->value)));
    }
  }
  if (differ.empty()) {
    for (const auto& [k, copy] : copies) first.copies[obs[k].page] = 2;
    return first;
  }
  Reason r = MakeReason(reason::kCopiesDisagree, "berbeda / differ:");
  for (size_t j = 0; j < differ.size(); ++j) r.detail += (j == 0 ? " " : "; ") + differ[j];
  rd.reasons.push_back(std::move(r));
  return rd;
}

// `photo_of[i]`: the position (1-based) of works[i] among the photos the caller was given, when
// some could not be decoded (else i + 1).
// `finer(i, f)`, if given, decodes photo `i` again f (a power of 2) times finer, or gives an
// empty Mat where it cannot (kSmallPageShare).
using FinerDecode = std::function<cv::Mat(size_t, int)>;
Result<Reading> ReadDecoded(std::span<const cv::Mat> works, std::vector<Reason> pre,
                            const ReadOptions& o, Clock::time_point t0, double cpu0,
                            std::span<const int> photo_of = {}, const FinerDecode& finer = {}) {
  if (o.model == nullptr && !o.digit_inputs) return InvalidArgument("ReadOptions.model is required");
  REKAP_ASSIGN_OR_RETURN(FormRef fref, EffectiveForm(o));
  REKAP_ASSIGN_OR_RETURN(std::vector<PageLayout> layouts, Layouts(o));
  std::vector<PageObservation> obs;
  std::vector<std::pair<size_t, PageObservation>> copies;  // obs[first]'s page read from its copy
  for (size_t i = 0; i < works.size(); ++i) {
    ReadOptions oi = o;
    if (works.size() > 1) oi.debug_name = o.debug_name + "-" + std::to_string(i + 1);
    // Photo i (or `w`, a copy of it with a page painted over) observed, and where the page fills
    // little of it, observed again decoded finer around the page.
    // Box `b` of `w` (working px), `margin` of its size beyond each side, in `fine`: the same
    // photo decoded finer.
    auto in_fine = [](const cv::Rect2d& b, double margin, const cv::Mat& w, const cv::Mat& fine) {
      const double fx = double(fine.cols) / w.cols, fy = double(fine.rows) / w.rows;
      const double mx = margin * b.width, my = margin * b.height;
      return cv::Rect(cv::Point(int(std::floor((b.x - mx) * fx)), int(std::floor((b.y - my) * fy))),
                      cv::Point(int(std::ceil((b.x + b.width + mx) * fx)), int(std::ceil((b.y + b.height + my) * fy)))) &
             cv::Rect(0, 0, fine.cols, fine.rows);
    };
    auto observe = [&](const cv::Mat& w) {
      PageObservation first = ObservePage(w, layouts, *fref.form, oi);
      // A page that fills little of the photo observed again decoded finer around it; also one
      // located whose QR could not be read at the working size (it may be, finer).
      if (finer && o.finer_decode && (first.found || (first.page_px > 0 && first.qr == qr::kUnreadable)) &&
          first.page_share < kSmallPageShare && first.page_px < kPagePx) {
        int f = 2;
        while (f < 8 && first.page_px * f < kPagePx) f *= 2;
        const cv::Mat fine = finer(i, f);
        if (!fine.empty()) {
          Prof().Mark("finer decode");
          // The page is looked for again only around where it was found (a tenth of its size
          // beyond each side): on the rest of a large photo, locating costs time for nothing.
          const cv::Rect roi = in_fine(first.page_box, 0.1, w, fine);
          PageObservation again = ObservePage(roi.area() > 0 ? fine(roi) : fine, layouts, *fref.form, oi, false);
          // The finer look sees only the page's box: another sheet seen beside it stays said.
          for (const Reason& r : first.reasons)
            if (r.code == reason::kSeveralSheets && again.found &&
                std::none_of(again.reasons.begin(), again.reasons.end(), [&](const Reason& a) { return a.code == r.code; }))
              again.reasons.push_back(r);
          // KPU: the same page only (the box's margin may hold another page's tag, larger).
          if (again.found && (!IsKpu(o.form) || again.page == first.page)) {
            again.finer = f;
            again.page_quad = first.page_quad;  // in the photo's working px, as before
            again.beside = first.beside;  // in `w`'s px
            first = std::move(again);
          }
        }
      }
      // Our form: the other sheets whose relation to the page read was not known in ObservePage
      // (their QR not read at the working size: read again from the photo decoded finer around
      // each, a sheet beside the one the photo was reduced for being smaller; or the page read's
      // own QR not read there), now that the page is identified. A sheet of the same TPS's other
      // page is read too; where none is the same page and nothing else keeps the page in review,
      // `several_sheets` goes; where one is, and only it, it is read as a copy (CopiesAgree).
      if (first.found && !first.tps.empty() && first.qr != qr::kUnreadable && layouts[0].qr &&
          (!first.beside.unread.empty() || !first.beside.unplaced.empty())) {
        const PageLayout& L0 = layouts[0];
        std::vector<std::pair<std::string, int>> ids = first.beside.unplaced;
        bool all = first.beside.unread.empty();
        if (!all && finer && o.finer_decode && first.beside.in_review == 0) {
          for (const auto& quad : first.beside.unread) {
            const cv::Rect b = cv::boundingRect(quad) & cv::Rect(0, 0, w.cols, w.rows);
            if (b.area() <= 0) break;
            int f = 2;
            while (f < 8 && std::max(b.width, b.height) * f < kPagePx) f *= 2;
            const cv::Mat fine = finer(i, f);
            if (fine.empty()) break;
            const cv::Rect roi = in_fine(b, 0, w, fine);
            if (roi.area() <= 0) break;
            const cv::Mat part = fine(roi);
            const Location at = LocateOwn(part, L0, o.blurred_search);
            if (!at.found) break;
            std::optional<std::string> text = ReadQr(part, at.H, *L0.qr);
            if (!text && o.qr_by_modules) text = ReadQrByModules(part, at.H, L0);
            if (Prof().on) std::fprintf(stderr, "another sheet of ours, finer (x%d): QR %s\n", f, text ? text->c_str() : "unread");
            if (!text) break;
            const auto q = ParseQrPayload(*text);
            if (!q.ok() || q->form_id != L0.form_id) break;
            ids.push_back({q->tps, q->page});
          }
          all = ids.size() == first.beside.unplaced.size() + first.beside.unread.size();
          Prof().Mark("other sheets, finer");
        }
        size_t same = 0;
        for (const auto& [tps, page] : ids)
          if (tps == first.tps) {
            if (page == first.page)
              ++same;
            else
              first.beside.other_page = true;
          }
        if (all && first.beside.in_review == 0 && same == 0)
          std::erase_if(first.reasons, [](const Reason& r) { return r.code == reason::kSeveralSheets; });
        else if (all && first.beside.in_review == 0 && same == 1)
          first.beside.copy = true;
        first.beside.unread.clear();
        first.beside.unplaced.clear();
      }
      first.photo = i < photo_of.size() ? photo_of[i] : int(i) + 1;
      return first;
    };
    obs.push_back(observe(works[i]));
    // Two sheets of this very page in the photo (a witness's copy beside the KPPS's sheet, or a
    // sheet beside the one it replaces): the page read painted over and the other sheet read
    // too, for CopiesAgree.
    if (obs.back().found && obs.back().beside.copy && obs.back().page_quad.size() == 4) {
      cv::Mat rest = works[i].clone();
      cv::fillConvexPoly(rest, obs.back().page_quad, cv::Scalar(255));
      const std::string name = oi.debug_name;
      oi.debug_name += "-copy";
      PageObservation copy = observe(rest);
      oi.debug_name = name;
      const bool same = copy.found && copy.page == obs.back().page && copy.tps == obs.back().tps &&
                        std::none_of(copy.reasons.begin(), copy.reasons.end(),
                                     [](const Reason& r) { return r.code == reason::kSeveralSheets; });
      if (Prof().on) std::fprintf(stderr, "a copy of the page: %s\n", copy.found ? (same ? "read" : "another page") : "not found");
      if (same) copies.emplace_back(obs.size() - 1, std::move(copy));
    }
    // KPU's pages 2 and 3 hung side by side in one photo (the form read as both pages), or
    // pages of our form's for one TPS laid out together: another page seen (KPU: its tag; ours:
    // its QR), the pages read so far painted over and the photo observed again, as long as each
    // look finds a page not yet read and sees another (ours: ObservePage locates three sheets
    // at most, so up to three pages; a fourth sheet seen keeps the page in review). Else the
    // photo is the pages found, as before.
    std::set<int> pages_read{obs.back().page};
    cv::Mat rest;
    const std::string name = oi.debug_name;
    while (pages_read.size() < std::min<size_t>(layouts.size(), 3) && obs.back().found && obs.back().beside.other_page &&
           obs.back().page_quad.size() == 4) {
      if (rest.empty()) rest = works[i].clone();
      cv::fillConvexPoly(rest, obs.back().page_quad, cv::Scalar(255));
      // --debug: its stages beside the first page's, not over them
      oi.debug_name = name + "-other" + (pages_read.size() > 1 ? std::to_string(pages_read.size()) : "");
      PageObservation next = observe(rest);
      if (Prof().on) std::fprintf(stderr, "another page in the photo: %s page %d\n", next.found ? "found" : "not found", next.page);
      if (!next.found || !pages_read.insert(next.page).second) break;
      obs.push_back(std::move(next));
    }
  }
  for (Reason& r : pre) {  // photos that could not be decoded
    PageObservation ob;
    ob.reasons.push_back(std::move(r));
    obs.push_back(std::move(ob));
  }
  Reading rd = copies.empty() ? Decide(*fref.form, layouts, obs, o) : CopiesAgree(*fref.form, layouts, obs, copies, o);
  rd.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  rd.cpu_ms = ThreadCpuMs() - cpu0;
  Prof().Mark("decide");
  Prof().Flush();
  return rd;
}

}  // namespace rekap::reader::detail

namespace rekap::reader {

using namespace detail;


const FieldReading* Reading::Find(std::string_view field) const {
  for (const auto& f : fields)
    if (f.field == field) return &f;
  return nullptr;
}

bool Reading::HasReason(std::string_view code) const {
  for (const auto& r : reasons)
    if (r.code == code) return true;
  return false;
}

Result<Reading> ReadPage(std::span<const uint8_t> photo, const ReadOptions& options) {
  const auto t0 = Clock::now();
  const double cpu0 = ThreadCpuMs();
  Decoded d;
  std::vector<cv::Mat> works;
  std::vector<Reason> pre;
  Prof().Reset();
  if (auto r = DecodePhoto(photo, &d)) pre.push_back(*r);
  else works.push_back(d.grey);
  Prof().Mark("decode");
  auto finer = [&](size_t, int f) { return DecodeFiner(photo, d, f); };
  return ReadDecoded(works, std::move(pre), options, t0, cpu0, {}, finer);
}

Result<Reading> ReadPage(const cv::Mat& photo, const ReadOptions& options) {
  const auto t0 = Clock::now();
  const double cpu0 = ThreadCpuMs();
  std::vector<cv::Mat> works;
  std::vector<Reason> pre;
  if (photo.empty() || photo.depth() != CV_8U ||
      (photo.channels() != 1 && photo.channels() != 3 && photo.channels() != 4)) {
    pre.push_back(MakeReason(reason::kImageUnreadable, "not an 8-bit image"));
  } else if (int64_t(photo.cols) * photo.rows > kMaxPhotoPixels) {
    pre.push_back(MakeReason(reason::kImageTooLarge, "> 60 Mpx"));
  } else if (std::min(photo.cols, photo.rows) < kMinPhotoSide) {
    pre.push_back(MakeReason(reason::kImageTooSmall, "< " + std::to_string(kMinPhotoSide) + " px"));
  } else {
    cv::Mat g;
    if (photo.channels() == 3) cv::cvtColor(photo, g, cv::COLOR_BGR2GRAY);
    else if (photo.channels() == 4) cv::cvtColor(photo, g, cv::COLOR_BGRA2GRAY);
    else g = photo;
    works.push_back(g);
  }
  return ReadDecoded(works, std::move(pre), options, t0, cpu0);
}

Result<Reading> ReadPages(std::span<const std::vector<uint8_t>> photos, const ReadOptions& options) {
  if (photos.size() > kMaxPhotosPerTps)
    return InvalidArgument("terlalu banyak foto untuk satu TPS (" + std::to_string(photos.size()) + ", maks. " +
                           std::to_string(kMaxPhotosPerTps) + ") / too many photos for one TPS (max " +
                           std::to_string(kMaxPhotosPerTps) + ")");
  const auto t0 = Clock::now();
  const double cpu0 = ThreadCpuMs();
  Prof().Reset();
  std::vector<cv::Mat> works;
  std::vector<int> photo_of;
  std::vector<Decoded> first;  // per photo decoded: its size and reduction (the pixels in works)
  std::vector<Reason> pre;
  for (size_t i = 0; i < photos.size(); ++i) {
    Decoded d;
    if (auto r = DecodePhoto(photos[i], &d)) {
      pre.push_back(*r);
    } else {
      works.push_back(d.grey);
      photo_of.push_back(int(i) + 1);
      d.grey.release();
      first.push_back(d);
    }
  }
  if (photos.empty()) pre.push_back(MakeReason(reason::kPageNotFound, "tidak ada foto / no photo"));
  Prof().Mark("decode");
  auto finer = [&](size_t i, int f) { return DecodeFiner(photos[size_t(photo_of[i] - 1)], first[i], f); };
  return ReadDecoded(works, std::move(pre), options, t0, cpu0, photo_of, finer);
}

std::string ReasonMessage(const std::string& code) {
  static const std::map<std::string, std::string, std::less<>> kMessages = {
      {reason::kPageNotFound, "halaman formulir tidak ditemukan di foto / the form's page was not found in the photo"},
      {reason::kMarkerMismatch, "penanda halaman milik formulir lain / the page's markers belong to another form"},
      {reason::kTpsMismatch, "halaman ini milik TPS lain / this page belongs to another TPS"},
      {reason::kTpsUnknown, "TPS tidak diketahui (berikan --tps) / the TPS is unknown (give --tps)"},
      {reason::kWrongPage, "halaman yang salah atau ganda / a wrong or repeated page"},
      {reason::kSeveralSheets, "lebih dari satu lembar halaman ini dalam foto; foto satu lembar saja / more than one "
                               "sheet of this page in the photo; photograph one sheet at a time"},
      {reason::kCopiesDisagree, "dua lembar halaman ini dalam foto berbeda angkanya / two sheets of this page in the "
                                "photo disagree"},
      {reason::kPageMissing, "ada halaman formulir yang belum difoto / a page of the form was not photographed"},
      {reason::kQrUnreadable, "kode QR tidak terbaca / the QR code cannot be read"},
      {reason::kImageUnreadable, "berkas bukan foto yang bisa dibaca / the file is not a readable photo"},
      {reason::kImageTooLarge, "foto terlalu besar / the photo is too large"},
      {reason::kImageTooSmall, "foto terlalu kecil / the photo is too small"},
      {reason::kLowConfidence, "angka ini tidak terbaca cukup yakin; periksa potongannya / this number is not read "
                               "surely enough; check its crop"},
      {reason::kOcrOmrDisagree, "angka di kotak dan bulatan yang diisi berbeda / the digits in the boxes and the "
                                "bubbles marked disagree"},
      {reason::kRuleBroken, "aturan hitungan formulir tidak terpenuhi / a rule of the form's arithmetic is broken"},
      {reason::kBubbleDoubleMarked, "lebih dari satu bulatan diisi dalam satu baris / more than one bubble marked in a "
                                    "row"},
      {reason::kBubbleEmpty, "bulatan angka ini tidak diisi / the bubbles of this number are not marked"},
      {reason::kNoSolution, "tidak ada nilai yang memenuhi aturan formulir / no values satisfy the form's rules"},
      {reason::kFieldBlank, "isian ini kosong / this field is blank"},
      {reason::kUnconfirmed, "angka ini hanya terbaca sekali dan tidak ada yang mengonfirmasi / this number is read "
                             "once and nothing confirms it"},
      {reason::kTallyDisagrees, "turus tidak sesuai dengan angka / the tally disagrees with the number"},
      {reason::kPhotoBlurred, "foto terlalu kabur; ambil foto lagi / the photo is too blurred; take it again"},
      {reason::kPhotoDark, "foto terlalu gelap dan berbintik; ambil lagi di tempat terang / the photo is too dark and "
                           "grainy; take it again in better light"},
  };
  const auto it = kMessages.find(code);
  return it == kMessages.end() ? std::string() : it->second;
}

nlohmann::json ToJson(const Reason& r) {
  nlohmann::json j;
  j["code"] = r.code;
  if (const std::string m = ReasonMessage(r.code); !m.empty()) j["message"] = m;
  if (!r.field.empty()) j["field"] = r.field;
  if (!r.rule.empty()) j["rule"] = r.rule;
  if (r.p >= 0) j["p"] = r.p;
  if (!r.detail.empty()) j["detail"] = r.detail;
  return j;
}

nlohmann::json ToJson(const Reading& r) {
  using nlohmann::json;
  auto val = [](Value v) { return v == kMissing ? json(nullptr) : json(v); };
  json j;
  j["status"] = r.status();
  j["form"] = r.form;
  j["page"] = r.page;
  j["pages"] = r.pages;
  j["pages_confirmed"] = r.pages_confirmed;
  j["tps"] = r.tps;
  j["tps_from"] = r.tps_from.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.tps_from);
  j["fields"] = json::object();
  for (const auto& f : r.fields) {
    json jf;
    jf["value"] = val(f.value);
    jf["ocr"] = val(f.ocr);
    jf["omr"] = val(f.omr);
    jf["confidence"] = std::round(f.confidence * 1e6) / 1e6;
    jf["ocr_p"] = std::round(f.ocr_p * 1e6) / 1e6;
    if (f.omr != kMissing && f.omr != f.ocr) jf["ocr_p_of_omr"] = f.ocr_p_of_omr;
    jf["verified"] = f.verified;
    if (!f.confirmed_by.empty()) jf["confirmed_by"] = f.confirmed_by;
    if (f.tally) {
      // The tally grid (KPU page 2): the cells with strokes, the uprights counted in the last
      // (null: not counted) and the counts they allow, or why it was not read.
      if (f.tally->read)
        jf["tally"] = {{"cells", f.tally->cells},
                       {"last_cell_uprights", f.tally->last_uprights > 0 ? json(f.tally->last_uprights) : json(nullptr)},
                       {"min", f.tally->lo},
                       {"max", f.tally->hi},
                       {"agrees", f.value != kMissing && f.tally->Allows(f.value)}};
      else
        jf["tally"] = {{"cells", nullptr}, {"problem", f.tally->problem}};
    }
    j["fields"][f.field] = jf;
  }
  j["reasons"] = json::array();
  for (const auto& x : r.reasons) j["reasons"].push_back(ToJson(x));
  j["warnings"] = json::array();
  for (const auto& w : r.warnings) j["warnings"].push_back({{"rule", w.rule_id}, {"detail", w.detail}});
  j["line_mm"] = json::object();  // per page: how sharp the photo is (Reading::line_mm)
  for (const auto& [page, w] : r.line_mm) j["line_mm"][std::to_string(page)] = std::round(w * 100) / 100;
  j["grain"] = json::object();  // per page: the grain of its digit boxes (Reading::grain)
  for (const auto& [page, g] : r.grain) j["grain"][std::to_string(page)] = std::round(g * 100) / 100;
  for (const auto& [page, k] : r.spilled_boxes) j["spilled_boxes"][std::to_string(page)] = k;
  for (const auto& [page, k] : r.boxes_moved) j["boxes_moved"][std::to_string(page)] = k;
  for (const auto& [page, k] : r.decoded_finer) j["decoded_finer"][std::to_string(page)] = k;
  for (const auto& [page, k] : r.rows_moved) j["rows_moved"][std::to_string(page)] = k;
  for (const auto& [page, mm] : r.bend_mm)
    j["bend_mm"][std::to_string(page)] = std::round(mm * 10) / 10;
  if (r.print_fields > 0) j["print_fields"] = r.print_fields;
  for (const auto& [page, k] : r.copies) j["copies"][std::to_string(page)] = k;
  if (!r.qr.empty()) {
    j["qr"] = json::object();  // our form, per page: "decoded", "matched" or "unreadable"
    for (const auto& [page, how] : r.qr) j["qr"][std::to_string(page)] = how;
  }
  j["ms"] = std::round(r.ms * 10) / 10;
  return j;
}

}  // namespace rekap::reader
