// rekap reader: what the parts of the reading pipeline (decode.cc, locate.cc, qr.cc, read.cc,
// decide.cc) share. Internal to src/reader: nothing outside the reader includes it. The public
// interface is read.h; docs/reader.md describes the pipeline.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "reader/layout.h"
#include "reader/omr.h"
#include "reader/read.h"
#include "reader/register.h"

namespace rekap::reader::detail {

// The median of `v` (the upper one of an even count); `v` must not be empty.
inline double Median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}

using Clock = std::chrono::steady_clock;

// Stage timings of the calling thread, printed to stderr when REKAP_READ_PROFILE is set (development aid).
inline double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

struct Profile {
  bool on = std::getenv("REKAP_READ_PROFILE") != nullptr;
  Clock::time_point t = Clock::now();
  double cpu = ThreadCpuMs();
  std::string line;
  double normalize_ms = 0, bubbles_ms = 0, spill_ms = 0;
  void Reset() {
    normalize_ms = bubbles_ms = spill_ms = 0;
    t = Clock::now();
    cpu = ThreadCpuMs();
  }
  void Mark(const char* what) {
    if (!on) return;
    const double c = ThreadCpuMs();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s=%.1f ", what, c - cpu);
    line += buf;
    cpu = c;
  }
  void Flush() {
    if (on && !line.empty())
      std::fprintf(stderr, "profile: %s [normalize %.1f bubbles %.1f spill %.1f]\n", line.c_str(),
                   normalize_ms, bubbles_ms, spill_ms);
    line.clear();
  }
};
inline Profile& Prof() {
  static thread_local Profile p;
  return p;
}

