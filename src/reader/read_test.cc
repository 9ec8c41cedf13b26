// Tests of the reader (read.h, omr.h): robustness (every bad photo is a typed failure, never a
// crash), identity checks, the fail-closed decision, and an end-to-end run on synthetic photos
// written with MNIST *test* digits.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>

#include <jpeglib.h>
#include <libheif/heif.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "reader/digits.h"
#include "reader/fast_digits.h"
#include "reader/layout.h"
#include "reader/omr.h"
#include "reader/read.h"
#include "reader/render.h"
#include "reader/synth.h"
#include "reader/tally.h"
#include "rekap/election.h"

namespace rekap::reader {
namespace {

constexpr char kElection[] = R"(
id = "pemilu-2024"
name = "Pemilu 2024"
[[contest]]
id = "ppwp"
kind = "ppwp"
name = "PPWP"
scope = ""
schema = "C.HASIL-PPWP-2024"
[contest.params]
max_voters = 300
[[contest.candidate]]
number = 1
name = "Satu"
[[contest.candidate]]
number = 2
name = "Dua"
[[contest.candidate]]
number = 3
name = "Tiga"
)";

std::string Root() { return std::string(REKAP_DIGITS_MODEL).substr(0, std::string(REKAP_DIGITS_MODEL).size() - std::string("/data/models/digits.dnn").size()); }
// The committed ensemble's files, as `rekap read` loads them by default.
std::vector<std::string> CommittedModels() {
  std::vector<std::string> out;
  for (const char* name : kCommittedDigitModels) out.push_back(Root() + "/data/models/" + name);
  return out;
}

// Shared, loaded once: the election (PPWP, 3 candidates), the model, the MNIST test digits.
struct Fixture {
  std::unique_ptr<Election> election;
  std::unique_ptr<DigitModel> model;
  std::unique_ptr<DigitDataset> mnist;
  std::string error, model_error, mnist_error;
  bool mnist_present = false;  // the files exist (../shared is beside the clone)
};

const Fixture& F() {
  static const Fixture* f = [] {
    auto* x = new Fixture;
    auto schemas = LoadSchemaDir(Root() + "/data/schemas");
    auto e = Election::Parse(kElection, "test");
    if (!schemas.ok() || !e.ok() || !e->Resolve(*schemas).ok()) {
      x->error = "election";
      return x;
    }
    x->election = std::make_unique<Election>(std::move(*e));
    auto m = DigitModel::Load(REKAP_DIGITS_MODEL);
    if (m.ok()) x->model = std::make_unique<DigitModel>(std::move(*m));
    else x->model_error = m.status().ToString();
    const std::string images = std::string(REKAP_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz";
    const std::string labels = std::string(REKAP_MNIST_DIR) + "/t10k-labels-idx1-ubyte.gz";
    x->mnist_present = std::filesystem::exists(images) && std::filesystem::exists(labels);
    auto d = ReadIdxDataset(images, labels, 2000);
    if (d.ok()) x->mnist = std::make_unique<DigitDataset>(std::move(*d));
    else x->mnist_error = d.status().ToString();
    return x;
  }();
  return *f;
}

const Contest& Ppwp() { return F().election->contests[0]; }

// All 10,000 MNIST test digits (F().mnist holds the first 2,000), as `rekap forms synth` and
// `rekap bench reader` draw from them; loaded once, null if the files are missing.
const DigitDataset* AllMnistTest() {
  static const std::unique_ptr<DigitDataset> all = [] {
    auto d = ReadIdxDataset(std::string(REKAP_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz",
                            std::string(REKAP_MNIST_DIR) + "/t10k-labels-idx1-ubyte.gz");
    return std::unique_ptr<DigitDataset>(d.ok() ? new DigitDataset(std::move(*d)) : nullptr);
  }();
  return all.get();
}

// The MNIST test set's digits of one label (empty without the set).
std::vector<Image28> MnistTestDigits(int label) {
  std::vector<Image28> out;
  if (const DigitDataset* test = AllMnistTest())
    for (size_t i = 0; i < test->size(); ++i)
      if (test->labels[i] == label) out.push_back(test->images[i]);
  return out;
}

// The committed ensemble, as `rekap read` and `rekap bench reader` read; loaded once, null if a
// member is missing.
const FastDigitNet* CommittedEnsemble() {
  static const std::unique_ptr<FastDigitNet> net = [] {
    auto e = FastDigitNet::LoadEnsemble(CommittedModels());
    return std::unique_ptr<FastDigitNet>(e.ok() ? new FastDigitNet(std::move(*e)) : nullptr);
  }();
  return net.get();
}

// The photos (pages or sheets) a test reads: `fixed`, or 0..N-1 with REKAP_TEST_SCAN=N set, to
// list again the photos that show the test's case when the committed networks change.
bool Scanning() { return std::getenv("REKAP_TEST_SCAN") != nullptr; }
std::vector<int> FixedOrScanned(std::vector<int> fixed) {
  if (!Scanning()) return fixed;
  std::vector<int> all(size_t(std::max(0, std::atoi(std::getenv("REKAP_TEST_SCAN")))));
  for (size_t i = 0; i < all.size(); ++i) all[i] = int(i);
  return all;
}

#define NEED_MODEL()                                                        \
  do {                                                                      \
    ASSERT_TRUE(F().election) << F().error;                                 \
    ASSERT_TRUE(F().model) << "the committed model " REKAP_DIGITS_MODEL     \
                           << ": " << F().model_error;                      \
  } while (0)
#define NEED_MNIST()                                                        \
  do {                                                                      \
    NEED_MODEL();                                                           \
    if (!F().mnist_present) GTEST_SKIP() << "no MNIST test set in " REKAP_MNIST_DIR; \
    ASSERT_TRUE(F().mnist) << F().mnist_error;                              \
  } while (0)

ReadOptions Opts(FormKind kind = FormKind::kOwn) {
  ReadOptions o;
  o.contest = &Ppwp();
  o.form = kind;
  o.model = F().model.get();
  return o;
}

Reading MustRead(std::span<const uint8_t> bytes, const ReadOptions& o) {
  auto r = ReadPage(bytes, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Reading{};
}

std::vector<uint8_t> Encode(const cv::Mat& img, const char* ext = ".jpg") {
  std::vector<uint8_t> out;
  cv::imencode(ext, img, out, {cv::IMWRITE_JPEG_QUALITY, 85});
  return out;
}

// `img` as a HEIF file (EncodeHeif, synth.h); empty if encoding failed.
std::vector<uint8_t> HeifBytes(const cv::Mat& img, PhotoFormat format, int quality = 80,
                               bool ten_bit = false) {
  auto r = EncodeHeif(img, format, quality, ten_bit);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<uint8_t>{};
}

// A typed failure: review, with at least one reason, the first being `code`.
void ExpectFailure(const Reading& r, const std::string& code) {
  EXPECT_FALSE(r.accepted);
  ASSERT_FALSE(r.reasons.empty());
  EXPECT_TRUE(r.HasReason(code)) << "first reason: " << r.reasons[0].code << " " << r.reasons[0].detail;
}

// Accepted readings must be right.
void ExpectNoWrongAccepted(const Reading& r, const SynthPage& p) {
  if (!r.accepted) {
    EXPECT_FALSE(r.reasons.empty());
    return;
  }
  EXPECT_EQ(r.tps, p.tps);
  for (const auto& [field, v] : p.values) {
    const FieldReading* f = r.Find(field);
    ASSERT_NE(f, nullptr) << field;
    EXPECT_EQ(f->value, v) << field << " on " << p.file;
  }
}

std::unique_ptr<Synthesizer> MakeSynth(SynthForm form, uint32_t seed, double inconsistent = 0.03,
                                       bool photograph = true, int max_width = 4000, double bend_mm = 0) {
  SynthOptions so;
  so.bend_mm = bend_mm;
  so.form = form;
  so.seed = seed;
  so.inconsistent_rate = inconsistent;
  so.photograph = photograph;
  so.min_width = std::min(2000, max_width);
  so.max_width = max_width;
  auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Headers and decoding bounds (no model needed)

TEST(ReadHeader, JpegAndPngDimensions) {
  cv::Mat img(300, 400, CV_8UC3, cv::Scalar(255, 255, 255));
  auto jpg = Encode(img, ".jpg");
  auto h = ParseImageHeader(jpg);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type, ImageHeader::Type::kJpeg);
  EXPECT_EQ(h->width, 400);
  EXPECT_EQ(h->height, 300);
  auto png = Encode(img, ".png");
  h = ParseImageHeader(png);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type, ImageHeader::Type::kPng);
  EXPECT_EQ(h->width, 400);
  EXPECT_FALSE(ParseImageHeader(std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_FALSE(ParseImageHeader(std::vector<uint8_t>{}));
  EXPECT_FALSE(ParseImageHeader(std::vector<uint8_t>{0xFF, 0xD8, 0xFF}));
}

// An iPhone's camera writes HEIC; AVIF is the same container with AV1. Their size comes from
// the container, before anything is decoded, so the size bounds apply to them too.
TEST(ReadHeader, HeifDimensions) {
  cv::Mat img(480, 640, CV_8UC3, cv::Scalar(200, 210, 220));
  cv::circle(img, {320, 240}, 100, cv::Scalar(20, 20, 20), 12);
  for (const PhotoFormat f : {PhotoFormat::kHeic, PhotoFormat::kAvif}) {
    const std::vector<uint8_t> heif = HeifBytes(img, f);
    ASSERT_FALSE(heif.empty()) << int(f);
    const auto h = ParseImageHeader(heif);
    ASSERT_TRUE(h) << int(f);
    EXPECT_EQ(h->type, ImageHeader::Type::kHeif);
    EXPECT_EQ(h->width, 640);
    EXPECT_EQ(h->height, 480);
    // Only the 'ftyp' box of the file: no image in it.
    EXPECT_FALSE(ParseImageHeader(std::span<const uint8_t>(heif.data(), 32))) << int(f);
  }
}

TEST(ReadRobust, NonImageFile) {
  NEED_MODEL();
  const std::string text = "Berita acara: ini bukan foto / this is not a photo\n";
  ExpectFailure(MustRead(std::vector<uint8_t>(text.begin(), text.end()), Opts()), reason::kImageUnreadable);
  ExpectFailure(MustRead(std::vector<uint8_t>{}, Opts()), reason::kImageUnreadable);
}

// Every reason a page goes to review for is explained to the person checking it, in Bahasa
// Indonesia first and English after, in `rekap read`'s text and as "message" in its JSON.
TEST(ReadRobust, EveryReasonIsExplainedInBothLanguages) {
  NEED_MODEL();
  for (const char* code :
       {reason::kPageNotFound, reason::kMarkerMismatch, reason::kTpsMismatch, reason::kTpsUnknown,
        reason::kWrongPage, reason::kPageMissing, reason::kQrUnreadable, reason::kImageUnreadable,
        reason::kImageTooLarge, reason::kImageTooSmall, reason::kLowConfidence, reason::kOcrOmrDisagree,
        reason::kRuleBroken, reason::kBubbleDoubleMarked, reason::kBubbleEmpty, reason::kNoSolution,
        reason::kFieldBlank, reason::kUnconfirmed, reason::kTallyDisagrees, reason::kPhotoBlurred,
        reason::kPhotoDark, reason::kSeveralSheets, reason::kCopiesDisagree}) {
    const std::string m = ReasonMessage(code);
    const size_t slash = m.find(" / ");
    ASSERT_NE(slash, std::string::npos) << code << ": " << m;
    EXPECT_GT(slash, 10u) << code;               // the Indonesian part
    EXPECT_GT(m.size() - slash, 13u) << code;    // the English part
  }
  EXPECT_EQ(ReasonMessage("no_such_reason"), "");
  const std::string text = "not a photo";
  const Reading r = MustRead(std::vector<uint8_t>(text.begin(), text.end()), Opts());
  const nlohmann::json j = ToJson(r);
  ASSERT_FALSE(j["reasons"].empty());
  EXPECT_EQ(j["reasons"][0]["code"], reason::kImageUnreadable);
  EXPECT_EQ(j["reasons"][0]["message"], ReasonMessage(reason::kImageUnreadable));
}

TEST(ReadRobust, TinyImage) {
  NEED_MODEL();
  cv::Mat img(10, 10, CV_8UC3, cv::Scalar(200, 200, 200));
  ExpectFailure(MustRead(Encode(img, ".png"), Opts()), reason::kImageTooSmall);
  ExpectFailure(MustRead(Encode(img, ".jpg"), Opts()), reason::kImageTooSmall);
  auto r = ReadPage(img, Opts());
  ASSERT_TRUE(r.ok());
  ExpectFailure(*r, reason::kImageTooSmall);
}

TEST(ReadRobust, HugeImageHeader) {
  NEED_MODEL();
  // A PNG whose header claims 100000 x 100000 pixels (nothing behind it is decoded).
  cv::Mat img(8, 8, CV_8UC1, cv::Scalar(255));
  auto png = Encode(img, ".png");
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) png[at + size_t(i)] = uint8_t(v >> (24 - 8 * i));
  };
  put32(16, 100000);
  put32(20, 100000);
  ExpectFailure(MustRead(png, Opts()), reason::kImageTooLarge);
  // A JPEG whose frame header claims 65000 x 65000.
  auto jpg = Encode(cv::Mat(16, 16, CV_8UC1, cv::Scalar(128)), ".jpg");
  for (size_t i = 2; i + 9 < jpg.size(); ++i)
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
      jpg[i + 5] = 0xFD, jpg[i + 6] = 0xE8, jpg[i + 7] = 0xFD, jpg[i + 8] = 0xE8;
      break;
    }
  ExpectFailure(MustRead(jpg, Opts()), reason::kImageTooLarge);
  // More bytes than allowed.
  std::vector<uint8_t> big(kMaxPhotoBytes + 1, 0);
  ExpectFailure(MustRead(big, Opts()), reason::kImageTooLarge);
}

TEST(ReadRobust, NoPageInARandomPhoto) {
  NEED_MODEL();
  std::mt19937 rng(7);
  cv::Mat img(1500, 2000, CV_8UC3);
  cv::randu(img, cv::Scalar(0, 0, 0), cv::Scalar(255, 255, 255));
  cv::GaussianBlur(img, img, cv::Size(0, 0), 6);
  for (int i = 0; i < 40; ++i) {  // shapes: a table, a wall, a window
    cv::Point a(int(rng() % 2000), int(rng() % 1500));
    cv::Point b(a.x + int(rng() % 400), a.y + int(rng() % 300));
    cv::rectangle(img, a, b, cv::Scalar(rng() % 256, rng() % 256, rng() % 256), i % 3 == 0 ? -1 : 5);
  }
  // No page, and sharp: not asked for again for blur. The same photo out of focus is: the
  // photo's own edges say so (PhotoEdgeBlurPx), with no marker to measure.
  cv::Mat blurred;
  cv::GaussianBlur(img, blurred, cv::Size(0, 0), 8);
  for (const FormKind form : {FormKind::kOwn, FormKind::kKpuPpwpPage2}) {
    const Reading sharp = MustRead(Encode(img), Opts(form));
    ExpectFailure(sharp, reason::kPageNotFound);
    EXPECT_FALSE(sharp.HasReason(reason::kPhotoBlurred)) << sharp.reasons[0].detail;
    const Reading r = MustRead(Encode(blurred), Opts(form));
    ExpectFailure(r, reason::kPageNotFound);
    ASSERT_TRUE(r.HasReason(reason::kPhotoBlurred));
    EXPECT_NE(r.reasons[0].detail.find("(tepi di foto / edges in the photo"), std::string::npos)
        << r.reasons[0].detail;
  }
}

TEST(ReadRobust, BlankSheetOfPaper) {
  NEED_MODEL();
  cv::Mat img(2000, 1500, CV_8UC3, cv::Scalar(235, 240, 240));
  cv::Mat noise(img.size(), CV_8UC3);
  cv::randn(noise, cv::Scalar(0, 0, 0), cv::Scalar(4, 4, 4));
  img += noise;
  const Reading r = MustRead(Encode(img), Opts());
  ExpectFailure(r, reason::kPageNotFound);
  EXPECT_FALSE(r.HasReason(reason::kPhotoBlurred));  // no edges to call it blurred by
}

// A HEIC or AVIF photo cut short (an upload broken off), only its 'ftyp' box, or one that
// claims a huge size: a typed failure, never a crash; the whole of it is decoded (no page in it).
TEST(ReadRobust, BrokenHeifIsUnreadable) {
  NEED_MODEL();
  cv::Mat img(900, 1200, CV_8UC3, cv::Scalar(200, 210, 220));
  cv::circle(img, {600, 450}, 200, cv::Scalar(20, 20, 20), 12);
  for (const PhotoFormat f : {PhotoFormat::kHeic, PhotoFormat::kAvif}) {
    const std::vector<uint8_t> heif = HeifBytes(img, f);
    ASSERT_FALSE(heif.empty()) << int(f);
    ExpectFailure(MustRead(heif, Opts()), reason::kPageNotFound);
    for (const size_t n : {heif.size() / 2, heif.size() - 10, size_t{32}, size_t{12}}) {
      const std::vector<uint8_t> cut(heif.begin(), heif.begin() + std::ptrdiff_t(n));
      ExpectFailure(MustRead(cut, Opts()), reason::kImageUnreadable);
    }
    // Its size claimed 20,000 x 20,000 (the 'ispe' property patched): refused from the container,
    // before anything is decoded.
    std::vector<uint8_t> huge = heif;
    const std::string ispe = "ispe";
    auto at = std::search(huge.begin(), huge.end(), ispe.begin(), ispe.end());
    ASSERT_NE(at, huge.end());
    ASSERT_LT(size_t(at - huge.begin()) + 16, huge.size());
    for (size_t k = 0; k < 2; ++k) {  // after the 4 bytes of version and flags: width, height
      const auto field = at + 8 + std::ptrdiff_t(4 * k);
      field[0] = 0, field[1] = 0, field[2] = 0x4E, field[3] = 0x20;
    }
    ExpectFailure(MustRead(huge, Opts()), reason::kImageTooLarge);
  }
}

TEST(ReadRobust, BadOptionsAreAStatus) {
  ReadOptions o;
  std::vector<uint8_t> b{1, 2, 3};
  EXPECT_FALSE(ReadPage(b, o).ok());
}

// ---------------------------------------------------------------------------------------------
// Printed but unfilled, identity checks (model needed, no MNIST)

Result<cv::Mat> RenderOwn(const std::string& tps, int page = 1, const Contest* contest = nullptr) {
  if (contest == nullptr) contest = &Ppwp();
  auto L = LayoutOwnPage(*contest->form, *contest, page);
  if (!L.ok()) return L.status();
  RenderInput in;
  in.tps = tps;
  return RenderPageImage(*L, in, 5.0);
}

// A plain "photo" of a rendered page: on a darker background, slightly rotated, JPEG.
std::vector<uint8_t> PhotoOf(const cv::Mat& page, double angle_deg = 3) {
  cv::Mat canvas(int(page.rows * 1.15), int(page.cols * 1.15), CV_8UC3, cv::Scalar(60, 70, 80));
  page.copyTo(canvas(cv::Rect((canvas.cols - page.cols) / 2, (canvas.rows - page.rows) / 2, page.cols, page.rows)));
  cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f(canvas.cols / 2.f, canvas.rows / 2.f), angle_deg, 1.0);
  cv::Mat out;
  cv::warpAffine(canvas, out, rot, canvas.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(60, 70, 80));
  return Encode(out);
}

TEST(ReadIdentity, BlankFormIsReviewedAsNotFilled) {
  NEED_MODEL();
  auto page = RenderOwn("3171010001001");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  Reading r = MustRead(PhotoOf(*page), Opts());
  EXPECT_TRUE(r.page_found);
  EXPECT_EQ(r.tps, "3171010001001");
  EXPECT_EQ(r.tps_from, "qr");
  EXPECT_FALSE(r.accepted);
  EXPECT_FALSE(r.reasons.empty());
}

TEST(ReadIdentity, FormOfAnotherTps) {
  NEED_MODEL();
  auto page = RenderOwn("3171010001001");
  ASSERT_TRUE(page.ok());
  ReadOptions o = Opts();
  o.expected_tps = "3212012001007";
  ExpectFailure(MustRead(PhotoOf(*page), o), reason::kTpsMismatch);
}

TEST(ReadIdentity, UpsideDownPageIsFound) {
  NEED_MODEL();
  auto page = RenderOwn("3171010001001");
  ASSERT_TRUE(page.ok());
  Reading r = MustRead(PhotoOf(*page, 178), Opts());
  EXPECT_TRUE(r.page_found);
  EXPECT_EQ(r.tps, "3171010001001");
  EXPECT_FALSE(r.HasReason(reason::kPageNotFound));
}

// The PPWP contest with 20 candidates: two pages of our form.
Result<Contest> Candidates(int n) {
  REKAP_ASSIGN_OR_RETURN(auto schemas, LoadSchemaDir(Root() + "/data/schemas"));
  Contest big = Ppwp();
  big.candidates.clear();
  for (int i = 1; i <= n; ++i) big.candidates.push_back({i, "Calon " + std::to_string(i), ""});
  REKAP_ASSIGN_OR_RETURN(big.form, schemas["C.HASIL-PPWP-2024"]->Bind(n, big.params));
  return big;
}
Result<Contest> TwentyCandidates() { return Candidates(20); }

TEST(ReadIdentity, WrongPageOfTheForm) {
  NEED_MODEL();
  // A contest with 20 candidates spans two pages of our form; page 2 read as page 1.
  auto bigr = TwentyCandidates();
  ASSERT_TRUE(bigr.ok()) << bigr.status().ToString();
  Contest& big = *bigr;
  ASSERT_GE(OwnPageCount(*big.form), 2);
  auto page2 = RenderOwn("3171010001001", 2, &big);
  ASSERT_TRUE(page2.ok()) << page2.status().ToString();
  ReadOptions o = Opts();
  o.contest = &big;
  o.expected_page = 1;
  ExpectFailure(MustRead(PhotoOf(*page2), o), reason::kWrongPage);
  // Read alone without an expected page: found, but page 1 is missing.
  o.expected_page = 0;
  Reading r = MustRead(PhotoOf(*page2), o);
  EXPECT_EQ(r.page, 2);
  EXPECT_TRUE(r.HasReason(reason::kPageMissing));
  // Our 3-candidate form's page read with the 20-candidate contest: another form.
  auto page1 = RenderOwn("3171010001001");
  ASSERT_TRUE(page1.ok());
  ExpectFailure(MustRead(PhotoOf(*page1), o), reason::kMarkerMismatch);
}

// A photo of our form's page rendered at 5 px/mm and blurred by a Gaussian of `sigma` px.
std::vector<uint8_t> BlurredOwnPhoto(const std::string& tps, int page, const Contest& contest, double sigma) {
  auto img = RenderOwn(tps, page, &contest);
  EXPECT_TRUE(img.ok()) << img.status().ToString();
  if (!img.ok()) return {};
  cv::Mat blurred;
  cv::GaussianBlur(*img, blurred, cv::Size(), sigma);
  return PhotoOf(blurred);
}

// A photo too blurred for the QR decoder, of a page whose markers and boxes are still found: with
// the TPS expected, the QR's modules are compared with the codes printed for that TPS on each
// page (MatchQr). They name the page; another TPS's code, or a page not expected, is no match.
TEST(ReadIdentity, BlurredQrMatchedToTheExpectedTps) {
  NEED_MODEL();
  auto big = TwentyCandidates();
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  const std::string tps = "3171010001001";
  for (int page = 1; page <= 2; ++page) {
    // 0.7 mm at 5 px/mm; the modules are 0.97 mm.
    const std::vector<uint8_t> photo = BlurredOwnPhoto(tps, page, *big, 3.5);
    ASSERT_FALSE(photo.empty());
    ReadOptions o = Opts();
    o.contest = &*big;
    o.expected_tps = tps;
    o.qr_by_pattern = false;
    o.qr_by_modules = false;  // read module by module, it is decoded (BlurredQrReadModuleByModule)
    Reading r = MustRead(photo, o);
    ASSERT_EQ(r.qr.size(), 0u) << "page " << page;  // not decoded: no page known on a two-page form
    EXPECT_TRUE(r.HasReason(reason::kQrUnreadable)) << "page " << page;
    EXPECT_EQ(r.tps, tps);  // the expected TPS, not read from the page: said so
    EXPECT_EQ(r.tps_from, "caller");
    o.qr_by_pattern = true;
    r = MustRead(photo, o);
    EXPECT_TRUE(r.page_found) << "page " << page;
    EXPECT_EQ(r.page, page);
    EXPECT_EQ(r.tps, tps);
    EXPECT_EQ(r.tps_from, "qr");
    ASSERT_EQ(r.qr.count(page), 1u) << "page " << page;
    EXPECT_EQ(r.qr.at(page), qr::kMatched);
    EXPECT_FALSE(r.HasReason(reason::kQrUnreadable)) << "page " << page;
    // The same photo where another TPS is expected (one digit apart; another kecamatan) or the
    // other page: no code matches.
    for (const std::string other : {"3171010001002", "3171020001001"}) {
      o.expected_tps = other;
      r = MustRead(photo, o);
      EXPECT_TRUE(r.HasReason(reason::kQrUnreadable)) << other << " page " << page;
      EXPECT_NE(r.tps, tps);
      EXPECT_FALSE(r.accepted);
    }
    o.expected_tps = tps;
    o.expected_page = 3 - page;
    r = MustRead(photo, o);
    EXPECT_TRUE(r.HasReason(reason::kQrUnreadable)) << "page " << page;
    EXPECT_EQ(r.qr.count(page), 0u);
  }
}

// A photo too blurred for the QR decoder, read without an expected TPS: the QR's modules,
// sampled through the page's homography and decided against a blur model fitted on the
// patterns every code shares (ReadQrByModules), decode to the page's payload. Blurred further,
// nothing is decoded, and never another TPS.
TEST(ReadIdentity, BlurredQrReadModuleByModule) {
  NEED_MODEL();
  auto big = TwentyCandidates();
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  const std::string tps = "3171010001001";
  for (int page = 1; page <= 2; ++page) {
    // 0.7 mm at 5 px/mm; the modules are 0.97 mm. (At 0.8 mm page 2's code is still decoded,
    // page 1's not.)
    const std::vector<uint8_t> photo = BlurredOwnPhoto(tps, page, *big, 3.5);
    ASSERT_FALSE(photo.empty());
    ReadOptions o = Opts();
    o.contest = &*big;
    o.qr_by_modules = false;
    Reading r = MustRead(photo, o);
    EXPECT_EQ(r.qr.size(), 0u) << "page " << page;  // the decoder alone: nothing
    EXPECT_TRUE(r.HasReason(reason::kQrUnreadable)) << "page " << page;
    o.qr_by_modules = true;
    r = MustRead(photo, o);
    EXPECT_TRUE(r.page_found) << "page " << page;
    EXPECT_EQ(r.page, page);
    EXPECT_EQ(r.tps, tps);
    ASSERT_EQ(r.qr.count(page), 1u) << "page " << page;
    EXPECT_EQ(r.qr.at(page), qr::kDecoded);
    // Another TPS expected: the decoded code names this one.
    o.expected_tps = "3171010001002";
    r = MustRead(photo, o);
    EXPECT_TRUE(r.HasReason(reason::kTpsMismatch)) << "page " << page;
    EXPECT_FALSE(r.accepted);
    // Past what the modules keep: not decoded, and no other code either.
    o = Opts();
    o.contest = &*big;
    r = MustRead(BlurredOwnPhoto(tps, page, *big, 9), o);
    EXPECT_TRUE(r.tps.empty() || r.tps == tps) << r.tps;
    EXPECT_FALSE(r.accepted);
  }
}

TEST(ReadIdentity, KpuPages) {
  NEED_MODEL();
  auto L = KpuPpwpPage2Layout();
  ASSERT_TRUE(L.ok()) << L.status().ToString();
  RenderInput in;
  auto p2 = RenderPageImage(*L, in, 2.5);
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  ReadOptions o = Opts(FormKind::kKpuPpwpPage2);
  o.expected_tps = "3171010001001";
  Reading r = MustRead(PhotoOf(*p2, -4), o);
  EXPECT_TRUE(r.page_found) << (r.reasons.empty() ? "" : r.reasons[0].code + " " + r.reasons[0].detail);
  EXPECT_EQ(r.page, 2);
  EXPECT_EQ(r.tps, "3171010001001");
  EXPECT_EQ(r.tps_from, "caller");  // KPU's page carries no QR code
  EXPECT_FALSE(r.accepted);  // nothing written
  // The same sheet with page 1's tag: the wrong page.
  PageLayout l1 = *L;
  l1.page_marker->marker_id = 101;
  auto p1 = RenderPageImage(l1, in, 2.5);
  ASSERT_TRUE(p1.ok());
  ExpectFailure(MustRead(PhotoOf(*p1, 2), o), reason::kWrongPage);
  // Our own form read as the KPU page, and the KPU page read as ours.
  auto own = RenderOwn("3171010001001");
  ASSERT_TRUE(own.ok());
  ExpectFailure(MustRead(PhotoOf(*own), o), reason::kMarkerMismatch);
  ExpectFailure(MustRead(PhotoOf(*p2), Opts()), reason::kMarkerMismatch);
  // Without --tps the KPU page cannot be accepted.
  o.expected_tps.clear();
  r = MustRead(PhotoOf(*p2), o);
  EXPECT_TRUE(r.HasReason(reason::kTpsUnknown));
  EXPECT_EQ(r.tps_from, "");
}

// ---------------------------------------------------------------------------------------------
// OMR and combination (pure)

// Box `pos` of `e` read as digit d with probability p (the rest shared evenly).
void SetBox(NumberEvidence& e, int pos, int d, float p) {
  e.boxes[size_t(pos)].empty = false;
  e.boxes[size_t(pos)].prob.fill((1 - p) / 9);
  e.boxes[size_t(pos)].prob[size_t(d)] = p;
}

// Bubble row `pos` of `e` with these values marked (none: an empty row).
void SetRow(NumberEvidence& e, int pos, const std::vector<int>& marks) {
  BubbleRow& r = e.rows[size_t(pos)];
  r = BubbleRow{};
  r.likelihood.fill(marks.empty() ? 1.0 : 1e-3);
  for (int m : marks) r.likelihood[size_t(m)] = 1, r.score[size_t(m)] = 0.6;
  r.marks = int(marks.size());
  r.marked = marks.size() == 1 ? marks[0] : -1;
}

TEST(Omr, CombineAgreeingAndDisagreeing) {
  NumberEvidence e;
  auto set_box = [&](int pos, int d, float p) { SetBox(e, pos, d, p); };
  auto set_row = [&](int pos, std::vector<int> marks) { SetRow(e, pos, marks); };
  // " 58": blank hundreds box, hundreds row empty.
  set_box(1, 5, 0.99f);
  set_box(2, 8, 0.97f);
  set_row(0, {});
  set_row(1, {5});
  set_row(2, {8});
  NumberReading n = CombineNumber(e, 999, 5);
  EXPECT_EQ(n.ocr, 58);
  EXPECT_EQ(n.omr, 58);
  EXPECT_EQ(n.hypotheses[0].first, 58);
  EXPECT_GT(n.hypotheses[0].second, 0.999);
  // The 2024 misread: a stray mark in the hundreds box read as 9. The bubbles say 058.
  set_box(0, 9, 0.9f);
  set_row(0, {0});
  n = CombineNumber(e, 999, 5);
  EXPECT_EQ(n.ocr, 958);
  EXPECT_EQ(n.omr, 58);
  EXPECT_NE(n.ocr, n.omr);  // -> ocr_omr_disagree, never accepted as read
  // A double mark.
  set_row(0, {0, 3});
  n = CombineNumber(e, 999, 5);
  EXPECT_TRUE(n.double_marked);
  EXPECT_EQ(n.omr, kMissing);
}

// A number whose bubbles were skipped altogether: the empty rows say nothing about the value
// (as where no bubbles are printed), not three missed marks. Boxes 102 read surely stay 102;
// with one row marked, the rows left empty still count as missed marks.
TEST(Omr, NoBubbleMarkedSaysNothingAboutTheDigits) {
  NumberEvidence e;
  for (int j = 0; j < 3; ++j) SetRow(e, j, {});  // all empty
  SetBox(e, 0, 1, 0.999f);
  SetBox(e, 1, 0, 0.999f);
  SetBox(e, 2, 2, 0.999f);
  NumberReading n = CombineNumber(e, 999, 5);
  EXPECT_TRUE(n.omr_empty);
  EXPECT_EQ(n.omr, kMissing);
  EXPECT_EQ(n.ocr, 102);
  ASSERT_FALSE(n.hypotheses.empty());
  EXPECT_EQ(n.hypotheses[0].first, 102);
  EXPECT_NEAR(n.hypotheses[0].second, n.ocr_p, 1e-9);  // the bubbles add nothing
  // The same boxes with the units row marked 2: the hundreds and tens rows left empty are
  // missed marks or leading blanks, and the blank reading 2 is preferred over 102, whose
  // hundreds and tens digits no bubble confirms (the boxes' ink there then needs a look).
  SetRow(e, 2, {2});
  n = CombineNumber(e, 999, 5);
  EXPECT_FALSE(n.omr_empty);
  EXPECT_EQ(n.omr, 2);
  EXPECT_EQ(n.hypotheses[0].first, 2);
}

TEST(Omr, MeasureRow) {
  cv::Mat img(40, 220, CV_8UC1, cv::Scalar(230));
  std::array<cv::Point2f, 10> c;
  for (int v = 0; v < 10; ++v) {
    c[size_t(v)] = cv::Point2f(10.f + 20.f * float(v), 20.f);
    cv::circle(img, c[size_t(v)], 8, cv::Scalar(150), 1);  // printed outline
  }
  cv::circle(img, c[7], 7, cv::Scalar(40), -1);
  BubbleRow r = MeasureBubbleRow(img, PaperImage(img, 16), c, 8);
  EXPECT_EQ(r.marked, 7);
  EXPECT_EQ(r.marks, 1);
  cv::circle(img, c[2], 7, cv::Scalar(40), -1);
  r = MeasureBubbleRow(img, PaperImage(img, 16), c, 8);
  EXPECT_EQ(r.marks, 2);
  EXPECT_EQ(r.marked, -1);
}

// Against the page's baseline, a row the photo shows darker all along (validation seed 9, page
// 662: an empty hundreds row 0.01-0.04 above the baseline, its "1" at 0.098, past `clear`) is
// scored against its own level: empty, not unclear. A row darker than `clear` all along (a
// scribble across it) keeps its marks, a mark in a shifted row is still read, and a row lighter
// than the baseline is not shifted up (its faint stray mark stays unclear, not a mark).
TEST(Omr, RowScoredAgainstPageBaselineAtItsOwnLevel) {
  const OmrOptions opt;
  std::array<double, 10> base;
  for (int v = 0; v < 10; ++v) base[size_t(v)] = 0.12 + 0.01 * v;  // labels of more or less ink
  BubbleRow r;
  const double above[10] = {-0.009, 0.098, 0.029, 0.005, -0.028, 0.032, 0.007, 0.031, 0.043, 0.024};
  for (int v = 0; v < 10; ++v) r.dark[size_t(v)] = base[size_t(v)] + above[v];
  ScoreBubbleRow(&r, &base, opt);
  EXPECT_TRUE(r.empty()) << "unclear " << r.unclear << " marks " << r.marks;
  // The same row scored against its own median (no baseline) agrees.
  BubbleRow own = r;
  ScoreBubbleRow(&own, nullptr, opt);
  EXPECT_TRUE(own.empty());
  // A mark in the shifted row: read.
  r.dark[4] = base[4] + 0.55;
  ScoreBubbleRow(&r, &base, opt);
  EXPECT_EQ(r.marked, 4);
  EXPECT_EQ(r.marks, 1);
  // Scribbled across: every bubble 0.3 above the baseline. The shift stops at `clear`: all ten
  // stay marks and the row is not read.
  for (int v = 0; v < 10; ++v) r.dark[size_t(v)] = base[size_t(v)] + 0.3;
  ScoreBubbleRow(&r, &base, opt);
  EXPECT_EQ(r.marks, 10);
  EXPECT_EQ(r.marked, -1);
  // Lighter than the baseline all along (0.05), one stray touch 0.10 above the baseline: it
  // scores 0.10, unclear; shifted down to the row's level it would be a mark (0.15).
  for (int v = 0; v < 10; ++v) r.dark[size_t(v)] = base[size_t(v)] - 0.05;
  r.dark[3] = base[3] + 0.10;
  ScoreBubbleRow(&r, &base, opt);
  EXPECT_EQ(r.marks, 0);
  EXPECT_EQ(r.unclear, 1);
  EXPECT_EQ(r.marked, -1);
}

// ---------------------------------------------------------------------------------------------
// The tally grid (tally.h), on KPU's printed page 2 at 2 px/mm

// Draws `strokes` tally strokes (four upright, the fifth across) into cell `cell` of `g`.
void DrawCellStrokes(cv::Mat& img, const TallyGrid& g, int cell, int strokes, double px_per_mm) {
  const Rect c = g.Cell(cell);
  auto P = [&](double x, double y) { return cv::Point(int(x * px_per_mm), int(y * px_per_mm)); };
  for (int i = 0; i < std::min(strokes, 4); ++i)
    cv::line(img, P(c.x + 6 + 2.5 * i, c.y + 4), P(c.x + 6 + 2.5 * i, c.y + 12), cv::Scalar(60, 40, 20), 2);
  if (strokes >= 5) cv::line(img, P(c.x + 4, c.y + 11), P(c.x + 16, c.y + 5), cv::Scalar(60, 40, 20), 2);
}

struct TallyPage {
  cv::Mat grey;
  TallyGrid grid;
  cv::Matx33d H;  // mm -> px
};

TallyPage BlankTallyPage() {
  TallyPage t;
  auto L = KpuPpwpPage2Layout();
  EXPECT_TRUE(L.ok());
  if (!L.ok() || !L->numbers[0].tally) return t;
  t.grid = *L->numbers[0].tally;
  auto img = RenderPageImage(*L, RenderInput{}, 2.0);
  EXPECT_TRUE(img.ok());
  if (img.ok()) t.grey = *img;
  t.H = cv::Matx33d(2, 0, 0, 0, 2, 0, 0, 0, 1);
  return t;
}

TEST(Tally, CountsTheCellsWithStrokes) {
  TallyPage t = BlankTallyPage();
  ASSERT_FALSE(t.grey.empty());
  EXPECT_EQ(t.grid.cells(), 60);
  EXPECT_EQ(t.grid.per_cell, 5);
  // The printed grid alone: no votes.
  cv::Mat g;
  cv::cvtColor(t.grey, g, cv::COLOR_BGR2GRAY);
  TallyReading r = MeasureTally(g, t.H, t.grid);
  EXPECT_TRUE(r.read) << r.problem;
  EXPECT_EQ(r.cells, 0);
  EXPECT_EQ(r.hi, 0);
  // 58 votes: eleven groups of five and three strokes, across the row break.
  cv::Mat img = t.grey.clone();
  for (int c = 0; c < 11; ++c) DrawCellStrokes(img, t.grid, c, 5, 2.0);
  DrawCellStrokes(img, t.grid, 11, 3, 2.0);
  cv::cvtColor(img, g, cv::COLOR_BGR2GRAY);
  r = MeasureTally(g, t.H, t.grid);
  ASSERT_TRUE(r.read) << r.problem;
  EXPECT_EQ(r.cells, 12);
  // The last cell's strokes may narrow the range (TallyOptions::count_last), never past 58.
  EXPECT_GE(r.lo, 56);
  EXPECT_LE(r.hi, 60);
  EXPECT_TRUE(r.Allows(58));
  EXPECT_FALSE(r.Allows(8));
  EXPECT_FALSE(r.Allows(55));
  // One stroke alone in the next cell counts as much as a full group.
  DrawCellStrokes(img, t.grid, 12, 1, 2.0);
  cv::cvtColor(img, g, cv::COLOR_BGR2GRAY);
  r = MeasureTally(g, t.H, t.grid);
  ASSERT_TRUE(r.read) << r.problem;
  EXPECT_EQ(r.cells, 13);
}

// A faint mark in every cell after the strokes (a smudge, paper grain) does not make the grid
// look full: 300 votes need every cell clearly inked, since no empty cell is left to contrast.
TEST(Tally, FaintMarksInEveryEmptyCellAreNotStrokes) {
  TallyPage t = BlankTallyPage();
  ASSERT_FALSE(t.grey.empty());
  cv::Mat img = t.grey.clone(), g;
  for (int c = 0; c < 15; ++c) DrawCellStrokes(img, t.grid, c, 5, 2.0);
  for (int c = 15; c < t.grid.cells(); ++c) {
    const Rect r = t.grid.Cell(c);
    cv::line(img, cv::Point(int((r.x + 9) * 2), int((r.y + 4) * 2)), cv::Point(int((r.x + 9) * 2), int((r.y + 12) * 2)),
             cv::Scalar(245, 245, 245), 1);
  }
  cv::cvtColor(img, g, cv::COLOR_BGR2GRAY);
  const TallyReading r = MeasureTally(g, t.H, t.grid);
  for (int c = 15; c < t.grid.cells(); ++c) {  // as much as a stroke needs, but only just
    EXPECT_GE(r.ink[size_t(c)], TallyOptions{}.inked) << c;
    EXPECT_LT(r.ink[size_t(c)], 2 * TallyOptions{}.inked) << c;
  }
  ASSERT_TRUE(r.read) << r.problem;
  EXPECT_EQ(r.cells, 15);
  EXPECT_TRUE(r.Allows(75));  // fifteen full groups
  EXPECT_FALSE(r.Allows(70));
  EXPECT_FALSE(r.Allows(300));
  // The last cell shows four uprights like the full cells before it: 74 or 75.
  EXPECT_EQ(r.last_uprights, 4);
  EXPECT_EQ(r.lo, 74);
  EXPECT_EQ(r.hi, 75);
}

TEST(Tally, InkAfterAnEmptyCellIsNotRead) {
  TallyPage t = BlankTallyPage();
  ASSERT_FALSE(t.grey.empty());
  cv::Mat img = t.grey.clone(), g;
  for (int c = 0; c < 4; ++c) DrawCellStrokes(img, t.grid, c, 5, 2.0);
  DrawCellStrokes(img, t.grid, 9, 2, 2.0);  // a stray group further on
  cv::cvtColor(img, g, cv::COLOR_BGR2GRAY);
  TallyReading r = MeasureTally(g, t.H, t.grid);
  EXPECT_FALSE(r.read);
  EXPECT_FALSE(r.problem.empty());
  EXPECT_FALSE(r.Allows(20));
  // Hostile input: an empty image, a degenerate homography.
  EXPECT_FALSE(MeasureTally(cv::Mat(), t.H, t.grid).read);
  EXPECT_FALSE(MeasureTally(g, cv::Matx33d::zeros(), t.grid).read);
}

// The grid's outer frame is a dark rule about 0.9 mm wide; on a blurred photo its tail reaches
// into the cells along it, past the 2 mm every cell's score leaves out, and the empty cells of
// the first and last columns score like faint strokes (TallyOptions::frame_inset_mm).
TEST(Tally, BlurredFrameBesideEmptyCellsIsNotInk) {
  TallyPage t = BlankTallyPage();
  ASSERT_FALSE(t.grey.empty());
  cv::Mat img = t.grey.clone(), g;
  for (int c = 0; c < 8; ++c) DrawCellStrokes(img, t.grid, c, 5, 2.0);  // 40 votes
  cv::cvtColor(img, g, cv::COLOR_BGR2GRAY);
  cv::GaussianBlur(g, g, cv::Size(), 2.5);  // 1.25 mm: a photo whose borders look 1.7-1.8 mm wide
  TallyOptions without;
  without.frame_inset_mm = 0;
  const TallyReading before = MeasureTally(g, t.H, t.grid, without);
  float edge = 0, inner = 0;  // the empty cells' highest scores, along the frame and elsewhere
  for (int c = 8; c < t.grid.cells(); ++c) {
    const bool along = c % t.grid.cols == 0 || c % t.grid.cols == t.grid.cols - 1;
    (along ? edge : inner) = std::max(along ? edge : inner, before.ink[size_t(c)]);
  }
  EXPECT_GT(edge, 1.5 * inner) << edge << " " << inner;
  EXPECT_FALSE(before.read) << before.lo << ".." << before.hi;
  const TallyReading r = MeasureTally(g, t.H, t.grid);
  ASSERT_TRUE(r.read) << r.problem;
  EXPECT_EQ(r.cells, 8);
  EXPECT_TRUE(r.Allows(40));
  EXPECT_FALSE(r.Allows(45));
}

// ---------------------------------------------------------------------------------------------
// Synthetic photos (MNIST test digits)

TEST(ReadSynth, TruncatedJpeg) {
  NEED_MNIST();
  auto s = MakeSynth(SynthForm::kOwn, 11);
  ASSERT_TRUE(s);
  auto p = s->Make(0);
  ASSERT_TRUE(p.ok());
  std::vector<uint8_t> half(p->jpeg.begin(), p->jpeg.begin() + long(p->jpeg.size() / 2));
  ExpectFailure(MustRead(half, Opts()), reason::kImageUnreadable);
  std::vector<uint8_t> head(p->jpeg.begin(), p->jpeg.begin() + 600);
  Reading r = MustRead(head, Opts());
  EXPECT_FALSE(r.accepted);
}

TEST(ReadSynth, PhotoOfAScreen) {
  NEED_MNIST();
  auto s = MakeSynth(SynthForm::kOwn, 12, 0.0, /*photograph=*/false);
  ASSERT_TRUE(s);
  auto p = s->Make(0);
  ASSERT_TRUE(p.ok());
  // A screen: the page shown smaller, a pixel grid beating against the camera (moiré), a
  // bluish cast and a glare spot.
  cv::Mat page;
  cv::resize(p->image, page, cv::Size(), 0.8, 0.8, cv::INTER_AREA);
  cv::Mat screen(int(page.rows * 1.2), int(page.cols * 1.2), CV_8UC3, cv::Scalar(20, 20, 20));
  page.copyTo(screen(cv::Rect((screen.cols - page.cols) / 2, (screen.rows - page.rows) / 2, page.cols, page.rows)));
  cv::Mat f;
  screen.convertTo(f, CV_32FC3, 1.0 / 255);
  for (int y = 0; y < f.rows; ++y)
    for (int x = 0; x < f.cols; ++x) {
      const float m = 0.82f + 0.18f * std::sin(0.9f * float(x) + 0.35f * float(y)) * std::sin(0.21f * float(y));
      const float dx = float(x - f.cols * 0.65), dy = float(y - f.rows * 0.3);
      const float glare = 0.9f * std::exp(-(dx * dx + dy * dy) / (2.f * 180.f * 180.f));
      cv::Vec3f& v = f.at<cv::Vec3f>(y, x);
      v = cv::Vec3f(std::min(1.f, v[0] * m * 1.05f + glare), std::min(1.f, v[1] * m + glare),
                    std::min(1.f, v[2] * m * 0.9f + glare));
    }
  f.convertTo(screen, CV_8UC3, 255);
  cv::GaussianBlur(screen, screen, cv::Size(3, 3), 0);
  Reading r = MustRead(Encode(screen), Opts());
  ExpectNoWrongAccepted(r, *p);
  if (!r.accepted) {
    EXPECT_FALSE(r.reasons.empty());
  }
}

TEST(ReadSynth, UpsideDownPhotoReads) {
  NEED_MNIST();
  auto s = MakeSynth(SynthForm::kOwn, 13, 0.0, /*photograph=*/false);
  ASSERT_TRUE(s);
  auto p = s->Make(1);
  ASSERT_TRUE(p.ok());
  cv::Mat flipped;
  cv::rotate(p->image, flipped, cv::ROTATE_180);
  cv::resize(flipped, flipped, cv::Size(), 0.7, 0.7, cv::INTER_AREA);
  Reading r = MustRead(PhotoOf(flipped, 1), Opts());
  EXPECT_TRUE(r.page_found);
  EXPECT_EQ(r.tps, p->tps);
  ExpectNoWrongAccepted(r, *p);
}

TEST(ReadSynth, EndToEndOwnForm) {
  NEED_MNIST();
  // 20 pages, a third of them deliberately inconsistent.
  auto s = MakeSynth(SynthForm::kOwn, 2024, 0.33, true, 3000);
  ASSERT_TRUE(s);
  int accepted = 0, inconsistent = 0;
  for (int i = 0; i < 20; ++i) {
    auto p = s->Make(i);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    Reading r = MustRead(p->jpeg, Opts());
    EXPECT_TRUE(r.page_found) << p->file;
    ExpectNoWrongAccepted(r, *p);
    accepted += r.accepted;
    if (p->inconsistent) {
      ++inconsistent;
      EXPECT_FALSE(r.accepted) << p->file << " " << p->inconsistency;
    }
  }
  EXPECT_GT(inconsistent, 0);
  EXPECT_GE(accepted, 20 - inconsistent - 4);
}

// Photos under a stress (blur, shake, a bend, creases, a corner covered), 2,000-3,000 px, every page
// consistent.
SynthOptions Stress(SynthForm form, uint32_t seed) {
  SynthOptions so;
  so.form = form;
  so.seed = seed;
  so.inconsistent_rate = 0;
  so.min_width = 2000;
  so.max_width = 3000;
  return so;
}

// How sharp the photo is (Reading::line_mm, the box borders' apparent width) follows the
// camera's blur: the same pages photographed with three times the blur (the same random draws
// otherwise) show wider borders, past our form's limit, and those in review are asked to be
// photographed again (photo_blurred); sharp photos stay under the limit, and an accepted page
// never carries the reason.
TEST(ReadSynth, BlurredPhotoIsAskedForAgain) {
  NEED_MNIST();
  auto make = [](double blur) {
    SynthOptions so = Stress(SynthForm::kOwn, 90);
    so.blur_scale = blur;
    return Synthesizer::Create(*F().mnist, &Ppwp(), so);
  };
  auto sharp = make(1), blurred = make(3);
  ASSERT_TRUE(sharp.ok() && blurred.ok());
  int compared = 0, asked = 0;
  for (int i = 0; i < 16; ++i) {
    auto a = (*sharp)->Make(i), b = (*blurred)->Make(i);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NEAR(b->blur_px, 3 * a->blur_px, 1e-9) << a->file;
    const Reading ra = MustRead(a->jpeg, Opts()), rb = MustRead(b->jpeg, Opts());
    ExpectNoWrongAccepted(rb, *b);
    ASSERT_TRUE(ra.line_mm.count(1)) << a->file;
    EXPECT_LT(ra.line_mm.at(1), 1.35) << a->file;
    EXPECT_FALSE(ra.HasReason(reason::kPhotoBlurred)) << a->file;
    EXPECT_EQ(ToJson(ra)["line_mm"]["1"], std::round(ra.line_mm.at(1) * 100) / 100);
    if (rb.accepted) {
      EXPECT_FALSE(rb.HasReason(reason::kPhotoBlurred)) << b->file;
    }
    if (!rb.line_mm.count(1)) continue;  // not found at all
    ++compared;
    EXPECT_GT(rb.line_mm.at(1), ra.line_mm.at(1) + 0.05) << b->file << " blur " << b->blur_px << " px";
    if (!rb.accepted && rb.line_mm.at(1) > 1.35) {
      EXPECT_TRUE(rb.HasReason(reason::kPhotoBlurred)) << b->file;
      ++asked;
    }
  }
  EXPECT_GE(compared, 10);  // of 16 (measured: 12; the rest not found)
  EXPECT_GE(asked, 2);      // (measured: 3)
  for (double bad : {-1.0, 11.0}) EXPECT_FALSE(make(bad).ok()) << bad;
}

// A number the bubbles read clearly and the boxes only as their second reading is not settled so
// on a page photographed past the blur limit: the page goes to review and its photo is asked for
// again. On 300 all-inconsistent KPU photos at twice the blur (seed 95) a number written 40 and
// bubbled 90 got 0.206 for 90, past the 0.2 (docs/reader.md). Here a usual KPU page-2 photo of
// seed 9 accepted by such a second reading (line_mm over 1) is read again with the limit at 1 mm.
// The page is one the committed networks accept so (REKAP_TEST_SCAN=400 lists them): 166 since
// the fine-tuned networks of 2026-12-06, 192 before.
TEST(ReadSynth, NoSecondReadingOnABlurredPhoto) {
  NEED_MNIST();
  SynthOptions so;
  so.form = SynthForm::kKpuPpwpPage2;
  so.seed = 9;  // as `rekap forms synth --form kpu-ppwp-2 --seed 9`
  ASSERT_NE(AllMnistTest(), nullptr);
  auto s = Synthesizer::Create(*AllMnistTest(), &Ppwp(), so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_NE(CommittedEnsemble(), nullptr);
  const bool scan = Scanning();
  for (int page : FixedOrScanned({166})) {
    auto p = (*s)->Make(page);
    ASSERT_TRUE(p.ok());
    ReadOptions o = Opts(FormKind::kKpuPpwpPage2);
    o.fast = CommittedEnsemble();
    o.expected_tps = p->tps;
    o.voters = p->voters;
    const Reading before = MustRead(p->jpeg, o);
    const auto second = std::find_if(before.fields.begin(), before.fields.end(),
                                     [](const FieldReading& f) { return f.confirmed_by == "bubbles+boxes(2nd)"; });
    if (scan && (!before.accepted || second == before.fields.end())) continue;
    if (scan) std::printf("page %d accepted by a second reading (%s)\n", page, second->field.c_str());
    ASSERT_TRUE(before.accepted) << "the premise, page " << page;
    ASSERT_NE(second, before.fields.end()) << "the premise, page " << page;
    ASSERT_TRUE(before.line_mm.count(2));
    ASSERT_GT(before.line_mm.at(2), 1.0) << "the premise, page " << page;
    EXPECT_FALSE(before.HasReason(reason::kPhotoBlurred));
    o.blurred_line_mm = 1.0;
    const Reading after = MustRead(p->jpeg, o);
    EXPECT_FALSE(after.accepted) << "page " << page;
    EXPECT_TRUE(after.HasReason(reason::kPhotoBlurred)) << "page " << page;
    for (const FieldReading& f : after.fields) {
      EXPECT_EQ(f.confirmed_by.find("(2nd)"), std::string::npos) << f.field;
      if (f.field == second->field) {
        EXPECT_FALSE(f.verified) << f.field;
      }
      if (f.verified) {
        EXPECT_EQ(f.value, p->values.at(f.field)) << f.field;
      }
    }
  }
}

// A photo so blurred that the page is not found at all is asked for again too: where markers
// were found, by their edges (past 0.55 mm of sigma on our form, 1.3 mm on KPU's page); where
// none was, by the photo's own edges (PhotoEdgeBlurPx). A sharp photo whose page is not found
// (half of it cut off, or only its middle) is not: there the blur is not why.
TEST(ReadSynth, PageNotFoundForBlurIsAskedForAgain) {
  NEED_MNIST();
  for (const SynthForm form : {SynthForm::kOwn, SynthForm::kKpuPpwpPage2}) {
    const bool kpu = form == SynthForm::kKpuPpwpPage2;
    const ReadOptions o = Opts(kpu ? FormKind::kKpuPpwpPage2 : FormKind::kOwn);
    auto make =
        [form](double blur) {  // photos 1,000-4,000 px wide, as `rekap forms synth` makes them
          SynthOptions so;
          so.form = form;
          so.seed = 90;
          so.inconsistent_rate = 0;
          so.blur_scale = blur;
          return Synthesizer::Create(*F().mnist, &Ppwp(), so);
        };
    auto sharp = make(1), blurred = make(4);
    ASSERT_TRUE(sharp.ok() && blurred.ok());
    int not_found = 0, asked = 0, by_marker = 0;
    for (int i = 0; i < 20; ++i) {
      auto a = (*sharp)->Make(i), b = (*blurred)->Make(i);
      ASSERT_TRUE(a.ok() && b.ok());
      ReadOptions oi = o;  // KPU's page: its TPS and voters, as a caller names them
      if (kpu) oi.expected_tps = b->tps, oi.voters = b->voters;
      const Reading rb = MustRead(b->jpeg, oi);
      ExpectNoWrongAccepted(rb, *b);
      // The sharp photo's upper half (two markers) and its middle (none, so the photo's own
      // edges are measured, at twice the mm per px of the whole): the page not found, not for
      // blur.
      const cv::Mat half = a->image(cv::Rect(0, 0, a->image.cols, a->image.rows / 2)).clone();
      const cv::Mat middle = a->image(cv::Rect(a->image.cols / 4, a->image.rows / 4,
                                               a->image.cols / 2, a->image.rows / 2))
                                 .clone();
      for (const cv::Mat& part : {half, middle}) {
        const Reading rp = MustRead(Encode(part), oi);
        ExpectNoWrongAccepted(rp, *a);  // KPU's upper half may hold every number
        EXPECT_FALSE(rp.HasReason(reason::kPhotoBlurred))
            << a->file << ": " << rp.reasons[0].detail;
      }
      if (!rb.HasReason(reason::kPageNotFound)) continue;
      ++not_found;
      asked += rb.HasReason(reason::kPhotoBlurred);
      if (!rb.HasReason(reason::kPhotoBlurred)) {
        std::printf("  %s not found, not asked: %s\n", b->file.c_str(),
                    rb.reasons.back().detail.c_str());
        continue;
      }
      EXPECT_EQ(rb.reasons[0].code, reason::kPhotoBlurred) << b->file;
      const std::string& d = rb.reasons[0].detail;
      const bool marker = d.find("(tepi penanda / marker edges") != std::string::npos;
      by_marker += marker;
      EXPECT_TRUE(marker || d.find("(tepi di foto / edges in the photo") != std::string::npos) << d;
      if (kpu) continue;
      // Given second, after a file that is no photo: the reason names it as photo 2.
      const std::string junk = "not a photo";
      auto two =
          ReadPages(std::vector<std::vector<uint8_t>>{{junk.begin(), junk.end()}, b->jpeg}, oi);
      ASSERT_TRUE(two.ok());
      ASSERT_TRUE(two->HasReason(reason::kPhotoBlurred)) << b->file;
      EXPECT_EQ(two->reasons[0].detail.rfind("foto 2 kurang tajam", 0), 0u)
          << two->reasons[0].detail;
      EXPECT_NE(two->reasons[0].detail.find("/ photo 2 too blurred"), std::string::npos)
          << two->reasons[0].detail;
    }
    std::printf(
        "%s, pages not found at 4x blur: %d of 20, %d asked for again (%d by their markers)\n",
        kpu ? "KPU page 2" : "our form", not_found, asked, by_marker);
    // Measured: our form 8 not found, 7 asked (6 by their markers, 1 by the photo's edges; the
    // eighth's edges, 0 markers found, under the limits); KPU's page 3 not found, 2 asked, both
    // by the photo's edges (its tag not decoded). Without them: 6 and 0.
    EXPECT_GE(not_found, kpu ? 2 : 5);
    EXPECT_GE(asked, not_found - 1);
    EXPECT_LT(by_marker, asked);  // some by the photo's own edges (none before them)
  }
}

// An iPhone's camera writes HEIC (and a browser may upload it as it is): the same photo as
// HEIC or AVIF reads as its JPEG does, also one of 3,000-4,000 px, decoded whole and reduced,
// and one held in 10 bits.
// `bgr` as an arithmetic-coded JPEG (SOF9, or SOF10 when `progressive`), as some scanners and
// archiving tools write it; OpenCV writes only Huffman-coded JPEG, so libjpeg directly.
std::vector<uint8_t> ArithmeticJpeg(const cv::Mat& bgr, bool progressive) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &out, &size);
  c.image_width = JDIMENSION(bgr.cols);
  c.image_height = JDIMENSION(bgr.rows);
  c.input_components = 3;
  c.in_color_space = JCS_EXT_BGR;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 88, TRUE);
  c.arith_code = TRUE;
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(bgr.ptr<uint8_t>(int(c.next_scanline)));
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::vector<uint8_t> bytes(out, out + size);
  jpeg_destroy_compress(&c);
  std::free(out);
  return bytes;
}

