// rekap: form schemas (the C.Hasil fields) and their rules, as data.
//
// A FormSchema is loaded from a TOML file shipped under data/schemas/. It lists the fields
// of one C.Hasil form, where they sit on the pages, and rules written in a small expression
// language (docs/form-schema.md). A schema names one repeated group for the votes per
// candidate; binding it to a contest with N candidates yields a Form whose fields are
// concrete (`suara_1` .. `suara_N`) and whose rules are compiled against field indices.
//
// Thread-safety: Form is immutable after Bind() and may be shared across threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rekap/status.h"

namespace rekap {

// A number written on the form. Every field holds 0..max_value (999 on C.Hasil).
using Value = int32_t;
// Marks a field not (yet) received. Never a valid value.
inline constexpr Value kMissing = -1;

struct Text {
  std::string id;  // Bahasa Indonesia
  std::string en;  // English
};

struct FieldDef {
  std::string id;        // e.g. "dpt_l", "suara_2"
  Text label;
  std::string section;   // e.g. "I.A", "IV"
  int page = 1;          // page of the form the field is printed on (1-based)
  Value max_value = 999;
  int candidate = 0;     // 1-based candidate number for a candidate vote field, else 0
};

enum class Severity { kError, kWarning };

struct RuleDef {
  std::string id;        // stable id, e.g. "suara_sah_sama_jumlah_paslon"
  std::string expr;      // source text, e.g. "sum(suara) == suara_sah"
  Severity severity = Severity::kError;
  Text message;
};

// One failed rule on one result.
struct RuleFailure {
  std::string rule_id;
  Severity severity = Severity::kError;
  std::vector<std::string> fields;   // the fields the rule reads, in schema order
  std::vector<Value> values;         // their values, parallel to `fields`
  Text message;                      // from the rule definition
  std::string detail;                // e.g. "kiri/left=233 kanan/right=228"
};

class Form;

class FormSchema : public std::enable_shared_from_this<FormSchema> {
 public:
  // Parses a schema from TOML text. Every rule is parsed and checked for unknown fields
  // and functions here; an error names the rule id and the offending token.
  static Result<std::shared_ptr<const FormSchema>> Parse(std::string_view toml_text,
                                                         std::string_view origin);
  static Result<std::shared_ptr<const FormSchema>> LoadFile(const std::string& path);

  const std::string& id() const { return id_; }
  int version() const { return version_; }
  const Text& title() const { return title_; }
  int pages() const { return pages_; }
  const std::string& candidate_group() const { return candidate_group_; }
  // Fields before binding; the candidate group is not expanded here.
  const std::vector<FieldDef>& fields() const { return fields_; }
  const std::vector<RuleDef>& rules() const { return rules_; }

  // Expands the candidate group for `candidates` candidates and compiles every rule.
  // `params` supplies named constants rules may use (e.g. max_voters = 300).
  Result<std::shared_ptr<const Form>> Bind(int candidates,
                                           const std::map<std::string, double>& params) const;

 private:
  friend class FormSchemaParser;
  std::string id_;
  int version_ = 1;
  Text title_;
  int pages_ = 1;
  std::string candidate_group_ = "suara";
  Text candidate_label_;
  int candidate_page_ = 1;
  std::string candidate_section_ = "IV";
  std::vector<FieldDef> fields_;
  std::vector<RuleDef> rules_;
  // Private details of the schema file (docs/form-schema.md).
  struct ParamDecl {
    std::string id;
    std::optional<double> default_value;
    std::optional<double> min, max;  // the values an election may give it
    bool integer = false;            // ... and only whole numbers
    Text label;
  };
  std::vector<ParamDecl> params_;          // constants rules may use
  size_t candidate_position_ = 0;          // fields_ index before which the group expands
  Value candidate_max_value_ = 999;
  std::string origin_;                     // file name or origin given to Parse
};

struct CompiledRule;  // defined in src/core

// A schema bound to a contest: concrete fields and compiled rules.
class Form {
 public:
  ~Form();
  const FormSchema& schema() const { return *schema_; }
  const std::vector<FieldDef>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  int candidates() const { return candidates_; }
  // Index of a field id, or -1.
  int IndexOf(std::string_view field_id) const;
  // Field id -> index, sorted by id (callers holding sorted names can merge instead of look up).
  const std::map<std::string, int, std::less<>>& index() const { return index_; }
  // Field index of candidate c (1-based).
  int CandidateIndex(int c) const { return first_candidate_ + c - 1; }
  // Well-known indices used by the tallies; -1 where the form lacks the field.
  int valid_index() const { return valid_index_; }      // suara_sah
  int invalid_index() const { return invalid_index_; }  // suara_tidak_sah
  int dpt_index() const { return dpt_index_; }          // dpt_j
  const std::vector<RuleDef>& rules() const { return rule_defs_; }

  // Checks `values` (size() entries; kMissing where not received) against every rule.
  // A rule that reads a missing field is not evaluated. Values outside 0..max_value are
  // reported as failures of the built-in rule "rentang_nilai" (range). Appends to `out`
  // and returns true iff no kError failure was found. Cost: linear in rule size, no
  // allocation when nothing fails.
  bool Validate(const Value* values, std::vector<RuleFailure>* out) const;
  // Ids of rules skipped for missing fields would be noise; this tells whether a rule
  // was evaluated for `values` (all its fields present).
  bool RuleApplies(size_t rule_index, const Value* values) const;

 private:
  friend class FormSchema;
  friend class FormSchemaParser;
  Form() = default;
  std::shared_ptr<const FormSchema> schema_;
  std::vector<FieldDef> fields_;
  std::vector<RuleDef> rule_defs_;
  std::vector<std::unique_ptr<CompiledRule>> compiled_;
  std::map<std::string, int, std::less<>> index_;
  std::vector<Value> max_values_;  // per field, parallel to fields_
  int candidates_ = 0;
  int first_candidate_ = 0;
  int valid_index_ = -1, invalid_index_ = -1, dpt_index_ = -1;
};

}  // namespace rekap
