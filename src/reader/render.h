// rekap reader: drawing a PageLayout with cairo (PDF for printing, raster for tests/synth).
//
// The page is drawn as printed: corner fiducials (ArUco DICT_4X4_50 bits from OpenCV, or the
// KPU checker / AprilTag tag36h10 for the KPU page), the QR code (libqrencode, payload from
// FormatQrPayload) with a 4-module quiet zone, header texts with the TPS id and region names
// filled in, digit boxes (empty; with dotted 8-segment guides on the KPU page) and unfilled
// OMR bubbles with their value printed inside in light gray. Nothing is ever written into the
// boxes or bubbles: filling is the synthesiser's job.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "reader/layout.h"
#include "rekap/status.h"

namespace rekap::reader {

// What is printed into the header placeholders ({tps}, {provinsi}, ... ; see TextItem).
struct RenderInput {
  std::string tps;        // 13-digit TPS id; required for a page with a QR code
  std::string provinsi, kabkota, kecamatan, desa;  // region names (may be empty)
};

// The QR payload printed on `layout` for `in` (FormatQrPayload of form id, version, contest,
// TPS, page/pages). Fails when the TPS id or the layout's ids are invalid.
Result<std::string> QrPayloadFor(const PageLayout& layout, const RenderInput& in);

// The QR code printed for `payload` (libqrencode, error correction level M, 8-bit mode): its
// n x n modules without the quiet zone, CV_8UC1, 1 = dark, 0 = light.
Result<cv::Mat> QrModules(const std::string& payload);

// Renders one page to an 8-bit image (CV_8UC3, BGR, white paper) at `px_per_mm` pixels per
// millimetre (dpi / 25.4). Size: round(width_mm * px_per_mm) x round(height_mm * px_per_mm).
// Bounded: fails with RESOURCE_EXHAUSTED above 80 megapixels.
Result<cv::Mat> RenderPageImage(const PageLayout& layout, const RenderInput& in,
                                double px_per_mm);

// Writes a PNG of one page at `dpi`.
Status RenderPagePng(const PageLayout& layout, const RenderInput& in, double dpi,
                     const std::string& path);

// Writes a PDF with one PDF page per layout (each at its own size in mm, vector graphics).
Status RenderPagesPdf(const std::vector<PageLayout>& pages, const RenderInput& in,
                      const std::string& path);

// The marker's cells, border included: a (n+2) x (n+2) CV_8UC1 of 0 (black) / 255 (white),
// upright (rotation 0), for the dictionaries aruco_4x4_50, apriltag_36h10, apriltag_36h11.
Result<cv::Mat> MarkerCells(std::string_view dictionary, int id);

}  // namespace rekap::reader