// The offset of the first SOFn marker's length field in a JPEG (the frame header).
size_t FrameHeader(const std::vector<uint8_t>& jpg) {
  for (size_t i = 2; i + 4 < jpg.size();) {
    const uint8_t m = jpg[i + 1];
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) return i + 1;
    i += 2 + ((size_t(jpg[i + 2]) << 8) | jpg[i + 3]);
  }
  return 0;
}

// An arithmetic-coded JPEG reads as its Huffman-coded twin does ("not a valid JPEG" before
// 2026-12-08); a lossless, hierarchical or 12-bit JPEG is refused by name.
TEST(ReadSynth, ArithmeticJpegIsReadOtherKindsRefusedByName) {
  NEED_MNIST();
  SynthOptions so;
  so.seed = 2027;
  so.inconsistent_rate = 0;
  so.min_width = 2000;
  so.max_width = 2600;
  auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
  ASSERT_TRUE(s.ok());
  auto p = (*s)->Make(0);
  ASSERT_TRUE(p.ok());
  const std::vector<uint8_t> huffman = Encode(p->image, ".jpg");
  const Reading base = MustRead(huffman, Opts());
  ASSERT_TRUE(base.page_found);
  for (const bool progressive : {false, true}) {
    const std::vector<uint8_t> arith = ArithmeticJpeg(p->image, progressive);
    const size_t sof = FrameHeader(arith);
    ASSERT_GT(sof, 0u);
    EXPECT_EQ(arith[sof], progressive ? 0xCA : 0xC9);
    const auto h = ParseImageHeader(arith);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->progressive, progressive);
    const Reading r = MustRead(arith, Opts());
    EXPECT_TRUE(r.page_found) << (r.reasons.empty() ? "" : r.reasons[0].detail);
    ExpectNoWrongAccepted(r, *p);
    EXPECT_EQ(r.accepted, base.accepted);
    ASSERT_EQ(r.fields.size(), base.fields.size());
    for (size_t i = 0; i < base.fields.size(); ++i) EXPECT_EQ(r.fields[i].value, base.fields[i].value) << base.fields[i].field;
  }
  // The same bytes with the frame marked lossless (SOF3) or hierarchical (SOF5), or with
  // 12-bit samples: image_unreadable, saying which kind and what to do.
  const size_t sof = FrameHeader(huffman);
  ASSERT_GT(sof, 0u);
  for (const auto& [marker, bits, says] :
       {std::tuple{0xC3, 8, "SOF3"}, {0xC5, 8, "SOF5"}, {0xC1, 12, "12-bit"}}) {
    std::vector<uint8_t> other = huffman;
    other[sof] = uint8_t(marker);
    other[sof + 3] = uint8_t(bits);
    const Reading r = MustRead(other, Opts());
    EXPECT_FALSE(r.page_found);
    ASSERT_FALSE(r.reasons.empty());
    EXPECT_EQ(r.reasons[0].code, "image_unreadable");
    EXPECT_NE(r.reasons[0].detail.find(says), std::string::npos) << r.reasons[0].detail;
    EXPECT_NE(r.reasons[0].detail.find("ordinary"), std::string::npos) << r.reasons[0].detail;
  }
}

