#include "reader/digits.h"

#include "reader/atomic_file.h"
#include "reader/model_format.h"

#include <dlib/dnn.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <mutex>
#include <numbers>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <opencv2/imgproc.hpp>
#include <thread>
#include <type_traits>

namespace rekap::reader {

// =============================================================================================
// The network
//
// Two valid 5x5 convolutions (32 and 64 filters), each with batch norm, ReLU and 2x2 max
// pooling, then a 128-unit fully connected layer with dropout and a 10-way output:
//   28x28 -> 24x24x32 -> 12x12x32 -> 8x8x64 -> 4x4x64 -> 128 -> 10
// Training uses bn_con and dropout; inference uses the equivalent network with affine (the
// batch-norm statistics folded into a scale and shift) and multiply (dropout's expectation).
namespace net {

template <long N, long K, typename SUBNET>
using vcon = dlib::add_layer<dlib::con_<N, K, K, 1, 1, 0, 0>, SUBNET>;  // "valid" padding
template <typename SUBNET>
using pool2 = dlib::max_pool<2, 2, 2, 2, SUBNET>;

template <template <typename> class BN, template <typename> class DROP>
using body = dlib::fc<10, DROP<dlib::relu<dlib::fc<128,
    pool2<dlib::relu<BN<vcon<64, 5,
    pool2<dlib::relu<BN<vcon<32, 5,
    dlib::input<dlib::matrix<float>>>>>>>>>>>>>>;

using train_type = dlib::loss_multiclass_log<body<dlib::bn_con, dlib::dropout>>;
using infer_type = dlib::loss_multiclass_log<body<dlib::affine, dlib::multiply>>;
using prob_type = dlib::softmax<infer_type::subnet_type>;

constexpr char kDescription[] =
    "input 28x28 /255 | con5x5x32 valid, bn, relu, maxpool2 | con5x5x64 valid, bn, relu, "
    "maxpool2 | fc128, relu, dropout0.5 | fc10 | softmax";

}  // namespace net

namespace {

// Portable random helpers: the standard distributions are implementation-defined, so these
// are written out to keep a seed's sequence the same on every standard library.
double Uniform01(std::mt19937& rng) { return rng() * (1.0 / 4294967296.0); }
double Uniform(std::mt19937& rng, double lo, double hi) { return lo + (hi - lo) * Uniform01(rng); }
uint32_t UniformInt(std::mt19937& rng, uint32_t n) {  // [0, n), unbiased
  const uint32_t limit = 0xffffffffu - (0xffffffffu % n);
  uint32_t x;
  do x = rng();
  while (x >= limit);
  return x % n;
}
double Normal(std::mt19937& rng) {  // Box-Muller
  const double u1 = 1.0 - Uniform01(rng);
  const double u2 = Uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
}

void ToInput(const uint8_t* img, dlib::matrix<float>& m) {
  m.set_size(kMnistSide, kMnistSide);
  for (int i = 0; i < kMnistPixels; ++i) m(i / kMnistSide, i % kMnistSide) = img[i] / 255.0f;
}
// The network's input for a model that may read deskewed digits.
void ToInput(const uint8_t* img, bool deskew, dlib::matrix<float>& m) {
  if (!deskew) return ToInput(img, m);
  Image28 in;
  std::copy_n(img, kMnistPixels, in.begin());
  const Image28 d = DeskewDigit(in);
  ToInput(d.data(), m);
}

DigitPrediction FromProbabilities(const float* p) {
  DigitPrediction d;
  std::copy(p, p + 10, d.prob.begin());
  int best = 0, second = 1;
  if (p[1] > p[0]) std::swap(best, second);
  for (int k = 2; k < 10; ++k) {
    if (p[k] > p[best]) {
      second = best;
      best = k;
    } else if (p[k] > p[second]) {
      second = k;
    }
  }
  d.digit = best;
  d.confidence = p[best];
  d.runner_up = second;
  d.runner_up_prob = p[second];
  return d;
}

// Re-estimates the batch-norm running statistics of `tnet` on `data` (clean digits) with a
// forward pass. dlib keeps an exponential average whose weight for a new batch is
// 1/(updates+1) with the update count capped at the window size; a window of 1 collapses the
// count, and a window larger than the number of batches then gives a plain average over them
// (the old statistics keep a weight of 1/(batches+1)).
void RecalibrateBatchNorm(net::train_type& tnet, const DigitDataset& data, size_t count,
                          size_t batch, bool deskew) {
  count = std::min(count, data.size());
  if (count < 2) return;
  auto set_window = [&](unsigned long w) {
    dlib::visit_computational_layers(tnet, [&](auto& l) {
      using L = std::decay_t<decltype(l)>;
      if constexpr (std::is_same_v<L, dlib::bn_<dlib::CONV_MODE>> ||
                    std::is_same_v<L, dlib::bn_<dlib::FC_MODE>>) {
        l.set_running_stats_window_size(w);
      }
    });
  };
  std::vector<dlib::matrix<float>> in;
  dlib::resizable_tensor x;
  auto forward = [&](size_t from, size_t n) {
    in.resize(n);
    for (size_t j = 0; j < n; ++j) ToInput(data.images[from + j].data(), deskew, in[j]);
    tnet.to_tensor(in.begin(), in.end(), x);
    tnet.subnet().forward(x);
  };
  batch = std::max<size_t>(batch, 2);
  set_window(1);
  forward(0, std::min(batch, count));
  set_window(static_cast<unsigned long>(count / batch + 2));
  for (size_t i = 0; i + 1 < count; i += batch) forward(i, std::min(batch, count - i));
  set_window(100);  // dlib's default
}

// The per-channel mean and (biased) variance of a convolution's output over a batch.
void ChannelStats(const dlib::tensor& t, std::vector<double>* mean, std::vector<double>* var) {
  const long k = t.k(), plane = t.nr() * t.nc();
  mean->assign(size_t(k), 0);
  var->assign(size_t(k), 0);
  const float* d = t.host();
  for (long n = 0; n < t.num_samples(); ++n)
    for (long c = 0; c < k; ++c) {
      const float* p = d + (n * k + c) * plane;
      double s = 0, ss = 0;
      for (long i = 0; i < plane; ++i) {
        s += p[i];
        ss += double(p[i]) * p[i];
      }
      (*mean)[size_t(c)] += s;
      (*var)[size_t(c)] += ss;
    }
  const double count = double(t.num_samples()) * double(plane);
  for (long c = 0; c < k; ++c) {
    (*mean)[size_t(c)] /= count;
    (*var)[size_t(c)] = std::max(0.0, (*var)[size_t(c)] / count - (*mean)[size_t(c)] * (*mean)[size_t(c)]);
  }
}

// Layer indices, the same in the training network (loss first) and in the model's (softmax
// first): 1 fc10, 4 fc128, 7 bn/affine 64, 8 con 64, 11 bn/affine 32, 12 con 32.
template <size_t I, typename T, typename N>
void AssertLayer(N& n) {
  static_assert(std::is_same_v<std::decay_t<decltype(dlib::layer<I>(n).layer_details())>, T>);
}

// `tnet`'s weights from a trained model (TrainOptions::init): convolutions and fully connected
// layers copied; each batch norm, which the model stores folded as an affine map g'x + b' under
// the statistics it was trained with, set to the scale g' sqrt(var + eps) and shift b' + g' mean
// under the mean and variance its input shows on `digits` (the layers before it already set),
// so that in training mode, normalizing by a batch's own statistics, it maps as the model did.
void InitFromModel(net::train_type& tnet, net::prob_type& model, const std::vector<dlib::matrix<float>>& digits) {
  AssertLayer<1, dlib::fc_<10, dlib::FC_HAS_BIAS>>(tnet);
  AssertLayer<4, dlib::fc_<128, dlib::FC_HAS_BIAS>>(tnet);
  AssertLayer<7, dlib::bn_<dlib::CONV_MODE>>(tnet);
  AssertLayer<11, dlib::bn_<dlib::CONV_MODE>>(tnet);
  AssertLayer<7, dlib::affine_>(model);
  AssertLayer<11, dlib::affine_>(model);
  auto copy = [](dlib::tensor& to, const dlib::tensor& from) {
    if (to.size() != from.size()) throw std::runtime_error("init: the model's layers differ in size");
    std::copy(from.host(), from.host() + from.size(), to.host());
  };
  copy(dlib::layer<12>(tnet).layer_details().get_layer_params(), dlib::layer<12>(model).layer_details().get_layer_params());
  copy(dlib::layer<8>(tnet).layer_details().get_layer_params(), dlib::layer<8>(model).layer_details().get_layer_params());
  copy(dlib::layer<4>(tnet).layer_details().get_layer_params(), dlib::layer<4>(model).layer_details().get_layer_params());
  copy(dlib::layer<1>(tnet).layer_details().get_layer_params(), dlib::layer<1>(model).layer_details().get_layer_params());
  dlib::resizable_tensor x;
  tnet.to_tensor(digits.begin(), digits.end(), x);
  auto unfold = [&](auto& bn_layer, auto& conv_layer, const dlib::affine_& folded) {
    conv_layer.forward(x);  // the layers up to the convolution (the batch norms before it set)
    std::vector<double> mean, var;
    ChannelStats(conv_layer.get_output(), &mean, &var);
    // affine_ keeps its scale and shift outside its (empty) trainable parameters.
    const auto gi = folded.get_gamma();
    const auto bi = folded.get_beta();
    const dlib::tensor& g = gi.get();
    const dlib::tensor& b = bi.get();
    dlib::tensor& params = bn_layer.layer_details().get_layer_params();  // [gamma, beta]
    const size_t k = mean.size();
    if (params.size() != 2 * k || g.size() != k || b.size() != k)
      throw std::runtime_error("init: batch norm sizes differ");
    const double eps = bn_layer.layer_details().get_eps();
    float* gb = params.host();
    for (size_t c = 0; c < k; ++c) {
      gb[c] = float(g.host()[c] * std::sqrt(var[c] + eps));
      gb[k + c] = float(b.host()[c] + g.host()[c] * mean[c]);
    }
  };
  unfold(dlib::layer<11>(tnet), dlib::layer<12>(tnet), dlib::layer<11>(model).layer_details());
  unfold(dlib::layer<7>(tnet), dlib::layer<8>(tnet), dlib::layer<7>(model).layer_details());
}

int OddAtLeast(int k, int min) {
  k = std::max(k, min);
  return k % 2 == 0 ? k + 1 : k;
}

}  // namespace

// =============================================================================================
// Preprocessing

cv::Mat ToMat(const Image28& img) {
  cv::Mat m(kMnistSide, kMnistSide, CV_8UC1);
  std::copy(img.begin(), img.end(), m.ptr<uint8_t>(0));
  return m;
}

Image28 FromMat(const cv::Mat& m28) {
  Image28 out{};
  CV_Assert(m28.rows == kMnistSide && m28.cols == kMnistSide && m28.type() == CV_8UC1);
  for (int r = 0; r < kMnistSide; ++r) {
    const uint8_t* row = m28.ptr<uint8_t>(r);
    std::copy(row, row + kMnistSide, out.begin() + r * kMnistSide);
  }
  return out;
}

namespace {

// Mean centre of mass of the MNIST training digits in pixel-index coordinates (measured over
// the 60,000 training images: x 14.007, y 13.996). Normalized crops are centred on it.
constexpr double kMnistComX = 14.0;
constexpr double kMnistComY = 14.0;

// `ink` (CV_8UC1) as MNIST's digits are made: its bounding box scaled (aspect kept) to fit
// fit_box x fit_box and centred by mass in 28 x 28; nullopt where it holds no ink.
std::optional<Image28> FitAndCentre(const cv::Mat& ink, int fit_box) {
  const cv::Rect ibox = cv::boundingRect(ink);
  if (ibox.area() == 0) return std::nullopt;
  const double scale = static_cast<double>(fit_box) / std::max(ibox.width, ibox.height);
  const cv::Size sz(std::max(1, static_cast<int>(std::lround(ibox.width * scale))),
                    std::max(1, static_cast<int>(std::lround(ibox.height * scale))));
  cv::Mat patch;
  cv::resize(ink(ibox), patch, sz, 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const cv::Moments mo = cv::moments(patch, false);
  if (mo.m00 <= 0) return std::nullopt;
  const double cx = mo.m10 / mo.m00, cy = mo.m01 / mo.m00;
  const cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, kMnistComX - cx, 0, 1, kMnistComY - cy);
  cv::Mat placed;
  cv::warpAffine(patch, placed, shift, cv::Size(kMnistSide, kMnistSide), cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT, cv::Scalar(0));
  return FromMat(placed);
}

// Clears, in the top and bottom bands of a binary mask, rows that belong to a straight line
// running along (almost) the whole width: the remains of the printed box border.
void RemoveHorizontalBorderLines(cv::Mat& mask) {
  const int h = mask.rows, w = mask.cols;
  const int band = std::max(2, static_cast<int>(std::lround(0.15 * h)));
  for (const int step : {1, -1}) {
    std::vector<uint8_t> cover(w, 0);
    std::vector<int> line_rows;
    for (int i = 0; i < std::min(band, h); ++i) {
      const int r = step > 0 ? i : h - 1 - i;
      if (cv::countNonZero(mask.row(r)) < 0.3 * w) continue;
      line_rows.push_back(r);
      const uint8_t* p = mask.ptr<uint8_t>(r);
      for (int c = 0; c < w; ++c) cover[c] |= p[c];
    }
    const auto covered = std::count_if(cover.begin(), cover.end(), [](uint8_t v) { return v; });
    if (line_rows.empty() || covered < 0.85 * w) continue;
    for (const int r : line_rows) {
      for (int rr = std::max(0, r - 1); rr <= std::min(h - 1, r + 1); ++rr) mask.row(rr).setTo(0);
    }
  }
}

// The same for all four sides.
void RemoveBorderLines(cv::Mat& mask) {
  RemoveHorizontalBorderLines(mask);
  cv::Mat t = mask.t();
  RemoveHorizontalBorderLines(t);
  mask = t.t();
}

// Darkness of every pixel of `gray`, 0..255: how much darker than the local paper it is. The paper
// level is a morphological closing (a max filter then a min filter) with a kernel wider than
// any stroke, so uneven light is flattened.
cv::Mat Darkness(const cv::Mat& gray) {
  const int h = gray.rows, w = gray.cols;
  const int k = OddAtLeast(static_cast<int>(0.4 * std::min(h, w)), 3);
  cv::Mat paper;
  cv::morphologyEx(gray, paper, cv::MORPH_CLOSE,
                   cv::getStructuringElement(cv::MORPH_RECT, cv::Size(k, k)));
  // diff * 255 / paper by multiplying with a rounded-up reciprocal: exact, since
  // diff * 255 < 2^16 and the reciprocal's error times that stays below 2^32.
  static const std::array<uint64_t, 256> kReciprocal = [] {
    std::array<uint64_t, 256> t{};
    for (int p = 0; p < 256; ++p) {
      const uint64_t d = static_cast<uint64_t>(std::max(p, 64));
      t[p] = ((uint64_t{1} << 32) + d - 1) / d;
    }
    return t;
  }();
  cv::Mat dark(h, w, CV_8UC1);
  for (int r = 0; r < h; ++r) {
    const uint8_t* g = gray.ptr<uint8_t>(r);
    const uint8_t* p = paper.ptr<uint8_t>(r);
    uint8_t* d = dark.ptr<uint8_t>(r);
    for (int c = 0; c < w; ++c) {
      const uint64_t diff = p[c] > g[c] ? static_cast<uint64_t>(p[c] - g[c]) : 0;
      d[c] = static_cast<uint8_t>(std::min<uint64_t>(255, (diff * 255 * kReciprocal[p[c]]) >> 32));
    }
  }
  return dark;
}

// The grain of a crop's darkness: the standard deviation of its pixel-to-pixel noise, estimated
// from the absolute responses to Immerkaer's mask (the difference of two Laplacians, blind to
// flat paper, to even light and, mostly, to straight stroke edges; its response to white noise
// of deviation s has deviation 6 s). Only the lower three quarters of the responses count: the
// strokes' own edges, a minority of the pixels, stay out of the estimate.
double GrainSigma(const cv::Mat& dark) {
  if (dark.rows < 3 || dark.cols < 3) return 0;
  cv::Mat lap;
  cv::filter2D(dark, lap, CV_16S, cv::Matx33f(1, -2, 1, -2, 4, -2, 1, -2, 1), cv::Point(-1, -1), 0,
               cv::BORDER_REPLICATE);
  std::vector<int> a;
  a.reserve(static_cast<size_t>((dark.rows - 2) * (dark.cols - 2)));
  for (int r = 1; r < dark.rows - 1; ++r) {
    const int16_t* l = lap.ptr<int16_t>(r);
    for (int c = 1; c < dark.cols - 1; ++c) a.push_back(std::abs(l[c]));
  }
  // The mean of the lower three quarters: for a Gaussian of deviation d, 0.5147 d. (The median
  // alone would do, but the responses are integers: it moves in steps of 0.25.)
  auto q3 = a.begin() + long(a.size() * 3 / 4);
  std::nth_element(a.begin(), q3, a.end());
  const double sum = std::accumulate(a.begin(), q3, 0.0);
  const long n = q3 - a.begin();
  return n > 0 ? sum / double(n) / (0.5147 * 6.0) : 0;
}

}  // namespace

double StrokeWidth(const cv::Mat& mask) {
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_LIST, cv::CHAIN_APPROX_NONE);
  double perimeter = 0;
  for (const auto& c : contours) perimeter += cv::arcLength(c, true);
  return perimeter > 0 ? 2.0 * cv::countNonZero(mask) / perimeter : 1.0;
}

