// Tests of the forms: layout geometry, JSON, QR payload, rendering (markers and QR found where
// the layout says), and synthetic pages with their truth.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <nlohmann/json.hpp>
#include <opencv2/aruco.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <qrencode.h>

#include "reader/idx.h"
#include "reader/layout.h"
#include "reader/render.h"
#include "reader/synth.h"
#include "rekap/election.h"
#include "rekap/region.h"

namespace rekap::reader {
namespace {

const std::string kRoot = REKAP_READER_ROOT_DIR;
const std::string kMnistDir = REKAP_MNIST_DIR;

const std::map<std::string, std::shared_ptr<const FormSchema>>& Schemas() {
  static auto s = [] {
    auto r = LoadSchemaDir(kRoot + "/data/schemas");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::map<std::string, std::shared_ptr<const FormSchema>>{};
  }();
  return s;
}

Contest MakeContest(const std::string& schema, int candidates, double max_voters = 300) {
  Contest c;
  c.id = "uji";
  c.kind = "ppwp";
  c.name = "Pemilihan uji";
  c.schema_id = schema;
  c.params["max_voters"] = max_voters;
  for (int i = 1; i <= candidates; ++i)
    c.candidates.push_back({i, "Calon Nomor " + std::to_string(i) + " - Wakil Calon Nomor " +
                                   std::to_string(i) + " dengan Nama yang Cukup Panjang",
                            ""});
  auto f = Schemas().at(schema)->Bind(candidates, c.params);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  c.form = *f;
  return c;
}

Rect Grow(const Rect& r, double d) { return {r.x - d, r.y - d, r.w + 2 * d, r.h + 2 * d}; }

// Every element of a layout: name and rectangle.
std::vector<std::pair<std::string, Rect>> Elements(const PageLayout& L, bool with_quiet_zones) {
  std::vector<std::pair<std::string, Rect>> out;
  for (size_t i = 0; i < L.fiducials.size(); ++i)
    out.push_back({"fiducial" + std::to_string(i),
                   with_quiet_zones ? Grow(L.fiducials[i].box, L.fiducials[i].box.w / 6) : L.fiducials[i].box});
  if (L.qr) out.push_back({"qr", with_quiet_zones ? Grow(*L.qr, 4 * L.qr->w / 33) : *L.qr});
  for (const auto& n : L.numbers) {
    if (n.label_box.w > 0) out.push_back({n.field + ".label", n.label_box});
    for (int p = 0; p < 3; ++p) {
      out.push_back({n.field + ".box" + std::to_string(p), n.digit_boxes[size_t(p)]});
      for (int v = 0; v < 10 && n.has_bubbles; ++v)
        out.push_back({n.field + ".bubble" + std::to_string(p) + std::to_string(v),
                       n.bubbles[size_t(p)][size_t(v)]});
    }
  }
  for (size_t i = 0; i < L.texts.size(); ++i)
    out.push_back({"text" + std::to_string(i) + ":" + L.texts[i].key, L.texts[i].box});
  return out;
}

void ExpectNoOverlap(const PageLayout& L) {
  const Rect page{0, 0, L.width_mm, L.height_mm};
  auto el = Elements(L, true);
  for (const auto& [name, r] : el) {
    EXPECT_TRUE(page.Contains(r)) << name << " outside the page";
  }
  for (size_t i = 0; i < el.size(); ++i)
    for (size_t j = i + 1; j < el.size(); ++j)
      ASSERT_FALSE(el[i].second.Intersects(el[j].second))
          << el[i].first << " overlaps " << el[j].first << " on page " << L.page;
}

TEST(LayoutTest, OwnFormFitsAndNothingOverlaps) {
  for (const char* schema : {"C.HASIL-PPWP-2024", "C.HASIL-KWK-2024"}) {
    for (int n = 1; n <= 12; ++n) {
      Contest c = MakeContest(schema, n);
      const Form& form = *c.form;
      int pages = OwnPageCount(form);
      ASSERT_GE(pages, 1) << schema << " " << n;
      if (n <= kOwnOnePageCandidates) {
        EXPECT_EQ(pages, 1) << schema << " with " << n;
      }
      std::set<std::string> seen;
      for (int p = 1; p <= pages; ++p) {
        auto L = LayoutOwnPage(form, c, p);
        ASSERT_TRUE(L.ok()) << L.status().ToString();
        EXPECT_EQ(L->page, p);
        EXPECT_EQ(L->pages, pages);
        EXPECT_EQ(L->width_mm, kOwnPageWidthMm);
        ASSERT_EQ(L->fiducials.size(), 4u);
        ASSERT_TRUE(L->qr.has_value());
        for (const auto& num : L->numbers) {
          EXPECT_TRUE(seen.insert(num.field).second) << num.field << " twice";
          for (const auto& b : num.digit_boxes) EXPECT_GE(std::min(b.w, b.h), 7.0);
          for (const auto& row : num.bubbles)
            for (const auto& b : row) EXPECT_GE(b.w, 3.5);
        }
        ExpectNoOverlap(*L);
        auto fields = OwnPageFields(form, p);
        ASSERT_EQ(fields.size(), L->numbers.size());
      }
      EXPECT_EQ(seen.size(), form.size()) << "every field on some page";
      EXPECT_FALSE(LayoutOwnPage(form, c, 0).ok());
      EXPECT_FALSE(LayoutOwnPage(form, c, pages + 1).ok());
    }
  }
}

TEST(LayoutTest, Deterministic) {
  Contest c = MakeContest("C.HASIL-PPWP-2024", 3);
  auto a = LayoutOwnPage(*c.form, c, 1), b = LayoutOwnPage(*c.form, c, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(ToJson(*a).dump(), ToJson(*b).dump());
}

TEST(LayoutTest, JsonRoundTrip) {
  Contest c = MakeContest("C.HASIL-KWK-2024", 12);
  for (int p = 1; p <= OwnPageCount(*c.form); ++p) {
    auto L = LayoutOwnPage(*c.form, c, p);
    ASSERT_TRUE(L.ok());
    auto back = ParseLayoutJson(ToJson(*L).dump());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, *L);
  }
}

TEST(LayoutTest, KpuPage2) {
  auto L = KpuPpwpPage2Layout();
  ASSERT_TRUE(L.ok()) << L.status().ToString();
  EXPECT_EQ(L->form_id, kKpuPpwpPage2FormId);
  EXPECT_EQ(L->page, 2);
  EXPECT_EQ(L->pages, 3);
  EXPECT_NEAR(L->width_mm, 600, 0.01);
  EXPECT_NEAR(L->height_mm, 900, 0.01);
  EXPECT_FALSE(L->qr.has_value());
  ASSERT_TRUE(L->page_marker.has_value());
  EXPECT_EQ(L->page_marker->dictionary, kAprilTag36h10);
  EXPECT_EQ(L->page_marker->marker_id, 102);
  ASSERT_EQ(L->numbers.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const auto& n = L->numbers[size_t(i)];
    EXPECT_EQ(n.field, "suara_" + std::to_string(i + 1));
    EXPECT_TRUE(n.segment_guides);
    // Bubble columns under the boxes: column p centred on box p, values top to bottom.
    for (int p = 0; p < 3; ++p) {
      EXPECT_NEAR(n.bubbles[size_t(p)][0].cx(), n.digit_boxes[size_t(p)].cx(), 0.5);
      for (int v = 1; v < 10; ++v)
        EXPECT_GT(n.bubbles[size_t(p)][size_t(v)].y, n.bubbles[size_t(p)][size_t(v - 1)].y);
    }
  }
  ExpectNoOverlap(*L);
  // Each paslon's tally grid: 5 x 12 cells of five (300 votes), left of its digit boxes, inside
  // the paslon's band, not overlapping the next.
  for (int i = 0; i < 3; ++i) {
    const auto& n = L->numbers[size_t(i)];
    ASSERT_TRUE(n.tally.has_value()) << n.field;
    EXPECT_EQ(n.tally->rows, 5);
    EXPECT_EQ(n.tally->cols, 12);
    EXPECT_EQ(n.tally->cells() * n.tally->per_cell, 300);
    EXPECT_NEAR(n.tally->Cell(0).w, 19.58, 0.05);
    EXPECT_NEAR(n.tally->Cell(59).bottom(), n.tally->box.bottom(), 1e-9);
    EXPECT_LT(n.tally->box.right(), n.digit_boxes[0].x);
    EXPECT_LT(n.tally->box.y, n.digit_boxes[0].y);
    if (i > 0) {
      EXPECT_GT(n.tally->box.y, L->numbers[size_t(i - 1)].tally->box.bottom());
    }
  }
  // The shipped file is the same data, and survives a JSON round trip.
  auto file = LoadLayoutFile(kRoot + "/data/forms/kpu-ppwp-2024-page2.json");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(*file, *L);
  auto back = ParseLayoutJson(ToJson(*L).dump());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, *L);
  // `rekap forms layout --json` gives the printed guide's dots in page coordinates, per box.
  const nlohmann::json guide = ToJson(*L)["numbers"][0]["segment_guide"];
  ASSERT_TRUE(guide.is_object());
  EXPECT_EQ(guide["dots"].size(), 3u);
  EXPECT_EQ(guide["dots"][2].size(), 33u);
  EXPECT_NEAR(guide["dots"][2][0][0].get<double>(), L->numbers[0].digit_boxes[2].cx() - 4.13, 0.01);
  EXPECT_NEAR(guide["dots"][2][0][1].get<double>(), L->numbers[0].digit_boxes[2].cy() - 6.636, 0.01);
  EXPECT_DOUBLE_EQ(guide["dot_mm"].get<double>(), 0.7);
  // A tally outside the page, or with no cells, is an error naming it.
  for (auto bad : {nlohmann::json{{"box", {181, 178, 900, 80}}, {"rows", 5}, {"cols", 12}},
                   nlohmann::json{{"box", {181, 178, 235, 80}}, {"rows", 0}, {"cols", 12}},
                   nlohmann::json{{"box", {181, 178, 235, 80}}, {"rows", 5}, {"cols", 12}, {"per_cell", 0}},
                   nlohmann::json{{"box", {181, 178, 235, 80}}, {"cols", 12}}, nlohmann::json(7)}) {
    nlohmann::json j = ToJson(*L);
    j["numbers"][1]["tally"] = bad;
    auto r = ParseLayoutJson(j.dump());
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_NE(r.status().message().find("tally"), std::string::npos) << r.status().message();
  }
}

// Page 3: the totals V.A, V.B, V.C in plain digit boxes (no guides, no bubbles), the tag 103
// where page 2 has its 102, and the same corner marks.
TEST(LayoutTest, KpuPage3) {
  auto L = KpuPpwpPage3Layout();
  ASSERT_TRUE(L.ok()) << L.status().ToString();
  auto L2 = KpuPpwpPage2Layout();
  ASSERT_TRUE(L2.ok());
  EXPECT_EQ(L->form_id, kKpuPpwpPage2FormId);
  EXPECT_EQ(L->page, 3);
  EXPECT_EQ(L->pages, 3);
  ASSERT_TRUE(L->page_marker.has_value());
  EXPECT_EQ(L->page_marker->dictionary, kAprilTag36h10);
  EXPECT_EQ(L->page_marker->marker_id, 103);
  EXPECT_EQ(L->page_marker->box, L2->page_marker->box);
  EXPECT_EQ(L->page_marker->rotation_deg, L2->page_marker->rotation_deg);
  EXPECT_EQ(L->fiducials, L2->fiducials);
  ASSERT_EQ(L->numbers.size(), 3u);
  const char* fields[3] = {"suara_sah", "suara_tidak_sah", "suara_total"};
  for (int i = 0; i < 3; ++i) {
    const auto& n = L->numbers[size_t(i)];
    EXPECT_EQ(n.field, fields[i]);
    EXPECT_FALSE(n.has_bubbles);
    EXPECT_FALSE(n.segment_guides);
    for (int p = 0; p < 3; ++p) EXPECT_NEAR(n.digit_boxes[size_t(p)].w, 21.0, 0.2);
    if (i > 0) {
      EXPECT_GT(n.digit_boxes[0].y, L->numbers[size_t(i - 1)].digit_boxes[0].bottom());
    }
  }
  ExpectNoOverlap(*L);
  // JSON round trip keeps "no bubbles"; the shipped file is the same data.
  auto back = ParseLayoutJson(ToJson(*L).dump());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, *L);
  auto file = LoadLayoutFile(kRoot + "/data/forms/kpu-ppwp-2024-page3.json");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(*file, *L);
  // Bubbles are 3 x 10 or none: 2 rows is an error naming the field.
  nlohmann::json j = ToJson(*L2);
  j["numbers"][0]["bubbles"].erase(2);
  auto bad = ParseLayoutJson(j.dump());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bubbles"), std::string::npos) << bad.status().message();
}

