// rekap reader: the handwritten-digit classifier for the boxes of a C.Hasil tally sheet.
//
// A number on the sheet is written one digit per box (three boxes: hundreds, tens, ones).
// The reader crops each box and calls NormalizeDigitCrop(), which either reports the box as
// empty (a leading blank, as in " 58") or turns the ink into an MNIST-like 28x28 image; then
// DigitModel::Classify() gives the ten softmax probabilities. See docs/digits.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "reader/idx.h"
#include "rekap/status.h"

namespace rekap::reader {

// ---------------------------------------------------------------------------------------------
// Preprocessing

struct NormalizeOptions {
  // Minimum darkness of ink below the paper level (0..255 scale, after flattening the
  // lighting). Anything fainter is not ink.
  int min_contrast = 40;
  // A box is empty when the ink kept after cleanup covers less than this share of the crop...
  double min_ink_fraction = 0.003;
  // ...or when the ink's bounding box is smaller than this share of the crop's longer side.
  double min_ink_extent = 0.12;
  // ...or when none of its pieces (connected components) is a stroke: each spans less than this
  // share of the crop's longer side. Scattered specks (JPEG noise around a tiny photo's printed
  // guide) can cover enough of the box, and spread wide enough, to pass the two tests above;
  // a written digit has one stroke at least a quarter of the box long (lowest measured: 0.27,
  // over 80,540 written boxes on synthetic photos of all three forms, other hands included; the
  // specks that read as a 5: 0.16).
  double min_stroke_extent = 0.2;
  // Side of the box (in 28x28 pixels) the digit's bounding box is scaled to fit (MNIST: 20).
  int fit_box = 20;
  // Target stroke width in 28x28 pixels (MNIST's mean, 2 * area / perimeter of the ink at
  // threshold 128, is 2.35); thin pen strokes are thickened towards it, very thick marker
  // strokes are thinned. <= 0 disables stroke normalization.
  double target_stroke = 2.3;
  // Hysteresis: > 0 also keeps as ink the pixels darker than this share of the ink threshold
  // that connect to the ink (the fainter stretch of a stroke where the pen pressed lightly or
  // ran dry), mapped to full ink like the rest of the stroke. 0 = off.
  double weak_ratio = 0;
  // Grain (CropGrain, in darkness units) above which the crop is smoothed before its ink is
  // thresholded: by a Gaussian of grain_blur * grain px, at most grain_blur_max of the crop's
  // shorter side. <= 0 disables.
  double grain_limit = 1.8;
  double grain_blur = 0.7;
  double grain_blur_max = 0.04;
  // The grain that decides: the photo's (the reader passes the median of its boxes', steadier
  // than one box's estimate), or < 0 for the crop's own.
  double grain = -1;
};

struct NormalizedDigit {
  bool empty = true;   // no ink: the box holds no digit
  Image28 pixels{};    // MNIST convention (white ink on black); all zero when empty
  double ink_fraction = 0;  // share of the crop covered by the ink that was kept
  cv::Rect ink_box;         // bounding box of that ink in crop coordinates (empty if none)
  double stroke_width = 0;  // estimated stroke width in crop pixels
  double stroke_extent = 0;  // the widest kept piece's extent / the crop's longer side
  double grain = 0;          // the grain that decided the smoothing (NormalizeOptions::grain, or the crop's)
};

// Maps an arbitrary crop of one box (dark ink on light paper, any size >= 8x8, 8-bit with 1, 3
// or 4 channels) to an MNIST-like 28x28 digit: lighting flattened, ink thresholded, specks and
// box-border lines along the crop's edges removed, the ink's bounding box scaled (aspect kept)
// to fit fit_box x fit_box, and the result centred by centre of mass in 28x28. Reports an empty
// box instead of a digit when there is no ink. Precondition on the caller: leave a little paper
// margin around the digit; a box border that runs along (almost) a whole side of the crop is
// treated as border, not as a stroke.
Result<NormalizedDigit> NormalizeDigitCrop(const cv::Mat& crop, const NormalizeOptions& opt = {});

// The grain of a box crop (same input as NormalizeDigitCrop): the standard deviation of its
// darkness's pixel-to-pixel noise, 0..255 below the paper. A usual photo's boxes show about
// 0.5-2.5 (the median over a page of validation photos: our form 0.9, KPU's page 2 0.3); a small
// photo taken in dim light, its grain amplified by the camera, 2-6 and more. 0 for an invalid crop.
double CropGrain(const cv::Mat& crop);

// The mean width of the strokes in `mask` (CV_8UC1, ink non-zero): 2 x area / perimeter of
// their outlines; 1 where there is no ink.
double StrokeWidth(const cv::Mat& mask);

// Image28 <-> cv::Mat (CV_8UC1, 28x28). The Mat returned by ToMat owns a copy.
cv::Mat ToMat(const Image28& img);
Image28 FromMat(const cv::Mat& m28);

// ---------------------------------------------------------------------------------------------
// Augmentation for training on marker-written boxed digits (operates on MNIST-convention
// 28x28 images). Deterministic for a given generator state.

struct AugmentOptions {
  double probability = 0.8;       // chance an image is augmented at all
  double max_rotation_deg = 12;   // uniform in [-max, max]
  double min_scale = 0.85, max_scale = 1.15;
  double max_shear = 0.15;        // horizontal shear factor, uniform in [-max, max]
  double max_translate = 2;       // pixels, uniform in [-max, max], each axis
  double thickness_probability = 0.35;  // dilate or erode by a 2x2 / 3x3 kernel
  double blur_probability = 0.25;       // Gaussian blur, sigma in [0.3, 0.8]
  double noise_probability = 0.3;       // Gaussian noise on the ink, sigma in [2, 12]
  double border_probability = 0.08;     // a box-border fragment along one edge
  // Elastic distortion (Simard, Steinkraus & Platt 2003): a random displacement field of
  // uniform noise smoothed by a Gaussian of `elastic_sigma` px and scaled by alpha, uniform in
  // [elastic_min_alpha, elastic_max_alpha]. Hands vary locally, not only by an affine map.
  double elastic_probability = 0;
  double elastic_min_alpha = 20, elastic_max_alpha = 36;
  double elastic_sigma = 4;
};

Image28 AugmentDigit(const Image28& in, std::mt19937& rng, const AugmentOptions& opt = {});

// A 1 as most Indonesian hands write it (and most of Europe's): with a flag, a stroke from the
// top of the upright down to the left, and on some a base along the foot. MNIST's 1s are mostly
// a bare upright, and its networks read a flagged 1 as a 7 (a quarter of the test set's 1s with
// a flag of 0.38 of the height at 40 degrees). `flag_length` is the flag's length as a share of
// the digit's height, `flag_deg` its angle below the horizontal, `base_width` the base's width
// as a share of the height (0: none). The strokes are drawn as wide as the upright, and the
// result is fitted and centred as MNIST's digits are (20 x 20, centre of mass at the middle). A
// digit with too little ink to find its upright (under 8 px tall) is returned unchanged.
Image28 FlagOne(const Image28& one, double flag_length, double flag_deg, double base_width);

// A 7 with a bar across its stem, as many Indonesian (and European) hands write it to tell it
// from their flagged 1. MNIST's 7s are mostly bare. The bar crosses the stem at `height` (a
// share of the digit's height from its top, about 0.5), `bar_length` as a share of the height
// long, centred on the stem and tilted `tilt_deg` (positive: rising to the right), as wide as
// the 7's own stroke; the result is fitted and centred as MNIST's digits are. A digit with too
// little ink to find its stem (under 8 px tall) is returned unchanged.
Image28 CrossSeven(const Image28& seven, double bar_length, double height, double tilt_deg);

// Shears a digit so that its slant is taken out: the shear along x that makes the ink's
// second moments uncorrelated (x does not drift with y), about the centre of mass, as in the
// classic "deskewing" of MNIST (LeCun et al. 1998). Slant is the commonest difference between
// hands; a network given deskewed digits (`TrainOptions::deskew`) does not have to learn it.
// The shear is limited to +-1; a digit with no ink or no height is returned unchanged.
Image28 DeskewDigit(const Image28& in);

// ---------------------------------------------------------------------------------------------
// The classifier

struct DigitPrediction {
  std::array<float, 10> prob{};  // softmax probabilities, sum 1
  int digit = 0;                 // argmax
  float confidence = 0;          // prob[digit]
  int runner_up = 0;             // second most probable digit
  float runner_up_prob = 0;
};

struct EpochReport {
  int epoch = 0;                      // 1-based
  double train_loss = 0;              // mean loss over the epoch's mini-batches
  double seconds = 0;                 // wall time of the epoch, monitoring included
  double monitor_accuracy = -1;       // with recalibrated batch norm (-1: no monitor set)
};

class DigitModel;

struct TrainOptions {
  int epochs = 12;
  uint32_t seed = 1;
  size_t batch_size = 128;
  double peak_learning_rate = 0.08;  // SGD + momentum; linear warm-up, then cosine decay
  double final_learning_rate = 1e-4;
  double warmup_epochs = 0.5;
  double weight_decay = 5e-4;
  double momentum = 0.9;
  AugmentOptions augment;
  // After training, re-estimate the batch-norm statistics on the clean (unaugmented) training
  // digits; otherwise they describe the augmented distribution the network was trained on.
  bool recalibrate_batch_norm = true;
  // Each mini-batch is split across this many replicas of the network, one thread each (data
  // parallel). Part of the recipe: another count gives another (equally good) model.
  int threads = 2;
  bool verbose = false;  // a progress line every 100 steps on stderr
  // Called after every epoch. If `monitor` is set it is evaluated after every epoch (reported
  // only, never used to steer training) on a copy of the network whose batch-norm statistics
  // were re-estimated on the first `monitor_recalibration_digits` clean training digits.
  std::function<void(const EpochReport&)> on_epoch;
  const DigitDataset* monitor = nullptr;
  size_t monitor_recalibration_digits = 10000;
  // The network is given deskewed digits (DeskewDigit, after the augmentation); the model
  // file records it (format version 2) and Classify deskews what it is given.
  bool deskew = false;
  // The share of the training 1s given a flag (FlagOne: 0.15-0.4 of the height long, 25-65
  // degrees below the horizontal; a base on a third of them) before the augmentation, so the
  // network learns the 1 most Indonesian hands write. Drawn from the training generator only
  // where it is above 0, so a recipe without it trains as before.
  double flag_ones = 0;
  // The share of the training 7s given a bar across the stem (CrossSeven: 0.25-0.6 of the
  // height long, at 0.4-0.65 of it from the top, tilted -5..15 degrees) before the
  // augmentation, as many Indonesian hands write a 7. Drawn only where it is above 0.
  double cross_sevens = 0;
  // Start from this model's weights instead of dlib's random ones (fine-tuning, e.g. on crops of
  // a form printed otherwise than the harvest's). Its convolutions and fully connected layers
  // are copied; its batch norms are stored folded (scale and shift under fixed statistics), so
  // each is unfolded under the statistics of the first training digits (clean), which gives a
  // network that reads as the model does before the first step. Must read deskewed digits as
  // `deskew` says. nullptr: from scratch.
  const DigitModel* init = nullptr;
};

class DigitModel {
 public:
  DigitModel();
  ~DigitModel();
  DigitModel(DigitModel&&) noexcept;
  DigitModel& operator=(DigitModel&&) noexcept;

  // Loads a model written by Save(). Errors (missing file, wrong format, corrupt data) come
  // back as a Status.
  static Result<DigitModel> Load(const std::string& path);
  Status Save(const std::string& path) const;

  // Trains a new model, from scratch or from TrainOptions::init. Deterministic for a given
  // seed and data (see docs/digits.md for the BLAS caveat).
  static Result<DigitModel> Train(const DigitDataset& train, const TrainOptions& options);

  // `img` is 28x28 row-major, MNIST convention. Thread-safe (calls are serialized).
  DigitPrediction Classify(const uint8_t* img28x28) const;
  DigitPrediction Classify(const Image28& img) const { return Classify(img.data()); }
  std::vector<DigitPrediction> ClassifyBatch(std::span<const Image28> images) const;

  // Share of `data` classified correctly.
  double Accuracy(const DigitDataset& data) const;

  // Number of trainable parameters, and a one-line description of the network.
  size_t ParameterCount() const;
  std::string Describe() const;
  // Whether the network reads deskewed digits (Classify deskews its input itself).
  bool deskew() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rekap::reader
