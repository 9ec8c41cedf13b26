// rekap reader: a fast inference path for the digit CNN of digits.h.
//
// DigitModel (dlib) runs about 0.5-0.7 ms per digit on this machine's CPU, and a page of our
// form has ~70 written boxes: far over a 60 ms page budget. FastDigitNet loads the same model
// file (the dlib network written by DigitModel::Save), folds the batch-norm affine layers into
// the convolutions and the dropout scale into the last layer, and runs the network with its own
// vectorized kernels (AVX-512, AVX2+FMA or SSE2, picked at run time): about 60-80 us per digit
// with the other vCPU busy, against about 250 us for OpenCV DNN 4.6 (which it replaced). Its
// probabilities equal DigitModel's to float rounding (tested in read_test.cc); if the file
// holds another architecture, Load fails and the reader falls back to DigitModel.
//
// Thread-safety: ClassifyBatch is const and keeps no state; it may run on several threads.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "reader/digits.h"
#include "reader/idx.h"
#include "rekap/status.h"

namespace rekap::reader {

// The committed digit CNN, an ensemble (data/models/digits.json): files under data/models/, in
// the order they are averaged. The first is also the dlib fallback's, and the one that reads
// every box (the cascade of ClassifyBatch, fast_digits.cc): digits-4, sure (>= 0.9995) of the most
// MNIST test digits (86.4 %; digits-3, first before 2026-12-07, 81.3 %), so fewer boxes need
// the other five. Our form read 8 % faster (2026-12-07: 300 photos of 2,000-4,000 px, median
// 53.0 / 53.4 -> 49.2 / 48.5 ms, in turn), and on the validation sets every decision stayed
// (docs/digits.md, "The cascade's first network"). digits-4 and -5 read deskewed digits;
// digits-6 was trained with flagged 1s (docs/digits.md, "A 1 with a flag").
inline constexpr const char* kCommittedDigitModels[] = {"digits-4.dnn", "digits-3.dnn", "digits-2.dnn",
                                                        "digits.dnn",   "digits-5.dnn", "digits-6.dnn"};

class FastDigitNet {
 public:
  FastDigitNet();
  ~FastDigitNet();
  FastDigitNet(FastDigitNet&&) noexcept;
  FastDigitNet& operator=(FastDigitNet&&) noexcept;

  // Loads a model file written by DigitModel::Save (format "rekap-digits" version 1 with the
  // network described in digits.cc). Fails for another format or architecture.
  static Result<FastDigitNet> Load(const std::string& path);
  // Several model files of that architecture: their probabilities are averaged (normalized
  // geometric mean).
  static Result<FastDigitNet> LoadEnsemble(std::span<const std::string> paths);

  std::vector<DigitPrediction> ClassifyBatch(std::span<const Image28> images) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rekap::reader
