// rekap reader: synthetic photos of filled C.Hasil pages (synth.h, docs/forms.md).
#include "reader/synth.h"

#include "reader/atomic_file.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <libheif/heif.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/ximgproc.hpp>

#include "reader/digits.h"
#include "reader/render.h"
#include "rekap/region.h"

namespace rekap::reader {

Result<SynthForm> ParseSynthForm(std::string_view name) {
  if (name == "own") return SynthForm::kOwn;
  if (name == "kpu-ppwp-2") return SynthForm::kKpuPpwpPage2;
  if (name == "kpu-ppwp") return SynthForm::kKpuPpwp;
  return InvalidArgument("formulir tak dikenal '" + std::string(name) +
                         "' (own | kpu-ppwp-2 | kpu-ppwp) / unknown form");
}

std::string_view SynthFormName(SynthForm f) {
  return f == SynthForm::kOwn ? "own" : f == SynthForm::kKpuPpwpPage2 ? "kpu-ppwp-2" : "kpu-ppwp";
}

Result<PhotoFormat> ParsePhotoFormat(std::string_view name) {
  if (name == "jpeg" || name == "jpg") return PhotoFormat::kJpeg;
  if (name == "heic") return PhotoFormat::kHeic;
  if (name == "avif") return PhotoFormat::kAvif;
  return InvalidArgument("format: jpeg | heic | avif, not '" + std::string(name) + "'");
}

std::string_view PhotoFormatName(PhotoFormat f) {
  return f == PhotoFormat::kHeic ? "heic" : f == PhotoFormat::kAvif ? "avif" : "jpeg";
}

Result<std::vector<uint8_t>> EncodeHeif(const cv::Mat& img, PhotoFormat format, int quality,
                                        bool ten_bit) {
  if (format == PhotoFormat::kJpeg) return InvalidArgument("EncodeHeif: HEIC or AVIF");
  if (img.empty() || img.depth() != CV_8U || (img.channels() != 1 && img.channels() != 3))
    return InvalidArgument("EncodeHeif: an 8-bit grey or BGR image");
  struct Owned {  // freed on every path
    heif_context* ctx = heif_context_alloc();
    heif_encoder* enc = nullptr;
    heif_image* him = nullptr;
    ~Owned() {
      if (him != nullptr) heif_image_release(him);
      if (enc != nullptr) heif_encoder_release(enc);
      if (ctx != nullptr) heif_context_free(ctx);
    }
  } h;
  auto fail = [](const char* what, const heif_error& e) {
    return Internal(std::string("HEIF ") + what + ": " + e.message);
  };
  const bool av1 = format == PhotoFormat::kAvif;
  if (h.ctx == nullptr) return Internal("HEIF: no memory");
  heif_error e = heif_context_get_encoder_for_format(
      h.ctx, av1 ? heif_compression_AV1 : heif_compression_HEVC, &h.enc);
  if (e.code != heif_error_Ok) return fail("encoder", e);
  const int w = img.cols, ht = img.rows;
  if (!ten_bit) {
    cv::Mat rgb;
    cv::cvtColor(img, rgb, img.channels() == 1 ? cv::COLOR_GRAY2RGB : cv::COLOR_BGR2RGB);
    e = heif_image_create(w, ht, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &h.him);
    if (e.code == heif_error_Ok)
      e = heif_image_add_plane(h.him, heif_channel_interleaved, w, ht, 8);
    if (e.code != heif_error_Ok) return fail("image", e);
    int stride = 0;
    uint8_t* plane = heif_image_get_plane(h.him, heif_channel_interleaved, &stride);
    for (int y = 0; y < ht; ++y)
      std::memcpy(plane + size_t(y) * size_t(stride), rgb.ptr(y), size_t(w) * 3);
  } else {
    cv::Mat grey = img;
    if (img.channels() == 3) cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
    e = heif_image_create(w, ht, heif_colorspace_YCbCr, heif_chroma_420, &h.him);
    for (const heif_channel ch : {heif_channel_Y, heif_channel_Cb, heif_channel_Cr}) {
      const bool luma = ch == heif_channel_Y;
      const int cw = luma ? w : (w + 1) / 2, chh = luma ? ht : (ht + 1) / 2;
      if (e.code == heif_error_Ok) e = heif_image_add_plane(h.him, ch, cw, chh, 10);
      if (e.code != heif_error_Ok) return fail("image", e);
      int stride = 0;
      uint8_t* plane = heif_image_get_plane(h.him, ch, &stride);
      for (int r = 0; r < chh; ++r) {
        auto* row = reinterpret_cast<uint16_t*>(plane + size_t(r) * size_t(stride));
        for (int c = 0; c < cw; ++c)
          row[c] = luma ? uint16_t(grey.at<uint8_t>(r, c) * 4 + 1) : uint16_t(512);
      }
    }
  }
  heif_encoder_set_lossy_quality(h.enc, std::clamp(quality, 1, 100));
  if (av1)
    heif_encoder_set_parameter(h.enc, "speed", "9");
  else
    heif_encoder_set_parameter(h.enc, "preset", "ultrafast");
  e = heif_context_encode_image(h.ctx, h.him, h.enc, nullptr, nullptr);
  if (e.code != heif_error_Ok) return fail("encoding", e);
  std::vector<uint8_t> out;
  heif_writer writer{1, [](heif_context*, const void* data, size_t size, void* user) {
                       auto* v = static_cast<std::vector<uint8_t>*>(user);
                       const auto* b = static_cast<const uint8_t*>(data);
                       v->insert(v->end(), b, b + size);
                       return heif_error{heif_error_Ok, heif_suberror_Unspecified, "ok"};
                     }};
  e = heif_context_write(h.ctx, &writer, &out);
  if (e.code != heif_error_Ok) return fail("writing", e);
  return out;
}

nlohmann::json SynthPage::TruthJson() const {
  nlohmann::json j;
  j["file"] = file;
  j["form"] = form;
  j["page"] = page;
  j["tps"] = tps;
  j["values"] = nlohmann::json::object();
  for (const auto& [k, v] : values) j["values"][k] = v;
  j["inconsistent"] = inconsistent;
  if (!inconsistency.empty()) j["inconsistency"] = inconsistency;
  if (!bubble_values.empty()) {
    j["bubble_values"] = nlohmann::json::object();
    for (const auto& [k, v] : bubble_values) j["bubble_values"][k] = v;
  }
  j["double_marked"] = double_marked;
  j["missing_marks"] = missing_marks;
  if (!unbubbled.empty()) j["unbubbled"] = unbubbled;
  j["leading_zeros"] = leading_zeros;
  j["samples"] = nlohmann::json::object();
  for (const auto& [k, v] : samples) j["samples"][k] = v;
  if (!tally_values.empty()) {
    j["tally_values"] = nlohmann::json::object();
    for (const auto& [k, v] : tally_values) j["tally_values"][k] = v;
    j["tally_slips"] = tally_slips;
  }
  if (voters > 0) j["voters"] = voters;
  if (pen_mm > 0) j["pen_mm"] = std::round(pen_mm * 100) / 100;
  if (spilled > 0) j["spilled"] = spilled;
  if (flagged > 0) j["flagged_ones"] = flagged;
  if (crossed > 0) j["crossed_sevens"] = crossed;
  j["jpeg_quality"] = jpeg_quality;  // the encoder's quality, also for HEIC and AVIF
  if (format != PhotoFormat::kJpeg) j["format"] = PhotoFormatName(format);
  if (blur_px > 0) j["blur_px"] = std::round(blur_px * 100) / 100;
  if (shake_px > 0) {
    j["shake_px"] = std::round(shake_px * 100) / 100;
    j["shake_deg"] = std::round(shake_deg * 10) / 10;
  }
  j["page_corners"] = nlohmann::json::array();
  for (const auto& p : page_corners)
    j["page_corners"].push_back({std::round(p.x * 10) / 10, std::round(p.y * 10) / 10});
  j["width"] = image.cols;
  j["height"] = image.rows;
  return j;
}

namespace {

// A small built-in list of valid TPS ids, with the names printed in the header.
struct BuiltinTps {
  const char* id;
  const char* provinsi;
  const char* kabkota;
};
constexpr BuiltinTps kBuiltinTps[] = {
    {"3171010001001", "DKI Jakarta", "Kota Adm. Jakarta Selatan"},
    {"3212012001007", "Jawa Barat", "Indramayu"},
    {"3273020005012", "Jawa Barat", "Kota Bandung"},
    {"3578040007021", "Jawa Timur", "Kota Surabaya"},
    {"5171030001003", "Bali", "Kota Denpasar"},
    {"1271011002004", "Sumatera Utara", "Kota Medan"},
    {"6471050003015", "Kalimantan Timur", "Kota Balikpapan"},
    {"7371110004002", "Sulawesi Selatan", "Kota Makassar"},
};

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

using Rng = std::mt19937_64;
Rng MakeRng(uint32_t seed, uint64_t index, uint64_t stream) {
  return Rng(Mix(Mix(seed) ^ Mix(index * 0x100000001b3ULL + stream)));
}
double U(Rng& r, double a, double b) { return std::uniform_real_distribution<double>(a, b)(r); }
int UI(Rng& r, int a, int b) { return a >= b ? a : std::uniform_int_distribution<int>(a, b)(r); }
bool Coin(Rng& r, double p) { return U(r, 0, 1) < p; }

// ---------------------------------------------------------------------------------------------
// Values

using Values = std::map<std::string, int>;

// One consistent result for `form` (every rule passes, warnings included), or nothing.
std::optional<Values> TryOwnValues(const Form& form, double max_voters, Rng& r) {
  Values v;
  auto has = [&](const char* id) { return form.IndexOf(id) >= 0; };
  int cap = int(std::min(999.0, max_voters));
  int dpt_j = UI(r, std::min(60, cap), cap);
  int dpt_l = int(std::lround(dpt_j * U(r, 0.44, 0.56)));
  v["dpt_l"] = dpt_l;
  v["dpt_p"] = dpt_j - dpt_l;
  v["dpt_j"] = dpt_j;
  const char* lp[2] = {"_l", "_p"};
  auto set_lp = [&](const std::string& base, int l, int p) {
    v[base + "_l"] = l;
    v[base + "_p"] = p;
    v[base + "_j"] = l + p;
  };
  if (has("dpph_j")) set_lp("dpph", UI(r, 0, 3), UI(r, 0, 3));
  if (has("dptb_j")) set_lp("dptb", UI(r, 0, 6), UI(r, 0, 6));
  if (has("pemilih_total_j")) {
    int t[2];
    for (int s = 0; s < 2; ++s)
      t[s] = v[std::string("dpt") + lp[s]] + v[std::string("dpph") + lp[s]] +
             v[std::string("dptb") + lp[s]];
    set_lp("pemilih_total", t[0], t[1]);
  }
  double turnout = U(r, 0.55, 0.93);
  int pu[2];
  for (int s = 0; s < 2; ++s) {
    int d = v[std::string("dpt") + lp[s]];
    pu[s] = std::clamp(int(std::lround(d * turnout * U(r, 0.95, 1.05))), 0, d);
  }
  set_lp("pengguna_dpt", pu[0], pu[1]);
  std::vector<std::string> users = {"pengguna_dpt"};
  if (has("pengguna_dpph_j")) {
    set_lp("pengguna_dpph", UI(r, 0, v["dpph_l"]), UI(r, 0, v["dpph_p"]));
    users.push_back("pengguna_dpph");
  }
  if (has("pengguna_dptb_j")) {
    if (has("dptb_j")) set_lp("pengguna_dptb", UI(r, 0, v["dptb_l"]), UI(r, 0, v["dptb_p"]));
    else set_lp("pengguna_dptb", UI(r, 0, 4), UI(r, 0, 4));
    users.push_back("pengguna_dptb");
  }
  if (has("pengguna_dpk_j")) {
    set_lp("pengguna_dpk", UI(r, 0, 2), UI(r, 0, 2));
    users.push_back("pengguna_dpk");
  }
  int tot[2] = {0, 0};
  for (const auto& u : users)
    for (int s = 0; s < 2; ++s) tot[s] += v[u + lp[s]];
  set_lp("pengguna_total", tot[0], tot[1]);
  const int users_j = tot[0] + tot[1];
  set_lp("disabilitas", UI(r, 0, std::min(3, tot[0])), UI(r, 0, std::min(3, tot[1])));
  int received = dpt_j + (dpt_j * 2 + 99) / 100 + UI(r, 0, 1);
  v["surat_diterima"] = received;
  v["surat_digunakan"] = users_j;
  v["surat_rusak"] = UI(r, 0, 3);
  v["surat_sisa"] = received - users_j - v["surat_rusak"];
  if (v["surat_sisa"] < 0) return std::nullopt;
  int invalid = UI(r, 0, std::max(1, int(users_j * 0.04)));
  v["suara_total"] = users_j;
  v["suara_tidak_sah"] = invalid;
  int valid = users_j - invalid;
  v["suara_sah"] = valid;
  // Split the valid votes among the candidates.
  const int n = form.candidates();
  std::vector<double> w(size_t(std::max(n, 0)));
  std::gamma_distribution<double> g(1.5, 1.0);
  double sw = 0;
  for (auto& x : w) sw += (x = g(r) + 0.05);
  int given = 0;
  std::vector<int> votes(w.size());
  for (size_t i = 0; i < w.size(); ++i) given += (votes[i] = int(std::floor(valid * w[i] / sw)));
  for (int k = 0; given < valid && n > 0; ++k, ++given) votes[size_t(UI(r, 0, n - 1))]++;
  for (int c = 1; c <= n; ++c) v["suara_" + std::to_string(c)] = votes[size_t(c - 1)];

  // Only the form's fields; anything else the generator does not know stays 0.
  Values out;
  std::vector<Value> arr(form.size(), 0);
  for (size_t i = 0; i < form.size(); ++i) {
    auto it = v.find(form.fields()[i].id);
    int x = it == v.end() ? 0 : it->second;
    if (x < 0 || x > form.fields()[i].max_value) return std::nullopt;
    out[form.fields()[i].id] = x;
    arr[i] = x;
  }
  std::vector<RuleFailure> fails;
  form.Validate(arr.data(), &fails);
  if (!fails.empty()) return std::nullopt;
  return out;
}

// Changes one value so that at least one hard rule breaks; returns the broken rule ids.
std::string BreakOwnValues(const Form& form, Values* v, Rng& r) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    Values t = *v;
    std::vector<std::string> cands;
    for (int c = 1; c <= form.candidates(); ++c) cands.push_back("suara_" + std::to_string(c));
    for (const char* f : {"suara_tidak_sah", "suara_sah", "dpt_p", "surat_sisa", "pengguna_dpt_l"})
      if (form.IndexOf(f) >= 0) cands.push_back(f);
    if (cands.empty()) return "";
    const std::string& f = cands[size_t(UI(r, 0, int(cands.size()) - 1))];
    int d = UI(r, 1, 25) * (Coin(r, 0.5) ? 1 : -1);
    if (Coin(r, 0.2)) d = UI(r, 100, 600);  // a hundreds slip (e.g. 58 -> 658)
    int x = t[f] + d;
    if (x < 0 || x > 999 || x == t[f]) continue;
    t[f] = x;
    std::vector<Value> arr(form.size());
    for (size_t i = 0; i < form.size(); ++i) arr[i] = t[form.fields()[i].id];
    std::vector<RuleFailure> fails;
    if (form.Validate(arr.data(), &fails)) continue;  // no error: try again
    std::string ids;
    for (const auto& fl : fails)
      if (fl.severity == Severity::kError && ids.find(fl.rule_id) == std::string::npos)
        ids += (ids.empty() ? "" : ",") + fl.rule_id;
    *v = t;
    return ids;
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Drawing on the rendered page (BGR, px_per_mm scale)

struct Ink {
  cv::Scalar color;   // BGR
  double opacity;     // 0..1
  double width_mm;    // stroke width for marks
  const char* name;
};

Ink PickInk(Rng& r) {
  double u = U(r, 0, 1);
  double j = U(r, -12, 12);
  if (u < 0.35) return {cv::Scalar(28 + j, 28 + j, 30 + j), U(r, 0.85, 1.0), U(r, 0.5, 0.9), "black_marker"};
  if (u < 0.65) return {cv::Scalar(150 + j, 70 + j, 25 + j), U(r, 0.8, 1.0), U(r, 0.35, 0.6), "blue_ballpoint"};
  if (u < 0.8) return {cv::Scalar(165 + j, 80 + j, 30 + j), U(r, 0.85, 1.0), U(r, 0.6, 1.0), "blue_marker"};
  if (u < 0.93) return {cv::Scalar(85 + j, 85 + j, 88 + j), U(r, 0.65, 0.85), U(r, 0.35, 0.5), "pencil"};
  return {cv::Scalar(40 + j, 40 + j, 45 + j), U(r, 0.85, 1.0), U(r, 0.3, 0.5), "black_ballpoint"};
}

// Composites `alpha` (CV_8U, 0..255, same size as roi) of `ink` onto img(roi).
void Composite(cv::Mat& img, const cv::Rect& roi0, const cv::Mat& alpha0, const Ink& ink) {
  cv::Rect roi = roi0 & cv::Rect(0, 0, img.cols, img.rows);
  if (roi.empty()) return;
  cv::Mat alpha = alpha0(cv::Rect(roi.x - roi0.x, roi.y - roi0.y, roi.width, roi.height));
  for (int y = 0; y < roi.height; ++y) {
    cv::Vec3b* p = img.ptr<cv::Vec3b>(roi.y + y) + roi.x;
    const uint8_t* a = alpha.ptr<uint8_t>(y);
    for (int x = 0; x < roi.width; ++x) {
      if (!a[x]) continue;
      double t = a[x] / 255.0 * ink.opacity;
      for (int c = 0; c < 3; ++c) {
        // Multiply-like blend: ink never lightens the paper.
        double target = std::min<double>(p[x][c], ink.color[c]);
        p[x][c] = cv::saturate_cast<uint8_t>(p[x][c] * (1 - t) + target * t);
      }
    }
  }
}

// Prunes the one-pixel skeleton `skel` (0 / 255) of branches shorter than `len` pixels that end
// free: thinning a thick stroke leaves such spurs at its ends and corners, which no pen draws.
// The classic way: every free end is eaten back `len` times, then what is left grows back from
// its ends `len` steps along the original skeleton.
void PruneSpurs(cv::Mat& skel, int len) {
  static const int kDx[8] = {0, 1, 1, 1, 0, -1, -1, -1}, kDy[8] = {-1, -1, 0, 1, 1, 1, 0, -1};
  auto ends = [](const cv::Mat& m) {
    // A free end: its ring of eight neighbours holds one run of at most three set pixels.
    cv::Mat e(m.size(), CV_8U, cv::Scalar(0));
    for (int y = 1; y + 1 < m.rows; ++y)
      for (int x = 1; x + 1 < m.cols; ++x) {
        if (!m.at<uint8_t>(y, x)) continue;
        int on = 0, runs = 0;
        for (int k = 0; k < 8; ++k) {
          const bool a = m.at<uint8_t>(y + kDy[k], x + kDx[k]) != 0;
          const bool b = m.at<uint8_t>(y + kDy[(k + 1) % 8], x + kDx[(k + 1) % 8]) != 0;
          on += a;
          runs += !a && b;
        }
        if (on <= 3 && runs <= 1) e.at<uint8_t>(y, x) = 255;
      }
    return e;
  };
  const cv::Mat original = skel.clone();
  for (int i = 0; i < len; ++i) skel -= ends(skel);
  // A stroke of its own shorter than twice `len` (a 5's top bar, a dot) is eaten whole; it is
  // no spur, and comes back as it was.
  cv::Mat labels;
  const int n = cv::connectedComponents(original, labels, 8, CV_32S);
  std::vector<char> kept(size_t(std::max(n, 1)), 0);
  for (int y = 0; y < skel.rows; ++y)
    for (int x = 0; x < skel.cols; ++x)
      if (skel.at<uint8_t>(y, x)) kept[size_t(labels.at<int>(y, x))] = 1;
  cv::Mat whole(skel.size(), CV_8U, cv::Scalar(0));
  for (int y = 0; y < skel.rows; ++y)
    for (int x = 0; x < skel.cols; ++x) {
      const int l = labels.at<int>(y, x);
      if (l > 0 && !kept[size_t(l)]) whole.at<uint8_t>(y, x) = 255;
    }
  cv::Mat grow = ends(skel);
  const cv::Mat k3 = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3));
  for (int i = 0; i < len; ++i) {
    cv::Mat next;
    cv::dilate(grow, next, k3);
    next &= original;
    next -= skel;
    skel |= next;
    grow = next;
  }
  skel |= whole;
}

