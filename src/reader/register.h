// rekap reader: where a page that does not lie flat has moved its print (register.cc).
//
// A homography through the four corner marks puts a flat page's print where it is. A page
// that bends (a plano taped to a wall, a sheet folded for the trip to the PPK) moves its middle
// by several millimetres against that plane, further than a number can be searched for on its
// own without slipping onto the next bubble or box. The layout itself is drawn (the same
// drawing `rekap forms print` prints), the photo is warped onto it through the homography, and
// patch by patch (a few centimetres of frames, boxes, bubbles and text, which do not repeat at
// that size) the drawing is looked for in the photo; the offsets that match clearly give a
// smooth field of displacement over the page.
#pragma once

#include <opencv2/core.hpp>
#include <optional>
#include <vector>

#include "reader/layout.h"

namespace rekap::reader {

// A smooth displacement over the page: the print at page point p (mm) lies, in the photo,
// where the homography puts p + At(p). Nodes on a regular grid, bilinear between them.
struct PageField {
  double width_mm = 0, height_mm = 0;
  int nx = 0, ny = 0;             // nodes across and down (at least 2 each)
  std::vector<cv::Point2d> node;  // ny rows of nx, mm
  int patches = 0;                // patches of the drawing with print enough to look for
  int matched = 0;                // of those, found clearly in the photo
  int kept = 0;                   // of those, on the smooth field
  double max_mm = 0;              // the largest displacement at a kept patch
  double marks_mm = 0;            // the largest displacement at the page's fiducials
  cv::Point2d At(const cv::Point2d& p) const;
};

// The page's print looked for in `work` (8-bit grey, the photo) around where H (page mm ->
// work px) puts it, up to 2.5 % of the page's diagonal off (27 mm on KPU's plano, 13 mm on
// our A3). Empty where too few patches match (a blank or torn page, a photo too blurred).
std::optional<PageField> FieldFromPrint(const cv::Mat& work, const cv::Matx33d& H,
                                        const PageLayout& L);

}  // namespace rekap::reader