TEST(ReadSynth, HeifPhotoIsRead) {
  NEED_MNIST();
  for (const int min_width : {1800, 3000}) {
    SynthOptions so;
    so.seed = 2026;
    so.inconsistent_rate = 0;
    so.min_width = min_width;
    so.max_width = min_width + 1000;
    auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 2; ++i) {
      auto p = (*s)->Make(i);
      ASSERT_TRUE(p.ok());
      const Reading jpeg = MustRead(p->jpeg, Opts());
      ASSERT_TRUE(jpeg.page_found) << p->file;
      // HEVC 8-bit; the first photo of each width also as 10-bit HEVC (its luma scaled to 8
      // bits when decoded) and, at the smaller width, as AVIF (slow to encode).
      struct Variant {
        PhotoFormat format;
        bool ten_bit;
      };
      std::vector<Variant> variants{{PhotoFormat::kHeic, false}};
      if (i == 0) variants.push_back({PhotoFormat::kHeic, true});
      if (i == 0 && min_width < 2000) variants.push_back({PhotoFormat::kAvif, false});
      for (const Variant& v : variants) {
        const std::vector<uint8_t> heif = HeifBytes(p->image, v.format, 85, v.ten_bit);
        ASSERT_FALSE(heif.empty());
        if (v.ten_bit) {  // the encoder kept the 10 bits
          heif_context* ctx = heif_context_alloc();
          heif_image_handle* h = nullptr;
          ASSERT_EQ(
              heif_context_read_from_memory_without_copy(ctx, heif.data(), heif.size(), nullptr)
                  .code,
              heif_error_Ok);
          ASSERT_EQ(heif_context_get_primary_image_handle(ctx, &h).code, heif_error_Ok);
          EXPECT_EQ(heif_image_handle_get_luma_bits_per_pixel(h), 10);
          heif_image_handle_release(h);
          heif_context_free(ctx);
        }
        const std::string what = p->file + (v.format == PhotoFormat::kAvif ? " AVIF" : " HEIC") +
                                 (v.ten_bit ? " 10-bit" : "");
        const Reading r = MustRead(heif, Opts());
        EXPECT_TRUE(r.page_found) << what << ": " << (r.reasons.empty() ? "" : r.reasons[0].detail);
        ExpectNoWrongAccepted(r, *p);
        EXPECT_EQ(r.tps, jpeg.tps);
        EXPECT_EQ(r.accepted, jpeg.accepted) << what;
        ASSERT_EQ(r.fields.size(), jpeg.fields.size());
        for (size_t k = 0; k < r.fields.size(); ++k)
          EXPECT_EQ(r.fields[k].value, jpeg.fields[k].value) << r.fields[k].field;
      }
    }
  }
  // `rekap forms synth --format heic`: the synthesizer writes its photo as HEIC.
  SynthOptions so;
  so.seed = 2026;
  so.inconsistent_rate = 0;
  so.min_width = 1800;
  so.max_width = 2800;
  so.format = PhotoFormat::kHeic;
  auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
  ASSERT_TRUE(s.ok());
  auto p = (*s)->Make(0);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->file, "page-00000.heic");
  EXPECT_EQ(p->TruthJson()["format"], "heic");
  const auto h = ParseImageHeader(p->jpeg);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type, ImageHeader::Type::kHeif);
  const Reading r = MustRead(p->jpeg, Opts());
  EXPECT_TRUE(r.page_found);
  ExpectNoWrongAccepted(r, *p);
}

// A phone's high-resolution mode (108 or 200 Mpx, common on the phones KPPS carry) writes a
// baseline JPEG past the 60 Mpx bound of other images: it is decoded reduced and read like the
// same photo at its usual size. A progressive JPEG that claims as many pixels is refused before
// anything is decoded (it would hold every coefficient in memory).
TEST(ReadSynth, HighResolutionPhoneJpegIsRead) {
  NEED_MNIST();
  auto s = MakeSynth(SynthForm::kOwn, 97, 0, true, 2500);
  auto p = s->Make(0);
  ASSERT_TRUE(p.ok());
  const Reading small = MustRead(p->jpeg, Opts());
  ASSERT_TRUE(small.page_found);
  cv::Mat grey = cv::imdecode(p->jpeg, cv::IMREAD_GRAYSCALE), big;
  const double k = std::sqrt(75e6 / double(grey.total()));  // about 75 Mpx
  cv::resize(grey, big, cv::Size(), k, k, cv::INTER_LINEAR);
  grey.release();
  ASSERT_GT(int64_t(big.total()), kMaxPhotoPixels);
  std::vector<uint8_t> jpg = Encode(big);
  big.release();
  const auto h = ParseImageHeader(jpg);
  ASSERT_TRUE(h && !h->progressive);
  const Reading r = MustRead(jpg, Opts());
  EXPECT_TRUE(r.page_found) << (r.reasons.empty() ? "" : r.reasons[0].code);
  EXPECT_FALSE(r.HasReason(reason::kImageTooLarge));
  ExpectNoWrongAccepted(r, *p);
  EXPECT_EQ(r.accepted, small.accepted);
  // The same bytes marked progressive (SOF2): refused on the header alone.
  for (size_t i = 2; i + 1 < jpg.size(); ++i)
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
      jpg[i + 1] = 0xC2;
      break;
    }
  const auto hp = ParseImageHeader(jpg);
  ASSERT_TRUE(hp && hp->progressive);
  ExpectFailure(MustRead(jpg, Opts()), reason::kImageTooLarge);
}

// A shaken camera (SynthOptions::shake) smears the photo along one direction: the borders
// across it widen, those along it stay sharp. The page's sharpness is the wider of its upright
// and level borders, so a shaken page in review is asked to be photographed again even where
// half of its borders still look sharp; the rest of the photo is as without the shake.
TEST(ReadSynth, ShakenPhotoIsAskedForAgain) {
  NEED_MNIST();
  auto make = [](double shake) {
    SynthOptions so = Stress(SynthForm::kOwn, 95);
    so.shake = shake;
    return Synthesizer::Create(*F().mnist, &Ppwp(), so);
  };
  auto sharp = make(0), shaken = make(16);
  ASSERT_TRUE(sharp.ok() && shaken.ok());
  int found = 0, review = 0, asked = 0;
  for (int i = 0; i < 12; ++i) {
    auto a = (*sharp)->Make(i), b = (*shaken)->Make(i);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->shake_px, 0);
    EXPECT_EQ(a->values, b->values) << a->file;
    EXPECT_EQ(a->blur_px, b->blur_px) << a->file;
    // 8-16 px per 2,000 px of the photo's width.
    EXPECT_GE(b->shake_px, 8 * b->image.cols / 2000.0 - 1e-9) << b->file;
    EXPECT_LE(b->shake_px, 16 * b->image.cols / 2000.0 + 1e-9) << b->file;
    const Reading ra = MustRead(a->jpeg, Opts()), rb = MustRead(b->jpeg, Opts());
    ExpectNoWrongAccepted(rb, *b);
    ASSERT_TRUE(ra.line_mm.count(1)) << a->file;
    if (!rb.line_mm.count(1)) continue;
    ++found;
    EXPECT_GT(rb.line_mm.at(1), ra.line_mm.at(1) + 0.1) << b->file << " shake " << b->shake_px << " px";
    if (rb.accepted) {
      EXPECT_FALSE(rb.HasReason(reason::kPhotoBlurred)) << b->file;
      continue;
    }
    ++review;
    asked += rb.HasReason(reason::kPhotoBlurred);
  }
  EXPECT_GE(found, 9);   // of 12 (measured: 11)
  EXPECT_GE(review, 6);  // (measured: 11: at this shake most digits are smeared past reading)
  // Measured: 11 of 11; with the median of all borders, as before, 7 of 11.
  EXPECT_GE(asked, review - 1) << "of " << review;
  for (double bad : {-1.0, 101.0}) EXPECT_FALSE(make(bad).ok()) << bad;
}

// A photo taken in dim light: the page's light times 0.3 and the camera's amplified grain, fine
// and in blotches of a few pixels, saved again as a phone's JPEG (quality 70).
std::vector<uint8_t> DimAndGrainy(const cv::Mat& photo, uint64_t seed) {
  cv::Mat g;
  if (photo.channels() == 3) cv::cvtColor(photo, g, cv::COLOR_BGR2GRAY);
  else g = photo.clone();
  g.convertTo(g, CV_32FC1, 0.3);
  cv::RNG rng(seed);
  cv::Mat coarse((g.rows + 2) / 3, (g.cols + 2) / 3, CV_32FC1), fine(g.size(), CV_32FC1);
  rng.fill(coarse, cv::RNG::NORMAL, 0, 5);
  rng.fill(fine, cv::RNG::NORMAL, 0, 4);
  cv::resize(coarse, coarse, g.size(), 0, 0, cv::INTER_LINEAR);
  cv::Mat out;
  cv::Mat(g + coarse + fine).convertTo(out, CV_8UC1);
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", out, jpeg, {cv::IMWRITE_JPEG_QUALITY, 70});
  return jpeg;
}

// Photos taken in dim light: the grain of the digit boxes (Reading::grain) is measured, and
// past ReadOptions::grain_limit the boxes are smoothed before their digits are read. Without
// that the grain grows onto the strokes or fills a box and reads as an 8; with it more pages
// are read, none with a wrong value. Usual photos stay under the limit. A page past the limit
// that still goes to review is asked for again in better light (photo_dark), among the first
// reasons; an accepted page, or one under the limit, never is.
TEST(ReadSynth, DimGrainyPhotoIsRead) {
  NEED_MNIST();
  int pages = 0, usual_under = 0, dim_over = 0, accepted = 0, accepted_plain = 0, asked = 0;
  // photo_dark exactly where the page is in review past the form's limit, as the first reason
  // after photo_blurred.
  auto check_dark = [](const Reading& r, int page, double limit, const std::string& what) {
    const bool over = r.grain.count(page) && r.grain.at(page) > limit;
    EXPECT_EQ(r.HasReason(reason::kPhotoDark), !r.accepted && over) << what;
    if (!r.HasReason(reason::kPhotoDark)) return;
    size_t k = 0;
    while (k < r.reasons.size() && r.reasons[k].code == reason::kPhotoBlurred) ++k;
    ASSERT_LT(k, r.reasons.size()) << what;
    EXPECT_EQ(r.reasons[k].code, reason::kPhotoDark) << what;
    EXPECT_NE(r.reasons[k].detail.find("cahaya"), std::string::npos) << r.reasons[k].detail;
    EXPECT_NE(r.reasons[k].detail.find("light"), std::string::npos) << r.reasons[k].detail;
  };
  for (const SynthForm form : {SynthForm::kOwn, SynthForm::kKpuPpwpPage2}) {
    SynthOptions so = Stress(form, 97);
    so.min_width = 1400;
    so.max_width = 2400;
    auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    const FormKind kind = form == SynthForm::kOwn ? FormKind::kOwn : FormKind::kKpuPpwpPage2;
    for (int i = 0; i < 8; ++i) {
      auto p = (*s)->Make(i);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      ReadOptions o = Opts(kind);
      o.expected_tps = p->tps;
      o.voters = p->voters;
      const Reading usual = MustRead(p->jpeg, o);
      const std::vector<uint8_t> dim = DimAndGrainy(p->image, 1000 + i);
      const Reading r = MustRead(dim, o);
      ReadOptions plain = o;
      plain.grain_limit = -1;
      const Reading rp = MustRead(dim, plain);
      ExpectNoWrongAccepted(r, *p);
      ExpectNoWrongAccepted(rp, *p);
      ++pages;
      const int page = kind == FormKind::kOwn ? 1 : 2;
      const double limit = FormGrainLimit(kind);  // 1.8 on our form, 2.0 on KPU's
      usual_under += usual.grain.count(page) && usual.grain.at(page) <= limit;
      dim_over += r.grain.count(page) && r.grain.at(page) > limit;
      check_dark(usual, page, limit, p->file + " usual");
      check_dark(r, page, limit, p->file + " dim");
      check_dark(rp, page, limit, p->file + " dim, not smoothed");  // the form's limit all the same
      asked += r.HasReason(reason::kPhotoDark);
      accepted += r.accepted;
      accepted_plain += rp.accepted;
      if (r.grain.count(page)) {
        EXPECT_EQ(ToJson(r)["grain"][std::to_string(page)], std::round(r.grain.at(page) * 100) / 100);
      }
    }
  }
  std::printf(
      "dim, grainy photos: %d of %d accepted (%d without smoothing); grain over the limit %d, "
      "usual photos under %d; asked for again in better light %d\n",
      accepted, pages, accepted_plain, dim_over, usual_under, asked);
  // Measured at this commit: 7 of 16 accepted, 3 without the smoothing; 10 over the limit; all 16
  // usual photos under it.
  EXPECT_GE(accepted, accepted_plain + 2);
  EXPECT_GE(dim_over, pages / 2);
  EXPECT_GE(usual_under, pages - 2);
  EXPECT_GE(asked, 4);  // measured: 5 (of the 9 dim photos in review, 10 over the limit)
}

// A synthetic KPU page read with its TPS and voters, as a caller names them.
// Page 2 of `p`'s TPS, read alone: `p`'s photo, or `photo` (p's, altered) when given.
Reading ReadKpuPage(const SynthPage& p, const std::vector<uint8_t>& photo = {},
                    int faint_contrast = ReadOptions{}.faint_contrast) {
  ReadOptions o = Opts(FormKind::kKpuPpwpPage2);
  o.expected_tps = p.tps;
  o.voters = p.voters;
  o.faint_contrast = faint_contrast;
  return MustRead(photo.empty() ? p.jpeg : photo, o);
}

// Reads the first `n` photos made with `so` (a KPU page with its TPS and voters): how many were
// found and accepted. None may be accepted with a wrong value, and a page not found must say so.
struct PagesRead {
  int pages = 0, found = 0, accepted = 0;
  int without_field = 0;  // found with no field of the print computed (Reading::print_fields)
};
PagesRead ReadStressPhotos(const SynthOptions& so, int n) {
  PagesRead c;
  auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  for (int i = 0; s.ok() && i < n; ++i) {
    auto p = (*s)->Make(i);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) break;
    Reading r = so.form == SynthForm::kOwn ? MustRead(p->jpeg, Opts()) : ReadKpuPage(*p);
    ++c.pages;
    c.found += r.page_found;
    c.accepted += r.accepted;
    c.without_field += r.page_found && r.print_fields == 0;
    ExpectNoWrongAccepted(r, *p);
    if (!r.page_found) ExpectFailure(r, "page_not_found");
  }
  return c;
}

// Reads the first `n` photos made with `so` twice, with the option `toggle` off and then on,
// each time with the page's TPS (and voters) expected, and hands both readings to `check`.
// `off`: another option off in both readings (nullptr: none).
template <class Check>
void ReadBeforeAfter(const SynthOptions& so, int n, FormKind form, bool ReadOptions::*toggle, Check check,
                     bool ReadOptions::*off = nullptr) {
  auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (int i = 0; i < n; ++i) {
    auto p = (*s)->Make(i);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ReadOptions o = Opts(form);
    o.expected_tps = p->tps;
    if (IsKpu(form)) o.voters = p->voters;
    if (off != nullptr) o.*off = false;
    o.*toggle = false;
    const Reading before = MustRead(p->jpeg, o);
    o.*toggle = true;
    const Reading after = MustRead(p->jpeg, o);
    check(*p, before, after);
  }
}

// How many of a page's written digit boxes a reading reads as written.
int BoxesReadRight(const Reading& r, const SynthPage& p, int* written) {
  int right = 0;
  for (const auto& [field, v] : p.values) {
    const FieldReading* f = r.Find(field);
    const auto s = p.samples.find(field);
    if (s == p.samples.end()) continue;
    const int d[3] = {v / 100, v / 10 % 10, v % 10};
    for (int pos = 0; pos < 3; ++pos) {
      if (s->second[size_t(pos)] == -1) continue;  // left blank
      ++*written;
      right += f != nullptr && f->box_digit[size_t(pos)] == d[pos];
    }
  }
  return right;
}

// How many of a page's numbers a reading's bubbles read as they were marked (the bubbled value,
// where the page bubbled another than it wrote); `numbers`, if given, counts the page's numbers.
int BubblesReadAsMarked(const Reading& r, const SynthPage& p, int* numbers = nullptr) {
  int right = 0;
  for (const auto& [field, v] : p.values) {
    const auto bv = p.bubble_values.find(field);
    const int marked = bv == p.bubble_values.end() ? v : bv->second;
    const FieldReading* f = r.Find(field);
    if (numbers != nullptr) ++*numbers;
    right += f != nullptr && f->omr == marked;
  }
  return right;
}

