// rekap reader: the geometry of a printed C.Hasil page, as data.
//
// A PageLayout says where everything sits on one page of a tally sheet: the corner
// fiducials, the QR code (our own form only), and for every number its three handwritten
// digit boxes and its three sets of ten OMR bubbles. The renderer (render.h) draws a page
// from it, the synthesiser (synth.h) fills it, and the reader rectifies a photo onto it.
//
// Conventions (every consumer relies on these):
//  * Units are millimetres; the origin is the top-left corner of the page; x grows to the
//    right, y grows downwards. A pixel at `dpi` is mm * dpi / 25.4 (see MmToPx).
//  * A Rect is axis-aligned: (x, y) its top-left corner, w and h its size.
//  * Fiducials are listed in the order top-left, top-right, bottom-right, bottom-left. Their
//    `box` is the marker's outer black square (for ArUco/AprilTag: the black border included,
//    the white quiet zone around it excluded). Corner i of a marker as OpenCV's detector
//    reports it (TL, TR, BR, BL of the marker's own upright orientation) is the corner i of
//    `box`: the markers are printed upright.
//  * Digit positions are indexed 0 = hundreds (ratusan), 1 = tens (puluhan), 2 = ones
//    (satuan). bubbles[pos][v] is the square bounding the printed circle for value v at
//    position pos; the circle's diameter is the square's side.
//  * Our own form (LayoutOwnPage) uses ArUco DICT_4X4_50 markers with ids 0 (TL), 1 (TR),
//    2 (BR), 3 (BL) on every page, and a QR code holding FormatQrPayload(...).
//  * The official KPU page 2 (KpuPpwpPage2Layout) has no QR; its four corner fiducials are
//    identical 2x2 checkers (kKpuChecker) and its page marker is AprilTag tag36h10 id 102,
//    printed rotated by 180 degrees (see docs/forms.md).
//
// Everything here is deterministic and allocation-light; FromJson never trusts its input.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rekap/election.h"
#include "rekap/form.h"
#include "rekap/status.h"