// Solid areas of `bin` (0 / 255) much wider than its strokes, hollowed to a ring about a
// stroke wide, so that thinning leaves a line around each (SynthOptions::pen_outline_areas).
// The stroke's width is measured along the centre lines (twice the median distance from them to
// the background), where a solid area covers little of them; an area counts where the distance
// exceeds 0.8 of that width (a stroke's own centre is at 0.5) over at least a quarter of a
// stroke's square, so a stroke's corner or a pin hole closed by the smoothing is left alone.
void HollowSolidAreas(cv::Mat& bin) {
  cv::Mat centre, inside;
  cv::ximgproc::thinning(bin, centre, cv::ximgproc::THINNING_ZHANGSUEN);
  cv::distanceTransform(bin, inside, cv::DIST_L2, cv::DIST_MASK_PRECISE);
  std::vector<float> d;
  for (int y = 0; y < bin.rows; ++y)
    for (int x = 0; x < bin.cols; ++x)
      if (centre.at<uint8_t>(y, x)) d.push_back(inside.at<float>(y, x));
  if (d.empty()) return;
  std::nth_element(d.begin(), d.begin() + std::ptrdiff_t(d.size() / 2), d.end());
  const double width = 2.0 * d[d.size() / 2];
  const cv::Mat core = inside > 0.8 * width;
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(core, labels, stats, centroids, 8, CV_32S);
  for (int i = 1; i < n; ++i)
    if (stats.at<int>(i, cv::CC_STAT_AREA) >= 0.25 * width * width) bin.setTo(0, labels == i);
}

}  // namespace

