// Tests for the digit reader: IDX parsing, crop normalization, augmentation, the committed
// model (data/models/digits.dnn) and a tiny training run. Nothing here trains the full model.

#include "reader/digits.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <iterator>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reader/idx.h"

namespace rekap::reader {
namespace {

namespace fs = std::filesystem;

// The committed model; REKAP_TEST_DIGITS_MODEL may point the tests at another one (for
// checking a freshly trained model before replacing the committed file).
const std::string kModelPath = std::getenv("REKAP_TEST_DIGITS_MODEL") != nullptr
                                   ? std::getenv("REKAP_TEST_DIGITS_MODEL")
                                   : REKAP_DIGITS_MODEL;
const std::string kMnistDir = REKAP_MNIST_DIR;

// MNIST lives in ../shared/data/mnist beside the clone, absent on some machines: the tests that
// need its test set skip, naming the folder; the training smoke test falls back to drawn digits.
bool HaveMnist() {
  return fs::exists(kMnistDir + "/t10k-images-idx3-ubyte.gz") &&
         fs::exists(kMnistDir + "/t10k-labels-idx1-ubyte.gz");
}

void Put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}

std::vector<uint8_t> ImagesIdx(uint32_t count, uint32_t rows = 28, uint32_t cols = 28,
                               uint32_t magic = kIdxImagesMagic) {
  std::vector<uint8_t> v;
  Put32(v, magic);
  Put32(v, count);
  Put32(v, rows);
  Put32(v, cols);
  for (uint32_t i = 0; i < count * rows * cols; ++i) v.push_back(static_cast<uint8_t>(i * 7));
  return v;
}

std::vector<uint8_t> LabelsIdx(std::vector<uint8_t> labels, uint32_t magic = kIdxLabelsMagic) {
  std::vector<uint8_t> v;
  Put32(v, magic);
  Put32(v, static_cast<uint32_t>(labels.size()));
  v.insert(v.end(), labels.begin(), labels.end());
  return v;
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("rekap_digits_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void WriteGzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// ---------------------------------------------------------------------------------------------
// IDX

TEST(Idx, ParsesImagesAndLabels) {
  const auto bytes = ImagesIdx(3);
  auto images = ParseIdxImages(bytes);
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  ASSERT_EQ(images->size(), 3u);
  EXPECT_EQ((*images)[1][0], static_cast<uint8_t>(784 * 7));
  auto limited = ParseIdxImages(bytes, 2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 2u);

  auto labels = ParseIdxLabels(LabelsIdx({3, 1, 4}));
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  EXPECT_EQ(*labels, (std::vector<uint8_t>{3, 1, 4}));
}

TEST(Idx, RejectsBadMagic) {
  auto images = ParseIdxImages(ImagesIdx(1, 28, 28, kIdxLabelsMagic));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), Code::kInvalidArgument);
  EXPECT_NE(images.status().message().find("magic"), std::string::npos);
  auto labels = ParseIdxLabels(LabelsIdx({1}, 0x12345678));
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.status().code(), Code::kInvalidArgument);
}

TEST(Idx, RejectsTruncatedData) {
  auto bytes = ImagesIdx(3);
  bytes.resize(bytes.size() - 100);
  auto images = ParseIdxImages(bytes);
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), Code::kDataLoss);
  EXPECT_NE(images.status().message().find("truncated"), std::string::npos);

  // Every prefix of a valid file is rejected cleanly (header and data).
  const auto full = ImagesIdx(2);
  for (size_t n = 0; n < full.size(); n += 37) {
    EXPECT_FALSE(ParseIdxImages(std::span(full).first(n)).ok()) << n;
  }
  const auto lab = LabelsIdx({1, 2, 3});
  for (size_t n = 0; n < lab.size(); ++n) {
    EXPECT_FALSE(ParseIdxLabels(std::span(lab).first(n)).ok()) << n;
  }
}

TEST(Idx, RejectsWrongShapeTrailingBytesAndBadLabels) {
  EXPECT_EQ(ParseIdxImages(ImagesIdx(1, 27, 28)).status().code(), Code::kInvalidArgument);
  auto extra = ImagesIdx(1);
  extra.push_back(0);
  EXPECT_EQ(ParseIdxImages(extra).status().code(), Code::kDataLoss);
  EXPECT_EQ(ParseIdxLabels(LabelsIdx({1, 10})).status().code(), Code::kInvalidArgument);
  // A huge declared count with no data must fail without trying to allocate it.
  std::vector<uint8_t> huge;
  Put32(huge, kIdxImagesMagic);
  Put32(huge, 0xffffffffu);
  Put32(huge, 28);
  Put32(huge, 28);
  EXPECT_EQ(ParseIdxImages(huge).status().code(), Code::kDataLoss);
}