namespace rekap::reader {

struct Rect {
  double x = 0, y = 0, w = 0, h = 0;  // mm, top-left corner and size
  double cx() const { return x + w / 2; }
  double cy() const { return y + h / 2; }
  double right() const { return x + w; }
  double bottom() const { return y + h; }
  // True iff the interiors overlap (touching edges do not count).
  bool Intersects(const Rect& o) const {
    return x < o.x + o.w && o.x < x + w && y < o.y + o.h && o.y < y + h;
  }
  // True iff `o` lies inside this rectangle (edges may touch).
  bool Contains(const Rect& o) const {
    return o.x >= x && o.y >= y && o.x + o.w <= x + w && o.y + o.h <= y + h;
  }
  bool operator==(const Rect&) const = default;
};

// Fiducial dictionaries (the `dictionary` string of a Fiducial).
inline constexpr std::string_view kArucoDict4x4_50 = "aruco_4x4_50";      // cv::aruco::DICT_4X4_50
inline constexpr std::string_view kAprilTag36h11 = "apriltag_36h11";     // cv::aruco::DICT_APRILTAG_36h11
// The KPU C.HASIL-PPWP tags (ids 101, 102, 103 on pages 1, 2, 3) are tag36h10, not 36h11.
inline constexpr std::string_view kAprilTag36h10 = "apriltag_36h10";     // cv::aruco::DICT_APRILTAG_36h10
inline constexpr std::string_view kPlainSquare = "square";               // a solid black square, no id
// KPU's corner mark: a 2x2 checker in `box`, top-left and bottom-right quarters black, the
// other two white (the same mark at all four corners, so it does not tell the orientation).
inline constexpr std::string_view kKpuChecker = "kpu_checker";

struct Fiducial {
  std::string dictionary{kArucoDict4x4_50};  // one of the k* strings above
  int marker_id = -1;                        // id in the dictionary; -1 without an id
  Rect box;                                  // the marker's outer black square, mm
  // Clockwise rotation of the printed marker from upright: 0, 90, 180 or 270. Corner i of
  // the marker as OpenCV reports it (i = 0..3: the marker's own TL, TR, BR, BL) lies at corner
  // (i + rotation_deg / 90) % 4 of `box` (in the order TL, TR, BR, BL of the page). Our own
  // markers: 0. The KPU AprilTag: 180.
  int rotation_deg = 0;
  bool operator==(const Fiducial&) const = default;
};

// A decorative outlined rectangle (table cells, rules): drawn, never read. A rectangle with
// w == 0 or h == 0 is a straight line.
struct Frame {
  Rect box;
  double line_mm = 0.3;  // stroke width; the stroke is centred on the rectangle's edges
  double gray = 0.0;     // 0 black .. 1 white
  bool operator==(const Frame&) const = default;
};

// A line of text printed on the page. `text` may contain placeholders that the renderer
// fills from RenderInput: {tps}, {region}, {provinsi}, {kabkota}, {kecamatan}, {desa}.
struct TextItem {
  std::string key;        // what it is: "title", "contest", "tps", "region", "page", ...
  std::string text;       // UTF-8
  Rect box;               // where it is drawn; baseline near the bottom of the box
  double size_mm = 3.5;   // font size (em height) in mm
  bool bold = false;
  bool italic = false;
  int align = 0;          // 0: left edge at box.x; 1: centred in box; 2: right edge at box.right()
  bool operator==(const TextItem&) const = default;
};

// A tally grid ("rincian perolehan suara", KPU page 2): `rows` x `cols` equal cells in `box`,
// filled in reading order (row by row, left to right), each cell with one tally group of
// `per_cell` strokes (turus: four upright and one across). Its 60 cells of 5 hold 300 votes,
// the 2024 TPS maximum. A third, coarse reading of the number: n cells with ink say
// 5(n-1)+1 .. 5n.
struct TallyGrid {
  Rect box;
  int rows = 0, cols = 0;
  int per_cell = 5;
  int cells() const { return rows * cols; }
  // Cell i (0-based, reading order).
  Rect Cell(int i) const {
    const double w = box.w / cols, h = box.h / rows;
    return {box.x + (i % cols) * w, box.y + (i / cols) * h, w, h};
  }
  bool operator==(const TallyGrid&) const = default;
};

// KPU's printed "8-segment" guide in every digit box of page 2 (NumberLayout::segment_guides):
// light grey square dots, the same in every box. Measured from page 2 of KPU's C.HASIL-PPWP PDF
// rasterized at 600 dpi (render.cc, DrawSegmentGuide).
inline constexpr double kSegmentGuideDotMm = 0.7;  // side of a square dot
inline constexpr double kSegmentGuideGray = 0.8;   // 204/255
struct GuideDot {
  double x = 0, y = 0;  // mm from the box's centre
};
// The 33 dots: 5 columns 2.065 mm apart by 9 rows 1.659 mm apart about the box's centre, all
// five columns on the top, middle and bottom rows, the outer and middle columns on the others.
const std::vector<GuideDot>& SegmentGuideDots();

// One number on the page (one field of the form).
struct NumberLayout {
  std::string field;      // field id, e.g. "dpt_l", "suara_2"
  Text label;             // the field's label (Indonesian, English) from the schema
  std::string section;    // e.g. "I.A", "IV"
  std::string sublabel;   // extra line under the label (the candidate's name), may be empty
  Rect label_box;         // where the label is printed; empty (w or h 0): not printed (the
                          // KPU page prints its own texts, see PageLayout::texts)
  std::array<Rect, 3> digit_boxes{};                  // [0] hundreds, [1] tens, [2] ones
  std::array<std::array<Rect, 10>, 3> bubbles{};      // [digit position][value 0..9]
  bool has_bubbles = true;      // false: digit boxes only (KPU page 3); `bubbles` unused
  bool segment_guides = false;  // digit boxes carry printed 8-segment guides (KPU form)
  // Width of the digit boxes' printed border, which lies inside digit_boxes[i] along its edges
  // (the rect is the border's outer edge). Crop at least this much inside to avoid the border.
  double box_line_mm = 0.5;
  int max_value = 999;
  std::optional<TallyGrid> tally;  // KPU page 2: the paslon's tally grid; not in Bounds()
  // Bounding box of everything above (label, boxes, bubbles).
  Rect Bounds() const;
  bool operator==(const NumberLayout& o) const;
};

struct PageLayout {
  std::string form_id;    // our own form: the schema id ("C.HASIL-PPWP-2024");
                          // KPU page 2: "C.HASIL-PPWP-KPU-2024"
  int version = 1;        // layout/form version (ours: the schema version)
  std::string contest;    // contest id ("ppwp"); may be empty for the KPU page
  int page = 1;           // 1-based page of the form
  int pages = 1;          // pages of the form
  double width_mm = 0, height_mm = 0;
  std::vector<Fiducial> fiducials;          // 4 corners: TL, TR, BR, BL
  std::optional<Fiducial> page_marker;      // e.g. the AprilTag 102 of the KPU page 2
  std::optional<Rect> qr;                   // the QR code's square (quiet zone excluded)
  std::vector<NumberLayout> numbers;        // in form order
  std::vector<TextItem> texts;              // header and labels other than the numbers'
  std::vector<Frame> frames;                // decoration (never read)
  bool operator==(const PageLayout&) const = default;

