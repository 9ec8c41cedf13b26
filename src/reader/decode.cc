// rekap reader: decoding a photo (JPEG, PNG, HEIC), bounded in size and time. See
// read_internal.h and docs/reader.md "Robustness".
#include "reader/read_internal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
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

#include <libheif/heif.h>
#include <opencv2/imgcodecs.hpp>

namespace rekap::reader::detail {

// ---------------------------------------------------------------------------------------------
// Decoding, bounded

uint32_t Be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

// HEIF (HEIC, AVIF): an ISO base media file whose 'ftyp' box names a brand libheif reads.
bool IsHeif(std::span<const uint8_t> b) {
  if (b.size() < 16 || std::memcmp(&b[4], "ftyp", 4) != 0) return false;
  const int n = int(std::min<size_t>(b.size(), 1 << 20));
  return heif_check_filetype(b.data(), n) == heif_filetype_yes_supported;
}

// A parsed HEIF container and its primary image (nothing decoded), freed on scope exit.
struct HeifFile {
  heif_context* ctx = heif_context_alloc();
  heif_image_handle* primary = nullptr;
  heif_error error{heif_error_Ok, heif_suberror_Unspecified, "Success"};
  explicit HeifFile(std::span<const uint8_t> b) {
    if (ctx == nullptr) {
      error = {heif_error_Memory_allocation_error, heif_suberror_Unspecified, "no memory"};
      return;
    }
    error = heif_context_read_from_memory_without_copy(ctx, b.data(), b.size(), nullptr);
    if (error.code == heif_error_Ok) error = heif_context_get_primary_image_handle(ctx, &primary);
  }
  ~HeifFile() {
    if (primary != nullptr) heif_image_handle_release(primary);
    if (ctx != nullptr) heif_context_free(ctx);
  }
  HeifFile(const HeifFile&) = delete;
  HeifFile& operator=(const HeifFile&) = delete;
  bool ok() const { return error.code == heif_error_Ok && primary != nullptr; }
};

// The primary image of a HEIF file as 8-bit grey: its luma plane (10- and 12-bit scaled down),
// or, coded as RGB, converted.
std::optional<std::string> DecodeHeifGrey(std::span<const uint8_t> bytes, cv::Mat* grey) {
  HeifFile f(bytes);
  if (!f.ok()) return std::string(f.error.message);
  heif_image* img = nullptr;
  heif_error e =
      heif_decode_image(f.primary, &img, heif_colorspace_undefined, heif_chroma_undefined, nullptr);
  const bool luma =
      e.code == heif_error_Ok && (heif_image_get_colorspace(img) == heif_colorspace_YCbCr ||
                                  heif_image_get_colorspace(img) == heif_colorspace_monochrome);
  if (e.code == heif_error_Ok && !luma) {
    heif_image_release(img);
    img = nullptr;
    e = heif_decode_image(f.primary, &img, heif_colorspace_RGB, heif_chroma_interleaved_RGB,
                          nullptr);
  }
  if (e.code != heif_error_Ok || img == nullptr) {
    if (img != nullptr) heif_image_release(img);
    return std::string(e.message);
  }
  const heif_channel ch = luma ? heif_channel_Y : heif_channel_interleaved;
  const int w = heif_image_get_width(img, ch), h = heif_image_get_height(img, ch);
  const int bits = heif_image_get_bits_per_pixel_range(img, ch);
  int stride = 0;
  const uint8_t* plane = heif_image_get_plane_readonly(img, ch, &stride);
  std::optional<std::string> failure;
  if (plane == nullptr || w <= 0 || h <= 0 || bits < 1 || bits > 16) {
    failure = "no image plane";
  } else if (!luma) {
    cv::cvtColor(cv::Mat(h, w, CV_8UC3, const_cast<uint8_t*>(plane), size_t(stride)), *grey,
                 cv::COLOR_RGB2GRAY);
  } else if (bits <= 8) {
    cv::Mat(h, w, CV_8UC1, const_cast<uint8_t*>(plane), size_t(stride)).copyTo(*grey);
  } else {
    cv::Mat(h, w, CV_16UC1, const_cast<uint8_t*>(plane), size_t(stride))
        .convertTo(*grey, CV_8U, 1.0 / double(1 << (bits - 8)));
  }
  heif_image_release(img);
  return failure;
}


// Decodes `bytes` into a greyscale working image, or explains why not. `max_reduction` (a power
// of 2) caps the reduction while decoding (kSmallPageShare).
std::optional<Reason> DecodePhoto(std::span<const uint8_t> bytes, Decoded* out, int max_reduction) {
  if (bytes.size() > kMaxPhotoBytes)
    return MakeReason(reason::kImageTooLarge, "berkas > 50 MiB / file > 50 MiB");
  const std::optional<ImageHeader> h = ParseImageHeader(bytes);
  if (!h)
    return MakeReason(reason::kImageUnreadable,
                      "bukan JPEG/PNG/HEIC yang sah / not a valid JPEG, PNG or HEIC image");
  // Sequential and progressive DCT frames, Huffman- (what phones and libjpeg write) or
  // arithmetic-coded (some scanners and archiving tools; libjpeg-turbo decodes them). Lossless
  // (SOF3, SOF11), hierarchical (SOF5-7, SOF13-15) and 12-bit JPEG are refused by name: they
  // are valid files a person can save again as an ordinary JPEG ("not a valid JPEG" before).
  if (h->type == ImageHeader::Type::kJpeg &&
      !(h->jpeg_frame == 0xC0 || h->jpeg_frame == 0xC1 || h->jpeg_frame == 0xC2 || h->jpeg_frame == 0xC9 ||
        h->jpeg_frame == 0xCA)) {
    char sof[16];
    std::snprintf(sof, sizeof sof, "SOF%d", h->jpeg_frame - 0xC0);
    return MakeReason(reason::kImageUnreadable,
                      std::string("JPEG jenis ini (") + sof +
                          ": lossless/hierarki) tidak didukung, simpan ulang sebagai JPEG biasa / this kind of "
                          "JPEG (" + sof + ": lossless or hierarchical) is not supported: save it again as an "
                          "ordinary JPEG");
  }
  if (h->type == ImageHeader::Type::kJpeg && h->jpeg_bits != 8)
    return MakeReason(reason::kImageUnreadable,
                      "JPEG " + std::to_string(h->jpeg_bits) + "-bit tidak didukung, simpan ulang sebagai JPEG biasa "
                      "(8-bit) / " + std::to_string(h->jpeg_bits) + "-bit JPEG is not supported: save it again as "
                      "an ordinary (8-bit) JPEG");
  const bool sequential_jpeg = h->type == ImageHeader::Type::kJpeg && !h->progressive;
  const int64_t max_pixels = sequential_jpeg ? kMaxSequentialJpegPixels : kMaxPhotoPixels;
  if (int64_t(h->width) * h->height > max_pixels || h->width > 30000 || h->height > 30000)
    return MakeReason(reason::kImageTooLarge,
                      std::to_string(h->width) + "x" + std::to_string(h->height) + " > " +
                          std::to_string(max_pixels / 1'000'000) + " Mpx" +
                          (h->type == ImageHeader::Type::kJpeg && !sequential_jpeg
                               ? " (JPEG progresif / progressive JPEG; baseline: " +
                                     std::to_string(kMaxSequentialJpegPixels / 1'000'000) + " Mpx)"
                               : std::string()));
  if (std::min(h->width, h->height) < kMinPhotoSide)
    return MakeReason(reason::kImageTooSmall, std::to_string(h->width) + "x" +
                                                  std::to_string(h->height) + " < " +
                                                  std::to_string(kMinPhotoSide) + " px");
  // Truncation: a JPEG must end its entropy-coded data with EOI (FF D9), a PNG with IEND.
  if (h->type == ImageHeader::Type::kJpeg) {
    bool eoi = false;
    const size_t n = bytes.size();
    // Phones may append trailers after EOI: look in the last 64 KiB (or the whole file).
    const size_t from = n > (size_t{1} << 16) ? n - (size_t{1} << 16) : 0;
    for (size_t i = n - 1; i > from; --i)
      if (bytes[i] == 0xD9 && bytes[i - 1] == 0xFF) {
        eoi = true;
        break;
      }
    if (!eoi) return MakeReason(reason::kImageUnreadable, "JPEG terpotong / truncated JPEG");
  } else if (h->type == ImageHeader::Type::kPng) {
    static const uint8_t kIend[] = {'I', 'E', 'N', 'D'};
    const size_t n = bytes.size();
    bool iend = false;
    const size_t from = n > 64 ? n - 64 : 8;
    for (size_t i = from; i + 4 <= n; ++i)
      if (std::memcmp(&bytes[i], kIend, 4) == 0) iend = true;
    if (!iend) return MakeReason(reason::kImageUnreadable, "PNG terpotong / truncated PNG");
  }
  // Reduce while decoding (JPEG DCT scaling) to a working size of about 2000 px on the
  // longer side: enough for 7.5 mm digit boxes, and several times cheaper to decode.
  int reduction = 1;
  const int longer = std::max(h->width, h->height);
  if (h->type != ImageHeader::Type::kPng) {
    while (reduction < std::min(max_reduction, 8) && longer / (reduction * 2) >= 1500) reduction *= 2;
  }
  // HEIF is decoded whole (a file cut short fails to decode), then reduced.
  if (h->type == ImageHeader::Type::kHeif) {
    cv::Mat grey;
    if (auto failure = DecodeHeifGrey(bytes, &grey))
      return MakeReason(reason::kImageUnreadable, "HEIF: " + *failure);
    if (reduction > 1)
      cv::resize(grey, grey, cv::Size(grey.cols / reduction, grey.rows / reduction), 0, 0,
                 cv::INTER_AREA);
    out->grey = grey;
    out->width = h->width;
    out->height = h->height;
    out->reduction = reduction;
    return std::nullopt;
  }
  int flags = cv::IMREAD_GRAYSCALE;
  if (reduction == 2) flags = cv::IMREAD_REDUCED_GRAYSCALE_2;
  if (reduction == 4) flags = cv::IMREAD_REDUCED_GRAYSCALE_4;
  if (reduction == 8) flags = cv::IMREAD_REDUCED_GRAYSCALE_8;
  cv::Mat img;
  try {
    const cv::Mat buf(1, int(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
    img = cv::imdecode(buf, flags | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    return MakeReason(reason::kImageUnreadable, std::string("decode: ") + e.what());
  }
  if (img.empty() || img.depth() != CV_8U)
    return MakeReason(reason::kImageUnreadable, "gambar tidak dapat dibaca / cannot decode image");
  if (img.channels() != 1) cv::cvtColor(img, img, cv::COLOR_BGR2GRAY);
  out->grey = img;
  out->width = h->width;
  out->height = h->height;
  out->reduction = reduction;
  return std::nullopt;
}

// A decoded photo holds at most this many pixels when decoded again finer (DecodeFiner; a 24 Mpx
// phone photo at full size): a 108 or 200 Mpx photo, decoded at an eighth of its side the first
// time, is not decoded whole for a small page.
constexpr double kMaxFinerPixels = 24e6;

// Photo `bytes`, first decoded as `first`, decoded again f (a power of 2) times finer, or less
// where kMaxFinerPixels says so; an empty Mat where it cannot be decoded finer at all.
cv::Mat DecodeFiner(std::span<const uint8_t> bytes, const Decoded& first, int f) {
  int r = std::max(1, first.reduction / f);
  while (r < first.reduction && double(first.width / r) * double(first.height / r) > kMaxFinerPixels) r *= 2;
  Decoded again;
  if (r >= first.reduction || DecodePhoto(bytes, &again, r) || again.reduction >= first.reduction) return cv::Mat();
  return again.grey;
}

}  // namespace rekap::reader::detail

namespace rekap::reader {

using namespace detail;

std::optional<ImageHeader> ParseImageHeader(std::span<const uint8_t> b) {
  if (IsHeif(b)) {
    const HeifFile f(b);
    if (!f.ok()) return std::nullopt;
    const int w = heif_image_handle_get_width(f.primary),
              h = heif_image_handle_get_height(f.primary);
    if (w <= 0 || h <= 0) return std::nullopt;
    ImageHeader hd;
    hd.type = ImageHeader::Type::kHeif;
    hd.width = w;
    hd.height = h;
    return hd;
  }
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (b.size() >= 33 && std::memcmp(b.data(), kPng, 8) == 0) {
    if (Be32(&b[8]) != 13 || std::memcmp(&b[12], "IHDR", 4) != 0) return std::nullopt;
    const uint32_t w = Be32(&b[16]), h = Be32(&b[20]);
    if (w == 0 || h == 0 || w > 0x7fffffff || h > 0x7fffffff) return std::nullopt;
    ImageHeader hd;
    hd.type = ImageHeader::Type::kPng;
    hd.width = int(std::min<uint32_t>(w, 1u << 30));
    hd.height = int(std::min<uint32_t>(h, 1u << 30));
    return hd;
  }
  if (b.size() >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
    size_t i = 2;
    while (i + 4 <= b.size()) {
      if (b[i] != 0xFF) return std::nullopt;
      uint8_t m = b[i + 1];
      if (m == 0xFF) {  // fill byte
        ++i;
        continue;
      }
      if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // no length
        i += 2;
        continue;
      }
      if (m == 0xD9 || m == 0xDA) return std::nullopt;  // EOI / SOS before any frame header
      const size_t len = (size_t(b[i + 2]) << 8) | b[i + 3];
      if (len < 2 || i + 2 + len > b.size()) return std::nullopt;
      const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
      if (sof) {
        if (len < 8) return std::nullopt;
        const int h = (int(b[i + 5]) << 8) | b[i + 6];
        const int w = (int(b[i + 7]) << 8) | b[i + 8];
        if (w == 0 || h == 0) return std::nullopt;
        ImageHeader hd;
        hd.type = ImageHeader::Type::kJpeg;
        hd.width = w;
        hd.height = h;
        hd.jpeg_frame = m;
        hd.jpeg_bits = b[i + 4];
        // Progressive frames (Huffman or arithmetic) hold every coefficient while they decode.
        hd.progressive = m == 0xC2 || m == 0xCA;
        return hd;
      }
      i += 2 + len;
    }
  }
  return std::nullopt;
}
}  // namespace rekap::reader