TEST(Idx, ReadsGzipAndPlainFilesAndRejectsTruncatedGzip) {
  TempDir dir;
  const auto images = ImagesIdx(4);
  const auto labels = LabelsIdx({0, 9, 8, 7});
  WriteGzip(dir.File("img.gz"), images);
  WriteFile(dir.File("lab"), labels);
  auto data = ReadIdxDataset(dir.File("img.gz"), dir.File("lab"));
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->size(), 4u);
  EXPECT_EQ(data->labels[1], 9);

  // A gzip file cut short: an error, never a crash or a silently short read.
  auto gz = ReadFile(dir.File("img.gz"));
  for (size_t keep : {gz.size() / 2, gz.size() - 4, size_t{12}}) {
    std::vector<uint8_t> cut(gz.begin(), gz.begin() + static_cast<long>(keep));
    WriteFile(dir.File("cut.gz"), cut);
    auto r = ReadIdxImages(dir.File("cut.gz"));
    ASSERT_FALSE(r.ok()) << keep;
    EXPECT_EQ(r.status().code(), Code::kDataLoss) << r.status().ToString();
  }
  // Corrupt deflate data.
  auto bad = gz;
  for (size_t i = 20; i < bad.size() - 8; ++i) bad[i] ^= 0x5a;
  WriteFile(dir.File("bad.gz"), bad);
  EXPECT_FALSE(ReadIdxImages(dir.File("bad.gz")).ok());

  EXPECT_EQ(ReadIdxImages(dir.File("missing.gz")).status().code(), Code::kNotFound);
  // Counts that disagree.
  WriteFile(dir.File("lab3"), LabelsIdx({1, 2, 3}));
  EXPECT_EQ(ReadIdxDataset(dir.File("img.gz"), dir.File("lab3")).status().code(),
            Code::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Normalization

cv::Mat Paper(int w, int h) { return cv::Mat(h, w, CV_8UC1, cv::Scalar(235)); }

TEST(Normalize, RejectsBadInput) {
  EXPECT_EQ(NormalizeDigitCrop(cv::Mat()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NormalizeDigitCrop(cv::Mat(40, 40, CV_32FC1, cv::Scalar(1))).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(NormalizeDigitCrop(cv::Mat(5, 40, CV_8UC1, cv::Scalar(255))).status().code(),
            Code::kInvalidArgument);
}

TEST(Normalize, EmptyBoxes) {
  // Blank paper of a few sizes.
  for (cv::Size s : {cv::Size(8, 8), cv::Size(40, 52), cv::Size(300, 200)}) {
    auto r = NormalizeDigitCrop(Paper(s.width, s.height));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->empty) << s;
  }
  // Paper with sensor noise and a lighting gradient.
  cv::Mat noisy = Paper(80, 64);
  cv::RNG rng(7);
  cv::Mat noise(noisy.size(), CV_16SC1);
  rng.fill(noise, cv::RNG::NORMAL, 0, 5);
  cv::Mat tmp;
  noisy.convertTo(tmp, CV_16SC1);
  tmp += noise;
  for (int c = 0; c < tmp.cols; ++c) tmp.col(c) -= c / 2;  // darker to the right
  tmp.convertTo(noisy, CV_8UC1);
  auto r = NormalizeDigitCrop(noisy);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty);

  // A faint smudge and a speck of dust.
  cv::Mat smudge = Paper(70, 70);
  cv::circle(smudge, {35, 35}, 12, cv::Scalar(215), cv::FILLED);
  cv::circle(smudge, {10, 50}, 1, cv::Scalar(40), cv::FILLED);
  r = NormalizeDigitCrop(smudge);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty);

  // Only the printed box border, at the crop's edges (the box itself is empty).
  cv::Mat border = Paper(90, 80);
  cv::rectangle(border, {0, 0}, {89, 79}, cv::Scalar(30), 3);
  r = NormalizeDigitCrop(border);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty);
  cv::Mat part = Paper(90, 80);
  cv::line(part, {0, 78}, {89, 78}, cv::Scalar(40), 2);  // one side
  cv::line(part, {1, 0}, {1, 79}, cv::Scalar(40), 2);
  r = NormalizeDigitCrop(part);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty);
}

// Specks scattered over an empty box (JPEG noise around a small photo's printed guide) cover
// enough of it, and spread wide enough, to pass for ink; none of them is a stroke.
TEST(Normalize, ScatteredSpecksAreNotADigit) {
  cv::Mat specks = Paper(60, 60);
  for (int y = 10; y <= 50; y += 13)
    for (int x = 10; x <= 50; x += 13) cv::circle(specks, {x, y}, 2, cv::Scalar(60), cv::FILLED);
  NormalizeOptions no_rule;
  no_rule.min_stroke_extent = 0;
  auto r = NormalizeDigitCrop(specks, no_rule);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->empty) << "the specks should pass the ink-share and ink-extent tests";
  r = NormalizeDigitCrop(specks);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty);
  EXPECT_LT(r->stroke_extent, 0.2);
  // One stroke among the specks makes it a digit again (a 1 written in a noisy box).
  cv::line(specks, {30, 12}, {31, 48}, cv::Scalar(40), 3);
  r = NormalizeDigitCrop(specks);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->empty);
  EXPECT_GT(r->stroke_extent, 0.5);
}

TEST(Normalize, OutputLooksLikeMnist) {
  cv::Mat img = Paper(120, 90);
  cv::line(img, {60, 15}, {60, 75}, cv::Scalar(20), 8);  // a tall "1"
  auto r = NormalizeDigitCrop(img);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->empty);
  const cv::Mat m = ToMat(r->pixels);
  // Ink is bright on black; the bounding box is 20 pixels tall, centred by mass.
  const cv::Rect box = cv::boundingRect(m > 40);
  EXPECT_NEAR(box.height, 20, 2);
  EXPECT_LT(box.width, 10);
  const cv::Moments mo = cv::moments(m, false);
  EXPECT_NEAR(mo.m10 / mo.m00, 14.0, 1.0);
  EXPECT_NEAR(mo.m01 / mo.m00, 14.0, 1.0);
  EXPECT_EQ(m.at<uint8_t>(0, 0), 0);
  EXPECT_GT(r->ink_box.height, 55);
  // Colour input works the same.
  cv::Mat bgr;
  cv::cvtColor(img, bgr, cv::COLOR_GRAY2BGR);
  auto c = NormalizeDigitCrop(bgr);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->pixels, r->pixels);
}

// ---------------------------------------------------------------------------------------------
// Augmentation