// Digits written too big for their boxes (SynthOptions::spill: every digit 0.85-1.2 times the
// box's inside height, off-centre by up to 15 %) cross the printed border. Read from the box's
// interior alone they lose their tops and tails; read from their own ink across the border
// (ReadOptions::spill) more of them are read as written, and more pages are accepted, none
// wrongly. Photos of usual handwriting have no box taken as crossing.
TEST(ReadSynth, DigitsPastTheirBordersReadFromTheirInk) {
  NEED_MNIST();
  for (const SynthForm form : {SynthForm::kKpuPpwpPage2, SynthForm::kOwn}) {
    const FormKind kind = form == SynthForm::kOwn ? FormKind::kOwn : FormKind::kKpuPpwpPage2;
    SynthOptions so = Stress(form, 203);
    so.min_width = 1000;  // the synthesizer's usual widths
    so.max_width = 4000;
    so.spill = 1;
    int written = 0, right_before = 0, right = 0, accepted_before = 0, accepted = 0, crossing = 0;
    ReadBeforeAfter(so, form == SynthForm::kOwn ? 6 : 24, kind, &ReadOptions::spill,
                    [&](const SynthPage& p, const Reading& before, const Reading& r) {
      EXPECT_GT(p.spilled, 0) << p.file;
      int w = 0;
      right_before += BoxesReadRight(before, p, &w);
      right += BoxesReadRight(r, p, &written);
      accepted_before += before.accepted;
      accepted += r.accepted;
      EXPECT_TRUE(before.spilled_boxes.empty()) << p.file;
      for (const auto& [page, k] : r.spilled_boxes) crossing += k;
      ExpectNoWrongAccepted(before, p);
      ExpectNoWrongAccepted(r, p);
    });
    SCOPED_TRACE(SynthFormName(form));
    EXPECT_GT(crossing, written / 20);
    // KPU's boxes stand 2.4 mm apart with paper around them: what crosses is found. Our form's
    // stand 1 mm apart, and a digit as tall as the box mostly lies along its border (a 7's bar
    // on the top line, a 9's loop touching it), which no crop can tell from the print: little
    // is gained there, and nothing may be lost.
    if (form == SynthForm::kOwn) {
      EXPECT_GE(right, right_before) << right_before << " -> " << right << " of " << written;
    } else {
      // A third of the boxes misread fewer at least, and more pages accepted.
      EXPECT_LE(3 * (written - right), 2 * (written - right_before))
          << right_before << " -> " << right << " of " << written;
      EXPECT_GT(accepted, accepted_before);
    }
    EXPECT_GE(accepted, accepted_before);
    std::printf("%s: boxes read as written %d -> %d of %d, pages accepted %d -> %d, boxes crossing %d\n",
                std::string(SynthFormName(form)).c_str(), right_before, right, written, accepted_before, accepted,
                crossing);
    // Usual handwriting, the same seed: the few boxes taken as crossing (a digit's tail just past
    // the border) are read the same, and so is every page.
    so.spill = 0;
    ReadBeforeAfter(so, 6, kind, &ReadOptions::spill, [&](const SynthPage& p, const Reading& before, const Reading& r) {
      EXPECT_EQ(p.spilled, 0);
      EXPECT_EQ(r.accepted, before.accepted) << p.file;
      ASSERT_EQ(r.fields.size(), before.fields.size());
      for (size_t i = 0; i < r.fields.size(); ++i) {
        EXPECT_EQ(r.fields[i].value, before.fields[i].value) << p.file << " " << r.fields[i].field;
        EXPECT_EQ(r.fields[i].box_digit, before.fields[i].box_digit) << p.file << " " << r.fields[i].field;
      }
    });
  }
}

// Photos of our form at three times the camera's blur: the digits are still read on most, the QR
// code often not. With the TPS expected, its modules are matched with that TPS's code. (Measured
// against the decoder alone: the modules read one by one, ReadQrByModules, decode most of these
// codes first; ReadIdentity.BlurredQrReadModuleByModule.)
TEST(ReadSynth, BlurredOwnPageIdentifiedByItsQrPattern) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kOwn, 90);
  so.blur_scale = 3;
  int pages = 0, found_before = 0, found = 0, matched = 0, accepted_before = 0, accepted = 0;
  ReadBeforeAfter(so, 24, FormKind::kOwn, &ReadOptions::qr_by_pattern,
                  [&](const SynthPage& p, const Reading& before, const Reading& r) {
    ++pages;
    auto identified = [&](const Reading& x) { return x.page_found && !x.HasReason(reason::kQrUnreadable); };
    found_before += identified(before);
    found += identified(r);
    accepted_before += before.accepted;
    accepted += r.accepted;
    if (identified(before)) {
      EXPECT_TRUE(identified(r)) << p.file;  // nothing identified before is lost
      EXPECT_EQ(r.accepted, before.accepted) << p.file;
    }
    if (r.qr.count(1) && r.qr.at(1) == qr::kMatched) {
      ++matched;
      EXPECT_EQ(r.tps, p.tps) << p.file;
      EXPECT_TRUE(before.HasReason(reason::kQrUnreadable)) << p.file;
    }
    ExpectNoWrongAccepted(r, p);
  }, &ReadOptions::qr_by_modules);
  std::cout << pages << " blurred photos of our form: identified " << found_before << " -> " << found << " ("
            << matched << " by the QR's pattern), accepted " << accepted_before << " -> " << accepted << "\n";
  EXPECT_EQ(found, found_before + matched);
  EXPECT_GE(matched, 3);  // measured: 6 (identified 12 -> 18, accepted 12 -> 14)
  EXPECT_GT(accepted, accepted_before);
}

// Our form at four times the camera's blur: corner markers whose blurred corners do not fit one
// homography within the usual tolerance, and printed lines spread wider than the paper gap, are
// fitted again within the blur measured at the markers' edges (blurred_search).
TEST(ReadSynth, BlurredOwnPageLocatedWithinItsBlur) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kOwn, 91);
  so.blur_scale = 4;
  int pages = 0, located_before = 0, located = 0;
  ReadBeforeAfter(so, 24, FormKind::kOwn, &ReadOptions::blurred_search,
                  [&](const SynthPage& p, const Reading& before, const Reading& r) {
    ++pages;
    located_before += !before.HasReason(reason::kPageNotFound);
    located += !r.HasReason(reason::kPageNotFound);
    if (!before.HasReason(reason::kPageNotFound)) {
      EXPECT_FALSE(r.HasReason(reason::kPageNotFound)) << p.file;  // nothing located before is lost
      EXPECT_EQ(r.accepted, before.accepted) << p.file;
    }
    ExpectNoWrongAccepted(r, p);
  });
  std::cout << pages << " photos of our form at 4x blur: located " << located_before << " -> " << located << "\n";
  EXPECT_GE(located, located_before + 1);  // measured: 16 -> 18
}

// A KPU photo three times as blurred as the synthesizer's camera: the AprilTag's 4 mm cells run
// together and the detector decodes no tag, and the printed lines are spread so wide that the
// paper 1.5 px beside them is still the line. Read cell by cell through the quad the detector
// rejected, the tag names the page, and with the paper sampled twice the tag edges' blur away
// the layout fits (blurred_search). Off, the same photos are page_not_found.
TEST(ReadSynth, BlurredKpuPageFoundWithoutItsTagDecoded) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kKpuPpwpPage2, 90);
  so.blur_scale = 3;
  int pages = 0, found_before = 0, found = 0, accepted = 0;
  ReadBeforeAfter(so, 12, FormKind::kKpuPpwpPage2, &ReadOptions::blurred_search,
                  [&](const SynthPage& p, const Reading& before, const Reading& r) {
    ++pages;
    found_before += before.page_found;
    found += r.page_found;
    accepted += r.accepted;
    if (before.page_found) {
      EXPECT_TRUE(r.page_found) << p.file;  // nothing found before is lost
    } else {
      ExpectFailure(before, "page_not_found");
    }
    if (r.page_found) {
      EXPECT_EQ(r.page, 2) << p.file;
    } else {
      ExpectFailure(r, "page_not_found");
    }
    ExpectNoWrongAccepted(r, p);
    if (r.accepted) {
      EXPECT_FALSE(r.HasReason(reason::kPhotoBlurred)) << p.file;
    }
  });
  std::cout << pages << " blurred KPU photos: found " << found_before << " -> " << found << ", accepted " << accepted
            << "\n";
  EXPECT_GE(found, found_before + 3);  // measured: 8 -> 12 (9 accepted)
  EXPECT_GE(found, pages - 1);
  // Page 3 of the same form, as blurred, read where page 2 is expected: its tag (103), read cell
  // by cell, names the other page (wrong_page) where before no tag was seen at all.
  SynthOptions sheets = Stress(SynthForm::kKpuPpwp, 90);
  sheets.blur_scale = 3;
  auto s3 = Synthesizer::Create(*F().mnist, &Ppwp(), sheets);
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  int page3 = 0, wrong_before = 0, wrong = 0;
  for (int i = 0; i < 24 && page3 < 8; ++i) {
    auto p = (*s3)->Make(i);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    if (p->page != 3) continue;
    ++page3;
    ReadOptions o = Opts(FormKind::kKpuPpwpPage2);
    o.expected_tps = p->tps;
    o.blurred_search = false;
    const Reading before = MustRead(p->jpeg, o);
    o.blurred_search = true;
    const Reading r = MustRead(p->jpeg, o);
    EXPECT_FALSE(r.page_found || r.accepted) << p->file;
    wrong_before += before.HasReason(reason::kWrongPage);
    wrong += r.HasReason(reason::kWrongPage);
    if (before.HasReason(reason::kWrongPage)) {
      EXPECT_TRUE(r.HasReason(reason::kWrongPage)) << p->file;
    }
  }
  std::cout << page3 << " blurred page-3 photos read as page 2: wrong_page " << wrong_before << " -> " << wrong << "\n";
  EXPECT_EQ(page3, 8);
  EXPECT_GT(wrong, wrong_before);
}

// A page that does not lie flat (1.5 mm on our form): no single homography fits it, and before
// pages were aligned number by number, 1 mm already lost two of three pages as page_not_found.
// Each is found now, and nothing accepted is wrong.
TEST(ReadSynth, BentPageAlignedNumberByNumber) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kOwn, 71);
  so.bend_mm = 1.5;
  const PagesRead c = ReadStressPhotos(so, 8);
  EXPECT_EQ(c.pages, 8);
  EXPECT_EQ(c.found, c.pages);
  EXPECT_GE(c.accepted, c.pages - 2);
}

// Bent by 3 mm, an A4 page moves some numbers further from where the corner markers' homography
// puts them than their own search may reach (under half a bubble's pitch), and too few fit for
// the bend field. The numbers that fit predict where their neighbours are: each of the others
// is searched from its nearest fitted numbers' offset (propagation, LayoutFit), round after
// round. Photos of seed 70 (2,000-3,000 px), 12 read: 6 accepted without it, 8 with.
TEST(ReadSynth, BentPageNumbersFoundFromTheirNeighbours) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kOwn, 70);
  so.bend_mm = 3;
  const PagesRead c = ReadStressPhotos(so, 12);
  std::cout << c.pages << " pages bent 3 mm: found " << c.found << ", accepted " << c.accepted << "\n";
  EXPECT_EQ(c.pages, 12);
  EXPECT_GE(c.found, 11);
  EXPECT_GE(c.accepted, 8);  // (6 before the propagation)
}

// Bent further (2.5 mm on our form), a page moves by more than a homography and a shift per
// part of each number follow: the three digit boxes of a number, 25 mm wide, are cropped a
// millimetre or two off. The offsets of the parts that fit give a smooth field over the page
// (BendField in locate.cc), and each part is searched again from the field's own map near it.
TEST(ReadSynth, BentPageReadThroughTheBendField) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kOwn, 78);
  so.bend_mm = 2.5;
  auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  int pages = 0, found = 0, accepted = 0, boxes = 0, boxes_right = 0;
  for (int i = 0; i < 12; ++i) {
    auto p = (*s)->Make(i);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    Reading r = MustRead(p->jpeg, Opts());
    ++pages;
    found += r.page_found;
    accepted += r.accepted;
    ExpectNoWrongAccepted(r, *p);
    for (const auto& [field, v] : p->values) {
      const FieldReading* f = r.Find(field);
      if (f == nullptr) continue;
      const int digits[3] = {v / 100, v / 10 % 10, v % 10};
      for (int k = 0; k < 3; ++k) {
        if (v < (k == 0 ? 100 : k == 1 ? 10 : 0)) continue;  // a leading blank
        ++boxes;
        boxes_right += f->box_digit[size_t(k)] == digits[k];
      }
    }
  }
  // Measured (2026-12-04): 10 of 12 accepted and 618 of 628 written boxes read right; without
  // the field 6 and 599.
  EXPECT_EQ(found, pages);
  EXPECT_GE(accepted, 9);
  EXPECT_GE(boxes_right, 0.97 * boxes) << boxes_right << " of " << boxes;
}

// KPU's page does not lie flat either (a 60 x 90 cm sheet). Its corner checkers are chosen among
// look-alikes; when no combination fits as a whole, the best few are aligned number by number.
TEST(ReadSynth, BentKpuPageAlignedNumberByNumber) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kKpuPpwpPage2, 73);
  so.bend_mm = 2;
  const PagesRead c = ReadStressPhotos(so, 8);
  EXPECT_EQ(c.pages, 8);
  EXPECT_GE(c.found, c.pages - 1);
  EXPECT_GE(c.accepted, c.pages - 3);
}

// Bent by 5 mm, KPU's sheet can leave a number's boxes 3-6 mm and a degree or two off where
// the alignment puts them, and our form bent by 3 mm a millimetre or two: the interior crops
// then hold a border and part of a digit. Read where their printed borders are seen
// (ReadOptions::box_borders, BoxesCorrection in read.cc), more boxes are read as written, and
// where the number was a bubble's pitch off the bubble rows move with them (BubbleSlip); no
// page is accepted wrong (measured 2026-12-07: KPU 203 -> 206 of 226 boxes, 24 -> 25 pages; our
// form 786 -> 806 of 822 boxes, bubbles 321 -> 322 of 336 numbers). On photos that lie flat the
// boxes stay where they are (the same readings). Measured without the field of the print
// (ReadOptions::print_field), which on these pages already aligns the boxes where they are (KPU
// 225 of 226 boxes before the borders are looked for, our form 812 of 822).
TEST(ReadSynth, BentPageBoxesReadWhereTheirBordersAre) {
  NEED_MNIST();
  // KPU's page bent 6 mm, 30 photos; our A4 form bent 3 mm, 12 photos.
  for (const auto& [form, seed, bend, n] : {std::tuple{SynthForm::kKpuPpwpPage2, 411u, 6.0, 30},
                                            std::tuple{SynthForm::kOwn, 406u, 3.0, 12}}) {
    const FormKind kind = form == SynthForm::kOwn ? FormKind::kOwn : FormKind::kKpuPpwpPage2;
    SynthOptions so = Stress(form, seed);
    so.bend_mm = bend;
    int written = 0, right_before = 0, right_after = 0, accepted_before = 0, accepted_after = 0, moved = 0;
    int numbers = 0, omr_before = 0, omr_after = 0;  // numbers whose bubbles are read as marked
    ReadBeforeAfter(so, n, kind, &ReadOptions::box_borders,
                    [&](const SynthPage& p, const Reading& before, const Reading& after) {
                      ExpectNoWrongAccepted(before, p);
                      ExpectNoWrongAccepted(after, p);
                      EXPECT_TRUE(before.boxes_moved.empty());
                      for (const auto& [page, k] : after.boxes_moved) moved += k;
                      int w = 0;
                      right_before += BoxesReadRight(before, p, &w);
                      right_after += BoxesReadRight(after, p, &written);
                      accepted_before += before.accepted;
                      accepted_after += after.accepted;
                      omr_before += BubblesReadAsMarked(before, p);
                      omr_after += BubblesReadAsMarked(after, p, &numbers);
                    },
                    &ReadOptions::print_field);
    std::cout << "bent " << bend << " mm, " << n << (kind == FormKind::kOwn ? " pages of our form" : " KPU pages")
              << ": boxes read right " << right_before << " -> " << right_after << " of " << written
              << ", bubbles " << omr_before << " -> " << omr_after << " of " << numbers << " numbers, accepted "
              << accepted_before << " -> " << accepted_after << ", numbers moved " << moved << "\n";
    EXPECT_GT(moved, 0);
    EXPECT_GT(right_after, right_before);
    EXPECT_GE(omr_after, omr_before);
    EXPECT_GE(accepted_after, accepted_before);
  }

  SynthOptions flat = Stress(SynthForm::kKpuPpwpPage2, 402);
  ReadBeforeAfter(flat, 8, FormKind::kKpuPpwpPage2, &ReadOptions::box_borders,
                  [&](const SynthPage& p, const Reading& before, const Reading& after) {
                    EXPECT_TRUE(after.boxes_moved.empty()) << p.file;
                    for (const auto& [field, v] : p.values) {
                      const FieldReading* b = before.Find(field);
                      const FieldReading* a = after.Find(field);
                      ASSERT_TRUE(a != nullptr && b != nullptr) << field;
                      EXPECT_EQ(a->box_digit, b->box_digit) << field << " on " << p.file;
                      EXPECT_EQ(a->value, b->value) << field << " on " << p.file;
                    }
                  });
}

// On our form bent 3 mm, a bubble row the alignment leaves half a millimetre off reads unclear
// (the disc it is measured by reaches the printed outline); read again where its outlines are
// (ReadOptions::bubble_rows), more numbers' bubbles read as marked and none accepted wrong. A
// flat page's rows are never looked for again.
TEST(ReadSynth, BentPageUnclearBubbleRowsReadWhereTheirOutlinesAre) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kOwn, 412);
  so.bend_mm = 3;
  int numbers = 0, omr_before = 0, omr_after = 0, accepted_before = 0, accepted_after = 0, moved = 0;
  ReadBeforeAfter(so, 16, FormKind::kOwn, &ReadOptions::bubble_rows,
                  [&](const SynthPage& p, const Reading& before, const Reading& after) {
                    ExpectNoWrongAccepted(before, p);
                    ExpectNoWrongAccepted(after, p);
                    EXPECT_TRUE(before.rows_moved.empty());
                    for (const auto& [page, k] : after.rows_moved) moved += k;
                    accepted_before += before.accepted;
                    accepted_after += after.accepted;
                    omr_before += BubblesReadAsMarked(before, p);
                    omr_after += BubblesReadAsMarked(after, p, &numbers);
                  });
  std::cout << "our form bent 3 mm, 16 pages: bubbles read as marked " << omr_before << " -> " << omr_after << " of "
            << numbers << " numbers, accepted " << accepted_before << " -> " << accepted_after << ", rows read again "
            << moved << "\n";
  EXPECT_GT(moved, 0);
  EXPECT_GT(omr_after, omr_before);
  EXPECT_GE(accepted_after, accepted_before);

  for (const SynthForm form : {SynthForm::kOwn, SynthForm::kKpuPpwpPage2}) {
    const FormKind kind = form == SynthForm::kOwn ? FormKind::kOwn : FormKind::kKpuPpwpPage2;
    ReadBeforeAfter(Stress(form, 413), 4, kind, &ReadOptions::bubble_rows,
                    [&](const SynthPage& p, const Reading& before, const Reading& after) {
                      EXPECT_TRUE(after.rows_moved.empty()) << p.file;
                      for (const auto& [field, v] : p.values) {
                        const FieldReading* b = before.Find(field);
                        const FieldReading* a = after.Find(field);
                        ASSERT_TRUE(a != nullptr && b != nullptr) << field;
                        EXPECT_EQ(a->omr, b->omr) << field << " on " << p.file;
                        EXPECT_EQ(a->value, b->value) << field << " on " << p.file;
                      }
                    });
  }
}

// Bent further (KPU's plano by 8 mm, our A3 by 5 mm), a page moves its middle further from the
// plane through its corner marks than a number's own search reaches, and KPU's page 2 has too
// few numbers (three) for a field of their offsets: the layout does not fit, or fits a bubble's
// pitch off. The drawing of the print itself, found patch by patch in the photo (FieldFromPrint,
// register.h), gives the page's field, and each number is searched for again through it
// (ReadOptions::print_field). More pages are found and accepted, more boxes read as written, and
// none is accepted wrong; what the field cannot rescue still goes to review.
TEST(ReadSynth, BentPageRegisteredAgainstItsPrint) {
  NEED_MNIST();
  for (const auto& [form, seed, bend, n] : {std::tuple{SynthForm::kKpuPpwpPage2, 418u, 8.0, 16},
                                            std::tuple{SynthForm::kOwn, 405u, 5.0, 12}}) {
    const FormKind kind = form == SynthForm::kOwn ? FormKind::kOwn : FormKind::kKpuPpwpPage2;
    SynthOptions so = Stress(form, seed);
    so.bend_mm = bend;
    int written = 0, right_before = 0, right_after = 0, found_before = 0, found_after = 0;
    int accepted_before = 0, accepted_after = 0, registered = 0;
    double largest = 0;
    ReadBeforeAfter(so, n, kind, &ReadOptions::print_field,
                    [&](const SynthPage& p, const Reading& before, const Reading& after) {
                      ExpectNoWrongAccepted(before, p);
                      ExpectNoWrongAccepted(after, p);
                      EXPECT_TRUE(before.bend_mm.empty()) << p.file;
                      registered += int(after.bend_mm.size());
                      for (const auto& [page, mm] : after.bend_mm) largest = std::max(largest, mm);
                      int w = 0;
                      right_before += BoxesReadRight(before, p, &w);
                      right_after += BoxesReadRight(after, p, &written);
                      found_before += before.page_found;
                      found_after += after.page_found;
                      accepted_before += before.accepted;
                      accepted_after += after.accepted;
                    });
    // Measured (2026-12-07): KPU 16 pages found 9 -> 14, accepted 6 -> 11, boxes 69 -> 111 of 127,
    // 13 registered, up to 29 mm; our form 12 pages found 7 -> 12, accepted 1 -> 7, boxes 407 -> 787
    // of 797, 12 registered, up to 11 mm.
    std::cout << (kind == FormKind::kOwn ? "our form" : "KPU page 2") << " bent " << bend << " mm, " << n
              << " pages: found " << found_before << " -> " << found_after << ", accepted " << accepted_before
              << " -> " << accepted_after << ", boxes read right " << right_before << " -> " << right_after << " of "
              << written << "; " << registered << " registered through the print's field, up to " << largest
              << " mm\n";
    EXPECT_GT(registered, n / 2);
    EXPECT_GT(largest, bend / 2);  // the field follows the bend, not a constant shift
    EXPECT_LE(largest, 4 * bend);
    EXPECT_GE(found_after, found_before);
    EXPECT_GT(accepted_after, accepted_before);
    EXPECT_GT(right_after, right_before);
  }
}

// A photo taken from further away: the page fills 40-50 % of the frame's width, the table around
// it. Every page is found and read; none accepted wrong. (On our form the corner markers are
// then too small for the reduced image now and then; the ones missing are looked for where the
// others put them, NearPredictedMarkers in locate.cc.)
TEST(ReadSynth, PageFillingHalfTheFrameRead) {
  NEED_MNIST();
  for (const SynthForm form : {SynthForm::kOwn, SynthForm::kKpuPpwpPage2}) {
    SynthOptions so = Stress(form, 504);
    so.min_fill = 0.4;
    so.max_fill = 0.5;
    const PagesRead c = ReadStressPhotos(so, 8);
    std::cout << (form == SynthForm::kOwn ? "our form" : "KPU page 2") << ", the page 40-50 % of the frame: found "
              << c.found << ", accepted " << c.accepted << " of " << c.pages << "\n";
    EXPECT_EQ(c.pages, 8);
    EXPECT_EQ(c.found, c.pages);
    EXPECT_GE(c.accepted, c.pages - 2);
  }
}

// A page filling little of a large photo (a sheet on a table, taken from further away) is read
// from the photo decoded again, less reduced (ReadOptions::finer_decode, Reading::decoded_finer):
// at the reduction a photo that size gets, this page's 10 mm boxes come out 20-30 px high.
// Without it, 60 photos of seed 5 placed at half a canvas twice their size read 98.85 % of their
// digits against 99.31 % unpadded; with it 99.36 % (docs/reader.md). A page that fills the
// photo is read as before.
TEST(ReadSynth, SmallPageInALargePhotoDecodedFiner) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kOwn, 713);
  so.min_width = 3400;
  so.max_width = 4000;
  so.min_fill = 0.35;
  so.max_fill = 0.45;
  int written_before = 0, written_after = 0, right_before = 0, right_after = 0, finer = 0, found = 0;
  ReadBeforeAfter(so, 6, FormKind::kOwn, &ReadOptions::finer_decode,
                  [&](const SynthPage& p, const Reading& before, const Reading& after) {
                    EXPECT_TRUE(before.decoded_finer.empty());
                    ExpectNoWrongAccepted(before, p);
                    ExpectNoWrongAccepted(after, p);
                    found += after.page_found;
                    for (const auto& [page, f] : after.decoded_finer) {
                      EXPECT_EQ(page, p.page);
                      EXPECT_GE(f, 2);
                      ++finer;
                    }
                    right_before += BoxesReadRight(before, p, &written_before);
                    right_after += BoxesReadRight(after, p, &written_after);
                  });
  std::cout << "the page 35-45 % of a 3,400-4,000 px frame: digits read right " << right_before << " -> "
            << right_after << " of " << written_after << "\n";
  EXPECT_EQ(found, 6);
  EXPECT_EQ(finer, 6);
  EXPECT_GE(right_after, right_before);
  // The page filling the frame (the default 72-95 %) at the same size: not decoded again.
  SynthOptions full = Stress(SynthForm::kOwn, 713);
  full.min_width = 3400;
  full.max_width = 4000;
  auto s = Synthesizer::Create(*F().mnist, &Ppwp(), full);
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < 2; ++i) {
    auto p = (*s)->Make(i);
    ASSERT_TRUE(p.ok());
    const Reading r = MustRead(p->jpeg, Opts());
    EXPECT_TRUE(r.page_found);
    EXPECT_TRUE(r.decoded_finer.empty());
  }
}

// KPU's plano travels folded: creases, each panel a little tilted (SynthOptions::folds).
TEST(ReadSynth, FoldedKpuPageRead) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kKpuPpwpPage2, 75);
  so.folds = 2;
  const PagesRead c = ReadStressPhotos(so, 10);
  EXPECT_EQ(c.pages, 10);
  EXPECT_EQ(c.found, c.pages);
  EXPECT_GE(c.accepted, c.pages - 3);
}

// Consistent pages of `form` photographed `min_width`..`max_width` px wide, for the tests that
// put two of them in one photo.
SynthOptions PairOptions(SynthForm form, uint32_t seed, int min_width, int max_width) {
  SynthOptions so;
  so.form = form;
  so.seed = seed;
  so.inconsistent_rate = 0;
  so.min_width = min_width;
  so.max_width = max_width;
  return so;
}