inline Reason MakeReason(std::string code, std::string detail = {}) {
  Reason r;
  r.code = std::move(code);
  r.detail = std::move(detail);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Geometry helpers

inline cv::Point2d Apply(const cv::Matx33d& H, double x, double y) {
  const cv::Vec3d p = H * cv::Vec3d(x, y, 1);
  return {p[0] / p[2], p[1] / p[2]};
}

inline std::array<cv::Point2d, 4> RectCorners(const Rect& r) {
  return {cv::Point2d(r.x, r.y), cv::Point2d(r.x + r.w, r.y), cv::Point2d(r.x + r.w, r.y + r.h),
          cv::Point2d(r.x, r.y + r.h)};
}

// Warps the layout region `mm` of `img` (homography H: mm -> px of img) to an axis-aligned
// crop at `scale` px/mm.
inline cv::Mat WarpRegion(const cv::Mat& img, const cv::Matx33d& H, const Rect& mm, double scale) {
  const int w = std::max(1, int(std::lround(mm.w * scale)));
  const int h = std::max(1, int(std::lround(mm.h * scale)));
  const cv::Matx33d T(1 / scale, 0, mm.x + 0.5 / scale, 0, 1 / scale, mm.y + 0.5 / scale, 0, 0, 1);
  const cv::Matx33d M = H * T;
  cv::Mat out;
  cv::warpPerspective(img, out, cv::Mat(M), cv::Size(w, h), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                      cv::BORDER_REPLICATE);
  return out;
}

// The paper level of a crop: a high percentile of its grey levels.
inline double PaperLevel(const cv::Mat& grey, double q = 0.90) {
  int hist[256] = {0};
  for (int y = 0; y < grey.rows; ++y) {
    const uint8_t* p = grey.ptr<uint8_t>(y);
    for (int x = 0; x < grey.cols; ++x) ++hist[p[x]];
  }
  const int64_t n = int64_t(grey.rows) * grey.cols;
  int64_t acc = 0;
  for (int v = 0; v < 256; ++v) {
    acc += hist[v];
    if (acc >= q * n) return v;
  }
  return 255;
}

inline Rect Expand(const Rect& r, double m) { return {r.x - m, r.y - m, r.w + 2 * m, r.h + 2 * m}; }

inline Rect Union(const Rect& a, const Rect& b) {
  const double x0 = std::min(a.x, b.x), y0 = std::min(a.y, b.y);
  const double x1 = std::max(a.right(), b.right()), y1 = std::max(a.bottom(), b.bottom());
  return {x0, y0, x1 - x0, y1 - y0};
}

// ---------------------------------------------------------------------------------------------
// Decoding (decode.cc)

struct Decoded {
  cv::Mat grey;  // the working image (possibly reduced while decoding)
  int width = 0, height = 0;  // of the encoded photo
  int reduction = 1;
};

// Decodes `bytes` into a greyscale working image, or explains why not. `max_reduction` (a power
// of 2) caps the reduction while decoding (kSmallPageShare).
std::optional<Reason> DecodePhoto(std::span<const uint8_t> bytes, Decoded* out, int max_reduction = 8);
// Photo `bytes`, first decoded as `first`, decoded again f (a power of 2) times finer, or less
// where kMaxFinerPixels says so; an empty Mat where it cannot be decoded finer at all.
cv::Mat DecodeFiner(std::span<const uint8_t> bytes, const Decoded& first, int f);

// ---------------------------------------------------------------------------------------------
// Finding the page (locate.cc)

struct Marker {
  int id = -1;
  std::array<cv::Point2f, 4> corners;  // in working-image px, the marker's own TL, TR, BR, BL
  double side = 0;                     // mean side length, px
};
inline cv::Point2f MarkerCentre(const Marker& m) {
  return (m.corners[0] + m.corners[1] + m.corners[2] + m.corners[3]) * 0.25f;
}

// The paper beside a printed line is sampled at least this far (px) from the line's edge
// (GapMm, below).
constexpr double kGapPx = 1.5;

struct Location {
  bool found = false;
  cv::Matx33d H;          // mm -> working px
  double px_per_mm = 0;
  int rotation_deg = 0;
  std::optional<Reason> failure;
  std::vector<Marker> markers;        // for the debug image
  std::vector<cv::Point2f> points;    // other fiducial points found (debug image)
  double detect_scale = 1;            // working px per detection px
  size_t layout = 0;                  // KPU: the layout whose page marker was found
  double gap_px = kGapPx;             // paper sampled this far beside a printed line (LayoutFit)
  double tag_blur_px = 0;             // the blur (Gaussian sigma, px) at the tag's (markers') edges
  // The blur at the edges of the markers found (Gaussian sigma, mm on the page: MarkerEdgeBlurPx
  // over the marker's printed size), also where the page was not found; 0 = not measured.
  double blur_mm = 0;
  // KPU: the page's tag seen elsewhere too, apart from the one read (other sheets of the page).
  // Our form: its corner markers seen outside the page found.
  std::vector<Marker> other_sheets;
  double tag_side = 0;  // the side of the tag read (KPU), of the corner markers (ours; mean), working px
};

// How well homography H puts the layout's printed structure onto the photo: the share of
// features (some bubbles of every row, every edge of every digit box) whose printed line is
// darker than the paper next to it by at least 4 % of that paper. Below 0.6 for a wrong H;
// 0.8 to 1 for a right one (150 synthetic photos of each form). The box edges make it fail for a shift by a bubble's pitch, which the
// bubbles alone (a periodic grid) would not notice.
constexpr double kMinLayoutFit = 0.7;

// A page that does not lie flat (a fold, a curl; `rekap forms synth --bend`, `--fold`) is not
// one plane: a single homography puts some numbers a millimetre or more beside where they are
// printed, and the page as a whole fails the fit. Such a page is aligned number by number
// (LayoutFit with an Alignment): each number's boxes and bubbles are moved together by the
// offset (up to kAlignMaxMm, and under half a bubble's pitch, so no row can slip onto its
// neighbour) that fits its own printed lines best; the numbers that fit well give a homography
// of their own for a second pass; then each part of a number (its boxes, each bubble row) by up
// to 1 mm more. The page is found if the aligned fit reaches kMinLayoutFit like any other. Only
// for a homography that fits at least kAlignFrom and under kRealignBelow; from kMinLayoutFit up
// the alignment is kept only where it fits more lines than the homography alone (a bent page
// that only just fits as a whole is read a number off otherwise).
// On KPU's page the corner checkers are chosen among look-alikes, and the best
// kAlignCombinations combinations are tried aligned. A combination a box off aligns onto the
// neighbouring boxes (validation seed 60, page 241: 0.31 aligned to 0.75, 544 read as 42), so
// the aligned page must also fit the printed rules beside each number's boxes, which do not
// repeat with them (RulesNearBoxes, in LayoutFit).
// (kAlignMaxMm, kRealignBelow and kAlignCombinations are locate.cc's.)
constexpr double kAlignFrom = 0.1;

// Per number (PageLayout::numbers) and part (0: the digit boxes, 1..3: the bubble rows), the
// homography its printed structure was found through.
constexpr int kParts = 4;
struct Alignment {
  std::vector<std::array<cv::Matx33d, kParts>> H;  // empty: the page's own for every number
  double print_bend_mm = -1;  // >= 0: registered through the print's field (LayoutFit), its largest move
  cv::Matx33d For(const cv::Matx33d& page, size_t i, int part = 0) const {
    return i < H.size() ? H[i][size_t(part)] : page;
  }
};

// The fields of the print (FieldFromPrint) one page's read may still compute (`left`), and those
// it has computed, by layout and homography: KPU's page computes the field for the homography
// LocateKpu chose, and its alignment then asks for it again.
struct PrintFields {
  int left = 0;
  struct Done {
    const PageLayout* layout;
    cv::Matx33d H;
    std::optional<PageField> field;
  };
  std::vector<Done> done;
  std::optional<PageField> Get(const cv::Mat& work, const cv::Matx33d& H, const PageLayout& L) {
    for (const Done& d : done)
      if (d.layout == &L && d.H == H) return d.field;
    if (left <= 0) return std::nullopt;
    --left;
    done.push_back({&L, H, FieldFromPrint(work, H, L)});
    return done.back().field;
  }
};

struct CheckerHit {
  cv::Point2f at;  // working px
  double score = 0;
};

// The corner-checker searches of one photo (LocateKpu's `search`), each a pure function of the
// photo, the checker's printed box, the homography predicting it, the radius and the number of
// candidates asked. The far-pair search asks the same again and again (the same prediction for
// each candidate of the corner before it), and a blurred page not found is located a second
// time with the paper sampled further from the lines, which changes the layout fit but none of
// the searches. Asked again, the same answer is given without searching: the result is exactly
// the same. Repeats were 35-42 % of the searches on the 3x and 4x blur sets (200 photos each,
// counted by their printed predictions) and 45 of 183 on a photo the fuzz target made, and
// they were the costly ones: there the checker stage took 650 ms before, 180 ms after.
class CheckerSearchMemo {
 public:
  template <typename F>
  const std::vector<CheckerHit>& Get(const Rect& box, const cv::Matx33d& H, double radius, size_t n, F&& search) {
    for (const Entry& e : entries_)
      if (e.box.x == box.x && e.box.y == box.y && e.box.w == box.w && e.box.h == box.h && e.H == H &&
          e.radius == radius && e.n == n) {
        return e.hits;
      }
    entries_.push_back({box, H, radius, n, search()});
    return entries_.back().hits;
  }
 private:
  struct Entry {
    Rect box;
    cv::Matx33d H;
    double radius;
    size_t n;
    std::vector<CheckerHit> hits;
  };
  std::deque<Entry> entries_;  // references to earlier entries stay valid
};

// The blur (Gaussian sigma, px) of the photo's own edges, where no marker was measured.
double PhotoEdgeBlurPx(const cv::Mat& work);
// How well H puts L's printed structure onto the photo (the share of its features that fit);
// with `align`, number by number (above).
double LayoutFit(const cv::Mat& work, const cv::Matx33d& H, const PageLayout& L, Alignment* align = nullptr,
                 double align_from = 1, double gap_px = kGapPx, PrintFields* print_fields = nullptr);
// Our own form, by its four ArUco corner markers.
// `corner_tolerance`: how far (a share of the markers' side, at least 2 px) a marker corner may
// lie from the page's homography through the others.
Location LocateOwn(const cv::Mat& work, const PageLayout& L, bool blurred, double corner_tolerance = 0.06);
// Adds to `others` the markers `tag_ids` of other sheets of the page found in `work` outside
// `page` (the found page's bounding box, working px), only in the strips beside the page wide or
// tall enough (a quarter of the page's width or height) to show another sheet about half as
// large: a photo the page fills, as most do, costs nothing more. The strips are searched reduced
// `scale` times (working px per detection px; under 1 enlarged); a marker already in `others`
// (the same id within its side) is not added again.
void OtherSheetsOfPage(const cv::Mat& work, const cv::Rect& page, double scale, const std::string& dictionary,
                       const std::vector<int>& tag_ids, std::vector<Marker>* others);
// A KPU page (2 or 3), by its AprilTag and its four corner checkers.
Location LocateKpu(const cv::Mat& work, const std::vector<PageLayout>& layouts, CheckerSearchMemo* memo,
                   double gap_px = kGapPx, const std::vector<Marker>* known = nullptr, bool soft = true,
                   PrintFields* print_fields = nullptr);

// ---------------------------------------------------------------------------------------------
// QR (qr.cc)

// A code is compared with each rival (the form's other pages, and decoys: the same pages of
// other TPSs) on the modules where the two differ: there the photo's darkness must follow the
// code (Pearson's r of the darkness with the code's 0/1 modules; about -r for the rival's
// code, about 0 for a third code). A code's score is its lowest r against any rival. The code
// is first registered at offsets of up to half a module (the homography is fitted to the corner
// markers, not to the QR), on all its modules: finder patterns included.
struct QrMatch {
  int index = -1;     // into `codes`: the wanted code of the highest score
  double score = -1;  // its lowest r against a rival
};

// The text of the QR code printed at `qr` (page mm), if the decoder reads it.
std::optional<std::string> ReadQr(const cv::Mat& work, const cv::Matx33d& H, const Rect& qr);
// Which of `codes` (module matrices), among the `wanted` ones, the photo's QR at `qr` is.
QrMatch MatchQr(const cv::Mat& work, const cv::Matx33d& H, const Rect& qr, const std::vector<cv::Mat>& codes,
                const std::vector<bool>& wanted);
// A QR code the decoder cannot read, read module by module.
std::optional<std::string> ReadQrByModules(const cv::Mat& work, const cv::Matx33d& H, const PageLayout& L);
// The page (1-based) whose QR code, printed for o.expected_tps, the photo's QR matches
// (MatchQr against the form's other pages and decoy TPSs); 0 if none clearly does.
int MatchExpectedQr(const cv::Mat& work, const cv::Matx33d& H, const std::vector<PageLayout>& layouts,
                    const ReadOptions& o);

// ---------------------------------------------------------------------------------------------
// One photo (read.cc) and deciding (decide.cc)

struct PageObservation {
  bool found = false;         // located and identified
  int page = 0;
  std::string tps;            // from the QR (own form)
  std::string qr;             // own form: "decoded", "matched" (MatchQr) or "unreadable"
  std::vector<Reason> reasons;  // identity problems
  std::vector<FieldReading> fields;  // fields of this page, layout order
  std::vector<NumberReading> numbers;  // parallel to fields
  // Apparent widths of the box borders, mm (ApparentLineWidthMm): [0] the upright borders
  // (crossed along the page's x), [1] the level ones (crossed along y).
  std::array<std::vector<double>, 2> line_widths;
  double grain = 0;  // the boxes' grain (CropGrain), the median of up to 25
  int spilled_boxes = 0;  // boxes read from the ink crossing their borders (SpillCrops)
  int boxes_moved = 0;    // numbers whose boxes were read where their borders are (BoxesCorrection)
  int rows_moved = 0;     // bubble rows read again where their outlines are (BubbleRowOffset)
  double bend_mm = -1;  // >= 0: registered through its print's field (Alignment::print_bend_mm)
  int print_fields = 0;  // fields of the print computed while it was located and aligned (PrintFields)
  double blur_mm = 0;  // Location::blur_mm: the markers' edge blur, also on a page not found
  // A page not located, with no marker measured: the photo's own blur (PhotoEdgeBlurPx), in px
  // and in mm on the page at the largest the page can be (its longer side across the photo's).
  double photo_blur_px = 0, photo_blur_mm = 0;
  int photo = 0;       // its position (1-based) among the photos given; 0 = none decoded
  // The located page's longer side in the working image's px, at the page's mean scale, and
  // its share of the working image's longer side (0: not located). kSmallPageShare.
  double page_px = 0, page_share = 0;
  cv::Rect2d page_box;  // the located page's bounding box in the working image (px)
  std::vector<cv::Point> page_quad;  // the located page's outline there, 3 mm beyond its edges
  // The other sheets seen in the photo beside the page (ObservePage's look, carried whole to the
  // page observed again finer, where ReadDecoded settles them).
  struct Beside {
    // Another page of the form read (ReadOptions' layouts): KPU, its tag (page 3 hung beside
    // page 2, say); ours, its QR naming the same TPS (ReadDecoded reads it).
    bool other_page = false;
    // Our form: the other sheets whose QR was not read at the working image's size (their
    // outlines there, 3 mm beyond their edges), and how many others keep the page in review
    // whatever those turn out to be (`several_sheets`: a sheet of the same TPS's page, one partly
    // in the photo, one whose QR is not our form's). ReadDecoded reads the former's QR decoded
    // finer, and drops `several_sheets` where each names another TPS or page and none of the
    // latter is there (a sheet of another page of the TPS is then read too; the one sheet of the
    // same page, a copy).
    std::vector<std::vector<cv::Point>> unread;
    int in_review = 0;
    // Our form: the other sheets whose QR was read (TPS, page) while the page read's own was
    // not, at the working image's size: each may be this very page. `several_sheets` is said for
    // them; ReadDecoded settles them once the page is identified (decoded finer).
    std::vector<std::pair<std::string, int>> unplaced;
    // `several_sheets` is said for exactly one other sheet, which is known to be this same page
    // (ours: its QR names the same TPS and page; KPU: the page's tag, KPU's pages naming no
    // TPS): a copy, or another version of the count. ReadDecoded reads it too, and the page can
    // then be accepted where both sheets are, with every number the same (CopiesAgree).
    bool copy = false;
  } beside;
  int finer = 0;  // read from the photo decoded again this many times finer (0: not)
};

// The most probable values that satisfy every hard rule, over the observations of all the
// photos of one TPS; the reading's status and reasons.
Reading Decide(const Form& form, const std::vector<PageLayout>& layouts, std::vector<PageObservation>& obs,
               const ReadOptions& o);

}  // namespace rekap::reader::detail
