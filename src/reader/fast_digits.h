// rekap reader: a fast inference path for the digit CNN of digits.h.
//
// DigitModel (dlib) runs about 0.5-0.7 ms per digit on this machine's CPU, and a page of our
// form has ~75 written boxes: 40-50 ms of a 60 ms budget. FastDigitNet loads the same model file
// (the dlib network written by DigitModel::Save), folds the batch-norm affine layers into the
// convolutions and the dropout scale into the last layer, and runs the network with OpenCV's
// DNN module (batched, with its runtime-dispatched AVX2/AVX-512 kernels). Its probabilities
// equal DigitModel's to float rounding (tested in read_test.cc); if the file holds another
// architecture, Load fails and the reader falls back to DigitModel.
//
// Thread-safety: ClassifyBatch is serialized by a mutex.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "reader/digits.h"
#include "reader/idx.h"
#include "rekap/status.h"

namespace rekap::reader {

class FastDigitNet {
 public:
  FastDigitNet();
  ~FastDigitNet();
  FastDigitNet(FastDigitNet&&) noexcept;
  FastDigitNet& operator=(FastDigitNet&&) noexcept;

  // Loads a model file written by DigitModel::Save (format "rekap-digits" version 1 with the
  // network described in digits.cc). Fails for another format or architecture.
  static Result<FastDigitNet> Load(const std::string& path);

  std::vector<DigitPrediction> ClassifyBatch(std::span<const Image28> images) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rekap::reader