namespace {

// A box crop as NormalizeDigitCrop works on it: checked, grey, and at most 256 px on its longer
// side; *to_crop is the factor from those pixels back to the crop's.
Result<cv::Mat> WorkingGray(const cv::Mat& crop, double* to_crop) {
  if (crop.empty()) return InvalidArgument("potongan kotak kosong / empty crop image");
  if (crop.depth() != CV_8U) {
    return InvalidArgument("potongan harus 8-bit / crop must be 8-bit, got depth " +
                           std::to_string(crop.depth()));
  }
  if (crop.rows < 8 || crop.cols < 8) {
    return InvalidArgument("potongan terlalu kecil / crop too small: " +
                           std::to_string(crop.cols) + "x" + std::to_string(crop.rows) +
                           ", need at least 8x8");
  }
  cv::Mat gray;
  switch (crop.channels()) {
    case 1: gray = crop.clone(); break;
    case 3: cv::cvtColor(crop, gray, cv::COLOR_BGR2GRAY); break;
    case 4: cv::cvtColor(crop, gray, cv::COLOR_BGRA2GRAY); break;
    default:
      return InvalidArgument("potongan harus 1, 3 atau 4 kanal / crop must have 1, 3 or 4 "
                             "channels, got " + std::to_string(crop.channels()));
  }
  // Bound the work: large crops are reduced first (a box's digit needs no more than this).
  *to_crop = 1.0;
  constexpr int kMaxSide = 256;
  if (std::max(gray.rows, gray.cols) > kMaxSide) {
    const double f = static_cast<double>(kMaxSide) / std::max(gray.rows, gray.cols);
    cv::resize(gray, gray, cv::Size(), f, f, cv::INTER_AREA);
    *to_crop = 1.0 / f;
  }
  return gray;
}

}  // namespace

