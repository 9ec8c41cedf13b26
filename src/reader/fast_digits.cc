// rekap reader: the digit CNN for inference, hand-vectorized. See fast_digits.h.
#include "reader/fast_digits.h"
#include "reader/model_format.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstring>

#include <dlib/dnn.h>

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
}  // namespace net

// Convolution weights (nf x k x 5 x 5, dlib order) and biases with the following affine layer folded in.
template <typename ConLayer, typename AffineLayer>
Status FoldConv(const ConLayer& con, const AffineLayer& aff, int k, std::vector<float>* w,
                std::vector<float>* b) {
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
  w->assign(size_t(nf * fsize), 0.f);  // [filter][channel][row][col]
  b->assign(size_t(nf), 0.f);
  for (long f = 0; f < nf; ++f) {
    for (long i = 0; i < fsize; ++i) (*w)[size_t(f * fsize + i)] = pp[f * fsize + i] * gamma[f];
    (*b)[size_t(f)] = pp[nf * fsize + f] * gamma[f] + beta[f];
  }
  return Status::Ok();
}

// Fully connected weights W(o, i) = w[o * in + i] and biases, from dlib's (in+1) x out matrix.
template <typename FcLayer>
Status FcWeights(const FcLayer& fc, long in, long out, float scale, std::vector<float>* w,
                 std::vector<float>* b) {
  const dlib::tensor& p = fc.layer_details().get_layer_params();
  if (long(p.size()) != (in + 1) * out) return InvalidArgument("unexpected fc parameter sizes");
  const float* pp = p.host();
  w->assign(size_t(in * out), 0.f);
  b->assign(size_t(out), 0.f);
  for (long o = 0; o < out; ++o) {
    for (long i = 0; i < in; ++i) (*w)[size_t(o * in + i)] = pp[i * out + o] * scale;
    (*b)[size_t(o)] = pp[in * out + o];
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// The forward pass. Activations are kept channels-last (y, x, channel) so that every layer is a
// sum of (scalar input) x (vector of output-channel weights): GCC/Clang vector extensions, one
// instantiation per instruction set (AVX-512, AVX2+FMA, SSE2), chosen at run time. This is
// about 3x faster than OpenCV DNN 4.6 for this network (bench in docs/reader.md).

// Weights rearranged for the kernels, 64-byte aligned.
struct Weights {
  alignas(64) float w1[25 * 32];     // [tap = ky*5+kx][out channel]
  alignas(64) float b1[32];
  alignas(64) float w2[800 * 64];    // [(ky*5+kx)*32 + in channel][out channel]
  alignas(64) float b2[64];
  alignas(64) float w3[1024 * 128];  // [(y*4+x)*64 + channel][out]
  alignas(64) float b3[128];
  alignas(64) float w4[128 * 10];    // [in][out], dropout scale folded in
  alignas(64) float b4[10];
  bool deskew = false;  // reads deskewed digits (DeskewDigit)
};

typedef float V16 __attribute__((vector_size(64)));
typedef float V8 __attribute__((vector_size(32)));
typedef float V4 __attribute__((vector_size(16)));

#define REKAP_INLINE __attribute__((always_inline)) inline

template <typename V>
REKAP_INLINE V Load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
REKAP_INLINE void Store(float* p, V v) {
  std::memcpy(p, &v, sizeof v);
}
template <typename V>
REKAP_INLINE V Splat(float x) {
  V z = {};
  return z + x;
}
template <typename V>
REKAP_INLINE V Max(V a, V b) {
  return a > b ? a : b;
}

// ReLU and 2x2 max pooling (they commute) of an N x N x C channels-last map.
template <typename V, int N, int C>
REKAP_INLINE void ReluPool2(const float* in, float* out) {
  constexpr int L = sizeof(V) / sizeof(float);
  const V zero = Splat<V>(0.f);
  for (int y = 0; y < N / 2; ++y)
    for (int x = 0; x < N / 2; ++x)
#pragma GCC unroll 16
      for (int b = 0; b < C / L; ++b) {
        const float* q = in + ((2 * y) * N + 2 * x) * C + b * L;
        const V m = Max(Max(Load<V>(q), Load<V>(q + C)), Max(Load<V>(q + N * C), Load<V>(q + (N + 1) * C)));
        Store(out + (y * (N / 2) + x) * C + b * L, Max(m, zero));
      }
}

// One image (28x28 in 0..1) to 10 logits. V: the vector type; P: output positions computed
// together in the second convolution (register blocking: P x 4 accumulators); PX: in the first
// (PX x 32 / L accumulators).
template <typename V, int P, int PX>
REKAP_INLINE void Forward(const Weights& w, const float* in, float* logits) {
  constexpr int L = sizeof(V) / sizeof(float);
  constexpr int CB = 4;  // output-channel vectors per pass of the second convolution
  static_assert(32 % L == 0 && 64 % (CB * L) == 0 && 8 % P == 0 && 24 % PX == 0);
  alignas(64) float c1[24 * 24 * 32];
  alignas(64) float p1[12 * 12 * 32];
  alignas(64) float c2[8 * 8 * 64];
  alignas(64) float p2[4 * 4 * 64];
  alignas(64) float h[128];
  const V zero = Splat<V>(0.f);
  // conv1 5x5, 1 -> 32 (batch norm folded), PX positions along x at once: one position's
  // 32 / L sums, each of 25 multiply-adds one after the other, waited on the multiply-add's
  // latency (about a third of the network's time with AVX-512); PX x 32 / L sums in flight do
  // not. Each output is summed in the same order as before, so the results are bit-identical.
  // The taps' loop stays rolled: unrolled too, clang with AddressSanitizer (the fuzz target's
  // build) took about 10 minutes over this file.
  for (int y = 0; y < 24; ++y)
    for (int x0 = 0; x0 < 24; x0 += PX) {
      V acc[PX][32 / L];
#pragma GCC unroll 8
      for (int p = 0; p < PX; ++p)
#pragma GCC unroll 8
        for (int b = 0; b < 32 / L; ++b) acc[p][b] = Load<V>(w.b1 + b * L);
      for (int ky = 0; ky < 5; ++ky)
        for (int kx = 0; kx < 5; ++kx) {
          const float* wp = w.w1 + (ky * 5 + kx) * 32;
          V wv[32 / L];
#pragma GCC unroll 8
          for (int b = 0; b < 32 / L; ++b) wv[b] = Load<V>(wp + b * L);
#pragma GCC unroll 8
          for (int p = 0; p < PX; ++p) {
            const V s = Splat<V>(in[(y + ky) * 28 + x0 + p + kx]);
#pragma GCC unroll 8
            for (int b = 0; b < 32 / L; ++b) acc[p][b] += s * wv[b];
          }
        }
#pragma GCC unroll 8
      for (int p = 0; p < PX; ++p)
#pragma GCC unroll 8
        for (int b = 0; b < 32 / L; ++b) Store(c1 + (y * 24 + x0 + p) * 32 + b * L, acc[p][b]);
    }
  ReluPool2<V, 24, 32>(c1, p1);
  // conv2 5x5, 32 -> 64: P positions x CB channel vectors accumulate in registers.
  for (int co = 0; co < 64; co += CB * L)
    for (int y = 0; y < 8; ++y)
      for (int x0 = 0; x0 < 8; x0 += P) {
        V acc[P][CB];
#pragma GCC unroll 4
        for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
          for (int b = 0; b < CB; ++b) acc[p][b] = Load<V>(w.b2 + co + b * L);
        for (int ky = 0; ky < 5; ++ky)
          for (int kx = 0; kx < 5; ++kx) {
            const float* ip = p1 + ((y + ky) * 12 + x0 + kx) * 32;
            const float* wp = w.w2 + (ky * 5 + kx) * 32 * 64 + co;
#pragma GCC unroll 2
            for (int ci = 0; ci < 32; ++ci) {
              V wv[CB];
#pragma GCC unroll 4
              for (int b = 0; b < CB; ++b) wv[b] = Load<V>(wp + ci * 64 + b * L);
#pragma GCC unroll 4
              for (int p = 0; p < P; ++p) {
                const V s = Splat<V>(ip[p * 32 + ci]);
#pragma GCC unroll 4
                for (int b = 0; b < CB; ++b) acc[p][b] += s * wv[b];
              }
            }
          }
#pragma GCC unroll 4
        for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
          for (int b = 0; b < CB; ++b) Store(c2 + (y * 8 + x0 + p) * 64 + co + b * L, acc[p][b]);
      }
  ReluPool2<V, 8, 64>(c2, p2);
  // fc 1024 -> 128, relu.
  {
    V acc[128 / L];
#pragma GCC unroll 32
    for (int b = 0; b < 128 / L; ++b) acc[b] = Load<V>(w.b3 + b * L);
    for (int i = 0; i < 1024; ++i) {
      const V s = Splat<V>(p2[i]);
      const float* wp = w.w3 + i * 128;
#pragma GCC unroll 32
      for (int b = 0; b < 128 / L; ++b) acc[b] += s * Load<V>(wp + b * L);
    }
#pragma GCC unroll 32
    for (int b = 0; b < 128 / L; ++b) Store(h + b * L, Max(acc[b], zero));
  }
  // fc 128 -> 10.
  for (int o = 0; o < 10; ++o) {
    float s = w.b4[o];
    for (int i = 0; i < 128; ++i) s += h[i] * w.w4[i * 10 + o];
    logits[o] = s;
  }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f"))) void ForwardAvx512(const Weights& w, const float* in, float* out, int n) {
  for (int i = 0; i < n; ++i) Forward<V16, 4, 8>(w, in + size_t(i) * kMnistPixels, out + size_t(i) * 10);
}
__attribute__((target("avx2,fma"))) void ForwardAvx2(const Weights& w, const float* in, float* out, int n) {
  for (int i = 0; i < n; ++i) Forward<V8, 2, 3>(w, in + size_t(i) * kMnistPixels, out + size_t(i) * 10);
}
#endif
void ForwardBase(const Weights& w, const float* in, float* out, int n) {
  for (int i = 0; i < n; ++i) Forward<V4, 2, 1>(w, in + size_t(i) * kMnistPixels, out + size_t(i) * 10);
}

using ForwardFn = void (*)(const Weights&, const float*, float*, int);

Result<std::unique_ptr<Weights>> LoadWeights(const std::string& path);

ForwardFn PickForward() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return ForwardAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ForwardAvx2;
#endif
  return ForwardBase;
}

}  // namespace