// KPU's page has no TPS on it: a photo holding two sheets of page 2 (two TPS's sheets side by
// side on a wall or a table) cannot say which is the named TPS's. Before 2026-12-08 the larger
// was read and accepted for whichever TPS the caller named (ten such photos of seed 1's pages,
// each named with either sheet's TPS: 20 accepted of 20). Now `several_sheets`, in review, with
// one of them read for the person who checks it. Each photo alone is read as before.
TEST(ReadSynth, TwoSheetsOfKpuPageInOnePhotoGoToReview) {
  NEED_MNIST();
  SynthOptions so = PairOptions(SynthForm::kKpuPpwpPage2, 2028, 1800, 2600);
  auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ReadOptions o = Opts(FormKind::kKpuPpwpPage2);
  int pairs = 0;
  for (int i = 0; i < 6; i += 2) {
    auto a = (*s)->Make(i), b = (*s)->Make(i + 1);
    ASSERT_TRUE(a.ok() && b.ok());
    o.expected_tps = a->tps;
    const Reading alone = MustRead(a->jpeg, o);
    EXPECT_TRUE(alone.page_found) << a->file;
    EXPECT_FALSE(alone.HasReason(reason::kSeveralSheets)) << a->file;
    // Side by side (i = 0, 4) or one above the other (i = 2), at the same height or width.
    cv::Mat x = a->image, y = b->image, both;
    if (i != 2) {
      const int h = std::min(x.rows, y.rows);
      cv::resize(x, x, cv::Size(x.cols * h / x.rows, h), 0, 0, cv::INTER_AREA);
      cv::resize(y, y, cv::Size(y.cols * h / y.rows, h), 0, 0, cv::INTER_AREA);
      cv::hconcat(x, y, both);
    } else {
      const int w = std::min(x.cols, y.cols);
      cv::resize(x, x, cv::Size(w, x.rows * w / x.cols), 0, 0, cv::INTER_AREA);
      cv::resize(y, y, cv::Size(w, y.rows * w / y.cols), 0, 0, cv::INTER_AREA);
      cv::vconcat(x, y, both);
    }
    for (const std::string& tps : {a->tps, b->tps}) {
      o.expected_tps = tps;
      const Reading r = MustRead(Encode(both, ".jpg"), o);
      EXPECT_TRUE(r.page_found) << a->file << " + " << b->file;
      EXPECT_FALSE(r.accepted) << a->file << " + " << b->file << " as " << tps;
      EXPECT_TRUE(r.HasReason(reason::kSeveralSheets)) << a->file << " + " << b->file;
    }
    ++pairs;
  }
  EXPECT_EQ(pairs, 3);
}

// Two of our own sheets in one photo side by side or one above the other, the second at 1 or 0.7
// times the first's size (CV_8UC3 images; the rest filled grey).
cv::Mat TwoSheets(cv::Mat x, cv::Mat y, bool side_by_side, double scale) {
  cv::Mat both;
  if (side_by_side) {
    const int h = std::min(x.rows, y.rows);
    cv::resize(x, x, cv::Size(x.cols * h / x.rows, h), 0, 0, cv::INTER_AREA);
    cv::resize(y, y, cv::Size(int(y.cols * h * scale / y.rows), int(h * scale)), 0, 0, cv::INTER_AREA);
    cv::copyMakeBorder(y, y, 0, h - y.rows, 0, 0, cv::BORDER_CONSTANT, cv::Scalar::all(90));
    cv::hconcat(x, y, both);
  } else {
    const int w = std::min(x.cols, y.cols);
    cv::resize(x, x, cv::Size(w, x.rows * w / x.cols), 0, 0, cv::INTER_AREA);
    cv::resize(y, y, cv::Size(int(w * scale), int(y.rows * w * scale / y.cols)), 0, 0, cv::INTER_AREA);
    cv::copyMakeBorder(y, y, 0, 0, 0, w - y.cols, cv::BORDER_CONSTANT, cv::Scalar::all(90));
    cv::vconcat(x, y, both);
  }
  return both;
}

// Two of our own sheets in one photo. Of two TPS (counting in one hall, their forms side by
// side): the QR names each sheet's TPS, so with --tps the sheet of that TPS is read, whichever of
// the two it is and whatever its size (before 2026-12-08 the larger was, and the other TPS's
// said `tps_mismatch`); without --tps one of them, for the TPS its QR names. Of one TPS (a sheet
// beside the one it replaces, or two versions of a count): which counts is for a person to say,
// `several_sheets`.
TEST(ReadSynth, TwoOfOurSheetsInOnePhoto) {
  NEED_MNIST();
  for (const bool same_tps : {false, true}) {
    SynthOptions so = PairOptions(SynthForm::kOwn, 2030, 1800, 2600);
    if (same_tps) so.tps = {"3171010001001"};
    auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    int read_alone = 0, pairs = 0;
    for (int i = 0; i < 8; i += 2) {
      auto a = (*s)->Make(i), b = (*s)->Make(i + 1);
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(a->tps == b->tps, same_tps);
      ReadOptions o = Opts();
      // Only pages each read and accepted alone say anything about the pair.
      o.expected_tps = a->tps;
      const Reading ra = MustRead(a->jpeg, o);
      o.expected_tps = b->tps;
      const Reading rb = MustRead(b->jpeg, o);
      if (!ra.accepted || !rb.accepted) continue;
      EXPECT_FALSE(ra.HasReason(reason::kSeveralSheets) || rb.HasReason(reason::kSeveralSheets));
      ++read_alone;
      // The second sheet smaller in the first and last pair: its QR is read only from the photo
      // decoded again finer around it (the photo is decoded reduced).
      const std::vector<uint8_t> jpeg =
          Encode(TwoSheets(a->image, b->image, i % 4 == 0, i == 0 ? 0.7 : i == 6 ? 0.5 : 1.0), ".jpg");
      const std::string what = a->file + " + " + b->file + (same_tps ? " (one TPS)" : "");
      for (const auto* page : {&*a, &*b}) {
        o.expected_tps = page->tps;
        const Reading r = MustRead(jpeg, o);
        EXPECT_TRUE(r.page_found) << what;
        EXPECT_EQ(r.tps, page->tps) << what;
        if (same_tps) {
          EXPECT_FALSE(r.accepted) << what;
          EXPECT_TRUE(r.HasReason(reason::kSeveralSheets)) << what;
          continue;
        }
        EXPECT_TRUE(r.accepted) << what << " as " << page->tps << ": " << (r.reasons.empty() ? "" : r.reasons[0].code);
        if (r.accepted) {
          for (const FieldReading& f : r.fields) EXPECT_EQ(f.value, page->values.at(f.field)) << f.field << " of " << what;
        }
      }
      o.expected_tps.clear();
      const Reading r = MustRead(jpeg, o);
      EXPECT_TRUE(r.page_found) << what;
      EXPECT_TRUE(r.tps == a->tps || r.tps == b->tps) << what << ": " << r.tps;
      EXPECT_EQ(r.HasReason(reason::kSeveralSheets), same_tps) << what;
      if (same_tps) {
        EXPECT_FALSE(r.accepted) << what;
      }
      if (r.accepted) {
        for (const FieldReading& f : r.fields) EXPECT_EQ(f.value, (r.tps == a->tps ? a : b)->values.at(f.field)) << f.field;
      }
      ++pairs;
    }
    EXPECT_GE(read_alone, 3) << same_tps;
    EXPECT_EQ(pairs, read_alone);
  }
}

// Two sheets of one TPS's page in one photo with the same numbers (a witness's copy beside the
// KPPS's sheet, written in another pen): both read, and the page accepted where each sheet is
// alone, with `copies` (before 2026-12-08: `several_sheets`, in review, whatever they said).
// Where the two differ in a number, each read well enough to be accepted alone, the page stays in
// review and the number is named (`copies_disagree`). Our form and KPU's page 2.
TEST(ReadSynth, TwoCopiesOfOnePageInOnePhoto) {
  NEED_MNIST();
  for (const SynthForm form : {SynthForm::kOwn, SynthForm::kKpuPpwpPage2}) {
    SynthOptions so = PairOptions(form, 2034, 1800, 2600);
    so.tps = {"3171010001001"};
    SynthOptions pen = so;  // the same pages, their digits drawn again with a pen
    pen.pen_strokes = 1;
    auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so), t = Synthesizer::Create(*F().mnist, &Ppwp(), pen);
    ASSERT_TRUE(s.ok() && t.ok());
    ReadOptions o = Opts(form == SynthForm::kOwn ? FormKind::kOwn : FormKind::kKpuPpwpPage2);
    int agree = 0, agree_accepted = 0, differ = 0, differ_named = 0;
    for (int i = 0; i < 5; ++i) {
      auto a = (*s)->Make(i), b = (*t)->Make(i), c = (*s)->Make(i + 5);
      ASSERT_TRUE(a.ok() && b.ok() && c.ok());
      ASSERT_EQ(a->values, b->values);
      ASSERT_EQ(a->tps, c->tps);
      o.expected_tps = a->tps;
      o.voters = a->voters;
      const Reading ra = MustRead(a->jpeg, o), rb = MustRead(b->jpeg, o);
      const std::string what = a->file + (form == SynthForm::kOwn ? " (ours)" : " (KPU)");
      // Side by side or one above the other, the copy at 1 or 0.8 times the size.
      const Reading r = MustRead(Encode(TwoSheets(a->image, b->image, i % 2 == 0, i < 3 ? 1.0 : 0.8), ".jpg"), o);
      EXPECT_TRUE(r.page_found) << what;
      if (r.accepted) {
        for (const FieldReading& f : r.fields) EXPECT_EQ(f.value, a->values.at(f.field)) << f.field << " of " << what;
        EXPECT_EQ(r.copies, (std::map<int, int>{{a->page, 2}})) << what;
      } else {
        EXPECT_TRUE(r.HasReason(reason::kSeveralSheets)) << what;
      }
      if (ra.accepted && rb.accepted) {
        ++agree;
        agree_accepted += r.accepted;
      }
      // Another count of the same TPS's page beside it: never accepted.
      o.voters = std::max(a->voters, c->voters);
      const Reading rc = MustRead(c->jpeg, o);
      const Reading d = MustRead(Encode(TwoSheets(a->image, c->image, i % 2 == 1, 1.0), ".jpg"), o);
      EXPECT_FALSE(d.accepted) << what << " + " << c->file;
      EXPECT_TRUE(d.HasReason(reason::kSeveralSheets)) << what << " + " << c->file;
      EXPECT_TRUE(d.copies.empty()) << what;
      if (ra.accepted && rc.accepted && a->values != c->values) {
        ++differ;
        for (const Reason& x : d.reasons)
          if (x.code == reason::kCopiesDisagree) {
            ++differ_named;
            // Each number named differs between the two sheets.
            for (const auto& [field, v] : a->values)
              if (x.detail.find(field + ":") != std::string::npos) {
                EXPECT_NE(v, c->values.at(field)) << field << " of " << what;
              }
          }
      }
    }
    EXPECT_GE(agree, 3) << int(form);
    EXPECT_EQ(agree_accepted, agree) << int(form);
    EXPECT_GE(differ, 3) << int(form);
    EXPECT_EQ(differ_named, differ) << int(form);
  }
}

// A photo holding several pages of our form for one TPS, read: every page of `pages` read, for
// `tps`, none missing and no other sheet in the way; accepted where the same pages photographed
// apart are (`apart_accepted`); every number confirmed its true value. Whether every page was read.
bool ExpectPagesRead(const Reading& r, const std::vector<int>& pages, const std::string& tps, bool apart_accepted,
                     const std::map<std::string, int>& truth, const std::string& what) {
  EXPECT_EQ(r.pages, pages) << what;
  EXPECT_EQ(r.tps, tps) << what;
  EXPECT_FALSE(r.HasReason(reason::kPageMissing) || r.HasReason(reason::kSeveralSheets)) << what;
  if (apart_accepted) {
    EXPECT_TRUE(r.accepted) << what << ": " << (r.reasons.empty() ? "" : r.reasons[0].code);
  }
  for (const FieldReading& f : r.fields)
    if (f.verified) {
      EXPECT_EQ(f.value, truth.at(f.field)) << f.field << " of " << what;
    }
  return r.pages == pages;
}

// Both pages of our form for one TPS (a contest of 20 candidates spans two) in one photo, side
// by side: both are read from it, as from two photos (before 2026-12-08 the one found first was
// read, and the other `page_missing`).
TEST(ReadSynth, TwoPagesOfOurFormInOnePhoto) {
  NEED_MNIST();
  auto big = TwentyCandidates();
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  ASSERT_EQ(OwnPageCount(*big->form), 2);
  SynthOptions so = PairOptions(SynthForm::kOwn, 2032, 1800, 2600);
  auto s = Synthesizer::Create(*F().mnist, &*big, so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  int both_read = 0, accepted_apart = 0;
  for (int sheet = 0; sheet < 3; ++sheet) {
    auto p1 = (*s)->Make(2 * sheet), p2 = (*s)->Make(2 * sheet + 1);
    ASSERT_TRUE(p1.ok() && p2.ok());
    ASSERT_EQ(p1->tps, p2->tps);
    ASSERT_EQ(p1->page, 1);
    ASSERT_EQ(p2->page, 2);
    std::map<std::string, int> truth = p1->values;
    truth.insert(p2->values.begin(), p2->values.end());
    ReadOptions o = Opts();
    o.contest = &*big;
    auto apart = ReadPages(std::vector<std::vector<uint8_t>>{p1->jpeg, p2->jpeg}, o);
    ASSERT_TRUE(apart.ok()) << apart.status().ToString();
    accepted_apart += apart->accepted;
    const std::string what = p1->file + " + " + p2->file;
    for (const bool with_tps : {false, true}) {
      o.expected_tps = with_tps ? p1->tps : "";
      const Reading r = MustRead(Encode(TwoSheets(p2->image, p1->image, sheet != 1, 1.0), ".jpg"), o);
      both_read += ExpectPagesRead(r, {1, 2}, p1->tps, apart->accepted, truth, what);
    }
  }
  EXPECT_EQ(both_read, 6);
  EXPECT_GE(accepted_apart, 2);
}

// Three pages of our form for one TPS (a contest of many candidates) laid side by side on a
// table and photographed together: all three read from the one photo, as from three photos
// (before 2026-12-08, third session: two of them, and `page_missing` for the third).
TEST(ReadSynth, ThreePagesOfOurFormInOnePhoto) {
  NEED_MNIST();
  Result<Contest> big = InvalidArgument("");
  for (int n = 21; n <= 60 && (!big.ok() || OwnPageCount(*big->form) < 3); ++n) big = Candidates(n);
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  ASSERT_EQ(OwnPageCount(*big->form), 3);
  SynthOptions so = PairOptions(SynthForm::kOwn, 2035, 1800, 2400);
  auto s = Synthesizer::Create(*F().mnist, &*big, so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  int all_read = 0, accepted_apart = 0;
  for (int sheet = 0; sheet < 2; ++sheet) {
    std::vector<SynthPage> p;
    std::map<std::string, int> truth;
    for (int k = 0; k < 3; ++k) {
      auto pk = (*s)->Make(3 * sheet + k);
      ASSERT_TRUE(pk.ok());
      ASSERT_EQ(pk->page, k + 1);
      truth.insert(pk->values.begin(), pk->values.end());
      p.push_back(std::move(*pk));
    }
    ASSERT_EQ(p[0].tps, p[2].tps);
    ReadOptions o = Opts();
    o.contest = &*big;
    auto apart = ReadPages(std::vector<std::vector<uint8_t>>{p[0].jpeg, p[1].jpeg, p[2].jpeg}, o);
    ASSERT_TRUE(apart.ok()) << apart.status().ToString();
    accepted_apart += apart->accepted;
    // Pages 3, 1, 2 from the left, each 1,500 px high.
    std::vector<cv::Mat> row;
    for (const int k : {2, 0, 1}) {
      cv::Mat x;
      cv::resize(p[size_t(k)].image, x, cv::Size(p[size_t(k)].image.cols * 1500 / p[size_t(k)].image.rows, 1500), 0, 0,
                 cv::INTER_AREA);
      row.push_back(x);
    }
    cv::Mat all;
    cv::hconcat(row, all);
    const std::string what = p[0].file + " .. " + p[2].file;
    o.expected_tps = sheet == 0 ? p[0].tps : "";
    all_read += ExpectPagesRead(MustRead(Encode(all, ".jpg"), o), {1, 2, 3}, p[0].tps, apart->accepted, truth, what);
  }
  EXPECT_EQ(all_read, 2);
  EXPECT_GE(accepted_apart, 1);
}

// KPU's pages 2 and 3 hung side by side (as KPPS hang the plano sheets on a wall) in one photo,
// page 3 on the left, page 2 beside it at 1 or 0.6 times its size (its tag then too small for the
// reduced image the tag is first looked for in). Read as page 2 alone, page 2 is read (before
// 2026-12-08: `wrong_page` where only page 3's tag was seen); read as the whole sheet, both pages
// are read from the one photo (before: one of them, and `page_missing`).
TEST(ReadSynth, KpuPagesTwoAndThreeInOnePhoto) {
  NEED_MNIST();
  SynthOptions so = PairOptions(SynthForm::kKpuPpwp, 2031, 1500, 2400);
  auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  int both_read = 0, sheets = 0;
  for (int sheet = 0; sheet < 4; ++sheet) {
    auto p2 = (*s)->Make(2 * sheet), p3 = (*s)->Make(2 * sheet + 1);
    ASSERT_TRUE(p2.ok() && p3.ok());
    ASSERT_EQ(p2->page, 2);
    ASSERT_EQ(p3->page, 3);
    ReadOptions o = Opts(FormKind::kKpuPpwp);
    o.expected_tps = p2->tps;
    o.voters = p2->voters;
    auto apart = ReadPages(std::vector<std::vector<uint8_t>>{p2->jpeg, p3->jpeg}, o);
    ASSERT_TRUE(apart.ok()) << apart.status().ToString();
    std::map<std::string, int> truth = p2->values;
    truth.insert(p3->values.begin(), p3->values.end());
    const double scale = sheet % 2 ? 0.6 : 1.0;
    cv::Mat x = p3->image, y = p2->image, both;
    const int h = std::min(x.rows, y.rows);
    cv::resize(x, x, cv::Size(x.cols * h / x.rows, h), 0, 0, cv::INTER_AREA);
    cv::resize(y, y, cv::Size(int(y.cols * h * scale / y.rows), int(h * scale)), 0, 0, cv::INTER_AREA);
    cv::copyMakeBorder(y, y, 0, h - y.rows, 0, 0, cv::BORDER_CONSTANT, cv::Scalar::all(90));
    cv::hconcat(x, y, both);
    const std::vector<uint8_t> jpeg = Encode(both, ".jpg");
    const std::string what = p2->file + " + " + p3->file + " at " + std::to_string(scale);
    const Reading r = MustRead(jpeg, o);
    EXPECT_EQ(r.pages, (std::vector<int>{2, 3})) << what;
    EXPECT_FALSE(r.HasReason(reason::kPageMissing)) << what;
    EXPECT_FALSE(r.HasReason(reason::kSeveralSheets)) << what;
    both_read += r.pages == std::vector<int>{2, 3};
    if (scale == 1 && apart->accepted) {
      EXPECT_TRUE(r.accepted) << what << ": " << (r.reasons.empty() ? "" : r.reasons[0].code);
    }
    for (const FieldReading& f : r.fields)
      if (f.verified) {
        EXPECT_EQ(f.value, truth.at(f.field)) << f.field << " of " << what;
      }
    // Page 2 alone.
    ReadOptions o2 = Opts(FormKind::kKpuPpwpPage2);
    o2.expected_tps = p2->tps;
    o2.voters = p2->voters;
    const Reading r2 = MustRead(jpeg, o2);
    EXPECT_TRUE(r2.page_found) << what;
    EXPECT_FALSE(r2.HasReason(reason::kWrongPage)) << what;
    EXPECT_EQ(r2.pages, std::vector<int>{2}) << what;
    if (r2.accepted) {
      for (const FieldReading& f : r2.fields) EXPECT_EQ(f.value, truth.at(f.field)) << f.field << " of " << what;
    }
    ++sheets;
  }
  EXPECT_EQ(sheets, 4);
  EXPECT_EQ(both_read, 4);
}

// read.h promises that ReadPage may run on several threads at once with one model (a server
// reads many photos in parallel). Eight photos of both forms, read one after the other, then by
// four threads at once, each in its own order, with the dlib model and with the committed
// ensemble: every reading the same, to the last probability.
TEST(ReadSynth, ConcurrentReadsGiveTheSameReadings) {
  NEED_MNIST();
  ASSERT_NE(CommittedEnsemble(), nullptr);
  struct Photo {
    std::vector<uint8_t> jpeg;
    ReadOptions o;
  };
  std::vector<Photo> photos;
  for (const SynthForm form : {SynthForm::kOwn, SynthForm::kKpuPpwpPage2}) {
    SynthOptions so;
    so.form = form;
    so.seed = 2029;
    so.min_width = 1500;
    so.max_width = 2500;
    auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    for (int i = 0; i < 4; ++i) {
      auto p = (*s)->Make(i);
      ASSERT_TRUE(p.ok());
      Photo ph{p->jpeg, Opts(form == SynthForm::kOwn ? FormKind::kOwn : FormKind::kKpuPpwpPage2)};
      ph.o.expected_tps = p->tps;
      ph.o.voters = p->voters;
      if (i % 2 == 1) ph.o.fast = CommittedEnsemble();
      photos.push_back(std::move(ph));
    }
  }
  auto summary = [](const Reading& r) {
    std::string out = std::string(r.accepted ? "accepted" : "review") + " " + r.tps;
    for (const FieldReading& f : r.fields) {
      char buf[160];
      std::snprintf(buf, sizeof buf, " %s=%d/%d/%d@%.17g", f.field.c_str(), f.value, f.ocr, f.omr, f.confidence);
      out += buf;
    }
    for (const Reason& x : r.reasons) out += " " + x.code + ":" + x.field;
    return out;
  };
  std::vector<std::string> alone;
  for (const Photo& p : photos) alone.push_back(summary(MustRead(p.jpeg, p.o)));
  constexpr int kThreads = 4;
  std::vector<std::vector<std::string>> seen(kThreads, std::vector<std::string>(photos.size()));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (size_t k = 0; k < photos.size(); ++k) {
        const size_t i = (k * 3 + size_t(t)) % photos.size();  // each thread its own order
        auto r = ReadPage(photos[i].jpeg, photos[i].o);
        seen[size_t(t)][i] = r.ok() ? summary(*r) : r.status().ToString();
      }
    });
  for (auto& th : threads) th.join();
  int accepted = 0;
  for (size_t i = 0; i < photos.size(); ++i) {
    accepted += alone[i].rfind("accepted", 0) == 0;
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(seen[size_t(t)][i], alone[i]) << "photo " << i << ", thread " << t;
  }
  EXPECT_GE(accepted, 4);  // the readings compared hold values, not only reasons
}

// A corner of the 60 x 90 cm sheet covered or out of the frame (SynthOptions::cover_corner):
// the other three checkers and the tag locate the page. Before, not one such page was found.
TEST(ReadSynth, KpuPageWithACornerCovered) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kKpuPpwpPage2, 76);
  so.cover_corner = true;
  const PagesRead c = ReadStressPhotos(so, 8);
  EXPECT_EQ(c.pages, 8);
  EXPECT_GE(c.found, c.pages - 1);
  EXPECT_GE(c.accepted, c.pages - 3);
  // A flat page fits as a whole through its three checkers left: found so before any
  // combination is aligned number by number with a field of the print of its own (0.1-0.2 s
  // each).
  std::printf("%d of %d pages with a corner covered found with no field of the print computed\n",
              c.without_field, c.pages);
  EXPECT_GE(c.without_field, c.pages / 2);
}

// KPU's boxes print a dotted 8-segment guide, and a KPPS that follows it writes its digits as a
// seven-segment display shows them (SynthOptions::segment_style): a 6 with a flat top bar, a 4
// open at the top, a 1 as one upright. A network that has only seen MNIST's hands reads such
// a 6 as a 5; the committed networks were also trained on such digits (docs/digits.md).
TEST(ReadSynth, KpuDigitsWrittenAlongTheSegmentGuideRead) {
  NEED_MNIST();
  SynthOptions so = Stress(SynthForm::kKpuPpwpPage2, 77);
  so.segment_style = 1;
  const PagesRead c = ReadStressPhotos(so, 10);
  EXPECT_EQ(c.pages, 10);
  EXPECT_EQ(c.found, c.pages);
  EXPECT_GE(c.accepted, c.pages - 2);
}

// Digit boxes and bubble columns repeat every 23.5 mm on KPU's page: a homography a box off
// puts most of their lines on their neighbours', and aligning each number by a few mm would
// make it fit. The rules beside the boxes do not repeat, so it must not. The field of the print
// (ReadOptions::print_field) is found from patches of frames, boxes and text too large to
// repeat: through it the page either does not fit, or every number is aligned where the page
// truly has it, never onto its neighbour.
TEST(ReadSynth, KpuHomographyABoxOffIsNotAligned) {
  NEED_MNIST();
  auto L = KpuPpwpPage2Layout();
  ASSERT_TRUE(L.ok());
  auto s = MakeSynth(SynthForm::kKpuPpwpPage2, 74, 0.0, true, 2400);
  ASSERT_TRUE(s);
  auto bent = MakeSynth(SynthForm::kKpuPpwpPage2, 74, 0.0, true, 2400, 2.0);
  ASSERT_TRUE(bent);
  const double pitch = L->numbers[0].digit_boxes[1].x - L->numbers[0].digit_boxes[0].x;
  int registered = 0;  // homographies a box off that the print's field put right
  for (int i = 0; i < 3; ++i) {
    auto p = s->Make(i);
    ASSERT_TRUE(p.ok());
    cv::Mat gray;
    cv::cvtColor(p->image, gray, cv::COLOR_BGR2GRAY);
    const cv::Matx33d& H = p->page_to_image;
    EXPECT_GE(LayoutFitOf(gray, H, *L, false), 0.9) << p->file;
    for (const cv::Point2d off : {cv::Point2d(pitch, 0), cv::Point2d(-pitch, 0), cv::Point2d(pitch - 2, 0),
                                  cv::Point2d(-pitch + 2, 1.5)}) {
      const cv::Matx33d Hw = H * cv::Matx33d(1, 0, off.x, 0, 1, off.y, 0, 0, 1);
      EXPECT_LT(LayoutFitOf(gray, Hw, *L, true, false), 0.7) << p->file << " off " << off;
      std::vector<cv::Point2d> centres;
      if (LayoutFitOf(gray, Hw, *L, true, true, &centres) < 0.7) continue;
      ++registered;
      auto on_photo = [&](double x, double y) {
        const cv::Vec3d v = H * cv::Vec3d(x, y, 1);
        return cv::Point2d(v[0] / v[2], v[1] / v[2]);
      };
      const double px_per_mm = cv::norm(on_photo(10, 0) - on_photo(0, 0)) / 10;
      ASSERT_EQ(centres.size(), L->numbers.size()) << p->file << " off " << off;
      for (size_t k = 0; k < centres.size(); ++k) {
        const Rect& b = L->numbers[k].digit_boxes[0];
        EXPECT_LT(cv::norm(centres[k] - on_photo(b.cx(), b.cy())), 3 * px_per_mm)
            << p->file << " off " << off << ", number " << k;
      }
    }
    // The same page bent by 2 mm, against the flat page's homography: aligned, it fits.
    auto b = bent->Make(i);
    ASSERT_TRUE(b.ok());
    cv::cvtColor(b->image, gray, cv::COLOR_BGR2GRAY);
    EXPECT_GE(LayoutFitOf(gray, b->page_to_image, *L, true), 0.7) << b->file;
  }
  std::cout << registered << " of 12 homographies a box off put right through the print's field\n";
}


