// rekap reader: page geometry of the C.Hasil forms (see layout.h and docs/forms.md).
#include "reader/layout.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "reader/kpu_layout_data.h"  // generated: kKpuPpwpPage2Json, kKpuPpwpPage3Json
#include "rekap/region.h"

namespace rekap::reader {

const std::vector<GuideDot>& SegmentGuideDots() {
  static const std::vector<GuideDot> dots = [] {
    constexpr double kCol = 2.065, kRow = 1.659;
    std::vector<GuideDot> d;
    for (int r = 0; r < 9; ++r)
      for (int c = 0; c < 5; ++c)
        if (r % 4 == 0 || c % 2 == 0) d.push_back({(c - 2) * kCol, (r - 4) * kRow});
    return d;
  }();
  return dots;
}

using nlohmann::json;

Rect NumberLayout::Bounds() const {
  double x0 = label_box.x, y0 = label_box.y, x1 = label_box.right(), y1 = label_box.bottom();
  auto add = [&](const Rect& r) {
    x0 = std::min(x0, r.x);
    y0 = std::min(y0, r.y);
    x1 = std::max(x1, r.right());
    y1 = std::max(y1, r.bottom());
  };
  for (const Rect& r : digit_boxes) add(r);
  if (has_bubbles)
    for (const auto& row : bubbles)
      for (const Rect& r : row) add(r);
  return {x0, y0, x1 - x0, y1 - y0};
}

bool NumberLayout::operator==(const NumberLayout& o) const {
  return field == o.field && label.id == o.label.id && label.en == o.label.en &&
         section == o.section && sublabel == o.sublabel && label_box == o.label_box &&
         digit_boxes == o.digit_boxes && has_bubbles == o.has_bubbles && bubbles == o.bubbles &&
         segment_guides == o.segment_guides && box_line_mm == o.box_line_mm &&
         max_value == o.max_value && tally == o.tally;
}

const NumberLayout* PageLayout::Find(std::string_view field) const {
  for (const NumberLayout& n : numbers)
    if (n.field == field) return &n;
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Our own form. All dimensions in mm; A3 portrait.

namespace {

constexpr double kMarkerInset = 8.0;        // page edge to marker
constexpr double kBodyTop = 78.0;           // first row of numbers
constexpr double kBodyBottom = 391.0;       // rows end above the bottom markers' quiet zone
constexpr double kColumnX[2] = {16.0, 153.5};
constexpr double kLabelW = 50.0;            // label column
constexpr double kBoxX = 52.0;              // digit boxes start (relative to column x)
constexpr double kBoxW = 7.5, kBoxH = 10.0, kBoxGap = 1.0;
constexpr double kPosLetterX = 78.6;        // the R / P / S hint left of each bubble row
constexpr double kBubbleX = 82.0;           // first bubble (relative to column x)
constexpr double kBubbleD = 3.6;            // bubble diameter
constexpr double kBubblePitchX = 4.6;
constexpr double kBubblePitchY = 4.5;
constexpr double kBlockH = 2 * kBubblePitchY + kBubbleD;  // 12.6: three bubble rows
constexpr double kRowPitch = 14.5;          // one number per row (minimum)
constexpr double kMaxRowPitch = 18.0;       // rows spread out up to this when the page has room
constexpr double kSectionGap = 3.0;         // extra space where the top-level section changes
constexpr double kQrX = 230.0, kQrY = 28.0, kQrSide = 32.0;

std::string TopSection(const std::string& s) { return s.substr(0, s.find('.')); }

// Height of a column holding `fields` (indices into form.fields()).
double ColumnHeight(const Form& form, const std::vector<int>& f, size_t begin, size_t end) {
  if (begin >= end) return 0;
  double h = kBlockH + double(end - begin - 1) * kRowPitch;
  for (size_t i = begin + 1; i < end; ++i)
    if (TopSection(form.fields()[f[i]].section) != TopSection(form.fields()[f[i - 1]].section))
      h += kSectionGap;
  return h;
}

constexpr double kColumnCapacity = kBodyBottom - kBodyTop;

// Splits `f` into two columns minimizing the taller one; returns the split index, or -1 if
// the fields do not fit on one page.
int SplitColumns(const Form& form, const std::vector<int>& f) {
  int best = -1;
  double best_h = 1e18;
  for (size_t s = 0; s <= f.size(); ++s) {
    double a = ColumnHeight(form, f, 0, s), b = ColumnHeight(form, f, s, f.size());
    if (a > kColumnCapacity + 1e-9 || b > kColumnCapacity + 1e-9) continue;
    double h = std::max(a, b);
    if (h < best_h - 1e-9) {
      best_h = h;
      best = int(s);
    }
  }
  return best;
}

// Field indices per page of our own form; empty when the form cannot be laid out.
std::vector<std::vector<int>> PlanPages(const Form& form) {
  std::vector<int> all(form.size());
  for (size_t i = 0; i < form.size(); ++i) all[i] = int(i);
  if (all.empty()) return {};
  if (SplitColumns(form, all) >= 0) return {all};
  std::vector<int> rest, cands;
  for (size_t i = 0; i < form.size(); ++i)
    (form.fields()[i].candidate > 0 ? cands : rest).push_back(int(i));
  if (rest.empty() || SplitColumns(form, rest) < 0) return {};
  std::vector<std::vector<int>> pages{rest};
  // Candidate rows per page: same section, so no gaps.
  int per_column = int(std::floor((kColumnCapacity - kBlockH) / kRowPitch + 1e-9)) + 1;
  size_t per_page = size_t(2 * per_column);
  for (size_t i = 0; i < cands.size(); i += per_page)
    pages.emplace_back(cands.begin() + long(i),
                       cands.begin() + long(std::min(cands.size(), i + per_page)));
  if (pages.size() > 99) return {};
  return pages;
}

NumberLayout MakeNumber(const FieldDef& fd, const Contest& contest, double cx, double y) {
  NumberLayout n;
  n.field = fd.id;
  n.label = fd.label;
  n.section = fd.section;
  if (fd.candidate > 0 && fd.candidate <= int(contest.candidates.size()))
    n.sublabel = contest.candidates[size_t(fd.candidate - 1)].name;
  n.label_box = {cx, y, kLabelW, kBlockH};
  for (int i = 0; i < 3; ++i)
    n.digit_boxes[size_t(i)] = {cx + kBoxX + i * (kBoxW + kBoxGap), y + (kBlockH - kBoxH) / 2,
                                kBoxW, kBoxH};
  for (int p = 0; p < 3; ++p)
    for (int v = 0; v < 10; ++v)
      n.bubbles[size_t(p)][size_t(v)] = {cx + kBubbleX + v * kBubblePitchX,
                                         y + p * kBubblePitchY, kBubbleD, kBubbleD};
  n.segment_guides = false;
  n.box_line_mm = 0.5;
  n.max_value = std::min<int>(fd.max_value, 999);
  return n;
}

}  // namespace

int OwnPageCount(const Form& form) { return int(PlanPages(form).size()); }

std::vector<std::string> OwnPageFields(const Form& form, int page) {
  auto plan = PlanPages(form);
  std::vector<std::string> out;
  if (page < 1 || page > int(plan.size())) return out;
  for (int i : plan[size_t(page - 1)]) out.push_back(form.fields()[size_t(i)].id);
  return out;
}

Result<PageLayout> LayoutOwnPage(const Form& form, const Contest& contest, int page) {
  auto plan = PlanPages(form);
  if (plan.empty())
    return InvalidArgument("formulir " + form.schema().id() +
                           " tidak muat di halaman A3 / form does not fit on A3 pages");
  if (page < 1 || page > int(plan.size()))
    return InvalidArgument("halaman " + std::to_string(page) + " di luar 1.." +
                           std::to_string(plan.size()) + " / page out of range");
  PageLayout L;
  L.form_id = form.schema().id();
  L.version = form.schema().version();
  L.contest = contest.id;
  L.page = page;
  L.pages = int(plan.size());
  L.width_mm = kOwnPageWidthMm;
  L.height_mm = kOwnPageHeightMm;
  const double m = kOwnMarkerMm, e = kMarkerInset;
  const double W = kOwnPageWidthMm, H = kOwnPageHeightMm;
  const Rect corners[4] = {{e, e, m, m}, {W - e - m, e, m, m}, {W - e - m, H - e - m, m, m},
                           {e, H - e - m, m, m}};
  for (int i = 0; i < 4; ++i)
    L.fiducials.push_back({std::string(kArucoDict4x4_50), kOwnMarkerIds[size_t(i)], corners[i], 0});
  L.qr = Rect{kQrX, kQrY, kQrSide, kQrSide};

  // Header.
  const double tx = 30.0, tw = 190.0;
  auto text = [&](std::string key, std::string t, Rect box, double size, bool bold) {
    L.texts.push_back({std::move(key), std::move(t), box, size, bold});
  };
  text("title", form.schema().title().id, {tx, 9, tw, 7}, 5.0, true);
  text("contest", "Pemilihan / Contest: " + contest.name + " (" + contest.id + ")",
       {tx, 18, tw, 5}, 3.6, false);
  text("tps", "TPS: {tps}", {tx, 26, tw, 7}, 5.5, true);
  text("region1", "Provinsi: {provinsi}    Kabupaten/Kota: {kabkota}", {tx, 36, tw, 5}, 3.4, false);
  text("region2", "Kecamatan: {kecamatan}    Kelurahan/Desa: {desa}", {tx, 43, tw, 5}, 3.4, false);
  text("page",
       "Halaman " + std::to_string(page) + " dari " + std::to_string(L.pages) + " / Page " +
           std::to_string(page) + " of " + std::to_string(L.pages),
       {tx, 51, tw, 5}, 3.4, true);
  text("form", L.form_id + " v" + std::to_string(L.version), {tx, 58, tw, 4}, 2.8, false);
  text("instructions1",
       "Tulis satu angka per kotak (ratusan, puluhan, satuan) dan hitamkan satu bulatan per baris: "
       "R = ratusan, P = puluhan, S = satuan.",
       {16, 66, 264, 4}, 2.8, false);
  text("instructions2",
       "Write one digit per box (hundreds, tens, ones) and fill one bubble per row: "
       "R = hundreds, P = tens, S = ones.",
       {16, 71, 264, 4}, 2.6, false);

  // Body: two columns; rows spread out (same pitch in both columns) when there is room.
  const auto& f = plan[size_t(page - 1)];
  int split = SplitColumns(form, f);
  if (split < 0) return Internal("layout plan inconsistent");
  double pitch = kRowPitch;
  {
    size_t rows = std::max<size_t>(size_t(split), f.size() - size_t(split));
    double used = std::max(ColumnHeight(form, f, 0, size_t(split)),
                           ColumnHeight(form, f, size_t(split), f.size()));
    if (rows > 1)
      pitch = std::min(kMaxRowPitch, kRowPitch + (kColumnCapacity - used) / double(rows - 1));
  }
  for (int col = 0; col < 2; ++col) {
    size_t b = col == 0 ? 0 : size_t(split), en = col == 0 ? size_t(split) : f.size();
    double y = kBodyTop;
    for (size_t i = b; i < en; ++i) {
      const FieldDef& fd = form.fields()[size_t(f[i])];
      if (i > b && TopSection(fd.section) != TopSection(form.fields()[size_t(f[i - 1])].section)) {
        double ly = y - (pitch - kBlockH) / 2 + kSectionGap / 2;
        L.frames.push_back({{kColumnX[col], ly, 127.0, 0}, 0.3, 0.3});
        y += kSectionGap;
      }
      NumberLayout n = MakeNumber(fd, contest, kColumnX[col], y);
      static const char* kPos[3] = {"R", "P", "S"};
      for (int p = 0; p < 3; ++p)
        text("pos_hint", kPos[p],
             {kColumnX[col] + kPosLetterX, y + p * kBubblePitchY, 2.6, kBubbleD}, 2.4, false);
      L.numbers.push_back(std::move(n));
      y += pitch;
    }
  }
  return L;
}

// ---------------------------------------------------------------------------------------------
// JSON

namespace {

json RectJson(const Rect& r) { return json::array({r.x, r.y, r.w, r.h}); }

json FiducialJson(const Fiducial& f) {
  return {{"dictionary", f.dictionary}, {"id", f.marker_id}, {"box", RectJson(f.box)},
          {"rotation_deg", f.rotation_deg}};
}

}  // namespace

json ToJson(const PageLayout& L) {
  json j;
  j["format"] = "rekap-page-layout";
  j["format_version"] = 1;
  j["form_id"] = L.form_id;
  j["version"] = L.version;
  j["contest"] = L.contest;
  j["page"] = L.page;
  j["pages"] = L.pages;
  j["units"] = "mm";
  j["width_mm"] = L.width_mm;
  j["height_mm"] = L.height_mm;
  j["fiducials"] = json::array();
  for (const auto& f : L.fiducials) j["fiducials"].push_back(FiducialJson(f));
  if (L.page_marker) j["page_marker"] = FiducialJson(*L.page_marker);
  if (L.qr) j["qr"] = RectJson(*L.qr);
  j["numbers"] = json::array();
  for (const auto& n : L.numbers) {
    json jn;
    jn["field"] = n.field;
    jn["label"] = {{"id", n.label.id}, {"en", n.label.en}};
    jn["section"] = n.section;
    if (!n.sublabel.empty()) jn["sublabel"] = n.sublabel;
    jn["label_box"] = RectJson(n.label_box);
    jn["digit_boxes"] = json::array();
    for (const Rect& r : n.digit_boxes) jn["digit_boxes"].push_back(RectJson(r));
    jn["bubbles"] = json::array();  // empty: no bubbles (KPU page 3)
    for (const auto& row : n.bubbles) {
      if (!n.has_bubbles) break;
      json jr = json::array();
      for (const Rect& r : row) jr.push_back(RectJson(r));
      jn["bubbles"].push_back(std::move(jr));
    }
    jn["segment_guides"] = n.segment_guides;
    if (n.segment_guides) {
      // The printed guide's dots in page coordinates, per box (SegmentGuideDots): written for
      // tools that fill or check a page; derived from segment_guides, not read back.
      json boxes = json::array();
      for (const Rect& b : n.digit_boxes) {
        json dots = json::array();
        for (const GuideDot& d : SegmentGuideDots())
          dots.push_back({std::round((b.cx() + d.x) * 1000) / 1000, std::round((b.cy() + d.y) * 1000) / 1000});
        boxes.push_back(std::move(dots));
      }
      jn["segment_guide"] = {{"dot_mm", kSegmentGuideDotMm}, {"gray", kSegmentGuideGray}, {"dots", std::move(boxes)}};
    }
    jn["box_line_mm"] = n.box_line_mm;
    jn["max_value"] = n.max_value;
    if (n.tally)
      jn["tally"] = {{"box", RectJson(n.tally->box)}, {"rows", n.tally->rows}, {"cols", n.tally->cols},
                     {"per_cell", n.tally->per_cell}};
    j["numbers"].push_back(std::move(jn));
  }
  j["texts"] = json::array();
  for (const auto& t : L.texts)
    j["texts"].push_back({{"key", t.key}, {"text", t.text}, {"box", RectJson(t.box)},
                          {"size_mm", t.size_mm}, {"bold", t.bold}, {"italic", t.italic},
                          {"align", t.align}});
  j["frames"] = json::array();
  for (const auto& f : L.frames)
    j["frames"].push_back({{"box", RectJson(f.box)}, {"line_mm", f.line_mm}, {"gray", f.gray}});
  return j;
}

namespace {

constexpr size_t kMaxNumbers = 200, kMaxTexts = 2000, kMaxFrames = 5000, kMaxString = 1024;

Status Bad(const std::string& where, const std::string& id, const std::string& en) {
  return InvalidArgument("tata letak JSON: " + where + ": " + id + " / layout JSON: " + where +
                         ": " + en);
}

// Small non-throwing readers over a json object.
struct Reader {
  const json& obj;
  std::string where;

  const json* Get(const char* key) const {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  Status Str(const char* key, std::string* out, bool required = true,
             size_t max_len = kMaxString) const {
    const json* v = Get(key);
    if (!v) {
      if (!required) return Status::Ok();
      return Bad(where + "." + key, "wajib ada", "missing");
    }
    if (!v->is_string()) return Bad(where + "." + key, "harus teks", "must be a string");
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > max_len) return Bad(where + "." + key, "terlalu panjang", "too long");
    *out = s;
    return Status::Ok();
  }
  Status Num(const char* key, double* out, double lo, double hi, bool required = true) const {
    const json* v = Get(key);
    if (!v) {
      if (!required) return Status::Ok();
      return Bad(where + "." + key, "wajib ada", "missing");
    }
    if (!v->is_number()) return Bad(where + "." + key, "harus angka", "must be a number");
    double d = v->get<double>();
    if (!std::isfinite(d) || d < lo || d > hi)
      return Bad(where + "." + key, "di luar rentang", "out of range");
    *out = d;
    return Status::Ok();
  }
  Status Int(const char* key, int* out, int lo, int hi, bool required = true) const {
    const json* v = Get(key);
    if (!v) {
      if (!required) return Status::Ok();
      return Bad(where + "." + key, "wajib ada", "missing");
    }
    if (!v->is_number_integer()) return Bad(where + "." + key, "harus bilangan bulat", "must be an integer");
    if (v->is_number_unsigned()) {
      uint64_t u = v->get<uint64_t>();
      if (u > uint64_t(hi)) return Bad(where + "." + key, "di luar rentang", "out of range");
      *out = int(u);
    } else {
      int64_t s = v->get<int64_t>();
      if (s < lo || s > hi) return Bad(where + "." + key, "di luar rentang", "out of range");
      *out = int(s);
    }
    if (*out < lo || *out > hi) return Bad(where + "." + key, "di luar rentang", "out of range");
    return Status::Ok();
  }
  Status Bool(const char* key, bool* out) const {
    const json* v = Get(key);
    if (!v) return Status::Ok();
    if (!v->is_boolean()) return Bad(where + "." + key, "harus true/false", "must be a boolean");
    *out = v->get<bool>();
    return Status::Ok();
  }
};

Status ParseRect(const json& v, const std::string& where, double pw, double ph, Rect* out,
                 bool allow_empty) {
  if (!v.is_array() || v.size() != 4)
    return Bad(where, "harus [x, y, w, h]", "must be [x, y, w, h]");
  double a[4];
  for (size_t i = 0; i < 4; ++i) {
    if (!v[i].is_number()) return Bad(where, "harus angka", "must be numbers");
    a[i] = v[i].get<double>();
    if (!std::isfinite(a[i])) return Bad(where, "angka tak hingga", "not finite");
  }
  Rect r{a[0], a[1], a[2], a[3]};
  if (r.w < 0 || r.h < 0 || (!allow_empty && (r.w <= 0 || r.h <= 0)))
    return Bad(where, "ukuran tidak sah", "invalid size");
  const double eps = 0.01;
  if (r.x < -eps || r.y < -eps || r.right() > pw + eps || r.bottom() > ph + eps)
    return Bad(where, "di luar halaman", "outside the page");
  *out = r;
  return Status::Ok();
}

Status ParseFiducial(const json& v, const std::string& where, double pw, double ph,
                     Fiducial* out) {
  if (!v.is_object()) return Bad(where, "harus objek", "must be an object");
  Reader r{v, where};
  REKAP_RETURN_IF_ERROR(r.Str("dictionary", &out->dictionary, true, 64));
  int max_id = -1;
  if (out->dictionary == kArucoDict4x4_50) max_id = 49;
  else if (out->dictionary == kAprilTag36h11) max_id = 586;
  else if (out->dictionary == kAprilTag36h10) max_id = 2319;
  else if (out->dictionary != kPlainSquare && out->dictionary != kKpuChecker)
    return Bad(where + ".dictionary", "kamus tak dikenal", "unknown dictionary");
  REKAP_RETURN_IF_ERROR(r.Int("id", &out->marker_id, max_id < 0 ? -1 : 0, max_id));
  const json* b = r.Get("box");
  if (!b) return Bad(where + ".box", "wajib ada", "missing");
  REKAP_RETURN_IF_ERROR(ParseRect(*b, where + ".box", pw, ph, &out->box, false));
  REKAP_RETURN_IF_ERROR(r.Int("rotation_deg", &out->rotation_deg, 0, 270, false));
  if (out->rotation_deg % 90 != 0)
    return Bad(where + ".rotation_deg", "harus 0, 90, 180 atau 270", "must be 0, 90, 180 or 270");
  return Status::Ok();
}

bool ValidFieldId(const std::string& s) {
  if (s.empty() || s.size() > 64 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

bool ValidFormId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

bool ValidContestId(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

Result<PageLayout> FromJsonImpl(const json& j) {
  if (!j.is_object()) return Bad("$", "harus objek", "must be an object");
  Reader r{j, "$"};
  std::string format;
  REKAP_RETURN_IF_ERROR(r.Str("format", &format, false, 64));
  if (!format.empty() && format != "rekap-page-layout")
    return Bad("$.format", "format tak dikenal", "unknown format");
  int fv = 1;
  REKAP_RETURN_IF_ERROR(r.Int("format_version", &fv, 1, 1, false));
  PageLayout L;
  REKAP_RETURN_IF_ERROR(r.Str("form_id", &L.form_id, true, 64));
  if (!ValidFormId(L.form_id)) return Bad("$.form_id", "tidak sah", "invalid");
  REKAP_RETURN_IF_ERROR(r.Int("version", &L.version, 1, 9999));
  REKAP_RETURN_IF_ERROR(r.Str("contest", &L.contest, false, 32));
  if (!L.contest.empty() && !ValidContestId(L.contest))
    return Bad("$.contest", "tidak sah", "invalid");
  REKAP_RETURN_IF_ERROR(r.Int("pages", &L.pages, 1, 99));
  REKAP_RETURN_IF_ERROR(r.Int("page", &L.page, 1, L.pages));
  std::string units;
  REKAP_RETURN_IF_ERROR(r.Str("units", &units, false, 8));
  if (!units.empty() && units != "mm") return Bad("$.units", "harus mm", "must be mm");
  REKAP_RETURN_IF_ERROR(r.Num("width_mm", &L.width_mm, 10, 2000));
  REKAP_RETURN_IF_ERROR(r.Num("height_mm", &L.height_mm, 10, 2000));
  const double pw = L.width_mm, ph = L.height_mm;

  const json* fid = r.Get("fiducials");
  if (!fid || !fid->is_array() || fid->size() != 4)
    return Bad("$.fiducials", "harus 4 penanda (TL, TR, BR, BL)", "must be 4 markers (TL, TR, BR, BL)");
  for (size_t i = 0; i < 4; ++i) {
    Fiducial f;
    REKAP_RETURN_IF_ERROR(ParseFiducial((*fid)[i], "$.fiducials[" + std::to_string(i) + "]", pw, ph, &f));
    L.fiducials.push_back(std::move(f));
  }
  // Corner order: TL, TR, BR, BL.
  const auto& F = L.fiducials;
  if (!(F[0].box.cx() < F[1].box.cx() && F[3].box.cx() < F[2].box.cx() &&
        F[0].box.cy() < F[3].box.cy() && F[1].box.cy() < F[2].box.cy()))
    return Bad("$.fiducials", "urutan harus TL, TR, BR, BL", "order must be TL, TR, BR, BL");
  if (const json* pm = r.Get("page_marker"); pm && !pm->is_null()) {
    Fiducial f;
    REKAP_RETURN_IF_ERROR(ParseFiducial(*pm, "$.page_marker", pw, ph, &f));
    L.page_marker = f;
  }
  if (const json* q = r.Get("qr"); q && !q->is_null()) {
    Rect qr;
    REKAP_RETURN_IF_ERROR(ParseRect(*q, "$.qr", pw, ph, &qr, false));
    L.qr = qr;
  }

  const json* nums = r.Get("numbers");
  if (!nums || !nums->is_array()) return Bad("$.numbers", "harus larik", "must be an array");
  if (nums->size() > kMaxNumbers) return Bad("$.numbers", "terlalu banyak", "too many");
  std::set<std::string> seen;
  for (size_t i = 0; i < nums->size(); ++i) {
    const json& jn = (*nums)[i];
    std::string w = "$.numbers[" + std::to_string(i) + "]";
    if (!jn.is_object()) return Bad(w, "harus objek", "must be an object");
    Reader nr{jn, w};
    NumberLayout n;
    REKAP_RETURN_IF_ERROR(nr.Str("field", &n.field, true, 64));
    if (!ValidFieldId(n.field)) return Bad(w + ".field", "id kolom tidak sah", "invalid field id");
    if (!seen.insert(n.field).second) return Bad(w + ".field", "ganda", "duplicate");
    if (const json* lab = nr.Get("label"); lab && !lab->is_null()) {
      if (!lab->is_object()) return Bad(w + ".label", "harus objek", "must be an object");
      Reader lr{*lab, w + ".label"};
      REKAP_RETURN_IF_ERROR(lr.Str("id", &n.label.id, false));
      REKAP_RETURN_IF_ERROR(lr.Str("en", &n.label.en, false));
    }
    REKAP_RETURN_IF_ERROR(nr.Str("section", &n.section, false, 32));
    REKAP_RETURN_IF_ERROR(nr.Str("sublabel", &n.sublabel, false));
    if (const json* lb = nr.Get("label_box"); lb && !lb->is_null())
      REKAP_RETURN_IF_ERROR(ParseRect(*lb, w + ".label_box", pw, ph, &n.label_box, true));
    const json* db = nr.Get("digit_boxes");
    if (!db || !db->is_array() || db->size() != 3)
      return Bad(w + ".digit_boxes", "harus 3 kotak", "must be 3 boxes");
    for (size_t k = 0; k < 3; ++k)
      REKAP_RETURN_IF_ERROR(ParseRect((*db)[k], w + ".digit_boxes[" + std::to_string(k) + "]",
                                      pw, ph, &n.digit_boxes[k], false));
    const json* bb = nr.Get("bubbles");
    if (!bb || !bb->is_array() || (bb->size() != 3 && !bb->empty()))
      return Bad(w + ".bubbles", "harus 3 x 10 bulatan atau kosong", "must be 3 x 10 bubbles or empty");
    n.has_bubbles = !bb->empty();
    for (size_t p = 0; p < 3 && n.has_bubbles; ++p) {
      const json& row = (*bb)[p];
      if (!row.is_array() || row.size() != 10)
        return Bad(w + ".bubbles", "harus 3 x 10 bulatan", "must be 3 x 10 bubbles");
      for (size_t v = 0; v < 10; ++v)
        REKAP_RETURN_IF_ERROR(ParseRect(row[v],
                                        w + ".bubbles[" + std::to_string(p) + "][" + std::to_string(v) + "]",
                                        pw, ph, &n.bubbles[p][v], false));
    }
    REKAP_RETURN_IF_ERROR(nr.Bool("segment_guides", &n.segment_guides));
    REKAP_RETURN_IF_ERROR(nr.Num("box_line_mm", &n.box_line_mm, 0, 10, false));
    REKAP_RETURN_IF_ERROR(nr.Int("max_value", &n.max_value, 1, 999, false));
    if (const json* tg = nr.Get("tally"); tg && !tg->is_null()) {
      if (!tg->is_object()) return Bad(w + ".tally", "harus objek", "must be an object");
      Reader gr{*tg, w + ".tally"};
      TallyGrid t;
      const json* b = gr.Get("box");
      if (!b) return Bad(w + ".tally.box", "wajib ada", "missing");
      REKAP_RETURN_IF_ERROR(ParseRect(*b, w + ".tally.box", pw, ph, &t.box, false));
      REKAP_RETURN_IF_ERROR(gr.Int("rows", &t.rows, 1, 50));
      REKAP_RETURN_IF_ERROR(gr.Int("cols", &t.cols, 1, 50));
      REKAP_RETURN_IF_ERROR(gr.Int("per_cell", &t.per_cell, 1, 10, false));
      n.tally = t;
    }
    L.numbers.push_back(std::move(n));
  }

  if (const json* ts = r.Get("texts"); ts && !ts->is_null()) {
    if (!ts->is_array()) return Bad("$.texts", "harus larik", "must be an array");
    if (ts->size() > kMaxTexts) return Bad("$.texts", "terlalu banyak", "too many");
    for (size_t i = 0; i < ts->size(); ++i) {
      const json& jt = (*ts)[i];
      std::string w = "$.texts[" + std::to_string(i) + "]";
      if (!jt.is_object()) return Bad(w, "harus objek", "must be an object");
      Reader tr{jt, w};
      TextItem t;
      REKAP_RETURN_IF_ERROR(tr.Str("key", &t.key, false, 64));
      REKAP_RETURN_IF_ERROR(tr.Str("text", &t.text, true));
      const json* b = tr.Get("box");
      if (!b) return Bad(w + ".box", "wajib ada", "missing");
      REKAP_RETURN_IF_ERROR(ParseRect(*b, w + ".box", pw, ph, &t.box, true));
      REKAP_RETURN_IF_ERROR(tr.Num("size_mm", &t.size_mm, 0.5, 100, false));
      REKAP_RETURN_IF_ERROR(tr.Bool("bold", &t.bold));
      REKAP_RETURN_IF_ERROR(tr.Bool("italic", &t.italic));
      REKAP_RETURN_IF_ERROR(tr.Int("align", &t.align, 0, 2, false));
      L.texts.push_back(std::move(t));
    }
  }
  if (const json* fs = r.Get("frames"); fs && !fs->is_null()) {
    if (!fs->is_array()) return Bad("$.frames", "harus larik", "must be an array");
    if (fs->size() > kMaxFrames) return Bad("$.frames", "terlalu banyak", "too many");
    for (size_t i = 0; i < fs->size(); ++i) {
      const json& jf = (*fs)[i];
      std::string w = "$.frames[" + std::to_string(i) + "]";
      if (!jf.is_object()) return Bad(w, "harus objek", "must be an object");
      Reader fr{jf, w};
      Frame f;
      const json* b = fr.Get("box");
      if (!b) return Bad(w + ".box", "wajib ada", "missing");
      REKAP_RETURN_IF_ERROR(ParseRect(*b, w + ".box", pw, ph, &f.box, true));
      REKAP_RETURN_IF_ERROR(fr.Num("line_mm", &f.line_mm, 0, 20, false));
      REKAP_RETURN_IF_ERROR(fr.Num("gray", &f.gray, 0, 1, false));
      L.frames.push_back(f);
    }
  }
  return L;
}

// Rejects nesting deeper than `max_depth` before handing the text to the parser (so hostile
// input cannot exhaust the stack in recursive destruction or traversal).
bool NestingOk(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_str = false, esc = false;
  for (char c : text) {
    if (in_str) {
      if (esc) esc = false;
      else if (c == '\\') esc = true;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') --depth;
  }
  return true;
}

}  // namespace

Result<PageLayout> FromJson(const json& j) {
  try {
    return FromJsonImpl(j);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("tata letak JSON tidak sah / invalid layout JSON: ") +
                           e.what());
  }
}

Result<PageLayout> ParseLayoutJson(std::string_view text) {
  if (text.size() > (size_t{16} << 20))
    return ResourceExhausted("tata letak JSON terlalu besar / layout JSON too large");
  if (!NestingOk(text, 16))
    return InvalidArgument("tata letak JSON terlalu dalam / layout JSON nested too deeply");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return InvalidArgument("tata letak JSON tidak bisa diurai / layout JSON does not parse");
  return FromJson(j);
}

Result<PageLayout> LoadLayoutFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("berkas tidak bisa dibuka / cannot open file: " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseLayoutJson(ss.str());
}

Result<PageLayout> KpuPpwpPage2Layout() {
  static const Result<PageLayout> cached = ParseLayoutJson(kKpuPpwpPage2Json);
  return cached;
}

Result<PageLayout> KpuPpwpPage3Layout() {
  static const Result<PageLayout> cached = ParseLayoutJson(kKpuPpwpPage3Json);
  return cached;
}

// ---------------------------------------------------------------------------------------------
// QR payload

namespace {

std::string Check8(std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 4; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

bool ParseSmallInt(std::string_view s, int lo, int hi, int* out) {
  if (s.empty() || s.size() > 4) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  if (s.size() > 1 && s[0] == '0') return false;
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

std::string FormatQrPayload(const QrPayload& p) {
  std::string body = "REKAP1|" + p.form_id + "|" + std::to_string(p.version) + "|" + p.contest +
                     "|" + p.tps + "|" + std::to_string(p.page) + "/" + std::to_string(p.pages);
  return body + "|" + Check8(body);
}

Result<QrPayload> ParseQrPayload(std::string_view text) {
  auto bad = [&](const std::string& id, const std::string& en) -> Status {
    return InvalidArgument("kode QR tidak sah: " + id + " / invalid QR payload: " + en);
  };
  if (text.size() > 256) return bad("terlalu panjang", "too long");
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '|') {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() != 7) return bad("jumlah bagian salah", "wrong number of parts");
  if (parts[0] != "REKAP1") return bad("awalan bukan REKAP1", "prefix is not REKAP1");
  QrPayload p;
  if (!ValidFormId(parts[1])) return bad("id formulir", "form id");
  p.form_id = std::string(parts[1]);
  if (!ParseSmallInt(parts[2], 1, 9999, &p.version)) return bad("versi", "version");
  if (!ValidContestId(parts[3])) return bad("id pemilihan", "contest id");
  p.contest = std::string(parts[3]);
  if (!TpsId::Parse(parts[4]).ok()) return bad("id TPS", "TPS id");
  p.tps = std::string(parts[4]);
  size_t slash = parts[5].find('/');
  if (slash == std::string_view::npos ||
      !ParseSmallInt(parts[5].substr(0, slash), 1, 99, &p.page) ||
      !ParseSmallInt(parts[5].substr(slash + 1), 1, 99, &p.pages) || p.page > p.pages)
    return bad("halaman", "page");
  std::string_view body = text.substr(0, text.size() - parts[6].size() - 1);
  if (parts[6] != Check8(body)) return bad("nilai periksa salah", "wrong check value");
  return p;
}

}  // namespace rekap::reader
