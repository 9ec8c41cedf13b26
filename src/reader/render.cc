// rekap reader: cairo rendering of page layouts (render.h).
#include "reader/render.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <qrencode.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include <opencv2/aruco.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace rekap::reader {

namespace {

constexpr const char* kFont = "DejaVu Sans";
constexpr double kBubbleLineMm = 0.25;
constexpr double kBubbleGray = 0.42;  // outline of our bubbles (marks are much darker)
constexpr double kBubbleTextGray = 0.62;

void Replace(std::string* s, std::string_view from, const std::string& to) {
  size_t pos = 0;
  while ((pos = s->find(from, pos)) != std::string::npos) {
    s->replace(pos, from.size(), to);
    pos += to.size();
  }
}

std::string Fill(std::string t, const RenderInput& in) {
  auto dots = [](const std::string& v) { return v.empty() ? std::string("........................") : v; };
  Replace(&t, "{tps}", dots(in.tps));
  Replace(&t, "{provinsi}", dots(in.provinsi));
  Replace(&t, "{kabkota}", dots(in.kabkota));
  Replace(&t, "{kecamatan}", dots(in.kecamatan));
  Replace(&t, "{desa}", dots(in.desa));
  return t;
}

void SetFont(cairo_t* cr, double size, bool bold, bool italic) {
  cairo_select_font_face(cr, kFont, italic ? CAIRO_FONT_SLANT_OBLIQUE : CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double TextWidth(cairo_t* cr, const std::string& s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

// One line of text in `box`, vertically centred, aligned, shrunk to fit the box's width.
void DrawText(cairo_t* cr, const std::string& s, const Rect& box, double size, bool bold,
              bool italic, int align, double gray = 0) {
  if (s.empty()) return;
  SetFont(cr, size, bold, italic);
  double w = TextWidth(cr, s);
  if (box.w > 0 && w > box.w) {
    size *= box.w / w;
    SetFont(cr, size, bold, italic);
    w = TextWidth(cr, s);
  }
  double x = box.x;
  if (align == 1) x = box.cx() - w / 2;
  if (align == 2) x = box.right() - w;
  double y = box.cy() + size * 0.36;  // cap height ~0.72 em: centre the capitals
  cairo_set_source_rgb(cr, gray, gray, gray);
  cairo_move_to(cr, x, y);
  cairo_show_text(cr, s.c_str());
}

// Greedy word wrap into lines no wider than `width` at the current font.
std::vector<std::string> Wrap(cairo_t* cr, const std::string& s, double width) {
  std::vector<std::string> lines;
  std::string cur;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    std::string word = s.substr(i, j - i);
    i = j + 1;
    if (word.empty()) continue;
    std::string cand = cur.empty() ? word : cur + " " + word;
    if (!cur.empty() && TextWidth(cr, cand) > width) {
      lines.push_back(cur);
      cur = word;
    } else {
      cur = cand;
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

// Wrapped label (bold, up to 2 lines) and sublabel (up to 2 lines) in `box`, shrinking the
// font until it fits.
void DrawLabel(cairo_t* cr, const std::string& label, const std::string& sub, const Rect& box) {
  for (double size = 2.8; size >= 1.4; size -= 0.2) {
    double sub_size = size * 0.82;
    SetFont(cr, size, true, false);
    auto l1 = Wrap(cr, label, box.w);
    SetFont(cr, sub_size, false, false);
    auto l2 = sub.empty() ? std::vector<std::string>{} : Wrap(cr, sub, box.w);
    double lead = 1.18;
    double h = double(l1.size()) * size * lead + double(l2.size()) * sub_size * lead;
    bool fits_w = true;
    SetFont(cr, size, true, false);
    for (auto& l : l1) fits_w = fits_w && TextWidth(cr, l) <= box.w * 1.001;
    if ((h > box.h || !fits_w || l1.size() > 3 || l2.size() > 2) && size > 1.5) continue;
    double y = box.y + (box.h - h) / 2;
    cairo_set_source_rgb(cr, 0, 0, 0);
    SetFont(cr, size, true, false);
    for (auto& l : l1) {
      y += size * lead;
      cairo_move_to(cr, box.x, y - size * 0.25);
      cairo_show_text(cr, l.c_str());
    }
    SetFont(cr, sub_size, false, false);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    for (size_t k = 0; k < l2.size() && k < 2; ++k) {
      y += sub_size * lead;
      cairo_move_to(cr, box.x, y - sub_size * 0.25);
      cairo_show_text(cr, l2[k].c_str());
    }
    return;
  }
}

void FillRect(cairo_t* cr, const Rect& r, double gray) {
  cairo_set_source_rgb(cr, gray, gray, gray);
  cairo_rectangle(cr, r.x, r.y, r.w, r.h);
  cairo_fill(cr);
}

Status DrawFiducial(cairo_t* cr, const Fiducial& f) {
  const Rect& b = f.box;
  if (f.dictionary == kPlainSquare) {
    FillRect(cr, b, 0);
    return Status::Ok();
  }
  if (f.dictionary == kKpuChecker) {
    FillRect(cr, {b.x, b.y, b.w / 2, b.h / 2}, 0);
    FillRect(cr, {b.cx(), b.cy(), b.w / 2, b.h / 2}, 0);
    return Status::Ok();
  }
  auto cells = MarkerCells(f.dictionary, f.marker_id);
  if (!cells.ok()) return cells.status();
  cv::Mat m = *cells;
  // rotation_deg clockwise.
  if (f.rotation_deg == 90) cv::rotate(m, m, cv::ROTATE_90_CLOCKWISE);
  else if (f.rotation_deg == 180) cv::rotate(m, m, cv::ROTATE_180);
  else if (f.rotation_deg == 270) cv::rotate(m, m, cv::ROTATE_90_COUNTERCLOCKWISE);
  const int n = m.rows;
  const double cw = b.w / n, ch = b.h / n;
  // White quiet zone of one cell around our own markers (the KPU page prints text closer).
  if (f.dictionary == kArucoDict4x4_50) FillRect(cr, {b.x - cw, b.y - ch, b.w + 2 * cw, b.h + 2 * ch}, 1);
  cairo_set_source_rgb(cr, 0, 0, 0);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x)
      if (m.at<uint8_t>(y, x) < 128) cairo_rectangle(cr, b.x + x * cw, b.y + y * ch, cw, ch);
  cairo_fill(cr);
  return Status::Ok();
}

Status DrawQr(cairo_t* cr, const Rect& r, const std::string& payload) {
  REKAP_ASSIGN_OR_RETURN(cv::Mat q, QrModules(payload));
  const int n = q.cols;
  const double m = r.w / n;
  FillRect(cr, {r.x - 4 * m, r.y - 4 * m, r.w + 8 * m, r.h + 8 * m}, 1);
  cairo_set_source_rgb(cr, 0, 0, 0);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x)
      if (q.at<uint8_t>(y, x)) cairo_rectangle(cr, r.x + x * m, r.y + y * m, m, m);
  cairo_fill(cr);
  return Status::Ok();
}

// KPU's "8-segment" guide inside a digit box, as page 2 of C.HASIL-PPWP prints it (layout.h,
// SegmentGuideDots: 33 light grey square dots, measured from the PDF at 600 dpi).
void DrawSegmentGuide(cairo_t* cr, const Rect& box) {
  cairo_save(cr);
  cairo_set_source_rgb(cr, kSegmentGuideGray, kSegmentGuideGray, kSegmentGuideGray);
  for (const GuideDot& d : SegmentGuideDots()) {
    const double s = kSegmentGuideDotMm;
    cairo_rectangle(cr, box.cx() + d.x - s / 2, box.cy() + d.y - s / 2, s, s);
  }
  cairo_fill(cr);
  cairo_restore(cr);
}

Status DrawPage(cairo_t* cr, const PageLayout& L, const RenderInput& in) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_rectangle(cr, 0, 0, L.width_mm, L.height_mm);
  cairo_fill(cr);

  for (const Frame& f : L.frames) {
    cairo_set_source_rgb(cr, f.gray, f.gray, f.gray);
    cairo_set_line_width(cr, std::max(0.05, f.line_mm));
    if (f.box.w == 0 || f.box.h == 0) {
      cairo_move_to(cr, f.box.x, f.box.y);
      cairo_line_to(cr, f.box.right(), f.box.bottom());
    } else {
      cairo_rectangle(cr, f.box.x, f.box.y, f.box.w, f.box.h);
    }
    cairo_stroke(cr);
  }
  for (const TextItem& t : L.texts)
    DrawText(cr, Fill(t.text, in), t.box, t.size_mm, t.bold, t.italic, t.align,
             t.key == "pos_hint" ? 0.35 : 0.0);

  for (const NumberLayout& n : L.numbers) {
    if (n.label_box.w > 0 && n.label_box.h > 0) {
      std::string label = n.section.empty() ? n.label.id : n.section + "  " + n.label.id;
      DrawLabel(cr, label, n.sublabel, n.label_box);
    }
    for (const Rect& b : n.digit_boxes) {
      double lw = std::max(0.1, n.box_line_mm);
      cairo_set_source_rgb(cr, 0, 0, 0);
      cairo_set_line_width(cr, lw);
      cairo_rectangle(cr, b.x + lw / 2, b.y + lw / 2, b.w - lw, b.h - lw);
      cairo_stroke(cr);
      if (n.segment_guides) DrawSegmentGuide(cr, b);
    }
    const bool kpu = n.segment_guides;  // the KPU page prints bolder bubbles
    for (int p = 0; p < 3 && n.has_bubbles; ++p)
      for (int v = 0; v < 10; ++v) {
        const Rect& b = n.bubbles[size_t(p)][size_t(v)];
        double lw = kpu ? 0.3 : kBubbleLineMm;
        double g = kpu ? 0.0 : kBubbleGray;
        cairo_set_source_rgb(cr, g, g, g);
        cairo_set_line_width(cr, lw);
        cairo_new_sub_path(cr);
        cairo_arc(cr, b.cx(), b.cy(), b.w / 2 - lw / 2, 0, 2 * M_PI);
        cairo_stroke(cr);
        DrawText(cr, std::to_string(v), {b.x, b.y, b.w, b.h}, b.h * (kpu ? 0.62 : 0.6), false,
                 false, 1, kpu ? 0.0 : kBubbleTextGray);
      }
  }

  for (const Fiducial& f : L.fiducials) REKAP_RETURN_IF_ERROR(DrawFiducial(cr, f));
  if (L.page_marker) REKAP_RETURN_IF_ERROR(DrawFiducial(cr, *L.page_marker));
  if (L.qr) {
    auto payload = QrPayloadFor(L, in);
    if (!payload.ok()) return payload.status();
    REKAP_RETURN_IF_ERROR(DrawQr(cr, *L.qr, *payload));
  }
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
    return Internal(std::string("cairo: ") + cairo_status_to_string(cairo_status(cr)));
  return Status::Ok();
}

}  // namespace

Result<cv::Mat> MarkerCells(std::string_view dictionary, int id) {
  int dict_id = -1, max_id = -1;
  if (dictionary == kArucoDict4x4_50) dict_id = cv::aruco::DICT_4X4_50, max_id = 49;
  else if (dictionary == kAprilTag36h10) dict_id = cv::aruco::DICT_APRILTAG_36h10, max_id = 2319;
  else if (dictionary == kAprilTag36h11) dict_id = cv::aruco::DICT_APRILTAG_36h11, max_id = 586;
  if (dict_id < 0 || id < 0 || id > max_id)
    return InvalidArgument("penanda tak dikenal / unknown marker: " + std::string(dictionary) +
                           " " + std::to_string(id));
  auto dict = cv::aruco::getPredefinedDictionary(dict_id);
  const int n = dict->markerSize + 2;
  cv::Mat m;
  dict->drawMarker(id, n, m, 1);
  return m;
}

Result<cv::Mat> QrModules(const std::string& payload) {
  QRcode* q = QRcode_encodeString(payload.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (!q) return Internal("libqrencode gagal / libqrencode failed");
  std::unique_ptr<QRcode, void (*)(QRcode*)> guard(q, QRcode_free);
  const int n = q->width;
  cv::Mat m(n, n, CV_8UC1);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) m.at<uint8_t>(y, x) = q->data[y * n + x] & 1;
  return m;
}

Result<std::string> QrPayloadFor(const PageLayout& L, const RenderInput& in) {
  QrPayload p{L.form_id, L.version, L.contest, in.tps, L.page, L.pages};
  std::string s = FormatQrPayload(p);
  auto back = ParseQrPayload(s);
  if (!back.ok()) return back.status();
  return s;
}

Result<cv::Mat> RenderPageImage(const PageLayout& L, const RenderInput& in, double px_per_mm) {
  if (!(px_per_mm > 0) || !std::isfinite(px_per_mm))
    return InvalidArgument("resolusi tidak sah / invalid resolution");
  const double w = std::round(L.width_mm * px_per_mm), h = std::round(L.height_mm * px_per_mm);
  if (w < 1 || h < 1 || w * h > 80e6)
    return ResourceExhausted("gambar terlalu besar / image too large");
  cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, int(w), int(h));
  std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> sg(s, cairo_surface_destroy);
  cairo_t* cr = cairo_create(s);
  std::unique_ptr<cairo_t, void (*)(cairo_t*)> cg(cr, cairo_destroy);
  cairo_scale(cr, w / L.width_mm, h / L.height_mm);
  REKAP_RETURN_IF_ERROR(DrawPage(cr, L, in));
  cairo_surface_flush(s);
  cv::Mat bgra(int(h), int(w), CV_8UC4, cairo_image_surface_get_data(s),
               size_t(cairo_image_surface_get_stride(s)));
  cv::Mat bgr;
  cv::cvtColor(bgra, bgr, cv::COLOR_BGRA2BGR);
  return bgr;
}

Status RenderPagePng(const PageLayout& L, const RenderInput& in, double dpi,
                     const std::string& path) {
  auto img = RenderPageImage(L, in, dpi / 25.4);
  if (!img.ok()) return img.status();
  // Written beside (keeping the extension imwrite chooses the format by) and renamed over: a
  // printed form's file is whole or absent.
  const std::string tmp = path + ".tmp.png";
  bool ok = false;
  std::string why;
  try {
    ok = cv::imwrite(tmp, *img);
  } catch (const cv::Exception& e) {
    why = std::string(": ") + e.what();
  }
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Unavailable("tidak bisa menulis / cannot write " + path + why);
  }
  return Status::Ok();
}

