// rekap reader: synthetic photos of filled C.Hasil pages, with their ground truth.
//
// `rekap forms synth` and the reader benchmark use this. Each page is made from a seed and its
// index alone (so pages can be made in any order, or in parallel, reproducibly):
//  1. choose the values: random but consistent results that satisfy every hard rule of the
//     form (our own form: Form::Validate with no error; the KPU page 2: every paslon within
//     the TPS's voters); a small share (inconsistent_rate) deliberately breaks a rule;
//  2. render the page (render.h) at px_per_mm;
//  3. write every digit as a handwritten sample from the given IDX set (leading zeros in half
//     of the numbers: "058", else blank leading boxes: " 58"), ink of pencil, black or blue
//     marker or ballpoint;
//  4. shade the matching bubbles: full or partial fills, scribbles, ticks; rarely one left
//     empty or a second bubble marked; stray marks; on KPU's page 2 the tally strokes;
//  5. "photograph" it: perspective up to max_tilt_deg, any rotation, 1000-4000 px wide,
//     background around the page, uneven light and shadow, blur, noise, JPEG quality 50-90.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "reader/idx.h"
#include "reader/layout.h"
#include "rekap/election.h"
#include "rekap/status.h"

namespace rekap::reader {

// kKpuPpwp: KPU's pages 2 and 3 of one sheet (page 3 holds the totals of page 2's votes), as
// consecutive pages 2k (page 2) and 2k + 1 (page 3).
enum class SynthForm { kOwn, kKpuPpwpPage2, kKpuPpwp };

// "own" / "kpu-ppwp-2" / "kpu-ppwp" <-> SynthForm.
Result<SynthForm> ParseSynthForm(std::string_view name);
std::string_view SynthFormName(SynthForm f);

// How a synthetic photo is encoded: JPEG, or HEIF as an iPhone's camera saves it (HEIC: HEVC)
// or as AVIF (AV1).
enum class PhotoFormat { kJpeg, kHeic, kAvif };
// "jpeg" / "heic" / "avif" <-> PhotoFormat.
Result<PhotoFormat> ParsePhotoFormat(std::string_view name);
std::string_view PhotoFormatName(PhotoFormat f);

// `img` (8-bit BGR or grey) as a HEIF file (kHeic or kAvif) at `quality` (1-100), by libheif's
// encoders at their fastest settings (x265 "ultrafast", aom speed 9: the reader needs the
// format, not the best compression). With `ten_bit`, its grey as 10-bit luma (YCbCr 4:2:0,
// neutral chroma), as a phone's HDR photo holds it.
Result<std::vector<uint8_t>> EncodeHeif(const cv::Mat& img, PhotoFormat format, int quality,
                                        bool ten_bit = false);

struct SynthOptions {
  SynthForm form = SynthForm::kOwn;
  uint32_t seed = 1;
  double inconsistent_rate = 0.03;  // share of pages with a deliberately wrong value
  int min_width = 1000, max_width = 4000;  // output photo width, px (uniform)
  double max_tilt_deg = 25;         // camera tilt (perspective), degrees
  // How much of the frame's width the page fills (uniform); the rest is the table around it.
  double min_fill = 0.72, max_fill = 0.95;
  double px_per_mm = 0;             // render resolution; 0: 6.5 (own form), 3.2 (KPU page)
  int min_jpeg_quality = 50, max_jpeg_quality = 90;  // the encoder's quality, whatever the format
  PhotoFormat format = PhotoFormat::kJpeg;
  double double_mark_rate = 0.01;   // per number: a second bubble marked in one position
  double missing_mark_rate = 0.01;  // per number: one position's bubble left empty
  // Per number: no bubble marked at all, as by a KPPS who wrote the digits and skipped the
  // bubbles (a number whose digits and bubbles deliberately disagree keeps its marks). The coin
  // is drawn from a stream of its own; 0 (the default) draws the page exactly as before.
  double unbubbled_rate = 0;
  double stray_mark_rate = 0.3;     // per page: chance of a few stray pen marks
  // KPU page 2: fill each paslon's tally grid (groups of five strokes, one per cell) with the
  // count the boxes say (where boxes and bubbles deliberately disagree, either's, at random).
  // Drawn from a random stream of its own, so the rest of the page is the same with or without
  // it.
  bool tally = true;
  double tally_slip_rate = 0.02;    // per tally: a cell skipped, or the count off by 1-3
  bool photograph = true;           // false: the clean filled scan (for debugging and tests)
  // "Other hands": every digit written is first re-drawn by a strong random distortion
  // (rotation up to 20 degrees, shear up to 0.45, scale 0.8-1.2, elastic distortion on 70 %,
  // thicker or thinner strokes on half) scaled by this strength (0 = off, 1 = the above; at 1
  // the CNN reads about 90 % of the boxes instead of 99.5 %). For stress tests of the
  // reader's fail-closed rules on handwriting unlike its training data. Drawn from a stream of
  // its own per page, so the rest of the page is the same with or without it.
  double restyle = 0;
  // A page that does not lie flat (a fold, a curl, a bulge), in mm: before the camera's
  // perspective, every point of the page is moved by a smooth random field (a 4 x 4 grid of
  // displacements, bicubic between them) whose largest displacement is this many mm, so a
  // single homography no longer fits the whole page. 0 = flat. Drawn from a stream of its own
  // per page, so the rest of the page is the same with or without it.
  double bend_mm = 0;
  // A page that was folded and opened again (KPU's 60 x 90 cm plano travels folded), how many
  // creases (0-3): each a straight line across the page, near upright or level, at 25-75 % of
  // its width or height. The panel beyond a crease stays tilted by 3-10 degrees, so the camera
  // sees it shortened toward the crease (by up to 1.5 % of its length, a few mm on the plano),
  // a little lighter or darker, and the crease itself as a thin dark line with a light edge.
  // Before the camera's perspective, like bend_mm; from a stream of its own per page.
  int folds = 0;
  // Something over one corner of the page (a thumb, a weight holding the sheet down, a corner
  // out of the frame): a dark disc of 8-12 % of the page's diagonal centred on a random page
  // corner, hiding that corner's marker (and on KPU's page 2 the AprilTag, when it is that
  // corner's). Before the camera, from a stream of its own per page.
  bool cover_corner = false;
  // Digits written along the box's dotted 8-segment guide, the way KPU's boxes ask for
  // (straight strokes between the guide's corners, as on a seven-segment display, with a
  // hand's jitter, slant and rounded corners): the share of the written digits in boxes that
  // carry a guide (KPU page 2) drawn so instead of from the IDX set. 0 = none. From a stream of
  // its own per page; such a box's `samples` entry is -2.
  double segment_style = 0;
  // Pen strokes: the share of pages whose digits are redrawn along their centre lines at the
  // width of the page's pen (a ballpoint 0.3-0.6 mm, a pencil 0.35-0.5 mm, a marker 0.5-1 mm)
  // instead of the MNIST sample's own stroke, which at a box's size is about 1 mm. A thin
  // ballpoint or pencil digit is then one or two pixels wide in a small photo. 0 = none. From a
  // stream of its own per page, so the rest of the page is the same with or without it.
  double pen_strokes = 0;
  // With pen strokes: where the sample's strokes ran together into a solid area (a small loop
  // closed by MNIST's thick stroke, a blob where a stroke starts), the pen draws around the area
  // instead of along its centre line, which is only a stub there and loses what made the digit
  // (a 3's upper arc, a 2's loop). Off by default: the networks' recorded training recipes
  // harvested their thin-pen photos without it, and the tests' thin-pen pages were chosen so.
  bool pen_outline_areas = false;
  // The camera's blur (focus, shake) times this: 1 = the usual range (a Gaussian of 0.2-1.4 px
  // at 2,000 px, scaled with the photo's width). For stress tests of photos too blurred to read
  // (docs/reader.md, "Photo sharpness"). The same random draws, so at 1 the photos are as before.
  double blur_scale = 1;
  // Camera shake: a straight motion blur of up to this many photo pixels per 2,000 px of the
  // photo's width (the length drawn per page from half of it to all of it, the direction at
  // random), on top of the focus blur above. A phone held by hand at the end of counting, in a
  // dim room, smears every stroke along one direction: lines across it blur, lines along it stay
  // sharp. 0 = none. From a stream of its own per page, so the rest of the photo is the same.
  double shake = 0;
  // Digits too big for their box: the share of written digits drawn 0.85-1.2 times the height
  // of the box's inside, up to 1.1 times its width, and off-centre by up to 15 % of it, so their
  // strokes reach the printed border or cross it, into the margin or the next box, as a hurried
  // hand's do. 0 = none. From a stream of its own per page, so the rest of the page is the same
  // with or without it.
  double spill = 0;
  // The share of the written 1s given a flag (and on a third of them a base), as most
  // Indonesian hands write a 1 (FlagOne: 0.15-0.4 of the height long, 25-65 degrees below the
  // horizontal). MNIST's 1s are mostly a bare upright. 0 = none. From a stream of its own per
  // page, so the rest of the page is the same with or without it.
  double flagged_ones = 0;
  // The share of the written 7s given a bar across the stem, as many Indonesian hands write a 7
  // (CrossSeven: 0.25-0.6 of the height long, at 0.4-0.65 of it from the top, tilted -5..15
  // degrees). MNIST's 7s are mostly bare. 0 = none. From a stream of its own per page.
  double crossed_sevens = 0;
  // Our own form: TPS ids to pick from (empty: a built-in list of valid ids).
  std::vector<std::string> tps;
};

// One synthetic page.
struct SynthPage {
  std::string file;                 // suggested file name, e.g. "page-00007.jpg"
  std::string form;                 // layout form id
  int page = 1;
  std::string tps;
  std::map<std::string, int> values;  // field id -> the value written in the digit boxes
  // Field id -> the index in the IDX set of the sample written in each of its three boxes
  // (-1: the box left blank; -2: written in seven-segment style, SynthOptions::segment_style),
  // so a misread box can be traced to its source digit.
  std::map<std::string, std::array<int, 3>> samples;
  // Per field, the value the bubbles encode where it differs from `values` (KPU page
  // inconsistencies); -1 digits of a bubble position left empty count as missing.
  std::map<std::string, int> bubble_values;
  bool inconsistent = false;
  std::string inconsistency;        // what was broken (rule id or "digits_vs_bubbles", ...)
  std::vector<std::string> double_marked;  // fields with a second bubble marked
  std::vector<std::string> missing_marks;  // fields with a position's bubble left empty
  std::vector<std::string> unbubbled;      // fields with no bubble marked (SynthOptions::unbubbled_rate)
  std::vector<std::string> leading_zeros;  // fields written with leading zeros
  std::map<std::string, int> tally_values;  // KPU page 2: field -> the count its tally shows
  std::vector<std::string> tally_slips;     // tallies with a skipped cell or a miscount
  int voters = 0;                   // KPU page: the TPS's voters (plausibility limit)
  double pen_mm = 0;                // digits drawn at this pen width (SynthOptions::pen_strokes)
  int spilled = 0;                  // digits drawn too big for their box (SynthOptions::spill)
  int flagged = 0;                  // 1s written with a flag (SynthOptions::flagged_ones)
  int crossed = 0;                  // 7s written with a bar (SynthOptions::crossed_sevens)
  int jpeg_quality = 0;
  double blur_px = 0;               // the camera's blur, sigma of a Gaussian in photo px (0: not photographed)
  double shake_px = 0;              // camera shake: the motion blur's length in photo px (SynthOptions::shake)
  double shake_deg = 0;             // its direction on the page, degrees
  cv::Mat image;                    // BGR photo (or the clean scan when !photograph)
  // Homography: page mm -> image px, and the image px of the page's TL, TR, BR, BL corners;
  // of the flat page (with bend_mm, points are up to that far from where they put them).
  cv::Matx33d page_to_image;
  std::array<cv::Point2d, 4> page_corners{};
  PhotoFormat format = PhotoFormat::kJpeg;
  std::vector<uint8_t> jpeg;  // the encoded photo: JPEG, or as SynthOptions::format says

