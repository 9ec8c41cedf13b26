// rekap reader: reading a photo of a filled C.Hasil page, failing closed. See read.h and
// docs/reader.md.
#include "reader/read.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <ctime>
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

#include <libheif/heif.h>
#include <nlohmann/json.hpp>
#include <opencv2/aruco.hpp>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/wechat_qrcode.hpp>

#include "reader/omr.h"
#include "reader/register.h"
#include "reader/render.h"

namespace rekap::reader {

namespace {

// The median of `v` (the upper one of an even count); `v` must not be empty.
double Median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}

using Clock = std::chrono::steady_clock;

// Stage timings, printed to stderr when REKAP_READ_PROFILE is set (development aid).
double ThreadCpuMs() {
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
Profile& Prof() {
  static thread_local Profile p;
  return p;
}

Reason MakeReason(std::string code, std::string detail = {}) {
  Reason r;
  r.code = std::move(code);
  r.detail = std::move(detail);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Decoding, bounded

uint32_t Be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

// HEIF (HEIC, AVIF): an ISO base media file whose 'ftyp' box names a brand libheif reads.
bool IsHeif(std::span<const uint8_t> b) {
  if (b.size() < 16 || std::memcmp(&b[4], "ftyp", 4) != 0) return false;
  const int n = int(std::min<size_t>(b.size(), 1 << 20));
  return heif_check_filetype(b.data(), n) == heif_filetype_yes_supported;
}

// A parsed HEIF container and its primary image (nothing decoded), freed on scope exit.
struct HeifFile {
  heif_context* ctx = heif_context_alloc();
  heif_image_handle* primary = nullptr;
  heif_error error{heif_error_Ok, heif_suberror_Unspecified, "Success"};
  explicit HeifFile(std::span<const uint8_t> b) {
    if (ctx == nullptr) {
      error = {heif_error_Memory_allocation_error, heif_suberror_Unspecified, "no memory"};
      return;
    }
    error = heif_context_read_from_memory_without_copy(ctx, b.data(), b.size(), nullptr);
    if (error.code == heif_error_Ok) error = heif_context_get_primary_image_handle(ctx, &primary);
  }
  ~HeifFile() {
    if (primary != nullptr) heif_image_handle_release(primary);
    if (ctx != nullptr) heif_context_free(ctx);
  }
  HeifFile(const HeifFile&) = delete;
  HeifFile& operator=(const HeifFile&) = delete;
  bool ok() const { return error.code == heif_error_Ok && primary != nullptr; }
};

// The primary image of a HEIF file as 8-bit grey: its luma plane (10- and 12-bit scaled down),
// or, coded as RGB, converted.
std::optional<std::string> DecodeHeifGrey(std::span<const uint8_t> bytes, cv::Mat* grey) {
  HeifFile f(bytes);
  if (!f.ok()) return std::string(f.error.message);
  heif_image* img = nullptr;
  heif_error e =
      heif_decode_image(f.primary, &img, heif_colorspace_undefined, heif_chroma_undefined, nullptr);
  const bool luma =
      e.code == heif_error_Ok && (heif_image_get_colorspace(img) == heif_colorspace_YCbCr ||
                                  heif_image_get_colorspace(img) == heif_colorspace_monochrome);
  if (e.code == heif_error_Ok && !luma) {
    heif_image_release(img);
    img = nullptr;
    e = heif_decode_image(f.primary, &img, heif_colorspace_RGB, heif_chroma_interleaved_RGB,
                          nullptr);
  }
  if (e.code != heif_error_Ok || img == nullptr) {
    if (img != nullptr) heif_image_release(img);
    return std::string(e.message);
  }
  const heif_channel ch = luma ? heif_channel_Y : heif_channel_interleaved;
  const int w = heif_image_get_width(img, ch), h = heif_image_get_height(img, ch);
  const int bits = heif_image_get_bits_per_pixel_range(img, ch);
  int stride = 0;
  const uint8_t* plane = heif_image_get_plane_readonly(img, ch, &stride);
  std::optional<std::string> failure;
  if (plane == nullptr || w <= 0 || h <= 0 || bits < 1 || bits > 16) {
    failure = "no image plane";
  } else if (!luma) {
    cv::cvtColor(cv::Mat(h, w, CV_8UC3, const_cast<uint8_t*>(plane), size_t(stride)), *grey,
                 cv::COLOR_RGB2GRAY);
  } else if (bits <= 8) {
    cv::Mat(h, w, CV_8UC1, const_cast<uint8_t*>(plane), size_t(stride)).copyTo(*grey);
  } else {
    cv::Mat(h, w, CV_16UC1, const_cast<uint8_t*>(plane), size_t(stride))
        .convertTo(*grey, CV_8U, 1.0 / double(1 << (bits - 8)));
  }
  heif_image_release(img);
  return failure;
}

struct Decoded {
  cv::Mat grey;  // the working image (possibly reduced while decoding)
  int width = 0, height = 0;  // of the encoded photo
  int reduction = 1;
};

// Decodes `bytes` into a greyscale working image, or explains why not. `max_reduction` (a power
// of 2) caps the reduction while decoding (kSmallPageShare).
std::optional<Reason> DecodePhoto(std::span<const uint8_t> bytes, Decoded* out, int max_reduction = 8) {
  if (bytes.size() > kMaxPhotoBytes)
    return MakeReason(reason::kImageTooLarge, "berkas > 50 MiB / file > 50 MiB");
  const std::optional<ImageHeader> h = ParseImageHeader(bytes);
  if (!h)
    return MakeReason(reason::kImageUnreadable,
                      "bukan JPEG/PNG/HEIC yang sah / not a valid JPEG, PNG or HEIC image");
  const bool sequential_jpeg = h->type == ImageHeader::Type::kJpeg && !h->progressive;
  const int64_t max_pixels = sequential_jpeg ? kMaxSequentialJpegPixels : kMaxPhotoPixels;
  if (int64_t(h->width) * h->height > max_pixels || h->width > 30000 || h->height > 30000)
    return MakeReason(reason::kImageTooLarge,
                      std::to_string(h->width) + "x" + std::to_string(h->height) + " > " +
                          std::to_string(max_pixels / 1'000'000) + " Mpx" +
                          (h->type == ImageHeader::Type::kJpeg && !sequential_jpeg
                               ? " (JPEG progresif / progressive JPEG; baseline: " +
                                     std::to_string(kMaxSequentialJpegPixels / 1'000'000) + " Mpx)"
                               : std::string()));
  if (std::min(h->width, h->height) < kMinPhotoSide)
    return MakeReason(reason::kImageTooSmall, std::to_string(h->width) + "x" +
                                                  std::to_string(h->height) + " < " +
                                                  std::to_string(kMinPhotoSide) + " px");
  // Truncation: a JPEG must end its entropy-coded data with EOI (FF D9), a PNG with IEND.
  if (h->type == ImageHeader::Type::kJpeg) {
    bool eoi = false;
    const size_t n = bytes.size();
    // Phones may append trailers after EOI: look in the last 64 KiB (or the whole file).
    const size_t from = n > (size_t{1} << 16) ? n - (size_t{1} << 16) : 0;
    for (size_t i = n - 1; i > from; --i)
      if (bytes[i] == 0xD9 && bytes[i - 1] == 0xFF) {
        eoi = true;
        break;
      }
    if (!eoi) return MakeReason(reason::kImageUnreadable, "JPEG terpotong / truncated JPEG");
  } else if (h->type == ImageHeader::Type::kPng) {
    static const uint8_t kIend[] = {'I', 'E', 'N', 'D'};
    const size_t n = bytes.size();
    bool iend = false;
    const size_t from = n > 64 ? n - 64 : 8;
    for (size_t i = from; i + 4 <= n; ++i)
      if (std::memcmp(&bytes[i], kIend, 4) == 0) iend = true;
    if (!iend) return MakeReason(reason::kImageUnreadable, "PNG terpotong / truncated PNG");
  }
  // Reduce while decoding (JPEG DCT scaling) to a working size of about 2000 px on the
  // longer side: enough for 7.5 mm digit boxes, and several times cheaper to decode.
  int reduction = 1;
  const int longer = std::max(h->width, h->height);
  if (h->type != ImageHeader::Type::kPng) {
    while (reduction < std::min(max_reduction, 8) && longer / (reduction * 2) >= 1500) reduction *= 2;
  }
  // HEIF is decoded whole (a file cut short fails to decode), then reduced.
  if (h->type == ImageHeader::Type::kHeif) {
    cv::Mat grey;
    if (auto failure = DecodeHeifGrey(bytes, &grey))
      return MakeReason(reason::kImageUnreadable, "HEIF: " + *failure);
    if (reduction > 1)
      cv::resize(grey, grey, cv::Size(grey.cols / reduction, grey.rows / reduction), 0, 0,
                 cv::INTER_AREA);
    out->grey = grey;
    out->width = h->width;
    out->height = h->height;
    out->reduction = reduction;
    return std::nullopt;
  }
  int flags = cv::IMREAD_GRAYSCALE;
  if (reduction == 2) flags = cv::IMREAD_REDUCED_GRAYSCALE_2;
  if (reduction == 4) flags = cv::IMREAD_REDUCED_GRAYSCALE_4;
  if (reduction == 8) flags = cv::IMREAD_REDUCED_GRAYSCALE_8;
  cv::Mat img;
  try {
    const cv::Mat buf(1, int(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
    img = cv::imdecode(buf, flags | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    return MakeReason(reason::kImageUnreadable, std::string("decode: ") + e.what());
  }
  if (img.empty() || img.depth() != CV_8U)
    return MakeReason(reason::kImageUnreadable, "gambar tidak dapat dibaca / cannot decode image");
  if (img.channels() != 1) cv::cvtColor(img, img, cv::COLOR_BGR2GRAY);
  out->grey = img;
  out->width = h->width;
  out->height = h->height;
  out->reduction = reduction;
  return std::nullopt;
}

// A decoded photo holds at most this many pixels when decoded again finer (DecodeFiner; a 24 Mpx
// phone photo at full size): a 108 or 200 Mpx photo, decoded at an eighth of its side the first
// time, is not decoded whole for a small page.
constexpr double kMaxFinerPixels = 24e6;

// Photo `bytes`, first decoded as `first`, decoded again f (a power of 2) times finer, or less
// where kMaxFinerPixels says so; an empty Mat where it cannot be decoded finer at all.
cv::Mat DecodeFiner(std::span<const uint8_t> bytes, const Decoded& first, int f) {
  int r = std::max(1, first.reduction / f);
  while (r < first.reduction && double(first.width / r) * double(first.height / r) > kMaxFinerPixels) r *= 2;
  Decoded again;
  if (r >= first.reduction || DecodePhoto(bytes, &again, r) || again.reduction >= first.reduction) return cv::Mat();
  return again.grey;
}

// ---------------------------------------------------------------------------------------------
// Geometry helpers

cv::Point2d Apply(const cv::Matx33d& H, double x, double y) {
  const cv::Vec3d p = H * cv::Vec3d(x, y, 1);
  return {p[0] / p[2], p[1] / p[2]};
}

std::array<cv::Point2d, 4> RectCorners(const Rect& r) {
  return {cv::Point2d(r.x, r.y), cv::Point2d(r.x + r.w, r.y), cv::Point2d(r.x + r.w, r.y + r.h),
          cv::Point2d(r.x, r.y + r.h)};
}

// Warps the layout region `mm` of `img` (homography H: mm -> px of img) to an axis-aligned
// crop at `scale` px/mm.
cv::Mat WarpRegion(const cv::Mat& img, const cv::Matx33d& H, const Rect& mm, double scale) {
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
double PaperLevel(const cv::Mat& grey, double q = 0.90) {
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

Rect Expand(const Rect& r, double m) { return {r.x - m, r.y - m, r.w + 2 * m, r.h + 2 * m}; }

Rect Union(const Rect& a, const Rect& b) {
  const double x0 = std::min(a.x, b.x), y0 = std::min(a.y, b.y);
  const double x1 = std::max(a.right(), b.right()), y1 = std::max(a.bottom(), b.bottom());
  return {x0, y0, x1 - x0, y1 - y0};
}

// ---------------------------------------------------------------------------------------------
// Finding the page

struct Marker {
  int id = -1;
  std::array<cv::Point2f, 4> corners;  // in working-image px, the marker's own TL, TR, BR, BL
  double side = 0;                     // mean side length, px
};

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
};

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

// How well homography H puts the layout's printed structure onto the photo: the share of
// features (some bubbles of every row, every edge of every digit box) whose printed line is
// darker than the paper next to it by at least 4 % of that paper. Below 0.6 for a wrong H;
// 0.8 to 1 for a right one (150 synthetic photos of each form). The box edges make it fail for a shift by a bubble's pitch, which the
// bubbles alone (a periodic grid) would not notice.
constexpr double kMinLayoutFit = 0.7;
// A combination of corner checkers fitting at least this well is refined (LocateKpu).
constexpr double kRefineFrom = 0.4;

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
constexpr double kAlignFrom = 0.1;
constexpr double kAlignMaxMm = 4.0;
constexpr double kRealignBelow = 0.9;
// On KPU's page, how many of the best-fitting checker combinations are tried aligned.
constexpr size_t kAlignCombinations = 3;
// On KPU's page, a combination of the checkers found as blobs that fits this well once aligned
// is taken without the checker search (which could only find the same checkers again, at
// 40-100 ms); under it the search runs, and its combinations are aligned with these.
constexpr double kBentEarly = kRealignBelow;

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

}  // namespace

double LayoutFit(const cv::Mat& work, const cv::Matx33d& H, const PageLayout& L, Alignment* align = nullptr,
                 double align_from = 1, double gap_px = kGapPx, PrintFields* print_fields = nullptr) {
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
Location LocateOwn(const cv::Mat& work, const PageLayout& L, bool blurred) {
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
  // Keep the largest marker per expected id.
  std::map<int, const Marker*> best;
  for (const Marker& m : ms) {
    if (!fid_of.count(m.id)) continue;
    auto it = best.find(m.id);
    if (it == best.end() || it->second->side < m.side) best[m.id] = &m;
  }
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
  std::vector<cv::Point2f> mm, px;
  double side = 0;
  for (const auto& [id, m] : best) {
    AddMarkerCorners(L.fiducials[fid_of[id]], *m, &mm, &px);
    side += m->side;
  }
  side /= double(best.size());
  RefineCorners(work, &px, side);
  const double tol = std::max(2.0, side * 0.06);
  const double blurred_tol = blurred ? std::max(tol, 1.5 * loc.tag_blur_px) : tol;
  if (Prof().on) std::fprintf(stderr, "own markers %zu, edge blur %.2f px, corner tolerance %.2f / %.2f px\n", best.size(), loc.tag_blur_px, tol, blurred_tol);
  const bool fitted = FitHomography(mm, px, tol, 12, &loc.H) ||
                      (blurred_tol > tol && FitHomography(mm, px, blurred_tol, 12, &loc.H));
  if (!fitted || !PlausiblePage(loc.H, L, &loc.px_per_mm, &loc.rotation_deg)) {
    loc.failure = MakeReason(reason::kPageNotFound,
                             "penanda sudut tidak konsisten / corner markers inconsistent");
    return loc;
  }
  loc.found = true;
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
                   double gap_px = kGapPx, const std::vector<Marker>* known = nullptr, bool soft = true,
                   PrintFields* print_fields = nullptr) {
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
  for (int attempt = 0; attempt < attempts && tags.empty() && known == nullptr; ++attempt) {
    // Before the searches at full size (about 0.9 s on a 4,000 px photo whose tag is too
    // blurred to decode): the quads rejected so far read cell by cell, and the tag taken from
    // them if one reads as a page of KPU's form; the full-size searches only where none does.
    // Measured on 200 KPU page-2 photos at four times the usual blur (2026-12-06): the tag
    // stage, mean per page, 178-190 -> 75-87 ms; the page, p95 1,107-1,182 -> 708-800 ms; 163
    // found instead of 162 and 72 accepted either way (at three times: 196 and 108 either
    // way), none wrong. Field dumps byte-identical on validation seed 9, seed 1, the
    // covered corners of seed 70 and the all-inconsistent seed 22 (its small photos found at
    // twice their size included); the blurred all-inconsistent sets flagged as before.
    if (attempt == 2 && soft && !rejected.empty()) {
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
    tags = DetectMarkers(det, to_work, DictFor(pm0.dictionary), params, &rejected);
    Prof().Mark("tag");
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

// ---------------------------------------------------------------------------------------------
// QR

// Debian's OpenCV is built without quirc, so cv::QRCodeDetector cannot decode; the WeChat QR
// module (opencv_contrib, a ZXing port) can, without its optional CNN models.
// One decoder per thread (it keeps state between calls); constructing it may throw.
cv::wechat_qrcode::WeChatQRCode& QrDecoder() {
  static thread_local std::unique_ptr<cv::wechat_qrcode::WeChatQRCode> det;
  if (!det) det = std::make_unique<cv::wechat_qrcode::WeChatQRCode>();
  return *det;
}

std::optional<std::string> ReadQr(const cv::Mat& work, const cv::Matx33d& H, const Rect& qr) {
  const double quiet = qr.w * 0.15;
  const Rect region = Expand(qr, quiet);
  const double scale = std::clamp(200.0 / qr.w, 2.0, 12.0);  // ~5 px per module
  cv::Mat crop = WarpRegion(work, H, region, scale);
  try {
    for (int attempt = 0; attempt < 2; ++attempt) {
      cv::Mat in = crop;
      if (attempt == 1) cv::threshold(crop, in, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
      std::vector<std::string> texts = QrDecoder().detectAndDecode(in);
      for (const auto& t : texts)
        if (!t.empty()) return t;
    }
  } catch (const cv::Exception&) {
  }
  return std::nullopt;
}

// A QR code the decoder could not read, compared with the codes it may be. On a blurred photo
// the 1 mm modules run together and the decoder gives up while the printed pattern is still
// there in shades of grey. With the TPS expected, every page's payload is known, so its code is
// encoded as printed (QrModules) and compared with the darkness at the centre of every module.
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

// A code is taken as the photo's when its score is >= kQrMatchMin. Measured (docs/reader.md,
// "A QR code too blurred to decode"): the code photographed 0.25-0.87 on 199 photos blurred past
// decoding, another TPS's code at most 0.10.
constexpr double kQrMatchMin = 0.5;
constexpr size_t kQrDecoyDigits = 4;  // decoys: 9 for each of the TPS id's last digits

// Pearson's r of `d` with the 0/1 modules of `code` over `cells` (0 if either is constant).
double Pearson01(const std::vector<double>& d, const cv::Mat& code, const std::vector<int>& cells) {
  double sum = 0;
  for (int c : cells) sum += d[size_t(c)];
  const double m = double(cells.size()), mean = m > 0 ? sum / m : 0;
  double ss = 0, on = 0, dot = 0;
  for (int c : cells) {
    const double v = d[size_t(c)] - mean;
    ss += v * v;
    if (code.data[c]) {
      dot += v;
      ++on;
    }
  }
  if (!(ss > 0) || on <= 0 || on >= m) return 0;
  return dot / (std::sqrt(ss) * std::sqrt(on * (m - on) / m));
}

// A code of n x n modules warped out at kQrPx px per module, with one module of margin; empty
// where the photo shows it too small.
constexpr int kQrPx = 6;
cv::Mat QrCrop(const cv::Mat& work, const cv::Matx33d& H, const Rect& qr, int n) {
  const double module_mm = qr.w / n;
  cv::Mat crop = WarpRegion(work, H, Expand(qr, module_mm), kQrPx / module_mm);
  return crop.rows < (n + 2) * kQrPx || crop.cols < (n + 2) * kQrPx ? cv::Mat() : crop;
}

// The darkness (255 - grey) of each module of a QrCrop, from its central 2 x 2 px, registered
// at the offset of up to half a module (the homography is fitted to the corner markers, not to
// the QR) where it follows `code` best over `cells` (Pearson01); *r gets that correlation.
std::vector<double> ModuleDarkness(const cv::Mat& crop, int n, const cv::Mat& code, const std::vector<int>& cells,
                                   double* r) {
  constexpr int kShift = kQrPx / 2;
  auto sample = [&](int dx, int dy) {
    std::vector<double> d(size_t(n) * size_t(n));
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) {
        const int x0 = (x + 1) * kQrPx + kQrPx / 2 - 1 + dx, y0 = (y + 1) * kQrPx + kQrPx / 2 - 1 + dy;
        d[size_t(y * n + x)] = 255 - (crop.at<uint8_t>(y0, x0) + crop.at<uint8_t>(y0, x0 + 1) +
                                      crop.at<uint8_t>(y0 + 1, x0) + crop.at<uint8_t>(y0 + 1, x0 + 1)) / 4.0;
      }
    return d;
  };
  std::vector<double> best;
  *r = -2;
  for (int dy = -kShift; dy <= kShift; ++dy)
    for (int dx = -kShift; dx <= kShift; ++dx) {
      std::vector<double> s = sample(dx, dy);
      const double k = Pearson01(s, code, cells);
      if (k > *r) *r = k, best = std::move(s);
    }
  return best;
}

QrMatch MatchQr(const cv::Mat& work, const cv::Matx33d& H, const Rect& qr, const std::vector<cv::Mat>& codes,
                const std::vector<bool>& wanted) {
  QrMatch out;
  std::map<int, cv::Mat> crops;  // by code size
  for (size_t c = 0; c < codes.size(); ++c) {
    if (!wanted[c] || !codes[c].isContinuous()) continue;
    const int n = codes[c].cols;
    auto it = crops.find(n);
    if (it == crops.end()) it = crops.emplace(n, QrCrop(work, H, qr, n)).first;
    const cv::Mat& crop = it->second;
    if (crop.empty()) continue;
    std::vector<int> all(size_t(n) * size_t(n));
    std::iota(all.begin(), all.end(), 0);
    double reg = -2;
    const std::vector<double> d = ModuleDarkness(crop, n, codes[c], all, &reg);
    double score = 1;
    for (size_t k = 0; k < codes.size(); ++k) {
      if (k == c || codes[k].cols != n || !codes[k].isContinuous()) continue;
      std::vector<int> differ;
      for (int i = 0; i < n * n; ++i)
        if (codes[k].data[i] != codes[c].data[i]) differ.push_back(i);
      if (differ.size() < 16) {  // a rival hardly distinguishable: no verdict
        score = -1;
        break;
      }
      score = std::min(score, Pearson01(d, codes[c], differ));
    }
    if (score > out.score) {
      out.score = score;
      out.index = int(c);
    }
  }
  return out;
}

// A QR code the decoder could not read, read module by module. Blur runs the 1 mm modules
// together: the decoder's own binarization then finds no finder patterns or too many wrong
// modules. The page's homography says where every module's centre is (our form prints one
// version of code for every TPS: the payload's length is fixed), so the darkness there is
// sampled, registered at offsets of up to half a module on the function patterns every code of
// that version shares (the finders, their separators and the timing rows), and each module
// decided against a blur model fitted on those same patterns: a module's darkness = a (itself)
// + b (its four neighbours) + c (its four diagonal ones) + f (the four two away) + e, least
// squares over the known modules; the unknown ones are decided by that model from their
// neighbours' latest decisions, in rounds until none changes. The clean code is drawn and
// decoded after each round (its Reed-Solomon correction mends what is still wrong), and the
// payload's own check value rejects a wrong decode.
constexpr int kQrModuleRounds = 8;
std::optional<std::string> ReadQrByModules(const cv::Mat& work, const cv::Matx33d& H, const PageLayout& L) {
  if (!L.qr) return std::nullopt;
  RenderInput dummy;
  dummy.tps = "3171010001001";  // any TPS: every payload has the same length
  auto payload = QrPayloadFor(L, dummy);
  if (!payload.ok()) return std::nullopt;
  auto ref = QrModules(*payload);
  if (!ref.ok() || !ref->isContinuous()) return std::nullopt;
  const cv::Mat& code = *ref;
  const int n = code.cols;
  // The function patterns shared by every code of this size: the three finders with their
  // separators (8 x 8 at three corners) and the timing row and column between them.
  std::vector<uint8_t> known(size_t(n) * size_t(n), 0);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      const bool finder = (x < 8 && y < 8) || (x >= n - 8 && y < 8) || (x < 8 && y >= n - 8);
      const bool timing = (y == 6 && x >= 8 && x < n - 8) || (x == 6 && y >= 8 && y < n - 8);
      known[size_t(y * n + x)] = finder || timing;
    }
  const cv::Mat crop = QrCrop(work, H, *L.qr, n);
  if (crop.empty()) return std::nullopt;
  std::vector<int> cells;
  for (int i = 0; i < n * n; ++i)
    if (known[size_t(i)]) cells.push_back(i);
  double reg = -2;
  const std::vector<double> d = ModuleDarkness(crop, n, code, cells, &reg);
  if (reg < 0.5) return std::nullopt;  // no code there, or nothing of it left
  // Bits: 1 = dark. Known modules as printed, the rest first by the midpoint of the known
  // modules' darkness.
  auto at = [&](const std::vector<int>& b, int x, int y) {
    return x < 0 || y < 0 || x >= n || y >= n ? 0 : b[size_t(y * n + x)];
  };
  std::vector<int> bits(size_t(n) * size_t(n));
  double dark = 0, light = 0;
  int nd = 0, nl = 0;
  for (int c : cells) (code.data[c] ? (dark += d[size_t(c)], ++nd) : (light += d[size_t(c)], ++nl));
  if (nd == 0 || nl == 0) return std::nullopt;
  const double mid = (dark / nd + light / nl) / 2;
  for (int i = 0; i < n * n; ++i) bits[size_t(i)] = known[size_t(i)] ? code.data[i] : d[size_t(i)] > mid;
  // The blur model, fitted on the known modules. A module's neighbours, summed: the four beside
  // it, the four diagonal, the four two away (outside the code: the light quiet zone).
  auto around = [&](int x, int y) {
    return std::array<double, 3>{
        double(at(bits, x - 1, y) + at(bits, x + 1, y) + at(bits, x, y - 1) + at(bits, x, y + 1)),
        double(at(bits, x - 1, y - 1) + at(bits, x + 1, y - 1) + at(bits, x - 1, y + 1) + at(bits, x + 1, y + 1)),
        double(at(bits, x - 2, y) + at(bits, x + 2, y) + at(bits, x, y - 2) + at(bits, x, y + 2))};
  };
  cv::Mat A(int(cells.size()), 5, CV_64F), B(int(cells.size()), 1, CV_64F);
  for (size_t k = 0; k < cells.size(); ++k) {
    const int x = cells[k] % n, y = cells[k] / n;
    const auto r = around(x, y);
    A.at<double>(int(k), 0) = bits[size_t(cells[k])];
    for (int j = 0; j < 3; ++j) A.at<double>(int(k), 1 + j) = r[size_t(j)];
    A.at<double>(int(k), 4) = 1;
    B.at<double>(int(k), 0) = d[size_t(cells[k])];
  }
  cv::Mat m;
  if (!cv::solve(A, B, m, cv::DECOMP_SVD)) return std::nullopt;
  const double a = m.at<double>(0), e = m.at<double>(4);
  const std::array<double, 3> w{m.at<double>(1), m.at<double>(2), m.at<double>(3)};
  if (!(a > 8)) return std::nullopt;  // a module's own ink hardly shows
  auto decode = [&]() -> std::optional<std::string> {
    constexpr int kDraw = 8, kQuiet = 4;
    cv::Mat img((n + 2 * kQuiet) * kDraw, (n + 2 * kQuiet) * kDraw, CV_8UC1, cv::Scalar(255));
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x)
        if (bits[size_t(y * n + x)])
          img(cv::Rect((x + kQuiet) * kDraw, (y + kQuiet) * kDraw, kDraw, kDraw)).setTo(0);
    try {
      for (const auto& t : QrDecoder().detectAndDecode(img))
        if (!t.empty() && ParseQrPayload(t).ok()) return t;
    } catch (const cv::Exception&) {
    }
    return std::nullopt;
  };
  // Rounds of decisions in place (each module sees its neighbours' latest), until none changes.
  for (int round = 0; round < kQrModuleRounds; ++round) {
    if (auto t = decode()) return t;
    int changed = 0;
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) {
        const size_t i = size_t(y * n + x);
        if (known[i]) continue;
        const auto r = around(x, y);
        const double rest = w[0] * r[0] + w[1] * r[1] + w[2] * r[2] + e;
        const int bit = d[i] - rest > a / 2;
        changed += bit != bits[i];
        bits[i] = bit;
      }
    if (changed == 0) return std::nullopt;
  }
  return decode();
}

// The page (1-based) whose QR code, printed for o.expected_tps, the photo's QR matches
// (MatchQr against the form's other pages and decoy TPSs); 0 if none clearly does.
int MatchExpectedQr(const cv::Mat& work, const cv::Matx33d& H, const std::vector<PageLayout>& layouts,
                    const ReadOptions& o) {
  std::vector<cv::Mat> codes;
  std::vector<int> code_page;  // > 0: a page of the expected TPS; 0: a decoy
  auto add = [&](const std::string& tps, int page) {
    RenderInput in;
    in.tps = tps;
    auto payload = QrPayloadFor(layouts[size_t(page - 1)], in);
    if (!payload.ok()) return false;
    auto m = QrModules(*payload);
    if (!m.ok()) return false;
    codes.push_back(*m);
    code_page.push_back(tps == o.expected_tps ? page : 0);
    return true;
  };
  for (int page = 1; page <= int(layouts.size()); ++page) {
    if (o.expected_page > 0 && page != o.expected_page) continue;
    if (!add(o.expected_tps, page)) continue;
    // Decoys: the same page of TPSs whose id differs in one digit, any of the last four (the
    // TPS and the village). Among them are codes printed with the same mask as the expected
    // one, which differ from it only where the payload does: a photo of another TPS's code
    // agrees with the expected one on the rest.
    for (size_t pos = o.expected_tps.size() - kQrDecoyDigits; pos < o.expected_tps.size(); ++pos)
      for (int k = 1; k <= 9; ++k) {
        std::string other = o.expected_tps;
        other[pos] = char('0' + (other[pos] - '0' + k) % 10);
        add(other, page);
      }
  }
  std::vector<bool> wanted;
  for (int p : code_page) wanted.push_back(p > 0);
  const QrMatch m = MatchQr(work, H, *layouts[0].qr, codes, wanted);
  if (Prof().on)
    std::fprintf(stderr, "qr pattern: best %d (page %d) score %.3f\n", m.index,
                 m.index >= 0 ? code_page[size_t(m.index)] : -1, m.score);
  return m.index >= 0 && m.score >= kQrMatchMin ? code_page[size_t(m.index)] : 0;
}

// ---------------------------------------------------------------------------------------------
// One photo

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
  int finer = 0;  // read from the photo decoded again this many times finer (0: not)
};

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

PageObservation ObservePage(const cv::Mat& work, const std::vector<PageLayout>& layouts,
                            const Form& form, const ReadOptions& o) {
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
    std::optional<std::string> text;
    if (L0.qr) text = ReadQr(work, loc.H, *L0.qr);
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

// ---------------------------------------------------------------------------------------------
// Deciding: constraint search and acceptance

struct SearchResult {
  bool found = false;
  std::vector<Value> values;
  int states = 0;
  double cost = 0;  // -log of the chosen assignment's probability (product over the fields)
  // With want_second: a lower bound on the cost of the next-best assignment that satisfies every
  // hard rule (its exact cost when one was found; infinite when there is none).
  double second_cost = std::numeric_limits<double>::infinity();
};

// Best-first enumeration of assignments in decreasing probability (product of the per-field
// hypothesis probabilities); the first one that satisfies every hard rule wins. The enumeration
// then goes on (within max_states) to the runner-up, so that a caller can tell how much more
// probable the winner is.
SearchResult SearchAssignment(const Form& form, const std::vector<Value>& base,
                              const std::vector<int>& fields,
                              const std::vector<std::vector<std::pair<Value, double>>>& hyp,
                              int max_states, bool want_second = false) {
  SearchResult out;
  const size_t n = fields.size();
  std::vector<std::vector<double>> cost(n);
  for (size_t i = 0; i < n; ++i)
    for (const auto& [v, p] : hyp[i]) cost[i].push_back(-std::log(std::max(p, 1e-300)));
  struct State {
    double cost;
    uint32_t id;
  };
  std::vector<uint8_t> ranks;   // state id * n .. : rank per field
  std::vector<uint16_t> pivot;  // per state
  auto cmp = [](const State& a, const State& b) { return a.cost > b.cost || (a.cost == b.cost && a.id > b.id); };
  std::priority_queue<State, std::vector<State>, decltype(cmp)> pq(cmp);
  double c0 = 0;
  for (size_t i = 0; i < n; ++i) {
    if (cost[i].empty()) return out;
    c0 += cost[i][0];
  }
  ranks.assign(n, 0);
  pivot.push_back(0);
  pq.push({c0, 0});
  std::vector<Value> vals = base;
  while (!pq.empty() && out.states < max_states) {
    const State s = pq.top();
    pq.pop();
    ++out.states;
    const uint8_t* r = &ranks[size_t(s.id) * n];
    for (size_t i = 0; i < n; ++i) vals[size_t(fields[i])] = hyp[i][r[i]].first;
    if (out.found) out.second_cost = s.cost;  // nothing left is cheaper than this
    if (form.Validate(vals.data(), nullptr)) {
      if (out.found) return out;
      out.found = true;
      out.values = vals;
      out.cost = s.cost;
      if (!want_second) return out;
    }
    if (ranks.size() / std::max<size_t>(n, 1) > size_t(max_states) * 8) continue;  // memory bound
    for (size_t i = pivot[s.id]; i < n; ++i) {
      const uint8_t* rr = &ranks[size_t(s.id) * n];
      if (size_t(rr[i]) + 1 >= cost[i].size()) continue;
      const double c = s.cost - cost[i][rr[i]] + cost[i][size_t(rr[i]) + 1];
      if (!std::isfinite(c)) continue;
      const uint32_t id = uint32_t(pivot.size());
      const size_t off = ranks.size();
      ranks.resize(off + n);
      std::memcpy(&ranks[off], &ranks[size_t(s.id) * n], n);
      ranks[off + i]++;
      pivot.push_back(uint16_t(i));
      pq.push({c, id});
    }
  }
  if (out.found && pq.empty()) out.second_cost = std::numeric_limits<double>::infinity();
  return out;
}

// True if no value other than vals[f] in 0..max satisfies the hard rules, given only the
// fields in `known` (and f) are present.
bool PinnedByRules(const Form& form, const std::vector<Value>& vals, const std::vector<bool>& known,
                   int f) {
  std::vector<Value> v(vals.size(), kMissing);
  for (size_t i = 0; i < vals.size(); ++i)
    if (known[i]) v[i] = vals[i];
  v[size_t(f)] = vals[size_t(f)];
  if (!form.Validate(v.data(), nullptr)) return false;
  const Value maxv = form.fields()[size_t(f)].max_value;
  for (Value alt = 0; alt <= maxv; ++alt) {
    if (alt == vals[size_t(f)]) continue;
    v[size_t(f)] = alt;
    if (form.Validate(v.data(), nullptr)) return false;
  }
  return true;
}

// The blur past which a page's photo is asked for again (ReadOptions::blurred_line_mm; 0 = the
// form's own limit).
double BlurredLineLimitMm(const ReadOptions& o) {
  return o.blurred_line_mm > 0 ? o.blurred_line_mm : IsKpu(o.form) ? 1.9 : 1.35;
}

Reading Decide(const Form& form, const std::vector<PageLayout>& layouts,
               std::vector<PageObservation>& obs, const ReadOptions& o) {
  Reading rd;
  rd.form = layouts[0].form_id;
  rd.page_found = !obs.empty();
  std::set<int> pages_seen;
  std::vector<int> dup_pages;
  for (auto& ob : obs) {
    for (auto& r : ob.reasons) rd.reasons.push_back(r);
    if (!ob.found) rd.page_found = false;
    // The page's sharpness: the median width of its upright borders and of its level ones,
    // the wider of the two. A shaken camera smears the photo along one direction: the borders
    // across it widen, those along it stay sharp, and a median over both would call a photo
    // sharp whose digits are smeared.
    for (const auto& widths : ob.line_widths)
      if (ob.page > 0 && !widths.empty()) rd.line_mm[ob.page] = std::max(rd.line_mm[ob.page], Median(widths));
    if (ob.page > 0 && ob.found) rd.grain[ob.page] = ob.grain;
    if (ob.page > 0 && ob.found && ob.spilled_boxes > 0)
      rd.spilled_boxes[ob.page] = ob.spilled_boxes;
    if (ob.page > 0 && ob.found && ob.boxes_moved > 0) rd.boxes_moved[ob.page] = ob.boxes_moved;
    if (ob.page > 0 && ob.found && ob.finer > 0) rd.decoded_finer[ob.page] = ob.finer;
    if (ob.page > 0 && ob.found && ob.rows_moved > 0) rd.rows_moved[ob.page] = ob.rows_moved;
    if (ob.page > 0 && ob.found && ob.bend_mm >= 0) rd.bend_mm[ob.page] = ob.bend_mm;
    rd.print_fields += ob.print_fields;
    if (ob.page > 0) {
      if (!pages_seen.insert(ob.page).second) dup_pages.push_back(ob.page);
      rd.pages.push_back(ob.page);
    }
    if (!ob.qr.empty() && ob.page > 0) rd.qr[ob.page] = ob.qr;
    if (!ob.tps.empty()) {
      if (rd.tps.empty()) rd.tps = ob.tps;
      else if (rd.tps != ob.tps && !rd.HasReason(reason::kTpsMismatch))
        rd.reasons.push_back(MakeReason(reason::kTpsMismatch, "TPS " + rd.tps + " != " + ob.tps));
    }
  }
  std::sort(rd.pages.begin(), rd.pages.end());
  rd.page = rd.pages.empty() ? 0 : rd.pages[0];
  if (!rd.tps.empty()) {
    rd.tps_from = tps_from::kQr;
  } else if (!o.expected_tps.empty()) {
    rd.tps = o.expected_tps;
    rd.tps_from = tps_from::kCaller;
  }
  if (rd.tps.empty() && rd.page_found)
    rd.reasons.push_back(MakeReason(reason::kTpsUnknown, "TPS tidak diketahui / TPS unknown (--tps)"));
  for (int p : dup_pages)
    rd.reasons.push_back(MakeReason(reason::kWrongPage, "halaman ganda / duplicate page " + std::to_string(p)));
  if (rd.page_found && o.expected_page == 0 && layouts.size() > 1) {
    for (const PageLayout& l : layouts)
      if (!pages_seen.count(l.page))
        rd.reasons.push_back(MakeReason(reason::kPageMissing, "halaman / page " + std::to_string(l.page)));
  }

  // Gather the fields read, in form order.
  std::vector<const FieldReading*> fr_of(form.size(), nullptr);
  std::vector<const NumberReading*> nr_of(form.size(), nullptr);
  for (auto& ob : obs)
    for (size_t i = 0; i < ob.fields.size(); ++i) {
      const int fi = form.IndexOf(ob.fields[i].field);
      if (fi < 0 || fr_of[size_t(fi)] != nullptr) continue;
      fr_of[size_t(fi)] = &ob.fields[i];
      nr_of[size_t(fi)] = &ob.numbers[i];
    }
  std::vector<int> read_fields;
  std::vector<std::vector<std::pair<Value, double>>> hyp;
  std::vector<Value> top1(form.size(), kMissing);
  for (size_t f = 0; f < form.size(); ++f) {
    if (fr_of[f] == nullptr || nr_of[f]->hypotheses.empty()) continue;
    if (nr_of[f]->blank && nr_of[f]->omr_empty) continue;  // nothing written at all
    read_fields.push_back(int(f));
    auto h = nr_of[f]->hypotheses;
    // Drop hypotheses that are hopeless relative to the best.
    const double pmax = h[0].second;
    std::erase_if(h, [&](const auto& x) { return x.second < pmax * 1e-12; });
    hyp.push_back(h);
    top1[f] = h[0].first;
  }

  // The values as read (top hypothesis) and the rules they break; reported if the page goes
  // to review.
  std::vector<Reason> value_reasons;
  std::vector<RuleFailure> failures;
  form.Validate(top1.data(), &failures);
  for (const RuleFailure& f : failures) {
    if (f.severity == Severity::kWarning) continue;
    Reason r = MakeReason(reason::kRuleBroken, f.detail);
    r.rule = f.rule_id;
    value_reasons.push_back(r);
  }

  std::vector<Value> chosen = top1;
  bool solved = false;
  if (!read_fields.empty()) {
    SearchResult sr = SearchAssignment(form, top1, read_fields, hyp, o.max_search_states);
    rd.search_states = sr.states;
    solved = sr.found;
    if (sr.found) chosen = sr.values;
    else value_reasons.push_back(MakeReason(reason::kNoSolution,
                                            "tidak ada nilai yang memenuhi aturan / no values satisfy the rules (" +
                                                std::to_string(sr.states) + " checked)"));
  }
  {
    std::vector<RuleFailure> all;
    form.Validate(chosen.data(), &all);
    for (RuleFailure& f : all)
      if (f.severity == Severity::kWarning) rd.warnings.push_back(std::move(f));
  }

  // Per field: is the chosen value confirmed by two independent channels? The channels are the
  // digit boxes (CNN), the bubbles (OMR) and the form's hard rules (the value is the only one
  // the rules allow given numbers already confirmed). Clear bubbles that say something else
  // always veto.
  auto prob_of = [&](int f) {
    for (const auto& [v, q] : nr_of[size_t(f)]->hypotheses)
      if (v == chosen[size_t(f)]) return q;
    return 0.0;
  };
  // The bubbles confirm v when every row of a significant digit has that digit as its single
  // clear mark (leading rows empty or 0); they veto v when some row's marks exclude its digit.
  // An empty row is neither (a missed mark).
  auto omr_confirms = [&](int f, Value v) {
    int unconfirmed = 0;
    return OmrCompatible(*nr_of[size_t(f)], v, &unconfirmed) && unconfirmed == 0;
  };
  std::vector<bool> verified(form.size(), false);
  std::vector<std::string> how(form.size());
  // Whether the boxes' second reading may settle number f: not on a page photographed past the
  // blur limit (photo_blurred). There the CNN's second readings of digits written otherwise
  // reach the 0.2 more often (a 40 bubbled 90 at 0.206 on 300 all-inconsistent KPU photos at
  // twice the blur, docs/reader.md), and the KPPS can still take the photo again.
  const double blur_limit = BlurredLineLimitMm(o);
  auto second_reading_allowed = [&](int f) {
    const auto it = rd.line_mm.find(fr_of[size_t(f)]->page);
    return it == rd.line_mm.end() || it->second <= blur_limit;
  };
  // The CNN's probability of value v for number f (0 if not among its top readings).
  auto cnn_p_of = [&](int f, Value v) {
    for (const auto& [x, q] : nr_of[size_t(f)]->ocr_hypotheses)
      if (x == v) return q;
    return 0.0;
  };
  // A misread known on the sheet: a confirmed number whose CNN reading is another value. The
  // confirmations below that rest on the CNN alone (a number without bubbles, or whose bubbles
  // say nothing) assume its readings are as reliable as on the digits it was trained on; a
  // sheet where it has misread one number is written in a hand it reads less well, and two
  // misreads that happen to satisfy a rule together become likely enough to matter. Measured
  // with "other hands" (`rekap bench reader --restyle 1`, the CNN reading about 90 % of the
  // boxes): 3 of 1,000 consistent KPU sheets were accepted with V.B and V.C both misread so
  // that V.C = V.A + V.B still held, each on a sheet with a misread known elsewhere; none
  // with this check (docs/reader.md). `except` leaves one number out (the one being decided).
  auto misread_known = [&](int except) {
    if (o.min_cross_probability_after_misread > 1) return false;  // turned off
    for (int f : read_fields) {
      if (f == except || !verified[size_t(f)]) continue;
      const FieldReading& fr = *fr_of[size_t(f)];
      if (fr.ocr != kMissing && fr.ocr != chosen[size_t(f)]) return true;
    }
    return false;
  };
  // The chosen assignment is at least min_runner_up_ratio times as probable as any other that
  // satisfies every hard rule (searched once, when first asked).
  int winner_known = -1;
  auto clear_winner = [&]() {
    if (winner_known < 0) {
      const SearchResult s2 = SearchAssignment(form, top1, read_fields, hyp, o.max_search_states, true);
      winner_known = s2.found && s2.values == chosen &&
                     s2.second_cost - s2.cost >= std::log(o.min_runner_up_ratio);
    }
    return winner_known == 1;
  };
  for (int f : read_fields) {
    const FieldReading& fr = *fr_of[size_t(f)];
    const Value v = chosen[size_t(f)];
    if (omr_confirms(f, v) && fr.ocr == v && fr.ocr_p >= o.min_ocr_probability &&
        prob_of(f) >= o.min_probability) {
      verified[size_t(f)] = true;
      how[size_t(f)] = "boxes+bubbles";
    }
  }
  // The bubbles read the number clearly and the boxes, though their best reading differs (an
  // ambiguous handwritten digit), give the bubbles' value a fair probability too.
  for (int f : read_fields) {
    if (verified[size_t(f)]) continue;
    const Value v = chosen[size_t(f)];
    if (omr_confirms(f, v) && cnn_p_of(f, v) >= o.min_support_probability &&
        prob_of(f) >= o.min_probability && second_reading_allowed(f)) {
      verified[size_t(f)] = true;
      how[size_t(f)] = "bubbles+boxes(2nd)";
    }
  }
  // Partly double-read: every bubble row but one confirms its digit, that row is empty or holds
  // the digit among several marks, and the digit box of that one position is read by the CNN
  // very confidently (>= min_partial_probability) as the same digit: over all ten digits for an
  // empty row, among the marked values for a row marked twice. The CNN's reading of the whole
  // number must be the value with min_ocr_probability, as for "boxes+bubbles": a box judged
  // empty leaves every digit equally likely, so a number whose units box is empty has the CNN's
  // best reading end in 0 at about 0.1; with thin pencil digits (`rekap bench reader
  // --pen-strokes 1 --inconsistent-rate 1`) 64 written, 60 bubbled and the 4 judged empty was
  // accepted as 60 (ReadSynth.BoxReadEmptyDoesNotConfirmTheBubbles). The number's other digits are
  // then read twice and the one digit once, by a confident CNN (in a row marked twice the
  // bubbles narrow it to the marks and the CNN chooses among them). Never when the bubbles on
  // their own spell another complete number: boxes 98 with only the 8 bubbled reads "8" in the
  // bubbles, and a leading digit the boxes add that the bubbles do not have is the 2024 "58
  // read as 948" failure, which the bubbles are there to catch.
  auto digit_at = [](Value x, int j) { return j == 0 ? x / 100 : j == 1 ? (x / 10) % 10 : x % 10; };
  // Whether the CNN reads box j of number f as digit d with min_partial_probability among the
  // digits the other readings leave (weighted by how much they leave each: w).
  auto box_chooses = [&](const FieldReading& fr, int j, int d, const std::array<double, 10>& w) {
    const auto& prob = fr.box_prob[size_t(j)];
    double left = 0;
    for (int c = 0; c < 10; ++c) left += double(prob[size_t(c)]) * w[size_t(c)];
    return fr.box_digit[size_t(j)] == d && left > 0 &&
           double(prob[size_t(d)]) * w[size_t(d)] >= o.min_partial_probability * left;
  };
  auto partly_confirmed = [&](int f, Value v) {
    const FieldReading& fr = *fr_of[size_t(f)];
    const NumberReading& nr = *nr_of[size_t(f)];
    int unconfirmed = 0;
    if (nr.omr_empty || (nr.omr != kMissing && nr.omr != v)) return false;
    if (!OmrCompatible(nr, v, &unconfirmed) || unconfirmed > 1) return false;
    const int first = v >= 100 ? 0 : v >= 10 ? 1 : 2;
    for (int j = first; j < 3; ++j) {
      const BubbleRow& row = nr.rows[size_t(j)];
      if (row.marked == digit_at(v, j)) continue;  // confirmed by the bubbles
      // The box's probability of the digit, or in a row marked twice (or more) its probability
      // among the marked values (weighted by their likelihood): the bubbles have already
      // excluded the others, so the box need only choose between the marks.
      std::array<double, 10> w;
      w.fill(1.0);
      if (row.marks >= 2) std::copy(row.likelihood.begin(), row.likelihood.end(), w.begin());
      if (!box_chooses(fr, j, digit_at(v, j), w)) return false;
    }
    return true;
  };
  if (o.accept_partial_bubbles) {
    for (int f : read_fields) {
      if (verified[size_t(f)]) continue;
      const FieldReading& fr = *fr_of[size_t(f)];
      const Value v = chosen[size_t(f)];
      if (fr.ocr == v && fr.ocr_p >= o.min_ocr_probability && prob_of(f) >= o.min_partial_combined &&
          partly_confirmed(f, v)) {
        verified[size_t(f)] = true;
        how[size_t(f)] = "boxes+some bubbles";
      }
    }
  }
  // The tally (KPU page 2): a bubble row left empty or double-marked is settled when the tally
  // and the bubbles together leave only the value the boxes read. Every other value in the
  // tally's range must be excluded by the bubbles' clear marks, so the digit missing from the
  // bubbles is read twice after all: by the CNN and by the tally. Boxes 98 with only the 8
  // bubbled and 20 cells of tally (96..100) are 98; boxes 98 with a tally of 2 cells (6..10)
  // stay in review. A units row left empty under a coarse tally (26..30, boxes 27, the tens
  // bubbled 2) leaves 26..29: the CNN must then choose 27 among them as surely as the
  // one-digit-read-once rule asks among all ten (its probability of the units box's 7 among
  // 6, 7, 8 and 9 >= min_partial_probability), the tally and the bubbles having excluded the
  // rest; and a counted last cell (tally.h) narrows 96..100 to one or two values. A number
  // without bubbles (page 3's V.B, the invalid votes) is settled the same way by its boxes and
  // its tally alone ("boxes+tally"): a tally counted to the value the boxes read, or a range in
  // which the boxes choose their digit as surely as above (boxes 3 under a tally of 1..5).
  auto tally_confirms = [&](int f, Value v) {
    const FieldReading& fr = *fr_of[size_t(f)];
    const NumberReading& nr = *nr_of[size_t(f)];
    if (!fr.tally || !fr.tally->Allows(v) || (nr.omr_empty && fr.has_bubbles && !o.tally_without_bubbles))
      return false;
    if (fr.ocr != v || fr.ocr_p < o.min_pinned_probability) return false;
    int unconfirmed = 0;
    if (!OmrCompatible(nr, v, &unconfirmed)) return false;
    // The other values the tally and the bubbles allow: where each differs from v only in one
    // and the same written box, that box's CNN probabilities weigh v against them; otherwise the
    // boxes' probabilities of the whole values do (below).
    int open = -1;
    std::array<double, 10> left{};  // the digits left in that box
    bool several = false;           // some value left differs from v in another box, or in two
    std::vector<Value> alts;        // the values left
    const int first = v >= 100 ? 0 : v >= 10 ? 1 : 2;
    for (Value alt = fr.tally->lo; alt <= fr.tally->hi; ++alt) {
      if (alt == v || !OmrCompatible(nr, alt, &unconfirmed)) continue;
      // A leading box left empty holds no digit: boxes "6" with the tens box empty are not 10
      // (a tally of 6..10 then leaves 6..9, which differ in the units box alone).
      bool excluded = false;
      for (int j = 0; j < first; ++j) excluded = excluded || (fr.box_digit[size_t(j)] < 0 && digit_at(alt, j) != 0);
      if (excluded) continue;
      int diff = -1, ndiff = 0;
      for (int j = 0; j < 3; ++j)
        if (digit_at(alt, j) != digit_at(v, j)) {
          // A box the CNN judged empty, or reads as another digit than v's, cannot tell v from alt.
          if (fr.box_digit[size_t(j)] != digit_at(v, j)) return false;
          diff = j, ++ndiff;
        }
      if (ndiff != 1 || (open >= 0 && diff != open)) several = true;
      if (!several) {
        open = diff;
        left[size_t(digit_at(alt, open))] = 1;
      }
      alts.push_back(alt);
    }
    if (alts.empty()) return true;  // the tally and the bubbles leave v alone
    if (!several) {
      left[size_t(digit_at(v, open))] = 1;
      return box_chooses(fr, open, digit_at(v, open), left);
    }
    // The values left differ from v in more than one box, or in different boxes (a tally of
    // 26..30 under boxes 27 whose bubbles are left out: 26, 28 and 29 differ in the units box,
    // 30 in the tens box too; every other range ending in 0 crosses a tens boundary so). The
    // CNN must choose v among them as surely: its probability of a value is the product of its
    // boxes' probabilities of the value's digits (the boxes where all the values agree cancel),
    // and v's must be at least min_partial_probability of the sum over v and the values left.
    auto p_of = [&](Value x) {
      double q = 1;
      for (int j = 0; j < 3; ++j)
        if (fr.box_digit[size_t(j)] >= 0) q *= double(fr.box_prob[size_t(j)][size_t(digit_at(x, j))]);
      return q;
    };
    double sum = p_of(v);
    for (Value alt : alts) sum += p_of(alt);
    return sum > 0 && p_of(v) >= o.min_partial_probability * sum;
  };
  if (o.accept_tally) {
    for (int f : read_fields) {
      if (verified[size_t(f)]) continue;
      if (tally_confirms(f, chosen[size_t(f)])) {
        verified[size_t(f)] = true;
        how[size_t(f)] = fr_of[size_t(f)]->has_bubbles && !nr_of[size_t(f)]->omr_empty ? "boxes+some bubbles+tally"
                                                                                       : "boxes+tally";
      }
    }
  }
  // The tally against a weak confirmation (KPU page 2): a number the boxes and bubbles (or the
  // bubbles and the boxes' second reading) confirmed, which the CNN reads with less than
  // min_ocr_against_tally and whose tally, read, excludes: of the sheet's three copies the
  // clearest disagrees and one of the two that agree is unsure. That is how a misread digit
  // that happens to match the bubbles looks (boxes 42, bubbled 92, the CNN reading 92 at 0.65,
  // a tally of 41..45), so a human looks. A number the CNN reads surely stands, with the
  // turus_sesuai_angka warning (the tally miscounted, or a slip in both copies). A hard rule can
  // still confirm it below.
  std::vector<bool> tally_vetoed(form.size(), false);
  // A number without bubbles (page 3's V.B) whose tally, read, excludes the value its boxes
  // are given, while the CNN gives that value less than min_ocr_against_tally: the rules may
  // not confirm it (they rest on the CNN alone there, and the tally, the one other copy on
  // the sheet, says otherwise). Boxes 6 under a tally of 1..5 go to review.
  auto tally_against = [&](int f) {
    const FieldReading& fr = *fr_of[size_t(f)];
    const Value v = chosen[size_t(f)];
    return !fr.has_bubbles && fr.tally && fr.tally->read && !fr.tally->Allows(v) &&
           cnn_p_of(f, v) < o.min_ocr_against_tally;
  };
  for (int f : read_fields) {
    const FieldReading& fr = *fr_of[size_t(f)];
    const Value v = chosen[size_t(f)];
    if (!verified[size_t(f)] || !fr.tally || !fr.tally->read || fr.tally->Allows(v)) continue;
    if (cnn_p_of(f, v) >= o.min_ocr_against_tally) continue;
    verified[size_t(f)] = false;
    tally_vetoed[size_t(f)] = true;
    how[size_t(f)].clear();
  }
  // Rules: a number fixed by a hard rule to confirmed numbers is confirmed by whichever of the
  // boxes (confident) or the bubbles (clear) agrees with it, as long as the bubbles do not say
  // otherwise; or by both leaning to it: the bubbles hold its digits but for one row where the
  // digit is among two marks or missing (and spell no other number), and the CNN gives it at
  // least min_support_probability (a double-marked 8/7 over boxes read 70 or 80).
  if (solved) {
    // The read fields each hard rule reads (rules reading a field not read are left out: they
    // cannot tie anything). Worked out only when a pair is looked for.
    std::vector<std::vector<int>> rule_members;
    bool have_members = false;
    auto members = [&]() -> const std::vector<std::vector<int>>& {
      if (have_members) return rule_members;
      have_members = true;
      std::vector<Value> probe = chosen;
      for (size_t r = 0; r < form.rules().size(); ++r) {
        if (form.rules()[r].severity != Severity::kError || !form.RuleApplies(r, chosen.data())) continue;
        std::vector<int> m;
        for (int f : read_fields) {
          probe[size_t(f)] = kMissing;
          if (!form.RuleApplies(r, probe.data())) m.push_back(f);
          probe[size_t(f)] = chosen[size_t(f)];
        }
        if (m.size() >= 2) rule_members.push_back(std::move(m));
      }
      return rule_members;
    };
    // Whether number f, not yet confirmed and without bubbles, may be confirmed by the value its
    // boxes give as a second reading (>= min_support_probability): not while its tally says
    // otherwise or a misread is known elsewhere on the sheet.
    auto second_reading_may_confirm = [&](int f) {
      return !verified[size_t(f)] && !fr_of[size_t(f)]->has_bubbles && !tally_against(f) &&
             cnn_p_of(f, chosen[size_t(f)]) >= o.min_support_probability && !misread_known(f) &&
             second_reading_allowed(f);
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (int f : read_fields) {
        if (verified[size_t(f)] || tally_against(f)) continue;
        const FieldReading& fr = *fr_of[size_t(f)];
        const Value v = chosen[size_t(f)];
        int unconfirmed = 0;
        const bool omr_agrees = omr_confirms(f, v);
        const bool cnn_agrees = fr.ocr == v && fr.ocr_p >= o.min_pinned_probability &&
                                OmrCompatible(*nr_of[size_t(f)], v, &unconfirmed);
        bool both_lean = false;
        if (!omr_agrees && !cnn_agrees) {
          const NumberReading& nr = *nr_of[size_t(f)];
          both_lean = !nr.omr_empty && (nr.omr == kMissing || nr.omr == v) &&
                      OmrCompatible(nr, v, &unconfirmed) && unconfirmed <= 1 &&
                      cnn_p_of(f, v) >= o.min_support_probability && second_reading_allowed(f);
        }
        if (!omr_agrees && !cnn_agrees && !both_lean) continue;
        if (PinnedByRules(form, chosen, verified, f)) {
          verified[size_t(f)] = true;
          how[size_t(f)] = omr_agrees ? "bubbles+rules" : cnn_agrees ? "boxes+rules" : "rules+bubbles+boxes(2nd)";
          changed = true;
        }
      }
      if (changed) continue;
      // A number without bubbles (KPU's page 3) that the hard rules fix, given double-read
      // numbers, to a value its boxes give only as a second reading: the total V.A whose
      // handwriting the CNN took for another number, though the three double-read votes sum to
      // one it also finds there. As with the bubbles over an ambiguous digit, the boxes must
      // give that value at least min_support_probability, and no other assignment satisfying
      // the rules may come near in probability.
      for (int f : read_fields) {
        if (!second_reading_may_confirm(f)) continue;
        if (!PinnedByRules(form, chosen, verified, f) || !clear_winner()) continue;
        verified[size_t(f)] = true;
        how[size_t(f)] = "rules+boxes(2nd)";
        changed = true;
      }
      if (changed) continue;
      // Two numbers each read once (by confident digit boxes, or by bubbles clear in every row)
      // that a hard rule ties together (given the confirmed numbers, either fixes the other):
      // each confirms the other. Page 3 of KPU's form has no bubbles, so its totals are read
      // this way, and a page-2 number with a bubble row left empty, or whose boxes the CNN
      // misread, is confirmed by the total V.A read on another sheet. A wrong pair needs two
      // misreads, on different boxes, that happen to satisfy the rule.
      auto single_read = [&](int f) {
        const FieldReading& fr = *fr_of[size_t(f)];
        const Value v = chosen[size_t(f)];
        int unconfirmed = 0;
        if (verified[size_t(f)] || tally_against(f)) return false;
        // The bubbles alone, clear in every row (as in "bubbles+rules", they outvote a CNN
        // misread when the rule agrees with them); or the boxes alone, the bubbles not against.
        if (omr_confirms(f, v)) return true;
        const double need = misread_known(f) ? std::max(o.min_cross_probability, o.min_cross_probability_after_misread)
                                              : o.min_cross_probability;
        return fr.ocr == v && fr.ocr_p >= need && OmrCompatible(*nr_of[size_t(f)], v, &unconfirmed);
      };
      // Candidates: two single reads in one hard rule whose other fields are all confirmed.
      // Bounded: a hostile page cannot make this quadratic in the form's size.
      int pair_checks = 0;
      constexpr int kMaxPairChecks = 64;
      // f and g are the only numbers of some hard rule not yet confirmed, and given either,
      // the rules fix the other.
      auto tied_and_pinned = [&](int f, int g) {
        bool tied = false;
        for (const auto& m : members()) {
          if (!std::count(m.begin(), m.end(), f) || !std::count(m.begin(), m.end(), g)) continue;
          tied = std::all_of(m.begin(), m.end(), [&](int x) { return x == f || x == g || verified[size_t(x)]; });
          if (tied) break;
        }
        if (!tied) return false;
        ++pair_checks;
        std::vector<bool> with_g = verified, with_f = verified;
        with_g[size_t(g)] = true;
        with_f[size_t(f)] = true;
        return PinnedByRules(form, chosen, with_g, f) && PinnedByRules(form, chosen, with_f, g);
      };
      // Two numbers read by their boxes alone are two readings by the same CNN: where the sheet
      // shows that it misreads this hand, they do not confirm each other (either may still be
      // confirmed with a number its bubbles read). Thin pencil digits (`rekap bench reader
      // --form kpu-ppwp --pen-strokes 1`, seed 81, sheet 60) had page 2's 27 and 58 misread as
      // 17 and 50, then page 3's V.B 0 and V.C 154 read as 7 (0.93) and 161 (0.96), which
      // satisfy V.C = V.A + V.B together (ReadSynth.NoBoxesOnlyPairAfterAMisread).
      auto boxes_only = [&](int f) { return !omr_confirms(f, chosen[size_t(f)]); };
      for (size_t a = 0; a < read_fields.size() && !changed && pair_checks < kMaxPairChecks; ++a) {
        const int f = read_fields[a];
        if (!single_read(f)) continue;
        for (size_t b = a + 1; b < read_fields.size() && pair_checks < kMaxPairChecks; ++b) {
          const int g = read_fields[b];
          if (!single_read(g)) continue;
          if (boxes_only(f) && boxes_only(g) && (misread_known(f) || misread_known(g))) continue;
          if (!tied_and_pinned(f, g)) continue;
          verified[size_t(f)] = verified[size_t(g)] = true;
          how[size_t(f)] = how[size_t(g)] = "boxes+boxes+rules";
          changed = true;
          break;
        }
      }
      if (changed) continue;
      // The same pair where one number is read once, confidently, and the other (without
      // bubbles) has the value the rule then fixes only as its boxes' second reading: V.B read
      // clearly and V.C = V.A + V.B a second reading of V.C's boxes (or the other way round).
      // A wrong pair needs a confident misread of the one and the other's boxes lending the
      // misread's consequence a fair probability (>= min_support_probability: a V.C written
      // wrong, with V.B read right, is not mended into agreement unless its handwriting itself
      // reads both ways); and no other assignment that satisfies the rules may come near in
      // probability (clear_winner).
      for (size_t a = 0; a < read_fields.size() && !changed && pair_checks < kMaxPairChecks; ++a) {
        const int g = read_fields[a];
        if (!single_read(g)) continue;
        for (size_t b = 0; b < read_fields.size() && pair_checks < kMaxPairChecks; ++b) {
          const int f = read_fields[b];
          if (f == g || !second_reading_may_confirm(f)) continue;
          if (!tied_and_pinned(f, g)) continue;
          if (!clear_winner()) continue;
          verified[size_t(f)] = verified[size_t(g)] = true;
          how[size_t(g)] = "boxes+rules";
          how[size_t(f)] = "boxes+rules+boxes(2nd)";
          changed = true;
          break;
        }
      }
    }
  }

  for (int f : read_fields)
    if (!verified[size_t(f)] && tally_against(f)) tally_vetoed[size_t(f)] = true;
  bool all_verified = !read_fields.empty();
  for (int f : read_fields) all_verified = all_verified && verified[size_t(f)];
  std::vector<Reason> field_reasons;
  for (size_t f = 0; f < form.size(); ++f) {
    if (fr_of[f] == nullptr) continue;
    FieldReading fr = *fr_of[f];
    const NumberReading& nr = *nr_of[f];
    fr.value = chosen[f];
    fr.confidence = 0;
    for (const auto& h : fr.hypotheses)
      if (h.value == fr.value) fr.confidence = h.p;
    fr.verified = verified[f];
    fr.confirmed_by = how[f];
    // A tally that excludes a number the boxes and bubbles confirmed: the sheet's redundant
    // copies disagree (a miscount on the tally, or a slip in both copies). The number stands,
    // read twice; the disagreement is a warning for the plenary that checks the sheet.
    if (fr.verified && fr.tally && fr.tally->read && !fr.tally->Allows(fr.value)) {
      RuleFailure w;
      w.rule_id = kTallyWarning;
      w.severity = Severity::kWarning;
      w.fields = {fr.field};
      w.values = {fr.value};
      w.message = {"Turus sesuai dengan angka", "The tally matches the number"};
      w.detail = fr.field + ": turus/tally " + std::to_string(fr.tally->lo) + ".." + std::to_string(fr.tally->hi) +
                 ", angka/number " + std::to_string(fr.value);
      rd.warnings.push_back(std::move(w));
    }
    if (nr.blank && nr.omr_empty) {
      field_reasons.push_back({reason::kFieldBlank, fr.field, "", -1, "kosong / not filled in"});
    } else if (!fr.verified) {
      Reason r;
      r.field = fr.field;
      if (tally_vetoed[f]) {
        r.code = reason::kTallyDisagrees;
        r.p = cnn_p_of(int(f), fr.value);
        char buf[160];
        std::snprintf(buf, sizeof buf, "turus/tally %d..%d, angka/number %d; CNN p(%d)=%.3g", fr.tally->lo,
                      fr.tally->hi, fr.value, fr.value, r.p);
        r.detail = buf;
      } else if (!fr.has_bubbles) {
        r.code = reason::kUnconfirmed;
        r.p = fr.ocr_p;
        r.detail = "dibaca sekali (tanpa bulatan), tidak dikonfirmasi aturan / read once (no bubbles), "
                   "not confirmed by a rule";
      } else if (fr.double_marked) {
        r.code = reason::kBubbleDoubleMarked;
      } else if (fr.omr == kMissing && nr.omr_empty) {
        r.code = reason::kBubbleEmpty;
      } else if (fr.ocr != fr.omr) {
        r.code = reason::kOcrOmrDisagree;
        r.detail = "kotak/boxes=" + (fr.ocr == kMissing ? std::string("?") : std::to_string(fr.ocr)) +
                   " bulatan/bubbles=" + (fr.omr == kMissing ? std::string("?") : std::to_string(fr.omr));
        // How the CNN weighs the two: a few per cent for the bubbles' value is handwriting that
        // reads either way; next to nothing is a number written one way and bubbled another.
        if (fr.ocr != kMissing && fr.omr != kMissing) {
          char buf[96];
          std::snprintf(buf, sizeof buf, "; CNN p(%d)=%.3g p(%d)=%.3g", fr.ocr, fr.ocr_p, fr.omr, fr.ocr_p_of_omr);
          r.detail += buf;
        }
      } else {
        r.code = reason::kLowConfidence;
        r.p = std::min(fr.confidence, fr.ocr_p);
      }
      // A box judged empty after a written digit (a number has no gaps): ink too faint or too
      // thin for the empty-box test, which the person checking the crop should look for.
      for (int j = 1; j < 3; ++j) {
        if (fr.box_digit[size_t(j)] >= 0 || *std::max_element(fr.box_digit.begin(), fr.box_digit.begin() + j) < 0)
          continue;
        const std::string n = std::to_string(j + 1);
        r.detail += (r.detail.empty() ? "" : "; ") + ("kotak " + n + " terbaca kosong setelah angka tertulis (tinta " +
                    "terlalu tipis atau samar?) / box " + n + " read as empty after a written digit (ink too thin "
                    "or faint?)");
        break;
      }
      field_reasons.push_back(r);
      if (r.code != reason::kLowConfidence && fr.value != kMissing && fr.confidence < o.min_probability) {
        Reason lc;
        lc.code = reason::kLowConfidence;
        lc.field = fr.field;
        lc.p = fr.confidence;
        field_reasons.push_back(lc);
      }
    }
    rd.fields.push_back(std::move(fr));
  }
  rd.accepted = rd.reasons.empty() && rd.page_found && all_verified && solved && field_reasons.empty();
  // Pages whose numbers may be published while the rest waits for review: every photo found and
  // identified, a solution satisfying every hard rule, and every number of the page confirmed.
  // Only a missing page of the sheet is tolerated (page 2 without page 3).
  const bool identity_ok = rd.page_found && std::all_of(rd.reasons.begin(), rd.reasons.end(), [](const Reason& r) {
    return r.code == reason::kPageMissing;
  });
  if (identity_ok && solved) {
    for (int p : rd.pages) {
      bool all = true, any = false;
      for (const FieldReading& f : rd.fields) {
        if (f.page != p) continue;
        any = true;
        all = all && f.verified;
      }
      if (any && all) rd.pages_confirmed.push_back(p);
    }
  }
  if (!rd.accepted) {
    rd.reasons.insert(rd.reasons.end(), value_reasons.begin(), value_reasons.end());
    rd.reasons.insert(rd.reasons.end(), field_reasons.begin(), field_reasons.end());
    if (rd.reasons.empty())
      rd.reasons.push_back(MakeReason(reason::kPageNotFound, "tidak ada angka terbaca / no numbers read"));
    // A photo too blurred to read reliably: a person could read it, but the KPPS can still take
    // it again while the sheet is at hand. First, with photo_dark below: the reasons the KPPS
    // can act on.
    const double limit = BlurredLineLimitMm(o);
    std::vector<Reason> retake;
    for (const auto& [page, w] : rd.line_mm)
      if (w > limit) {
        char mm[64];
        std::snprintf(mm, sizeof mm, "%.2f mm > %.2f mm", w, limit);
        Reason r = MakeReason(reason::kPhotoBlurred, "foto halaman " + std::to_string(page) +
                                                         " kurang tajam, ambil ulang / the photo of page " +
                                                         std::to_string(page) + " is too blurred, take it again (" +
                                                         "garis kotak / box borders " + mm + ")");
        retake.push_back(std::move(r));
      }
    // A photo taken in too little light: the phone amplified it, and its grain hides or imitates
    // strokes even after the boxes are smoothed. More light, not a steadier hand, helps.
    const double dark_limit = o.grain_limit > 0 ? o.grain_limit : FormGrainLimit(o.form);
    for (const auto& [page, g] : rd.grain)
      if (g > dark_limit) {
        char grain[64];
        std::snprintf(grain, sizeof grain, "%.2f > %.2f", g, dark_limit);
        const std::string pg = std::to_string(page);
        std::string d =
            "foto halaman " + pg + " gelap dan berbintik, ambil ulang dengan cahaya lebih terang";
        d += " / the photo of page " + pg + " is dark and grainy, take it again in better light";
        d += std::string(" (bintik / grain ") + grain + ")";
        retake.push_back(MakeReason(reason::kPhotoDark, d));
      }
    // The reason for photo k whose page was not found, with what was measured.
    auto not_found_blurred = [&](size_t k, const std::string& measured) {
      const std::string which = obs.size() > 1 ? " " + std::to_string(obs[k].photo) : std::string();
      std::string d = "foto" + which + " kurang tajam, halaman tidak ditemukan, ambil ulang";
      d += " / photo" + which + " too blurred to find the page, take it again (" + measured + ")";
      retake.push_back(MakeReason(reason::kPhotoBlurred, d));
    };
    // A photo whose page was not found at all, its markers' edges blurred past what the box
    // borders' limit corresponds to (0.52 mm of sigma at 1.35 mm of border on our form; on KPU's
    // page the tag's blur spreads more, about 1.0-1.4 mm at 1.9 mm of border): the blur, not
    // the page, is why. Measured where at least one marker was found (docs/reader.md, "Photo
    // sharpness").
    const double marker_limit = IsKpu(o.form) ? 1.3 : 0.55;
    // No marker measured at all: the photo's own edges (PhotoEdgeBlurPx), in mm at the largest
    // the page can be on it (so at most as blurred as it says), and at least 2.5 px: usual
    // photos show up to 2 px and 0.39 mm (our form) or 0.90 mm (KPU: a photo of 1,000 px, where
    // a px is nearly 1 mm of the page), and a photo of part of the page makes its mm look
    // larger, so the px floor is what decides. Measured on photos whose blur is known
    // (docs/reader.md, "Photo sharpness").
    const double photo_limit = IsKpu(o.form) ? 0.7 : 0.35;
    constexpr double kPhotoLimitPx = 2.5;
    for (size_t k = 0; k < obs.size(); ++k) {
      if (obs[k].found) continue;
      char mm[96];
      if (obs[k].blur_mm > marker_limit) {
        std::snprintf(mm, sizeof mm, "tepi penanda / marker edges %.2f mm > %.2f mm",
                      obs[k].blur_mm, marker_limit);
        not_found_blurred(k, mm);
      } else if (obs[k].blur_mm == 0 && obs[k].photo_blur_mm > photo_limit &&
                 obs[k].photo_blur_px > kPhotoLimitPx) {
        std::snprintf(mm, sizeof mm, "tepi di foto / edges in the photo %.2f mm > %.2f mm, %.1f px",
                      obs[k].photo_blur_mm, photo_limit, obs[k].photo_blur_px);
        not_found_blurred(k, mm);
      }
    }
    rd.reasons.insert(rd.reasons.begin(), retake.begin(), retake.end());
  }
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
  for (size_t i = 0; i < works.size(); ++i) {
    ReadOptions oi = o;
    if (works.size() > 1) oi.debug_name = o.debug_name + "-" + std::to_string(i + 1);
    obs.push_back(ObservePage(works[i], layouts, *fref.form, oi));
    const PageObservation& first = obs.back();
    if (finer && o.finer_decode && first.found && first.page_share < kSmallPageShare && first.page_px < kPagePx) {
      int f = 2;
      while (f < 8 && first.page_px * f < kPagePx) f *= 2;
      const cv::Mat fine = finer(i, f);
      if (!fine.empty()) {
        Prof().Mark("finer decode");
        // The page is looked for again only around where it was found (a tenth of its size
        // beyond each side): on the rest of a large photo, locating costs time for nothing.
        const double fx = double(fine.cols) / works[i].cols, fy = double(fine.rows) / works[i].rows;
        const cv::Rect2d b = first.page_box;
        const double mx = 0.1 * b.width, my = 0.1 * b.height;
        const cv::Rect roi = cv::Rect(cv::Point(int(std::floor((b.x - mx) * fx)), int(std::floor((b.y - my) * fy))),
                                      cv::Point(int(std::ceil((b.x + b.width + mx) * fx)),
                                                int(std::ceil((b.y + b.height + my) * fy)))) &
                             cv::Rect(0, 0, fine.cols, fine.rows);
        PageObservation again = ObservePage(roi.area() > 0 ? fine(roi) : fine, layouts, *fref.form, oi);
        if (again.found) {
          obs.back() = std::move(again);
          obs.back().finer = f;
        }
      }
    }
    obs.back().photo = i < photo_of.size() ? photo_of[i] : int(i) + 1;
  }
  for (Reason& r : pre) {  // photos that could not be decoded
    PageObservation ob;
    ob.reasons.push_back(std::move(r));
    obs.push_back(std::move(ob));
  }
  Reading rd = Decide(*fref.form, layouts, obs, o);
  rd.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  rd.cpu_ms = ThreadCpuMs() - cpu0;
  Prof().Mark("decide");
  Prof().Flush();
  return rd;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

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

std::optional<ImageHeader> ParseImageHeader(std::span<const uint8_t> b) {
  if (IsHeif(b)) {
    const HeifFile f(b);
    if (!f.ok()) return std::nullopt;
    const int w = heif_image_handle_get_width(f.primary),
              h = heif_image_handle_get_height(f.primary);
    if (w <= 0 || h <= 0) return std::nullopt;
    ImageHeader hd;
    hd.type = ImageHeader::Type::kHeif;
    hd.width = w;
    hd.height = h;
    return hd;
  }
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (b.size() >= 33 && std::memcmp(b.data(), kPng, 8) == 0) {
    if (Be32(&b[8]) != 13 || std::memcmp(&b[12], "IHDR", 4) != 0) return std::nullopt;
    const uint32_t w = Be32(&b[16]), h = Be32(&b[20]);
    if (w == 0 || h == 0 || w > 0x7fffffff || h > 0x7fffffff) return std::nullopt;
    ImageHeader hd;
    hd.type = ImageHeader::Type::kPng;
    hd.width = int(std::min<uint32_t>(w, 1u << 30));
    hd.height = int(std::min<uint32_t>(h, 1u << 30));
    return hd;
  }
  if (b.size() >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
    size_t i = 2;
    while (i + 4 <= b.size()) {
      if (b[i] != 0xFF) return std::nullopt;
      uint8_t m = b[i + 1];
      if (m == 0xFF) {  // fill byte
        ++i;
        continue;
      }
      if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // no length
        i += 2;
        continue;
      }
      if (m == 0xD9 || m == 0xDA) return std::nullopt;  // EOI / SOS before any frame header
      const size_t len = (size_t(b[i + 2]) << 8) | b[i + 3];
      if (len < 2 || i + 2 + len > b.size()) return std::nullopt;
      const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
      if (sof) {
        if (len < 8) return std::nullopt;
        const int h = (int(b[i + 5]) << 8) | b[i + 6];
        const int w = (int(b[i + 7]) << 8) | b[i + 8];
        if (w == 0 || h == 0) return std::nullopt;
        // Only baseline and progressive Huffman JPEG (what phones and libjpeg write).
        if (m != 0xC0 && m != 0xC1 && m != 0xC2) return std::nullopt;
        ImageHeader hd;
        hd.type = ImageHeader::Type::kJpeg;
        hd.width = w;
        hd.height = h;
        hd.progressive = m == 0xC2;
        return hd;
      }
      i += 2 + len;
    }
  }
  return std::nullopt;
}

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
  if (!r.qr.empty()) {
    j["qr"] = json::object();  // our form, per page: "decoded", "matched" or "unreadable"
    for (const auto& [page, how] : r.qr) j["qr"][std::to_string(page)] = how;
  }
  j["ms"] = std::round(r.ms * 10) / 10;
  return j;
}

}  // namespace rekap::reader
