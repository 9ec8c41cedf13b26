#include "rekap/election.h"

#include "core/toml.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

namespace rekap {
namespace {

constexpr size_t kMaxCandidates = 99;
constexpr size_t kMaxContests = 10000;

const char* const kKinds[] = {"ppwp", "pkwkp", "pkwkk", "dpd", "dpr", "dprd_prov", "dprd_kab"};

Status Err(const std::string& where, const std::string& id_msg, const std::string& en_msg) {
  return InvalidArgument(where + id_msg + " / " + en_msg);
}

bool IsContestId(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

bool IsScope(std::string_view s) {
  if (!(s.empty() || s.size() == 2 || s.size() == 4)) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status CheckKeys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                 const std::string& where) {
  for (const auto& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
      std::string key(k.str());
      return Err(where, "kunci tak dikenal '" + key + "'", "unknown key '" + key + "'");
    }
  }
  return Status::Ok();
}

Result<std::string> GetString(const toml::table& t, std::string_view key, bool required,
                              const std::string& where) {
  const toml::node* n = t.get(key);
  std::string k(key);
  if (n == nullptr) {
    if (required) {
      return Err(where, "kunci wajib '" + k + "' tidak ada", "required key '" + k + "' missing");
    }
    return std::string();
  }
  if (!n->is_string()) {
    return Err(where, "'" + k + "' harus teks", "'" + k + "' must be a string");
  }
  return std::string(n->as_string()->get());
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

// A name printed on forms and results: something besides blanks, and no control characters
// (a candidate named "  " or "\u0000x" was loaded before 2026-12-07).
bool IsPrintableName(std::string_view s) {
  bool words = false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
    words = words || c != ' ';
  }
  return words;
}

// Parses one [[contest]] table.
Result<Contest> ParseContest(const toml::table& ct, const std::string& origin) {
  std::string where = origin;
  if (ct.source().begin.line > 0) where += ":" + std::to_string(ct.source().begin.line);
  where += ": ";
  Contest c;
  REKAP_ASSIGN_OR_RETURN(c.id, GetString(ct, "id", true, where + "[[contest]]: "));
  if (!IsContestId(c.id, 32)) {
    return Err(where, "id kontes tidak sah '" + c.id + "' ([a-z0-9_-]{1,32})",
               "invalid contest id '" + c.id + "' ([a-z0-9_-]{1,32})");
  }
  const std::string w = where + "kontes/contest " + c.id + ": ";
  REKAP_RETURN_IF_ERROR(
      CheckKeys(ct, {"id", "kind", "name", "scope", "schema", "params", "candidate"}, w));
  REKAP_ASSIGN_OR_RETURN(c.kind, GetString(ct, "kind", true, w));
  if (std::find(std::begin(kKinds), std::end(kKinds), c.kind) == std::end(kKinds)) {
    return Err(w, "kind tak dikenal '" + c.kind +
                      "' (ppwp|pkwkp|pkwkk|dpd|dpr|dprd_prov|dprd_kab)",
               "unknown kind '" + c.kind + "' (ppwp|pkwkp|pkwkk|dpd|dpr|dprd_prov|dprd_kab)");
  }
  REKAP_ASSIGN_OR_RETURN(c.name, GetString(ct, "name", true, w));
  if (!IsPrintableName(c.name))
    return Err(w, "'name' kosong atau berisi karakter kontrol", "'name' is blank or holds control characters");
  if (!ct.contains("scope")) {
    return Err(w, "kunci wajib 'scope' tidak ada (\"\" = nasional)",
               "required key 'scope' missing (\"\" = national)");
  }
  REKAP_ASSIGN_OR_RETURN(c.scope, GetString(ct, "scope", true, w));
  if (!IsScope(c.scope)) {
    return Err(w, "scope tidak sah '" + c.scope + "' (\"\", 2 atau 4 angka)",
               "invalid scope '" + c.scope + "' (\"\", 2 or 4 digits)");
  }
  size_t want_scope = c.kind == "ppwp" ? 0 : c.kind == "pkwkp" ? 2 : c.kind == "pkwkk" ? 4 : 99;
  if (want_scope != 99 && c.scope.size() != want_scope) {
    return Err(w, "scope '" + c.scope + "' tidak cocok dengan kind " + c.kind,
               "scope '" + c.scope + "' does not fit kind " + c.kind + " (" +
                   (want_scope == 0 ? std::string("national \"\"")
                                    : std::to_string(want_scope) + " digits") + ")");
  }
  REKAP_ASSIGN_OR_RETURN(c.schema_id, GetString(ct, "schema", true, w));
  if (c.schema_id.empty()) return Err(w, "'schema' kosong", "'schema' is empty");

  if (const toml::node* pn = ct.get("params")) {
    const toml::table* pt = pn->as_table();
    if (pt == nullptr) {
      return Err(w, "'params' harus tabel [contest.params]",
                 "'params' must be a table [contest.params]");
    }
    for (const auto& [k, v] : *pt) {
      std::string key(k.str());
      if (!v.is_number()) {
        return Err(w, "params." + key + " harus angka", "params." + key + " must be a number");
      }
      double d = v.value<double>().value_or(std::nan(""));
      if (!std::isfinite(d)) {
        return Err(w, "params." + key + " bukan angka hingga",
                   "params." + key + " is not a finite number");
      }
      c.params.emplace(key, d);
    }
  }

  const toml::node* cn = ct.get("candidate");
  const toml::array* arr = cn != nullptr ? cn->as_array() : nullptr;
  if (cn != nullptr && (arr == nullptr || !arr->is_array_of_tables())) {
    return Err(w, "'candidate' harus larik tabel [[contest.candidate]]",
               "'candidate' must be an array of tables [[contest.candidate]]");
  }
  if (arr == nullptr || arr->empty()) {
    return Err(w, "tidak ada [[contest.candidate]]", "no [[contest.candidate]]");
  }
  if (arr->size() > kMaxCandidates) {
    return Err(w, "terlalu banyak kandidat (maks. 99)", "too many candidates (max 99)");
  }
  for (const toml::node& n : *arr) {
    const toml::table& t = *n.as_table();
    std::string cw = w + "candidate";
    if (t.source().begin.line > 0) cw += " (baris/line " + std::to_string(t.source().begin.line) + ")";
    cw += ": ";
    REKAP_RETURN_IF_ERROR(CheckKeys(t, {"number", "name", "party"}, cw));
    Candidate cand;
    const toml::node* num = t.get("number");
    if (num == nullptr || !num->is_integer()) {
      return Err(cw, "'number' wajib, bilangan bulat", "'number' is required, an integer");
    }
    int64_t v = num->as_integer()->get();
    if (v < 1 || v > static_cast<int64_t>(kMaxCandidates)) {
      return Err(cw, "'number' harus 1..99", "'number' must be 1..99");
    }
    cand.number = static_cast<int>(v);
    REKAP_ASSIGN_OR_RETURN(cand.name, GetString(t, "name", true, cw));
    if (!IsPrintableName(cand.name))
      return Err(cw, "'name' kosong atau berisi karakter kontrol", "'name' is blank or holds control characters");
    REKAP_ASSIGN_OR_RETURN(cand.party, GetString(t, "party", false, cw));
    c.candidates.push_back(std::move(cand));
  }
  std::stable_sort(c.candidates.begin(), c.candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.number < b.number; });
  for (size_t i = 0; i < c.candidates.size(); ++i) {
    if (c.candidates[i].number != static_cast<int>(i) + 1) {
      return Err(w, "nomor urut kandidat harus 1.." + std::to_string(c.candidates.size()) +
                        " berurutan tanpa celah atau ganda (nomor " +
                        std::to_string(c.candidates[i].number) + ")",
                 "candidate numbers must be 1.." + std::to_string(c.candidates.size()) +
                     " contiguous, without gaps or duplicates (number " +
                     std::to_string(c.candidates[i].number) + ")");
    }
  }
  return c;
}

}  // namespace