double CropGrain(const cv::Mat& crop) {
  double to_crop = 1;
  const Result<cv::Mat> gray = WorkingGray(crop, &to_crop);
  return gray.ok() ? GrainSigma(Darkness(*gray)) : 0;
}

Result<NormalizedDigit> NormalizeDigitCrop(const cv::Mat& crop, const NormalizeOptions& opt) {
  double to_crop = 1.0;  // factor from working coordinates back to crop coordinates
  Result<cv::Mat> working = WorkingGray(crop, &to_crop);
  if (!working.ok()) return working.status();
  const cv::Mat gray = std::move(*working);
  const int h = gray.rows, w = gray.cols;
  NormalizedDigit out;

  // 1. Flatten the lighting (Darkness).
  cv::Mat dark = Darkness(gray);
  // 1b. Grain. A photo taken in dim light is amplified by the camera and shows the paper as a
  // field of dark and light specks; a small photo's JPEG turns them into blotches about as wide as
  // a stroke. Thresholded, they grow onto the digit or fill the box, and the CNN reads an 8 (87
  // read as 887). A crop with more grain than a usual photo shows is smoothed before its paper
  // and darkness are measured again, in proportion to the grain and never by more than a small
  // share of the crop (the strokes must stay).
  out.grain = opt.grain >= 0 ? opt.grain : GrainSigma(dark);
  if (opt.grain_limit > 0 && out.grain > opt.grain_limit) {
    cv::Mat quiet;
    cv::GaussianBlur(gray, quiet, cv::Size(),
                     std::min(opt.grain_blur * out.grain, opt.grain_blur_max * std::min(h, w)));
    dark = Darkness(quiet);
  }

  // 2. Threshold a lightly smoothed copy (Otsu, but never below half the minimum contrast).
  cv::Mat smooth;
  cv::GaussianBlur(dark, smooth, cv::Size(3, 3), 0);
  double max_dark = 0;
  cv::minMaxLoc(smooth, nullptr, &max_dark);
  if (max_dark < opt.min_contrast) return out;  // blank paper
  cv::Mat mask;
  const double otsu = cv::threshold(smooth, mask, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  const double t = std::max(otsu, opt.min_contrast * 0.5);
  cv::threshold(smooth, mask, t, 255, cv::THRESH_BINARY);

  // 3. Cleanup: border lines along the edges, then connected components that are specks, too
  // faint, or border fragments in the outer band.
  RemoveBorderLines(mask);
  // Optionally (weak_ratio) the fainter stretches of the strokes: pixels above a lower
  // threshold, in regions that hold ink above the main one.
  cv::Mat weak_only;
  const double tl = std::max(opt.weak_ratio * t, opt.min_contrast * 0.5);
  if (opt.weak_ratio > 0 && tl < t) {
    cv::Mat weak;
    cv::threshold(smooth, weak, tl, 255, cv::THRESH_BINARY);
    RemoveBorderLines(weak);
    weak |= mask;
    cv::Mat wl;
    const int wn = cv::connectedComponents(weak, wl, 8, CV_32S);
    std::vector<uint8_t> has_ink(static_cast<size_t>(wn), 0);
    for (int r = 0; r < h; ++r) {
      const int* l = wl.ptr<int>(r);
      const uint8_t* m = mask.ptr<uint8_t>(r);
      for (int c = 0; c < w; ++c)
        if (m[c]) has_ink[static_cast<size_t>(l[c])] = 1;
    }
    weak_only = cv::Mat::zeros(h, w, CV_8UC1);
    for (int r = 0; r < h; ++r) {
      const int* l = wl.ptr<int>(r);
      const uint8_t* m = mask.ptr<uint8_t>(r);
      uint8_t* o = weak_only.ptr<uint8_t>(r);
      for (int c = 0; c < w; ++c)
        if (!m[c] && l[c] > 0 && has_ink[static_cast<size_t>(l[c])]) o[c] = 255;
    }
    mask |= weak_only;
  }
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
  std::vector<int> peak(n, 0);
  for (int r = 0; r < h; ++r) {
    const int* l = labels.ptr<int>(r);
    const uint8_t* s = smooth.ptr<uint8_t>(r);
    for (int c = 0; c < w; ++c) peak[l[c]] = std::max<int>(peak[l[c]], s[c]);
  }
  int largest = 0;
  for (int i = 1; i < n; ++i) largest = std::max(largest, stats.at<int>(i, cv::CC_STAT_AREA));
  const int min_area = std::max(3, static_cast<int>(std::lround(0.0008 * h * w)));
  const int band_y = std::max(2, static_cast<int>(std::lround(0.15 * h)));
  const int band_x = std::max(2, static_cast<int>(std::lround(0.15 * w)));
  // A piece of the printed border left inside the crop (the box a little off, its line's blur
  // wider than the inset): within the outer band along one side, within a few px of that side
  // and at least twice as long along it as across. A larger piece of it than the fragment test
  // below drops is kept when the digit's own strokes are thin and broken into pieces (a
  // ballpoint), and the CNN read it as a stroke (a 3 beside a bar read as 1). Dropped below,
  // unless nothing else is left (a 1 written along the side).
  const int near_x = std::max(2, static_cast<int>(std::lround(0.04 * w)));
  const int near_y = std::max(2, static_cast<int>(std::lround(0.04 * h)));
  std::vector<uint8_t> keep(n, 0), along_side(n, 0);
  for (int i = 1; i < n; ++i) {
    const int x = stats.at<int>(i, cv::CC_STAT_LEFT), y = stats.at<int>(i, cv::CC_STAT_TOP);
    const int bw = stats.at<int>(i, cv::CC_STAT_WIDTH), bh = stats.at<int>(i, cv::CC_STAT_HEIGHT);
    const int area = stats.at<int>(i, cv::CC_STAT_AREA);
    if (area < min_area || area < 0.04 * largest) continue;  // specks, dust
    if (peak[i] < opt.min_contrast) continue;                // too faint to be ink
    const bool in_band = y + bh <= band_y || y >= h - band_y || x + bw <= band_x || x >= w - band_x;
    const bool touches = x == 0 || y == 0 || x + bw == w || y + bh == h;
    if (in_band && touches && area < 0.25 * largest) continue;  // border fragment
    keep[i] = 1;
    const bool upright = bh >= 2 * bw, level = bw >= 2 * bh;
    along_side[i] = (upright && ((x <= near_x && x + bw <= band_x) || (x + bw >= w - near_x && x >= w - band_x))) ||
                    (level && ((y <= near_y && y + bh <= band_y) || (y + bh >= h - near_y && y >= h - band_y)));
  }
  // A piece's extent: its longer side over the crop's.
  auto extent = [&](int i) {
    return double(std::max(stats.at<int>(i, cv::CC_STAT_WIDTH), stats.at<int>(i, cv::CC_STAT_HEIGHT))) /
           std::max(h, w);
  };
  bool inner = false;  // a stroke kept that is not along a side
  for (int i = 1; i < n; ++i) inner |= keep[i] && !along_side[i] && extent(i) >= opt.min_stroke_extent;
  if (inner) {
    for (int i = 1; i < n; ++i)
      if (along_side[i]) keep[i] = 0;
  }
  for (int i = 1; i < n; ++i)
    if (keep[i]) out.stroke_extent = std::max(out.stroke_extent, extent(i));
  cv::Mat kept = cv::Mat::zeros(h, w, CV_8UC1);
  int ink_area = 0;
  for (int r = 0; r < h; ++r) {
    const int* l = labels.ptr<int>(r);
    uint8_t* m = kept.ptr<uint8_t>(r);
    for (int c = 0; c < w; ++c) {
      if (keep[l[c]]) {
        m[c] = 255;
        ++ink_area;
      }
    }
  }
  if (ink_area == 0) return out;
  const cv::Rect box = cv::boundingRect(kept);
  out.ink_fraction = static_cast<double>(ink_area) / (h * w);
  out.ink_box = cv::Rect(static_cast<int>(box.x * to_crop), static_cast<int>(box.y * to_crop),
                         static_cast<int>(std::ceil(box.width * to_crop)),
                         static_cast<int>(std::ceil(box.height * to_crop)));
  if (out.ink_fraction < opt.min_ink_fraction ||
      std::max(box.width, box.height) < opt.min_ink_extent * std::max(h, w) ||
      out.stroke_extent < opt.min_stroke_extent) {
    return out;  // a dot, a smudge or scattered specks, not a digit
  }

  // 4. Ink intensity (MNIST convention: 255 = full ink), limited to the kept ink and a one-pixel
  // rim (for the anti-aliased edge).
  std::vector<uint8_t> ink_values;
  ink_values.reserve(ink_area);
  for (int r = 0; r < h; ++r) {
    const uint8_t* m = kept.ptr<uint8_t>(r);
    const uint8_t* d = dark.ptr<uint8_t>(r);
    for (int c = 0; c < w; ++c) if (m[c]) ink_values.push_back(d[c]);
  }
  auto nth = ink_values.begin() + ink_values.size() / 2;
  std::nth_element(ink_values.begin(), nth, ink_values.end());
  const double full = std::max<double>(*nth, t + 1);
  const double zero = t * 0.5;
  cv::Mat rim;
  cv::dilate(kept, rim, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3)));
  std::array<uint8_t, 256> ink_of{};  // darkness -> ink, the same formula for every pixel
  for (int v = 0; v < 256; ++v) {
    ink_of[v] = static_cast<uint8_t>(std::clamp((v - zero) * 255.0 / (full - zero), 0.0, 255.0));
  }
  cv::Mat ink = cv::Mat::zeros(h, w, CV_8UC1);
  for (int r = 0; r < h; ++r) {
    const uint8_t* m = rim.ptr<uint8_t>(r);
    const uint8_t* d = dark.ptr<uint8_t>(r);
    uint8_t* o = ink.ptr<uint8_t>(r);
    for (int c = 0; c < w; ++c) o[c] = m[c] ? ink_of[d[c]] : 0;
  }
  if (!weak_only.empty()) {  // the fainter stretches (and their rim) as ink of their own level
    cv::Mat wr;
    cv::dilate(weak_only, wr, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3)));
    const double z = tl * 0.5;
    for (int r = 0; r < h; ++r) {
      const uint8_t* m = wr.ptr<uint8_t>(r);
      const uint8_t* d = dark.ptr<uint8_t>(r);
      uint8_t* o = ink.ptr<uint8_t>(r);
      for (int c = 0; c < w; ++c)
        if (m[c])
          o[c] = std::max<uint8_t>(o[c], static_cast<uint8_t>(std::clamp((d[c] - z) * 255.0 / std::max(1.0, full - z), 0.0, 255.0)));
    }
  }

  // 5. Stroke width (2 * area / perimeter of the kept ink), normalized towards the target
  // width it will have after scaling to the fit box.
  out.stroke_width = StrokeWidth(kept);
  const double scale0 = static_cast<double>(opt.fit_box) / std::max(box.width, box.height);
  const double scaled_stroke = out.stroke_width * scale0;
  if (opt.target_stroke > 0 && scaled_stroke < 0.7 * opt.target_stroke) {
    const int radius = static_cast<int>(
        std::lround((opt.target_stroke / scale0 - out.stroke_width) / 2.0));
    if (radius >= 1) {
      cv::dilate(ink, ink, cv::getStructuringElement(cv::MORPH_ELLIPSE,
                                                     cv::Size(2 * radius + 1, 2 * radius + 1)));
    }
  } else if (opt.target_stroke > 0 && scaled_stroke > 2.2 * opt.target_stroke) {
    const int radius = static_cast<int>(
        std::lround((out.stroke_width - 1.6 * opt.target_stroke / scale0) / 2.0));
    if (radius >= 1) {
      cv::Mat thinner;
      cv::erode(ink, thinner, cv::getStructuringElement(cv::MORPH_ELLIPSE,
                                                        cv::Size(2 * radius + 1, 2 * radius + 1)));
      if (cv::countNonZero(thinner) > 0.3 * cv::countNonZero(ink)) ink = thinner;
    }
  }

  // 6. Scale the ink's bounding box to fit fit_box x fit_box (aspect kept) and centre by mass.
  const std::optional<Image28> fitted = FitAndCentre(ink, opt.fit_box);
  if (!fitted) return out;
  out.pixels = *fitted;
  out.empty = false;
  return out;
}

