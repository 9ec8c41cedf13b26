// rekap reader: reading a phone photo of a filled C.Hasil page, failing closed.
//
//   bytes -> bounded decode -> corner fiducials -> page identity (QR / page marker)
//         -> homography onto the layout's millimetre grid -> per number: three digit boxes
//            (CNN, top hypotheses) and three bubble columns (OMR, darkness against the paper)
//         -> per-number combination -> the most probable set of values that satisfies every
//            hard rule of the form (best-first search over the per-number hypotheses)
//         -> accepted, or review with typed reasons.
//
// Fail closed: a page is accepted only if it was found and identified, every hard rule of the
// form holds, and every number is confirmed by two independent channels: the digit boxes and
// the bubbles agree with high probability; or the value is the only one the hard rules allow
// given numbers already confirmed, and the clear bubbles (or very confident digit boxes) say
// the same, the bubbles never saying otherwise. Anything else is `review`, with reasons a human can act on. A photo that
// cannot be read at all (not an image, truncated, too large, no page) is also a Reading with
// status review and a typed reason, never a crash; only a bad ReadOptions is a Status error.
// See docs/reader.md.
//
// Thread-safety: ReadPage may be called concurrently (the DigitModel serializes its calls).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>

#include "reader/digits.h"
#include "reader/fast_digits.h"
#include "reader/layout.h"
#include "reader/tally.h"
#include "rekap/election.h"
#include "rekap/form.h"
#include "rekap/status.h"

namespace rekap::reader {

enum class FormKind {
  kOwn,          // the project's own printed C.Hasil (QR code, ArUco corners)
  kKpuPpwpPage2,  // page 2 of KPU's official C.HASIL-PPWP (no QR; caller names the TPS)
  kKpuPpwp        // pages 2 and 3 of KPU's C.HASIL-PPWP, read together (page 3's totals are
                  // checked against page 2's votes); each photo is identified by its AprilTag
};

// Both KPU kinds.
inline bool IsKpu(FormKind f) { return f == FormKind::kKpuPpwpPage2 || f == FormKind::kKpuPpwp; }
// The grain (Reading::grain) past which a form's digit boxes are smoothed before they are read,
// and a page in review is asked for again in better light (ReadOptions::grain_limit's 0).
inline double FormGrainLimit(FormKind f) { return IsKpu(f) ? 2.0 : 1.8; }

// Bounds on what a photo may be.
inline constexpr size_t kMaxPhotoBytes = size_t{50} << 20;     // 50 MiB
inline constexpr int64_t kMaxPhotoPixels = 60'000'000;         // 60 Mpx
// Photos read together as the pages of one TPS (ReadPages): a form of many pages with a retake
// of each fits; 500 photos of 50 MiB held at once would not (each is in memory until the
// reading is decided).
inline constexpr size_t kMaxPhotosPerTps = 32;
// A sequential (baseline) JPEG is decoded reduced, an eighth of its side at most (libjpeg's DCT
// scaling), row by row: a phone's 108 or 200 Mpx mode costs the reader no more memory than a
// 3 Mpx photo. A progressive JPEG holds every coefficient while it decodes, so it keeps the
// bound above.
inline constexpr int64_t kMaxSequentialJpegPixels = 250'000'000;  // 250 Mpx
inline constexpr int kMinPhotoSide = 200;                      // px, shorter side

struct ReadOptions {
  // The contest whose form is on the page; contest->form must be bound (Election::Resolve).
  const Contest* contest = nullptr;
  FormKind form = FormKind::kOwn;
  // The TPS the caller expects (13 digits). Optional for our own form (the QR names it; a
  // mismatch is `tps_mismatch`), required for the KPU page (it has no QR).
  std::string expected_tps;
  // Our form, with expected_tps set: a QR code too blurred to decode is compared module by
  // module with the codes printed for that TPS on each page (and with other TPSs' codes as
  // decoys); a clear match identifies the page (Reading::qr "matched"). Off: such a page goes to
  // review as qr_unreadable.
  bool qr_by_pattern = true;
  // Our form: a QR code the decoder could not read is read module by module through the page's
  // homography, against a blur model fitted on the patterns every code shares, and the clean
  // code decoded (its error correction and the payload's check value decide). Off: for
  // comparison.
  bool qr_by_modules = true;
  // Expected page (1-based) or 0 for any page of the form.
  int expected_page = 0;
  // KPU pages: the TPS's voters, the upper bound of one paslon's votes. 0 = the form's
  // param max_voters (300 in Pemilu 2024). Ignored for our own form (its rules carry it).
  int voters = 0;
  const DigitModel* model = nullptr;  // required
  // The same network on hand-vectorized kernels (fast_digits.h), many times faster; used when set.
  const FastDigitNet* fast = nullptr;
  // If set, an image per stage is written here (created if missing), named by `debug_name`.
  std::string debug_dir;
  std::string debug_name = "page";
  // Keep a PNG crop of every number (boxes and bubbles) for the human check.
  bool crops = false;
  // Keep the greyscale crop of every digit box (for the benchmark's Tesseract baseline).
  bool box_crops = false;
  // Keep the 28x28 image the CNN is given for every written box (FieldReading::box_input):
  // training data for `rekap train-digits --photo-pages`. With this set `model` may be null;
  // then no box is classified (box_digit stays -1).
  bool digit_inputs = false;