// A "0" whose left half the pen drew lightly: the ink threshold drops that half; with
// weak_ratio the fainter stretch, connected to the dark one, is kept as ink of full strength.
TEST(Normalize, WeakRatioKeepsTheFaintStretchOfAStroke) {
  auto ring = [](int left_grey) {
    cv::Mat crop = Paper(64, 64);
    cv::ellipse(crop, cv::Point(32, 32), cv::Size(14, 20), 0, 90, 270, cv::Scalar(left_grey), 4, cv::LINE_AA);
    cv::ellipse(crop, cv::Point(32, 32), cv::Size(14, 20), 0, -90, 90, cv::Scalar(40), 4, cv::LINE_AA);
    return crop;
  };
  auto distance = [](const Image28& a, const Image28& b) {
    double d = 0;
    for (size_t i = 0; i < a.size(); ++i) d += std::abs(double(a[i]) - double(b[i]));
    return d / a.size();
  };
  auto whole = NormalizeDigitCrop(ring(40));  // drawn dark all round
  auto plain = NormalizeDigitCrop(ring(165));
  NormalizeOptions o;
  o.weak_ratio = 0.5;
  auto faint = NormalizeDigitCrop(ring(165), o);
  ASSERT_TRUE(whole.ok() && plain.ok() && faint.ok());
  ASSERT_FALSE(whole->empty || plain->empty || faint->empty);
  // Plain: the light half is dropped and the dark ")" alone is scaled to fill the box, far from
  // the ring. With weak_ratio: nearly the ring drawn dark all round.
  const double d_plain = distance(plain->pixels, whole->pixels), d_faint = distance(faint->pixels, whole->pixels);
  EXPECT_LT(d_faint, 0.6 * d_plain) << d_faint << " vs " << d_plain;
  // Off (the default) is the plain normalization, pixel for pixel.
  EXPECT_EQ(NormalizeDigitCrop(ring(165), NormalizeOptions{})->pixels, plain->pixels);
}

// A thin "3" in two pieces (a ballpoint that skipped) beside a piece of the box's border left
// along the crop's left side, a few px in: the border is not read as a stroke (the digit is
// normalized as it is without it); a "1" written along that side alone is still a digit.
TEST(Normalize, BorderLeftAlongASideIsNotAStroke) {
  auto three = [](bool border) {
    cv::Mat crop = Paper(60, 72);
    cv::ellipse(crop, cv::Point(30, 24), cv::Size(12, 11), 0, -170, 80, cv::Scalar(120), 2, cv::LINE_AA);
    cv::ellipse(crop, cv::Point(30, 49), cv::Size(13, 12), 0, -80, 170, cv::Scalar(120), 2, cv::LINE_AA);
    if (border) cv::line(crop, cv::Point(2, 12), cv::Point(2, 60), cv::Scalar(120), 2);
    return crop;
  };
  auto with = NormalizeDigitCrop(three(true)), without = NormalizeDigitCrop(three(false));
  ASSERT_TRUE(with.ok() && without.ok());
  ASSERT_FALSE(with->empty || without->empty);
  // The border piece is as long as the upper arc: the fragment test (a quarter of the largest
  // piece) keeps it.
  EXPECT_GT(with->ink_box.x, 10) << "the border was kept as ink";
  double d = 0;
  for (size_t i = 0; i < with->pixels.size(); ++i) d += std::abs(double(with->pixels[i]) - double(without->pixels[i]));
  EXPECT_LT(d / with->pixels.size(), 2.0);
  // Nothing else in the box: the stroke along the side is the digit.
  cv::Mat one = Paper(60, 72);
  cv::line(one, cv::Point(3, 10), cv::Point(3, 62), cv::Scalar(60), 3);
  auto r = NormalizeDigitCrop(one);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->empty);
}

TEST(Augment, SeededAndReproducible) {
  Image28 img{};
  cv::Mat m = ToMat(img);
  cv::line(m, {14, 4}, {14, 23}, cv::Scalar(255), 2);
  img = FromMat(m);
  AugmentOptions always;
  always.probability = 1;
  std::mt19937 a(42), b(42);
  int changed = 0;
  for (int i = 0; i < 50; ++i) {
    const Image28 x = AugmentDigit(img, a, always);
    EXPECT_EQ(x, AugmentDigit(img, b, always));
    changed += x != img;
  }
  EXPECT_GE(changed, 45);
  AugmentOptions never;
  never.probability = 0;
  EXPECT_EQ(AugmentDigit(img, a, never), img);
}

// A flag down to the left from the top of the upright, a base along its foot; fitted and
// centred as MNIST's digits are.
TEST(Augment, FlagOneDrawsAFlagAndABase) {
  Image28 one{};
  cv::Mat m = ToMat(one);
  cv::line(m, {14, 4}, {14, 23}, cv::Scalar(255), 2);
  one = FromMat(m);
  auto ink = [](const Image28& a, int x0, int y0, int x1, int y1) {  // ink in [x0, x1) x [y0, y1)
    int n = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) n += a[size_t(y * kMnistSide + x)] > 127;
    return n;
  };
  auto box_and_centre = [](const Image28& a) {
    const cv::Mat mat = ToMat(a);
    const cv::Moments mo = cv::moments(mat, false);
    return std::make_tuple(cv::boundingRect(mat > 20), mo.m10 / mo.m00, mo.m01 / mo.m00);
  };
  const auto [ubox, ux, uy] = box_and_centre(one);
  const Image28 flagged = FlagOne(one, 0.35, 40, 0);
  const auto [fbox, fx, fy] = box_and_centre(flagged);
  EXPECT_GT(fbox.width, ubox.width + 4);  // the flag widens it to the left
  EXPECT_LE(fbox.width, 21);
  EXPECT_LE(fbox.height, 21);
  EXPECT_NEAR(fx, 14, 0.6);
  EXPECT_NEAR(fy, 14, 0.6);
  // The flag's ink is left of the upright in its top third; nothing to its right or at its foot.
  const int col = static_cast<int>(std::lround(fx));  // the upright stays near the centre of mass
  EXPECT_GE(ink(flagged, 0, 0, col - 2, fbox.y + fbox.height / 3), 4);
  EXPECT_EQ(ink(one, 0, 0, static_cast<int>(std::lround(ux)) - 2, kMnistSide), 0);
  EXPECT_EQ(ink(flagged, col + 3, 0, kMnistSide, kMnistSide), 0);
  EXPECT_EQ(ink(flagged, 0, fbox.y + fbox.height * 2 / 3, col - 2, kMnistSide), 0);
  // With a base: ink on both sides of the upright along its foot.
  const Image28 based = FlagOne(one, 0.35, 40, 0.5);
  const auto [bbox, bx, by] = box_and_centre(based);
  const int foot = bbox.y + bbox.height - 3;
  EXPECT_GT(ink(based, 0, foot, static_cast<int>(bx) - 2, kMnistSide), 2);
  EXPECT_GT(ink(based, static_cast<int>(bx) + 2, foot, kMnistSide, kMnistSide), 2);
  // Deterministic; nothing to flag is returned unchanged.
  EXPECT_EQ(FlagOne(one, 0.35, 40, 0.5), based);
  EXPECT_EQ(FlagOne(Image28{}, 0.3, 45, 0.4), Image28{});
  Image28 speck{};
  speck[size_t(14 * kMnistSide + 14)] = 255;
  EXPECT_EQ(FlagOne(speck, 0.3, 45, 0.4), speck);
}

