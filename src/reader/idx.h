// rekap reader: IDX files (the MNIST container format), optionally gzip-compressed.
//
// IDX layout (big-endian): a 4-byte magic 0x00 0x00 <type> <ndims>, then ndims uint32
// dimension sizes, then the data. We accept exactly two shapes, both with type 0x08
// (unsigned byte): images (magic 2051, dims N x 28 x 28) and labels (magic 2049, dims N,
// values 0..9). Every malformed input (bad magic, wrong dimensions, truncated or oversized
// data, labels out of range, a corrupt gzip stream) is reported through Status, never by a
// crash or an exception.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "rekap/status.h"

namespace rekap::reader {

inline constexpr int kMnistSide = 28;
inline constexpr int kMnistPixels = kMnistSide * kMnistSide;

// One 28x28 digit, row-major, MNIST convention: 0 = background, 255 = full ink.
using Image28 = std::array<uint8_t, kMnistPixels>;

// Images with their labels (same length).
struct DigitDataset {
  std::vector<Image28> images;
  std::vector<uint8_t> labels;
  size_t size() const { return images.size(); }
};

inline constexpr uint32_t kIdxImagesMagic = 2051;  // 0x00000803
inline constexpr uint32_t kIdxLabelsMagic = 2049;  // 0x00000801

// Upper bound on the decompressed size we are willing to read (a gzip bomb guard). The MNIST
// training images are 47,040,016 bytes.
inline constexpr size_t kIdxMaxBytes = size_t{256} << 20;

// Parses an uncompressed IDX buffer. `limit` keeps only the first `limit` items (the whole
// buffer is still validated).
Result<std::vector<Image28>> ParseIdxImages(std::span<const uint8_t> bytes,
                                            size_t limit = std::numeric_limits<size_t>::max());
Result<std::vector<uint8_t>> ParseIdxLabels(std::span<const uint8_t> bytes,
                                            size_t limit = std::numeric_limits<size_t>::max());

// Reads a whole file, decompressing it if it is gzip (plain files are read as they are).
Result<std::vector<uint8_t>> ReadMaybeGzip(const std::string& path,
                                           size_t max_bytes = kIdxMaxBytes);

Result<std::vector<Image28>> ReadIdxImages(const std::string& path,
                                           size_t limit = std::numeric_limits<size_t>::max());
Result<std::vector<uint8_t>> ReadIdxLabels(const std::string& path,
                                           size_t limit = std::numeric_limits<size_t>::max());

// Reads an images file and a labels file and checks that their counts agree.
Result<DigitDataset> ReadIdxDataset(const std::string& images_path,
                                    const std::string& labels_path,
                                    size_t limit = std::numeric_limits<size_t>::max());

}  // namespace rekap::reader