  // Acceptance thresholds (fail closed). A number is double-read when the digit boxes and the
  // bubbles give the same value, the CNN's probability of that value is >= min_ocr_probability,
  // and the combined probability is >= min_probability.
  double min_probability = 0.995;
  double min_ocr_probability = 0.30;
  // The bubbles read a number clearly and the boxes' best reading differs: accepted if the
  // boxes still give the bubbles' value at least this probability (an ambiguous digit).
  double min_support_probability = 0.2;
  // A number not double-read (bubbles empty or unclear) may still be accepted if the CNN alone
  // gives it with >= min_pinned_probability and a hard rule pins it to double-read numbers.
  double min_pinned_probability = 0.5;
  // A number whose bubbles confirm all digits but one (that row empty, or the digit among two
  // marks) may be accepted if the CNN reads that one digit's box as the same digit with
  // >= min_partial_probability (in a row with two or more marks: its probability among the
  // marked values), the CNN's reading of the whole number is that value with at least
  // min_ocr_probability (as for a number read twice throughout: the digits the bubbles do
  // confirm are read no more loosely than there), the combined probability of the value is
  // >= min_partial_combined, and the bubbles alone do not spell another complete number.
  // Two numbers each read once by the digit boxes (their CNN probability of the whole number
  // >= min_cross_probability, the bubbles, if any, not against) confirm each other when a hard
  // rule ties them: given the confirmed numbers, either one fixes the other.
  double min_cross_probability = 0.5;
  // ... unless the sheet shows that the CNN misreads this hand: some confirmed number's CNN
  // reading is not its value. Then a number read by its boxes alone needs this much to confirm
  // another, and no number is confirmed by the boxes' second reading while another number's
  // misread is known (decide.cc, "A misread known on the sheet"). More than 1 turns it off.
  double min_cross_probability_after_misread = 0.9;
  // A number without bubbles that the rules fix to a value its boxes give only as a second
  // reading (>= min_support_probability) is accepted when the values chosen are at least this
  // many times as probable as any other values that satisfy every hard rule.
  double min_runner_up_ratio = 20;
  bool accept_partial_bubbles = true;
  double min_partial_probability = 0.9995;
  double min_partial_combined = 0.9;
  // KPU page 2: a number whose bubbles lack a digit (a row empty or double-marked) is accepted
  // when its tally grid is read, the CNN reads the number as v (>= min_pinned_probability), and
  // v is the only value in the tally's range the bubbles do not exclude (tally.h).
  bool accept_tally = true;
  // ... and a page-2 number whose bubbles are all left empty is settled by its boxes and its
  // tally alone, as page 3's V.B is ("boxes+tally"): the two other copies on the sheet.
  bool tally_without_bubbles = true;
  // ... and a confirmed number whose tally, read, excludes it goes to review when the CNN gives
  // it less than this (decide.cc: a misread digit that matches the bubbles).
  double min_ocr_against_tally = 0.9;
  // Blurred photos. KPU pages: where no AprilTag is decoded, the quads the detector found but
  // could not decode are read again cell by cell (the best code by correlation, clearly ahead
  // of every other); and a page not found is searched again with the paper beside each printed
  // line sampled twice the blur measured at the tag's edges away. Our form: corner markers that
  // do not fit one homography within the usual tolerance are fitted within 1.5 times their
  // edges' blur, and a layout that does not fit is fitted again with the paper twice that blur
  // away. Off: as before 2026-12-05.
  bool blurred_search = true;
  // A page in review whose box borders look wider than this (mm; Reading::line_mm) gets the
  // reason photo_blurred (take the photo again), and no number on such a page is settled by the
  // boxes' second reading (docs/reader.md). 0 = the form's own limit: where, on synthetic
  // photos blurred more and more, most pages stopped being read (docs/reader.md, "Photo
  // sharpness"): 1.35 mm on our form, 1.9 mm on KPU's page.
  double blurred_line_mm = 0;
  // Bound on the constraint search: complete assignments checked.
  int max_search_states = 20000;
  // Digit boxes the CNN reads with less than this probability are read a second time from a
  // normalization that keeps the fainter stretches of the strokes; the two readings are
  // averaged. 0 = never.
  double second_look_below = 0.99;
  // A digit box judged empty at the normal ink contrast (40 of 255 below the paper) where the
  // number must hold a digit (after a written digit, or where its bubbles spell one) is looked
  // at again at this contrast: a light ballpoint or pencil stroke. 0 = never.
  int faint_contrast = 24;
  // ... and on a page written faintly, every box judged empty that shows ink at faint_contrast
  // is looked at so, a leading box too: where the median contrast (CentreContrast, 0..255 below
  // the paper) of the boxes read, at either contrast, is under this (a thin ballpoint or a
  // pencil). A page with no box read is not (a blank printed page: its guide's dots). A faint
  // leading 1 of 123 bubbled 23 is then read, and the number disagrees with its bubbles;
  // unread, the boxes said 23 and agreed. On pages written with a marker the guide's dots and
  // JPEG noise show ink at 24 in some blank boxes (22 on validation seed 9's 1,000 KPU pages),
  // and are left alone. 0 = never (only where the number needs a digit, as above).
  double faint_page_contrast = 100;
  // A page whose digit boxes show more grain than this (Reading::grain) has them smoothed before
  // their digits are read (NormalizeOptions::grain_limit). 0 = the form's (FormGrainLimit): 1.8
  // on our form, 2.0 on KPU's pages (whose page 3, read without bubbles, shows up to 2.4 on
  // usual photos); < 0 = never. A page past it that still goes to review gets the reason
  // photo_dark (take the photo again in better light); past the form's limit when this is < 0.
  double grain_limit = 0;
  // Digits written past their box's border (into the margin or the next box) are read from
  // the ink that belongs to the box, found across the borders, instead of from the box's
  // interior alone (Reading::spilled_boxes). false = never (for comparison).
  bool spill = true;
  // A page that fills under 60 % of a large photo's longer side is read from the photo decoded
  // again, less reduced (Reading::decoded_finer; ReadPage and ReadPages from encoded bytes).
  // false = never (for comparison).
  bool finer_decode = true;
  // On a page that does not lie flat, a number's digit boxes are read where their printed
  // borders are seen, when that is clearly a few mm from where the page's alignment puts them
  // (Reading::boxes_moved). false = never (for comparison).
  bool box_borders = true;
  // On a page that does not lie flat, a bubble row read unclear (or with two marks) is read
  // again where its printed outlines are, when that is clearly within 1 mm of where the
  // alignment puts it (Reading::rows_moved). false = never (for comparison).
  bool bubble_rows = true;
  // A page that does not lie flat, and whose numbers do not all fit where the homography through
  // its corner marks and their own small offsets put them, is registered against the drawing of
  // its print, patch by patch (register.h), and its numbers searched for again through that
  // field (Reading::bend_mm). false = never (for comparison).
  bool print_field = true;
  // Hypotheses kept per number for the search.
  int hypotheses = 8;
};

// One typed reason for review. `code` is one of the strings below; the other members are
// set where they apply.
struct Reason {
  std::string code;
  std::string field;   // low_confidence, ocr_omr_disagree, bubble_double_marked, ...
  std::string rule;    // rule_broken
  double p = -1;       // low_confidence: the probability
  std::string detail;  // human-readable, bilingual where possible
  bool operator==(const Reason&) const = default;
};

namespace reason {
inline constexpr char kPageNotFound[] = "page_not_found";
inline constexpr char kMarkerMismatch[] = "marker_mismatch";
inline constexpr char kTpsMismatch[] = "tps_mismatch";
inline constexpr char kTpsUnknown[] = "tps_unknown";
inline constexpr char kWrongPage[] = "wrong_page";
inline constexpr char kPageMissing[] = "page_missing";
inline constexpr char kQrUnreadable[] = "qr_unreadable";
inline constexpr char kImageUnreadable[] = "image_unreadable";
inline constexpr char kImageTooLarge[] = "image_too_large";
inline constexpr char kImageTooSmall[] = "image_too_small";
inline constexpr char kLowConfidence[] = "low_confidence";
inline constexpr char kOcrOmrDisagree[] = "ocr_omr_disagree";
inline constexpr char kRuleBroken[] = "rule_broken";
inline constexpr char kBubbleDoubleMarked[] = "bubble_double_marked";
inline constexpr char kBubbleEmpty[] = "bubble_empty";
inline constexpr char kNoSolution[] = "no_solution";
inline constexpr char kFieldBlank[] = "field_blank";
inline constexpr char kUnconfirmed[] = "unconfirmed";  // read once (no bubbles), no rule confirms it
// KPU page 2: the tally excludes a number its boxes and bubbles gave, and the CNN is unsure of it
inline constexpr char kTallyDisagrees[] = "tally_disagrees";
// A page in review whose photo is too blurred to read reliably: take it again (only beside the
// reasons that keep it in review; never on an accepted page)
inline constexpr char kPhotoBlurred[] = "photo_blurred";
// A page in review whose photo is dark and grainy (Reading::grain past the form's limit): take it
// again in better light (as photo_blurred: only beside the reasons that keep it in review)
inline constexpr char kPhotoDark[] = "photo_dark";
// KPU's page has no TPS on it (the caller names it): a photo holding two sheets of the same
// page (two TPS's, side by side on a wall or a table) cannot say which is the named TPS's, and
// the one read (the larger tag found first) is only a guess. Our form: another sheet that may be
// the same TPS's same page (its QR the same, or unread also from the photo decoded finer; a
// sheet partly in the photo): two versions of one count. Sheets whose QR names another TPS are
// not a reason (with the expected TPS, its sheet is read), nor are sheets of the same TPS's
// other pages (read too). Where the one other sheet is known to be this page and both are
// accepted with every number the same, the page is accepted (Reading::copies).
inline constexpr char kSeveralSheets[] = "several_sheets";
// Beside `several_sheets`: the photo's two sheets of one page (a copy, or another version of
// the count) are each read well enough to be accepted, and these numbers differ between them
// (detail: "berbeda / differ: field: first / other; ..."). Where every number is the same the page is accepted
// (Reading::copies).
inline constexpr char kCopiesDisagree[] = "copies_disagree";
}  // namespace reason

// How our form's QR code was read (Reading::qr, `"qr"` in ToJson).
namespace qr {
inline constexpr char kDecoded[] = "decoded";
inline constexpr char kMatched[] = "matched";  // not decoded; its modules match the expected TPS's code
inline constexpr char kUnreadable[] = "unreadable";
}  // namespace qr

// Where Reading::tps comes from (Reading::tps_from, `"tps_from"` in ToJson; "" is unknown, null).
namespace tps_from {
inline constexpr char kQr[] = "qr";          // a page's QR code, decoded or matched
inline constexpr char kCaller[] = "caller";  // only the expected TPS, ReadOptions::expected_tps
}  // namespace tps_from

// Warning (Reading::warnings, rule_id) when a number confirmed by its boxes and bubbles lies
// outside the counts its tally grid allows (KPU page 2).
inline constexpr char kTallyWarning[] = "turus_sesuai_angka";

// One candidate value of a number with its probability (digit boxes x bubbles, normalized
// over 0..max_value).
struct Hypothesis {
  Value value = 0;
  double p = 0;
};

// What was seen for one number.
struct FieldReading {
  std::string field;
  int page = 0;                 // page of the form it was read from (0: not read)
  Value value = kMissing;       // chosen (rules applied); kMissing = not read
  Value ocr = kMissing;         // digit boxes alone (CNN); kMissing = unreadable / blank
  Value omr = kMissing;         // bubbles alone; kMissing = empty or unclear column
  double confidence = 0;        // combined probability of `value`
  double ocr_p = 0;             // the CNN's probability of `ocr`
  double ocr_p_of_omr = 0;      // the CNN's probability of `omr` (0 if omr is missing)
  bool double_marked = false;   // some bubble column has more than one mark
  bool has_bubbles = true;      // false: the number has no bubbles (KPU page 3), `omr` unused
  bool verified = false;        // confirmed by two independent channels (see above)
  std::string confirmed_by;     // "boxes+bubbles", "bubbles+rules", "boxes+rules", ...
  std::vector<Hypothesis> hypotheses;  // combined, most probable first
  // Per digit box ([0] hundreds .. [2] ones): the CNN's digit, or -1 for an empty box, and
  // its probability; the bubble row's single clear mark or -1.
  std::array<int, 3> box_digit{-1, -1, -1};
  std::array<float, 3> box_p{};
  std::array<std::array<float, 10>, 3> box_prob{};  // the CNN's probabilities per box
  std::array<int, 3> row_mark{-1, -1, -1};
  // Per bubble row and value: mean darkness and ink share inside the bubble (diagnostics).
  std::array<std::array<float, 10>, 3> bubble_dark{}, bubble_ink{};
  // KPU page 2: the paslon's tally grid, read coarsely (tally.h); unset without a grid.
  std::optional<TallyReading> tally;
  std::vector<uint8_t> crop_png;       // if ReadOptions::crops: boxes and bubbles, PNG
  std::array<cv::Mat, 3> box_crops;    // if ReadOptions::box_crops: the box interiors
  std::array<std::optional<Image28>, 3> box_input;  // if ReadOptions::digit_inputs
};

// The reading of one TPS's form (one photo, or several photos of its pages).
struct Reading {
  bool accepted = false;       // status "accepted"; else "review"
  std::string form;            // form id (schema id, or kKpuPpwpPage2FormId)
  int page = 0;                // the page read (first page if several)
  std::vector<int> pages;      // every page read
  // Pages whose every number is confirmed (all of `pages` when accepted): with KPU's pages 2 and
  // 3, page 2's votes can be published while page 3's totals wait for review.
  std::vector<int> pages_confirmed;
  std::string tps;             // from the QR, else the expected TPS; "" if unknown
  // Where `tps` comes from: tps_from::kQr (a page's QR code, decoded or matched with the
  // expected TPS's), tps_from::kCaller (only the expected TPS, ReadOptions::expected_tps: KPU's
  // pages carry no QR code, and our form's may be unreadable), "" (unknown).
  std::string tps_from;
  bool page_found = false;     // every photo: fiducials found and the page identified
  std::vector<FieldReading> fields;  // every field of the pages read, in form order
  std::vector<Reason> reasons;       // empty iff accepted
  std::vector<RuleFailure> warnings; // failed plausibility rules (do not block)
  int search_states = 0;             // assignments checked by the constraint search
  // How sharp each page's photo is: the apparent width (mm) of its printed digit-box borders
  // (the median of its upright borders or of its level ones, the wider: a shaken camera widens
  // only the borders across its motion; a sharp photo shows them about as printed: 0.5 mm on
  // our form, 0.89 mm on KPU's). Per page read; see ReadOptions::blurred_line_mm.
  std::map<int, double> line_mm;
  // How grainy each page's photo is: the median grain of its digit boxes (CropGrain, the
  // standard deviation of the paper's pixel-to-pixel noise, 0..255 below the paper; usual photos
  // about 0.5-2.5, small ones taken in dim light 2-6 and more). Above ReadOptions::grain_limit
  // the boxes are smoothed before their digits are read. Per page read.
  std::map<int, double> grain;
  // Per page read: the digit boxes read from ink that crosses their borders (ReadOptions::spill).
  std::map<int, int> spilled_boxes;
  // Per page read from its photo decoded a second time, finer (the page filled too little of a
  // large photo for the usual reduction while decoding): by what factor (2, 4 or 8).
  std::map<int, int> decoded_finer;
  // Per page read: the numbers whose digit boxes were read where their printed borders are,
  // a few mm from where the page's alignment put them (a page that does not lie flat).
  std::map<int, int> boxes_moved;
  // Per page read: the bubble rows read again where their printed outlines are
  // (ReadOptions::bubble_rows; a page that does not lie flat).
  std::map<int, int> rows_moved;
  // Per page registered through the field of its print (ReadOptions::print_field): the largest
  // displacement that field found against the corner marks' plane, mm.
  std::map<int, double> bend_mm;
  // Fields of the print computed for the photos' homographies tried, whether used or not (each
  // 0.1-0.2 s of CPU; at most 26 a photo): what a page that does not lie flat, or a corner
  // covered, cost the reader.
  int print_fields = 0;
  // Our form: how each page's QR code was read: "decoded"; "matched" (too blurred to decode, but
  // its modules match the code printed for the expected TPS on that page, ReadOptions::
  // qr_by_pattern); "unreadable" (the page then has no number unless the form has one page).
  std::map<int, std::string> qr;
  // Per page read from two sheets of it in one photo (a witness's copy beside the KPPS's sheet),
  // both accepted with every number the same: 2. Such a page is accepted; had the two differed,
  // it would be in review (`several_sheets`, `copies_disagree`).
  std::map<int, int> copies;
  double ms = 0;                     // wall time of the read
  double cpu_ms = 0;                 // CPU time of the reading thread