// =============================================================================================
// Augmentation

Image28 AugmentDigit(const Image28& in, std::mt19937& rng, const AugmentOptions& opt) {
  if (Uniform01(rng) >= opt.probability) return in;
  const cv::Mat src = ToMat(in);

  // Geometry: x' = c + t + R * Shear * S * (x - c), about the image centre.
  const double angle = Uniform(rng, -opt.max_rotation_deg, opt.max_rotation_deg) *
                       std::numbers::pi / 180.0;
  const double scale = Uniform(rng, opt.min_scale, opt.max_scale);
  const double shear = Uniform(rng, -opt.max_shear, opt.max_shear);
  const double tx = Uniform(rng, -opt.max_translate, opt.max_translate);
  const double ty = Uniform(rng, -opt.max_translate, opt.max_translate);
  const double ca = std::cos(angle), sa = std::sin(angle);
  // R * [1 shear; 0 1] * scale
  const double a = ca * scale, b = (ca * shear - sa) * scale;
  const double c = sa * scale, d = (sa * shear + ca) * scale;
  const double cc = (kMnistSide - 1) / 2.0;
  const cv::Mat m = (cv::Mat_<double>(2, 3) << a, b, cc + tx - (a * cc + b * cc),  //
                     c, d, cc + ty - (c * cc + d * cc));
  cv::Mat img;
  cv::warpAffine(src, img, m, src.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));

  if (Uniform01(rng) < opt.elastic_probability) {
    const double alpha = Uniform(rng, opt.elastic_min_alpha, opt.elastic_max_alpha);
    cv::Mat dx(kMnistSide, kMnistSide, CV_32F), dy(kMnistSide, kMnistSide, CV_32F);
    for (cv::Mat* f : {&dx, &dy}) {
      float* p = f->ptr<float>(0);
      for (int i = 0; i < kMnistPixels; ++i) p[i] = static_cast<float>(Uniform(rng, -1, 1));
      cv::GaussianBlur(*f, *f, cv::Size(0, 0), opt.elastic_sigma, opt.elastic_sigma, cv::BORDER_REFLECT);
    }
    cv::Mat mx(kMnistSide, kMnistSide, CV_32F), my(kMnistSide, kMnistSide, CV_32F);
    for (int r = 0; r < kMnistSide; ++r)
      for (int c = 0; c < kMnistSide; ++c) {
        mx.at<float>(r, c) = static_cast<float>(c + alpha * dx.at<float>(r, c));
        my.at<float>(r, c) = static_cast<float>(r + alpha * dy.at<float>(r, c));
      }
    cv::Mat warped;
    cv::remap(img, warped, mx, my, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
    img = warped;
  }

  // Stroke thickness: markers are thicker than MNIST's pens; ballpoints thinner.
  if (Uniform01(rng) < opt.thickness_probability) {
    const bool thicker = Uniform01(rng) < 0.65;
    const int ks = thicker && Uniform01(rng) < 0.4 ? 3 : 2;
    const cv::Mat kernel = cv::getStructuringElement(ks == 3 ? cv::MORPH_ELLIPSE : cv::MORPH_RECT,
                                                     cv::Size(ks, ks));
    cv::Mat changed;
    if (thicker) {
      cv::dilate(img, changed, kernel);
      img = changed;
    } else {
      cv::erode(img, changed, kernel);
      // Do not erase thin digits: keep the erosion only if most of the ink survives.
      if (cv::sum(changed)[0] > 0.45 * cv::sum(img)[0]) img = changed;
    }
  }

  // A fragment of the printed box border along one edge.
  if (Uniform01(rng) < opt.border_probability) {
    const int edge = static_cast<int>(UniformInt(rng, 4));
    const int offset = static_cast<int>(UniformInt(rng, 3));
    const int len = 8 + static_cast<int>(UniformInt(rng, 21));
    const int start = static_cast<int>(UniformInt(rng, kMnistSide - len + 1));
    const int thick = 1 + static_cast<int>(UniformInt(rng, 2));
    const int value = 120 + static_cast<int>(UniformInt(rng, 136));
    const int pos = edge % 2 == 0 ? offset : kMnistSide - 1 - offset;
    cv::Point p0, p1;
    if (edge < 2) {
      p0 = {start, pos};
      p1 = {start + len - 1, pos};
    } else {
      p0 = {pos, start};
      p1 = {pos, start + len - 1};
    }
    cv::line(img, p0, p1, cv::Scalar(value), thick, cv::LINE_8);
  }

  if (Uniform01(rng) < opt.blur_probability) {
    const double sigma = Uniform(rng, 0.3, 0.8);
    cv::GaussianBlur(img, img, cv::Size(3, 3), sigma);
  }
  if (Uniform01(rng) < opt.noise_probability) {
    const double sigma = Uniform(rng, 2, 12);
    // Only on the ink and its rim: NormalizeDigitCrop leaves the background exactly 0.
    uint8_t* p = img.ptr<uint8_t>(0);
    for (int i = 0; i < kMnistPixels; ++i) {
      if (p[i] == 0) continue;
      p[i] = static_cast<uint8_t>(std::clamp(p[i] + sigma * Normal(rng), 1.0, 255.0));
    }
  }
  return FromMat(img);
}