const Contest* Election::FindContest(std::string_view id) const {
  for (const Contest& c : contests) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

Result<Election> Election::Parse(std::string_view toml_text, std::string_view origin) {
  const std::string org(origin);
  REKAP_RETURN_IF_ERROR(CheckTomlText(toml_text, org));
  toml::parse_result parsed = toml::parse(toml_text, origin);
  if (parsed.failed()) {
    const auto& e = parsed.error();
    std::string where = org + ":" + std::to_string(e.source().begin.line) + ":" +
                        std::to_string(e.source().begin.column) + ": ";
    return Err(where, "TOML tidak sah: " + std::string(e.description()),
               "invalid TOML: " + std::string(e.description()));
  }
  const toml::table& root = parsed.table();
  const std::string top = org + ": ";
  REKAP_RETURN_IF_ERROR(CheckKeys(root, {"id", "name", "contest"}, top));
  Election e;
  REKAP_ASSIGN_OR_RETURN(e.id, GetString(root, "id", true, top));
  if (!IsContestId(e.id, 64)) {
    return Err(top, "id pemilihan tidak sah '" + e.id + "' ([a-z0-9_-]{1,64})",
               "invalid election id '" + e.id + "' ([a-z0-9_-]{1,64})");
  }
  REKAP_ASSIGN_OR_RETURN(e.name, GetString(root, "name", true, top));
  const toml::node* cn = root.get("contest");
  const toml::array* arr = cn != nullptr ? cn->as_array() : nullptr;
  if (cn != nullptr && (arr == nullptr || !arr->is_array_of_tables())) {
    return Err(top, "'contest' harus larik tabel [[contest]]",
               "'contest' must be an array of tables [[contest]]");
  }
  if (arr == nullptr || arr->empty()) {
    return Err(top, "tidak ada [[contest]]", "no [[contest]]");
  }
  if (arr->size() > kMaxContests) {
    return ResourceExhausted(top + "terlalu banyak kontes (maks. " + std::to_string(kMaxContests) +
                             ") / too many contests (max " + std::to_string(kMaxContests) + ")");
  }
  std::set<std::string, std::less<>> ids;
  for (const toml::node& n : *arr) {
    REKAP_ASSIGN_OR_RETURN(Contest c, ParseContest(*n.as_table(), org));
    if (!ids.insert(c.id).second) {
      return Err(top, "id kontes ganda '" + c.id + "'", "duplicate contest id '" + c.id + "'");
    }
    e.contests.push_back(std::move(c));
  }
  return e;
}

Result<Election> Election::LoadFile(const std::string& path) {
  REKAP_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return Parse(text, path);
}

Status Election::Resolve(
    const std::map<std::string, std::shared_ptr<const FormSchema>>& schemas) {
  // Bind everything first so a failure leaves the election unchanged.
  std::vector<std::shared_ptr<const Form>> forms;
  forms.reserve(contests.size());
  for (const Contest& c : contests) {
    auto it = schemas.find(c.schema_id);
    if (it == schemas.end() || it->second == nullptr) {
      return NotFound("kontes/contest " + c.id + ": skema tak dikenal '" + c.schema_id +
                      "' / unknown schema '" + c.schema_id + "'");
    }
    auto form = it->second->Bind(static_cast<int>(c.candidates.size()), c.params);
    if (!form.ok()) {
      return Status(form.status().code(),
                    "kontes/contest " + c.id + ": " + form.status().message());
    }
    forms.push_back(std::move(form).value());
  }
  for (size_t i = 0; i < contests.size(); ++i) contests[i].form = std::move(forms[i]);
  return Status::Ok();
}

Result<std::map<std::string, std::shared_ptr<const FormSchema>>> LoadSchemaDir(
    const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    return NotFound("direktori skema tidak dapat dibuka: " + dir + " (" + ec.message() +
                    ") / cannot open schema directory: " + dir);
  }
  std::vector<std::string> paths;
  for (fs::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) break;
    std::error_code fec;
    if (it->path().extension() == ".toml" && it->is_regular_file(fec)) {
      paths.push_back(it->path().string());
    }
  }
  if (ec) {
    return Unavailable("gagal membaca direktori: " + dir + " / failed to read directory: " + dir);
  }
  std::sort(paths.begin(), paths.end());
  std::map<std::string, std::shared_ptr<const FormSchema>> out;
  for (const std::string& p : paths) {
    REKAP_ASSIGN_OR_RETURN(auto schema, FormSchema::LoadFile(p));
    const std::string id = schema->id();
    if (!out.emplace(id, std::move(schema)).second) {
      return AlreadyExists(p + ": id skema ganda '" + id + "' / duplicate schema id '" + id + "'");
    }
  }
  return out;
}

}  // namespace rekap
