#include "reader/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace rekap::reader {
namespace {

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string Describe(uint32_t magic) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", magic);
  return buf;
}

// Validates the header of an IDX buffer whose dimensions must be `want_dims` (the first one is
// the item count, the rest must equal `fixed`), and returns the item count.
Result<size_t> ParseHeader(std::span<const uint8_t> bytes, uint32_t want_magic,
                           std::span<const uint32_t> fixed) {
  const size_t ndims = 1 + fixed.size();
  const size_t header = 4 + 4 * ndims;
  if (bytes.size() < 4) {
    return DataLoss("berkas IDX terlalu pendek / IDX file too short: " +
                    std::to_string(bytes.size()) + " bytes, no magic number");
  }
  const uint32_t magic = BigEndian32(bytes.data());
  if (magic != want_magic) {
    return InvalidArgument("angka ajaib IDX salah / bad IDX magic: got " + Describe(magic) +
                           ", want " + Describe(want_magic) + " (" + std::to_string(want_magic) +
                           ")");
  }
  if (bytes.size() < header) {
    return DataLoss("header IDX terpotong / truncated IDX header: " +
                    std::to_string(bytes.size()) + " of " + std::to_string(header) + " bytes");
  }
  const size_t count = BigEndian32(bytes.data() + 4);
  size_t item_bytes = 1;
  for (size_t i = 0; i < fixed.size(); ++i) {
    const uint32_t d = BigEndian32(bytes.data() + 8 + 4 * i);
    if (d != fixed[i]) {
      return InvalidArgument("dimensi IDX salah / bad IDX dimension " + std::to_string(i + 1) +
                             ": got " + std::to_string(d) + ", want " + std::to_string(fixed[i]));
    }
    item_bytes *= d;
  }
  // count <= 2^32-1 and item_bytes <= 784, so this cannot overflow a 64-bit size_t.
  const size_t want = header + count * item_bytes;
  if (bytes.size() < want) {
    return DataLoss("data IDX terpotong / truncated IDX data: header declares " +
                    std::to_string(count) + " items (" + std::to_string(want) +
                    " bytes) but the file has " + std::to_string(bytes.size()) + " bytes");
  }
  if (bytes.size() > want) {
    return DataLoss("data berlebih setelah IDX / trailing bytes after IDX data: " +
                    std::to_string(bytes.size() - want) + " extra bytes");
  }
  return count;
}

}  // namespace

Result<std::vector<Image28>> ParseIdxImages(std::span<const uint8_t> bytes, size_t limit) {
  static constexpr uint32_t kDims[] = {kMnistSide, kMnistSide};
  REKAP_ASSIGN_OR_RETURN(const size_t count, ParseHeader(bytes, kIdxImagesMagic, kDims));
  const size_t n = std::min(count, limit);
  std::vector<Image28> out(n);
  const uint8_t* p = bytes.data() + 16;
  for (size_t i = 0; i < n; ++i) std::memcpy(out[i].data(), p + i * kMnistPixels, kMnistPixels);
  return out;
}

Result<std::vector<uint8_t>> ParseIdxLabels(std::span<const uint8_t> bytes, size_t limit) {
  REKAP_ASSIGN_OR_RETURN(const size_t count,
                         ParseHeader(bytes, kIdxLabelsMagic, std::span<const uint32_t>()));
  const uint8_t* p = bytes.data() + 8;
  for (size_t i = 0; i < count; ++i) {
    if (p[i] > 9) {
      return InvalidArgument("label IDX di luar 0..9 / IDX label out of range 0..9: item " +
                             std::to_string(i) + " is " + std::to_string(p[i]));
    }
  }
  return std::vector<uint8_t>(p, p + std::min(count, limit));
}

Result<std::vector<uint8_t>> ReadMaybeGzip(const std::string& path, size_t max_bytes) {
  // gzopen reads plain files transparently as well.
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    return NotFound("tidak dapat membuka berkas / cannot open file: " + path + ": " +
                    std::strerror(errno));
  }
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(f, gzclose);
  gzbuffer(f, 1 << 17);
  std::vector<uint8_t> out;
  constexpr size_t kChunk = 1 << 20;
  while (true) {
    const size_t old = out.size();
    if (old > max_bytes) {
      return ResourceExhausted("berkas terlalu besar / file too large after decompression: " +
                               path + " exceeds " + std::to_string(max_bytes) + " bytes");
    }
    out.resize(old + kChunk);
    const int got = gzread(f, out.data() + old, static_cast<unsigned>(kChunk));
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(f, &errnum);
      return DataLoss("berkas gzip rusak / corrupt gzip stream: " + path + ": " +
                      (msg ? msg : "unknown error"));
    }
    out.resize(old + static_cast<size_t>(got));
    if (got == 0) break;
  }
  int errnum = 0;
  const char* msg = gzerror(f, &errnum);
  if (errnum != Z_OK) {
    // A gzip stream that ends early reads short and sets Z_BUF_ERROR.
    return DataLoss("berkas gzip terpotong atau rusak / truncated or corrupt gzip file: " + path +
                    ": " + (msg ? msg : "unknown error"));
  }
  return out;
}

Result<std::vector<Image28>> ReadIdxImages(const std::string& path, size_t limit) {
  REKAP_ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, ReadMaybeGzip(path));
  auto r = ParseIdxImages(bytes, limit);
  if (!r.ok()) return Status(r.status().code(), path + ": " + r.status().message());
  return r;
}

Result<std::vector<uint8_t>> ReadIdxLabels(const std::string& path, size_t limit) {
  REKAP_ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, ReadMaybeGzip(path));
  auto r = ParseIdxLabels(bytes, limit);
  if (!r.ok()) return Status(r.status().code(), path + ": " + r.status().message());
  return r;
}

Result<DigitDataset> ReadIdxDataset(const std::string& images_path,
                                    const std::string& labels_path, size_t limit) {
  DigitDataset d;
  REKAP_ASSIGN_OR_RETURN(d.images, ReadIdxImages(images_path, limit));
  REKAP_ASSIGN_OR_RETURN(d.labels, ReadIdxLabels(labels_path, limit));
  if (d.images.size() != d.labels.size()) {
    return InvalidArgument("jumlah gambar dan label berbeda / image and label counts differ: " +
                           std::to_string(d.images.size()) + " images in " + images_path +
                           ", " + std::to_string(d.labels.size()) + " labels in " + labels_path);
  }
  return d;
}

}  // namespace rekap::reader