// A bar across a 7's stem at the height asked, centred on the stem, level or tilted; fitted and
// centred as MNIST's digits are.
TEST(Augment, CrossSevenDrawsABarAcrossTheStem) {
  Image28 seven{};
  cv::Mat m = ToMat(seven);
  cv::line(m, {6, 4}, {21, 4}, cv::Scalar(255), 2);   // the top bar
  cv::line(m, {21, 4}, {12, 23}, cv::Scalar(255), 2);  // the stem, down to the left
  seven = FromMat(m);
  // Per row, the ink's width (pixels > 127); the bar makes the rows it crosses wider.
  auto widest = [](const Image28& a, int y0, int y1) {
    int w = 0;
    for (int y = y0; y < y1; ++y) {
      int first = -1, last = -1;
      for (int x = 0; x < kMnistSide; ++x)
        if (a[size_t(y * kMnistSide + x)] > 127) last = x, first = first < 0 ? x : first;
      if (first >= 0) w = std::max(w, last - first + 1);
    }
    return w;
  };
  const Image28 crossed = CrossSeven(seven, 0.5, 0.5, 0);
  const cv::Mat cm = ToMat(crossed);
  const cv::Rect box = cv::boundingRect(cm > 20);
  const cv::Moments mo = cv::moments(cm, false);
  EXPECT_LE(box.width, 21);
  EXPECT_LE(box.height, 21);
  EXPECT_NEAR(mo.m10 / mo.m00, 14, 0.6);
  EXPECT_NEAR(mo.m01 / mo.m00, 14, 0.6);
  // The stem alone is at most 5 px wide in every row of its middle; the bar makes a row there at
  // least a third of the digit's height wide, and no row of the stem's lower part is so wide.
  const int mid0 = box.y + box.height * 3 / 10, mid1 = box.y + box.height * 7 / 10;
  EXPECT_GE(widest(crossed, mid0, mid1), box.height / 3);
  EXPECT_LE(widest(crossed, box.y + box.height * 8 / 10, box.y + box.height), 5);
  const cv::Rect sbox = cv::boundingRect(ToMat(seven) > 20);
  EXPECT_LE(widest(seven, sbox.y + sbox.height * 3 / 10, sbox.y + sbox.height * 7 / 10), 5);
  // A tilt draws another bar.
  const Image28 tilted = CrossSeven(seven, 0.6, 0.5, 15);
  EXPECT_NE(tilted, crossed);
  // Deterministic; nothing to cross is returned unchanged.
  EXPECT_EQ(CrossSeven(seven, 0.5, 0.5, 0), crossed);
  EXPECT_EQ(CrossSeven(Image28{}, 0.5, 0.5, 0), Image28{});
  Image28 speck{};
  speck[size_t(14 * kMnistSide + 14)] = 255;
  EXPECT_EQ(CrossSeven(speck, 0.5, 0.5, 0), speck);
}

// The slant of a stroke, as DeskewDigit measures it: mu11 / mu02 of the ink about its centre
// of mass, and the centre itself.
std::array<double, 3> SlantAndCentre(const Image28& a) {
  double m = 0, sx = 0, sy = 0, mu11 = 0, mu02 = 0;
  for (int y = 0; y < kMnistSide; ++y)
    for (int x = 0; x < kMnistSide; ++x) {
      const double v = a[size_t(y * kMnistSide + x)];
      m += v, sx += v * x, sy += v * y;
    }
  const double cx = sx / m, cy = sy / m;
  for (int y = 0; y < kMnistSide; ++y)
    for (int x = 0; x < kMnistSide; ++x) {
      const double v = a[size_t(y * kMnistSide + x)];
      mu11 += v * (x - cx) * (y - cy), mu02 += v * (y - cy) * (y - cy);
    }
  return {mu11 / mu02, cx, cy};
}

TEST(Deskew, TakesTheSlantOutAboutTheCentre) {
  Image28 img{};
  cv::Mat m = ToMat(img);
  cv::line(m, {9, 5}, {18, 22}, cv::Scalar(255), 2);  // a "1" leaning right
  img = FromMat(m);
  const auto before = SlantAndCentre(img);
  EXPECT_GT(before[0], 0.4);
  const Image28 d = DeskewDigit(img);
  const auto after = SlantAndCentre(d);
  EXPECT_LT(std::abs(after[0]), 0.05) << "slant " << before[0] << " -> " << after[0];
  EXPECT_NEAR(after[1], before[1], 0.5);
  EXPECT_NEAR(after[2], before[2], 0.5);
  // Leaning left, the same.
  cv::Mat l = cv::Mat::zeros(kMnistSide, kMnistSide, CV_8U);
  cv::line(l, {18, 5}, {9, 22}, cv::Scalar(255), 2);
  EXPECT_LT(std::abs(SlantAndCentre(DeskewDigit(FromMat(l)))[0]), 0.05);
  // An upright stroke, an empty image and a flat dash are left as they are.
  Image28 up{};
  cv::Mat u = ToMat(up);
  cv::line(u, {14, 4}, {14, 23}, cv::Scalar(255), 2);
  up = FromMat(u);
  EXPECT_EQ(DeskewDigit(up), up);
  EXPECT_EQ(DeskewDigit(Image28{}), Image28{});
  Image28 dash{};
  for (int x = 8; x < 20; ++x) dash[size_t(14 * kMnistSide + x)] = 255;
  EXPECT_EQ(DeskewDigit(dash), dash);
}

// ---------------------------------------------------------------------------------------------
// The committed model

class CommittedModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kModelPath)) return;
    auto m = DigitModel::Load(kModelPath);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = new DigitModel(std::move(m).value());
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  void SetUp() override {
    if (model_ == nullptr) GTEST_SKIP() << "no model at " << kModelPath;
  }
  static DigitModel* model_;
};
DigitModel* CommittedModel::model_ = nullptr;

// The acceptance bar of issue 3 on the whole MNIST test set (never used in training), with
// the first 2,000 digits reported on their own.
TEST_F(CommittedModel, AccuracyOnMnistTestSet) {
  if (!HaveMnist()) GTEST_SKIP() << "MNIST not found in " << kMnistDir;
  auto test = ReadIdxDataset(kMnistDir + "/t10k-images-idx3-ubyte.gz",
                             kMnistDir + "/t10k-labels-idx1-ubyte.gz");
  ASSERT_TRUE(test.ok()) << test.status().ToString();
  ASSERT_EQ(test->size(), 10000u);
  DigitDataset first;
  first.images.assign(test->images.begin(), test->images.begin() + 2000);
  first.labels.assign(test->labels.begin(), test->labels.begin() + 2000);
  const double all = model_->Accuracy(*test), head = model_->Accuracy(first);
  std::cout << "MNIST test accuracy " << all << " (first 2000: " << head << ")\n";
  EXPECT_GE(all, 0.993);
  EXPECT_GE(head, 0.985);
}

TEST_F(CommittedModel, ProbabilitiesAreASoftmaxAndBatchMatchesSingle) {
  std::vector<Image28> imgs(5);
  for (size_t i = 0; i < imgs.size(); ++i) {
    cv::Mat m = ToMat(imgs[i]);
    cv::circle(m, {14, 14}, 3 + static_cast<int>(i) * 2, cv::Scalar(255), 2);
    imgs[i] = FromMat(m);
  }
  const auto batch = model_->ClassifyBatch(imgs);
  ASSERT_EQ(batch.size(), imgs.size());
  for (size_t i = 0; i < imgs.size(); ++i) {
    const DigitPrediction p = model_->Classify(imgs[i]);
    float sum = 0;
    for (int k = 0; k < 10; ++k) {
      EXPECT_GE(p.prob[k], 0.0f);
      EXPECT_LE(p.prob[k], 1.0f);
      EXPECT_NEAR(p.prob[k], batch[i].prob[k], 1e-5);
      sum += p.prob[k];
    }
    EXPECT_NEAR(sum, 1.0f, 1e-4);
    EXPECT_EQ(p.digit, batch[i].digit);
    EXPECT_EQ(p.confidence, p.prob[p.digit]);
    EXPECT_NE(p.runner_up, p.digit);
    EXPECT_LE(p.runner_up_prob, p.confidence);
  }
}

// Draws a digit with strokes on white paper of the given size. `s` scales a 100x100 design.
cv::Mat DrawDigit(int digit, cv::Size size, int thickness) {
  cv::Mat img(size, CV_8UC1, cv::Scalar(240));
  const double sx = size.width / 100.0, sy = size.height / 100.0;
  auto P = [&](double x, double y) {
    return cv::Point(static_cast<int>(x * sx), static_cast<int>(y * sy));
  };
  const cv::Scalar ink(25);
  switch (digit) {
    case 0:
      cv::ellipse(img, P(50, 50), cv::Size(static_cast<int>(22 * sx), static_cast<int>(33 * sy)),
                  0, 0, 360, ink, thickness);
      break;
    case 1:
      cv::line(img, P(52, 15), P(50, 85), ink, thickness);
      cv::line(img, P(52, 15), P(40, 28), ink, thickness);
      break;
    case 4:
      cv::line(img, P(55, 15), P(28, 62), ink, thickness);
      cv::line(img, P(28, 62), P(75, 62), ink, thickness);
      cv::line(img, P(62, 35), P(62, 85), ink, thickness);
      break;
    case 7:
      cv::line(img, P(28, 18), P(72, 18), ink, thickness);
      cv::line(img, P(72, 18), P(45, 85), ink, thickness);
      break;
  }
  return img;
}

TEST_F(CommittedModel, SyntheticDrawnDigitsNormalizeAndClassify) {
  struct Case {
    int digit;
    cv::Size size;
    int thickness;
  };
  const Case cases[] = {
      {1, {60, 80}, 5},  {1, {150, 120}, 9}, {1, {40, 40}, 3},  {7, {60, 80}, 5},
      {7, {150, 120}, 9}, {7, {45, 38}, 3},  {0, {70, 90}, 6},  {0, {200, 160}, 12},
      {4, {70, 90}, 6},  {4, {140, 110}, 8},
  };
  for (const Case& c : cases) {
    const cv::Mat img = DrawDigit(c.digit, c.size, c.thickness);
    auto n = NormalizeDigitCrop(img);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_FALSE(n->empty) << c.digit << " " << c.size;
    const DigitPrediction p = model_->Classify(n->pixels);
    EXPECT_EQ(p.digit, c.digit) << "size " << c.size << " thickness " << c.thickness
                                << " confidence " << p.confidence;
  }
  // Hershey font digits (printed, not handwritten, but a useful sanity check).
  for (int digit : {1, 7}) {
    cv::Mat img(90, 70, CV_8UC1, cv::Scalar(245));
    cv::putText(img, std::to_string(digit), {12, 75}, cv::FONT_HERSHEY_SIMPLEX, 2.6,
                cv::Scalar(20), 6);
    auto n = NormalizeDigitCrop(img);
    ASSERT_TRUE(n.ok());
    ASSERT_FALSE(n->empty);
    EXPECT_EQ(model_->Classify(n->pixels).digit, digit);
  }
}

TEST_F(CommittedModel, BoxBorderDoesNotTurnSevenIntoOne) {
  // The crop includes the printed box on all sides; the 7's bar must survive border removal.
  cv::Mat img = DrawDigit(7, {100, 110}, 7);
  cv::rectangle(img, {0, 0}, {99, 109}, cv::Scalar(20), 3);
  auto n = NormalizeDigitCrop(img);
  ASSERT_TRUE(n.ok());
  ASSERT_FALSE(n->empty);
  EXPECT_EQ(model_->Classify(n->pixels).digit, 7);
}