// The centre lines of the strokes of `gray0` (white on black) drawn again `width_px` wide, with
// an anti-aliased edge: each pixel's ink falls off with its distance from the nearest centre
// line pixel.
cv::Mat RedrawWithPen(const cv::Mat& gray0, double width_px, bool outline_areas) {
  if (gray0.empty() || gray0.type() != CV_8UC1) return cv::Mat();
  // Padded, so that neither the smoothing nor the thinning meets the edge of the digit's box.
  const double sigma = std::max(1.0, gray0.rows / 40.0);
  const int pad = int(3 * sigma) + 2;
  cv::Mat gray;
  cv::copyMakeBorder(gray0, gray, pad, pad, pad, pad, cv::BORDER_CONSTANT, cv::Scalar(0));
  // Smoothed first: MNIST's anti-aliased strokes, scaled up, leave specks and pin holes at any
  // threshold, which thin into spurs and little loops.
  cv::Mat smooth, skel;
  cv::GaussianBlur(gray, smooth, cv::Size(), sigma);
  cv::Mat bin = smooth > 90;
  cv::morphologyEx(bin, bin, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3)));
  // The sample's stroke width: the forks that thinning leaves at a thick stroke's ends and
  // corners are about that long.
  const double stroke = StrokeWidth(bin);
  if (outline_areas) HollowSolidAreas(bin);
  cv::ximgproc::thinning(bin, skel, cv::ximgproc::THINNING_ZHANGSUEN);
  PruneSpurs(skel, std::max(3, int(std::lround(1.2 * stroke))));
  cv::Mat dist;
  cv::distanceTransform(255 - skel, dist, cv::DIST_L2, cv::DIST_MASK_PRECISE);
  cv::Mat out(gray0.size(), CV_8U);
  const double half = std::max(0.5, width_px / 2);
  for (int y = 0; y < out.rows; ++y) {
    const float* dr = dist.ptr<float>(y + pad) + pad;
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < out.cols; ++x) o[x] = cv::saturate_cast<uint8_t>(255 * (half + 0.5 - dr[x]));
  }
  return out;
}

namespace {

class Canvas {
 public:
  Canvas(cv::Mat& img, double s) : img_(img), s_(s) {}
  cv::Point2d Px(double x_mm, double y_mm) const { return {x_mm * s_, y_mm * s_}; }
  double S() const { return s_; }
  cv::Mat& img() { return img_; }

  // A dry canvas draws nothing (the callers still draw their random numbers, so what is drawn
  // after is the same as if it had drawn).
  void SetDry(bool dry) { dry_ = dry; }

  // Draws a polyline (mm) with `ink`.
  void Stroke(const std::vector<cv::Point2d>& pts_mm, const Ink& ink, double width_mm) {
    if (pts_mm.size() < 2 || dry_) return;
    double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
    for (auto& p : pts_mm) {
      x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
    }
    int pad = int(width_mm * s_) + 3;
    cv::Rect roi(int(x0 * s_) - pad, int(y0 * s_) - pad, int((x1 - x0) * s_) + 2 * pad,
                 int((y1 - y0) * s_) + 2 * pad);
    if (roi.width <= 0 || roi.height <= 0 || roi.area() > 4e6) return;
    cv::Mat a(roi.size(), CV_8U, cv::Scalar(0));
    std::vector<cv::Point> pts;
    const int shift = 3;
    for (auto& p : pts_mm)
      pts.emplace_back(int((p.x * s_ - roi.x) * (1 << shift)), int((p.y * s_ - roi.y) * (1 << shift)));
    int th = std::max(1, int(std::lround(width_mm * s_)));
    cv::polylines(a, std::vector<std::vector<cv::Point>>{pts}, false, cv::Scalar(255), th,
                  cv::LINE_AA, shift);
    Composite(img_, roi, a, ink);
  }

  // Fills a polygon (mm) with `ink`.
  void FillPoly(const std::vector<cv::Point2d>& pts_mm, const Ink& ink) {
    if (dry_) return;
    double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
    for (auto& p : pts_mm) {
      x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
    }
    cv::Rect roi(int(x0 * s_) - 2, int(y0 * s_) - 2, int((x1 - x0) * s_) + 5, int((y1 - y0) * s_) + 5);
    if (roi.width <= 0 || roi.height <= 0 || roi.area() > 4e6) return;
    cv::Mat a(roi.size(), CV_8U, cv::Scalar(0));
    std::vector<cv::Point> pts;
    const int shift = 3;
    for (auto& p : pts_mm)
      pts.emplace_back(int((p.x * s_ - roi.x) * (1 << shift)), int((p.y * s_ - roi.y) * (1 << shift)));
    cv::fillPoly(a, std::vector<std::vector<cv::Point>>{pts}, cv::Scalar(255), cv::LINE_AA, shift);
    Composite(img_, roi, a, ink);
  }

  // Where a hand puts a digit in a box: its height (share of the box's inside), width factor,
  // offset of its centre (share of the inside) and slant. Drawn the same way for every digit,
  // so a page's random stream does not depend on how its digits are written.
  struct Placement {
    double height, widen, dx, dy, angle_deg;
    double max_width = 0.85;  // the widest the digit may be, as a share of the box's inside
  };
  static Placement Place(Rng& r) {
    Placement p{};
    p.height = U(r, 0.55, 0.82);
    p.widen = U(r, 0.9, 1.15);
    p.dx = U(r, -0.08, 0.08);
    p.dy = U(r, -0.07, 0.07);
    p.angle_deg = U(r, -7, 7);
    return p;
  }

  // Pastes an MNIST digit (white on black) as ink into the box `b` (mm), placed as `pl` says.
  // `pen_mm` > 0: the digit's strokes are redrawn along their centre lines at that width
  // (SynthOptions::pen_strokes) instead of keeping the sample's own; `pen_outline`: solid areas
  // drawn around (SynthOptions::pen_outline_areas).
  void Digit(const Image28& d, const Rect& b, double line_mm, const Ink& ink, const Placement& pl,
             double pen_mm = 0, bool pen_outline = false) {
    cv::Mat m(28, 28, CV_8U, const_cast<uint8_t*>(d.data()));
    cv::Mat bin = m > 40;
    cv::Rect bb = cv::boundingRect(bin);
    if (bb.empty()) return;
    cv::Mat crop = m(bb).clone();
    // Target size inside the box.
    double inner_w = b.w - 2 * line_mm, inner_h = b.h - 2 * line_mm;
    double th = inner_h * pl.height;
    double scale = th / bb.height;                // mm per MNIST pixel
    double tw = bb.width * scale * pl.widen;
    if (tw > inner_w * pl.max_width) {
      double k = inner_w * pl.max_width / tw;
      tw *= k;
      th *= k;
    }
    double cx = b.cx() + pl.dx * inner_w, cy = b.cy() + pl.dy * inner_h;
    double angle = pl.angle_deg;
    // Build the warped alpha directly in page pixels.
    int pw = std::max(2, int(std::lround(tw * s_))), ph = std::max(2, int(std::lround(th * s_)));
    cv::Mat scaled;
    cv::resize(crop, scaled, cv::Size(pw, ph), 0, 0, cv::INTER_LINEAR);
    // Stroke weight: markers are thicker than MNIST's pen.
    double stroke = ink.width_mm * s_;
    if (pen_mm > 0) {
      scaled = RedrawWithPen(scaled, pen_mm * s_, pen_outline);
    } else if (stroke > 4.5) {
      int k = int(std::min(4.0, stroke / 3));
      cv::dilate(scaled, scaled, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(k, k)));
    }
    int side = int(std::ceil(std::hypot(pw, ph))) + 4;
    cv::Mat a(side, side, CV_8U, cv::Scalar(0));
    scaled.copyTo(a(cv::Rect((side - pw) / 2, (side - ph) / 2, pw, ph)));
    cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f(side / 2.f, side / 2.f), angle, 1.0);
    cv::warpAffine(a, a, rot, a.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
    // Sharpen the MNIST anti-aliasing a little into pen-like strokes.
    a.convertTo(a, CV_8U, 1.4, -20);
    cv::Rect roi(int(cx * s_) - side / 2, int(cy * s_) - side / 2, side, side);
    Composite(img_, roi, a, ink);
  }

