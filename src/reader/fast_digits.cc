// rekap reader: the digit CNN on OpenCV DNN. See fast_digits.h.
#include "reader/fast_digits.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>

#include <dlib/dnn.h>
#include <opencv2/dnn.hpp>

namespace rekap::reader {

namespace {

// The inference network of digits.cc, layer for layer (kept in sync by the equivalence test):
//   28x28 -> con5x5x32 -> affine -> relu -> maxpool2 -> con5x5x64 -> affine -> relu ->
//   maxpool2 -> fc128 -> relu -> multiply -> fc10 (-> softmax)
namespace net {
template <long N, long K, typename SUBNET>
using vcon = dlib::add_layer<dlib::con_<N, K, K, 1, 1, 0, 0>, SUBNET>;
template <typename SUBNET>
using pool2 = dlib::max_pool<2, 2, 2, 2, SUBNET>;
using infer_type = dlib::loss_multiclass_log<dlib::fc<10, dlib::multiply<dlib::relu<dlib::fc<128,
    pool2<dlib::relu<dlib::affine<vcon<64, 5,
    pool2<dlib::relu<dlib::affine<vcon<32, 5,
    dlib::input<dlib::matrix<float>>>>>>>>>>>>>>>;
constexpr char kFormatTag[] = "rekap-digits";
constexpr int kFormatVersion = 1;
}  // namespace net

// Convolution weights (nf x k x 5 x 5) and biases with the following affine layer folded in.
template <typename ConLayer, typename AffineLayer>
Status FoldConv(const ConLayer& con, const AffineLayer& aff, int k, cv::Mat* w, cv::Mat* b) {
  const dlib::tensor& p = con.layer_details().get_layer_params();
  // affine_ keeps gamma and beta outside its (empty) trainable parameters.
  const auto gi = aff.layer_details().get_gamma();
  const auto bi = aff.layer_details().get_beta();
  const dlib::tensor& g = gi.get();
  const dlib::tensor& bt = bi.get();
  const long nf = con.layer_details().num_filters();
  const long fsize = long(k) * 5 * 5;
  if (long(p.size()) != nf * fsize + nf || long(g.size()) != nf || long(bt.size()) != nf)
    return InvalidArgument("unexpected convolution/affine parameter sizes");
  const float* pp = p.host();
  const float* gamma = g.host();
  const float* beta = bt.host();
  const int wshape[4] = {int(nf), k, 5, 5};
  *w = cv::Mat(4, wshape, CV_32F);
  *b = cv::Mat(1, int(nf), CV_32F);
  float* wp = w->ptr<float>();
  for (long f = 0; f < nf; ++f) {
    for (long i = 0; i < fsize; ++i) wp[f * fsize + i] = pp[f * fsize + i] * gamma[f];
    b->at<float>(0, int(f)) = pp[nf * fsize + f] * gamma[f] + beta[f];
  }
  return Status::Ok();
}

// Fully connected weights (out x in for OpenCV) and biases from dlib's (in+1) x out matrix.
template <typename FcLayer>
Status FcWeights(const FcLayer& fc, long in, long out, float scale, cv::Mat* w, cv::Mat* b) {
  const dlib::tensor& p = fc.layer_details().get_layer_params();
  if (long(p.size()) != (in + 1) * out) return InvalidArgument("unexpected fc parameter sizes");
  const float* pp = p.host();
  *w = cv::Mat(int(out), int(in), CV_32F);
  *b = cv::Mat(1, int(out), CV_32F);
  for (long o = 0; o < out; ++o) {
    for (long i = 0; i < in; ++i) w->at<float>(int(o), int(i)) = pp[i * out + o] * scale;
    b->at<float>(0, int(o)) = pp[in * out + o];
  }
  return Status::Ok();
}

}  // namespace

struct FastDigitNet::Impl {
  mutable std::mutex mu;
  mutable cv::dnn::Net net;
};

FastDigitNet::FastDigitNet() : impl_(std::make_unique<Impl>()) {}
FastDigitNet::~FastDigitNet() = default;
FastDigitNet::FastDigitNet(FastDigitNet&&) noexcept = default;
FastDigitNet& FastDigitNet::operator=(FastDigitNet&&) noexcept = default;

Result<FastDigitNet> FastDigitNet::Load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return NotFound("berkas model tidak ditemukan / model file not found: " + path);
  net::infer_type inet;
  try {
    std::string tag, description;
    int version = 0;
    dlib::deserialize(path) >> tag >> version >> description >> inet;
    if (tag != net::kFormatTag || version != net::kFormatVersion)
      return InvalidArgument("format model tidak dikenal / unknown model format: " + tag);
  } catch (const std::exception& e) {
    return DataLoss("model tidak cocok / model does not match the fast network: " + std::string(e.what()));
  }
  // dlib::layer<i>: 1 fc10, 2 multiply, 3 relu, 4 fc128, 5 pool, 6 relu, 7 affine, 8 con64,
  // 9 pool, 10 relu, 11 affine, 12 con32.
  cv::Mat w1, b1, w2, b2, w3, b3, w4, b4;
  REKAP_RETURN_IF_ERROR(FoldConv(dlib::layer<12>(inet), dlib::layer<11>(inet), 1, &w1, &b1));
  REKAP_RETURN_IF_ERROR(FoldConv(dlib::layer<8>(inet), dlib::layer<7>(inet), 32, &w2, &b2));
  REKAP_RETURN_IF_ERROR(FcWeights(dlib::layer<4>(inet), 64 * 4 * 4, 128, 1.0f, &w3, &b3));
  const float drop = dlib::layer<2>(inet).layer_details().get_multiply_value();
  REKAP_RETURN_IF_ERROR(FcWeights(dlib::layer<1>(inet), 128, 10, drop, &w4, &b4));