namespace {

// Ink of a stroke of width `w` along the segment a-b, anti-aliased over a pixel, kept where the
// image is already darker.
void DrawStroke(cv::Mat& img, cv::Point2d a, cv::Point2d b, double w) {
  const cv::Point2d d = b - a;
  const double len2 = d.dot(d);
  for (int y = 0; y < img.rows; ++y) {
    uint8_t* row = img.ptr<uint8_t>(y);
    for (int x = 0; x < img.cols; ++x) {
      const cv::Point2d p(x, y);
      const double t = len2 > 0 ? std::clamp((p - a).dot(d) / len2, 0.0, 1.0) : 0.0;
      const double dist = cv::norm(p - (a + t * d));
      const double v = 255.0 * std::clamp(w / 2 + 0.5 - dist, 0.0, 1.0);
      row[x] = std::max(row[x], static_cast<uint8_t>(v));
    }
  }
}

// The centre of the ink (> 127) in rows [y0, y1], or -1 where there is none.
double InkCentreX(const cv::Mat& img, int y0, int y1) {
  double s = 0, n = 0;
  for (int y = std::max(0, y0); y <= std::min(img.rows - 1, y1); ++y)
    for (int x = 0; x < img.cols; ++x)
      if (img.at<uint8_t>(y, x) > 127) s += x, n += 1;
  return n > 0 ? s / n : -1;
}

// A digit on a canvas with half its side of margin all round, so that strokes drawn beyond its
// ink stay on it, and the first and last rows of its ink (> 127). Returns false where it has no
// ink or is under 8 px tall.
bool PadDigit(const Image28& d, cv::Mat* big, int* top, int* bottom) {
  constexpr int kMargin = kMnistSide / 2;
  cv::copyMakeBorder(ToMat(d), *big, kMargin, kMargin, kMargin, kMargin, cv::BORDER_CONSTANT, cv::Scalar(0));
  *top = -1, *bottom = -1;
  for (int y = 0; y < big->rows; ++y) {
    double mx = 0;
    cv::minMaxLoc(big->row(y), nullptr, &mx);
    if (mx > 127) {
      if (*top < 0) *top = y;
      *bottom = y;
    }
  }
  return *top >= 0 && *bottom - *top + 1 >= 8;
}

// The median count of ink pixels (> 127) in the rows [y0, y1] that have any: a stroke's width
// where one stroke crosses them; -1 where none has ink.
double MedianInkRun(const cv::Mat& img, int y0, int y1) {
  std::vector<int> widths;
  for (int y = y0; y <= y1; ++y) {
    const int n = cv::countNonZero(img.row(y) > 127);
    if (n > 0) widths.push_back(n);
  }
  if (widths.empty()) return -1;
  std::nth_element(widths.begin(), widths.begin() + widths.size() / 2, widths.end());
  return widths[widths.size() / 2];
}

}  // namespace