TEST(LayoutTest, HostileJsonRejected) {
  Contest c = MakeContest("C.HASIL-PPWP-2024", 3);
  auto L = LayoutOwnPage(*c.form, c, 1);
  ASSERT_TRUE(L.ok());
  const nlohmann::json good = ToJson(*L);
  std::vector<std::string> bad = {
      "", "null", "[]", "{}", "1e999", "\"x\"", std::string(100000, '['), "{\"form_id\":",
      std::string("{\"a\":") + std::string(5000, '[') + std::string(5000, ']') + "}",
  };
  auto mutate = [&](auto f) {
    nlohmann::json j = good;
    f(j);
    bad.push_back(j.dump());
  };
  mutate([](auto& j) { j["width_mm"] = -5; });
  mutate([](auto& j) { j["width_mm"] = "wide"; });
  mutate([](auto& j) { j["height_mm"] = 1e300; });
  mutate([](auto& j) { j["page"] = 7; });
  mutate([](auto& j) { j["pages"] = 0; });
  mutate([](auto& j) { j["version"] = 1.5; });
  mutate([](auto& j) { j["version"] = 18446744073709551615ULL; });
  mutate([](auto& j) { j["form_id"] = "bad id!"; });
  mutate([](auto& j) { j["fiducials"].erase(0); });
  mutate([](auto& j) { std::swap(j["fiducials"][0], j["fiducials"][2]); });
  mutate([](auto& j) { j["fiducials"][1]["dictionary"] = "qr"; });
  mutate([](auto& j) { j["fiducials"][1]["id"] = 50; });
  mutate([](auto& j) { j["fiducials"][1]["rotation_deg"] = 45; });
  mutate([](auto& j) { j["fiducials"][1]["box"] = {1, 2, 3}; });
  mutate([](auto& j) { j["qr"] = {290, 10, 36, 36}; });
  mutate([](auto& j) { j["numbers"][0]["digit_boxes"].erase(2); });
  mutate([](auto& j) { j["numbers"][0]["bubbles"][1].erase(9); });
  mutate([](auto& j) { j["numbers"][0]["bubbles"][1][3] = {1, 1, 0, 3}; });
  mutate([](auto& j) { j["numbers"][0]["bubbles"][1][3][0] = nullptr; });
  mutate([](auto& j) { j["numbers"][1]["field"] = j["numbers"][0]["field"]; });
  mutate([](auto& j) { j["numbers"][1]["field"] = "Suara"; });
  mutate([](auto& j) { j["numbers"][1]["max_value"] = 5000; });
  mutate([](auto& j) { j["numbers"][1] = 7; });
  mutate([](auto& j) { j["texts"][0]["text"] = 5; });
  mutate([](auto& j) { j["texts"][0]["box"] = {-50, 0, 1, 1}; });
  mutate([](auto& j) { j["frames"] = "none"; });
  mutate([](auto& j) { j["format"] = "other"; });
  mutate([](auto& j) { j["numbers"][0]["label"] = {{"id", std::string(5000, 'x')}}; });
  for (const auto& s : bad) EXPECT_FALSE(ParseLayoutJson(s).ok()) << s.substr(0, 200);
  // Random byte damage: never a crash, and whatever parses is valid.
  std::mt19937 rng(7);
  const std::string text = good.dump();
  for (int i = 0; i < 300; ++i) {
    std::string t = text;
    for (int k = 0; k < 1 + i % 5; ++k) t[rng() % t.size()] = char(rng() % 128);
    if (i % 7 == 0) t.resize(rng() % t.size());
    auto r = ParseLayoutJson(t);
    if (r.ok()) {
      EXPECT_EQ(r->fiducials.size(), 4u);
    }
  }
}