  FastDigitNet out;
  try {
    cv::dnn::Net& n = out.impl_->net;
    auto conv = [&](const char* name, int nout, const cv::Mat& w, const cv::Mat& b) {
      cv::dnn::LayerParams p;
      p.set("kernel_size", 5);
      p.set("num_output", nout);
      p.set("bias_term", true);
      p.blobs = {w, b};
      n.addLayerToPrev(name, "Convolution", p);
    };
    auto simple = [&](const char* name, const char* type) {
      cv::dnn::LayerParams p;
      n.addLayerToPrev(name, type, p);
    };
    auto pool = [&](const char* name) {
      cv::dnn::LayerParams p;
      p.set("pool", "max");
      p.set("kernel_size", 2);
      p.set("stride", 2);
      n.addLayerToPrev(name, "Pooling", p);
    };
    auto fc = [&](const char* name, int nout, const cv::Mat& w, const cv::Mat& b) {
      cv::dnn::LayerParams p;
      p.set("num_output", nout);
      p.set("bias_term", true);
      p.blobs = {w, b};
      n.addLayerToPrev(name, "InnerProduct", p);
    };
    conv("conv1", 32, w1, b1);
    simple("relu1", "ReLU");
    pool("pool1");
    conv("conv2", 64, w2, b2);
    simple("relu2", "ReLU");
    pool("pool2");
    fc("fc1", 128, w3, b3);
    simple("relu3", "ReLU");
    fc("fc2", 10, w4, b4);
    simple("prob", "Softmax");
    n.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    n.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  } catch (const cv::Exception& e) {
    return Internal(std::string("OpenCV DNN: ") + e.what());
  }
  // Smoke: one forward pass must work.
  std::vector<Image28> one(1);
  one[0].fill(0);
  if (out.ClassifyBatch(one).size() != 1) return Internal("OpenCV DNN forward failed");
  return out;
}

std::vector<DigitPrediction> FastDigitNet::ClassifyBatch(std::span<const Image28> images) const {
  std::vector<DigitPrediction> out;
  if (images.empty()) return out;
  std::lock_guard<std::mutex> lock(impl_->mu);
  const int n = int(images.size());
  const int shape[4] = {n, 1, kMnistSide, kMnistSide};
  cv::Mat blob(4, shape, CV_32F);
  float* bp = blob.ptr<float>();
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < kMnistPixels; ++j) bp[i * kMnistPixels + j] = images[size_t(i)][size_t(j)] / 255.0f;
  cv::Mat prob;
  try {
    impl_->net.setInput(blob);
    prob = impl_->net.forward();
  } catch (const cv::Exception&) {
    return out;
  }
  prob = prob.reshape(1, n);
  out.reserve(size_t(n));
  for (int i = 0; i < n; ++i) {
    const float* p = prob.ptr<float>(i);
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
    out.push_back(d);
  }
  return out;
}

}  // namespace rekap::reader