  // Writes `digit` along the dotted 8-segment guide of box `b` (layout.h, SegmentGuideDots: its
  // outer dots 4.13 mm either side of the box's centre and 6.64 mm above and below it), as a
  // seven-segment display shows it, by a hand: the pen's strokes run between the
  // guide's corners, each corner moved a little, the whole scaled, shifted and slanted as the
  // placement says (less than a free digit: the guide holds the hand), corners rounded or
  // overshot, a stroke now and then lifted short of its corner. The common variants: a 7 with
  // or without the upper-left bar, a 6 and a 9 with or without their tails, a 1 on the right
  // segments or in the middle.
  void SegmentDigit(int digit, const Rect& b, const Ink& ink, const Placement& pl, Rng& h) {
    double gw = 0, gh = 0;  // the guide's outer dots, centre to centre
    for (const GuideDot& d : SegmentGuideDots()) gw = std::max(gw, 2 * d.x), gh = std::max(gh, 2 * d.y);
    const double sx = U(h, 0.85, 1.25) * pl.widen, sy = U(h, 0.9, 1.1) * (0.6 + 0.5 * pl.height);
    const double cx = b.cx() + 0.5 * pl.dx * b.w, cy = b.cy() + 0.5 * pl.dy * b.h;
    const double shear = U(h, -0.12, 0.18);  // most hands lean right (positive: top to the right)
    const double rot = 0.5 * pl.angle_deg * CV_PI / 180;
    const double jit = 0.025 * b.h;
    // The six corners of the guide as this hand draws them (mm on the page): row 0 top,
    // 1 middle, 2 bottom; column 0 left, 1 right. Each moved once, so the strokes meet.
    cv::Point2d corner[3][2];
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 2; ++x) {
        const double u = (x == 0 ? -1 : 1) * gw / 2 * sx + U(h, -jit, jit);
        const double v = (y - 1) * gh / 2 * sy + U(h, -jit, jit);
        const double us = u - shear * v;
        corner[y][x] = {cx + us * std::cos(rot) - v * std::sin(rot), cy + us * std::sin(rot) + v * std::cos(rot)};
      }
    auto C = [&](int y, int x) { return corner[y][x]; };
    auto mid = [](cv::Point2d a, cv::Point2d b2) { return (a + b2) * 0.5; };
    using Path = std::vector<cv::Point2d>;
    std::vector<Path> paths;
    switch (digit) {
      case 0: paths = {{C(0, 0), C(0, 1), C(2, 1), C(2, 0), C(0, 0)}}; break;
      case 1:
        if (Coin(h, 0.6)) paths = {{C(0, 1), C(2, 1)}};
        else paths = {{mid(C(0, 0), C(0, 1)), mid(C(2, 0), C(2, 1))}};
        break;
      case 2: paths = {{C(0, 0), C(0, 1), C(1, 1), C(1, 0), C(2, 0), C(2, 1)}}; break;
      case 3: paths = {{C(0, 0), C(0, 1), C(2, 1), C(2, 0)}, {C(1, 0), C(1, 1)}}; break;
      case 4: paths = {{C(0, 0), C(1, 0), C(1, 1)}, {C(0, 1), C(2, 1)}}; break;
      case 5: paths = {{C(0, 1), C(0, 0), C(1, 0), C(1, 1), C(2, 1), C(2, 0)}}; break;
      case 6:
        if (Coin(h, 0.7)) paths = {{C(0, 1), C(0, 0), C(2, 0), C(2, 1), C(1, 1), C(1, 0)}};
        else paths = {{C(0, 0), C(2, 0), C(2, 1), C(1, 1), C(1, 0)}};
        break;
      case 7:
        if (Coin(h, 0.7)) paths = {{C(0, 0), C(0, 1), C(2, 1)}};
        else paths = {{C(1, 0), C(0, 0), C(0, 1), C(2, 1)}};
        break;
      case 8: paths = {{C(0, 0), C(0, 1), C(2, 1), C(2, 0), C(0, 0)}, {C(1, 0), C(1, 1)}}; break;
      default:
        if (Coin(h, 0.7)) paths = {{C(1, 1), C(1, 0), C(0, 0), C(0, 1), C(2, 1), C(2, 0)}};
        else paths = {{C(1, 1), C(1, 0), C(0, 0), C(0, 1), C(2, 1)}};
        break;
    }
    const double width = ink.width_mm * U(h, 0.9, 1.15);
    for (Path& p : paths) {
      // A pen overshoots or stops short at the ends of a stroke.
      auto reach = [&](cv::Point2d from, cv::Point2d to) {
        const double k = Coin(h, 0.15) ? U(h, -0.25, -0.1) : U(h, -0.05, 0.12);
        return to + (to - from) * k;
      };
      if (p.size() >= 2) {
        p.front() = reach(p[1], p.front());
        p.back() = reach(p[p.size() - 2], p.back());
      }
      // Corners rounded: each inner corner cut to a short arc on most strokes.
      Path q;
      q.push_back(p.front());
      for (size_t i = 1; i + 1 < p.size(); ++i) {
        const double cut = Coin(h, 0.6) ? U(h, 0.1, 0.3) : 0;
        if (cut == 0) {
          q.push_back(p[i]);
          continue;
        }
        const cv::Point2d a = p[i] + (p[i - 1] - p[i]) * cut, c2 = p[i] + (p[i + 1] - p[i]) * cut;
        for (int k = 0; k <= 4; ++k) {
          const double t = k / 4.0;
          q.push_back(a * ((1 - t) * (1 - t)) + p[i] * (2 * t * (1 - t)) + c2 * (t * t));
        }
      }
      q.push_back(p.back());
      // A slight waver along long strokes.
      Path w;
      for (size_t i = 0; i + 1 < q.size(); ++i) {
        w.push_back(q[i]);
        const double len = cv::norm(q[i + 1] - q[i]);
        if (len > 0.3 * b.h) {
          const cv::Point2d n((q[i].y - q[i + 1].y) / len, (q[i + 1].x - q[i].x) / len);
          w.push_back(mid(q[i], q[i + 1]) + n * U(h, -0.012, 0.012) * b.h);
        }
      }
      w.push_back(q.back());
      Stroke(w, ink, width);
    }
  }

 private:
  cv::Mat& img_;
  double s_;
  bool dry_ = false;
};

// Marks one bubble (mm rect) in one of several styles.
void MarkBubble(Canvas& c, const Rect& b, const Ink& ink, Rng& r) {
  const double R = b.w / 2;
  const double cx = b.cx() + U(r, -0.12, 0.12) * R, cy = b.cy() + U(r, -0.12, 0.12) * R;
  double u = U(r, 0, 1);
  if (u < 0.62) {  // full fill, irregular edge
    std::vector<cv::Point2d> pts;
    double rr = R * U(r, 0.85, 1.12);
    for (int i = 0; i < 24; ++i) {
      double t = 2 * M_PI * i / 24;
      double k = rr * U(r, 0.9, 1.06);
      pts.push_back({cx + k * std::cos(t), cy + k * std::sin(t) * U(r, 0.9, 1.0)});
    }
    c.FillPoly(pts, ink);
  } else if (u < 0.8) {  // partial fill: a smaller blob, off-centre
    std::vector<cv::Point2d> pts;
    double rr = R * U(r, 0.5, 0.75);
    double ox = U(r, -0.25, 0.25) * R, oy = U(r, -0.25, 0.25) * R;
    for (int i = 0; i < 18; ++i) {
      double t = 2 * M_PI * i / 18;
      double k = rr * U(r, 0.85, 1.1);
      pts.push_back({cx + ox + k * std::cos(t), cy + oy + k * std::sin(t)});
    }
    c.FillPoly(pts, ink);
  } else if (u < 0.95) {  // scribble: zig-zag strokes across the bubble
    std::vector<cv::Point2d> pts;
    int n = UI(r, 4, 8);
    double ang = U(r, -0.6, 0.6);
    for (int i = 0; i <= n; ++i) {
      double t = -0.85 + 1.7 * i / n;
      double side = (i % 2 ? 1 : -1) * R * U(r, 0.7, 1.0);
      double x = t * R, y = side;
      pts.push_back({cx + x * std::cos(ang) - y * std::sin(ang), cy + x * std::sin(ang) + y * std::cos(ang)});
    }
    c.Stroke(pts, ink, std::max(ink.width_mm, R * 0.45));
  } else {  // a cross or a tick, heavy
    double k = R * 0.9, w = std::max(ink.width_mm, R * 0.35);
    if (Coin(r, 0.5)) {
      c.Stroke({{cx - k, cy - k}, {cx + k, cy + k}}, ink, w);
      c.Stroke({{cx + k, cy - k}, {cx - k, cy + k}}, ink, w);
    } else {
      c.Stroke({{cx - k, cy}, {cx - k * 0.2, cy + k}, {cx + k * 1.1, cy - k}}, ink, w);
    }
  }
}

// A tally of `count` votes in `g`: one group of five per cell in reading order (four upright
// strokes and one across them), the last cell holding the rest. `skip`: one cell is left empty
// part-way (a slip of the hand; the count is then carried on after it).
void DrawTally(Canvas& c, const TallyGrid& g, int count, bool skip, const Ink& ink, Rng& r) {
  const int per = g.per_cell;
  int cells = (count + per - 1) / per;
  const int skipped = skip && cells >= 2 ? UI(r, 1, cells - 1) : -1;
  const double w = std::max(0.3, ink.width_mm * U(r, 0.7, 1.1));
  const double slant = U(r, -0.12, 0.12);
  for (int k = 0, cell = 0; k < cells && cell < g.cells(); ++cell) {
    if (cell == skipped) continue;
    const Rect b = g.Cell(cell);
    const int n = std::min(per, count - k * per);
    ++k;
    const double h = b.h * U(r, 0.45, 0.7), cx = b.cx() + U(r, -0.1, 0.1) * b.w,
                 cy = b.cy() + U(r, -0.1, 0.1) * b.h;
    const int uprights = std::min(n, per - 1);
    const double gap = b.w * U(r, 0.11, 0.16);
    const double x0 = cx - gap * (per - 2) / 2.0;
    for (int i = 0; i < uprights; ++i) {
      const double x = x0 + i * gap + U(r, -0.08, 0.08) * gap, hh = h * U(r, 0.85, 1.1);
      const double top = cy - hh / 2 + U(r, -0.5, 0.5), bot = cy + hh / 2 + U(r, -0.5, 0.5);
      c.Stroke({{x + slant * hh / 2, top}, {x + U(r, -0.3, 0.3) * gap * 0.3, (top + bot) / 2},
                {x - slant * hh / 2, bot}},
               ink, w * U(r, 0.85, 1.15));
    }
    if (n == per) {  // the fifth stroke across the four
      const double ext = gap * U(r, 0.4, 0.9);
      c.Stroke({{x0 - ext, cy + h * U(r, 0.15, 0.45)}, {x0 + gap * (per - 2) + ext, cy - h * U(r, 0.15, 0.45)}},
               ink, w * U(r, 0.85, 1.15));
    }
  }
}

// A stray mark somewhere harmless (labels, margins): a short line, a curl or a dot.
void StrayMark(Canvas& c, const PageLayout& L, const Ink& ink, Rng& r) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    double x = U(r, 0.08, 0.92) * L.width_mm, y = U(r, 0.08, 0.95) * L.height_mm;
    double len = U(r, 2, 15) * L.width_mm / 297;
    Rect area{x - len, y - len, 2 * len, 2 * len};
    bool clash = false;
    for (const auto& n : L.numbers) {
      Rect bnd = n.Bounds();
      Rect grown{bnd.x - 2, bnd.y - 2, bnd.w + 4, bnd.h + 4};
      // labels may be scribbled on; boxes and bubbles may not
      Rect marks{n.digit_boxes[0].x - 2, grown.y, grown.right() - n.digit_boxes[0].x + 2, grown.h};
      if (n.label_box.w > 0 && n.label_box.right() < n.digit_boxes[0].x) {
        if (marks.Intersects(area)) clash = true;
      } else if (grown.Intersects(area)) {
        clash = true;
      }
    }
    for (const auto& f : L.fiducials) {
      Rect g{f.box.x - 5, f.box.y - 5, f.box.w + 10, f.box.h + 10};
      if (g.Intersects(area)) clash = true;
    }
    if (L.page_marker) {
      Rect g{L.page_marker->box.x - 5, L.page_marker->box.y - 5, L.page_marker->box.w + 10,
             L.page_marker->box.h + 10};
      if (g.Intersects(area)) clash = true;
    }
    if (L.qr) {
      Rect g{L.qr->x - 6, L.qr->y - 6, L.qr->w + 12, L.qr->h + 12};
      if (g.Intersects(area)) clash = true;
    }
    if (clash) continue;
    std::vector<cv::Point2d> pts;
    double a = U(r, 0, 2 * M_PI), curl = U(r, -0.4, 0.4);
    int n = UI(r, 2, 8);
    double px = x, py = y;
    for (int i = 0; i < n; ++i) {
      pts.push_back({px, py});
      px += len / n * std::cos(a);
      py += len / n * std::sin(a);
      a += curl;
    }
    pts.push_back({px, py});
    c.Stroke(pts, ink, ink.width_mm * U(r, 0.6, 1.2));
    return;
  }
}