// MNIST test digits as a small photo taken in dim light shows them: ink of 15 on paper of 70
// (a third of the usual light), at about 1.4 px per MNIST pixel, under the camera's amplified
// grain, fine and in blotches a few pixels wide. Thresholded as they are, the blotches grow onto
// the strokes or fill the box and the CNN reads an 8; smoothed in proportion to the grain
// (NormalizeOptions::grain_limit) most digits read right, and the empty boxes stay empty.
TEST_F(CommittedModel, GrainyDimDigitsStayReadable) {
  if (!HaveMnist()) GTEST_SKIP() << "MNIST not found in " << kMnistDir;
  auto test = ReadIdxDataset(kMnistDir + "/t10k-images-idx3-ubyte.gz",
                             kMnistDir + "/t10k-labels-idx1-ubyte.gz", 400);
  ASSERT_TRUE(test.ok());
  cv::RNG rng(20241214);
  auto grainy = [&](const cv::Mat* digit) {
    cv::Mat crop(46, 36, CV_32FC1, cv::Scalar(70));
    if (digit != nullptr) {
      cv::Mat ink;
      cv::resize(*digit, ink, cv::Size(39, 39), 0, 0, cv::INTER_LINEAR);
      ink.convertTo(ink, CV_32FC1, 55.0 / 255.0);
      crop(cv::Rect(0, 4, 36, 39)) -= ink(cv::Rect(1, 0, 36, 39));
    }
    cv::Mat coarse(23, 18, CV_32FC1), fine(crop.size(), CV_32FC1);
    rng.fill(coarse, cv::RNG::NORMAL, 0, 7);
    rng.fill(fine, cv::RNG::NORMAL, 0, 4);
    cv::resize(coarse, coarse, crop.size(), 0, 0, cv::INTER_LINEAR);
    cv::Mat out;
    cv::Mat(crop + coarse + fine).convertTo(out, CV_8UC1);
    return out;
  };
  NormalizeOptions plain;
  plain.grain_limit = 0;
  int right = 0, right_plain = 0, written = 0, empty_kept = 0, empty_kept_plain = 0, grain_low = 0;
  for (size_t i = 0; i < test->size(); ++i) {
    const cv::Mat digit = ToMat(test->images[i]);
    const cv::Mat photo = grainy(&digit);
    for (const bool smooth : {true, false}) {
      auto n = NormalizeDigitCrop(photo, smooth ? NormalizeOptions{} : plain);
      ASSERT_TRUE(n.ok());
      const bool ok = !n->empty && model_->Classify(n->pixels).digit == test->labels[i];
      (smooth ? right : right_plain) += ok;
      if (smooth) grain_low += n->grain <= NormalizeOptions{}.grain_limit;
    }
    ++written;
    const cv::Mat blank = grainy(nullptr);
    auto e = NormalizeDigitCrop(blank);
    auto ep = NormalizeDigitCrop(blank, plain);
    ASSERT_TRUE(e.ok() && ep.ok());
    empty_kept += e->empty;
    empty_kept_plain += ep->empty;
  }
  std::printf("grainy dim digits read right: %d of %d smoothed, %d as they are; empty boxes empty: %d and %d of %d; "
              "grain under the limit: %d\n", right, written, right_plain, empty_kept, empty_kept_plain, written, grain_low);
  // Measured at this commit: 397 of 400 smoothed (400 as they are); 342 empty boxes against 0.
  EXPECT_EQ(grain_low, 0) << "every crop here has more grain than the limit";
  EXPECT_GE(right, 380) << "smoothing must keep the digits readable";
  EXPECT_GE(empty_kept, 300) << "the grain of an empty box must not pass for a digit";
  EXPECT_LE(empty_kept_plain, 40) << "without the smoothing the grain is read as ink: the test must show it";
  // A usual photo's box is under the limit and is not smoothed: the same digit as before.
  const cv::Mat clean = 235 - ToMat(test->images[0]) * (205.0 / 255.0);
  auto a = NormalizeDigitCrop(clean), b = NormalizeDigitCrop(clean, plain);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LE(a->grain, NormalizeOptions{}.grain_limit);
  EXPECT_EQ(a->pixels, b->pixels);
}

TEST_F(CommittedModel, RenormalizedMnistStaysAccurate) {
  // MNIST test digits printed as dark ink on paper at 3x size, then normalized again: checks
  // that NormalizeDigitCrop produces what the network was trained on.
  if (!HaveMnist()) GTEST_SKIP() << "MNIST not found in " << kMnistDir;
  auto test = ReadIdxDataset(kMnistDir + "/t10k-images-idx3-ubyte.gz",
                             kMnistDir + "/t10k-labels-idx1-ubyte.gz", 500);
  ASSERT_TRUE(test.ok());
  std::vector<Image28> renorm;
  std::vector<uint8_t> labels;
  for (size_t i = 0; i < test->size(); ++i) {
    cv::Mat paper = 235 - ToMat(test->images[i]) * (205.0 / 255.0);
    cv::resize(paper, paper, cv::Size(), 3, 3, cv::INTER_CUBIC);
    auto n = NormalizeDigitCrop(paper);
    ASSERT_TRUE(n.ok());
    if (n->empty) continue;  // a few MNIST digits are very faint
    renorm.push_back(n->pixels);
    labels.push_back(test->labels[i]);
  }
  EXPECT_GE(renorm.size(), 495u);
  const auto pred = model_->ClassifyBatch(renorm);
  size_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i].digit == labels[i];
  EXPECT_GE(static_cast<double>(correct) / pred.size(), 0.97);
}