  const FieldReading* Find(std::string_view field) const;
  bool HasReason(std::string_view code) const;
  const char* status() const { return accepted ? "accepted" : "review"; }
};

// Reads one photo (encoded bytes: JPEG, PNG or HEIF/HEIC). Non-OK only for unusable options.
Result<Reading> ReadPage(std::span<const uint8_t> photo, const ReadOptions& options);
// Reads an already decoded photo (8-bit, 1, 3 or 4 channels).
Result<Reading> ReadPage(const cv::Mat& photo, const ReadOptions& options);
// Reads the photos of the pages of one TPS together: fields from every page, rules checked
// across pages. A page missing from a multi-page form, or a duplicate page, is a reason. More
// than kMaxPhotosPerTps photos: INVALID_ARGUMENT.
Result<Reading> ReadPages(std::span<const std::vector<uint8_t>> photos,
                          const ReadOptions& options);

// `{"status", "form", "page", "tps", "fields": {id: {value, ocr, omr, confidence}},
//   "reasons": [{"code", ...}]}` plus "pages", "warnings", "ms".
nlohmann::json ToJson(const Reading& r);
nlohmann::json ToJson(const Reason& r);

// What a reason code (reason::k*) means for the person checking the page, Indonesian first then
// English ("Bahasa / English"); "" for a code it does not know. `rekap read` prints it beside
// each reason and ToJson(Reason) writes it as "message".
std::string ReasonMessage(const std::string& code);

// ---------------------------------------------------------------------------------------------
// Lower-level pieces, exposed for the benchmark and tests.

// Dimensions read from a JPEG, PNG or HEIF header without decoding; nullopt if none / malformed.
struct ImageHeader {
  // kHeif: HEIF (HEIC, as an iPhone's camera writes it, or AVIF), read with libheif; its size
  // is the primary image's, from the container (nothing is decoded).
  enum class Type { kJpeg, kPng, kHeif } type = Type::kJpeg;
  int width = 0, height = 0;
  bool progressive = false;  // JPEG: a progressive frame (SOF2, or SOF10 arithmetic-coded)
  uint8_t jpeg_frame = 0;    // JPEG: the frame's marker, 0xC0 (SOF0) to 0xCF (SOF15)
  int jpeg_bits = 8;         // JPEG: the sample precision (12 in some medical and raw tools)
};
std::optional<ImageHeader> ParseImageHeader(std::span<const uint8_t> bytes);

// The share of layout `L`'s printed features (digit box edges, bubbles) that homography `H`
// (page mm -> px of `gray`, an 8-bit photo) puts on printed lines. With `aligned`, a page that
// fits under 0.7 as a whole is aligned number by number, as the reader aligns a page that does
// not lie flat, and the rules beside each number's boxes must then fit too; `print_field`: also
// through the field of its print (ReadOptions::print_field). `centres`, when given and the page
// was aligned number by number: where the alignment puts each number's first digit box's centre
// (px of `gray`); else empty.
double LayoutFitOf(const cv::Mat& gray, const cv::Matx33d& H, const PageLayout& L, bool aligned,
                   bool print_field = true, std::vector<cv::Point2d>* centres = nullptr);

}  // namespace rekap::reader