TEST(ReadSynth, EndToEndKpuPage) {
  NEED_MNIST();
  auto s = MakeSynth(SynthForm::kKpuPpwpPage2, 77, 0.33, true, 3000);
  ASSERT_TRUE(s);
  for (int i = 0; i < 10; ++i) {
    auto p = s->Make(i);
    ASSERT_TRUE(p.ok());
    Reading r = ReadKpuPage(*p);
    EXPECT_TRUE(r.page_found) << p->file;
    ExpectNoWrongAccepted(r, *p);
    if (p->inconsistent) {
      EXPECT_FALSE(r.accepted) << p->file << " " << p->inconsistency;
    }
  }
}

// Deliberately inconsistent KPU pages (digits against bubbles, or more votes than voters) with a
// bubble row left out, or double-marked, on every number: the row left out is never the one that
// disagrees, and its second mark never the written digit (either would make the page consistent
// again while truth.json calls it inconsistent), so every page is flagged. Where the clear
// bubbles contradict the boxes, the CNN's probability of the bubbles' value is reported and is
// below its best reading's.
TEST(ReadSynth, KpuInconsistentPagesWithMarksLeftOutFlagged) {
  NEED_MNIST();
  int contradicted = 0;
  // Every number with a bubble row left out, then every number with a row double-marked.
  // Pages of seed 21 whose disagreeing mark was left out (21, 53, 60: 3 of the first 100), or
  // whose second mark landed on the written digit (101, 117, 229: 3 of the first 230), before
  // the synthesizer kept them apart; and a few others.
  const std::vector<int> left_out{0, 1, 2, 21, 53, 60}, double_marked{0, 1, 101, 117, 229};
  for (const bool left : {true, false}) {
    SynthOptions so;
    so.form = SynthForm::kKpuPpwpPage2;
    so.seed = 21;
    so.inconsistent_rate = 1;
    so.missing_mark_rate = left ? 1 : 0;
    so.double_mark_rate = left ? 0 : 1;
    so.min_width = 2500;
    so.max_width = 3500;
    auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    for (int i : left ? left_out : double_marked) {
      auto p = (*s)->Make(i);
      ASSERT_TRUE(p.ok());
      ASSERT_TRUE(p->inconsistent);
      Reading r = ReadKpuPage(*p);
      EXPECT_FALSE(r.accepted) << p->file << " " << p->inconsistency << (left ? " (left out)" : " (double)");
      for (const FieldReading& f : r.fields) {
        if (f.omr == kMissing || f.ocr == kMissing || f.omr == f.ocr) continue;
        ++contradicted;
        EXPECT_GE(f.ocr_p_of_omr, 0.0) << f.field;
        EXPECT_LE(f.ocr_p_of_omr, f.ocr_p) << f.field;
      }
    }
  }
  EXPECT_GT(contradicted, 0);
}

// KPU page-2 photos written with thin pens (SynthOptions::pen_strokes 1) on the tests' digits.
Result<std::unique_ptr<Synthesizer>> ThinPenKpuPages(uint32_t seed, double inconsistent = SynthOptions{}.inconsistent_rate) {
  SynthOptions so;
  so.form = SynthForm::kKpuPpwpPage2;
  so.seed = seed;
  so.inconsistent_rate = inconsistent;
  so.pen_strokes = 1;
  return Synthesizer::Create(*F().mnist, &Ppwp(), so);
}

constexpr int kBoxReadEmptyPage = 52;  // see below