TEST(QrPayloadTest, RoundTripAndTamper) {
  QrPayload p{"C.HASIL-PPWP-2024", 1, "ppwp", "3212012001007", 1, 2};
  std::string s = FormatQrPayload(p);
  EXPECT_EQ(s.rfind("REKAP1|C.HASIL-PPWP-2024|1|ppwp|3212012001007|1/2|", 0), 0u) << s;
  auto back = ParseQrPayload(s);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, p);
  // Changing any single character is detected.
  for (size_t i = 0; i < s.size(); ++i) {
    for (char c : {'0', '7', 'a', 'Z', '|'}) {
      if (s[i] == c) {
        continue;
      }
      std::string t = s;
      t[i] = c;
      EXPECT_FALSE(ParseQrPayload(t).ok()) << t;
    }
  }
  for (const char* bad : {"", "REKAP1", "REKAP1|||||", "REKAP2|C|1|p|3212012001007|1/1|00000000",
                          "REKAP1|C|1|p|3212012001000|1/1|00000000",
                          "REKAP1|C|0|p|3212012001007|1/1|00000000",
                          "REKAP1|C|1|p|3212012001007|2/1|00000000",
                          "REKAP1|C|1|p|3212012001007|1/1|00000000|x"})
    EXPECT_FALSE(ParseQrPayload(bad).ok()) << bad;
  // Every field validated even with a right check value.
  QrPayload q = p;
  q.tps = "12345";
  EXPECT_FALSE(ParseQrPayload(FormatQrPayload(q)).ok());
  q = p;
  q.page = 3;
  EXPECT_FALSE(ParseQrPayload(FormatQrPayload(q)).ok());
}

// Marker corner (px) detected by OpenCV vs. the layout (mm -> px).
void ExpectMarkersAt(const cv::Mat& img, const PageLayout& L, double px_per_mm, int dict_id,
                     const std::vector<Fiducial>& expect) {
  auto dict = cv::aruco::getPredefinedDictionary(dict_id);
  std::vector<std::vector<cv::Point2f>> corners;
  std::vector<int> ids;
  cv::Mat gray;
  cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
  cv::aruco::detectMarkers(gray, dict, corners, ids);
  for (const auto& f : expect) {
    auto it = std::find(ids.begin(), ids.end(), f.marker_id);
    ASSERT_NE(it, ids.end()) << "marker " << f.marker_id << " not found";
    const auto& c = corners[size_t(it - ids.begin())];
    const Rect& b = f.box;
    const cv::Point2d box[4] = {{b.x, b.y}, {b.right(), b.y}, {b.right(), b.bottom()}, {b.x, b.bottom()}};
    for (int i = 0; i < 4; ++i) {
      cv::Point2d e = box[(i + f.rotation_deg / 90) % 4] * px_per_mm;
      EXPECT_NEAR(c[size_t(i)].x, e.x, 2.0) << "marker " << f.marker_id << " corner " << i;
      EXPECT_NEAR(c[size_t(i)].y, e.y, 2.0) << "marker " << f.marker_id << " corner " << i;
    }
  }
  (void)L;
}

