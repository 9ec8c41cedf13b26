#include "rekap/form.h"

#include "core/toml.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include "core/rule_expr.h"

namespace rekap {
namespace {

constexpr int kMaxCandidates = 99;
constexpr int kMaxPages = 20;
constexpr Value kMaxFieldValue = 1000000;
constexpr size_t kMaxFields = 2000;
constexpr size_t kMaxRules = 2000;
constexpr std::string_view kRangeRuleId = "rentang_nilai";

Status Err(const std::string& where, const std::string& id_msg, const std::string& en_msg) {
  return InvalidArgument(where + id_msg + " / " + en_msg);
}

std::string Where(std::string_view origin, const toml::node& n) {
  std::string w(origin);
  if (n.source().begin.line > 0) w += ":" + std::to_string(n.source().begin.line);
  return w + ": ";
}

bool MatchesId(std::string_view s, size_t max_len, bool first_letter) {
  if (s.empty() || s.size() > max_len) return false;
  if (first_letter && !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool MatchesSchemaId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

// True iff `id` looks like a member of the expanded group, e.g. "suara_3".
bool IsGroupMemberId(std::string_view id, std::string_view group) {
  if (id.size() <= group.size() + 1 || id.substr(0, group.size()) != group ||
      id[group.size()] != '_') {
    return false;
  }
  for (char c : id.substr(group.size() + 1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status CheckKeys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                 const std::string& where, std::string_view what) {
  for (const auto& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
      std::string key(k.str());
      return Err(where, "kunci tak dikenal '" + key + "' di " + std::string(what),
                 "unknown key '" + key + "' in " + std::string(what));
    }
  }
  return Status::Ok();
}

Result<std::string> GetString(const toml::table& t, std::string_view key, bool required,
                              const std::string& where, std::string_view what) {
  const toml::node* n = t.get(key);
  std::string k(key);
  if (n == nullptr) {
    if (required) {
      return Err(where, "kunci wajib '" + k + "' tidak ada di " + std::string(what),
                 "required key '" + k + "' missing in " + std::string(what));
    }
    return std::string();
  }
  if (!n->is_string()) {
    return Err(where, "'" + k + "' harus teks", "'" + k + "' must be a string");
  }
  return std::string(n->as_string()->get());
}

Result<int64_t> GetInt(const toml::table& t, std::string_view key, int64_t def, int64_t lo,
                       int64_t hi, const std::string& where) {
  const toml::node* n = t.get(key);
  std::string k(key);
  if (n == nullptr) return def;
  if (!n->is_integer()) {
    return Err(where, "'" + k + "' harus bilangan bulat", "'" + k + "' must be an integer");
  }
  int64_t v = n->as_integer()->get();
  if (v < lo || v > hi) {
    std::string range = std::to_string(lo) + ".." + std::to_string(hi);
    return Err(where, "'" + k + "' harus " + range, "'" + k + "' must be " + range);
  }
  return v;
}

// A bilingual text: `key = { id = "...", en = "..." }`.
Result<Text> GetText(const toml::table& t, std::string_view key, bool required,
                     const std::string& where) {
  const toml::node* n = t.get(key);
  std::string k(key);
  if (n == nullptr) {
    if (required) {
      return Err(where, "kunci wajib '" + k + "' tidak ada", "required key '" + k + "' missing");
    }
    return Text{};
  }
  const toml::table* tt = n->as_table();
  if (tt == nullptr) {
    return Err(where, "'" + k + "' harus tabel { id = \"...\", en = \"...\" }",
               "'" + k + "' must be a table { id = \"...\", en = \"...\" }");
  }
  REKAP_RETURN_IF_ERROR(CheckKeys(*tt, {"id", "en"}, where, k));
  Text text;
  REKAP_ASSIGN_OR_RETURN(text.id, GetString(*tt, "id", true, where, k));
  REKAP_ASSIGN_OR_RETURN(text.en, GetString(*tt, "en", true, where, k));
  if (text.id.empty() || text.en.empty()) {
    return Err(where, "'" + k + "' perlu teks id dan en yang tidak kosong",
               "'" + k + "' needs non-empty id and en texts");
  }
  return text;
}

// Iterates an optional array of tables `key`.
Result<const toml::array*> GetTableArray(const toml::table& t, std::string_view key,
                                         const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return static_cast<const toml::array*>(nullptr);
  const toml::array* a = n->as_array();
  std::string k(key);
  if (a == nullptr || !a->is_array_of_tables()) {
    return Err(where, "'" + k + "' harus larik tabel [[" + k + "]]",
               "'" + k + "' must be an array of tables [[" + k + "]]");
  }
  return a;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFound("berkas tidak dapat dibuka: " + path + " / cannot open file: " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return Unavailable("gagal membaca berkas: " + path + " / failed to read file: " + path);
  }
  return ss.str();
}

std::string CandidateLabel(const std::string& tmpl, int n) {
  std::string s = tmpl;
  size_t at = s.find("{n}");
  if (at == std::string::npos) return s + " " + std::to_string(n);
  return s.replace(at, 3, std::to_string(n));
}

}  // namespace

class FormSchemaParser {
 public:
  static Result<std::shared_ptr<const FormSchema>> Parse(std::string_view text,
                                                         std::string_view origin);
  static Result<std::shared_ptr<const Form>> Bind(const FormSchema& s, int candidates,
                                                  const std::map<std::string, double>& params);
};

Result<std::shared_ptr<const FormSchema>> FormSchemaParser::Parse(std::string_view text,
                                                                  std::string_view origin) {
  const std::string org(origin);
  REKAP_RETURN_IF_ERROR(CheckTomlText(text, org));
  toml::parse_result parsed = toml::parse(text, origin);
  if (parsed.failed()) {
    const auto& e = parsed.error();
    std::string where = org + ":" + std::to_string(e.source().begin.line) + ":" +
                        std::to_string(e.source().begin.column) + ": ";
    return Err(where, "TOML tidak sah: " + std::string(e.description()),
               "invalid TOML: " + std::string(e.description()));
  }
  const toml::table& root = parsed.table();
  const std::string top = org + ": ";
  REKAP_RETURN_IF_ERROR(CheckKeys(root, {"id", "version", "title", "pages", "param", "field", "rule"},
                                  top, "skema/schema"));

  auto schema = std::make_shared<FormSchema>();
  FormSchema& s = *schema;
  s.origin_ = org;
  REKAP_ASSIGN_OR_RETURN(s.id_, GetString(root, "id", true, top, "skema/schema"));
  if (!MatchesSchemaId(s.id_)) {
    return Err(top, "id skema tidak sah '" + s.id_ + "' (huruf, angka, . _ -; maks. 64)",
               "invalid schema id '" + s.id_ + "' (letters, digits, . _ -; max 64)");
  }
  const std::string sid = org + ": skema/schema " + s.id_ + ": ";
  REKAP_ASSIGN_OR_RETURN(int64_t version, GetInt(root, "version", 1, 1, 1000000, sid));
  s.version_ = static_cast<int>(version);
  REKAP_ASSIGN_OR_RETURN(s.title_, GetText(root, "title", true, sid));
  REKAP_ASSIGN_OR_RETURN(int64_t pages, GetInt(root, "pages", 1, 1, kMaxPages, sid));
  s.pages_ = static_cast<int>(pages);

  // ---- params
  REKAP_ASSIGN_OR_RETURN(const toml::array* params, GetTableArray(root, "param", sid));
  std::set<std::string, std::less<>> param_ids;
  if (params != nullptr) {
    for (const toml::node& pn : *params) {
      const toml::table& pt = *pn.as_table();
      std::string w = Where(origin, pt);
      REKAP_RETURN_IF_ERROR(CheckKeys(pt, {"id", "default", "min", "max", "integer", "label"}, w, "[[param]]"));
      FormSchema::ParamDecl p;
      REKAP_ASSIGN_OR_RETURN(p.id, GetString(pt, "id", true, w, "[[param]]"));
      if (!MatchesId(p.id, 64, true) || rule::IsFunctionName(p.id)) {
        return Err(w, "id parameter tidak sah '" + p.id + "'", "invalid param id '" + p.id + "'");
      }
      if (!param_ids.insert(p.id).second) {
        return Err(w, "parameter ganda '" + p.id + "'", "duplicate param '" + p.id + "'");
      }
      if (const toml::node* d = pt.get("default")) {
        if (!d->is_number()) {
          return Err(w, "default parameter '" + p.id + "' harus angka",
                     "default of param '" + p.id + "' must be a number");
        }
        p.default_value = d->value<double>();
      }
      for (const auto& [key, slot] : {std::pair<const char*, std::optional<double>*>{"min", &p.min}, {"max", &p.max}}) {
        if (const toml::node* d = pt.get(key)) {
          if (!d->is_number() || !std::isfinite(*d->value<double>())) {
            return Err(w, std::string(key) + " parameter '" + p.id + "' harus angka",
                       std::string(key) + " of param '" + p.id + "' must be a number");
          }
          *slot = d->value<double>();
        }
      }
      if (const toml::node* d = pt.get("integer")) {
        if (!d->is_boolean()) {
          return Err(w, "integer parameter '" + p.id + "' harus true/false",
                     "integer of param '" + p.id + "' must be true or false");
        }
        p.integer = *d->value<bool>();
      }
      if (p.min && p.max && *p.min > *p.max) {
        return Err(w, "min parameter '" + p.id + "' melebihi max", "min of param '" + p.id + "' exceeds its max");
      }
      REKAP_ASSIGN_OR_RETURN(p.label, GetText(pt, "label", false, w));
      s.params_.push_back(std::move(p));
    }
  }

  // ---- fields
  REKAP_ASSIGN_OR_RETURN(const toml::array* fields, GetTableArray(root, "field", sid));
  if (fields == nullptr || fields->empty()) {
    return Err(sid, "skema tidak punya [[field]]", "the schema has no [[field]]");
  }
  if (fields->size() > kMaxFields) {
    return ResourceExhausted(sid + "terlalu banyak kolom / too many fields");
  }
  bool have_group = false;
  std::set<std::string, std::less<>> field_ids;
  for (const toml::node& fn : *fields) {
    const toml::table& ft = *fn.as_table();
    std::string w = Where(origin, ft);
    REKAP_RETURN_IF_ERROR(
        CheckKeys(ft, {"id", "group", "label", "section", "page", "max_value"}, w, "[[field]]"));
    const bool is_group = ft.contains("group");
    if (is_group == ft.contains("id")) {
      return Err(w, "[[field]] perlu tepat satu dari 'id' atau 'group'",
                 "[[field]] needs exactly one of 'id' or 'group'");
    }
    std::string section;
    REKAP_ASSIGN_OR_RETURN(section, GetString(ft, "section", false, w, "[[field]]"));
    REKAP_ASSIGN_OR_RETURN(int64_t page, GetInt(ft, "page", 1, 1, s.pages_, w));
    REKAP_ASSIGN_OR_RETURN(int64_t max_value, GetInt(ft, "max_value", 999, 1, kMaxFieldValue, w));
    REKAP_ASSIGN_OR_RETURN(Text label, GetText(ft, "label", true, w));
    if (is_group) {
      if (have_group) {
        return Err(w, "hanya boleh satu kelompok kandidat", "only one candidate group is allowed");
      }
      have_group = true;
      REKAP_ASSIGN_OR_RETURN(s.candidate_group_, GetString(ft, "group", true, w, "[[field]]"));
      if (!MatchesId(s.candidate_group_, 32, true) ||
          rule::IsFunctionName(s.candidate_group_)) {
        return Err(w, "nama kelompok tidak sah '" + s.candidate_group_ + "'",
                   "invalid group name '" + s.candidate_group_ + "'");
      }
      s.candidate_label_ = std::move(label);
      s.candidate_page_ = static_cast<int>(page);
      s.candidate_section_ = std::move(section);
      s.candidate_max_value_ = static_cast<Value>(max_value);
      s.candidate_position_ = s.fields_.size();
      continue;
    }
    FieldDef f;
    REKAP_ASSIGN_OR_RETURN(f.id, GetString(ft, "id", true, w, "[[field]]"));
    if (!MatchesId(f.id, 64, true) || rule::IsFunctionName(f.id)) {
      return Err(w, "id kolom tidak sah '" + f.id + "' (a-z, 0-9, _; diawali huruf)",
                 "invalid field id '" + f.id + "' (a-z, 0-9, _; starting with a letter)");
    }
    if (!field_ids.insert(f.id).second) {
      return Err(w, "kolom ganda '" + f.id + "'", "duplicate field '" + f.id + "'");
    }
    if (param_ids.count(f.id) != 0) {
      return Err(w, "kolom '" + f.id + "' bernama sama dengan parameter",
                 "field '" + f.id + "' has the same name as a param");
    }
    f.label = std::move(label);
    f.section = std::move(section);
    f.page = static_cast<int>(page);
    f.max_value = static_cast<Value>(max_value);
    s.fields_.push_back(std::move(f));
  }
  if (!have_group) {
    return Err(sid, "skema perlu satu [[field]] dengan 'group' (suara kandidat)",
               "the schema needs one [[field]] with 'group' (candidate votes)");
  }
  for (const FieldDef& f : s.fields_) {
    if (f.id == s.candidate_group_ || IsGroupMemberId(f.id, s.candidate_group_)) {
      return Err(sid, "kolom '" + f.id + "' bentrok dengan kelompok '" + s.candidate_group_ + "'",
                 "field '" + f.id + "' clashes with group '" + s.candidate_group_ + "'");
    }
  }
  if (param_ids.count(s.candidate_group_) != 0) {
    return Err(sid, "kelompok bernama sama dengan parameter", "group has the same name as a param");
  }

  // ---- rules
  REKAP_ASSIGN_OR_RETURN(const toml::array* rules, GetTableArray(root, "rule", sid));
  if (rules != nullptr && rules->size() > kMaxRules) {
    return ResourceExhausted(sid + "terlalu banyak aturan / too many rules");
  }
  std::set<std::string, std::less<>> rule_ids;
  if (rules != nullptr) {
    for (const toml::node& rn : *rules) {
      const toml::table& rt = *rn.as_table();
      std::string w = Where(origin, rt);
      REKAP_RETURN_IF_ERROR(
          CheckKeys(rt, {"id", "expr", "severity", "message"}, w, "[[rule]]"));
      RuleDef r;
      REKAP_ASSIGN_OR_RETURN(r.id, GetString(rt, "id", true, w, "[[rule]]"));
      if (!MatchesId(r.id, 64, false)) {
        return Err(w, "id aturan tidak sah '" + r.id + "' (a-z, 0-9, _)",
                   "invalid rule id '" + r.id + "' (a-z, 0-9, _)");
      }
      if (r.id == kRangeRuleId) {
        return Err(w, "id aturan '" + r.id + "' sudah dipakai aturan bawaan",
                   "rule id '" + r.id + "' is reserved for the built-in rule");
      }
      if (!rule_ids.insert(r.id).second) {
        return Err(w, "aturan ganda '" + r.id + "'", "duplicate rule '" + r.id + "'");
      }
      std::string what = "aturan/rule " + r.id;
      REKAP_ASSIGN_OR_RETURN(r.expr, GetString(rt, "expr", true, w, what));
      std::string sev;
      REKAP_ASSIGN_OR_RETURN(sev, GetString(rt, "severity", false, w, what));
      if (sev.empty() || sev == "error") {
        r.severity = Severity::kError;
      } else if (sev == "warning") {
        r.severity = Severity::kWarning;
      } else {
        return Err(w, "aturan \"" + r.id + "\": severity tak dikenal '" + sev +
                          "' (error | warning)",
                   "rule \"" + r.id + "\": unknown severity '" + sev + "' (error | warning)");
      }
      REKAP_ASSIGN_OR_RETURN(r.message, GetText(rt, "message", true, w));
      s.rules_.push_back(std::move(r));
    }
  }

  // ---- check every rule now, against the fields with a one-member group.
  std::map<std::string, int, std::less<>> index;
  for (size_t i = 0; i < s.fields_.size(); ++i) index.emplace(s.fields_[i].id, static_cast<int>(i));
  std::map<std::string, double, std::less<>> pvals;
  for (const auto& p : s.params_) pvals.emplace(p.id, p.default_value.value_or(1.0));
  rule::Symbols sym;
  sym.fields = &index;
  sym.group = s.candidate_group_;
  sym.group_first = static_cast<int>(s.fields_.size());
  sym.group_size = 1;
  sym.params = &pvals;
  for (const RuleDef& r : s.rules_) {
    auto compiled = rule::Compile(r.id, r.expr, sym);
    if (!compiled.ok()) {
      return InvalidArgument(sid + compiled.status().message());
    }
  }
  return std::shared_ptr<const FormSchema>(std::move(schema));
}

Result<std::shared_ptr<const Form>> FormSchemaParser::Bind(
    const FormSchema& s, int candidates, const std::map<std::string, double>& params) {
  const std::string sid = "skema/schema " + s.id_ + ": ";
  if (candidates < 1 || candidates > kMaxCandidates) {
    return InvalidArgument(sid + "jumlah kandidat harus 1.." + std::to_string(kMaxCandidates) +
                           ", bukan " + std::to_string(candidates) +
                           " / the number of candidates must be 1.." +
                           std::to_string(kMaxCandidates) + ", not " +
                           std::to_string(candidates));
  }
  std::map<std::string, double, std::less<>> pvals;
  for (const auto& p : s.params_) {
    auto it = params.find(p.id);
    double v;
    if (it != params.end()) {
      v = it->second;
    } else if (p.default_value.has_value()) {
      v = *p.default_value;
    } else {
      return InvalidArgument(sid + "parameter '" + p.id + "' tidak diberikan / parameter '" +
                             p.id + "' not supplied");
    }
    if (!std::isfinite(v)) {
      return InvalidArgument(sid + "parameter '" + p.id + "' bukan angka hingga / parameter '" +
                             p.id + "' is not a finite number");
    }
    auto num = [](double x) {
      std::ostringstream o;
      o << x;
      return o.str();
    };
    if (p.integer && v != std::floor(v)) {
      return InvalidArgument(sid + "parameter '" + p.id + "' harus bilangan bulat, bukan " + num(v) + " / parameter '" +
                             p.id + "' must be a whole number, not " + num(v));
    }
    if ((p.min && v < *p.min) || (p.max && v > *p.max)) {
      const std::string range = (p.min ? num(*p.min) : std::string("-inf")) + ".." + (p.max ? num(*p.max) : std::string("inf"));
      return InvalidArgument(sid + "parameter '" + p.id + "' harus " + range + ", bukan " + num(v) + " / parameter '" +
                             p.id + "' must be " + range + ", not " + num(v));
    }
    pvals.emplace(p.id, v);
  }

  std::shared_ptr<Form> form(new Form());
  form->schema_ = s.weak_from_this().lock();
  if (!form->schema_) form->schema_ = std::make_shared<const FormSchema>(s);
  form->candidates_ = candidates;
  const size_t total = s.fields_.size() + static_cast<size_t>(candidates);
  form->fields_.reserve(total);
  for (size_t i = 0; i <= s.fields_.size(); ++i) {
    if (i == s.candidate_position_) {
      form->first_candidate_ = static_cast<int>(form->fields_.size());
      for (int c = 1; c <= candidates; ++c) {
        FieldDef f;
        f.id = s.candidate_group_ + "_" + std::to_string(c);
        f.label.id = CandidateLabel(s.candidate_label_.id, c);
        f.label.en = CandidateLabel(s.candidate_label_.en, c);
        f.section = s.candidate_section_;
        f.page = s.candidate_page_;
        f.max_value = s.candidate_max_value_;
        f.candidate = c;
        form->fields_.push_back(std::move(f));
      }
    }
    if (i < s.fields_.size()) form->fields_.push_back(s.fields_[i]);
  }
  form->max_values_.reserve(total);
  for (size_t i = 0; i < form->fields_.size(); ++i) {
    form->index_.emplace(form->fields_[i].id, static_cast<int>(i));
    form->max_values_.push_back(form->fields_[i].max_value);
  }
  form->valid_index_ = form->IndexOf("suara_sah");
  form->invalid_index_ = form->IndexOf("suara_tidak_sah");
  form->dpt_index_ = form->IndexOf("dpt_j");

  rule::Symbols sym;
  sym.fields = &form->index_;
  sym.group = s.candidate_group_;
  sym.group_first = form->first_candidate_;
  sym.group_size = candidates;
  sym.params = &pvals;
  form->rule_defs_ = s.rules_;
  form->compiled_.reserve(s.rules_.size());
  for (const RuleDef& r : s.rules_) {
    auto compiled = rule::Compile(r.id, r.expr, sym);
    if (!compiled.ok()) return InvalidArgument(sid + compiled.status().message());
    form->compiled_.push_back(std::make_unique<CompiledRule>(std::move(compiled).value()));
  }
  return std::shared_ptr<const Form>(std::move(form));
}

Result<std::shared_ptr<const FormSchema>> FormSchema::Parse(std::string_view toml_text,
                                                            std::string_view origin) {
  return FormSchemaParser::Parse(toml_text, origin);
}

Result<std::shared_ptr<const FormSchema>> FormSchema::LoadFile(const std::string& path) {
  REKAP_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return Parse(text, path);
}

Result<std::shared_ptr<const Form>> FormSchema::Bind(
    int candidates, const std::map<std::string, double>& params) const {
  return FormSchemaParser::Bind(*this, candidates, params);
}

Form::~Form() = default;

int Form::IndexOf(std::string_view field_id) const {
  auto it = index_.find(field_id);
  return it == index_.end() ? -1 : it->second;
}

bool Form::RuleApplies(size_t rule_index, const Value* values) const {
  if (rule_index >= compiled_.size() || values == nullptr) return false;
  return rule::AllPresent(*compiled_[rule_index], values);
}

namespace {

void AppendRuleFailure(const Form& form, const RuleDef& def, const CompiledRule& cr,
                       const Value* values, int member, std::vector<RuleFailure>* out) {
  RuleFailure f;
  f.rule_id = def.id;
  f.severity = def.severity;
  f.message = def.message;
  std::vector<int32_t> idx;
  if (member < 0 || cr.uses_aggregate) {
    idx = cr.reads;
  } else {
    idx = cr.scalar_reads;
    idx.push_back(cr.group_first + member);
    std::sort(idx.begin(), idx.end());
    idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  }
  f.fields.reserve(idx.size());
  f.values.reserve(idx.size());
  for (int32_t i : idx) {
    f.fields.push_back(form.fields()[i].id);
    f.values.push_back(values[i]);
  }
  std::vector<std::pair<double, double>> sides;
  rule::EvaluateTraced(cr, values, member < 0 ? 0 : member, &sides);
  if (member >= 0) f.detail = form.fields()[cr.group_first + member].id + ": ";
  f.detail += rule::DescribeSides(cr, sides);
  out->push_back(std::move(f));
}

}  // namespace

bool Form::Validate(const Value* values, std::vector<RuleFailure>* out) const {
  bool ok = true;
  bool any_missing = false;
  const size_t n = fields_.size();
  for (size_t i = 0; i < n; ++i) {
    const Value v = values[i];
    if (v == kMissing) {
      any_missing = true;
      continue;
    }
    if (v < 0 || v > max_values_[i]) [[unlikely]] {
      ok = false;
      if (out != nullptr) {
        RuleFailure f;
        f.rule_id = std::string(kRangeRuleId);
        f.severity = Severity::kError;
        f.fields.push_back(fields_[i].id);
        f.values.push_back(v);
        const std::string mx = std::to_string(max_values_[i]);
        f.message.id = "Setiap angka harus antara 0 dan " + mx;
        f.message.en = "Every number must be between 0 and " + mx;
        f.detail = fields_[i].id + "=" + std::to_string(v) + " di luar/outside 0.." + mx;
        out->push_back(std::move(f));
      }
    }
  }
  const size_t nr = compiled_.size();
  for (size_t r = 0; r < nr; ++r) {
    const CompiledRule& cr = *compiled_[r];
    if (any_missing && !rule::AllPresent(cr, values)) continue;
    const bool is_error = rule_defs_[r].severity == Severity::kError;
    if (!cr.uses_each) {
      if (rule::Evaluate(cr, values, 0) == 0.0) [[unlikely]] {
        if (is_error) ok = false;
        if (out != nullptr) AppendRuleFailure(*this, rule_defs_[r], cr, values, -1, out);
      }
      continue;
    }
    for (int m = 0; m < cr.group_size; ++m) {
      if (rule::Evaluate(cr, values, m) == 0.0) [[unlikely]] {
        if (is_error) ok = false;
        if (out != nullptr) AppendRuleFailure(*this, rule_defs_[r], cr, values, m, out);
      }
    }
  }
  return ok;
}

}  // namespace rekap