// ---------------------------------------------------------------------------------------------
// "Photographing"

cv::Mat Background(cv::Size size, Rng& r) {
  // A table or cloth: a base colour with low-frequency variation and fine grain.
  cv::Scalar base;
  double u = U(r, 0, 1);
  if (u < 0.35) base = cv::Scalar(U(r, 40, 80), U(r, 70, 110), U(r, 110, 160));   // wood
  else if (u < 0.6) base = cv::Scalar::all(U(r, 35, 90));                         // dark gray
  else if (u < 0.8) base = cv::Scalar::all(U(r, 140, 200)) + cv::Scalar(U(r, -8, 8), 0, U(r, -8, 8));  // light
  else base = cv::Scalar(U(r, 60, 140), U(r, 40, 90), U(r, 20, 60));                  // blue cloth
  // Mostly brightness variation (the same in every channel), a little tint.
  cv::Mat low(8, 8, CV_32F), tint(8, 8, CV_32FC3);
  cv::RNG crng(r());
  crng.fill(low, cv::RNG::UNIFORM, cv::Scalar(0.7), cv::Scalar(1.2));
  crng.fill(tint, cv::RNG::UNIFORM, cv::Scalar::all(0.93), cv::Scalar::all(1.07));
  cv::Mat low3;
  cv::Mat chans[3] = {low, low, low};
  cv::merge(chans, 3, low3);
  cv::multiply(low3, tint, low3);
  cv::Mat mid;
  cv::resize(low3, mid, cv::Size(std::max(8, size.width / 8), std::max(8, size.height / 8)), 0, 0,
             cv::INTER_CUBIC);
  cv::multiply(mid, base, mid);
  cv::Mat mid8, out;
  mid.convertTo(mid8, CV_8UC3);
  cv::resize(mid8, out, size, 0, 0, cv::INTER_LINEAR);
  return out;
}

struct PhotoResult {
  cv::Mat image;
  cv::Matx33d page_px_to_image;
  double blur_px = 0;  // the camera's blur: sigma of the Gaussian, photo px
  double shake_px = 0, shake_deg = 0;  // the motion blur: length (photo px) and direction
};

// A straight motion blur `len` px long at `deg` degrees: the kernel is the segment sampled
// every 0.1 px, each sample splatted bilinearly, normalized to sum 1.
cv::Mat MotionKernel(double len, double deg) {
  const int half = int(std::ceil(len / 2)) + 1;
  cv::Mat k = cv::Mat::zeros(2 * half + 1, 2 * half + 1, CV_32F);
  const double dx = std::cos(deg * M_PI / 180), dy = std::sin(deg * M_PI / 180);
  const int n = std::max(2, int(std::ceil(len * 10)));
  for (int i = 0; i <= n; ++i) {
    const double t = (double(i) / n - 0.5) * len;
    const double x = half + t * dx, y = half + t * dy;
    const int x0 = int(std::floor(x)), y0 = int(std::floor(y));
    const float fx = float(x - x0), fy = float(y - y0);
    k.at<float>(y0, x0) += (1 - fx) * (1 - fy);
    k.at<float>(y0, x0 + 1) += fx * (1 - fy);
    k.at<float>(y0 + 1, x0) += (1 - fx) * fy;
    k.at<float>(y0 + 1, x0 + 1) += fx * fy;
  }
  return k / cv::sum(k)[0];
}