Image28 FlagOne(const Image28& one, double flag_length, double flag_deg, double base_width) {
  cv::Mat big;
  int top, bottom;
  if (!PadDigit(one, &big, &top, &bottom)) return one;
  const int h = bottom - top + 1;
  // The upright's width: the median run of ink across its middle half.
  const double run = MedianInkRun(big, top + h / 4, bottom - h / 4);
  if (run < 0) return one;
  const double w = std::clamp(run, 1.5, 5.0);
  const double xt = InkCentreX(big, top, top + 1), xb = InkCentreX(big, bottom - 1, bottom);
  if (xt < 0 || xb < 0) return one;
  const double a = flag_deg * std::numbers::pi / 180.0, len = flag_length * h;
  const cv::Point2d tip(xt, top + w / 2);
  DrawStroke(big, tip, tip + cv::Point2d(-len * std::cos(a), len * std::sin(a)), w);
  if (base_width > 0) {
    const double half = base_width * h / 2;
    DrawStroke(big, {xb - half, bottom - w / 2}, {xb + half, bottom - w / 2}, w);
  }
  const std::optional<Image28> fitted = FitAndCentre(big, 20);  // as MNIST's digits are
  return fitted ? *fitted : one;
}

Image28 CrossSeven(const Image28& seven, double bar_length, double height, double tilt_deg) {
  cv::Mat big;
  int top, bottom;
  if (!PadDigit(seven, &big, &top, &bottom)) return seven;
  const int h = bottom - top + 1;
  // The stroke's width: the median run of ink across the stem's lower half (below the bar of
  // the 7's top, above its foot).
  const double run = MedianInkRun(big, top + h / 2, bottom - h / 8);
  if (run < 0) return seven;
  const double w = std::clamp(run, 1.5, 5.0);
  const int yc = top + int(std::lround(std::clamp(height, 0.2, 0.8) * (h - 1)));
  const double xc = InkCentreX(big, yc - 1, yc + 1);
  if (xc < 0) return seven;
  const double a = tilt_deg * std::numbers::pi / 180.0, half = bar_length * h / 2;
  const cv::Point2d d(half * std::cos(a), -half * std::sin(a));
  DrawStroke(big, cv::Point2d(xc, yc) - d, cv::Point2d(xc, yc) + d, w);
  const std::optional<Image28> fitted = FitAndCentre(big, 20);  // as MNIST's digits are
  return fitted ? *fitted : seven;
}

Image28 DeskewDigit(const Image28& in) {
  double m = 0, sx = 0, sy = 0;
  for (int y = 0; y < kMnistSide; ++y)
    for (int x = 0; x < kMnistSide; ++x) {
      const double v = in[size_t(y * kMnistSide + x)];
      m += v, sx += v * x, sy += v * y;
    }
  if (m <= 0) return in;
  const double cx = sx / m, cy = sy / m;
  double mu11 = 0, mu02 = 0;
  for (int y = 0; y < kMnistSide; ++y)
    for (int x = 0; x < kMnistSide; ++x) {
      const double v = in[size_t(y * kMnistSide + x)];
      mu11 += v * (x - cx) * (y - cy), mu02 += v * (y - cy) * (y - cy);
    }
  if (mu02 < 1e-6 * m) return in;
  const double alpha = std::clamp(mu11 / mu02, -1.0, 1.0);
  // Output pixel (x, y) takes the input at (x + alpha (y - cy), y): the slant about the centre
  // of mass is taken out and the centre stays where it was.
  cv::Mat src(kMnistSide, kMnistSide, CV_8U, const_cast<uint8_t*>(in.data())), dst;
  const cv::Matx23d M(1, alpha, -alpha * cy, 0, 1, 0);
  cv::warpAffine(src, dst, M, src.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT, 0);
  return FromMat(dst);
}

