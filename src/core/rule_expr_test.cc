#include "core/rule_expr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace rekap::rule {
namespace {

// Fields a=0, b=1, c=2, zero=3, group "g" = indices 4..6; param lim = 10.
class RuleExprTest : public ::testing::Test {
 protected:
  RuleExprTest() {
    fields_ = {{"a", 0}, {"b", 1}, {"c", 2}, {"zero", 3}};
    params_ = {{"lim", 10.0}};
    sym_.fields = &fields_;
    sym_.group = "g";
    sym_.group_first = 4;
    sym_.group_size = 3;
    sym_.params = &params_;
    values_ = {2, 3, 5, 0, 4, 9, 1};
  }

  double Eval(const std::string& expr, int member = 0) {
    auto r = Compile("t", expr, sym_);
    EXPECT_TRUE(r.ok()) << expr << ": " << r.status().ToString();
    if (!r.ok()) return -1;
    return Evaluate(*r, values_.data(), member);
  }

  std::string Error(const std::string& expr) {
    auto r = Compile("aturan_uji", expr, sym_);
    EXPECT_FALSE(r.ok()) << expr;
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    return r.status().message();
  }

  std::map<std::string, int, std::less<>> fields_;
  std::map<std::string, double, std::less<>> params_;
  Symbols sym_;
  std::vector<Value> values_;
};

TEST_F(RuleExprTest, ArithmeticAndPrecedence) {
  EXPECT_EQ(Eval("a + b * c == 17"), 1.0);
  EXPECT_EQ(Eval("(a + b) * c == 25"), 1.0);
  EXPECT_EQ(Eval("c - a - b == 0"), 1.0);       // left associative
  EXPECT_EQ(Eval("c / a == 2.5"), 1.0);          // decimal
  EXPECT_EQ(Eval("-a + c == 3"), 1.0);
  EXPECT_EQ(Eval("a - -b == 5"), 1.0);
  EXPECT_EQ(Eval("lim * a == 20"), 1.0);         // param
  EXPECT_EQ(Eval("0.5 * a == 1"), 1.0);
}

TEST_F(RuleExprTest, Comparisons) {
  EXPECT_EQ(Eval("a < b"), 1.0);
  EXPECT_EQ(Eval("a > b"), 0.0);
  EXPECT_EQ(Eval("a <= 2"), 1.0);
  EXPECT_EQ(Eval("a >= 3"), 0.0);
  EXPECT_EQ(Eval("a != b"), 1.0);
  EXPECT_EQ(Eval("a == b"), 0.0);
}

TEST_F(RuleExprTest, LogicAndNot) {
  EXPECT_EQ(Eval("a < b && b < c"), 1.0);
  EXPECT_EQ(Eval("a > b && b < c"), 0.0);
  EXPECT_EQ(Eval("a > b || b < c"), 1.0);
  EXPECT_EQ(Eval("!(a > b)"), 1.0);
  EXPECT_EQ(Eval("!a > b"), 1.0);  // '!' binds looser than comparisons: !(a > b)
  EXPECT_EQ(Eval("a > b || b > c || c == 5"), 1.0);
  EXPECT_EQ(Eval("a == 2 && (b == 0 || c == 5)"), 1.0);
}

TEST_F(RuleExprTest, Functions) {
  EXPECT_EQ(Eval("sum(g) == 14"), 1.0);
  EXPECT_EQ(Eval("max(g) == 9"), 1.0);
  EXPECT_EQ(Eval("min(g) == 1"), 1.0);
  EXPECT_EQ(Eval("max(a, c) == 5"), 1.0);
  EXPECT_EQ(Eval("min(a, c) == 2"), 1.0);
  EXPECT_EQ(Eval("abs(a - c) == 3"), 1.0);
  EXPECT_EQ(Eval("ceil(c / a) == 3"), 1.0);
  EXPECT_EQ(Eval("floor(c / a) == 2"), 1.0);
  EXPECT_EQ(Eval("max(a + 1, min(b, c)) == 3"), 1.0);
}

TEST_F(RuleExprTest, EachBindsOneMemberAtATime) {
  auto r = Compile("t", "each(g) <= c", sym_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->uses_each);
  EXPECT_FALSE(r->uses_aggregate);
  EXPECT_EQ(Evaluate(*r, values_.data(), 0), 1.0);  // 4 <= 5
  EXPECT_EQ(Evaluate(*r, values_.data(), 1), 0.0);  // 9 <= 5
  EXPECT_EQ(Evaluate(*r, values_.data(), 2), 1.0);  // 1 <= 5
  EXPECT_EQ(r->reads, (std::vector<int32_t>{2, 4, 5, 6}));
  EXPECT_EQ(r->scalar_reads, (std::vector<int32_t>{2}));
}

TEST_F(RuleExprTest, ReadsAreSortedAndUnique) {
  auto r = Compile("t", "c + a + c == sum(g) - a", sym_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->reads, (std::vector<int32_t>{0, 2, 4, 5, 6}));
  EXPECT_TRUE(r->uses_aggregate);
}

TEST_F(RuleExprTest, DivisionByZeroIsUndefinedUnlessLogicDecides) {
  EXPECT_TRUE(std::isnan(Eval("a / zero > 1")));
  EXPECT_EQ(Eval("zero == 0 || a / zero > 1"), 1.0);   // true dominates
  EXPECT_EQ(Eval("zero != 0 && a / zero > 1"), 0.0);   // false dominates
  EXPECT_TRUE(std::isnan(Eval("zero != 0 || a / zero > 1")));
  EXPECT_TRUE(std::isnan(Eval("!(a / zero > 1)")));
}

TEST_F(RuleExprTest, TracedEvaluationReportsSides) {
  auto r = Compile("t", "a + b == c + 1", sym_);
  ASSERT_TRUE(r.ok());
  std::vector<std::pair<double, double>> sides;
  EXPECT_EQ(EvaluateTraced(*r, values_.data(), 0, &sides), 0.0);
  ASSERT_EQ(sides.size(), 1u);
  EXPECT_EQ(DescribeSides(*r, sides), "kiri/left=5 kanan/right=6");

  auto r2 = Compile("t", "a > 100 || b * 10 <= c", sym_);
  ASSERT_TRUE(r2.ok());
  sides.clear();
  EXPECT_EQ(EvaluateTraced(*r2, values_.data(), 0, &sides), 0.0);
  EXPECT_EQ(DescribeSides(*r2, sides),
            "[a > 100] kiri/left=2 kanan/right=100; [b * 10 <= c] kiri/left=30 kanan/right=5");
}

TEST_F(RuleExprTest, FormatNumber) {
  EXPECT_EQ(FormatNumber(233), "233");
  EXPECT_EQ(FormatNumber(-4), "-4");
  EXPECT_EQ(FormatNumber(2.5), "2.5");
  EXPECT_EQ(FormatNumber(1.0 / 3), "0.3333");
}

TEST_F(RuleExprTest, ErrorUnknownFieldNamesRuleTokenAndColumn) {
  std::string m = Error("a + bb == c");
  EXPECT_NE(m.find("aturan_uji"), std::string::npos) << m;
  EXPECT_NE(m.find("'bb'"), std::string::npos) << m;
  EXPECT_NE(m.find("column 5"), std::string::npos) << m;
  EXPECT_NE(m.find("kolom 5"), std::string::npos) << m;
}

TEST_F(RuleExprTest, ErrorSyntaxNamesColumn) {
  std::string m = Error("a + * 2 == 3");
  EXPECT_NE(m.find("column 5"), std::string::npos) << m;
  EXPECT_NE(m.find("'*'"), std::string::npos) << m;

  m = Error("(a + b == c");
  EXPECT_NE(m.find("column 12"), std::string::npos) << m;
  EXPECT_NE(m.find("')'"), std::string::npos) << m;

  m = Error("a == b)");
  EXPECT_NE(m.find("column 7"), std::string::npos) << m;

  m = Error("a = b");
  EXPECT_NE(m.find("column 3"), std::string::npos) << m;
  EXPECT_NE(m.find("=="), std::string::npos) << m;

  m = Error("a & b");
  EXPECT_NE(m.find("&&"), std::string::npos) << m;
  m = Error("a == b # c");
  EXPECT_NE(m.find("column 8"), std::string::npos) << m;
  m = Error("a == 1.");
  EXPECT_NE(m.find("column 6"), std::string::npos) << m;
  m = Error("a == 2x");
  EXPECT_NE(m.find("'2x'"), std::string::npos) << m;
  Error("");
  Error("a ==");
}

TEST_F(RuleExprTest, ErrorUnknownFunction) {
  std::string m = Error("foo(a) == 1");
  EXPECT_NE(m.find("unknown function 'foo'"), std::string::npos) << m;
  EXPECT_NE(m.find("column 1"), std::string::npos) << m;
  EXPECT_NE(m.find("aturan_uji"), std::string::npos) << m;
}

TEST_F(RuleExprTest, ErrorUnknownParamOrField) {
  std::string m = Error("a <= max_voters");
  EXPECT_NE(m.find("'max_voters'"), std::string::npos) << m;
  EXPECT_NE(m.find("column 6"), std::string::npos) << m;
}

TEST_F(RuleExprTest, ErrorTypeAndUsage) {
  EXPECT_NE(Error("a + b").find("comparison"), std::string::npos);   // not a condition
  EXPECT_NE(Error("a < b < c").find("chained"), std::string::npos);
  EXPECT_NE(Error("(a < b) + 1 == 2").find("condition, not a number"), std::string::npos);
  EXPECT_NE(Error("a && b").find("number, not a condition"), std::string::npos);
  EXPECT_NE(Error("g == 1").find("group 'g'"), std::string::npos);
  EXPECT_NE(Error("sum(a) == 1").find("sum()"), std::string::npos);
  EXPECT_NE(Error("each(a) == 1").find("each()"), std::string::npos);
  EXPECT_NE(Error("abs(a, b) == 1").find("abs()"), std::string::npos);
  EXPECT_NE(Error("max(a) == 1").find("max()"), std::string::npos);
  EXPECT_NE(Error("max(a, b, c) == 1").find("max()"), std::string::npos);
  EXPECT_NE(Error("sum == 1").find("parentheses"), std::string::npos);
  EXPECT_NE(Error("1 == 1").find("reads no field"), std::string::npos);
}

TEST_F(RuleExprTest, ErrorTooDeep) {
  std::string open(200, '('), close(200, ')');
  EXPECT_NE(Error(open + "a" + close + " == 1").find("deep"), std::string::npos);
  std::string big(kMaxExprLength + 1, ' ');
  EXPECT_NE(Error("a == 1" + big).find("long"), std::string::npos);
}

}  // namespace
}  // namespace rekap::rule