TEST(FormsRenderTest, OwnPageMarkersAndQr) {
  Contest c = MakeContest("C.HASIL-PPWP-2024", 3);
  auto L = LayoutOwnPage(*c.form, c, 1);
  ASSERT_TRUE(L.ok());
  RenderInput in{"3212012001007", "Jawa Barat", "Indramayu", "Kec. Uji", "Desa Uji"};
  const double dpi = 100, s = dpi / 25.4;
  std::string path = testing::TempDir() + "/rekap_form_test.png";
  ASSERT_TRUE(RenderPagePng(*L, in, dpi, path).ok());
  cv::Mat img = cv::imread(path);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, int(std::lround(L->width_mm * s)));
  ExpectMarkersAt(img, *L, s, cv::aruco::DICT_4X4_50, L->fiducials);
  // The QR is found where the layout says, and its modules are exactly the payload's.
  // (Debian's OpenCV 4.6 is built without quirc: QRCodeDetector finds but cannot decode, so the
  // modules are compared with libqrencode's encoding of the expected payload instead.)
  auto expected = QrPayloadFor(*L, in);
  ASSERT_TRUE(expected.ok());
  EXPECT_TRUE(ParseQrPayload(*expected).ok());
  cv::QRCodeDetector det;
  std::vector<cv::Point2f> qc;
  ASSERT_TRUE(det.detect(img, qc));
  ASSERT_EQ(qc.size(), 4u);
  const Rect& q = *L->qr;
  const cv::Point2d want[4] = {{q.x, q.y}, {q.right(), q.y}, {q.right(), q.bottom()}, {q.x, q.bottom()}};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(qc[size_t(i)].x, want[i].x * s, 3.0) << "QR corner " << i;
    EXPECT_NEAR(qc[size_t(i)].y, want[i].y * s, 3.0) << "QR corner " << i;
  }
  QRcode* code = QRcode_encodeString(expected->c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  ASSERT_NE(code, nullptr);
  const int nm = code->width;
  cv::Mat gray;
  cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
  int wrong = 0;
  for (int y = 0; y < nm; ++y)
    for (int x = 0; x < nm; ++x) {
      double mx = (q.x + (x + 0.5) * q.w / nm) * s, my = (q.y + (y + 0.5) * q.h / nm) * s;
      bool dark = gray.at<uint8_t>(int(my), int(mx)) < 128;
      wrong += dark != bool(code->data[y * nm + x] & 1);
    }
  QRcode_free(code);
  EXPECT_EQ(wrong, 0);
  // A page without a TPS id cannot be printed with a QR code.
  EXPECT_FALSE(RenderPageImage(*L, RenderInput{}, 1).ok());
  // PDF.
  std::string pdf = testing::TempDir() + "/rekap_form_test.pdf";
  ASSERT_TRUE(RenderPagesPdf({*L}, in, pdf).ok());
  EXPECT_GT(std::filesystem::file_size(pdf), 1000u);
}

TEST(FormsRenderTest, KpuPageTagFound) {
  auto L = KpuPpwpPage2Layout();
  ASSERT_TRUE(L.ok());
  const double s = 3.0;
  auto img = RenderPageImage(*L, RenderInput{}, s);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  ExpectMarkersAt(*img, *L, s, cv::aruco::DICT_APRILTAG_36h10, {*L->page_marker});
}

// KPU's 8-segment guide is drawn as page 2 of the PDF prints it (measured at 600 dpi,
// docs/forms.md): in every digit box 33 square dots of 0.7 mm, grey 204, on 5 columns by 9 rows
// about the box's centre, the middle column included.
TEST(FormsRenderTest, KpuSegmentGuideAsPrinted) {
  const std::vector<GuideDot>& dots = SegmentGuideDots();
  ASSERT_EQ(dots.size(), 33u);
  int middle = 0;
  for (const GuideDot& d : dots) middle += std::abs(d.x) < 1e-9 && std::abs(d.y) > 1 && std::abs(d.y) < 6;
  EXPECT_EQ(middle, 6) << "the middle column between the rows of five";
  auto L = KpuPpwpPage2Layout();
  ASSERT_TRUE(L.ok());
  const double s = 8.0;  // px per mm: a dot is 5.6 px, dots 13 px apart
  auto img = RenderPageImage(*L, RenderInput{}, s);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  cv::Mat gray;
  cv::cvtColor(*img, gray, cv::COLOR_BGR2GRAY);
  for (const NumberLayout& n : L->numbers)
    for (const Rect& b : n.digit_boxes) {
      const double in = n.box_line_mm + 0.5;
      const cv::Rect r(int((b.x + in) * s), int((b.y + in) * s), int((b.w - 2 * in) * s), int((b.h - 2 * in) * s));
      cv::Mat grey_ink = (gray(r) < 240) & (gray(r) > 150);
      cv::Mat lab, st, cen;
      const int k = cv::connectedComponentsWithStats(grey_ink, lab, st, cen, 8);
      ASSERT_EQ(k - 1, 33) << n.field;
      for (int i = 1; i < k; ++i) {
        const double cx = r.x / s + (cen.at<double>(i, 0) + 0.5) / s - b.cx();
        const double cy = r.y / s + (cen.at<double>(i, 1) + 0.5) / s - b.cy();
        double best = 1e9;
        for (const GuideDot& d : dots) best = std::min(best, std::hypot(cx - d.x, cy - d.y));
        EXPECT_LT(best, 0.15) << n.field << " dot at " << cx << ", " << cy;
        EXPECT_NEAR(st.at<int>(i, cv::CC_STAT_WIDTH) / s, kSegmentGuideDotMm, 0.2);
        EXPECT_NEAR(cv::mean(gray(r), lab == i)[0], 255 * kSegmentGuideGray, 12);
      }
    }
}