// An ensemble reads every image with its first kAlwaysMembers networks, and with the others only
// the images those do not give one digit at least kCascadeConfidence (the reader's strictest
// threshold): the whole ensemble's accuracy at little more than one network's cost. (On the
// benchmark's 1,000 photos of each form, 1 or 2 always-members or all three gave the same
// digits and the same decisions.)
constexpr size_t kAlwaysMembers = 1;
constexpr double kCascadeConfidence = 0.9995;

struct FastDigitNet::Impl {
  std::vector<std::unique_ptr<Weights>> members;  // one per model file; probabilities averaged
  ForwardFn forward = PickForward();
};

FastDigitNet::FastDigitNet() : impl_(std::make_unique<Impl>()) {}
FastDigitNet::~FastDigitNet() = default;
FastDigitNet::FastDigitNet(FastDigitNet&&) noexcept = default;
FastDigitNet& FastDigitNet::operator=(FastDigitNet&&) noexcept = default;

Result<FastDigitNet> FastDigitNet::Load(const std::string& path) {
  return LoadEnsemble(std::vector<std::string>{path});
}

Result<FastDigitNet> FastDigitNet::LoadEnsemble(std::span<const std::string> paths) {
  if (paths.empty()) return InvalidArgument("tidak ada model / no model file given");
  FastDigitNet out;
  for (const std::string& path : paths) {
    auto w = LoadWeights(path);
    if (!w.ok()) return w.status();
    out.impl_->members.push_back(std::move(*w));
  }
  return out;
}