TEST(DigitModelLoad, ReportsMissingAndCorruptFiles) {
  EXPECT_EQ(DigitModel::Load("/nonexistent/digits.dnn").status().code(), Code::kNotFound);
  TempDir dir;
  WriteFile(dir.File("junk.dnn"), std::vector<uint8_t>(100, 0x42));
  auto r = DigitModel::Load(dir.File("junk.dnn"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().code() == Code::kDataLoss ||
              r.status().code() == Code::kInvalidArgument)
      << r.status().ToString();
  if (fs::exists(kModelPath)) {  // a truncated copy of the real model
    auto bytes = ReadFile(kModelPath);
    bytes.resize(bytes.size() / 2);
    WriteFile(dir.File("half.dnn"), bytes);
    EXPECT_FALSE(DigitModel::Load(dir.File("half.dnn")).ok());
  }
}

// ---------------------------------------------------------------------------------------------
// Training smoke test: 300 digits, one epoch. Deterministic for a seed.

DigitDataset SmokeData() {
  DigitDataset d;
  if (HaveMnist()) {
    auto r = ReadIdxDataset(kMnistDir + "/train-images-idx3-ubyte.gz",
                            kMnistDir + "/train-labels-idx1-ubyte.gz", 300);
    if (r.ok()) return std::move(r).value();
  }
  // Without MNIST: simple synthetic strokes, labelled by shape.
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    const int digit = std::array<int, 4>{0, 1, 4, 7}[i % 4];
    auto n = NormalizeDigitCrop(DrawDigit(digit, {60 + static_cast<int>(rng() % 40), 80}, 5));
    d.images.push_back(n.ok() ? n->pixels : Image28{});
    d.labels.push_back(static_cast<uint8_t>(digit));
  }
  return d;
}

TrainOptions SmokeOptions(int epochs, uint32_t seed) {
  TrainOptions opt;
  opt.epochs = epochs;
  opt.seed = seed;
  opt.batch_size = 32;
  return opt;
}

TEST(DigitTrain, SmokeTrainSaveLoadAndReproducible) {
  const DigitDataset data = SmokeData();
  TrainOptions opt = SmokeOptions(1, 5);
  int epochs_seen = 0;
  opt.on_epoch = [&](const EpochReport& r) {
    ++epochs_seen;
    EXPECT_EQ(r.epoch, 1);
    EXPECT_TRUE(std::isfinite(r.train_loss));
  };
  auto a = DigitModel::Train(data, opt);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(epochs_seen, 1);
  auto b = DigitModel::Train(data, opt);
  ASSERT_TRUE(b.ok());

  const std::span<const Image28> some(data.images.data(), 20);
  const auto pa = a->ClassifyBatch(some);
  const auto pb = b->ClassifyBatch(some);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].prob, pb[i].prob) << i;

  TempDir dir;
  ASSERT_TRUE(a->Save(dir.File("m.dnn")).ok());
  auto loaded = DigitModel::Load(dir.File("m.dnn"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const auto pl = loaded->ClassifyBatch(some);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].prob, pl[i].prob) << i;
  EXPECT_GT(a->ParameterCount(), 100000u);
}

// A training set whose last mini-batch would leave a replica one digit (65 digits in batches of
// 32 on two replicas: the last batch holds one) trains; batch norm cannot normalize one digit,
// and dlib stopped the run with "src.num_samples() > 1". A batch smaller than two digits per
// replica is refused.
TEST(DigitTrain, LastBatchTooSmallForBatchNormIsLeftOut) {
  const DigitDataset all = SmokeData();
  TrainOptions opt = SmokeOptions(2, 5);
  for (const size_t size : {65, 66, 67}) {  // last batches of 1, 2 and 3 (parts of 2 and 1)
    DigitDataset data = all;
    data.images.resize(size);
    data.labels.resize(size);
    auto m = DigitModel::Train(data, opt);
    EXPECT_TRUE(m.ok()) << size << ": " << m.status().ToString();
  }
  opt.batch_size = 3;  // two replicas: parts of 2 and 1 in every batch
  EXPECT_EQ(DigitModel::Train(all, opt).status().code(), Code::kInvalidArgument);
}

// Fine-tuning (TrainOptions::init) starts from the model's weights: its folded batch norms
// unfolded under the first digits' statistics, the network reads as the model does before the
// first step. At a learning rate too small to move anything, the fine-tuned network agrees
// with the model on the smoke digits; trained from scratch so, it reads them at chance.
TEST(DigitTrain, FineTuneStartsWhereTheModelIs) {
  if (!fs::exists(kModelPath)) GTEST_SKIP() << "no model at " << kModelPath;
  auto model = DigitModel::Load(kModelPath);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const DigitDataset data = SmokeData();
  TrainOptions opt = SmokeOptions(1, 5);
  opt.peak_learning_rate = opt.final_learning_rate = 1e-9;
  opt.init = &*model;
  auto tuned = DigitModel::Train(data, opt);
  ASSERT_TRUE(tuned.ok()) << tuned.status().ToString();
  const auto pm = model->ClassifyBatch(data.images);
  const auto pt = tuned->ClassifyBatch(data.images);
  int same = 0;
  double diff = 0;
  for (size_t i = 0; i < pm.size(); ++i) {
    same += pm[i].digit == pt[i].digit;
    diff += std::abs(pm[i].prob[size_t(pm[i].digit)] - pt[i].prob[size_t(pm[i].digit)]);
  }
  std::printf("fine-tuned from the model: %d of %zu read as the model reads them, mean |dp| %.4f; accuracy %.3f "
              "(model %.3f)\n", same, pm.size(), diff / double(pm.size()), tuned->Accuracy(data), model->Accuracy(data));
  EXPECT_GE(same, int(pm.size()) - 3);
  EXPECT_LT(diff / double(pm.size()), 0.02);

  opt.init = nullptr;
  auto scratch = DigitModel::Train(data, opt);
  ASSERT_TRUE(scratch.ok());
  EXPECT_LT(scratch->Accuracy(data), 0.5);
  EXPECT_GT(tuned->Accuracy(data), scratch->Accuracy(data) + 0.3);

  // A model that reads deskewed digits cannot start a network that reads them as they are.
  opt.init = &*model;
  opt.deskew = !model->deskew();
  auto mismatch = DigitModel::Train(data, opt);
  EXPECT_EQ(mismatch.status().code(), Code::kInvalidArgument);
}