  // The number for `field`, or nullptr.
  const NumberLayout* Find(std::string_view field) const;
};

// ---------------------------------------------------------------------------------------------
// Our own form

// Page size of our own form: A3 portrait (297 x 420 mm).
inline constexpr double kOwnPageWidthMm = 297.0;
inline constexpr double kOwnPageHeightMm = 420.0;
// Side of the corner ArUco markers and their ids (TL, TR, BR, BL).
inline constexpr double kOwnMarkerMm = 16.0;
inline constexpr std::array<int, 4> kOwnMarkerIds = {0, 1, 2, 3};
// Candidates guaranteed to fit on page 1 together with every other field of the schema.
inline constexpr int kOwnOnePageCandidates = 6;

// Number of pages of our own form for `form`: 1 while every field fits on one page (always
// for up to kOwnOnePageCandidates candidates); else page 1 holds every non-candidate field and
// the candidate votes continue on pages 2.. .
int OwnPageCount(const Form& form);

// The layout of page `page` (1-based) of our own form for a contest. Deterministic: the same
// form, contest and page give the same layout. Fails for a page out of range or a form whose
// fields cannot be laid out.
Result<PageLayout> LayoutOwnPage(const Form& form, const Contest& contest, int page);

// Fields (ids) printed on `page` of our own form, in form order.
std::vector<std::string> OwnPageFields(const Form& form, int page);

// ---------------------------------------------------------------------------------------------
// The official KPU C.HASIL-PPWP pages 2 (votes per paslon) and 3 (totals), 600 x 900 mm.

inline constexpr std::string_view kKpuPpwpPage2FormId = "C.HASIL-PPWP-KPU-2024";
// The shipped layout data/forms/kpu-ppwp-2024-page2.json (compiled into the library).
Result<PageLayout> KpuPpwpPage2Layout();
// Page 3 (totals V.A valid, V.B invalid, V.C both; plain digit boxes, no bubbles), AprilTag
// 36h10 id 103 at the same place as page 2's: data/forms/kpu-ppwp-2024-page3.json.
Result<PageLayout> KpuPpwpPage3Layout();

// ---------------------------------------------------------------------------------------------
// JSON (the format of `rekap forms layout --json` and data/forms/*.json; docs/forms.md)

nlohmann::json ToJson(const PageLayout& layout);
// Validates everything: types, finite non-negative sizes, every rect inside the page, four
// fiducials, known dictionaries, bounded counts and string lengths. Never throws.
Result<PageLayout> FromJson(const nlohmann::json& j);
Result<PageLayout> ParseLayoutJson(std::string_view text);
Result<PageLayout> LoadLayoutFile(const std::string& path);

// ---------------------------------------------------------------------------------------------
// QR payload of our own form:
//   REKAP1|<form id>|<version>|<contest>|<tps>|<page>/<pages>|<check>
// e.g. "REKAP1|C.HASIL-PPWP-2024|1|ppwp|3171010001001|1/1|9f3a5c21", where <check> is the
// first 8 lowercase hex digits of SHA-256 over everything before the last '|' (that '|'
// excluded). Fields: form id [A-Za-z0-9._-]{1,64}, version 1..9999, contest [a-z0-9_-]{1,32},
// tps 13 digits, 1 <= page <= pages <= 99.

struct QrPayload {
  std::string form_id;
  int version = 1;
  std::string contest;
  std::string tps;
  int page = 1;
  int pages = 1;
  bool operator==(const QrPayload&) const = default;
};

std::string FormatQrPayload(const QrPayload& p);
// Fails (INVALID_ARGUMENT) for anything malformed or a wrong check value.
Result<QrPayload> ParseQrPayload(std::string_view text);

// mm -> px at `dpi`.
inline double MmToPx(double mm, double dpi) { return mm * dpi / 25.4; }

}  // namespace rekap::reader