// The synthetic pages are written with MNIST test digits from ../shared/data/mnist (beside the
// clone; absent on some machines). Tests that need them skip, saying so, when it is missing;
// when it is there but unreadable they fail.
bool HaveMnist() {
  return std::filesystem::exists(kMnistDir + "/t10k-images-idx3-ubyte.gz") &&
         std::filesystem::exists(kMnistDir + "/t10k-labels-idx1-ubyte.gz");
}

#define NEED_MNIST()                                                                   \
  do {                                                                                 \
    if (!HaveMnist())                                                                  \
      GTEST_SKIP() << "MNIST test set not found in " << kMnistDir                      \
                   << " (t10k-*-idx*-ubyte.gz; ../shared/data/mnist beside the clone)"; \
  } while (0)

DigitDataset& MnistTest() {
  static DigitDataset d = [] {
    auto r = ReadIdxDataset(kMnistDir + "/t10k-images-idx3-ubyte.gz",
                            kMnistDir + "/t10k-labels-idx1-ubyte.gz", 2000);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : DigitDataset{};
  }();
  return d;
}

std::vector<Value> ToArray(const Form& f, const nlohmann::json& values) {
  std::vector<Value> v(f.size(), kMissing);
  for (size_t i = 0; i < f.size(); ++i)
    if (values.contains(f.fields()[i].id)) v[i] = values[f.fields()[i].id].get<int>();
  return v;
}

TEST(SynthTest, OwnFormPagesAndTruth) {
  NEED_MNIST();
  Contest c = MakeContest("C.HASIL-PPWP-2024", 3);
  SynthOptions o;
  o.seed = 12;
  o.min_width = 1000;
  o.max_width = 1300;
  o.inconsistent_rate = 0.4;
  auto s = Synthesizer::Create(MnistTest(), &c, o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::string dir = testing::TempDir() + "/rekap_synth_test";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE((*s)->WriteAll(5, dir, {}).ok());
  std::ifstream in(dir + "/truth.json");
  auto truth = nlohmann::json::parse(in);
  ASSERT_EQ(truth["pages"].size(), 5u);
  int inconsistent = 0;
  for (const auto& p : truth["pages"]) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + p["file"].get<std::string>()));
    EXPECT_EQ(p["form"], "C.HASIL-PPWP-2024");
    EXPECT_EQ(p["page"], 1);
    EXPECT_TRUE(TpsId::Parse(p["tps"].get<std::string>()).ok());
    auto v = ToArray(*c.form, p["values"]);
    for (Value x : v) EXPECT_NE(x, kMissing) << "every field has a value on a 1-page form";
    std::vector<RuleFailure> fails;
    bool ok = c.form->Validate(v.data(), &fails);
    if (p["inconsistent"].get<bool>()) {
      ++inconsistent;
      EXPECT_FALSE(ok) << p.dump();
    } else {
      EXPECT_TRUE(ok) << p.dump();
      EXPECT_TRUE(fails.empty()) << "consistent pages pass the warnings too";
    }
    // Every box written traces to an IDX sample of the digit written there; blank boxes to -1.
    std::set<std::string> zeros;
    for (const auto& z : p["leading_zeros"]) zeros.insert(z.get<std::string>());
    for (const auto& [field, value] : p["values"].items()) {
      ASSERT_TRUE(p["samples"].contains(field)) << field;
      const auto& smp = p["samples"][field];
      ASSERT_EQ(smp.size(), 3u);
      for (int pos = 0; pos < 3; ++pos) {
        const int v = value.get<int>();
        const int first = v >= 100 ? 0 : v >= 10 ? 1 : 2;
        const int d = zeros.count(field) || pos >= first ? (pos == 0 ? v / 100 : pos == 1 ? v / 10 % 10 : v % 10) : -1;
        const int i = smp[size_t(pos)].get<int>();
        if (d < 0) {
          EXPECT_EQ(i, -1) << field << " " << pos;
          continue;
        }
        ASSERT_GE(i, 0);
        ASSERT_LT(size_t(i), MnistTest().size());
        EXPECT_EQ(MnistTest().labels[size_t(i)], d) << field << " " << pos;
      }
    }
    cv::Mat img = cv::imread(dir + "/" + p["file"].get<std::string>());
    EXPECT_EQ(img.cols, p["width"].get<int>());
    EXPECT_GE(img.cols, 1000);
    EXPECT_LE(img.cols, 1300);
  }
  EXPECT_GT(inconsistent, 0);
  EXPECT_LT(inconsistent, 5);
  // Deterministic per (seed, index).
  auto a = (*s)->Make(3), b = (*s)->Make(3);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->jpeg, b->jpeg);
  EXPECT_EQ(a->TruthJson().dump(), truth["pages"][3].dump());
  // Every page deliberately wrong at rate 1: a hard rule breaks, and it is named.
  o.inconsistent_rate = 1;
  o.photograph = false;
  auto all_bad = Synthesizer::Create(MnistTest(), &c, o);
  ASSERT_TRUE(all_bad.ok());
  for (int i = 0; i < 3; ++i) {
    auto p = (*all_bad)->Make(i);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->inconsistent);
    EXPECT_FALSE(p->inconsistency.empty());
    auto v = ToArray(*c.form, p->TruthJson()["values"]);
    std::vector<RuleFailure> fails;
    EXPECT_FALSE(c.form->Validate(v.data(), &fails));
  }
  // An option out of its range, NaN included, is refused naming it (it said "invalid synth
  // options" before).
  for (auto [field, name] : {std::pair{&SynthOptions::bend_mm, "--bend"}, {&SynthOptions::spill, "--spill"},
                             {&SynthOptions::unbubbled_rate, "--unbubbled"}}) {
    for (double bad : {-1.0, 1e9, std::nan("")}) {
      SynthOptions b = o;
      b.*field = bad;
      auto r = Synthesizer::Create(MnistTest(), &c, b);
      ASSERT_FALSE(r.ok()) << name << " " << bad;
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_NE(r.status().message().find(name), std::string::npos) << r.status().message();
    }
  }
}

// The clean filled scan (no photo effects) at 4 px/mm, where page geometry is exact.
SynthOptions CleanScan() {
  SynthOptions o;
  o.photograph = false;
  o.px_per_mm = 4;
  return o;
}