namespace {

Result<std::unique_ptr<Weights>> LoadWeights(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return NotFound("berkas model tidak ditemukan / model file not found: " + path);
  net::infer_type inet;
  bool deskew = false;
  try {
    auto in = dlib::deserialize(path);
    auto header = model_format::ReadHeader(in, path);
    if (!header.ok()) return header.status();
    deskew = *header;
    in >> inet;
  } catch (const std::exception& e) {
    return DataLoss("model tidak cocok / model does not match the fast network: " + std::string(e.what()));
  }
  // dlib::layer<i>: 1 fc10, 2 multiply, 3 relu, 4 fc128, 5 pool, 6 relu, 7 affine, 8 con64,
  // 9 pool, 10 relu, 11 affine, 12 con32.
  std::vector<float> w1, b1, w2, b2, w3, b3, w4, b4;
  REKAP_RETURN_IF_ERROR(FoldConv(dlib::layer<12>(inet), dlib::layer<11>(inet), 1, &w1, &b1));
  REKAP_RETURN_IF_ERROR(FoldConv(dlib::layer<8>(inet), dlib::layer<7>(inet), 32, &w2, &b2));
  REKAP_RETURN_IF_ERROR(FcWeights(dlib::layer<4>(inet), 64 * 4 * 4, 128, 1.0f, &w3, &b3));
  const float drop = dlib::layer<2>(inet).layer_details().get_multiply_value();
  REKAP_RETURN_IF_ERROR(FcWeights(dlib::layer<1>(inet), 128, 10, drop, &w4, &b4));

  auto out = std::make_unique<Weights>();
  Weights& w = *out;
  w.deskew = deskew;
  for (int t = 0; t < 25; ++t)
    for (int c = 0; c < 32; ++c) w.w1[t * 32 + c] = w1[size_t(c * 25 + t)];
  std::copy(b1.begin(), b1.end(), w.b1);
  for (int t = 0; t < 25; ++t)
    for (int ci = 0; ci < 32; ++ci)
      for (int co = 0; co < 64; ++co) w.w2[(t * 32 + ci) * 64 + co] = w2[size_t((co * 32 + ci) * 25 + t)];
  std::copy(b2.begin(), b2.end(), w.b2);
  // dlib flattens the pooled 64x4x4 tensor channel-first (c*16 + y*4 + x); ours is (y*4+x)*64 + c.
  for (int c = 0; c < 64; ++c)
    for (int yx = 0; yx < 16; ++yx)
      for (int o = 0; o < 128; ++o) w.w3[(yx * 64 + c) * 128 + o] = w3[size_t(o * 1024 + c * 16 + yx)];
  std::copy(b3.begin(), b3.end(), w.b3);
  for (int i = 0; i < 128; ++i)
    for (int o = 0; o < 10; ++o) w.w4[i * 10 + o] = w4[size_t(o * 128 + i)];
  std::copy(b4.begin(), b4.end(), w.b4);
  return out;
}

}  // namespace