Status RenderPagesPdf(const std::vector<PageLayout>& pages, const RenderInput& in,
                      const std::string& path) {
  if (pages.empty()) return InvalidArgument("tidak ada halaman / no pages");
  // Drawn into a file beside and renamed over when whole: a page that cannot be drawn (or a
  // full disk) leaves no half-written PDF behind.
  const std::string tmp = path + ".tmp";
  struct Cleanup {
    const std::string& tmp;
    bool keep = false;
    ~Cleanup() {
      if (!keep) std::remove(tmp.c_str());
    }
  } cleanup{tmp};
  const double pt = 72.0 / 25.4;
  cairo_surface_t* s =
      cairo_pdf_surface_create(tmp.c_str(), pages[0].width_mm * pt, pages[0].height_mm * pt);
  std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> sg(s, cairo_surface_destroy);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
    return Unavailable("tidak bisa menulis / cannot write " + path);
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "rekap forms print");
  cairo_t* cr = cairo_create(s);
  std::unique_ptr<cairo_t, void (*)(cairo_t*)> cg(cr, cairo_destroy);
  for (const PageLayout& L : pages) {
    cairo_pdf_surface_set_size(s, L.width_mm * pt, L.height_mm * pt);
    cairo_save(cr);
    cairo_scale(cr, pt, pt);
    REKAP_RETURN_IF_ERROR(DrawPage(cr, L, in));
    cairo_restore(cr);
    cairo_show_page(cr);
  }
  cg.reset();
  cairo_surface_finish(s);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
    return Unavailable("tidak bisa menulis / cannot write " + path);
  sg.reset();
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Unavailable("tidak bisa menulis / cannot write " + path);
  cleanup.keep = true;
  return Status::Ok();
}

}  // namespace rekap::reader