TEST(SynthTest, CleanOwnPageHasMarkersWhereTruthSays) {
  NEED_MNIST();
  Contest c = MakeContest("C.HASIL-PPWP-2024", 3);
  const SynthOptions o = CleanScan();
  auto s = Synthesizer::Create(MnistTest(), &c, o);
  ASSERT_TRUE(s.ok());
  auto p = (*s)->Make(0);
  ASSERT_TRUE(p.ok());
  auto L = LayoutOwnPage(*c.form, c, 1);
  ExpectMarkersAt(p->image, *L, 4, cv::aruco::DICT_4X4_50, L->fiducials);
}

// Pixels of a clean scan's difference (4 px per mm) outside the digit boxes, where a digit may
// reach 1 mm past its box.
int ChangedOutsideDigitBoxes(cv::Mat diff, const std::vector<NumberLayout>& numbers) {
  for (const NumberLayout& n : numbers)
    for (const Rect& box : n.digit_boxes)
      diff(cv::Rect(int((box.x - 1) * 4), int((box.y - 1) * 4), int((box.w + 2) * 4), int((box.h + 2) * 4)) &
           cv::Rect(0, 0, diff.cols, diff.rows)) = 0;
  return cv::countNonZero(diff);
}

// Other hands (SynthOptions::restyle): the same page, numbers, samples, bubbles and tallies,
// with only the handwriting in the digit boxes changed.
TEST(SynthTest, RestyleChangesOnlyTheDigitBoxes) {
  NEED_MNIST();
  Contest c = MakeContest("C.HASIL-PPWP-2024", 3);
  SynthOptions o = CleanScan();
  o.seed = 7;
  for (SynthForm form : {SynthForm::kOwn, SynthForm::kKpuPpwpPage2}) {
    o.form = form;
    o.restyle = 0;
    auto plain = Synthesizer::Create(MnistTest(), form == SynthForm::kOwn ? &c : nullptr, o);
    o.restyle = 1;
    auto other = Synthesizer::Create(MnistTest(), form == SynthForm::kOwn ? &c : nullptr, o);
    ASSERT_TRUE(plain.ok() && other.ok());
    auto a = (*plain)->Make(1), b = (*other)->Make(1);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->TruthJson().dump(), b->TruthJson().dump());
    ASSERT_EQ(a->image.size(), b->image.size());
    cv::Mat diff;
    cv::absdiff(a->image, b->image, diff);
    if (diff.channels() > 1) cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
    const int changed = cv::countNonZero(diff);
    EXPECT_GT(changed, 0) << "the handwriting differs";
    // Outside the digit boxes (a digit may reach 1 mm past its box) nothing moved.
    auto L = form == SynthForm::kOwn ? LayoutOwnPage(*c.form, c, 1) : KpuPpwpPage2Layout();
    ASSERT_TRUE(L.ok());
    EXPECT_EQ(ChangedOutsideDigitBoxes(diff, L->numbers), 0);
  }
  o.restyle = 3;
  EXPECT_FALSE(Synthesizer::Create(MnistTest(), &c, o).ok());
}

// Flagged 1s (SynthOptions::flagged_ones): at 1 every written 1 gets a flag, only the digit boxes
// change, and truth.json counts them; at 0 the photo is the same bytes.
TEST(SynthTest, FlaggedOnesChangeOnlyTheDigitBoxes) {
  NEED_MNIST();
  Contest c = MakeContest("C.HASIL-PPWP-2024", 3);
  SynthOptions o = CleanScan();
  o.seed = 7;
  auto plain = Synthesizer::Create(MnistTest(), &c, o);
  o.flagged_ones = 1;
  auto flagged = Synthesizer::Create(MnistTest(), &c, o);
  ASSERT_TRUE(plain.ok() && flagged.ok());
  auto L = LayoutOwnPage(*c.form, c, 1);
  ASSERT_TRUE(L.ok());
  int pages_with_ones = 0;
  for (int i = 0; i < 4; ++i) {
    auto a = (*plain)->Make(i), b = (*flagged)->Make(i);
    ASSERT_TRUE(a.ok() && b.ok());
    int ones = 0;
    for (const auto& [field, used] : a->samples) {
      const int v = a->values.at(field), d[3] = {v / 100, v / 10 % 10, v % 10};
      for (int p = 0; p < 3; ++p) ones += used[size_t(p)] >= 0 && d[p] == 1;
    }
    EXPECT_EQ(a->flagged, 0);
    EXPECT_EQ(b->flagged, ones) << i;
    nlohmann::json ta = a->TruthJson(), tb = b->TruthJson();
    EXPECT_EQ(tb.value("flagged_ones", 0), ones);
    tb.erase("flagged_ones");
    EXPECT_EQ(ta.dump(), tb.dump());
    cv::Mat diff;
    cv::absdiff(a->image, b->image, diff);
    if (diff.channels() > 1) cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
    EXPECT_EQ(cv::countNonZero(diff) > 0, ones > 0) << i;
    pages_with_ones += ones > 0;
    EXPECT_EQ(ChangedOutsideDigitBoxes(diff, L->numbers), 0) << i;
  }
  EXPECT_GT(pages_with_ones, 0);
  o.flagged_ones = 0;
  auto again = Synthesizer::Create(MnistTest(), &c, o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Make(2)->jpeg, (*plain)->Make(2)->jpeg);
  o.flagged_ones = 1.5;
  EXPECT_FALSE(Synthesizer::Create(MnistTest(), &c, o).ok());
}

// A page folded and opened again (SynthOptions::folds): the same page and truth, the photo
// changed (the panel beyond a crease shortened, the crease drawn); drawn the same every time.
TEST(SynthTest, FoldsChangeOnlyThePhoto) {
  NEED_MNIST();
  Contest c = MakeContest("C.HASIL-PPWP-2024", 3);
  SynthOptions o = CleanScan();
  o.seed = 7;
  auto flat = Synthesizer::Create(MnistTest(), &c, o);
  o.folds = 2;
  auto folded = Synthesizer::Create(MnistTest(), &c, o);
  auto again = Synthesizer::Create(MnistTest(), &c, o);
  ASSERT_TRUE(flat.ok() && folded.ok() && again.ok());
  auto a = (*flat)->Make(1), b = (*folded)->Make(1), b2 = (*again)->Make(1);
  ASSERT_TRUE(a.ok() && b.ok() && b2.ok());
  EXPECT_EQ(a->TruthJson().dump(), b->TruthJson().dump());
  ASSERT_EQ(a->image.size(), b->image.size());
  cv::Mat diff;
  cv::absdiff(a->image, b->image, diff);
  cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
  // Everything beyond a crease moved or changed its light: a good share of the page.
  EXPECT_GT(cv::countNonZero(diff > 8), int(diff.total() / 20));
  cv::absdiff(b->image, b2->image, diff);
  cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::countNonZero(diff), 0);
  o.folds = 4;
  EXPECT_FALSE(Synthesizer::Create(MnistTest(), &c, o).ok());
  o.folds = -1;
  EXPECT_FALSE(Synthesizer::Create(MnistTest(), &c, o).ok());
}