std::vector<DigitPrediction> FastDigitNet::ClassifyBatch(std::span<const Image28> images) const {
  std::vector<DigitPrediction> out;
  if (images.empty()) return out;
  const size_t n = images.size();
  std::vector<float> in(n * kMnistPixels), logits(n * 10);
  std::vector<double> logp(n * 10, 0.0);  // summed log-probabilities over the members
  std::vector<int> used(n, 0);             // members that read image i
  for (size_t i = 0; i < n; ++i)
    for (int j = 0; j < kMnistPixels; ++j) in[i * kMnistPixels + size_t(j)] = images[i][size_t(j)] / 255.0f;
  // Top probability of the members' average so far.
  auto top = [&](size_t i) {
    const double* z = &logp[i * 10];
    const double zmax = *std::max_element(z, z + 10);
    double sum = 0;
    for (int k = 0; k < 10; ++k) sum += std::exp((z[k] - zmax) / used[i]);
    return 1.0 / sum;
  };
  std::vector<size_t> todo(n);
  for (size_t i = 0; i < n; ++i) todo[i] = i;
  // The inputs deskewed, for the members that read them so: made for an image when a member
  // first needs it (the later members read only the images the first is unsure of).
  std::vector<float> sub, deskewed;
  std::vector<char> is_deskewed;
  for (size_t m = 0; m < impl_->members.size(); ++m) {
    if (m >= kAlwaysMembers) {  // later members only where the first are not sure
      std::erase_if(todo, [&](size_t i) { return top(i) >= kCascadeConfidence; });
      if (todo.empty()) break;
    }
    const bool deskew = impl_->members[m]->deskew;
    if (deskew) {
      deskewed.resize(n * kMnistPixels);
      is_deskewed.resize(n, 0);
      for (size_t i : todo) {
        if (is_deskewed[i]) continue;
        const Image28 d = DeskewDigit(images[i]);
        for (int j = 0; j < kMnistPixels; ++j) deskewed[i * kMnistPixels + size_t(j)] = d[size_t(j)] / 255.0f;
        is_deskewed[i] = 1;
      }
    }
    const std::vector<float>& src = deskew ? deskewed : in;
    const float* x = src.data();
    if (todo.size() < n) {
      sub.resize(todo.size() * kMnistPixels);
      for (size_t t = 0; t < todo.size(); ++t)
        std::copy_n(&src[todo[t] * kMnistPixels], kMnistPixels, &sub[t * kMnistPixels]);
      x = sub.data();
    }
    impl_->forward(*impl_->members[m], x, logits.data(), int(todo.size()));
    for (size_t t = 0; t < todo.size(); ++t) {
      const size_t i = todo[t];
      const float* z = &logits[t * 10];
      const double zmax = *std::max_element(z, z + 10);
      double sum = 0;
      for (int k = 0; k < 10; ++k) sum += std::exp(double(z[k]) - zmax);
      const double lse = zmax + std::log(sum);
      for (int k = 0; k < 10; ++k) logp[i * 10 + size_t(k)] += double(z[k]) - lse;
      ++used[i];
    }
  }
  // The normalized geometric mean of the probabilities of the members that read each image.
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const double* z = &logp[i * 10];
    const double members = used[i];
    const double zmax = *std::max_element(z, z + 10) / members;
    double e[10], sum = 0;
    for (int k = 0; k < 10; ++k) sum += e[k] = std::exp(z[k] / members - zmax);
    DigitPrediction d;
    for (int k = 0; k < 10; ++k) d.prob[size_t(k)] = float(e[k] / sum);
    const float* p = d.prob.data();
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
