// rekap reader: why a consistent page went to review (review_cause.h).
#include "reader/review_cause.h"

namespace rekap::reader {

int WrittenDigit(int v, int pos, bool leading_zeros) {
  const int d[3] = {v / 100, (v / 10) % 10, v % 10};
  const int first = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  if (pos < first && !leading_zeros) return -1;
  return d[pos];
}

ReviewExplanation ExplainReview(const Reading& r, const std::map<std::string, int>& written,
                                const std::set<std::string>& leading_zeros,
                                const std::map<std::string, std::array<int, 3>>& samples,
                                const std::function<bool(int)>& misread_alone) {
  bool misread = false, alone_too = false, unread = false;
  for (const auto& [field, v] : written) {
    const FieldReading* f = r.Find(field);
    if (f == nullptr || f->verified) continue;
    const auto smp = samples.find(field);
    for (int pos = 0; pos < 3; ++pos) {
      const int d = WrittenDigit(v, pos, leading_zeros.count(field) > 0);
      if (f->box_digit[size_t(pos)] == d) continue;
      misread = true;
      if (d >= 0 && misread_alone && smp != samples.end() && smp->second[size_t(pos)] >= 0)
        alone_too = alone_too || misread_alone(smp->second[size_t(pos)]);
    }
    unread = unread || (f->has_bubbles && f->omr == kMissing);
  }
  if (misread) return {ReviewCause::kDigitMisread, alone_too};
  if (unread) return {ReviewCause::kBubblesUnread, false};
  return {ReviewCause::kOther, false};
}

}  // namespace rekap::reader