// Digits written along KPU's 8-segment guide (SynthOptions::segment_style): the same page and
// truth but for the boxes' samples (-2, no IDX sample), the ink only inside the digit boxes
// changed, drawn the same every time; our own form, whose boxes carry no guide, unchanged.
TEST(SynthTest, SegmentStyleChangesOnlyTheDigitBoxes) {
  NEED_MNIST();
  SynthOptions o = CleanScan();
  o.form = SynthForm::kKpuPpwpPage2;
  o.seed = 7;
  auto plain = Synthesizer::Create(MnistTest(), nullptr, o);
  o.segment_style = 1;
  auto seg = Synthesizer::Create(MnistTest(), nullptr, o);
  auto again = Synthesizer::Create(MnistTest(), nullptr, o);
  ASSERT_TRUE(plain.ok() && seg.ok() && again.ok());
  auto L = KpuPpwpPage2Layout();
  ASSERT_TRUE(L.ok());
  for (int i = 0; i < 3; ++i) {
    auto a = (*plain)->Make(i), b = (*seg)->Make(i), b2 = (*again)->Make(i);
    ASSERT_TRUE(a.ok() && b.ok() && b2.ok());
    nlohmann::json ta = a->TruthJson(), tb = b->TruthJson();
    int written = 0;
    for (const auto& [field, s] : b->samples)
      for (int k : s) {
        EXPECT_TRUE(k == -1 || k == -2) << field;
        written += k == -2;
      }
    EXPECT_GT(written, 0);
    ta.erase("samples"), tb.erase("samples");
    EXPECT_EQ(ta.dump(), tb.dump());
    ASSERT_EQ(a->image.size(), b->image.size());
    cv::Mat diff;
    cv::absdiff(a->image, b->image, diff);
    cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
    const int changed = cv::countNonZero(diff);
    EXPECT_GT(changed, 0);
    // Nothing changed outside the digit boxes.
    for (const NumberLayout& n : L->numbers)
      for (const Rect& r : n.digit_boxes) {
        const cv::Rect px(int(r.x * o.px_per_mm) - 1, int(r.y * o.px_per_mm) - 1, int(r.w * o.px_per_mm) + 3,
                          int(r.h * o.px_per_mm) + 3);
        diff(px & cv::Rect(0, 0, diff.cols, diff.rows)).setTo(0);
      }
    EXPECT_EQ(cv::countNonZero(diff), 0) << "of " << changed << " changed pixels, on page " << i;
    cv::absdiff(b->image, b2->image, diff);
    cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
    EXPECT_EQ(cv::countNonZero(diff), 0);
  }
  // Our own form's boxes have no guide: nothing is written otherwise.
  Contest c = MakeContest("C.HASIL-PPWP-2024", 3);
  SynthOptions own = CleanScan();
  auto x = Synthesizer::Create(MnistTest(), &c, own);
  own.segment_style = 1;
  auto y = Synthesizer::Create(MnistTest(), &c, own);
  ASSERT_TRUE(x.ok() && y.ok());
  auto px = (*x)->Make(2), py = (*y)->Make(2);
  ASSERT_TRUE(px.ok() && py.ok());
  EXPECT_EQ(px->TruthJson().dump(), py->TruthJson().dump());
  cv::Mat d;
  cv::absdiff(px->image, py->image, d);
  cv::cvtColor(d, d, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::countNonZero(d), 0);
  for (double bad : {-0.1, 1.5}) {
    o.segment_style = bad;
    EXPECT_FALSE(Synthesizer::Create(MnistTest(), nullptr, o).ok()) << bad;
  }
}

