// rekap reader: why a consistent page went to review (`rekap bench reader`'s review_causes),
// put down to one cause from the numbers it left unconfirmed, given what was written on it.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "reader/read.h"

namespace rekap::reader {

// The digit written in box `pos` (0 hundreds, 1 tens, 2 ones) of `v`; -1 where the box is
// left blank (a leading position, unless the writer fills leading zeros).
int WrittenDigit(int v, int pos, bool leading_zeros);

enum class ReviewCause {
  kDigitMisread,   // an unconfirmed number's box read as another digit (or a blank box as one)
  kBubblesUnread,  // else: an unconfirmed number whose bubbles were not read
  kOther,
};

struct ReviewExplanation {
  ReviewCause cause = ReviewCause::kOther;
  // kDigitMisread: such a box's handwritten sample is misread by the networks on its own too
  // (misread_alone said so for its sample index); false where unknown.
  bool misread_alone_too = false;
};

// `written`: the values written per field; `leading_zeros`: fields written with leading
// zeros; `samples`: per field the sample index each box was written from (-1 blank, -2 drawn
// otherwise); `misread_alone(index)`: whether the networks misread that sample on its own
// (may be empty: not asked).
ReviewExplanation ExplainReview(const Reading& r, const std::map<std::string, int>& written,
                                const std::set<std::string>& leading_zeros,
                                const std::map<std::string, std::array<int, 3>>& samples,
                                const std::function<bool(int)>& misread_alone);

}  // namespace rekap::reader