// A page that does not lie flat: every pixel moved by a smooth random displacement field (a 4 x 4
// grid of random vectors, bicubic in between) scaled so that the largest displacement is
// `max_px`. Everything printed moves, the corner markers too (as on a curled page); the image
// keeps its size, its edges replicated.
cv::Mat Bend(const cv::Mat& page, double max_px, Rng& r) {
  cv::Mat gx(4, 4, CV_32F), gy(4, 4, CV_32F);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      gx.at<float>(y, x) = float(U(r, -1, 1));
      gy.at<float>(y, x) = float(U(r, -1, 1));
    }
  cv::Mat dx, dy;
  cv::resize(gx, dx, page.size(), 0, 0, cv::INTER_CUBIC);
  cv::resize(gy, dy, page.size(), 0, 0, cv::INTER_CUBIC);
  cv::Mat mag;
  cv::magnitude(dx, dy, mag);
  double peak = 0;
  cv::minMaxLoc(mag, nullptr, &peak);
  const float f = float(peak > 0 ? max_px / peak : 0);
  cv::Mat mx(page.size(), CV_32F), my(page.size(), CV_32F);
  for (int y = 0; y < page.rows; ++y) {
    const float* ax = dx.ptr<float>(y);
    const float* ay = dy.ptr<float>(y);
    float* ox = mx.ptr<float>(y);
    float* oy = my.ptr<float>(y);
    for (int x = 0; x < page.cols; ++x) ox[x] = float(x) + f * ax[x], oy[x] = float(y) + f * ay[x];
  }
  cv::Mat out;
  cv::remap(page, out, mx, my, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

// A page folded and opened again: `n` creases (SynthOptions::folds). Each crease is the line
// through point c with unit normal nv (page px); the panel on its positive side is tilted by
// theta, so a point at distance s beyond the crease is seen at s cos(theta): the image at s
// comes from s / cos(theta) (creases taken one after the other, each moving everything beyond
// it). The panel's light changes by up to 4 % x sin(theta) / sin(10 deg); the crease is a dark
// line of about 0.3 mm with a lighter line of about 0.5 mm beside it.
cv::Mat Fold(const cv::Mat& page, int n, double px_per_mm, Rng& r) {
  cv::Mat out = page.clone();
  for (int i = 0; i < n; ++i) {
    const bool upright = Coin(r, 0.5);
    const double skew = U(r, -2, 2) * M_PI / 180, at = U(r, 0.25, 0.75);
    const double theta = U(r, 3, 10) * M_PI / 180;
    const double side = Coin(r, 0.5) ? 1 : -1;  // which panel is tilted
    const double light = 1 + (Coin(r, 0.5) ? 1 : -1) * 0.04 * std::sin(theta) / std::sin(10 * M_PI / 180);
    const cv::Point2d c = upright ? cv::Point2d(at * page.cols, page.rows / 2.0) : cv::Point2d(page.cols / 2.0, at * page.rows);
    const cv::Point2d nv = upright ? cv::Point2d(std::cos(skew), std::sin(skew)) * side
                                   : cv::Point2d(-std::sin(skew), std::cos(skew)) * side;
    const double k = 1 / std::cos(theta) - 1;
    cv::Mat mx(page.size(), CV_32F), my(page.size(), CV_32F);
    for (int y = 0; y < page.rows; ++y) {
      float* ox = mx.ptr<float>(y);
      float* oy = my.ptr<float>(y);
      for (int x = 0; x < page.cols; ++x) {
        const double s = (x - c.x) * nv.x + (y - c.y) * nv.y;
        const double d = s > 0 ? k * s : 0;
        ox[x] = float(x + d * nv.x);
        oy[x] = float(y + d * nv.y);
      }
    }
    cv::Mat moved;
    cv::remap(out, moved, mx, my, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    // Light: the tilted panel, then the crease (dark core, light edge on the tilted side).
    const double dark = 0.3 * px_per_mm, edge = 0.5 * px_per_mm;
    for (int y = 0; y < moved.rows; ++y) {
      auto* px = moved.ptr<cv::Vec3b>(y);
      for (int x = 0; x < moved.cols; ++x) {
        const double s = (x - c.x) * nv.x + (y - c.y) * nv.y;
        double f = s > 0 ? light : 1;
        if (std::abs(s) < 2 * dark) f *= 1 - 0.18 * std::exp(-(s * s) / (dark * dark));
        if (s > 0 && s < 3 * edge) f *= 1 + 0.06 * std::exp(-((s - edge) * (s - edge)) / (edge * edge));
        if (f == 1) continue;
        for (int ch = 0; ch < 3; ++ch) px[x][ch] = cv::saturate_cast<uint8_t>(px[x][ch] * f);
      }
    }
    out = moved;
  }
  return out;
}

// `sr` draws the shake (SynthOptions::shake), a stream of its own.
PhotoResult Photograph(const cv::Mat& page, const SynthOptions& o, Rng& r, Rng& sr) {
  const double pw = page.cols, ph = page.rows;
  // 3-D pose: in-plane rotation, then a tilt of up to max_tilt about a random in-plane axis.
  // Mostly held roughly upright or sideways (any of the four), sometimes at any angle.
  double phi = Coin(r, 0.7) ? UI(r, 0, 3) * M_PI / 2 + std::normal_distribution<double>(0, 0.14)(r)
                            : U(r, 0, 2 * M_PI);
  double tilt = U(r, 0, o.max_tilt_deg) * M_PI / 180;
  double psi = U(r, 0, 2 * M_PI);
  cv::Vec3d axis(std::cos(psi), std::sin(psi), 0);
  // Rodrigues' formula: rotation by `tilt` about the unit `axis`.
  const double ct = std::cos(tilt), st = std::sin(tilt), ax = axis[0], ay = axis[1], az = axis[2];
  cv::Matx33d Rt(ct + ax * ax * (1 - ct), ax * ay * (1 - ct) - az * st, ax * az * (1 - ct) + ay * st,
                 ay * ax * (1 - ct) + az * st, ct + ay * ay * (1 - ct), ay * az * (1 - ct) - ax * st,
                 az * ax * (1 - ct) - ay * st, az * ay * (1 - ct) + ax * st, ct + az * az * (1 - ct));
  cv::Matx33d Rz(std::cos(phi), -std::sin(phi), 0, std::sin(phi), std::cos(phi), 0, 0, 0, 1);
  cv::Matx33d Rm = Rt * Rz;
  double D = std::max(pw, ph) * U(r, 1.1, 2.2);  // camera distance: closer = stronger perspective
  cv::Point2f src[4] = {{0, 0}, {float(pw), 0}, {float(pw), float(ph)}, {0, float(ph)}};
  cv::Point2d proj[4];
  double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
  for (int i = 0; i < 4; ++i) {
    cv::Vec3d p(src[i].x - pw / 2, src[i].y - ph / 2, 0);
    cv::Vec3d q = Rm * p;
    double z = D + q[2];
    proj[i] = {D * q[0] / z, D * q[1] / z};
    x0 = std::min(x0, proj[i].x), y0 = std::min(y0, proj[i].y);
    x1 = std::max(x1, proj[i].x), y1 = std::max(y1, proj[i].y);
  }
  // Frame: width uniform in [min_width, max_width]; the page fills 72-95 % of it (min_fill,
  // max_fill).
  int W = UI(r, o.min_width, o.max_width);
  double fill = U(r, o.min_fill, std::max(o.min_fill, o.max_fill));
  double k = W * fill / (x1 - x0);
  double bh = (y1 - y0) * k;
  int H = int(std::lround(bh / U(r, 0.8, 0.95)));
  H = std::clamp(H, int(W * 0.5), int(W * 2.2));
  if (bh > H * 0.97) {  // too tall for the frame: shrink
    double kk = H * 0.95 / bh;
    k *= kk;
    bh *= kk;
  }
  double bw = (x1 - x0) * k;
  double ox = U(r, 0, std::max(0.0, W - bw)), oy = U(r, 0, std::max(0.0, H - bh));
  cv::Point2f dst[4];
  for (int i = 0; i < 4; ++i)
    dst[i] = cv::Point2f(float((proj[i].x - x0) * k + ox), float((proj[i].y - y0) * k + oy));
  cv::Mat Hm = cv::getPerspectiveTransform(src, dst);
  // Blur (focus / shake), applied to the page before the warp: cheaper, and the same to the eye.
  // `sigma` is in photo pixels; k (photo px per render px) converts it.
  double sigma = U(r, 0.2, 1.4) * W / 2000.0 * o.blur_scale;
  cv::Mat src_page = page;
  if (sigma / k > 0.3) cv::GaussianBlur(page, src_page, cv::Size(0, 0), sigma / k);
  double shake_px = 0, shake_deg = 0;
  if (o.shake > 0) {
    shake_px = U(sr, 0.5, 1.0) * o.shake * W / 2000.0;
    shake_deg = U(sr, 0, 180);
    if (shake_px / k > 0.5) {
      cv::Mat shaken;
      cv::filter2D(src_page, shaken, -1, MotionKernel(shake_px / k, shake_deg), cv::Point(-1, -1), 0,
                   cv::BORDER_REPLICATE);
      src_page = shaken;
    }
  }
  cv::Mat out = Background(cv::Size(W, H), r);
  cv::warpPerspective(src_page, out, Hm, out.size(), cv::INTER_LINEAR, cv::BORDER_TRANSPARENT);

  // Light (a gradient, a vignette, sometimes a soft shadow; warm tint) and sensor noise, in one
  // pass over the 8-bit image. The gain map is computed at 1/8 resolution.
  {
    const int gw = (W + 7) / 8, gh = (H + 7) / 8;
    cv::Mat small(std::max(8, int(48.0 * H / W)), 48, CV_32F);
    double ga = U(r, 0, 2 * M_PI), gs = U(r, 0.0, 0.45), base = U(r, 0.75, 1.05);
    double vig = U(r, 0.0, 0.35);
    bool shadow = Coin(r, 0.45);
    double sx = U(r, 0, 1), sy = U(r, 0, 1), sa = U(r, 0, 2 * M_PI), sdepth = U(r, 0.3, 0.6);
    for (int y = 0; y < small.rows; ++y)
      for (int x = 0; x < small.cols; ++x) {
        double u = double(x) / (small.cols - 1), v = double(y) / (small.rows - 1);
        double g = base + gs * ((u - 0.5) * std::cos(ga) + (v - 0.5) * std::sin(ga));
        double rr = (u - 0.5) * (u - 0.5) + (v - 0.5) * (v - 0.5);
        g *= 1 - vig * rr * 2;
        if (shadow) {
          double d = (u - sx) * std::cos(sa) + (v - sy) * std::sin(sa);
          g *= 1 - sdepth / (1 + std::exp(-d * 25));
        }
        small.at<float>(y, x) = float(std::clamp(g, 0.25, 1.25));
      }
    cv::Mat gain;
    cv::resize(small, gain, cv::Size(gw, gh), 0, 0, cv::INTER_LINEAR);
    const float tint[3] = {float(U(r, 0.85, 1.0)), float(U(r, 0.93, 1.0)), 1.0f};  // B G R
    // Gaussian noise from a fixed-size tile, read at a random offset.
    static const cv::Mat kNoise = [] {
      cv::Mat n(256, 1024 * 3, CV_32F);
      cv::RNG g(12345);
      g.fill(n, cv::RNG::NORMAL, cv::Scalar(0), cv::Scalar(1));
      return n;
    }();
    const float nsig = float(U(r, 1.5, 7));
    const int ox = UI(r, 0, 1023), oy = UI(r, 0, 255);
    cv::parallel_for_(cv::Range(0, H), [&](const cv::Range& rows) {
      for (int y = rows.start; y < rows.end; ++y) {
        cv::Vec3b* p = out.ptr<cv::Vec3b>(y);
        const float* g = gain.ptr<float>(y / 8);
        const float* nz = kNoise.ptr<float>((y + oy) % 256);
        int nx = ox * 3;
        for (int x0 = 0; x0 < W; x0 += 8) {
          const float gb = g[x0 / 8] * tint[0], gg = g[x0 / 8] * tint[1], gr = g[x0 / 8] * tint[2];
          const int x1 = std::min(W, x0 + 8);
          for (int x = x0; x < x1; ++x) {
            p[x][0] = cv::saturate_cast<uint8_t>(p[x][0] * gb + nsig * nz[nx]);
            p[x][1] = cv::saturate_cast<uint8_t>(p[x][1] * gg + nsig * nz[nx + 1]);
            p[x][2] = cv::saturate_cast<uint8_t>(p[x][2] * gr + nsig * nz[nx + 2]);
            nx += 3;
            if (nx >= 1024 * 3) nx = 0;
          }
        }
      }
    });
  }
  PhotoResult res;
  res.image = out;
  cv::Matx33d Hx;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) Hx(i, j) = Hm.at<double>(i, j);
  res.page_px_to_image = Hx;
  res.blur_px = sigma;
  res.shake_px = shake_px;
  res.shake_deg = shake_deg;
  return res;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct Synthesizer::Impl {
  const DigitDataset* digits = nullptr;
  std::array<std::vector<int>, 10> by_label;
  SynthOptions o;
  const Contest* contest = nullptr;
  std::vector<PageLayout> pages;  // own form: every page; KPU: page 2
  double max_voters = 300;
  double s = 6.5;  // px per mm
  std::vector<RenderInput> tps;
  mutable std::mutex mu;
  mutable std::map<std::pair<size_t, int>, cv::Mat> blank;  // (tps index, page) -> render

  Result<cv::Mat> Blank(size_t ti, int page_index) const {
    {
      std::lock_guard<std::mutex> l(mu);
      auto it = blank.find({ti, page_index});
      if (it != blank.end()) return it->second;
    }
    auto img = RenderPageImage(pages[size_t(page_index)], tps[ti], s);
    if (!img.ok()) return img.status();
    std::lock_guard<std::mutex> l(mu);
    if (blank.size() > 64) blank.clear();
    blank[{ti, page_index}] = *img;
    return *img;
  }

  // A random sample of `digit`: its index in the IDX set.
  int Sample(int digit, Rng& r) const {
    const auto& v = by_label[size_t(digit)];
    return v[size_t(UI(r, 0, int(v.size()) - 1))];
  }
};

Synthesizer::~Synthesizer() = default;

Result<std::unique_ptr<Synthesizer>> Synthesizer::Create(const DigitDataset& digits,
                                                         const Contest* contest,
                                                         const SynthOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->digits = &digits;
  impl->o = options;
  if (digits.images.size() != digits.labels.size())
    return InvalidArgument("data angka tidak cocok / digit images and labels differ in count");
  for (size_t i = 0; i < digits.labels.size(); ++i)
    if (digits.labels[i] < 10) impl->by_label[digits.labels[i]].push_back(int(i));
  for (int d = 0; d < 10; ++d)
    if (impl->by_label[size_t(d)].empty())
      return InvalidArgument("data angka tanpa contoh angka " + std::to_string(d) +
                             " / the digit set has no sample of " + std::to_string(d));
  const SynthOptions& o = options;
  if (o.min_width < 200 || o.max_width < o.min_width || o.max_width > 8000)
    return InvalidArgument("min_width, max_width (--min-width, --max-width): 200 <= min <= max <= 8000, not " +
                           std::to_string(o.min_width) + ", " + std::to_string(o.max_width));
  if (o.min_jpeg_quality < 1 || o.max_jpeg_quality > 100 || o.min_jpeg_quality > o.max_jpeg_quality)
    return InvalidArgument("min_jpeg_quality, max_jpeg_quality: 1 <= min <= max <= 100, not " +
                           std::to_string(o.min_jpeg_quality) + ", " + std::to_string(o.max_jpeg_quality));
  // Each option by the name of its command-line option, and its range (NaN is outside).
  const struct {
    const char* name;
    double value, lo, hi;
  } ranges[] = {{"--inconsistent-rate", o.inconsistent_rate, 0, 1}, {"--max-tilt", o.max_tilt_deg, 0, 60},
                {"--restyle", o.restyle, 0, 2},          {"--bend", o.bend_mm, 0, 20},
                {"--fold", double(o.folds), 0, 3},        {"--segment-style", o.segment_style, 0, 1},
                {"--pen-strokes", o.pen_strokes, 0, 1},   {"--blur-scale", o.blur_scale, 0, 10},
                {"--shake", o.shake, 0, 100},             {"--spill", o.spill, 0, 1},
                {"--flagged-ones", o.flagged_ones, 0, 1}, {"--crossed-sevens", o.crossed_sevens, 0, 1},
                {"--unbubbled", o.unbubbled_rate, 0, 1}};
  for (const auto& r : ranges)
    if (!(r.value >= r.lo && r.value <= r.hi)) {
      std::ostringstream m;
      m << r.name << ": " << r.value << " di luar / outside " << r.lo << ".." << r.hi;
      return InvalidArgument(m.str());
    }
  if (o.pen_outline_areas && o.pen_strokes <= 0)
    return InvalidArgument("pen_outline_areas: hanya bersama pen_strokes > 0 / only with pen_strokes > 0");

  std::vector<std::string> ids = o.tps;
  if (ids.empty())
    for (const auto& t : kBuiltinTps) ids.push_back(t.id);
  for (const auto& id : ids) {
    if (!TpsId::Parse(id).ok())
      return InvalidArgument("id TPS tidak sah / invalid TPS id: " + id.substr(0, 40));
    RenderInput in;
    in.tps = id;
    for (const auto& t : kBuiltinTps)
      if (id == t.id) in.provinsi = t.provinsi, in.kabkota = t.kabkota;
    in.kecamatan = "Kec. " + id.substr(4, 2);
    in.desa = "Desa " + id.substr(6, 4);
    impl->tps.push_back(in);
  }

  if (o.form == SynthForm::kOwn) {
    if (!contest || !contest->form)
      return InvalidArgument("pemilihan (dengan formulir) wajib / a contest with a form is required");
    impl->contest = contest;
    auto it = contest->params.find("max_voters");
    impl->max_voters = it != contest->params.end() ? it->second : 300;
    int n = OwnPageCount(*contest->form);
    if (n < 1) return InvalidArgument("formulir tidak bisa ditata / form cannot be laid out");
    for (int p = 1; p <= n; ++p) {
      auto L = LayoutOwnPage(*contest->form, *contest, p);
      if (!L.ok()) return L.status();
      impl->pages.push_back(std::move(*L));
    }
    impl->s = o.px_per_mm > 0 ? o.px_per_mm : 6.5;
  } else {
    auto L = KpuPpwpPage2Layout();
    if (!L.ok()) return L.status();
    impl->pages.push_back(*L);
    if (o.form == SynthForm::kKpuPpwp) {
      auto L3 = KpuPpwpPage3Layout();
      if (!L3.ok()) return L3.status();
      impl->pages.push_back(*L3);
    }
    impl->s = o.px_per_mm > 0 ? o.px_per_mm : 3.2;
  }
  if (impl->s < 1 || impl->s > 20) return InvalidArgument("resolusi tidak sah / invalid px_per_mm");
  std::unique_ptr<Synthesizer> out(new Synthesizer());
  out->impl_ = std::move(impl);
  return out;
}

Result<SynthPage> Synthesizer::Make(int index) const {
  const Impl& I = *impl_;
  const SynthOptions& o = I.o;
  if (index < 0) return InvalidArgument("indeks negatif / negative index");
  const int npages = int(I.pages.size());
  const int sheet = index / npages, page_index = index % npages;
  const PageLayout& L = I.pages[size_t(page_index)];
  Rng vr = MakeRng(o.seed, uint64_t(sheet), 1);  // values: shared by the pages of one sheet
  Rng r = MakeRng(o.seed, uint64_t(index), 2);   // everything drawn on this page

  SynthPage P;
  char name[32];
  std::snprintf(
      name, sizeof name, "page-%05d.%s", index,
      o.format == PhotoFormat::kJpeg ? "jpg" : std::string(PhotoFormatName(o.format)).c_str());
  P.file = name;
  P.form = L.form_id;
  P.page = L.page;
  size_t ti = size_t(UI(vr, 0, int(I.tps.size()) - 1));
  P.tps = I.tps[ti].tps;

  // 1. Values.
  Values vals, bubbles;
  bool inconsistent = Coin(vr, o.inconsistent_rate);
  if (o.form == SynthForm::kOwn) {
    const Form& form = *I.contest->form;
    std::optional<Values> v;
    for (int attempt = 0; attempt < 500 && !v; ++attempt) v = TryOwnValues(form, I.max_voters, vr);
    if (!v)
      return Internal("tidak bisa membuat hasil yang konsisten untuk " + form.schema().id() +
                      " / cannot generate consistent values");
    vals = *v;
    if (inconsistent) {
      P.inconsistency = BreakOwnValues(form, &vals, vr);
      if (P.inconsistency.empty()) inconsistent = false;
    }
    // Only this page's fields.
    Values mine;
    for (const auto& n : L.numbers) mine[n.field] = vals[n.field];
    vals = mine;
    bubbles = vals;
  } else {
    int voters = UI(vr, 100, 300);
    P.voters = voters;
    int used = int(std::lround(voters * U(vr, 0.55, 0.93)));
    int valid = used - UI(vr, 0, std::max(1, used / 25));
    std::gamma_distribution<double> g(1.5, 1.0);
    double w[3], sw = 0;
    for (double& x : w) sw += (x = g(vr) + 0.05);
    int given = 0, votes[3];
    for (int i = 0; i < 3; ++i) given += (votes[i] = int(std::floor(valid * w[i] / sw)));
    while (given < valid) votes[UI(vr, 0, 2)]++, given++;
    for (int i = 0; i < 3; ++i) vals["suara_" + std::to_string(i + 1)] = votes[i];
    bubbles = vals;
    // With page 3 (the totals): one sheet in four of the inconsistent ones breaks a total's
    // arithmetic instead, in halves V.A = IV.1 + IV.2 + IV.3 or V.C = V.A + V.B (the total
    // written differs from the sum by 1-30 votes).
    const bool break_total = o.form == SynthForm::kKpuPpwp && inconsistent && Coin(vr, 0.25);
    int total_error = 0, grand_error = 0;
    if (break_total) {
      const bool grand = Coin(vr, 0.5);
      (grand ? grand_error : total_error) = UI(vr, 1, 30) * (Coin(vr, 0.5) || valid < 31 ? 1 : -1);
      P.inconsistency = grand ? "suara_total_sama_sah_tambah_tidak_sah" : "suara_sah_sama_jumlah_paslon";
    } else if (inconsistent) {
      std::string f = "suara_" + std::to_string(UI(vr, 1, 3));
      if (Coin(vr, 0.6)) {  // the digits and the bubbles disagree in one position
        int pos = UI(vr, 0, 2);
        int d[3] = {vals[f] / 100, vals[f] / 10 % 10, vals[f] % 10};
        int nd = (d[pos] + UI(vr, 1, 9)) % 10;
        d[pos] = nd;
        bubbles[f] = d[0] * 100 + d[1] * 10 + d[2];
        P.inconsistency = "digits_vs_bubbles:" + f;
      } else {  // more votes than voters, digits and bubbles agree
        vals[f] = bubbles[f] = UI(vr, voters + 1, std::min(999, voters + 400));
        P.inconsistency = "exceeds_voters:" + f;
      }
    }
    if (o.form == SynthForm::kKpuPpwp) {
      // Page 3: the totals of what page 2's boxes say (V.A), the invalid votes and V.A + V.B.
      int sum = 0;
      for (int i = 0; i < 3; ++i) sum += vals["suara_" + std::to_string(i + 1)];
      const int sah = std::clamp(sum + total_error, 0, 999);
      vals["suara_sah"] = bubbles["suara_sah"] = sah;
      vals["suara_tidak_sah"] = bubbles["suara_tidak_sah"] = used - valid;
      vals["suara_total"] = bubbles["suara_total"] = std::clamp(sah + used - valid + grand_error, 0, 999);
      for (Values* v : {&vals, &bubbles}) {  // this page's fields only
        Values mine;
        for (const auto& n : L.numbers) mine[n.field] = (*v)[n.field];
        *v = std::move(mine);
      }
    }
  }
  P.inconsistent = inconsistent;
  P.values = vals;
  for (const auto& [k, v] : bubbles)
    if (vals[k] != v) P.bubble_values[k] = v;

  static const bool kProfile = std::getenv("REKAP_SYNTH_PROFILE") != nullptr;
  auto tick = [t = std::chrono::steady_clock::now()](const char* what) mutable {
    if (!kProfile) return;
    auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "  %s %.0f ms\n", what, std::chrono::duration<double, std::milli>(now - t).count());
    t = now;
  };
  // 2. Render (cached per TPS and page) and fill.
  auto blank = I.Blank(ti, page_index);
  if (!blank.ok()) return blank.status();
  cv::Mat img = blank->clone();
  tick("render");
  Canvas c(img, I.s);
  Ink ink = PickInk(r);
  // Other hands (SynthOptions::restyle): a stream of its own, so nothing else on the page moves.
  std::mt19937 hands(o.seed * 2654435761u ^ uint32_t(index) * 40503u ^ 0x68616e64u);
  AugmentOptions style;
  style.probability = 1;
  style.max_rotation_deg = 20 * o.restyle;
  style.min_scale = 1 - 0.2 * o.restyle, style.max_scale = 1 + 0.2 * o.restyle;
  style.max_shear = 0.45 * o.restyle;
  style.max_translate = 1;
  style.thickness_probability = std::min(1.0, 0.5 * o.restyle);
  style.blur_probability = style.noise_probability = style.border_probability = 0;
  style.elastic_probability = std::min(1.0, 0.7 * o.restyle);
  style.elastic_min_alpha = 34 * o.restyle, style.elastic_max_alpha = 45 * o.restyle;
  Rng flags = MakeRng(o.seed, uint64_t(index), 11);  // flagged 1s (SynthOptions::flagged_ones)
  Rng bars = MakeRng(o.seed, uint64_t(index), 12);   // crossed 7s (SynthOptions::crossed_sevens)
  auto hand = [&](int sample, int digit) {
    Image28 d = I.digits->images[size_t(sample)];
    if (digit == 1 && o.flagged_ones > 0 && Coin(flags, o.flagged_ones)) {
      const double length = U(flags, 0.15, 0.4), deg = U(flags, 25, 65);
      const double base = Coin(flags, 1.0 / 3) ? U(flags, 0.3, 0.6) : 0.0;
      d = FlagOne(d, length, deg, base);
      ++P.flagged;
    }
    if (digit == 7 && o.crossed_sevens > 0 && Coin(bars, o.crossed_sevens)) {
      const double length = U(bars, 0.25, 0.6), height = U(bars, 0.4, 0.65), tilt = U(bars, -5, 15);
      d = CrossSeven(d, length, height, tilt);
      ++P.crossed;
    }
    return o.restyle > 0 ? AugmentDigit(d, hands, style) : d;
  };
  Rng seg = MakeRng(o.seed, uint64_t(index), 7);  // segment-style digits: a stream of their own
  // Pen strokes (SynthOptions::pen_strokes): the page's pen, from a stream of its own.
  Rng pen = MakeRng(o.seed, uint64_t(index), 8);
  const double pen_mm = o.pen_strokes > 0 && Coin(pen, o.pen_strokes) ? ink.width_mm * U(pen, 0.85, 1.1) : 0;
  if (pen_mm > 0) P.pen_mm = pen_mm;
  Rng spill = MakeRng(o.seed, uint64_t(index), 10);  // digits too big for their box (SynthOptions::spill)
  Rng unbubbled = MakeRng(o.seed, uint64_t(index), 13);  // numbers left unbubbled (SynthOptions::unbubbled_rate)
  for (const NumberLayout& n : L.numbers) {
    auto it = vals.find(n.field);
    if (it == vals.end()) continue;
    const int v = std::clamp(it->second, 0, 999);
    const int bv = std::clamp(bubbles[n.field], 0, 999);
    const bool zeros = Coin(r, 0.5);
    if (zeros) P.leading_zeros.push_back(n.field);
    int d[3] = {v / 100, v / 10 % 10, v % 10};
    int first = v >= 100 ? 0 : v >= 10 ? 1 : 2;
    std::array<int, 3>& used = P.samples[n.field];
    used.fill(-1);
    for (int p = 0; p < 3; ++p)
      if (zeros || p >= first) {
        used[size_t(p)] = I.Sample(d[p], r);
        Canvas::Placement pl = Canvas::Place(r);
        if (o.spill > 0 && Coin(spill, o.spill)) {
          pl.height = U(spill, 0.85, 1.2);
          pl.max_width = 1.1;
          pl.dx = U(spill, -0.15, 0.15);
          pl.dy = U(spill, -0.15, 0.15);
          ++P.spilled;
        }
        if (n.segment_guides && o.segment_style > 0 && Coin(seg, o.segment_style)) {
          c.SegmentDigit(d[p], n.digit_boxes[size_t(p)], ink, pl, seg);
          used[size_t(p)] = -2;
        } else {
          c.Digit(hand(used[size_t(p)], d[p]), n.digit_boxes[size_t(p)], n.box_line_mm, ink, pl, pen_mm,
                  o.pen_outline_areas);
        }
      }
    // Bubbles: every position of a number written with zeros; a blank leading position's 0 is
    // marked half of the time.
    int bd[3] = {bv / 100, bv / 10 % 10, bv % 10};
    int bfirst = bv >= 100 ? 0 : bv >= 10 ? 1 : 2;
    bool missing_done = false, double_done = false;
    bool do_missing = Coin(r, o.missing_mark_rate), do_double = Coin(r, o.double_mark_rate);
    // No bubble at all (unbubbled_rate): the marks are still drawn from the page's stream, on a
    // dry canvas, so that the rest of the page is drawn as it would be with them.
    const bool skip_all = o.unbubbled_rate > 0 && n.has_bubbles && bv == v && Coin(unbubbled, o.unbubbled_rate);
    if (skip_all) P.unbubbled.push_back(n.field);
    c.SetDry(skip_all);
    for (int p = 0; p < 3 && n.has_bubbles; ++p) {
      const bool disagrees = bv != v && d[p] != bd[p];
      // The row that deliberately disagrees is always marked: its 0 above the bubbles' first
      // digit (boxes 60, bubbles 0) left empty would look exactly like the written digit's mark
      // left out, a page consistent to the eye while truth.json calls it inconsistent. (After
      // the coin, so that consistent pages draw the same numbers as before.)
      bool mark = zeros || p >= bfirst || Coin(r, 0.5) || disagrees;
      // A mark left out, except the one that deliberately disagrees with the digit box: leaving
      // that one out would make the page consistent again while truth.json calls it inconsistent.
      if (mark && do_missing && !missing_done && p >= bfirst && (p == 2 || Coin(r, 0.5)) && !disagrees) {
        missing_done = true;
        if (!skip_all) P.missing_marks.push_back(n.field);
        continue;
      }
      if (mark) MarkBubble(c, n.bubbles[size_t(p)][size_t(bd[p])], ink, r);
      if (do_double && !double_done && mark && (p == 2 || Coin(r, 0.4))) {
        int other = (bd[p] + UI(r, 1, 9)) % 10;
        // On the row that deliberately disagrees, a second mark on the written digit would
        // make the row agree with the box again: mark the next digit instead.
        if (disagrees && other == d[p]) other = (other + 1) % 10 == bd[p] ? (other + 2) % 10 : (other + 1) % 10;
        MarkBubble(c, n.bubbles[size_t(p)][size_t(other)], ink, r);
        double_done = true;
        if (!skip_all) P.double_marked.push_back(n.field);
      }
    }
    c.SetDry(false);
  }
  if (o.tally) {
    // Its own stream: the page is otherwise drawn exactly as without the tally.
    Rng tr = MakeRng(o.seed, uint64_t(index), 3);
    for (const NumberLayout& n : L.numbers) {
      auto it = vals.find(n.field);
      if (!n.tally || it == vals.end()) continue;
      // Boxes and bubbles are both copied from the tally; where they deliberately disagree, the
      // tally agrees with either (the other copy is the one written wrong).
      int t = it->second;
      if (auto b = P.bubble_values.find(n.field); b != P.bubble_values.end() && Coin(tr, 0.5)) t = b->second;
      t = std::clamp(t, 0, n.tally->cells() * n.tally->per_cell);
      bool skip = false;
      if (Coin(tr, o.tally_slip_rate)) {
        P.tally_slips.push_back(n.field);
        if (Coin(tr, 0.5)) skip = true;
        else t = std::clamp(t + (Coin(tr, 0.5) ? 1 : -1) * UI(tr, 1, 3), 0, n.tally->cells() * n.tally->per_cell);
      }
      P.tally_values[n.field] = t;
      DrawTally(c, *n.tally, t, skip, ink, tr);
    }
  }
  if (Coin(r, o.stray_mark_rate)) {
    int k = UI(r, 1, 4);
    for (int i = 0; i < k; ++i) StrayMark(c, L, ink, r);
  }

  tick("fill");
  // 3. Photograph.
  cv::Matx33d mm_to_render(I.s, 0, 0, 0, I.s, 0, 0, 0, 1);
  if (o.bend_mm > 0) {  // a stream of its own: the rest of the page is the same without it
    Rng br = MakeRng(o.seed, uint64_t(index), 4);
    img = Bend(img, o.bend_mm * I.s, br);
  }
  if (o.folds > 0) {  // a stream of its own, like the bend
    Rng fr = MakeRng(o.seed, uint64_t(index), 5);
    img = Fold(img, o.folds, I.s, fr);
  }
  if (o.cover_corner) {  // a stream of its own, like the bend
    Rng cr = MakeRng(o.seed, uint64_t(index), 6);
    const int corner = UI(cr, 0, 3);
    const cv::Point c(corner == 1 || corner == 2 ? img.cols - 1 : 0, corner >= 2 ? img.rows - 1 : 0);
    const double radius = U(cr, 0.08, 0.12) * std::hypot(img.cols, img.rows);
    const cv::Scalar color(U(cr, 30, 90), U(cr, 40, 100), U(cr, 50, 120));  // BGR: a hand, a table
    cv::circle(img, c, int(radius), color, cv::FILLED, cv::LINE_AA);
  }
  if (o.photograph) {
    Rng sr = MakeRng(o.seed, uint64_t(index), 9);  // camera shake: a stream of its own
    PhotoResult ph = Photograph(img, o, r, sr);
    P.image = ph.image;
    P.page_to_image = ph.page_px_to_image * mm_to_render;
    P.blur_px = ph.blur_px;
    P.shake_px = ph.shake_px;
    P.shake_deg = ph.shake_deg;
  } else {
    P.image = img;
    P.page_to_image = mm_to_render;
  }
  tick("photograph");
  const cv::Point2d pc[4] = {{0, 0}, {L.width_mm, 0}, {L.width_mm, L.height_mm}, {0, L.height_mm}};
  for (int i = 0; i < 4; ++i) {
    cv::Vec3d q = P.page_to_image * cv::Vec3d(pc[i].x, pc[i].y, 1);
    P.page_corners[size_t(i)] = {q[0] / q[2], q[1] / q[2]};
  }
  P.jpeg_quality = UI(r, o.min_jpeg_quality, o.max_jpeg_quality);
  P.format = o.format;
  if (o.format != PhotoFormat::kJpeg) {
    REKAP_ASSIGN_OR_RETURN(P.jpeg, EncodeHeif(P.image, o.format, P.jpeg_quality));
  } else {
    std::vector<int> params = {cv::IMWRITE_JPEG_QUALITY, P.jpeg_quality};
    if (!cv::imencode(".jpg", P.image, P.jpeg, params)) return Internal("JPEG encoding failed");
  }
  tick("jpeg");
  return P;
}

Status Synthesizer::WriteAll(int count, const std::string& dir,
                             const std::function<void(int, int)>& progress) const {
  if (count < 0 || count > 10'000'000) return InvalidArgument("jumlah tidak sah / invalid count");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec))
    return Unavailable("tidak bisa membuat direktori / cannot create directory " + dir);
  // A truth.json of an earlier run goes first: photos of this run written over its photos and
  // then a failure would leave it describing photos that are no longer those.
  const std::string truth_path = dir + "/truth.json";
  std::filesystem::remove(truth_path, ec);
  if (ec) return Unavailable("tidak bisa menghapus / cannot remove " + truth_path);
  std::vector<nlohmann::json> truth(static_cast<size_t>(count));
  std::atomic<int> next{0}, done{0};
  std::mutex mu;
  Status first_error = Status::Ok();
  auto worker = [&] {
    for (;;) {
      int i = next.fetch_add(1);
      if (i >= count) return;
      {
        std::lock_guard<std::mutex> l(mu);
        if (!first_error.ok()) return;
      }
      auto page = Make(i);
      Status st = page.ok() ? Status::Ok() : page.status();
      if (st.ok()) {
        std::ofstream f(dir + "/" + page->file, std::ios::binary);
        f.write(reinterpret_cast<const char*>(page->jpeg.data()), std::streamsize(page->jpeg.size()));
        if (!f) st = Unavailable("tidak bisa menulis / cannot write " + dir + "/" + page->file);
        else truth[size_t(i)] = page->TruthJson();
      }
      std::lock_guard<std::mutex> l(mu);
      if (!st.ok() && first_error.ok()) first_error = st;
      int d = ++done;
      if (progress) progress(d, count);
    }
  };
  unsigned nt = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < nt; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  REKAP_RETURN_IF_ERROR(first_error);
  nlohmann::json j;
  j["generator"] = "rekap forms synth";
  j["form"] = std::string(SynthFormName(impl_->o.form));
  j["seed"] = impl_->o.seed;
  if (impl_->o.restyle > 0) j["restyle"] = impl_->o.restyle;
  if (impl_->o.bend_mm > 0) j["bend_mm"] = impl_->o.bend_mm;
  if (impl_->o.folds > 0) j["folds"] = impl_->o.folds;
  if (impl_->o.cover_corner) j["cover_corner"] = true;
  if (impl_->o.segment_style > 0) j["segment_style"] = impl_->o.segment_style;
  if (impl_->o.pen_strokes > 0) j["pen_strokes"] = impl_->o.pen_strokes;
  if (impl_->o.pen_strokes > 0 && impl_->o.pen_outline_areas) j["pen_outline_areas"] = true;
  if (impl_->o.blur_scale != 1) j["blur_scale"] = impl_->o.blur_scale;
  if (impl_->o.shake > 0) j["shake"] = impl_->o.shake;
  if (impl_->o.spill > 0) j["spill"] = impl_->o.spill;
  if (impl_->o.flagged_ones > 0) j["flagged_ones"] = impl_->o.flagged_ones;
  if (impl_->o.crossed_sevens > 0) j["crossed_sevens"] = impl_->o.crossed_sevens;
  j["count"] = count;
  j["pages"] = truth;
  return WriteFileAtomic(truth_path, j.dump(1) + "\n");
}

}  // namespace rekap::reader