// SynthOptions::pen_outline_areas: a solid area of the sample, much wider than its stroke (a
// loop a thick marker closed), is drawn around by the pen, not reduced to a stub along its
// centre line; a digit without one is drawn the same either way. A "9" of white ink on black:
// a filled disc 30 px across on a stem 8 px wide; and the stem alone.
TEST(SynthTest, PenOutlinesSolidAreas) {
  cv::Mat nine(100, 70, CV_8U, cv::Scalar(0));
  cv::circle(nine, {35, 30}, 15, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
  cv::line(nine, {48, 35}, {40, 90}, cv::Scalar(255), 8, cv::LINE_AA);
  cv::Mat stem(100, 70, CV_8U, cv::Scalar(0));
  cv::line(stem, {48, 10}, {40, 90}, cv::Scalar(255), 8, cv::LINE_AA);
  // Inner contours: holes in the ink, at the pen's 2 px.
  auto holes = [](const cv::Mat& ink) {
    std::vector<std::vector<cv::Point>> contours;
    std::vector<cv::Vec4i> tree;
    cv::findContours(ink > 100, contours, tree, cv::RETR_CCOMP, cv::CHAIN_APPROX_SIMPLE);
    int n = 0;
    for (size_t i = 0; i < contours.size(); ++i) n += tree[i][3] >= 0 && cv::contourArea(contours[i]) >= 20;
    return n;
  };
  const cv::Mat centre_line = RedrawWithPen(nine, 2, false);
  const cv::Mat around = RedrawWithPen(nine, 2, true);
  ASSERT_EQ(around.size(), nine.size());
  EXPECT_EQ(holes(centre_line), 0);  // the disc's centre line is a stub: the 9 lost its loop
  EXPECT_EQ(holes(around), 1);       // drawn around: the loop is there
  // The loop's ink follows the disc's edge: every drawn pixel lies within the original ink.
  EXPECT_EQ(cv::countNonZero((around > 100) & (nine < 50)), 0);
  EXPECT_TRUE(RedrawWithPen(cv::Mat(), 2, true).empty());
  EXPECT_TRUE(RedrawWithPen(cv::Mat(10, 10, CV_32F, cv::Scalar(1)), 2, true).empty());
  // No solid area, nothing changes.
  EXPECT_EQ(cv::countNonZero(RedrawWithPen(stem, 2, false) != RedrawWithPen(stem, 2, true)), 0);
  // The option needs pen strokes.
  SynthOptions o;
  o.form = SynthForm::kKpuPpwpPage2;
  o.pen_outline_areas = true;
  EXPECT_FALSE(Synthesizer::Create(MnistTest(), nullptr, o).ok());
  o.pen_strokes = 1;
  EXPECT_TRUE(Synthesizer::Create(MnistTest(), nullptr, o).ok());
}

// Digits at the pen's own width (SynthOptions::pen_strokes): the same page and truth but for
// the pen's width in truth.json, the ink only inside the digit boxes changed, and a thin pen's
// digits drawn with much less ink than the MNIST sample's stroke, but not erased; with a share
// below 1, the pages not drawn so are exactly the plain ones (a stream of its own).
TEST(SynthTest, PenStrokesRedrawOnlyTheDigits) {
  NEED_MNIST();
  SynthOptions o = CleanScan();
  o.form = SynthForm::kKpuPpwpPage2;
  o.seed = 7;
  auto plain = Synthesizer::Create(MnistTest(), nullptr, o);
  o.pen_strokes = 1;
  auto pen = Synthesizer::Create(MnistTest(), nullptr, o);
  o.pen_strokes = 0.5;
  auto half = Synthesizer::Create(MnistTest(), nullptr, o);
  ASSERT_TRUE(plain.ok() && pen.ok() && half.ok());
  auto L = KpuPpwpPage2Layout();
  ASSERT_TRUE(L.ok());
  auto in_boxes = [&](const cv::Mat& m, bool inside) {  // m with everything outside (inside) the boxes zeroed
    cv::Mat mask(m.size(), CV_8U, cv::Scalar(inside ? 0 : 255));
    for (const NumberLayout& n : L->numbers)
      for (const Rect& r : n.digit_boxes) {
        const cv::Rect px(int(r.x * o.px_per_mm) - 1, int(r.y * o.px_per_mm) - 1, int(r.w * o.px_per_mm) + 3,
                          int(r.h * o.px_per_mm) + 3);
        mask(px & cv::Rect(0, 0, m.cols, m.rows)).setTo(inside ? 255 : 0);
      }
    cv::Mat out;
    m.copyTo(out, mask);
    return out;
  };
  auto ink = [&](const cv::Mat& bgr) {  // dark pixels inside the digit boxes' printed borders
    cv::Mat g;
    cv::cvtColor(bgr, g, cv::COLOR_BGR2GRAY);
    int n_ink = 0;
    for (const NumberLayout& n : L->numbers)
      for (const Rect& r : n.digit_boxes) {
        const double m = n.box_line_mm + 0.3;
        const cv::Rect px(int((r.x + m) * o.px_per_mm), int((r.y + m) * o.px_per_mm), int((r.w - 2 * m) * o.px_per_mm),
                          int((r.h - 2 * m) * o.px_per_mm));
        n_ink += cv::countNonZero(g(px & cv::Rect(0, 0, g.cols, g.rows)) < 160);
      }
    return n_ink;
  };
  int thin = 0, drawn_plain = 0;
  for (int i = 0; i < 8; ++i) {
    auto a = (*plain)->Make(i), b = (*pen)->Make(i), h = (*half)->Make(i);
    ASSERT_TRUE(a.ok() && b.ok() && h.ok());
    nlohmann::json ta = a->TruthJson(), tb = b->TruthJson();
    ASSERT_TRUE(tb.contains("pen_mm"));
    const double mm = tb["pen_mm"];
    EXPECT_GE(mm, 0.25);
    EXPECT_LE(mm, 1.1);
    tb.erase("pen_mm");
    EXPECT_EQ(ta.dump(), tb.dump());
    cv::Mat diff;
    cv::absdiff(a->image, b->image, diff);
    cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
    EXPECT_GT(cv::countNonZero(diff), 0);
    EXPECT_EQ(cv::countNonZero(in_boxes(diff, false)), 0) << "page " << i;
    const int ia = ink(a->image), ib = ink(b->image);
    if (mm <= 0.6) {
      ++thin;
      EXPECT_LT(ib, 0.75 * ia) << "page " << i << ", pen " << mm << " mm";
      EXPECT_GT(ib, 0.1 * ia) << "page " << i << ", pen " << mm << " mm";
    }
    if (!h->TruthJson().contains("pen_mm")) {
      ++drawn_plain;
      cv::absdiff(a->image, h->image, diff);
      cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
      EXPECT_EQ(cv::countNonZero(diff), 0) << "page " << i;
    }
  }
  EXPECT_GT(thin, 0);
  EXPECT_GT(drawn_plain, 0);
  for (double bad : {-0.1, 1.5}) {
    o.pen_strokes = bad;
    EXPECT_FALSE(Synthesizer::Create(MnistTest(), nullptr, o).ok()) << bad;
  }
}

TEST(SynthTest, KpuPage) {
  SynthOptions o;
  o.form = SynthForm::kKpuPpwpPage2;
  o.seed = 5;
  o.min_width = 1000;
  o.max_width = 1200;
  o.inconsistent_rate = 0.5;
  // No digits to write with: refused (checked before the skip, it needs no MNIST).
  EXPECT_FALSE(Synthesizer::Create(DigitDataset{}, nullptr, o).ok());
  NEED_MNIST();
  auto s = Synthesizer::Create(MnistTest(), nullptr, o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  int bad = 0;
  for (int i = 0; i < 4; ++i) {
    auto p = (*s)->Make(i);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->form, std::string(kKpuPpwpPage2FormId));
    EXPECT_EQ(p->page, 2);
    EXPECT_EQ(p->values.size(), 3u);
    bool exceeds = false;
    for (const auto& [k, v] : p->values) exceeds = exceeds || v > p->voters;
    bool disagree = !p->bubble_values.empty();
    EXPECT_EQ(p->inconsistent, exceeds || disagree) << p->TruthJson().dump();
    bad += p->inconsistent;
  }
  (void)bad;
}

}  // namespace
}  // namespace rekap::reader
