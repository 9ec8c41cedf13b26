// rekap reader: reading the QR code of our own form, decoded or matched module by module.
// See read_internal.h and docs/reader.md.
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

#include <nlohmann/json.hpp>
#include <opencv2/wechat_qrcode.hpp>

#include "reader/render.h"

namespace rekap::reader::detail {

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

}  // namespace rekap::reader::detail