// The data-parallel loop: each replica's part of the batch counts by its size and the replicas
// stay in step. Three replicas of a batch of 32 (parts of 11, 11 and 10; the epoch's last batch
// of 12 in parts of 4) learn as one does, reproducibly, but give another model than one. (With
// the replicas' parameters left out of step, 3 replicas reached 0.51.)
TEST(DigitTrain, ReplicasLearnLikeOneNetwork) {
  const DigitDataset data = SmokeData();
  TrainOptions opt = SmokeOptions(4, 9);
  opt.augment.probability = 0;
  auto train_accuracy = [&](int threads, DigitModel* out = nullptr) {
    opt.threads = threads;
    auto m = DigitModel::Train(data, opt);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return -1.0;
    const double acc = m->Accuracy(data);
    if (out != nullptr) *out = std::move(m).value();
    return acc;
  };
  DigitModel one, three, again;
  const double a1 = train_accuracy(1, &one);
  const double a3 = train_accuracy(3, &three);
  train_accuracy(3, &again);
  std::printf("training accuracy: 1 replica %.3f, 3 replicas %.3f\n", a1, a3);
  EXPECT_GT(a1, 0.85);
  EXPECT_GT(a3, 0.85);
  EXPECT_NEAR(a1, a3, 0.08);
  const std::span<const Image28> some(data.images.data(), 20);
  const auto p1 = one.ClassifyBatch(some), p3 = three.ClassifyBatch(some),
             pa = again.ClassifyBatch(some);
  bool differs = false;
  for (size_t i = 0; i < p3.size(); ++i) {
    EXPECT_EQ(p3[i].prob, pa[i].prob) << i;
    differs = differs || p1[i].prob != p3[i].prob;
  }
  EXPECT_TRUE(differs);
}

// A network trained on deskewed digits says so in its file (format version 2) and deskews what
// it is given; one trained without stays version 1, as the committed models are.
TEST(DigitTrain, DeskewIsRecordedInTheModelFile) {
  const DigitDataset data = SmokeData();
  TrainOptions opt = SmokeOptions(1, 5);
  opt.deskew = true;
  auto a = DigitModel::Train(data, opt);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->deskew());
  TempDir dir;
  ASSERT_TRUE(a->Save(dir.File("d.dnn")).ok());
  auto loaded = DigitModel::Load(dir.File("d.dnn"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->deskew());
  const std::span<const Image28> some(data.images.data(), 20);
  const auto pa = a->ClassifyBatch(some), pl = loaded->ClassifyBatch(some);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].prob, pl[i].prob) << i;
  // Deskewing is applied in training and in classifying alike: without augmentation, a
  // network trained with it reads each digit exactly as one trained without it reads the digit
  // deskewed beforehand.
  opt.augment.probability = 0;
  auto with = DigitModel::Train(data, opt);
  ASSERT_TRUE(with.ok());
  DigitDataset pre = data;
  for (Image28& x : pre.images) x = DeskewDigit(x);
  opt.deskew = false;
  auto without = DigitModel::Train(pre, opt);
  ASSERT_TRUE(without.ok());
  const std::span<const Image28> some_pre(pre.images.data(), 20);
  const auto pw = with->ClassifyBatch(some), pp = without->ClassifyBatch(some_pre);
  for (size_t i = 0; i < pw.size(); ++i) EXPECT_EQ(pw[i].prob, pp[i].prob) << i;
  EXPECT_NE(with->ClassifyBatch(some)[0].prob, without->ClassifyBatch(some)[0].prob);
  opt.augment.probability = 0.8;
  auto plain = DigitModel::Train(data, opt);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->deskew());
  ASSERT_TRUE(plain->Save(dir.File("p.dnn")).ok());
  std::ifstream f1(dir.File("d.dnn"), std::ios::binary), f2(dir.File("p.dnn"), std::ios::binary);
  const std::string b1((std::istreambuf_iterator<char>(f1)), {}), b2((std::istreambuf_iterator<char>(f2)), {});
  EXPECT_NE(b1.find("deskew"), std::string::npos);
  EXPECT_EQ(b2.find("deskew"), std::string::npos);
}

TEST(DigitTrain, RejectsBadInput) {
  TrainOptions opt;
  EXPECT_EQ(DigitModel::Train(DigitDataset{}, opt).status().code(), Code::kInvalidArgument);
  DigitDataset one;
  one.images.resize(1);
  one.labels.resize(1);
  opt.epochs = 0;
  EXPECT_EQ(DigitModel::Train(one, opt).status().code(), Code::kInvalidArgument);
  // Fewer digits than two a replica: no step could be taken, and a model trained on nothing
  // was written as if trained (`rekap train-digits --limit 1`, 2026-12-07).
  opt.epochs = 1;
  opt.threads = 2;
  DigitDataset three = SmokeData();
  three.images.resize(3);
  three.labels.resize(3);
  const auto few = DigitModel::Train(three, opt);
  EXPECT_EQ(few.status().code(), Code::kInvalidArgument);
  EXPECT_NE(few.status().message().find("too few training digits"), std::string::npos) << few.status().ToString();
}

// A model is written whole or not at all: where it cannot be, the error names the path and
// nothing is left beside it.
TEST(DigitTrain, SaveIsWholeOrNothing) {
  TrainOptions opt = SmokeOptions(1, 5);
  auto m = DigitModel::Train(SmokeData(), opt);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  TempDir dir;
  const std::string missing_dir = dir.File("no-such-dir/m.dnn");
  const Status s = m->Save(missing_dir);
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find(missing_dir), std::string::npos) << s.ToString();
  EXPECT_FALSE(std::filesystem::exists(missing_dir));
  EXPECT_FALSE(std::filesystem::exists(missing_dir + ".tmp"));
  // Over an existing file: replaced, and no .tmp left.
  const std::string path = dir.File("m.dnn");
  { std::ofstream(path) << "old"; }
  ASSERT_TRUE(m->Save(path).ok());
  EXPECT_GT(std::filesystem::file_size(path), 100000u);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_TRUE(DigitModel::Load(path).ok());
}

}  // namespace
}  // namespace rekap::reader
