// Measures page 2 or 3 of KPU's C.HASIL-PPWP (rasterized at 300 dpi) and writes the layout JSON.
// Usage: m PAGE300.png 300 PAGE200.png [2|3]. Page 2: three paslon numbers, digit boxes with
// 8-segment guides and bubble columns. Page 3: the totals V.A, V.B, V.C in plain digit boxes, no
// bubbles.
#include <opencv2/opencv.hpp>
#include <opencv2/aruco.hpp>
#include <nlohmann/json.hpp>
#include <cstdio>
#include <iostream>
using nlohmann::json;
static double k;  // mm per px
static double R(double v) { return std::round(v * 100) / 100; }
static json RJ(double x, double y, double w, double h) { return json::array({R(x), R(y), R(w), R(h)}); }
int main(int argc, char** argv) {
  cv::Mat g = cv::imread(argv[1], cv::IMREAD_GRAYSCALE);
  double dpi = atof(argv[2]); k = 25.4 / dpi; double s = 1 / k;
  const int page = argc > 4 ? atoi(argv[4]) : 2;
  if (page != 2 && page != 3) return 4;
  double W = g.cols * k, H = g.rows * k;
  fprintf(stderr, "page %.2f x %.2f mm\n", W, H);
  json j;
  j["format"] = "rekap-page-layout"; j["format_version"] = 1;
  j["form_id"] = "C.HASIL-PPWP-KPU-2024"; j["version"] = 1; j["contest"] = "ppwp";
  j["page"] = page; j["pages"] = 3; j["units"] = "mm"; j["width_mm"] = 600.0; j["height_mm"] = 900.0;
  cv::Mat bin; cv::threshold(g, bin, 128, 255, cv::THRESH_BINARY_INV);
  // 1. Corner checkers.
  cv::Mat lab, st, cen; int n = cv::connectedComponentsWithStats(bin, lab, st, cen, 8);
  std::vector<cv::Rect2d> corners;
  for (int i = 1; i < n; ++i) {
    double x = st.at<int>(i,0)*k, y = st.at<int>(i,1)*k, w = st.at<int>(i,2)*k, h = st.at<int>(i,3)*k, a = st.at<int>(i,4)*k*k;
    bool nearc = (x < 60 || x + w > W - 60) && (y < 60 || y + h > H - 60);
    if (nearc && w > 10 && w < 20 && std::abs(w - h) < 0.5 && std::abs(a / (w*h) - 0.5) < 0.05) corners.push_back({x, y, w, h});
  }
  if (corners.size() != 4) { fprintf(stderr, "corners: %zu\n", corners.size()); return 1; }
  std::sort(corners.begin(), corners.end(), [](auto& a, auto& b) { return a.y + a.x * 0.001 < b.y + b.x * 0.001; });
  cv::Rect2d ord[4] = {corners[0], corners[1], corners[3], corners[2]};  // TL, TR, BR, BL
  j["fiducials"] = json::array();
  for (auto& c : ord) j["fiducials"].push_back({{"dictionary", "kpu_checker"}, {"id", -1}, {"box", RJ(c.x, c.y, c.width, c.height)}, {"rotation_deg", 0}});
  // 2. AprilTag.
  auto dict = cv::aruco::getPredefinedDictionary(cv::aruco::DICT_APRILTAG_36h10);
  std::vector<std::vector<cv::Point2f>> mc; std::vector<int> ids;
  cv::Mat small = cv::imread(argv[3], cv::IMREAD_GRAYSCALE);
  cv::aruco::detectMarkers(small, dict, mc, ids);
  if (ids.size() != 1) return 2;
  {
    auto c = mc[0];
    for (auto& p : c) p *= 1.5f;
    // The box: the solid component under the marker's centre, at full resolution.
    cv::Point2f mid = (c[0] + c[2]) * 0.5f;
    int li = lab.at<int>(int(mid.y), int(mid.x));
    if (li == 0) { // centre may be white: take the component under a point near the border
      li = lab.at<int>(int(c[0].y * 0.98 + mid.y * 0.02), int(c[0].x * 0.98 + mid.x * 0.02));
    }
    double x0 = st.at<int>(li,0), y0 = st.at<int>(li,1), x1 = x0 + st.at<int>(li,2), y1 = y0 + st.at<int>(li,3);
    // Which box corner holds marker corner 0?
    double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2; int q;
    bool right = c[0].x > cx, bottom = c[0].y > cy;
    q = !bottom ? (right ? 1 : 0) : (right ? 2 : 3);
    j["page_marker"] = {{"dictionary", "apriltag_36h10"}, {"id", ids[0]}, {"box", RJ(x0*k, y0*k, (x1-x0)*k, (y1-y0)*k)}, {"rotation_deg", q * 90}};
    fprintf(stderr, "tag %d rot %d\n", ids[0], q * 90);
  }
  // 3. Digit boxes and bubbles (outer contours).
  std::vector<std::vector<cv::Point>> cs; std::vector<cv::Vec4i> hier;
  cv::findContours(bin, cs, hier, cv::RETR_CCOMP, cv::CHAIN_APPROX_NONE);
  std::vector<cv::Rect2d> boxes; std::vector<cv::Point2d> bub; std::vector<double> bubd;
  for (size_t i = 0; i < cs.size(); ++i) {
    if (hier[i][3] >= 0) continue;  // outer only
    cv::Rect r = cv::boundingRect(cs[i]);
    double w = r.width*k, h = r.height*k, x = r.x*k, y = r.y*k;
    if (x < 440) continue;
    if (w > 19 && w < 23 && h > 19 && h < 23) boxes.push_back({x, y, w, h});
    else if (w > 7.5 && w < 9 && h > 7.5 && h < 9) {
      cv::Moments m = cv::moments(cs[i]);
      bub.push_back({(m.m10 / m.m00 + 0.5) * k, (m.m01 / m.m00 + 0.5) * k});
      bubd.push_back((w + h) / 2);
    }
  }
  fprintf(stderr, "boxes %zu bubbles %zu\n", boxes.size(), bub.size());
  if (page == 2) {
    if (boxes.size() != 9 || bub.size() != 90) return 3;
    double d = 0; for (double v : bubd) d += v; d /= bubd.size();
    fprintf(stderr, "bubble diameter %.3f\n", d);
    std::sort(boxes.begin(), boxes.end(), [](auto& a, auto& b) { return a.y + a.x * 0.001 < b.y + b.x * 0.001; });
    std::sort(bub.begin(), bub.end(), [](auto& a, auto& b) { return a.y + a.x * 0.001 < b.y + b.x * 0.001; });
    j["numbers"] = json::array();
    for (int p = 0; p < 3; ++p) {
      json jn;
      jn["field"] = "suara_" + std::to_string(p + 1);
      jn["label"] = {{"id", "Suara sah paslon nomor urut " + std::to_string(p + 1)}, {"en", "Valid votes for pair " + std::to_string(p + 1)}};
      jn["section"] = "IV";
      jn["label_box"] = RJ(0, 0, 0, 0);
      jn["digit_boxes"] = json::array();
      for (int i = 0; i < 3; ++i) { auto& b = boxes[p * 3 + i]; jn["digit_boxes"].push_back(RJ(b.x, b.y, b.width, b.height)); }
      // bubbles of this paslon: 30, sorted by y then x: rows of 3 (positions), 10 rows (values)
      std::vector<cv::Point2d> mine(bub.begin() + p * 30, bub.begin() + p * 30 + 30);
      json rows = json::array();
      for (int pos = 0; pos < 3; ++pos) {
        json row = json::array();
        for (int v = 0; v < 10; ++v) {
          std::vector<cv::Point2d> r3(mine.begin() + v * 3, mine.begin() + v * 3 + 3);
          std::sort(r3.begin(), r3.end(), [](auto& a, auto& b) { return a.x < b.x; });
          row.push_back(RJ(r3[pos].x - d / 2, r3[pos].y - d / 2, d, d));
        }
        rows.push_back(row);
      }
      jn["bubbles"] = rows;
      jn["segment_guides"] = true;
      // border width: outer 20.96 vs inner hole 19.18 => 0.89 mm
      jn["box_line_mm"] = 0.89;
      jn["max_value"] = 999;
      j["numbers"].push_back(jn);
    }
  } else {
    if (boxes.size() != 9 || !bub.empty()) return 3;
    std::sort(boxes.begin(), boxes.end(), [](auto& a, auto& b) { return a.y + a.x * 0.001 < b.y + b.x * 0.001; });
    // Border width: the inner hole of the first box (its inner contour).
    double line = 0;
    {
      cv::Rect outer(int(boxes[0].x / k), int(boxes[0].y / k), int(boxes[0].width / k), int(boxes[0].height / k));
      cv::Mat in = bin(outer);
      int r = in.rows / 2, c = 0;
      while (c < in.cols && in.at<uint8_t>(r, c)) ++c;
      line = c * k;
      fprintf(stderr, "box border %.2f mm\n", line);
    }
    const char* fids[3] = {"suara_sah", "suara_tidak_sah", "suara_total"};
    const char* lid[3] = {"Jumlah seluruh suara sah", "Jumlah suara tidak sah", "Jumlah suara sah dan tidak sah"};
    const char* len[3] = {"Total valid votes", "Invalid votes", "Valid and invalid votes"};
    const char* sec[3] = {"V.A", "V.B", "V.C"};
    j["numbers"] = json::array();
    for (int p = 0; p < 3; ++p) {
      json jn;
      jn["field"] = fids[p];
      jn["label"] = {{"id", lid[p]}, {"en", len[p]}};
      jn["section"] = sec[p];
      jn["label_box"] = RJ(0, 0, 0, 0);
      jn["digit_boxes"] = json::array();
      for (int i = 0; i < 3; ++i) { auto& b = boxes[p * 3 + i]; jn["digit_boxes"].push_back(RJ(b.x, b.y, b.width, b.height)); }
      jn["bubbles"] = json::array();
      jn["segment_guides"] = false;
      jn["box_line_mm"] = R(line);
      jn["max_value"] = 999;
      j["numbers"].push_back(jn);
    }
  }
  // 4. Straight rules (table lines), black or gray, at least 8 mm long.
  cv::Mat lb; cv::threshold(g, lb, 215, 255, cv::THRESH_BINARY_INV);
  json frames = json::array();
  for (int dir = 0; dir < 2; ++dir) {
    int L = int(8 * s);
    cv::Mat ker = cv::getStructuringElement(cv::MORPH_RECT, dir == 0 ? cv::Size(L, 1) : cv::Size(1, L));
    cv::Mat op; cv::morphologyEx(lb, op, cv::MORPH_OPEN, ker);
    cv::Mat l2, s2, c2; int n2 = cv::connectedComponentsWithStats(op, l2, s2, c2, 8);
    for (int i = 1; i < n2; ++i) {
      cv::Rect r(s2.at<int>(i,0), s2.at<int>(i,1), s2.at<int>(i,2), s2.at<int>(i,3));
      double x = r.x*k, y = r.y*k, w = r.width*k, h = r.height*k;
      double th = dir == 0 ? h : w;
      if (th > 2.5 || th < 0.15) continue;  // solid blocks or anti-aliasing slivers, not rules
      // skip the digit boxes' own borders (drawn from the numbers)
      bool inbox = false;
      for (auto& b : boxes) if (x >= b.x - 0.5 && y >= b.y - 0.5 && x + w <= b.x + b.width + 0.5 && y + h <= b.y + b.height + 0.5) inbox = true;
      if (inbox) continue;
      double gray = cv::mean(g(r), op(r))[0] / 255.0;
      gray = std::round(gray * 20) / 20;
      if (dir == 0) frames.push_back({{"box", RJ(x, y + h / 2, w, 0)}, {"line_mm", R(th)}, {"gray", gray}});
      else frames.push_back({{"box", RJ(x + w / 2, y, 0, h)}, {"line_mm", R(th)}, {"gray", gray}});
    }
  }
  fprintf(stderr, "frames %zu\n", frames.size());
  j["frames"] = frames;
  // 4b. Page 2: each paslon's tally grid ("rincian perolehan suara sah"), from its light-grey
  // cell rules left of x = 420 mm: the vertical ones crossing the paslon's band and the
  // horizontal ones starting at the grid's left edge; one pitch more on either side.
  // Page 3: the invalid votes' tally grid ("rincian perolehan suara tidak sah", V.B), found
  // the same way.
  {
    for (int p = 0; p < 3; ++p) {
      if (page == 3 && p != 1) continue;
      const double top = boxes[size_t(p) * 3].y - 10, bottom = top + 90;
      std::vector<double> xs, ys;
      for (const auto& f : frames) {
        const double x = f["box"][0], y = f["box"][1], w = f["box"][2], h = f["box"][3], gray = f["gray"];
        if (gray < 0.7 || x > 420) continue;
        if (w == 0 && y < bottom && y + h > top) xs.push_back(x);
        if (h == 0 && y > top && y < bottom && w > 100) ys.push_back(y);
      }
      std::sort(xs.begin(), xs.end());
      std::sort(ys.begin(), ys.end());
      if (xs.size() < 2 || ys.size() < 2) return 5;
      const double px = (xs.back() - xs.front()) / double(xs.size() - 1), py = (ys.back() - ys.front()) / double(ys.size() - 1);
      const double x0 = xs.front() - px, y0 = ys.front() - py;
      j["numbers"][size_t(p)]["tally"] = {{"box", RJ(x0, y0, xs.back() + px - x0, ys.back() + py - y0)},
                                          {"rows", int(ys.size()) + 1}, {"cols", int(xs.size()) + 1}, {"per_cell", 5}};
      fprintf(stderr, "tally %d: %zu x %zu cells\n", p + 1, ys.size() + 1, xs.size() + 1);
    }
  }
  // 5. Printed texts, placed by inspection of a 60 dpi rendering (1 px = 0.4233 mm).
  json texts = json::array();
  const double q = 25.4 / 60;
  auto T = [&](const std::string& key, const std::string& t, double px, double py, double size, bool bold, int align, bool italic = false, double wpx = 0) {
    double cy = py * q, w = wpx * q, x = px * q;
    if (align == 1) x -= w / 2;
    if (align == 2) x -= w;
    texts.push_back({{"key", key}, {"text", t}, {"box", RJ(x, cy - size * 0.6, w, size * 1.2)}, {"size_mm", size}, {"bold", bold}, {"italic", italic}, {"align", align}});
  };
  T("header", "Provinsi", 250, 203, 4.2, true, 0, false, 110);
  T("header", ":  ..............................................", 370, 207, 4.2, false, 0, false, 260);
  T("header", "Kabupaten / Kota", 250, 233, 4.2, true, 0, false, 120);
  T("header", ":  ..............................................", 370, 237, 4.2, false, 0, false, 260);
  T("header", "Kecamatan", 670, 203, 4.2, true, 0, false, 150);
  T("header", ":  ..............................................", 830, 207, 4.2, false, 0, false, 260);
  T("header", "Kelurahan / Desa *)", 670, 233, 4.2, true, 0, false, 150);
  T("header", ":  ..............................................", 830, 237, 4.2, false, 0, false, 260);
  T("header", "Nomor TPS", 670, 263, 4.2, true, 0, false, 150);
  T("header", ":  ........  (......................................)", 830, 267, 4.2, false, 0, false, 260);
  T("model", "MODEL", 1192, 201, 4.2, true, 1, false, 100);
  T("model", "C.HASIL-PPWP", 1192, 215, 4.2, true, 1, false, 100);
  T("page", "Halaman " + std::to_string(page) + " dari 3", 1192, 243, 4.0, true, 1, false, 110);
  if (page == 2) {
    T("title", "IV.    DATA RINCIAN PEROLEHAN SUARA PASANGAN CALON PRESIDEN DAN WAKIL PRESIDEN", 173, 322, 5.6, true, 0, false, 720);
    T("table", "NOMOR DAN NAMA", 300, 390, 3.4, true, 1, false, 250);
    T("table", "PASANGAN CALON", 300, 403, 3.4, true, 1, false, 250);
    T("table", "RINCIAN PEROLEHAN SUARA SAH", 705, 388, 3.6, true, 1, false, 550);
    const int colx[12] = {451, 497, 543, 589, 635, 681, 728, 774, 820, 866, 912, 958};
    for (int c = 0; c < 12; ++c) T("table", std::to_string(c + 1), colx[c], 412, 3.0, false, 1, false, 40);
    T("table", "JUMLAH", 1022, 390, 3.4, true, 1, false, 78);
    T("table", "TIAP BARIS", 1022, 403, 3.4, true, 1, false, 78);
    T("table", "JUMLAH SUARA SAH", 1154, 397, 3.4, true, 1, false, 180);
    const double pitch_px = 152.02 / q;
    for (int p = 0; p < 3; ++p) {
      double o = p * pitch_px;
      T("paslon", std::to_string(p + 1), 300, 450 + o, 11.0, true, 1, false, 60);
      T("paslon", "NAMA CALON PRESIDEN", 300, 493 + o, 4.4, true, 1, false, 250);
      T("paslon", "NAMA CALON WAKIL PRESIDEN", 300, 509 + o, 4.4, true, 1, false, 250);
      T("hint", "Hitamkan bulatan ini sesuai dengan", 951, 670 + o, 4.0, false, 1, true, 200);
      T("hint", "isian angka pada kotak", 951, 684 + o, 4.0, false, 1, true, 200);
      T("hint", "( ditulis menggunakan huruf kapital )", 494, 735 + o, 2.4, false, 1, true, 140);
    }
    T("sign", "NAMA DAN TANDA TANGAN KELOMPOK PENYELENGGARA PEMUNGUTAN SUARA", 708, 1769, 3.6, true, 1, false, 600);
    for (int i = 0; i < 7; ++i) {
      T("sign", std::to_string(i + 1) + ".", 177 + 155.2 * i, 1822, 4.0, true, 0, false, 20);
      T("sign", "................", 202 + 155.2 * i, 1855, 3.4, false, 0, false, 110);
    }
    T("sign", "NAMA DAN TANDA TANGAN SAKSI PASANGAN CALON PRESIDEN DAN WAKIL PRESIDEN", 708, 1875, 3.6, true, 1, false, 700);
    for (int i = 0; i < 3; ++i) {
      T("sign", std::to_string(i + 1) + ".", 183 + 362 * i, 1917, 6.0, true, 0, false, 30);
      T("sign", "NAMA CALON PRESIDEN", 217 + 362 * i, 1909, 4.2, true, 0, false, 220);
      T("sign", "NAMA CALON WAKIL PRESIDEN", 217 + 362 * i, 1925, 4.2, true, 0, false, 220);
      T("sign", "......................", 263 + 362 * i, 2013, 4.0, false, 0, false, 170);
    }
  } else {
    T("title", "V.    DATA SUARA SAH DAN SUARA TIDAK SAH", 173, 322, 5.6, true, 0, false, 420);
    T("table", "A.", 190, 415, 3.6, true, 1, false, 20);
    T("table", "JUMLAH SELURUH", 300, 398, 4.2, true, 1, false, 200);
    T("table", "SUARA SAH", 300, 415, 4.2, true, 1, false, 200);
    T("table", "( IV.1 + IV.2 + IV.3 )", 300, 432, 3.6, true, 1, true, 200);
    T("hint", "( ditulis menggunakan huruf kapital )", 985, 432, 2.4, false, 2, true, 140);
    T("table", "RINCIAN PEROLEHAN SUARA TIDAK SAH", 705, 508, 3.6, true, 1, false, 400);
    T("table", "JUMLAH", 1018, 511, 3.0, true, 1, false, 60);
    T("table", "TIAP BARIS", 1018, 524, 3.0, true, 1, false, 60);
    T("table", "JUMLAH SUARA TIDAK SAH", 1154, 516, 3.4, true, 1, false, 180);
    T("table", "B.", 190, 590, 3.6, true, 1, false, 20);
    T("table", "JUMLAH SUARA", 300, 580, 5.0, true, 1, false, 200);
    T("table", "TIDAK SAH", 300, 600, 5.0, true, 1, false, 200);
    T("table", "C.", 190, 752, 3.6, true, 1, false, 20);
    T("table", "JUMLAH SELURUH", 300, 727, 4.2, true, 1, false, 200);
    T("table", "SUARA SAH DAN", 300, 743, 4.2, true, 1, false, 200);
    T("table", "SUARA TIDAK SAH", 300, 759, 4.2, true, 1, false, 200);
    T("table", "( V.A + V.B )", 300, 776, 3.6, true, 1, true, 200);
    T("sign", "DITETAPKAN DI :", 200, 866, 4.2, true, 0, false, 110);
    T("sign", "TANGGAL :", 585, 866, 4.2, true, 0, false, 70);
    T("sign", "BULAN :", 730, 866, 4.2, true, 0, false, 60);
    T("sign", "TAHUN :", 880, 866, 4.2, true, 0, false, 60);
    T("sign", "NAMA DAN TANDA TANGAN KELOMPOK PENYELENGGARA PEMUNGUTAN SUARA", 708, 982, 3.6, true, 1, false, 600);
    T("sign", "NAMA DAN TANDA TANGAN SAKSI PASANGAN CALON PRESIDEN DAN WAKIL PRESIDEN", 708, 1097, 3.6, true, 1, false, 700);
  }
  T("note", "*) Coret yang tidak perlu", 1228, 2046, 3.2, false, 2, true, 120);
  j["texts"] = texts;
  std::cout << j.dump(1) << "\n";
}