// A digit box read as empty is no reading of its digit, even where the bubbles spell the whole
// number. Thin-pen photos (SynthOptions::pen_strokes), every page inconsistent, seed 82: a
// number written and bubbled alike, in pencil, whose units (or tens) box's faint digit is judged
// empty. The CNN's reading of the number then leaves that digit open (an empty box leaves every
// digit equally likely, and 0 comes first), and "boxes+some bubbles" asked only that the CNN's
// best reading be the value, and accepted it: right by chance where the faint digit is the 0,
// but on an earlier version of the synthesizer's thin pen page 479 had 64 written and 60
// bubbled, the 4 judged empty, and 60 was accepted. Now such a number needs the CNN's
// min_ocr_probability. Page 168 (suara_2, 60) was the case until KPU's guide was drawn as
// printed (2026-12-06: square dots, lighter), which left its 0 readable; page 52 (suara_3, 18,
// the 8 judged empty after its 1) is the case since (REKAP_TEST_SCAN=N lists the pages 0..N-1
// that qualify; of 0..99, 52 and 59).
TEST(ReadSynth, BoxReadEmptyDoesNotConfirmTheBubbles) {
  NEED_MNIST();
  auto s = ThinPenKpuPages(82, 1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const bool scan = Scanning();
  int checked = 0;
  for (int page : FixedOrScanned({kBoxReadEmptyPage})) {
    auto p = (*s)->Make(page);
    ASSERT_TRUE(p.ok());
    // Read without the faint look (below), which finds the digit.
    Reading r = ReadKpuPage(*p, {}, /*faint_contrast=*/0);
    // The number: written and bubbled alike, a box holding a written digit read as empty...
    const FieldReading* f = nullptr;
    int pos = -1;
    for (const auto& [field, v] : p->values) {
      if (p->bubble_values.count(field)) continue;  // written otherwise than bubbled
      const FieldReading* g = r.Find(field);
      if (g == nullptr || g->omr != v) continue;
      // ... after a digit read (a number has no gaps: the reason names such a box).
      for (int q : {2, 1}) {
        const bool after_digit = g->box_digit[0] >= 0 || (q == 2 && g->box_digit[1] >= 0);
        if ((q == 2 || v >= 10) && g->box_digit[size_t(q)] == -1 && after_digit && f == nullptr) f = g, pos = q;
      }
    }
    if (scan && f == nullptr) continue;
    ASSERT_NE(f, nullptr) << "the premise, page " << page << ": a box read as empty where the bubbles spell the number";
    Reading again = ReadKpuPage(*p);
    const FieldReading* f2 = again.Find(f->field);
    ASSERT_NE(f2, nullptr);
    const int v = p->values.at(f->field);
    const int digit = pos == 2 ? v % 10 : v / 10 % 10;
    if (scan && !(f2->box_digit[size_t(pos)] == digit && f2->verified)) continue;
    if (scan) std::printf("page %d: %s = %d, box %d read empty\n", page, f->field.c_str(), v, pos + 1);
    ++checked;
    EXPECT_FALSE(f->verified) << f->confirmed_by;
    EXPECT_FALSE(r.accepted);
    // The person checking it is told which box to look at.
    bool told = false;
    const std::string box = "box " + std::to_string(pos + 1) + " read as empty";
    for (const Reason& why : r.reasons)
      told = told || (why.field == f->field && why.detail.find(box) != std::string::npos);
    EXPECT_TRUE(told) << box;
    // The faint look (ReadOptions::faint_contrast, FaintDigitWhereTheNumberNeedsOneIsRead)
    // reads the box as its digit, and the number is read from its boxes and its bubbles; the
    // page stays flagged for its other numbers, written otherwise than bubbled.
    EXPECT_EQ(f2->box_digit[size_t(pos)], digit);
    EXPECT_EQ(f2->ocr, v);
    EXPECT_TRUE(f2->verified);
    EXPECT_EQ(f2->value, v);
    EXPECT_FALSE(again.accepted);
  }
  if (!scan) {
    EXPECT_EQ(checked, 1);
  }
}

// On a page written faintly a leading box is looked at for faint ink too
// (ReadOptions::faint_page_contrast). Thin-pen photos, every page inconsistent, seed 432, as
// `rekap bench reader` makes them (all 10,000 MNIST test digits): page 27's third number is
// written 123 and bubbled 23, its 1 a 0.34 mm stroke on a photo 1,281 px wide, lighter than
// the 40/255 that separates ink from JPEG noise. Judged empty, the boxes read 23 and agreed with
// the bubbles, and the page was accepted with 23 (found by `rekap bench reader --photos`, seed 432,
// 300 pages: the only one let through; REKAP_TEST_SCAN=N lists the pages 0..N-1 accepted so
// without the look). With the look the leading box reads 1, and the page goes to review.
TEST(ReadSynth, FaintLeadingDigitOnAFaintPageIsRead) {
  NEED_MNIST();
  ASSERT_NE(AllMnistTest(), nullptr);
  ASSERT_NE(CommittedEnsemble(), nullptr);
  SynthOptions so;
  so.form = SynthForm::kKpuPpwpPage2;
  so.seed = 432;
  so.inconsistent_rate = 1;
  so.pen_strokes = 1;
  auto s = Synthesizer::Create(*AllMnistTest(), &Ppwp(), so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const bool scan = Scanning();
  int checked = 0;
  for (int page : FixedOrScanned({27})) {
    auto p = (*s)->Make(page);
    ASSERT_TRUE(p.ok());
    ReadOptions o = Opts(FormKind::kKpuPpwpPage2);
    o.expected_tps = p->tps;
    o.voters = p->voters;
    o.fast = CommittedEnsemble();
    o.faint_page_contrast = 0;  // off: only where the number needs a digit
    Reading before = MustRead(p->jpeg, o);
    // The premise: accepted with a number whose written leading digit was read as a blank box.
    const FieldReading* f = nullptr;
    for (const auto& [field, v] : p->values) {
      const FieldReading* g = before.Find(field);
      if (g != nullptr && g->value != v && v >= 100 && g->box_digit[0] == -1) f = g;
    }
    if (scan && !(before.accepted && f != nullptr)) continue;
    if (scan) std::printf("page %d: %s written %d, read %d\n", page, f->field.c_str(), p->values.at(f->field), f->value);
    ASSERT_TRUE(before.accepted) << "the premise, page " << page;
    ASSERT_NE(f, nullptr) << "the premise, page " << page;
    ++checked;
    o.faint_page_contrast = ReadOptions{}.faint_page_contrast;
    Reading after = MustRead(p->jpeg, o);
    EXPECT_FALSE(after.accepted);
    const FieldReading* g = after.Find(f->field);
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->box_digit[0], p->values.at(f->field) / 100);
    EXPECT_FALSE(g->verified) << g->confirmed_by;
  }
  if (!scan) {
    EXPECT_EQ(checked, 1);
  }
}

// A box judged empty at the normal ink contrast where the number must hold a digit is looked at
// again for fainter ink (ReadOptions::faint_contrast): a thin, light pen stroke. Thin-pen pages
// of seed 80: on page 17 the box follows a digit read (a number has no gaps), on page 8 one box
// follows a digit and in another number the bubbles spell a digit there while no box before it
// was read (pages found by REKAP_TEST_SCAN for the networks of 2026-12-04; page 15, found for
// the ones before, now stays in review). Without the second
// look each page goes to review with the box read empty; with it, each is accepted with every
// value right.
TEST(ReadSynth, FaintDigitWhereTheNumberNeedsOneIsRead) {
  NEED_MNIST();
  auto s = ThinPenKpuPages(80);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const bool scan = Scanning();  // REKAP_TEST_SCAN=N lists the pages 0..N-1 that qualify
  int after_digit = 0, bubbles_only = 0;
  for (int page : FixedOrScanned({8, 17})) {
    auto p = (*s)->Make(page);
    ASSERT_TRUE(p.ok());
    if (scan && p->inconsistent) continue;
    ASSERT_FALSE(p->inconsistent) << page;
    const Reading before = ReadKpuPage(*p, {}, /*faint_contrast=*/0);
    const Reading r = ReadKpuPage(*p);
    // The boxes read empty before and read as their written digit now.
    int gained = 0, gained_after_digit = 0;
    for (const FieldReading& f : r.fields) {
      const FieldReading* b = before.Find(f.field);
      ASSERT_NE(b, nullptr);
      for (int k = 0; k < 3; ++k) {
        if (b->box_digit[size_t(k)] >= 0 || f.box_digit[size_t(k)] < 0) continue;
        ++gained;
        bool digit_before = false;
        for (int j = 0; j < k; ++j) digit_before = digit_before || b->box_digit[size_t(j)] >= 0;
        gained_after_digit += digit_before;
      }
    }
    bool right = r.accepted;
    for (const auto& [field, v] : p->values) right = right && r.Find(field) && r.Find(field)->value == v;
    if (scan) {
      if (!before.accepted && right && gained > 0)
        std::printf("page %d: %d boxes read again, %d after a digit\n", page, gained, gained_after_digit);
      continue;
    }
    EXPECT_FALSE(before.accepted) << page;
    EXPECT_TRUE(r.accepted) << page;
    for (const auto& [field, v] : p->values) {
      const FieldReading* f = r.Find(field);
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(f->value, v) << page << " " << field;
    }
    EXPECT_GT(gained, 0) << page;
    after_digit += gained_after_digit > 0;
    bubbles_only += gained > gained_after_digit;
  }
  if (!scan) {
    EXPECT_GT(after_digit, 0);
    EXPECT_GT(bubbles_only, 0);
  }
}

// A synthesizer with the default options (as `rekap bench reader` makes its photos), the share
// of deliberately inconsistent pages aside.
Result<std::unique_ptr<Synthesizer>> DefaultSynth(SynthForm form, uint32_t seed,
                                                  double inconsistent = SynthOptions{}.inconsistent_rate) {
  SynthOptions so;
  so.form = form;
  so.seed = seed;
  so.inconsistent_rate = inconsistent;
  return Synthesizer::Create(*F().mnist, &Ppwp(), so);
}

// Sheets whose deliberately disagreeing bubble is a 0 above the bubbles' first digit (boxes 60,
// bubbles 0; boxes 39, bubbles 9): that row used to be left empty half of the time, which on
// paper is the written digit's mark left out, and page 3's V.A (written from the boxes) then
// confirmed the boxes. The synthesizer now always marks it; read with page 3, flagged.
TEST(ReadSynth, KpuLeadingZeroDisagreementFlagged) {
  NEED_MNIST();
  auto s = DefaultSynth(SynthForm::kKpuPpwp, 24, 1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ReadOptions o = Opts(FormKind::kKpuPpwp);
  for (int sheet : {423, 435}) {  // accepted before (bench reader --seed 24 --inconsistent-rate 1)
    auto p2 = (*s)->Make(2 * sheet), p3 = (*s)->Make(2 * sheet + 1);
    ASSERT_TRUE(p2.ok() && p3.ok());
    ASSERT_EQ(p2->bubble_values.size(), 1u) << p2->inconsistency;
    const auto& [field, bubbled] = *p2->bubble_values.begin();
    EXPECT_LT(bubbled, 10) << field;  // the bubbles' value lost its leading digit to a 0
    EXPECT_GE(p2->values.at(field), 10) << field;
    o.expected_tps = p2->tps;
    o.voters = p2->voters;
    auto r = ReadPages(std::vector<std::vector<uint8_t>>{p2->jpeg, p3->jpeg}, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->accepted) << "sheet " << sheet << " " << p2->inconsistency;
    const FieldReading* f = r->Find(field);
    ASSERT_NE(f, nullptr);
    EXPECT_FALSE(f->verified) << field << " " << f->confirmed_by;
  }
}

// KPU sheet `sheet` (pages 2 and 3) of `s` as the tests read it: both photos, the values
// written on both pages, and the reading options with the sheet's TPS and voters.
struct KpuSheet {
  std::vector<std::vector<uint8_t>> photos;
  std::map<std::string, int> truth;
  ReadOptions o;
  bool inconsistent = false;
};
KpuSheet MakeKpuSheet(const Synthesizer& s, int sheet) {
  KpuSheet k;
  auto p2 = s.Make(2 * sheet), p3 = s.Make(2 * sheet + 1);
  EXPECT_TRUE(p2.ok() && p3.ok());
  if (!p2.ok() || !p3.ok()) return k;
  k.photos = {p2->jpeg, p3->jpeg};
  k.truth = p2->values;
  k.truth.insert(p3->values.begin(), p3->values.end());
  k.o = Opts(FormKind::kKpuPpwp);
  k.o.expected_tps = p2->tps;
  k.o.voters = p2->voters;
  k.inconsistent = p2->inconsistent;
  return k;
}

// A misread is known on the sheet: a confirmed number whose CNN reading is not its value.
bool MisreadKnown(const Reading& r) {
  return std::any_of(r.fields.begin(), r.fields.end(),
                     [](const FieldReading& f) { return f.verified && f.ocr >= 0 && f.ocr != f.value; });
}

// A sheet the misread check sends to review: a misread is known on it, and nothing it confirms
// is wrong.
void ExpectReviewedWithMisreadKnown(const Reading& r, const KpuSheet& k, int sheet) {
  EXPECT_FALSE(r.accepted) << "sheet " << sheet;
  for (const auto& f : r.fields) {
    if (f.verified && k.truth.count(f.field)) {
      EXPECT_EQ(f.value, k.truth.at(f.field)) << "sheet " << sheet << " " << f.field << " " << f.confirmed_by;
    }
  }
  EXPECT_TRUE(MisreadKnown(r)) << "sheet " << sheet;
}

// A misread known on the sheet tightens the confirmations that rest on the CNN alone. Sheets of
// KPU pages 2 + 3 in "other hands" (SynthOptions::restyle 1, seed 1, the tests' 2,000 MNIST
// digits and one network), found by reading sheets 0..1499 with the check off: V.B and V.C are
// both misread (with the networks of then: V.B = 3 read 5 as the boxes' second reading, V.C =
// 107 read 109; V.B = 4 read 3, V.C = 103 read 102) so that V.C = V.A + V.B still holds, and
// the sheet was accepted with two wrong values. Each sheet shows the CNN misreading this hand
// elsewhere (a number whose confirmed value is not the CNN's reading). With the check they go
// to review.
TEST(ReadSynth, MisreadKnownOnTheSheetTightensCnnOnlyConfirmations) {
  NEED_MNIST();
  SynthOptions so;
  so.form = SynthForm::kKpuPpwp;
  so.seed = 1;
  so.restyle = 1;
  auto s = Synthesizer::Create(*F().mnist, &Ppwp(), so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  // REKAP_TEST_SCAN=N lists the sheets 0..N-1 that qualify: with the committed digits.dnn, of
  // 0..1499 only 1043 (before the segment-digit retraining, 1043 and 1375).
  const bool scan = Scanning();
  for (int sheet : FixedOrScanned({1043})) {
    KpuSheet k = MakeKpuSheet(**s, sheet);
    if (scan && k.inconsistent) continue;
    ASSERT_FALSE(k.inconsistent);
    auto wrong_values = [&](const Reading& r) {
      int n = 0;
      for (const auto& f : r.fields) n += k.truth.count(f.field) && k.truth.at(f.field) != f.value;
      return n;
    };
    k.o.min_cross_probability_after_misread = 2;  // off: how the sheet read before
    auto before = ReadPages(k.photos, k.o);
    ASSERT_TRUE(before.ok()) << before.status().ToString();
    if (scan && (!before->accepted || wrong_values(*before) != 2)) continue;
    if (scan) std::printf("sheet %d accepted with 2 wrong values\n", sheet);
    EXPECT_TRUE(before->accepted) << "sheet " << sheet;
    EXPECT_EQ(wrong_values(*before), 2) << "sheet " << sheet;
    k.o.min_cross_probability_after_misread = ReadOptions{}.min_cross_probability_after_misread;
    auto r = ReadPages(k.photos, k.o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ExpectReviewedWithMisreadKnown(*r, k, sheet);
  }
}

// Two numbers read by their boxes alone do not confirm each other through a rule on a sheet
// where the CNN is known to misread the hand. Thin pencil and ballpoint digits
// (SynthOptions::pen_strokes), seed 81: on sheet 60 of `rekap bench reader --form kpu-ppwp
// --pen-strokes 1` page 2's 27 and 58 were read by the CNN as 17 and 50 (the bubbles read them
// right), then page 3's V.B 0 and V.C 154 as 7 (0.93) and 161 (0.96), which satisfy V.C = V.A +
// V.B together and were accepted as a pair, past the 0.9 that a misread known asks. The
// sheets are made and read here as the benchmark makes and reads them (all 10,000 MNIST test
// digits, the five networks). The networks retrained on 2026-12-04 misread no such pair on the
// first 1,000 sheets of this seed, so the premise is now the rule's own condition: with the
// misread check off, sheets 3 and 7 are accepted with a pair read by the boxes alone at >= 0.9
// on a sheet where a misread is known (their pairs happen to be right; REKAP_TEST_SCAN=N lists
// such sheets); with it on, they go to review. Sheets 3 and 10 since KPU's guide is drawn as
// printed (2026-12-06; 3 and 7 before).
TEST(ReadSynth, NoBoxesOnlyPairAfterAMisread) {
  NEED_MNIST();
  SynthOptions so;
  so.form = SynthForm::kKpuPpwp;
  so.seed = 81;
  so.pen_strokes = 1;
  ASSERT_NE(AllMnistTest(), nullptr);  // as `rekap bench reader` writes its sheets
  auto s = Synthesizer::Create(*AllMnistTest(), &Ppwp(), so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_NE(CommittedEnsemble(), nullptr);
  const bool scan = Scanning();
  for (int sheet : FixedOrScanned({3, 10})) {
    KpuSheet k = MakeKpuSheet(**s, sheet);
    if (scan && k.inconsistent) continue;
    ASSERT_FALSE(k.inconsistent);
    k.o.fast = CommittedEnsemble();
    k.o.min_cross_probability_after_misread = 2;  // off: neither the 0.9 nor the pair check
    auto before = ReadPages(k.photos, k.o);
    ASSERT_TRUE(before.ok()) << before.status().ToString();
    int pair = 0, wrong_pair = 0;
    for (const auto& f : before->fields) {
      const bool paired = f.confirmed_by == "boxes+boxes+rules" && f.ocr_p >= 0.9;
      pair += paired;
      wrong_pair += paired && k.truth.count(f.field) && k.truth.at(f.field) != f.value;
    }
    const bool misread_known = MisreadKnown(*before);
    if (scan && (!before->accepted || pair < 2 || !misread_known)) continue;
    if (scan) std::printf("sheet %d accepted with a pair, %d wrong\n", sheet, wrong_pair);
    ASSERT_TRUE(before->accepted) << "the premise, sheet " << sheet;
    ASSERT_GE(pair, 2) << "the premise, sheet " << sheet;
    ASSERT_TRUE(misread_known) << "the premise, sheet " << sheet;
    k.o.min_cross_probability_after_misread = ReadOptions{}.min_cross_probability_after_misread;
    auto r = ReadPages(k.photos, k.o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ExpectReviewedWithMisreadKnown(*r, k, sheet);
  }
}

// Pages `pages` of KPU page 2 as `rekap bench reader` makes them with `seed`: each is found and
// identified, and read with no wrong value accepted. Photos at most `max_width` px wide.
void ExpectKpuPagesFound(uint32_t seed, std::initializer_list<int> pages, int max_width = 1 << 30) {
  auto s = DefaultSynth(SynthForm::kKpuPpwpPage2, seed);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (int i : pages) {
    auto p = (*s)->Make(i);
    ASSERT_TRUE(p.ok());
    EXPECT_LE(p->image.cols, max_width) << p->file;
    Reading r = ReadKpuPage(*p);
    EXPECT_TRUE(r.page_found) << p->file;
    EXPECT_FALSE(r.HasReason(reason::kPageNotFound)) << p->file;
    ExpectNoWrongAccepted(r, *p);
  }
}

// KPU's page as KPU printed it, not as we draw it: pages 2 and 3 of ../shared/data/forms/
// C.HASIL-PPWP.pdf rasterized at 100 dpi (3.94 px per mm, 2,363 x 3,544 px; src/reader/testdata/
// README.md). Every other KPU test reads our own rendering of the measured layout; these check
// the layout against the print itself: the corner checkers, the tag, the boxes and their
// printed 8-segment guides (which must not be taken for ink), the bubbles.
cv::Mat KpuPdfPage(int page) {
  return cv::imread(Root() + "/src/reader/testdata/kpu-pdf-p" + std::to_string(page) + ".jpg", cv::IMREAD_GRAYSCALE);
}

constexpr char kKpuPdfTps[] = "3173050001001";

// How the print is read: as `kind`, for kKpuPdfTps, by the committed ensemble.
ReadOptions KpuPdfOpts(FormKind kind = FormKind::kKpuPpwpPage2) {
  ReadOptions o = Opts(kind);
  o.expected_tps = kKpuPdfTps;
  o.fast = CommittedEnsemble();
  return o;
}

// `page` printed darker: every grey level raised to the power `gamma` (2.2 takes the guide's
// grey 204 to 156, 3 to 123: dots that absorb 40-50 % of the light instead of 20 %).
cv::Mat PrintedDarker(const cv::Mat& page, double gamma) {
  cv::Mat lut(1, 256, CV_8U), out;
  for (int i = 0; i < 256; ++i) lut.at<uint8_t>(i) = cv::saturate_cast<uint8_t>(255 * std::pow(i / 255.0, gamma));
  cv::LUT(page, lut, out);
  return out;
}

TEST(ReadKpuPdf, BlankPrintedPagesFoundAndBlank) {
  const cv::Mat p2 = KpuPdfPage(2), p3 = KpuPdfPage(3);
  ASSERT_FALSE(p2.empty());
  ASSERT_FALSE(p3.empty());
  ReadOptions o = KpuPdfOpts();
  // As the PDF prints it, and printed darker (a print shop's grey is not the PDF's).
  for (double gamma : {1.0, 2.2, 3.0}) {
    Reading r = MustRead(Encode(PrintedDarker(p2, gamma)), o);
    EXPECT_TRUE(r.page_found) << gamma;
    EXPECT_EQ(r.page, 2) << gamma;
    EXPECT_FALSE(r.accepted) << gamma;
    ASSERT_EQ(r.fields.size(), 3u);
    for (const FieldReading& f : r.fields) {
      EXPECT_EQ(f.value, kMissing) << f.field << " " << gamma;
      EXPECT_EQ(f.omr, kMissing) << f.field << " " << gamma;
      for (int d : f.box_digit) EXPECT_EQ(d, -1) << f.field << " " << gamma << ": the guide's dots read as ink";
      EXPECT_EQ(f.row_mark, (std::array<int, 3>{-1, -1, -1})) << f.field << " " << gamma;
    }
    EXPECT_TRUE(r.HasReason("field_blank")) << gamma;
    EXPECT_FALSE(r.HasReason(reason::kPageNotFound)) << gamma;
  }
  // Both pages of the sheet, read together.
  o.form = FormKind::kKpuPpwp;
  const std::vector<std::vector<uint8_t>> sheet = {Encode(p2), Encode(p3)};
  auto both = ReadPages(sheet, o);
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_TRUE(both->page_found);
  EXPECT_EQ(both->pages, (std::vector<int>{2, 3}));
  EXPECT_FALSE(both->accepted);
  EXPECT_EQ(both->fields.size(), 6u);
  for (const FieldReading& f : both->fields) {
    EXPECT_EQ(f.value, kMissing) << f.field;
    for (int d : f.box_digit) EXPECT_EQ(d, -1) << f.field;
  }
}

// KPU's printed page read as our own form: not our form, and the reason says which KPU page it
// is and how to read it.
TEST(ReadKpuPdf, PrintedPageReadAsOurFormSaysHowToReadIt) {
  for (int page : {2, 3}) {
    const cv::Mat p = KpuPdfPage(page);
    ASSERT_FALSE(p.empty());
    Reading r = MustRead(Encode(p), Opts(FormKind::kOwn));
    EXPECT_FALSE(r.accepted);
    EXPECT_FALSE(r.page_found);
    bool told = false;
    for (const Reason& why : r.reasons)
      told = told || (why.code == reason::kMarkerMismatch &&
                      why.detail.find("page " + std::to_string(page) + " of KPU's C.HASIL-PPWP") != std::string::npos &&
                      why.detail.find("--form kpu-ppwp-2") != std::string::npos);
    EXPECT_TRUE(told) << "page " << page;
  }
}

// Page 1 of the print (the voters and ballots, AprilTag 101; rasterized at 50 dpi) given where
// page 2 is expected, alone or in a sheet: the wrong page, said so, nothing read.
TEST(ReadKpuPdf, PrintedPageOneIsTheWrongPage) {
  const cv::Mat p1 = KpuPdfPage(1), p3 = KpuPdfPage(3);
  ASSERT_FALSE(p1.empty());
  ASSERT_FALSE(p3.empty());
  ReadOptions o = KpuPdfOpts();
  Reading r = MustRead(Encode(p1), o);
  EXPECT_FALSE(r.accepted);
  EXPECT_TRUE(r.HasReason(reason::kWrongPage));
  for (const FieldReading& f : r.fields) EXPECT_EQ(f.value, kMissing) << f.field;
  o.form = FormKind::kKpuPpwp;
  const std::vector<std::vector<uint8_t>> sheet = {Encode(p1), Encode(p3)};
  auto both = ReadPages(sheet, o);
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_FALSE(both->accepted);
  EXPECT_TRUE(both->HasReason(reason::kWrongPage));
}

// KPU's typed copy (C.HASIL-SALINAN-PPWP, A4, page 1; rasterized at 60 dpi) is not the plano a
// KPPS must photograph: read as KPU's page 2, as the sheet or as our form, no page is found, it
// says so, and nothing is read.
TEST(ReadKpuPdf, SalinanIsNotThePlano) {
  const cv::Mat salinan =
      cv::imread(Root() + "/src/reader/testdata/kpu-salinan-p1.jpg", cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(salinan.empty());
  for (FormKind kind : {FormKind::kKpuPpwpPage2, FormKind::kKpuPpwp, FormKind::kOwn}) {
    Reading r = MustRead(Encode(salinan), KpuPdfOpts(kind));
    EXPECT_FALSE(r.page_found) << int(kind);
    EXPECT_FALSE(r.accepted) << int(kind);
    EXPECT_TRUE(r.HasReason(reason::kPageNotFound)) << int(kind);
    for (const FieldReading& f : r.fields) EXPECT_EQ(f.value, kMissing) << f.field;
  }
}

// The first MNIST test sample of each label that the committed ensemble reads at >= 0.999 on
// its own (an empty optional if the set or the networks are missing).
std::optional<std::array<Image28, 10>> ClearMnistDigits() {
  if (CommittedEnsemble() == nullptr) return std::nullopt;
  std::array<Image28, 10> clear{};
  for (int label = 0; label < 10; ++label) {
    bool found = false;
    for (const Image28& img : MnistTestDigits(label)) {
      const DigitPrediction pr = CommittedEnsemble()->ClassifyBatch(std::span<const Image28>(&img, 1))[0];
      if (pr.digit == label && pr.confidence >= 0.999f) {
        clear[size_t(label)] = img;
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
  }
  return clear;
}

// Writes number `v` of `n` into `page` (a page image at `s` px per mm): its digits in the boxes
// (a blank leading position left empty), and where the number has bubbles, its digits' bubbles
// shaded, a blank leading position's 0 among them (as KPU's instruction asks).
void WriteNumber(cv::Mat* page, const NumberLayout& n, int v, double s, const std::array<Image28, 10>& digits) {
  const int d[3] = {v / 100, v / 10 % 10, v % 10};
  for (int q = 0; q < 3; ++q) {
    const bool blank = (q == 0 && v < 100) || (q == 1 && v < 10);
    if (n.has_bubbles) {
      const Rect& bb = n.bubbles[size_t(q)][size_t(d[q])];
      cv::circle(*page, {int(bb.cx() * s), int(bb.cy() * s)}, int(bb.w * 0.42 * s), cv::Scalar(45), cv::FILLED,
                 cv::LINE_AA);
    }
    if (blank) continue;
    const Rect& b = n.digit_boxes[size_t(q)];
    const int side = int(b.h * 0.8 * s);  // MNIST's 20 px of ink in 28: the digit 0.57 of the box
    cv::Mat digit(28, 28, CV_8U, const_cast<uint8_t*>(digits[size_t(d[q])].data())), big;
    cv::resize(digit, big, {side, side}, 0, 0, cv::INTER_CUBIC);
    cv::Mat roi = (*page)(cv::Rect(int(b.cx() * s) - side / 2, int(b.cy() * s) - side / 2, side, side));
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        roi.at<uint8_t>(y, x) = uint8_t(std::min<int>(roi.at<uint8_t>(y, x), 255 - big.at<uint8_t>(y, x) * 0.85));
  }
}

// `page` photographed: turned upside down, in perspective, on a dark table, 2,400 px wide.
cv::Mat PhotographUpsideDown(const cv::Mat& page) {
  const std::vector<cv::Point2f> from = {{0, 0}, {float(page.cols), 0}, {float(page.cols), float(page.rows)}, {0, float(page.rows)}};
  const std::vector<cv::Point2f> to = {{2260, 3280}, {180, 3400}, {320, 160}, {2150, 260}};
  cv::Mat photo;
  cv::warpPerspective(page, photo, cv::getPerspectiveTransform(from, to), {2400, 3560}, cv::INTER_AREA,
                      cv::BORDER_CONSTANT, cv::Scalar(70));
  return photo;
}

// The printed pages filled in: MNIST test digits written into their boxes, page 2's matching
// bubbles shaded, then read as printed and photographed upside down in perspective; page 2
// alone and the sheet (pages 2 and 3). The digits are the ones the committed ensemble reads
// surely on their own: this test is of the layout against the print, not of the CNN.
TEST(ReadKpuPdf, FilledPrintedPagesRead) {
  NEED_MNIST();
  const auto digits = ClearMnistDigits();
  ASSERT_TRUE(digits.has_value());
  cv::Mat p2 = KpuPdfPage(2), p3 = KpuPdfPage(3);
  ASSERT_FALSE(p2.empty());
  ASSERT_FALSE(p3.empty());
  auto L2 = KpuPpwpPage2Layout();
  auto L3 = KpuPpwpPage3Layout();
  ASSERT_TRUE(L2.ok() && L3.ok());
  const std::map<std::string, int> values = {{"suara_1", 128},  {"suara_2", 45},        {"suara_3", 7},
                                             {"suara_sah", 180}, {"suara_tidak_sah", 0}, {"suara_total", 180}};
  cv::Mat dark2 = PrintedDarker(p2, 2.2);
  for (const NumberLayout& n : L2->numbers) {
    WriteNumber(&p2, n, values.at(n.field), p2.cols / L2->width_mm, *digits);
    WriteNumber(&dark2, n, values.at(n.field), dark2.cols / L2->width_mm, *digits);
  }
  for (const NumberLayout& n : L3->numbers) WriteNumber(&p3, n, values.at(n.field), p3.cols / L3->width_mm, *digits);
  ReadOptions o = KpuPdfOpts();
  auto expect_read = [&](const Reading& r, const std::string& what) {
    EXPECT_TRUE(r.page_found) << what;
    for (const FieldReading& f : r.fields) {
      const int v = values.at(f.field);
      if (f.has_bubbles) {
        EXPECT_EQ(f.omr, v) << what << " " << f.field;
      }
      EXPECT_EQ(f.ocr, v) << what << " " << f.field;
      EXPECT_EQ(f.value, v) << what << " " << f.field;
      EXPECT_TRUE(f.verified) << what << " " << f.field << " " << f.confirmed_by;
    }
    EXPECT_TRUE(r.accepted) << what << " " << (r.reasons.empty() ? "" : r.reasons[0].code + " " + r.reasons[0].detail);
  };
  int k = 0;
  for (const cv::Mat& img : {p2, PhotographUpsideDown(p2), dark2, PhotographUpsideDown(dark2)}) {
    Reading r = MustRead(Encode(img), o);
    EXPECT_EQ(r.fields.size(), 3u);
    expect_read(r, "page 2, photo " + std::to_string(k++));
  }
  o.form = FormKind::kKpuPpwp;
  const std::vector<std::vector<uint8_t>> sheet = {Encode(PhotographUpsideDown(p2)), Encode(PhotographUpsideDown(p3))};
  auto r = ReadPages(sheet, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->fields.size(), 6u);
  EXPECT_EQ(r->pages, (std::vector<int>{2, 3}));
  expect_read(*r, "sheet");
}

// The smallest KPU photos, about 1,070 px wide (1 px per mm of the plano; seed 5): the layout fit
// samples the paper beside each printed line at least 1.5 px away, not on the blurred line
// itself, so the right homography fits and the page is found.
TEST(ReadSynth, KpuPageFoundInThousandPixelPhotos) {
  NEED_MNIST();
  ExpectKpuPagesFound(5, {92, 137}, 1100);
}

// A dim, strongly tilted KPU photo, 2,430 px wide (seed 9, page 760), where the corner checkers
// found put the printed lines a px or two beside the homography's (layout fit 0.61): found once
// the checker centres are refined.
TEST(ReadSynth, KpuCornerCheckersRefined) {
  NEED_MNIST();
  ExpectKpuPagesFound(9, {760});
}

// A sharp 3,623 px photo of the page turned 90 degrees (seed 1, page 969): one corner checker's
// coarse match is won by a template turned 30 degrees, which then fits poorly at full resolution;
// the predicted template, tried there too, finds the checker and the page.
TEST(ReadSynth, KpuCheckerFoundWhenATurnedTemplateWinsCoarsely) {
  NEED_MNIST();
  ExpectKpuPagesFound(1, {969});
}

// Tilted KPU photos of 1,000-1,260 px whose AprilTag is about 20 px wide (seed 22, pages 334 and
// 649): found by detecting the tag on the photo at twice its size.
TEST(ReadSynth, KpuTagFoundInSmallPhotos) {
  NEED_MNIST();
  auto s = DefaultSynth(SynthForm::kKpuPpwpPage2, 22, 1.0);  // every page inconsistent, as seed 22 is run
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (int i : {334, 649}) {
    auto p = (*s)->Make(i);
    ASSERT_TRUE(p.ok());
    EXPECT_LT(p->image.cols, 1300) << p->file;
    Reading r = ReadKpuPage(*p);
    EXPECT_TRUE(r.page_found) << p->file;
    EXPECT_FALSE(r.HasReason(reason::kPageNotFound)) << p->file;
    EXPECT_TRUE(p->inconsistent) << p->file;
    EXPECT_FALSE(r.accepted) << p->file;
  }
}

// Strongly tilted KPU photos whose small corner checkers the tag cannot predict well (seed 1):
// found by the bow-tie search, and read.
TEST(ReadSynth, KpuCornersFoundOnTiltedPhotos) {
  NEED_MNIST();
  ExpectKpuPagesFound(1, {3, 4, 45, 56});
}

// KPU page 2 photos (2500-3500 px) without flaws (no inconsistency, double mark or tally slip)
// but bubble marks left out at `missing_mark_rate` (one row of a number) and `unbubbled_rate`
// (every row of a number).
Result<std::unique_ptr<Synthesizer>> KpuPagesMarksLeftOut(uint32_t seed, double missing_mark_rate,
                                                          double unbubbled_rate = 0) {
  SynthOptions so;
  so.form = SynthForm::kKpuPpwpPage2;
  so.seed = seed;
  so.inconsistent_rate = 0;
  so.missing_mark_rate = missing_mark_rate;
  so.unbubbled_rate = unbubbled_rate;
  so.double_mark_rate = 0;
  so.tally_slip_rate = 0;
  so.min_width = 2500;
  so.max_width = 3500;
  return Synthesizer::Create(*F().mnist, &Ppwp(), so);
}

// Seed 31: every number has one bubble row left empty.
Result<std::unique_ptr<Synthesizer>> EveryNumberWithAMarkLeftOut() { return KpuPagesMarksLeftOut(31, 1); }

// Every number with one bubble left empty (KPU's page has no totals to pin it): the number is
// accepted only through the one-digit-read-once rule, with that box read very confidently, or
// through the tally, and never wrongly; both rules fire. The tally may leave a few values that
// differ in the one box (boxes 27, the tens bubbled 2, the units row empty, a tally of 26..30
// leaves 26..29; seed 1's page 363 of the benchmark is one): the CNN then chooses among them as
// surely as the one-digit rule asks among all ten (its units box's 7 against 6, 8 and 9).
TEST(ReadSynth, OneEmptyBubbleRowLeavesOneDigitReadOnce) {
  NEED_MNIST();
  auto s = EveryNumberWithAMarkLeftOut();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  int partial = 0, among_several = 0;
  for (int i = 0; i < 24; ++i) {
    auto p = (*s)->Make(i);
    ASSERT_TRUE(p.ok());
    ASSERT_FALSE(p->missing_marks.empty());
    Reading r = ReadKpuPage(*p);
    ExpectNoWrongAccepted(r, *p);
    for (const std::string& field : p->missing_marks) {
      const FieldReading* f = r.Find(field);
      ASSERT_NE(f, nullptr) << field;
      if (!f->verified) continue;
      EXPECT_EQ(f->value, p->values.at(field)) << field << " on " << p->file;
      // Bubbles and boxes cannot both confirm a number with a row left empty.
      EXPECT_NE(f->confirmed_by, "boxes+bubbles") << field << " on " << p->file;
      partial += f->confirmed_by == "boxes+some bubbles";
      // Bubbles that spell another whole number (a leading row left empty) are a contradiction
      // that only the tally grid settles, and only when it excludes the bubbles' number.
      if (f->omr != kMissing && f->omr != f->value) {
        EXPECT_EQ(f->confirmed_by, "boxes+some bubbles+tally") << field << " on " << p->file;
        ASSERT_TRUE(f->tally.has_value());
        EXPECT_TRUE(f->tally->Allows(f->value));
        EXPECT_FALSE(f->tally->Allows(f->omr));
      }
      // Settled by the tally with more than one value of its range agreeing with every clear
      // bubble mark.
      if (f->confirmed_by == "boxes+some bubbles+tally") {
        int left = 0;
        for (int alt = f->tally->lo; alt <= f->tally->hi; ++alt) {
          const int dig[3] = {alt / 100, (alt / 10) % 10, alt % 10};
          bool agrees = true;
          for (int j = 0; j < 3; ++j) agrees &= f->row_mark[size_t(j)] < 0 || f->row_mark[size_t(j)] == dig[j];
          left += agrees;
        }
        among_several += left > 1;
      }
    }
  }
  EXPECT_GT(partial, 0);
  EXPECT_GT(among_several, 0);
}

// A bubble row marked twice leaves the box only two values to choose between: the CNN's
// probability of the digit among the marked ones must reach min_partial_probability, not its
// probability among all ten. Seed 1, page 90 (REKAP_TEST_SCAN=1000 lists 90, 490, 503, 540,
// 652, ... for the committed digits.dnn; with the networks before the segment-digit retraining
// it was page 211, 35 with a second mark in the units row and its box read 5 at 0.9994): a
// row marked twice, its box read under 0.9995 over all ten digits but far more surely than the
// other mark: accepted, with the right value.
TEST(ReadSynth, DoubleMarkedRowNeedsTheBoxOnlyToChooseBetweenTheMarks) {
  NEED_MNIST();
  auto s = DefaultSynth(SynthForm::kKpuPpwpPage2, 1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const bool scan = Scanning();  // REKAP_TEST_SCAN=N lists the pages 0..N-1 that qualify
  for (int page : FixedOrScanned({90})) {
    auto p = (*s)->Make(page);
    ASSERT_TRUE(p.ok());
    if (scan && p->double_marked.empty()) continue;
    ASSERT_FALSE(p->double_marked.empty());
    Reading r = ReadKpuPage(*p);
    ExpectNoWrongAccepted(r, *p);
    // Scanning, a page that does not qualify is only listed or not; the checks are for one that does.
    if (!scan) {
      EXPECT_TRUE(r.accepted) << r.reasons.size() << " reasons";
    }
    int relaxed = 0;
    for (const std::string& field : p->double_marked) {
      const FieldReading* f = r.Find(field);
      ASSERT_NE(f, nullptr) << field;
      if (!scan) {
        EXPECT_EQ(f->value, p->values.at(field)) << field;
      }
      if (f->confirmed_by != "boxes+some bubbles") continue;
      // The box of the row the bubbles do not settle alone is read under 0.9995 over all ten
      // digits: the rule as it was (the box's probability among all ten) would not confirm it.
      const int v = f->value;
      const int dig[3] = {v / 100, (v / 10) % 10, v % 10};
      for (int j = 0; j < 3; ++j)
        relaxed += f->row_mark[size_t(j)] != dig[j] && f->box_digit[size_t(j)] == dig[j] &&
                   f->box_p[size_t(j)] < ReadOptions{}.min_partial_probability;
    }
    if (scan && r.accepted && relaxed > 0) std::printf("page %d qualifies\n", page);
    if (!scan) {
      EXPECT_GT(relaxed, 0);
    }
  }
}

// The photo of `p` with four upright strokes drawn into `count` cells of `field`'s tally grid
// from cell `from` on (through the page's homography); `field` on KPU's page 2, or on page 3.
cv::Mat WithTallyStrokes(const SynthPage& p, const std::string& field, int from, int count) {
  cv::Mat img = p.image.clone();
  const PageLayout L = *(p.page == 3 ? KpuPpwpPage3Layout() : KpuPpwpPage2Layout());
  const TallyGrid& g = *L.Find(field)->tally;
  for (int c = from; c < std::min(g.cells(), from + count); ++c) {
    const Rect cell = g.Cell(c);
    for (int k = 0; k < 4; ++k) {
      const cv::Vec3d a = p.page_to_image * cv::Vec3d(cell.x + 5 + 2.5 * k, cell.y + 4, 1);
      const cv::Vec3d b = p.page_to_image * cv::Vec3d(cell.x + 5 + 2.5 * k, cell.y + 12, 1);
      cv::line(img, cv::Point2d(a[0] / a[2], a[1] / a[2]), cv::Point2d(b[0] / b[2], b[1] / b[2]),
               cv::Scalar(40, 30, 30), 4);
    }
  }
  return img;
}

// KPU page 2 alone, every number with one bubble row left empty. Where that row is a leading
// digit's (boxes 98, bubbles only the 8: the 2024 "58 read as 948" shape), the boxes alone
// cannot settle it; the tally grid can: 20 cells say 96..100 and the bubbles exclude every value
// there but 98. Accepted readings are right; the same pages read without the tally leave those
// numbers in review; a tally that says otherwise (strokes added to the next cells) settles
// nothing.
TEST(ReadSynth, TallySettlesADigitTheBubblesLack) {
  NEED_MNIST();
  auto s = EveryNumberWithAMarkLeftOut();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  int by_tally = 0, leading_gap = 0, tallies_read = 0, counted = 0;
  bool contradicted = false;
  for (int i = 0; i < 12; ++i) {
    auto p = (*s)->Make(i);
    ASSERT_TRUE(p.ok());
    Reading r = ReadKpuPage(*p);
    ExpectNoWrongAccepted(r, *p);
    ReadOptions off = Opts(FormKind::kKpuPpwpPage2);
    off.expected_tps = p->tps;
    off.voters = p->voters;
    off.accept_tally = false;
    Reading r0 = MustRead(p->jpeg, off);
    for (const auto& [field, v] : p->values) {
      const FieldReading* f = r.Find(field);
      const FieldReading* f0 = r0.Find(field);
      ASSERT_TRUE(f != nullptr && f0 != nullptr) << field;
      ASSERT_TRUE(f->tally.has_value()) << field;
      if (f->tally->read) {
        ++tallies_read;
        EXPECT_TRUE(f->tally->Allows(p->tally_values.at(field))) << field << " on " << p->file;
        // The last cell's strokes counted: one count, or 4..5 of that cell for four uprights.
        if (f->tally->last_uprights > 0) {
          ++counted;
          EXPECT_EQ(f->tally->hi - f->tally->lo, f->tally->last_uprights == 4 ? 1 : 0) << field << " on " << p->file;
        }
        const nlohmann::json jt = ToJson(r)["fields"][field]["tally"];
        EXPECT_EQ(jt["cells"], f->tally->cells);
        EXPECT_EQ(jt["min"], f->tally->lo);
        EXPECT_EQ(jt["max"], f->tally->hi);
        if (f->tally->last_uprights > 0) EXPECT_EQ(jt["last_cell_uprights"], f->tally->last_uprights);
        else EXPECT_TRUE(jt["last_cell_uprights"].is_null());
      }
      // The bubbles spell another complete number: the leading digit's row was left empty.
      if (f->omr != kMissing && f->omr != v) ++leading_gap;
      if (f->confirmed_by != "boxes+some bubbles+tally") continue;
      ++by_tally;
      EXPECT_EQ(f->value, v) << field << " on " << p->file;
      EXPECT_FALSE(f0->verified) << field << " on " << p->file << " without the tally: " << f0->confirmed_by;
      if (contradicted) continue;
      // Strokes in the four cells after the tally's last: it now says 20 more votes.
      contradicted = true;
      Reading r2 = ReadKpuPage(*p, Encode(WithTallyStrokes(*p, field, f->tally->cells, 4)));
      ExpectNoWrongAccepted(r2, *p);
      const FieldReading* f2 = r2.Find(field);
      ASSERT_NE(f2, nullptr);
      EXPECT_NE(f2->confirmed_by, "boxes+some bubbles+tally") << field << " on " << p->file;
      EXPECT_FALSE(r2.accepted) << p->file;
    }
  }
  EXPECT_GT(tallies_read, 24);  // of 36
  EXPECT_GT(counted, 0);
  EXPECT_GT(leading_gap, 0);
  EXPECT_GT(by_tally, 0);
  EXPECT_TRUE(contradicted);
}

// The photo of `p` with every bubble of `field` painted over in the paper's colour (taken just
// left of the column, through the page's homography): the KPPS left that number's bubbles
// empty.
cv::Mat WithoutBubbles(const SynthPage& p, const std::string& field) {
  cv::Mat img = p.image.clone();
  const NumberLayout& n = *KpuPpwpPage2Layout()->Find(field);
  auto to_image = [&](double x, double y) {
    const cv::Vec3d a = p.page_to_image * cv::Vec3d(x, y, 1);
    return cv::Point2d(a[0] / a[2], a[1] / a[2]);
  };
  for (const auto& row : n.bubbles)
    for (const Rect& b : row) {
      const cv::Point2d c = to_image(b.x + b.w / 2, b.y + b.h / 2);
      const cv::Point2d paper = to_image(b.x - 0.3 * b.w, b.y + b.h / 2);
      const cv::Scalar colour = img.at<cv::Vec3b>(cv::Point(paper));
      const double r = cv::norm(to_image(b.x + b.w * 1.1, b.y + b.h / 2) - c);  // 0.6 of its width
      cv::circle(img, cv::Point(c), int(std::ceil(r)), colour, cv::FILLED);
    }
  return img;
}

// A number whose bubbles were all left empty has two copies left on the sheet: its boxes and
// its tally. They settle it as they settle page 3's invalid votes ("boxes+tally"): the tally
// counted to the boxes' value, or a range whose other values differ in one box that the CNN
// reads surely. Right where accepted; without the rule, in review; a tally that says otherwise
// (strokes added to the next cells) settles nothing.
TEST(ReadSynth, EmptyBubbleColumnSettledByBoxesAndTally) {
  NEED_MNIST();
  auto s = KpuPagesMarksLeftOut(33, 0);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  int settled = 0, empty_columns = 0;
  bool contradicted = false;
  for (int i = 0; i < 12; ++i) {
    auto p = (*s)->Make(i);
    ASSERT_TRUE(p.ok());
    const std::string field = "suara_" + std::to_string(1 + i % 3);
    const std::vector<uint8_t> photo = Encode(WithoutBubbles(*p, field));
    Reading r = ReadKpuPage(*p, photo);
    ExpectNoWrongAccepted(r, *p);
    const FieldReading* f = r.Find(field);
    ASSERT_NE(f, nullptr);
    if (f->omr != kMissing || f->row_mark != std::array<int, 3>{-1, -1, -1}) continue;  // a mark survived
    ++empty_columns;
    if (!f->verified) continue;
    EXPECT_EQ(f->confirmed_by, "boxes+tally") << field << " on " << p->file;
    EXPECT_EQ(f->value, p->values.at(field)) << field << " on " << p->file;
    ++settled;
    ReadOptions off = Opts(FormKind::kKpuPpwpPage2);
    off.expected_tps = p->tps;
    off.voters = p->voters;
    off.tally_without_bubbles = false;
    const FieldReading* f0 = MustRead(photo, off).Find(field);
    ASSERT_NE(f0, nullptr);
    EXPECT_FALSE(f0->verified) << field << " on " << p->file << " without the rule: " << f0->confirmed_by;
    if (contradicted) continue;
    contradicted = true;
    p->image = WithoutBubbles(*p, field);
    Reading r2 = ReadKpuPage(*p, Encode(WithTallyStrokes(*p, field, f->tally->cells, 4)));
    const FieldReading* f2 = r2.Find(field);
    ASSERT_NE(f2, nullptr);
    EXPECT_FALSE(f2->verified) << field << " on " << p->file << ": " << f2->confirmed_by;
    EXPECT_FALSE(r2.accepted) << p->file;
  }
  EXPECT_GE(empty_columns, 10);
  EXPECT_GE(settled, 4);
  EXPECT_TRUE(contradicted);
}

// A KPPS who writes the digits and skips the bubbles (`SynthOptions::unbubbled_rate`): a number
// then rests on its boxes and its tally. Half the tally's ranges cross a tens boundary (26..30
// under boxes 27: 30 differs from 27 in the tens box too), which the one-box rule never settled;
// the boxes' probabilities of the whole values do, as surely. Every such number settled is
// right, and no page is accepted with a wrong value.
TEST(ReadSynth, UnbubbledNumberSettledByBoxesAndATallyAcrossTens) {
  NEED_MNIST();
  auto s = KpuPagesMarksLeftOut(461, 0, 1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto digit = [](int x, int j) { return j == 0 ? x / 100 : j == 1 ? x / 10 % 10 : x % 10; };
  int unbubbled = 0, across = 0, settled = 0;
  for (int i = 0; i < 10; ++i) {
    auto p = (*s)->Make(i);
    ASSERT_TRUE(p.ok());
    unbubbled += int(p->unbubbled.size());
    EXPECT_TRUE(p->TruthJson().contains("unbubbled")) << p->file;
    Reading r = ReadKpuPage(*p);
    ExpectNoWrongAccepted(r, *p);
    for (const std::string& field : p->unbubbled) {
      const FieldReading* f = r.Find(field);
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(f->omr, kMissing) << field << " on " << p->file;
      const int v = p->values.at(field);
      if (!f->tally || !f->tally->Allows(v)) continue;
      // The premise: the tally leaves a value that differs from v in two boxes.
      bool two = false;
      for (int alt = f->tally->lo; alt <= f->tally->hi; ++alt) {
        int nd = 0;
        for (int j = 0; j < 3; ++j) nd += digit(alt, j) != digit(v, j);
        two = two || nd >= 2;
      }
      if (!two) continue;
      ++across;
      if (!f->verified) continue;
      ++settled;
      EXPECT_EQ(f->confirmed_by, "boxes+tally") << field << " on " << p->file;
      EXPECT_EQ(f->value, v) << field << " on " << p->file;
    }
  }
  EXPECT_EQ(unbubbled, 30);  // every number of the ten pages
  EXPECT_GE(across, 8);
  EXPECT_GE(settled, across / 2) << across;
}

// A tally that disagrees with a number its boxes and bubbles both confirm, the CNN sure of it,
// does not overrule them: the number stands and the disagreement is a warning that names it.
// Were the CNN unsure of the value (here: the threshold set above any probability), the same
// tally sends the number to review as `tally_disagrees`: how a misread digit that happens to
// match the bubbles looks.
TEST(ReadSynth, TallyAgainstBoxesAndBubblesIsAWarningUnlessTheCnnIsUnsure) {
  NEED_MNIST();
  auto s = MakeSynth(SynthForm::kKpuPpwpPage2, 77, 0, true, 3000);
  ASSERT_TRUE(s);
  bool tested = false;
  for (int i = 0; i < 6 && !tested; ++i) {
    auto p = s->Make(i);
    ASSERT_TRUE(p.ok());
    Reading r = ReadKpuPage(*p);
    for (const auto& [field, v] : p->values) {
      const FieldReading* f = r.Find(field);
      ASSERT_NE(f, nullptr);
      if (f->confirmed_by != "boxes+bubbles" || !f->tally || !f->tally->read || f->tally->cells > 50 ||
          f->ocr_p < ReadOptions{}.min_ocr_against_tally)
        continue;
      for (const RuleFailure& w : r.warnings) EXPECT_NE(w.rule_id, kTallyWarning) << w.detail;
      // Ten more cells of strokes: the tally now says 50 more votes.
      const std::vector<uint8_t> more = Encode(WithTallyStrokes(*p, field, f->tally->cells, 10));
      Reading r2 = ReadKpuPage(*p, more);
      ExpectNoWrongAccepted(r2, *p);
      const FieldReading* f2 = r2.Find(field);
      ASSERT_NE(f2, nullptr);
      ASSERT_TRUE(f2->tally && f2->tally->read) << field << " on " << p->file;
      EXPECT_FALSE(f2->tally->Allows(v));
      EXPECT_EQ(f2->value, v);
      EXPECT_EQ(f2->confirmed_by, "boxes+bubbles");
      int warned = 0;
      for (const RuleFailure& w : r2.warnings)
        warned += w.rule_id == kTallyWarning && w.fields == std::vector<std::string>{field};
      EXPECT_EQ(warned, 1) << field << " on " << p->file;
      // The same photo, the CNN's reading taken as unsure.
      ReadOptions strict = Opts(FormKind::kKpuPpwpPage2);
      strict.expected_tps = p->tps;
      strict.voters = p->voters;
      strict.min_ocr_against_tally = 1.01;
      Reading r3 = MustRead(more, strict);
      const FieldReading* f3 = r3.Find(field);
      ASSERT_NE(f3, nullptr);
      EXPECT_FALSE(f3->verified) << field << " on " << p->file << ": " << f3->confirmed_by;
      EXPECT_FALSE(r3.accepted);
      bool reason_named = false;
      for (const Reason& q : r3.reasons) {
        if (q.code != reason::kTallyDisagrees) continue;
        reason_named = q.field == field && q.p >= 0 && q.p <= 1;
        EXPECT_NE(q.detail.find("turus/tally"), std::string::npos) << q.detail;
      }
      EXPECT_TRUE(reason_named) << field << " on " << p->file;
      EXPECT_EQ(ToJson(r3)["status"], "review");
      tested = true;
      break;
    }
  }
  EXPECT_TRUE(tested);
}

// KPU's pages 2 and 3 of one sheet read together. A third of the paslon numbers have one bubble
// row left empty, which page 2 alone can confirm only through a very confident digit box and
// never when the bubbles spell another number; page 3's total V.A (read by its digit boxes
// alone) ties them: accepted readings are right, numbers are confirmed through page 3's rules,
// and the sheet's pages are checked (missing, wrong, duplicate).
// Sheets of KPU's pages 2 and 3 (photos 2k and 2k + 1), 2500-3500 px wide.
Result<std::unique_ptr<Synthesizer>> KpuSheets(uint32_t seed, double inconsistent, double missing_marks,
                                               double double_marks) {
  SynthOptions so;
  so.form = SynthForm::kKpuPpwp;
  so.seed = seed;
  so.inconsistent_rate = inconsistent;
  so.missing_mark_rate = missing_marks;
  so.double_mark_rate = double_marks;
  so.min_width = 2500;
  so.max_width = 3500;
  return Synthesizer::Create(*F().mnist, &Ppwp(), so);
}

// Reads one sheet (its pages 2 and 3 as photographed) with `o` set for the sheet's TPS; the
// sheet's values (both pages') go to `truth`.
Result<Reading> ReadSheet(const SynthPage& p2, const SynthPage& p3, ReadOptions o, SynthPage* truth) {
  *truth = p2;
  truth->values.insert(p3.values.begin(), p3.values.end());
  o.expected_tps = p2.tps;
  o.voters = p2.voters;
  return ReadPages(std::vector<std::vector<uint8_t>>{p2.jpeg, p3.jpeg}, o);
}

TEST(ReadSynth, KpuPagesTwoAndThreeTogether) {
  NEED_MNIST();
  auto s = KpuSheets(41, 0, 0.34, 0);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ReadOptions o = Opts(FormKind::kKpuPpwp);
  // Page 2's tally grid would settle most of those rows first (TallySettlesADigitTheBubblesLack);
  // without it, as for a photo whose tally cannot be read, page 3's total must.
  o.accept_tally = false;
  int by_rules = 0, totals_confirmed = 0, accepted = 0;
  int flawed = 0;
  for (int sheet = 0; sheet < 8; ++sheet) {
    auto p2 = (*s)->Make(2 * sheet), p3 = (*s)->Make(2 * sheet + 1);
    ASSERT_TRUE(p2.ok() && p3.ok());
    flawed += int(p2->missing_marks.size());
    ASSERT_EQ(p2->page, 2);
    ASSERT_EQ(p3->page, 3);
    ASSERT_EQ(p2->tps, p3->tps);
    SynthPage truth = *p2;
    truth.values.insert(p3->values.begin(), p3->values.end());
    ASSERT_EQ(truth.values.size(), 6u);
    EXPECT_EQ(truth.values.at("suara_sah"),
              truth.values.at("suara_1") + truth.values.at("suara_2") + truth.values.at("suara_3"));
    o.expected_tps = p2->tps;
    o.voters = p2->voters;
    std::vector<std::vector<uint8_t>> photos = {p3->jpeg, p2->jpeg};  // any order
    auto r = ReadPages(photos, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->page_found);
    EXPECT_EQ(r->pages, (std::vector<int>{2, 3}));
    ExpectNoWrongAccepted(*r, truth);
    accepted += r->accepted;
    if (r->accepted) {
      EXPECT_EQ(r->pages_confirmed, (std::vector<int>{2, 3}));
    }
    for (int pg : r->pages_confirmed) {  // a confirmed page's numbers are right
      for (const auto& f : r->fields) {
        if (f.page == pg) {
          EXPECT_EQ(f.value, truth.values.at(f.field)) << f.field << " sheet " << sheet;
        }
      }
    }
    for (const auto& f : r->fields) {
      if (!f.verified) continue;
      EXPECT_EQ(f.value, truth.values.at(f.field)) << f.field << " sheet " << sheet;
      if (f.page == 3) {
        EXPECT_NE(f.confirmed_by.find("rules"), std::string::npos) << f.field << ": " << f.confirmed_by;
        ++totals_confirmed;
      } else if (f.confirmed_by.find("rules") != std::string::npos) {
        ++by_rules;
      }
    }
    if (sheet == 0) {
      // Page 2 alone, as the two-page form: page 3 is missing.
      auto alone = ReadPages(std::vector<std::vector<uint8_t>>{p2->jpeg}, o);
      ASSERT_TRUE(alone.ok());
      EXPECT_FALSE(alone->accepted);
      EXPECT_TRUE(alone->HasReason(reason::kPageMissing));
      for (int pg : alone->pages_confirmed) {
        EXPECT_EQ(pg, 2);
      }
      // Page 2 twice: a duplicate page.
      auto twice = ReadPages(std::vector<std::vector<uint8_t>>{p2->jpeg, p2->jpeg}, o);
      ASSERT_TRUE(twice.ok());
      EXPECT_FALSE(twice->accepted);
      EXPECT_TRUE(twice->HasReason(reason::kWrongPage));
      EXPECT_TRUE(twice->pages_confirmed.empty());
      // Page 3 given where only page 2 is read: the wrong page.
      ReadOptions o2 = o;
      o2.form = FormKind::kKpuPpwpPage2;
      ExpectFailure(MustRead(p3->jpeg, o2), reason::kWrongPage);
    }
  }
  EXPECT_GT(flawed, 0);
  EXPECT_GT(by_rules, 0);  // page-2 numbers settled by page 3's total
  EXPECT_GT(totals_confirmed, 0);
  EXPECT_GT(accepted, 0);
}

// Page 3's invalid votes (V.B) have their own tally grid. Where it is counted to the value the
// boxes read, or leaves a range in which the boxes choose their digit surely, V.B is read twice
// ("boxes+tally") instead of by the CNN alone; a leading box left empty excludes the values that
// need a digit there (boxes "6" under a tally of 6..10: not 10). A tally that excludes the
// value (strokes added in four more cells) sends V.B to review when the CNN is unsure of it
// (here: the threshold set above any probability), with the reason naming the tally.
TEST(ReadSynth, InvalidVotesSettledByTheirTally) {
  NEED_MNIST();
  auto s = KpuSheets(46, 0, 0, 0);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ReadOptions o = Opts(FormKind::kKpuPpwp);
  int by_tally = 0, past_empty_box = 0;
  bool contradicted = false;
  const int sheets = std::getenv("REKAP_TEST_SCAN") ? std::atoi(std::getenv("REKAP_TEST_SCAN")) : 6;
  for (int sheet = 0; sheet < sheets; ++sheet) {
    auto p2 = (*s)->Make(2 * sheet), p3 = (*s)->Make(2 * sheet + 1);
    ASSERT_TRUE(p2.ok() && p3.ok());
    ASSERT_EQ(p3->page, 3);
    ASSERT_EQ(p3->tally_values.count("suara_tidak_sah"), 1u);  // the synthesizer draws it
    SynthPage truth;
    auto r = ReadSheet(*p2, *p3, o, &truth);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ExpectNoWrongAccepted(*r, truth);
    const FieldReading* vb = r->Find("suara_tidak_sah");
    ASSERT_NE(vb, nullptr);
    ASSERT_TRUE(vb->tally.has_value());
    if (vb->tally->read) {
      EXPECT_TRUE(vb->tally->Allows(p3->tally_values.at("suara_tidak_sah"))) << sheet;
    }
    if (vb->confirmed_by != "boxes+tally") continue;
    ++by_tally;
    EXPECT_EQ(vb->value, truth.values.at("suara_tidak_sah")) << sheet;
    // A tally of 6..10 over boxes "6" with the tens box empty: 10 is excluded by that box.
    if (vb->value < 10 && vb->tally->hi >= 10) ++past_empty_box;
    if (std::getenv("REKAP_TEST_SCAN")) std::printf("sheet %d V.B %d tally %d..%d\n", sheet, vb->value, vb->tally->lo, vb->tally->hi);
    if (contradicted) continue;
    contradicted = true;
    ReadOptions strict = o;
    strict.min_ocr_against_tally = 1.01;
    strict.expected_tps = p2->tps;
    strict.voters = p2->voters;
    const std::vector<uint8_t> more = Encode(WithTallyStrokes(*p3, "suara_tidak_sah", vb->tally->cells, 4));
    auto r2 = ReadPages(std::vector<std::vector<uint8_t>>{p2->jpeg, more}, strict);
    ASSERT_TRUE(r2.ok());
    ExpectNoWrongAccepted(*r2, truth);
    const FieldReading* vb2 = r2->Find("suara_tidak_sah");
    ASSERT_NE(vb2, nullptr);
    ASSERT_TRUE(vb2->tally && vb2->tally->read) << sheet;
    EXPECT_FALSE(vb2->tally->Allows(truth.values.at("suara_tidak_sah")));
    EXPECT_FALSE(vb2->verified) << vb2->confirmed_by;
    EXPECT_FALSE(r2->accepted);
    bool named = false;
    for (const Reason& q : r2->reasons) named = named || (q.code == reason::kTallyDisagrees && q.field == "suara_tidak_sah");
    EXPECT_TRUE(named) << sheet;
  }
  EXPECT_GT(by_tally, 0);
  EXPECT_GT(past_empty_box, 0);
  EXPECT_TRUE(contradicted);
}

// A total V.A that is not the sum of the paslon votes (digits and bubbles of page 2 agreeing), a
// total V.C that is not V.A + V.B, and the other deliberate inconsistencies of the two-page
// sheet: never accepted.
TEST(ReadSynth, KpuSheetInconsistenciesFlagged) {
  NEED_MNIST();
  auto s = KpuSheets(47, 1, 0.01, 0.01);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ReadOptions o = Opts(FormKind::kKpuPpwp);
  int total_broken = 0, grand_broken = 0;
  for (int sheet = 0; sheet < 8; ++sheet) {
    auto p2 = (*s)->Make(2 * sheet), p3 = (*s)->Make(2 * sheet + 1);
    ASSERT_TRUE(p2.ok() && p3.ok());
    ASSERT_TRUE(p2->inconsistent);
    total_broken += p2->inconsistency == "suara_sah_sama_jumlah_paslon";
    grand_broken += p2->inconsistency == "suara_total_sama_sah_tambah_tidak_sah";
    o.expected_tps = p2->tps;
    o.voters = p2->voters;
    auto r = ReadPages(std::vector<std::vector<uint8_t>>{p2->jpeg, p3->jpeg}, o);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->accepted) << p2->file << " " << p2->inconsistency;
  }
  EXPECT_GT(total_broken, 0);  // V.A is not the sum of the votes
  EXPECT_GT(grand_broken, 0);  // V.C is not V.A + V.B
}

// Page 3 has no bubbles: a total whose handwriting the CNN misread is settled by the rules only
// when its boxes give the rule's value as a second reading. V.A (fixed by the double-read votes
// of page 2) and V.B / V.C (fixed by each other once the other is read confidently): accepted,
// with the right values, and marked as confirmed by a second reading.
TEST(ReadSynth, KpuTotalsSettledBySecondReading) {
  NEED_MNIST();
  auto s = DefaultSynth(SynthForm::kKpuPpwp, 5);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const std::vector<int> sheets = FixedOrScanned({21, 89, 133, 135});  // REKAP_TEST_SCAN=150 lists those that qualify
  ReadOptions o = Opts(FormKind::kKpuPpwp);
  // V.B's tally would settle V.B first (InvalidVotesSettledByTheirTally); without it, as for a
  // photo whose tally cannot be read, the pair of totals must.
  o.accept_tally = false;
  int by_rule = 0, by_pair = 0;  // V.A fixed by page 2; V.B or V.C fixed by the other
  for (int sheet : sheets) {
    auto p2 = (*s)->Make(2 * sheet), p3 = (*s)->Make(2 * sheet + 1);
    ASSERT_TRUE(p2.ok() && p3.ok());
    if (p2->inconsistent) continue;
    SynthPage truth;
    auto r = ReadSheet(*p2, *p3, o, &truth);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ExpectNoWrongAccepted(*r, truth);
    bool here = false;
    for (const auto& f : r->fields) {
      if (!f.verified) continue;
      EXPECT_EQ(f.value, truth.values.at(f.field)) << f.field << " sheet " << sheet;
      if (f.page != 3) continue;
      by_rule += f.confirmed_by == "rules+boxes(2nd)";
      by_pair += f.confirmed_by == "boxes+rules+boxes(2nd)";
      here = here || f.confirmed_by.find("(2nd)") != std::string::npos;
    }
    if (Scanning() && here) {
      std::printf("sheet %d accepted %d:", sheet, int(r->accepted));
      for (const auto& f : r->fields) std::printf(" %s=%s", f.field.c_str(), f.confirmed_by.c_str());
      std::printf("\n");
    }
  }
  EXPECT_GT(by_rule, 0);
  EXPECT_GT(by_pair, 0);
}

TEST(ReadSynth, SeveralPagesOfOneTps) {
  NEED_MNIST();
  // Two photos of the same one-page form: a duplicate page is flagged.
  auto s = MakeSynth(SynthForm::kOwn, 5, 0.0);
  ASSERT_TRUE(s);
  auto p = s->Make(3);
  ASSERT_TRUE(p.ok());
  std::vector<std::vector<uint8_t>> photos = {p->jpeg, p->jpeg};
  auto r = ReadPages(photos, Opts());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->accepted);
  EXPECT_TRUE(r->HasReason(reason::kWrongPage));
  // Debug images per stage.
  const std::string dir = ::testing::TempDir() + "/rekap-read-debug";
  ReadOptions o = Opts();
  o.debug_dir = dir;
  o.crops = true;
  Reading one = MustRead(p->jpeg, o);
  EXPECT_TRUE(std::filesystem::exists(dir + "/page-1-detection.png"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/page-3-boxes.png"));
  for (const auto& f : one.fields) EXPECT_FALSE(f.crop_png.empty()) << f.field;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rekap::reader

namespace rekap::reader {
namespace {

// The committed ensemble (what `rekap read` uses by default): each member >= 99.3 % on the
// MNIST test set (never used in training) and their average better than either.
TEST(FastDigits, CommittedEnsembleOnMnistTestSet) {
  NEED_MNIST();
  const std::string dir = Root() + "/data/models/";
  const std::vector<std::string> members = CommittedModels();
  auto test = ReadIdxDataset(std::string(REKAP_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz",
                             std::string(REKAP_MNIST_DIR) + "/t10k-labels-idx1-ubyte.gz");
  ASSERT_TRUE(test.ok()) << test.status().ToString();
  ASSERT_EQ(test->size(), 10000u);
  auto acc = [&](const FastDigitNet& net) {
    const auto pred = net.ClassifyBatch(test->images);
    size_t ok = 0;
    for (size_t i = 0; i < pred.size(); ++i) ok += pred[i].digit == test->labels[i];
    return double(ok) / double(pred.size());
  };
  double best = 0;
  for (const auto& m : members) {
    auto one = FastDigitNet::Load(m);
    ASSERT_TRUE(one.ok()) << m << ": " << one.status().ToString();
    const double a = acc(*one);
    std::printf("%s: %.4f\n", m.c_str(), a);
    EXPECT_GE(a, 0.993) << m;
    best = std::max(best, a);
  }
  auto all = FastDigitNet::LoadEnsemble(members);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  const double a = acc(*all);
  std::printf("ensemble: %.4f\n", a);
  EXPECT_GE(a, 0.995);
  EXPECT_GT(a, best);
  EXPECT_FALSE(FastDigitNet::LoadEnsemble(std::vector<std::string>{}).ok());
  EXPECT_FALSE(FastDigitNet::LoadEnsemble(std::vector<std::string>{members[0], dir + "missing.dnn"}).ok());
}

// A 1 with a flag, as most Indonesian hands write it (FlagOne, 0.2-0.4 of the height long): the
// committed ensemble reads most of the MNIST test set's 1s so as 1 where the flag is steep or the
// 1 has a base, and still reads the plain 1s and the 7s as before. The five networks before
// digits-6.dnn read 91 / 46 % (0.2 / 0.3 x 30 deg), 93 / 86 % (0.3 / 0.4 x 45 deg) and 96 % (0.4 x
// 30 deg with a base). Not asked: a long flat flag (0.4 x 30 deg, 36 %), which is a 7's bar.
TEST(FastDigits, CommittedEnsembleReadsFlaggedOnes) {
  NEED_MNIST();
  const FastDigitNet* all = CommittedEnsemble();
  ASSERT_NE(all, nullptr);
  const std::vector<Image28> ones = MnistTestDigits(1), sevens = MnistTestDigits(7);
  ASSERT_GT(ones.size(), 1000u);
  ASSERT_GT(sevens.size(), 1000u);
  auto share = [&](const std::vector<Image28>& imgs, int digit) {
    size_t n = 0;
    for (const auto& p : all->ClassifyBatch(imgs)) n += p.digit == digit;
    return double(n) / double(imgs.size());
  };
  struct Cell {
    double length, deg, base, at_least;
  };
  for (const Cell& c : {Cell{0.2, 30, 0, 0.95}, Cell{0.3, 30, 0, 0.7}, Cell{0.3, 45, 0, 0.96},
                        Cell{0.4, 45, 0, 0.92}, Cell{0.3, 30, 0.45, 0.98}, Cell{0.4, 30, 0.45, 0.98}}) {
    std::vector<Image28> flagged;
    for (const Image28& one : ones) flagged.push_back(FlagOne(one, c.length, c.deg, c.base));
    const double a = share(flagged, 1);
    std::printf("flag %.1f x %.0f deg, base %.2f: %.4f\n", c.length, c.deg, c.base, a);
    EXPECT_GE(a, c.at_least) << c.length << " x " << c.deg << ", base " << c.base;
  }
  EXPECT_GE(share(ones, 1), 0.995);
  EXPECT_GE(share(sevens, 7), 0.99);
}

// A 7 with a bar across its stem, as many Indonesian hands write it (CrossSeven): the committed
// ensemble reads most of the MNIST test set's 7s so as 7, fewer where a long bar crosses the
// middle (a 4's crossing, a 9's loop: 89-93 % on 2026-12-06, docs/digits.md "A 7 with a bar").
// A floor against a change of networks or normalization that reads them worse; networks
// trained with crossed 7s were tried and not kept.
TEST(FastDigits, CommittedEnsembleReadsCrossedSevens) {
  NEED_MNIST();
  const FastDigitNet* all = CommittedEnsemble();
  ASSERT_NE(all, nullptr);
  const std::vector<Image28> sevens = MnistTestDigits(7);
  ASSERT_GT(sevens.size(), 1000u);
  struct Cell {
    double length, height, tilt, at_least;
  };
  for (const Cell& c : {Cell{0.3, 0.6, 0, 0.985}, Cell{0.45, 0.6, 10, 0.985}, Cell{0.3, 0.45, 0, 0.92},
                        Cell{0.6, 0.45, 0, 0.87}, Cell{0.6, 0.45, 10, 0.91}}) {
    std::vector<Image28> crossed;
    for (const Image28& seven : sevens) crossed.push_back(CrossSeven(seven, c.length, c.height, c.tilt));
    size_t n = 0;
    for (const auto& p : all->ClassifyBatch(crossed)) n += p.digit == 7;
    const double a = double(n) / double(crossed.size());
    std::printf("bar %.2f at %.2f, tilt %.0f deg: %.4f\n", c.length, c.height, c.tilt, a);
    EXPECT_GE(a, c.at_least) << c.length << " at " << c.height << ", tilt " << c.tilt;
  }
}

// Two readings of the same images give the same digits; returns their largest difference in
// any probability.
double SameDigitsMaxDifference(const std::vector<DigitPrediction>& a, const std::vector<DigitPrediction>& b) {
  EXPECT_EQ(a.size(), b.size());
  double maxdiff = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].digit, b[i].digit) << i;
    for (int k = 0; k < 10; ++k) maxdiff = std::max<double>(maxdiff, std::abs(a[i].prob[k] - b[i].prob[k]));
  }
  return maxdiff;
}

// The members that read deskewed digits deskew in both paths alike.
TEST(FastDigits, DeskewingMemberSameAsDlib) {
  NEED_MNIST();
  const std::string path = Root() + "/data/models/digits-4.dnn";
  auto fast = FastDigitNet::Load(path);
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  auto slow = DigitModel::Load(path);
  ASSERT_TRUE(slow.ok()) << slow.status().ToString();
  ASSERT_TRUE(slow->deskew());
  std::span<const Image28> imgs(F().mnist->images.data(), 300);
  const auto a = slow->ClassifyBatch(imgs), b = fast->ClassifyBatch(imgs);
  const double maxdiff = SameDigitsMaxDifference(a, b);
  EXPECT_LT(maxdiff, 1e-4);
}

TEST(FastDigits, SameProbabilitiesAsDlib) {
  NEED_MNIST();
  auto fast = FastDigitNet::Load(REKAP_DIGITS_MODEL);
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  cv::setNumThreads(1);
  std::span<const Image28> imgs(F().mnist->images.data(), 300);
  auto t0 = std::chrono::steady_clock::now();
  auto a = F().model->ClassifyBatch(imgs);
  auto t1 = std::chrono::steady_clock::now();
  auto b = fast->ClassifyBatch(imgs);
  auto b2 = fast->ClassifyBatch(imgs);
  auto t2 = std::chrono::steady_clock::now();
  const double maxdiff = SameDigitsMaxDifference(a, b);
  EXPECT_LT(maxdiff, 1e-4);
  std::printf("dlib %.1f us/digit, FastDigitNet %.1f us/digit, max |dp| %.2g\n",
              std::chrono::duration<double, std::micro>(t1 - t0).count() / 300,
              std::chrono::duration<double, std::micro>(t2 - t1).count() / 600, maxdiff);
}


}  // namespace
}  // namespace rekap::reader