  // The truth.json entry for this page.
  nlohmann::json TruthJson() const;
};

class Synthesizer {
 public:
  // `contest` (with its bound form) is required for SynthForm::kOwn and ignored for the KPU
  // page. `digits` and `contest` must outlive the synthesizer; `digits` must hold at least one
  // sample of every digit.
  static Result<std::unique_ptr<Synthesizer>> Create(const DigitDataset& digits,
                                                     const Contest* contest,
                                                     const SynthOptions& options);
  ~Synthesizer();

  // Page `index` (0-based): deterministic for (options.seed, index). Thread-safe.
  Result<SynthPage> Make(int index) const;

  // Makes `count` pages into `dir` (created if needed): page-NNNNN.jpg and truth.json.
  // `progress` (may be empty) is called after each page with (done, count).
  Status WriteAll(int count, const std::string& dir,
                  const std::function<void(int, int)>& progress) const;

 private:
  Synthesizer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A digit image (white ink on black) redrawn along its strokes' centre lines `width_px` wide, with
// an anti-aliased edge, as a pen of that width would write it (SynthOptions::pen_strokes). With
// `outline_areas`, solid areas much wider than the stroke are drawn around
// (SynthOptions::pen_outline_areas). The result has `gray`'s size; an empty image for an empty
// `gray` or one that is not 8-bit single-channel.
cv::Mat RedrawWithPen(const cv::Mat& gray, double width_px, bool outline_areas);

}  // namespace rekap::reader