// =============================================================================================
// The model

struct DigitModel::Impl {
  std::mutex mu;
  net::prob_type probs;
  bool deskew = false;  // the network reads deskewed digits
};

DigitModel::DigitModel() : impl_(std::make_unique<Impl>()) {}
DigitModel::~DigitModel() = default;
DigitModel::DigitModel(DigitModel&&) noexcept = default;
DigitModel& DigitModel::operator=(DigitModel&&) noexcept = default;

Result<DigitModel> DigitModel::Load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound("berkas model tidak ditemukan / model file not found: " + path);
  }
  DigitModel model;
  try {
    net::infer_type inet;
    auto in = dlib::deserialize(path);
    auto deskew = model_format::ReadHeader(in, path);
    if (!deskew.ok()) return deskew.status();
    in >> inet;
    model.impl_->probs.subnet() = inet.subnet();
    model.impl_->deskew = *deskew;
  } catch (const std::exception& e) {
    return DataLoss("berkas model rusak / corrupt model file " + path + ": " + e.what());
  }
  return model;
}

Status DigitModel::Save(const std::string& path) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  try {
    net::infer_type inet;
    inet.subnet() = impl_->probs.subnet();
    inet.clean();
    // A network without preprocessing is written as version 1, byte for byte as before.
    // Written beside and renamed over: a model file is whole or as it was.
    std::ostringstream buf;  // what dlib::serialize(path) << ... writes, checked when written
    dlib::serialize(std::string(model_format::kTag), buf);
    dlib::serialize(impl_->deskew ? model_format::kVersionInput : model_format::kVersion, buf);
    dlib::serialize(std::string(net::kDescription), buf);
    if (impl_->deskew) dlib::serialize(std::string(model_format::kInputDeskew), buf);
    dlib::serialize(inet, buf);
    if (!WriteFileAtomic(path, std::move(buf).str()).ok())
      return Unavailable("tidak dapat menulis model / cannot write model " + path);
  } catch (const std::exception& e) {
    return Unavailable("tidak dapat menulis model / cannot write model " + path + ": " +
                       e.what());
  }
  return Status::Ok();
}

DigitPrediction DigitModel::Classify(const uint8_t* img28x28) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  dlib::matrix<float> m;
  ToInput(img28x28, impl_->deskew, m);
  const dlib::matrix<float, 10, 1> p = dlib::mat(impl_->probs(m));
  return FromProbabilities(&p(0));
}

std::vector<DigitPrediction> DigitModel::ClassifyBatch(std::span<const Image28> images) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<DigitPrediction> out;
  out.reserve(images.size());
  constexpr size_t kChunk = 256;
  std::vector<dlib::matrix<float>> in;
  dlib::resizable_tensor x;
  for (size_t i = 0; i < images.size(); i += kChunk) {
    const size_t n = std::min(kChunk, images.size() - i);
    in.resize(n);
    for (size_t j = 0; j < n; ++j) ToInput(images[i + j].data(), impl_->deskew, in[j]);
    impl_->probs.to_tensor(in.begin(), in.end(), x);
    const dlib::tensor& y = impl_->probs.forward(x);
    const float* p = y.host();
    for (size_t j = 0; j < n; ++j) out.push_back(FromProbabilities(p + 10 * j));
  }
  return out;
}

double DigitModel::Accuracy(const DigitDataset& data) const {
  if (data.size() == 0) return 0;
  const std::vector<DigitPrediction> pred = ClassifyBatch(data.images);
  size_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i].digit == data.labels[i];
  return static_cast<double>(correct) / data.size();
}

size_t DigitModel::ParameterCount() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return dlib::count_parameters(impl_->probs);
}

std::string DigitModel::Describe() const { return net::kDescription; }

bool DigitModel::deskew() const { return impl_->deskew; }

