// rekap reader: bubbles (OMR) and the per-number combination. See omr.h.
#include "reader/omr.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <opencv2/imgproc.hpp>

namespace rekap::reader {

BubbleRow MeasureBubbleRow(const cv::Mat& grey, const cv::Mat& paper_img,
                           const std::array<cv::Point2f, 10>& centers, float radius,
                           const OmrOptions& opt) {
  BubbleRow row;
  std::array<double, 10> dark{};
  const float r = std::max(1.0f, radius * 0.72f);  // inside the printed outline
  const float r2 = r * r;
  for (int v = 0; v < 10; ++v) {
    const cv::Point2f c = centers[size_t(v)];
    const int x0 = std::max(0, int(std::floor(c.x - r))), x1 = std::min(grey.cols - 1, int(std::ceil(c.x + r)));
    const int y0 = std::max(0, int(std::floor(c.y - r))), y1 = std::min(grey.rows - 1, int(std::ceil(c.y + r)));
    // The paper around this bubble: a high percentile of 16 samples on a ring just outside
    // its printed outline (between it and its neighbours), so lighting gradients and shadows
    // across the page cancel.
    double paper = 0;
    if (paper_img.empty()) {
      std::array<uint8_t, 16> ring{};
      int m = 0;
      for (int k = 0; k < 16; ++k) {
        const double t = k * CV_PI / 8;
        const int x = int(std::lround(c.x + 1.25 * radius * std::cos(t)));
        const int y = int(std::lround(c.y + 1.25 * radius * std::sin(t)));
        if (x < 0 || y < 0 || x >= grey.cols || y >= grey.rows) continue;
        ring[size_t(m++)] = grey.at<uint8_t>(y, x);
      }
      if (m > 0) {
        std::sort(ring.begin(), ring.begin() + m);
        paper = ring[size_t(std::min(m - 1, m * 3 / 4))];
      }
    }
    double sum = 0;
    int n = 0, inked = 0;
    for (int y = y0; y <= y1; ++y) {
      const uint8_t* p = grey.ptr<uint8_t>(y);
      const uint8_t* q = paper_img.empty() ? nullptr : paper_img.ptr<uint8_t>(y);
      const float dy = float(y) - c.y;
      for (int x = x0; x <= x1; ++x) {
        const float dx = float(x) - c.x;
        if (dx * dx + dy * dy > r2) continue;
        const double pp = std::max<double>(q != nullptr ? q[x] : paper, 16.0);
        const double d = std::max(0.0, (pp - p[x]) / pp);  // share of the light absorbed
        sum += d;
        inked += d >= 0.45;  // a pixel absorbing 45 % of the paper's light is ink
        ++n;
      }
    }
    dark[size_t(v)] = n > 0 ? sum / n : 0;
    row.ink[size_t(v)] = n > 0 ? double(inked) / n : 0;
  }
  row.dark = dark;
  ScoreBubbleRow(&row, nullptr, opt);
  return row;
}

double SampleBilinear(const cv::Mat& img, double x, double y, bool* ok) {
  if (!(x >= 0 && y >= 0 && x < img.cols - 1 && y < img.rows - 1)) {
    *ok = false;
    return 0;
  }
  const int x0 = int(x), y0 = int(y);
  const double fx = x - x0, fy = y - y0;
  const uint8_t* r0 = img.ptr<uint8_t>(y0) + x0;
  const uint8_t* r1 = img.ptr<uint8_t>(y0 + 1) + x0;
  return (r0[0] * (1 - fx) + r0[1] * fx) * (1 - fy) + (r1[0] * (1 - fx) + r1[1] * fx) * fy;
}

BubbleRow MeasureBubbleRowDirect(const cv::Mat& grey, const cv::Matx33d& H,
                                 const std::array<Rect, 10>& bubbles, const OmrOptions& opt) {
  BubbleRow row;
  for (size_t v = 0; v < 10; ++v) {
    const Rect& b = bubbles[v];
    const double R = b.w / 2, ri = kInnerDisc * R;
    auto at = [&](double x, double y, bool* ok) {
      const cv::Vec3d q = H * cv::Vec3d(x, y, 1);
      if (!(q[2] > 1e-9)) {
        *ok = false;
        return 0.0;
      }
      return SampleBilinear(grey, q[0] / q[2], q[1] / q[2], ok);
    };
    // The paper: a high percentile of 16 samples on a ring just outside the printed outline.
    std::array<double, 16> ring{};
    int m = 0;
    for (int k = 0; k < 16; ++k) {
      const double t = k * CV_PI / 8;
      bool ok = true;
      const double g = at(b.cx() + 1.25 * R * std::cos(t), b.cy() + 1.25 * R * std::sin(t), &ok);
      if (ok) ring[size_t(m++)] = g;
    }
    if (m == 0) continue;
    std::sort(ring.begin(), ring.begin() + m);
    const double paper = std::max(16.0, ring[size_t(std::min(m - 1, m * 3 / 4))]);
    // The inner disc on a grid of ~50 points.
    double sum = 0;
    int n = 0, inked = 0;
    const double step = ri / 4;
    for (int iy = -4; iy <= 4; ++iy)
      for (int ix = -4; ix <= 4; ++ix) {
        const double dx = ix * step, dy = iy * step;
        if (dx * dx + dy * dy > ri * ri) continue;
        bool ok = true;
        const double g = at(b.cx() + dx, b.cy() + dy, &ok);
        if (!ok) continue;
        const double d = std::max(0.0, (paper - g) / paper);
        sum += d;
        inked += d >= 0.45;
        ++n;
      }
    row.dark[v] = n > 0 ? sum / n : 0;
    row.ink[v] = n > 0 ? double(inked) / n : 0;
  }
  ScoreBubbleRow(&row, nullptr, opt);
  return row;
}

namespace {

// The median of a row's ten values: the mean of the fifth and sixth smallest.
double Median10(std::array<double, 10> x) {
  std::nth_element(x.begin(), x.begin() + 4, x.end());
  const double lo = x[4];
  std::nth_element(x.begin(), x.begin() + 5, x.end());
  return (lo + x[5]) / 2;
}

}  // namespace

void ScoreBubbleRow(BubbleRow* row, const std::array<double, 10>* baseline, const OmrOptions& opt) {
  std::array<double, 10> base{};
  if (baseline != nullptr) {
    // The page's baseline per value, shifted by this row's own median above it: a row that
    // the photo shows darker or more blurred all along (perspective, a shadow's edge) lifts
    // every printed label a little, and one label past `clear` would make the row unclear
    // (validation seed 9, page 662: a hundreds row left empty, its "1" 0.098 above the page's
    // baseline and the row's median 0.027). The shift only lowers scores, and by at most
    // `clear`: a row darker than that all along (a scribble across it) keeps its marks and is
    // not read, and a row lighter than the baseline is scored as before (a faint stray mark
    // there is not made a mark).
    base = *baseline;
    std::array<double, 10> above;
    for (int v = 0; v < 10; ++v) above[size_t(v)] = row->dark[size_t(v)] - base[size_t(v)];
    const double shift = std::clamp(Median10(above), 0.0, opt.clear);
    for (double& b : base) b += shift;
  } else {
    base.fill(Median10(row->dark));  // the row's median: most bubbles of a row are empty
  }
  row->marks = row->unclear = 0;
  row->marked = -1;
  int best = 0;
  double s1 = -1, s2 = -1;
  for (int v = 0; v < 10; ++v) {
    const double s = row->dark[size_t(v)] - base[size_t(v)];
    row->score[size_t(v)] = s;
    if (s >= opt.mark) ++row->marks;
    if (s > s1) {
      s2 = s1;
      s1 = s;
      best = v;
    } else if (s > s2) {
      s2 = s;
    }
  }
  // One clear mark, the runner-up well below it: read. A faint runner-up (or a faint best
  // without a clear mark) makes the row unclear.
  for (int v = 0; v < 10; ++v) {
    const double s = row->score[size_t(v)];
    if (s < opt.mark && s >= opt.clear) ++row->unclear;
  }
  if (row->marks == 1 && s2 < std::max(opt.clear, 0.6 * s1)) {
    row->marked = best;
    row->unclear = 0;
  }
  for (int v = 0; v < 10; ++v) {
    if (row->empty()) {
      row->likelihood[size_t(v)] = 1.0;
      continue;
    }
    const double t = std::clamp((row->score[size_t(v)] - opt.clear) / (opt.mark - opt.clear), 0.0, 1.0);
    row->likelihood[size_t(v)] = opt.epsilon + (1 - opt.epsilon) * t;
  }
}

std::array<double, 10> PageBubbleBaseline(const std::vector<const BubbleRow*>& rows) {
  std::array<double, 10> base{};
  if (rows.size() < 3) return base;
  std::vector<double> xs(rows.size());
  // A low quantile, not the median: marks only add ink, and some values (0 above all, in
  // leading positions) are marked in many rows of a page.
  const size_t k = rows.size() / 5;
  for (int v = 0; v < 10; ++v) {
    for (size_t i = 0; i < rows.size(); ++i) xs[i] = rows[i]->dark[size_t(v)];
    std::nth_element(xs.begin(), xs.begin() + long(k), xs.end());
    base[size_t(v)] = xs[k];
  }
  return base;
}

cv::Mat PaperImage(const cv::Mat& grey, double bubble_px) {
  // A max filter wider than a bubble removes marks, outlines and labels; a box blur of the
  // same size smooths the result into a lighting field.
  const int k = std::max(3, int(bubble_px * 1.4) | 1);
  cv::Mat paper;
  cv::dilate(grey, paper, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(k, k)));
  cv::blur(paper, paper, cv::Size(k, k));
  return paper;
}

