// rekap: the rule expression language of form schemas (grammar in docs/form-schema.md).
//
// A rule such as `sum(suara) == suara_sah` is lexed, parsed, type-checked and compiled in one
// pass into a flat postfix program over field indices (CompiledRule). Evaluation runs that
// program on a fixed-size stack of doubles: no allocation, no lookups, no strings.
//
// Truth values are doubles: 1 (true), 0 (false) and NaN (undefined: a division by zero
// somewhere that the logic could not discard). `&&`, `||` and `!` follow Kleene's three-valued
// logic, so `x < 50 || y / x > 0.95` is true when x = 0. A rule whose result is undefined
// neither passes nor fails.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rekap/form.h"
#include "rekap/status.h"

namespace rekap {

namespace rule {

enum class Op : uint8_t {
  kConst,   // push num
  kLoad,    // push values[arg]
  kEach,    // push values[group_first + member]
  kSum,     // push sum of the group
  kMax,     // push max of the group
  kMin,     // push min of the group
  kNeg,
  kAdd,
  kSub,
  kMul,
  kDiv,     // x / 0 = NaN
  kAbs,
  kCeil,
  kFloor,
  kMax2,
  kMin2,
  kEq,      // comparisons: arg = index into CompiledRule::comparisons
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
  kNot,
};

struct Instr {
  Op op = Op::kConst;
  int32_t arg = 0;
  double num = 0;
};

// Upper bound of the evaluation stack; deeper expressions are rejected when compiled.
inline constexpr int kMaxStack = 48;
// Upper bound of a rule's source text.
inline constexpr size_t kMaxExprLength = 4096;

// What an identifier in a rule may name.
struct Symbols {
  // Field id -> field index (the concrete fields of the form).
  const std::map<std::string, int, std::less<>>* fields = nullptr;
  // The candidate group: name, first field index and member count.
  std::string_view group;
  int group_first = 0;
  int group_size = 0;
  // Named constants (schema params with their bound values).
  const std::map<std::string, double, std::less<>>* params = nullptr;
};

}  // namespace rule

// A rule compiled against one Form (declared in rekap/form.h).
struct CompiledRule {
  std::vector<rule::Instr> code;
  // Field indices the rule reads, ascending, unique (group members included when the rule
  // uses the group). The rule applies iff all of them are present.
  std::vector<int32_t> reads;
  // Field indices read outside the group (ascending).
  std::vector<int32_t> scalar_reads;
  bool uses_each = false;       // quantified: evaluated once per group member
  bool uses_aggregate = false;  // sum/max/min over the group
  int group_first = 0;
  int group_size = 0;
  int max_stack = 0;
  // Source text of each comparison, in evaluation order (for failure details).
  std::vector<std::string> comparisons;
};

namespace rule {

// Compiles `expr` (the text of rule `rule_id`) against `symbols`. Errors are
// InvalidArgument, bilingual, and name the rule id, the offending token and its column.
Result<CompiledRule> Compile(std::string_view rule_id, std::string_view expr,
                             const Symbols& symbols);

// Evaluates `rule` for `values`; `member` is the 0-based group member bound to `each(...)`.
// Returns 1 (holds), 0 (fails) or NaN (undefined). Does not check for missing values.
double Evaluate(const CompiledRule& rule, const Value* values, int member);

// Like Evaluate, also appending the two sides of every comparison, in order, to `sides`.
double EvaluateTraced(const CompiledRule& rule, const Value* values, int member,
                      std::vector<std::pair<double, double>>* sides);

// True iff every field the rule reads is present (not kMissing).
inline bool AllPresent(const CompiledRule& rule, const Value* values) {
  for (int32_t i : rule.reads) {
    if (values[i] == kMissing) return false;
  }
  return true;
}

// Formats a number for messages: integers without a fraction, otherwise up to 4 decimals.
std::string FormatNumber(double x);

// "kiri/left=233 kanan/right=228", or "[a == b] kiri/left=.. kanan/right=..; [...] ..." when
// the rule has several comparisons.
std::string DescribeSides(const CompiledRule& rule,
                          const std::vector<std::pair<double, double>>& sides);

// True iff `name` is a function of the rule language (names fields and params may not take).
bool IsFunctionName(std::string_view name);

}  // namespace rule
}  // namespace rekap