Result<DigitModel> DigitModel::Train(const DigitDataset& train, const TrainOptions& o) {
  if (train.size() == 0 || train.images.size() != train.labels.size()) {
    return InvalidArgument("data latih kosong atau tidak cocok / empty or mismatched training "
                           "data");
  }
  if (train.size() < 2 * size_t(std::max(1, o.threads))) {  // batch norm needs two digits a replica
    return InvalidArgument("terlalu sedikit digit latih / too few training digits: " + std::to_string(train.size()) +
                           " < 2 x threads (" + std::to_string(std::max(1, o.threads)) + ")");
  }
  if (o.epochs < 1 || o.batch_size < 2 * size_t(std::max(1, o.threads)) || o.peak_learning_rate <= 0 ||
      o.final_learning_rate <= 0) {
    return InvalidArgument("opsi pelatihan tidak sah / invalid training options: epochs >= 1, "
                           "batch_size >= 2 x threads, learning rates > 0");
  }
  try {
    // dlib initializes layer weights and dropout masks from std::rand(); seed it so a run is
    // reproducible. Augmentation and shuffling use their own generator.
    std::srand(o.seed);
    std::mt19937 rng(o.seed);
    // Data parallel on `threads` replicas of the network: each mini-batch is split into
    // contiguous parts, every replica computes the gradient of its part on its own thread, the
    // gradients are averaged (weighted by the parts' sizes, so the result is the whole batch's
    // mean gradient), replica 0 takes the SGD step and the others copy its parameters. The
    // batch-norm statistics of a step are those of each part. The result depends on `threads`
    // (part of the recipe), not on how many cores run them, and is deterministic.
    const int replicas = std::max(1, o.threads);
    std::vector<net::train_type> nets;
    nets.reserve(static_cast<size_t>(replicas));  // references below stay valid
    nets.emplace_back();
    net::train_type& tnet = nets[0];
    {
      // Set up (allocate and initialize) the layers with one forward pass, then copy. A copy's
      // dropout layers take fresh seeds from std::rand(), so the replicas' masks differ.
      std::vector<dlib::matrix<float>> one(1);
      ToInput(train.images[0].data(), one[0]);
      dlib::resizable_tensor x0;
      tnet.to_tensor(one.begin(), one.end(), x0);
      tnet.subnet().forward(x0);
      if (o.init != nullptr) {
        if (o.init->deskew() != o.deskew)
          return InvalidArgument("model awal membaca digit lain (deskew) / the initial model reads digits otherwise "
                                 "(deskew)");
        std::vector<dlib::matrix<float>> first(std::min<size_t>(train.size(), 1000));
        for (size_t i = 0; i < first.size(); ++i) ToInput(train.images[i].data(), o.deskew, first[i]);
        InitFromModel(tnet, o.init->impl_->probs, first);
      }
      for (int r = 1; r < replicas; ++r) nets.push_back(tnet);
    }
    std::vector<dlib::sgd> solvers(net::train_type::num_computational_layers,
                                   dlib::sgd(o.weight_decay, o.momentum));
    std::vector<std::vector<dlib::tensor*>> params(replicas), grads(replicas);
    for (int r = 0; r < replicas; ++r) {
      dlib::visit_layer_parameters(nets[r], [&](dlib::tensor& t) { params[r].push_back(&t); });
      dlib::visit_layer_parameter_gradients(nets[r],
                                            [&](dlib::tensor& t) { grads[r].push_back(&t); });
      if (params[r].size() != grads[r].size()) {
        return Internal("pelatihan: lapisan tidak cocok / training: layer lists differ");
      }
    }

    // Explicit schedule: linear warm-up from peak/10 to peak, then cosine decay to final.
    const size_t steps_per_epoch = (train.size() + o.batch_size - 1) / o.batch_size;
    const size_t total = steps_per_epoch * static_cast<size_t>(o.epochs);
    const size_t warm = std::min(
        total / 2, static_cast<size_t>(o.warmup_epochs * static_cast<double>(steps_per_epoch)));
    auto learning_rate = [&](size_t i) {
      if (i < warm) return o.peak_learning_rate * (0.1 + 0.9 * static_cast<double>(i) / warm);
      const double f = static_cast<double>(i - warm) / std::max<size_t>(1, total - warm);
      return o.final_learning_rate + 0.5 * (o.peak_learning_rate - o.final_learning_rate) *
                                         (1 + std::cos(std::numbers::pi * f));
    };

    std::vector<uint32_t> order(train.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::vector<std::vector<dlib::matrix<float>>> part(replicas);
    std::vector<std::vector<unsigned long>> part_labels(replicas);
    std::vector<dlib::resizable_tensor> part_x(replicas);
    std::vector<double> part_loss(replicas);
    std::vector<std::exception_ptr> part_error(replicas);
    size_t step = 0;
    for (int epoch = 1; epoch <= o.epochs; ++epoch) {
      const auto t0 = std::chrono::steady_clock::now();
      for (size_t i = order.size(); i > 1; --i) {  // Fisher-Yates with the portable helper
        std::swap(order[i - 1], order[UniformInt(rng, static_cast<uint32_t>(i))]);
      }
      double loss_sum = 0;
      size_t loss_steps = 0;
      for (size_t s = 0; s < order.size(); s += o.batch_size, ++step) {
        const size_t n = std::min(o.batch_size, order.size() - s);
        // Batch norm needs two digits or more in every replica's part: a last batch too small
        // for that is left out of this epoch (its digits are shuffled into full batches in the
        // others). Recipes whose last batch was large enough train exactly as before; the others
        // stopped here with dlib's "src.num_samples() > 1".
        if (n < 2 * size_t(replicas)) continue;
        for (int r = 0; r < replicas; ++r) {
          part[r].clear();
          part_labels[r].clear();
        }
        for (size_t j = 0; j < n; ++j) {  // augment in order, from the one generator
          const uint32_t idx = order[s + j];
          Image28 digit = train.images[idx];
          if (o.flag_ones > 0 && train.labels[idx] == 1 && Uniform01(rng) < o.flag_ones) {
            const double length = Uniform(rng, 0.15, 0.4), deg = Uniform(rng, 25, 65);
            const double base = Uniform01(rng) < 1.0 / 3 ? Uniform(rng, 0.3, 0.6) : 0.0;
            digit = FlagOne(digit, length, deg, base);
          }
          if (o.cross_sevens > 0 && train.labels[idx] == 7 && Uniform01(rng) < o.cross_sevens) {
            const double length = Uniform(rng, 0.25, 0.6), height = Uniform(rng, 0.4, 0.65),
                         tilt = Uniform(rng, -5, 15);
            digit = CrossSeven(digit, length, height, tilt);
          }
          const Image28 aug = AugmentDigit(digit, rng, o.augment);
          const size_t r = j * static_cast<size_t>(replicas) / n;
          part[r].emplace_back();
          ToInput(aug.data(), o.deskew, part[r].back());
          part_labels[r].push_back(train.labels[idx]);
        }
        auto work = [&](int r) {
          part_loss[r] = 0;
          if (part[r].empty()) return;
          try {
            nets[r].to_tensor(part[r].begin(), part[r].end(), part_x[r]);
            part_loss[r] = nets[r].compute_parameter_gradients(part_x[r], part_labels[r].begin());
          } catch (...) {  // rethrown below, after every thread has joined
            part_error[r] = std::current_exception();
          }
        };
        {
          std::vector<std::jthread> workers;  // joined when they go out of scope, also on a throw
          for (int r = 1; r < replicas; ++r) workers.emplace_back(work, r);
          work(0);
        }
        for (const auto& e : part_error)
          if (e) std::rethrow_exception(e);

        // Replica 0's gradient becomes the size-weighted mean of all parts' gradients.
        const float w0 = static_cast<float>(part[0].size()) / n;
        double loss = w0 * part_loss[0];
        for (size_t k = 0; k < grads[0].size(); ++k) {
          if (grads[0][k]->size() == 0) continue;
          float* g = grads[0][k]->host();
          for (size_t e = 0; e < grads[0][k]->size(); ++e) g[e] *= w0;
          for (int r = 1; r < replicas; ++r) {
            if (part[r].empty()) continue;
            const float wr = static_cast<float>(part[r].size()) / n;
            const float* h = grads[r][k]->host();
            for (size_t e = 0; e < grads[0][k]->size(); ++e) g[e] += wr * h[e];
          }
        }
        for (int r = 1; r < replicas; ++r) {
          loss += static_cast<double>(part[r].size()) / n * part_loss[r];
        }
        tnet.update_parameters(dlib::make_sstack(solvers), learning_rate(step));
        for (int r = 1; r < replicas; ++r) {
          for (size_t k = 0; k < params[0].size(); ++k) {
            if (params[0][k]->size() != 0) memcpy(*params[r][k], *params[0][k]);  // dlib's, found by ADL
          }
        }
        loss_sum += loss;
        ++loss_steps;
        if (o.verbose && step % 100 == 0) {
          std::cerr << "step " << step << "/" << total << " lr " << learning_rate(step)
                    << " loss " << loss << "\n";
        }
      }
      EpochReport report;
      report.epoch = epoch;
      report.train_loss = loss_steps ? loss_sum / loss_steps : 0;
      if (o.monitor != nullptr && o.monitor->size() > 0) {
        DigitModel snapshot;
        net::train_type copy = tnet;
        RecalibrateBatchNorm(copy, train, o.monitor_recalibration_digits, o.batch_size, o.deskew);
        net::infer_type recal = copy;
        snapshot.impl_->probs.subnet() = recal.subnet();
        snapshot.impl_->deskew = o.deskew;
        report.monitor_accuracy = snapshot.Accuracy(*o.monitor);
      }
      report.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (o.on_epoch) o.on_epoch(report);
    }
    if (o.recalibrate_batch_norm) {
      RecalibrateBatchNorm(tnet, train, train.size(), o.batch_size, o.deskew);
    }
    tnet.clean();
    DigitModel model;
    net::infer_type inet = tnet;
    model.impl_->probs.subnet() = inet.subnet();
    model.impl_->deskew = o.deskew;
    return model;
  } catch (const std::exception& e) {
    return Internal(std::string("pelatihan gagal / training failed: ") + e.what());
  }
}

}  // namespace rekap::reader