namespace {

// Likelihood of a box given that it shows digit d (d = -1: a leading blank or written 0).
constexpr double kInkInBlank = 1e-3;   // the box has ink but the writer left it blank
constexpr double kBlankForDigit = 1e-3;  // the box looks empty but a digit was written
constexpr double kProbFloor = 1e-6;    // floor on the CNN's probabilities
constexpr double kEmptyRowForDigit = 0.02;  // a row left unmarked although a digit belongs

inline double BoxLikelihood(const BoxEvidence& b, int d, bool leading) {
  if (b.empty) return leading ? 1.0 : kBlankForDigit;
  const double p = std::max<double>(b.prob[size_t(d)], kProbFloor);
  return leading ? std::max(p, kInkInBlank) : p;
}

}  // namespace

NumberReading CombineNumber(const NumberEvidence& e, Value max_value, int k) {
  NumberReading out;
  max_value = std::clamp<Value>(max_value, 0, 999);
  out.blank = e.boxes[0].empty && e.boxes[1].empty && e.boxes[2].empty;

  // Precompute per position: likelihoods for "digit d here" and "leading" (blank or 0).
  std::array<std::array<double, 10>, 3> box{}, omr{};
  std::array<double, 3> box_lead{}, omr_lead{};
  // No bubble of the number marked at all: the KPPS skipped them (one event, not a missed mark
  // per digit). They then say nothing about the value, as where none are printed; taken as
  // three missed marks they made every significant digit 50 times less likely, so boxes read
  // 102 at 0.998 came out as 2, its leading boxes' ink taken for a slip.
  const bool none_marked = e.rows[0].empty() && e.rows[1].empty() && e.rows[2].empty();
  for (int j = 0; j < 3; ++j) {
    for (int d = 0; d < 10; ++d) {
      box[size_t(j)][size_t(d)] = BoxLikelihood(e.boxes[size_t(j)], d, false);
      omr[size_t(j)][size_t(d)] = e.rows[size_t(j)].likelihood[size_t(d)];
    }
    // An empty row where a significant digit belongs: a missed mark (rare), not "any value".
    if (e.rows[size_t(j)].empty())
      for (int d = 0; d < 10; ++d) omr[size_t(j)][size_t(d)] = kEmptyRowForDigit;
    box_lead[size_t(j)] = BoxLikelihood(e.boxes[size_t(j)], 0, true);
    // A leading position: the row is either left empty or has 0 marked.
    const BubbleRow& r = e.rows[size_t(j)];
    omr_lead[size_t(j)] = r.empty() ? 1.0 : r.likelihood[0];
    if (e.no_bubbles || none_marked) {  // none printed, or none marked: they say nothing
      omr[size_t(j)].fill(1.0);
      omr_lead[size_t(j)] = 1.0;
    }
  }

  std::vector<double> comb(size_t(max_value) + 1), ocr(size_t(max_value) + 1);
  double comb_sum = 0, ocr_sum = 0;
  for (Value v = 0; v <= max_value; ++v) {
    const int dig[3] = {v / 100, (v / 10) % 10, v % 10};
    const int first = v >= 100 ? 0 : v >= 10 ? 1 : 2;  // first significant position
    double pb = 1, po = 1;
    for (int j = 0; j < 3; ++j) {
      if (j < first) {
        pb *= box_lead[size_t(j)];
        po *= omr_lead[size_t(j)];
      } else {
        pb *= box[size_t(j)][size_t(dig[j])];
        po *= omr[size_t(j)][size_t(dig[j])];
      }
    }
    ocr[size_t(v)] = pb;
    comb[size_t(v)] = pb * po;
    ocr_sum += pb;
    comb_sum += pb * po;
  }

  if (!out.blank && ocr_sum > 0) {
    const auto it = std::max_element(ocr.begin(), ocr.end());
    out.ocr = Value(it - ocr.begin());
    out.ocr_p = *it / ocr_sum;
    std::vector<int> idx(ocr.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = int(i);
    const size_t kk = std::min<size_t>(5, idx.size());
    std::partial_sort(idx.begin(), idx.begin() + long(kk), idx.end(),
                      [&](int a, int b) { return ocr[size_t(a)] > ocr[size_t(b)] || (ocr[size_t(a)] == ocr[size_t(b)] && a < b); });
    for (size_t i = 0; i < kk; ++i) out.ocr_hypotheses.emplace_back(Value(idx[i]), ocr[size_t(idx[i])] / ocr_sum);
  }

  // Bubbles alone: every significant row single-marked; leading rows empty or 0.
  int marks_total = 0;
  for (int j = 0; j < 3; ++j) {
    marks_total += e.rows[size_t(j)].marks + e.rows[size_t(j)].unclear;
    if (e.rows[size_t(j)].marks >= 2) out.double_marked = true;
  }
  out.omr_empty = marks_total == 0;
  {
    Value v = 0;
    bool ok = !out.omr_empty, leading = true;
    for (int j = 0; j < 3 && ok; ++j) {
      const BubbleRow& r = e.rows[size_t(j)];
      if (r.marked >= 0) {
        v = v * 10 + r.marked;
        if (r.marked != 0) leading = false;
      } else if (r.empty() && leading && j < 2) {
        v = v * 10;
      } else {
        ok = false;
      }
    }
    if (ok && v <= max_value) out.omr = v;
  }
  if (out.omr != kMissing && ocr_sum > 0) out.ocr_p_of_omr = ocr[size_t(out.omr)] / ocr_sum;

  out.rows = e.rows;
  // Top k combined.
  if (comb_sum > 0) {
    std::vector<int> idx(comb.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = int(i);
    const size_t kk = std::min<size_t>(size_t(std::max(1, k)), idx.size());
    std::partial_sort(idx.begin(), idx.begin() + long(kk), idx.end(), [&](int a, int b) {
      return comb[size_t(a)] > comb[size_t(b)] || (comb[size_t(a)] == comb[size_t(b)] && a < b);
    });
    for (size_t i = 0; i < kk; ++i)
      out.hypotheses.emplace_back(Value(idx[i]), comb[size_t(idx[i])] / comb_sum);
  }
  return out;
}

bool OmrCompatible(const NumberReading& n, Value v, int* unconfirmed) {
  *unconfirmed = 0;
  if (v < 0 || v > 999) return false;
  const int dig[3] = {v / 100, (v / 10) % 10, v % 10};
  const int first = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  for (int j = 0; j < 3; ++j) {
    const BubbleRow& r = n.rows[size_t(j)];
    const int d = dig[j];
    if (j < first && r.empty()) continue;  // a leading row left empty
    if (r.marked == d) continue;           // confirmed
    if (r.empty()) {
      ++*unconfirmed;
      continue;
    }
    if (r.likelihood[size_t(d)] >= 0.5) {  // among several marks
      ++*unconfirmed;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace rekap::reader
