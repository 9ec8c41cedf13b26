// Tests for review_cause.h: why a consistent page went to review.
#include "reader/review_cause.h"

#include <gtest/gtest.h>

#include <vector>

namespace rekap::reader {
namespace {

FieldReading Field(const std::string& id, std::array<int, 3> boxes, Value omr, bool verified) {
  FieldReading f;
  f.field = id;
  f.box_digit = boxes;
  f.omr = omr;
  f.verified = verified;
  return f;
}

TEST(ReviewCause, WrittenDigitLeavesLeadingBoxesBlankUnlessZerosAreWritten) {
  EXPECT_EQ(WrittenDigit(58, 0, false), -1);
  EXPECT_EQ(WrittenDigit(58, 0, true), 0);
  EXPECT_EQ(WrittenDigit(58, 1, false), 5);
  EXPECT_EQ(WrittenDigit(58, 2, false), 8);
  EXPECT_EQ(WrittenDigit(7, 1, false), -1);
  EXPECT_EQ(WrittenDigit(105, 1, false), 0);
}

TEST(ReviewCause, AnUnconfirmedNumbersMisreadBoxIsTheCauseAndItsSampleIsAskedAbout) {
  Reading r;
  r.fields.push_back(Field("suara_1", {-1, 5, 8}, 58, true));   // confirmed
  r.fields.push_back(Field("suara_2", {-1, 4, 9}, 47, false));  // 47 written, the 7 read as 9
  const std::map<std::string, int> written{{"suara_1", 58}, {"suara_2", 47}};
  const std::map<std::string, std::array<int, 3>> samples{{"suara_1", {-1, 10, 11}}, {"suara_2", {-1, 20, 21}}};
  std::vector<int> asked;
  auto alone = [&](bool answer) {
    return [&asked, answer](int s) {
      asked.push_back(s);
      return answer;
    };
  };
  ReviewExplanation e = ExplainReview(r, written, {}, samples, alone(true));
  EXPECT_EQ(e.cause, ReviewCause::kDigitMisread);
  EXPECT_TRUE(e.misread_alone_too);
  EXPECT_EQ(asked, std::vector<int>{21});  // only the misread box's sample
  asked.clear();
  e = ExplainReview(r, written, {}, samples, alone(false));
  EXPECT_EQ(e.cause, ReviewCause::kDigitMisread);
  EXPECT_FALSE(e.misread_alone_too);
  // Not asked (the set unknown): a misread all the same, not put down to the digit.
  e = ExplainReview(r, written, {}, samples, nullptr);
  EXPECT_EQ(e.cause, ReviewCause::kDigitMisread);
  EXPECT_FALSE(e.misread_alone_too);
}

TEST(ReviewCause, ABlankBoxReadAsADigitIsAMisreadOfNoSample) {
  Reading r;
  r.fields.push_back(Field("suara_1", {7, 8, 0}, 80, false));  // 80 written, the blank box read as 7
  int asked = 0;
  const ReviewExplanation e = ExplainReview(r, {{"suara_1", 80}}, {}, {{"suara_1", {-1, 3, 4}}}, [&](int) {
    ++asked;
    return true;
  });
  EXPECT_EQ(e.cause, ReviewCause::kDigitMisread);
  EXPECT_FALSE(e.misread_alone_too);
  EXPECT_EQ(asked, 0);
  // Written with a leading zero, that 0 read right is no misread.
  r.fields[0].box_digit = {0, 8, 0};
  EXPECT_EQ(ExplainReview(r, {{"suara_1", 80}}, {"suara_1"}, {}, nullptr).cause, ReviewCause::kOther);
}

TEST(ReviewCause, BubblesUnreadOnlyWhereNoBoxIsMisread) {
  Reading r;
  r.fields.push_back(Field("suara_1", {-1, 6, 5}, kMissing, false));  // a bubble row left empty
  r.fields.push_back(Field("suara_2", {-1, 4, 9}, 47, true));         // misread but confirmed
  const std::map<std::string, int> written{{"suara_1", 65}, {"suara_2", 47}};
  EXPECT_EQ(ExplainReview(r, written, {}, {}, nullptr).cause, ReviewCause::kBubblesUnread);
  // Page 3's numbers have no bubbles: none unread.
  r.fields[0].has_bubbles = false;
  EXPECT_EQ(ExplainReview(r, written, {}, {}, nullptr).cause, ReviewCause::kOther);
  // A misread in an unconfirmed number comes first.
  r.fields[0].has_bubbles = true;
  r.fields[0].box_digit = {-1, 6, 3};
  EXPECT_EQ(ExplainReview(r, written, {}, {}, nullptr).cause, ReviewCause::kDigitMisread);
}

}  // namespace
}  // namespace rekap::reader
