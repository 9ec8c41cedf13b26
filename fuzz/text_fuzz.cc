// libFuzzer target: the library's parsers of user text. The first byte selects the parser (its
// value mod kParsers) and a variant (its value / kParsers: a candidate count, which form); the
// rest is the text. Every input must get a value or a Status: never a crash, a hang, unbounded
// memory or a sanitizer report. Where a parse succeeds the result is used a little (a form
// validates values, a tree is linked, the engine checks a command) so that semantic code runs
// on hostile input too.
//
//   scripts/fuzz-text.sh [SECONDS]   (builds with clang + ASan/UBSan in build-fuzz, runs 30 s)
//
// Selectors (docs/fuzzing.md): 0 election TOML -> Election::Parse + Resolve against the shipped
// schemas; 1 form schema TOML -> FormSchema::Parse + Bind; 2 rule expression -> rule::Compile
// against the shipped PPWP form + Evaluate; 3 ParseCsv; 4 ReadRegions + RegionTree;
// 5 ReadTpsList + RegionTree; 6 ReadResultsKpuDki2024 + Validate + Engine::Check; 7 region
// codes and TPS ids, one per line; 8 a command (key=value lines) -> Engine::Check.
//
// The shipped schemas and the PPWP election are read once at start-up from the source tree
// (REKAP_ROOT, or $REKAP_ROOT); the engine's store is an in-memory SQLite database. No other
// file or network I/O.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/rule_expr.h"
#include "rekap/election.h"
#include "rekap/engine.h"
#include "rekap/form.h"
#include "rekap/import.h"
#include "rekap/region.h"
#include "rekap/store.h"

namespace {

using namespace rekap;

constexpr int kParsers = 9;

class ZeroClock final : public Clock {
 public:
  int64_t NowMs() override { return 1707879600000; }  // 2024-02-14T03:00Z
};

struct Env {
  std::map<std::string, std::shared_ptr<const FormSchema>> schemas;
  std::shared_ptr<const Election> election;  // the shipped PPWP election, resolved
  std::vector<std::shared_ptr<const Form>> forms;  // every shipped schema bound, for rules
  std::unique_ptr<Store> store;
  ZeroClock clock;
  std::unique_ptr<Engine> engine;
};

[[noreturn]] void Die(const char* what, const Status& st) {
  std::fprintf(stderr, "text_fuzz setup: %s: %s\n", what, st.ToString().c_str());
  std::abort();
}

const Env* Load() {
  const char* root_env = std::getenv("REKAP_ROOT");
  const std::string root = root_env ? root_env : REKAP_ROOT;
  auto* env = new Env;
  auto schemas = LoadSchemaDir(root + "/data/schemas");
  if (!schemas.ok()) Die("schemas", schemas.status());
  env->schemas = std::move(*schemas);
  auto e = Election::LoadFile(root + "/data/elections/pemilu-2024-ppwp.toml");
  if (!e.ok()) Die("election", e.status());
  if (Status st = e->Resolve(env->schemas); !st.ok()) Die("resolve", st);
  env->election = std::make_shared<const Election>(std::move(*e));
  for (const auto& [id, s] : env->schemas) {
    // Every shipped schema with its declared defaults; max_voters for those without one.
    auto f = s->Bind(3, {{"max_voters", 300}});
    if (!f.ok()) Die("bind", f.status());
    env->forms.push_back(std::move(*f));
  }
  // A small tree: province 31, kota 3171, kecamatan 317101, desa 3171011001 and 3171011002,
  // TPS 001-003 in each.
  auto tree = std::make_shared<RegionTree>();
  for (const char* c : {"31", "3171", "317101", "3171011001", "3171011002"}) {
    if (Status st = tree->AddRegion(Region{c, std::string("W ") + c, "desa", Level::kNational}); !st.ok())
      Die("region", st);
  }
  for (const char* d : {"3171011001", "3171011002"}) {
    for (const char* n : {"001", "002", "003"}) {
      if (Status st = tree->AddTps(Tps{std::string(d) + n, std::string("TPS ") + n}); !st.ok()) Die("tps", st);
    }
  }
  if (Status st = tree->Finish(false); !st.ok()) Die("finish", st);
  auto store = OpenSqliteStore(":memory:", false);
  if (!store.ok()) Die("store", store.status());
  env->store = std::move(*store);
  std::array<uint8_t, 32> seed;
  seed.fill(7);
  auto engine = Engine::OpenWith(env->store.get(), Signer::FromSeed(seed), &env->clock, tree, env->election);
  if (!engine.ok()) Die("engine", engine.status());
  env->engine = std::move(*engine);
  // One result in the store, so that duplicates, conflicts and corrections are checked too.
  Command c;
  c.contest = "ppwp";
  c.tps = "3171011001001";
  c.source = "kpps";
  c.author = "fuzz";
  c.values = {{"suara_1", 10}, {"suara_2", 20}, {"suara_3", 30}, {"suara_sah", 60}};
  c.partial = true;
  if (auto o = env->engine->Execute(c); !o.ok()) Die("submit", o.status());
  return env;
}

// A few value vectors for a form: all zero, all at their maximum, one past it, missing, and
// one derived from the input bytes (any value -1 .. max + 1).
void Exercise(const Form& form, std::string_view text) {
  const size_t n = form.size();
  if (n == 0) std::abort();
  std::vector<Value> v(n);
  std::vector<RuleFailure> out;
  for (int pattern = 0; pattern < 5; ++pattern) {
    for (size_t i = 0; i < n; ++i) {
      const Value mx = form.fields()[i].max_value;
      switch (pattern) {
        case 0: v[i] = 0; break;
        case 1: v[i] = mx; break;
        case 2: v[i] = i % 2 ? kMissing : mx + 1; break;
        case 3: v[i] = i % 3 ? static_cast<Value>(i) : kMissing; break;
        default: {
          const unsigned char b = text.empty() ? 0 : static_cast<unsigned char>(text[i % text.size()]);
          v[i] = b == 0 ? kMissing : b == 1 ? mx + 1 : static_cast<Value>(b % (mx + 1));
        }
      }
    }
    out.clear();
    const bool ok = form.Validate(v.data(), &out);
    const bool ok_quiet = form.Validate(v.data(), nullptr);
    if (ok != ok_quiet) std::abort();  // the failures list must not change the verdict
    for (size_t r = 0; r < form.rules().size(); ++r) (void)form.RuleApplies(r, v.data());
    for (const RuleFailure& f : out) {
      if (f.fields.size() != f.values.size() || f.rule_id.empty()) std::abort();
    }
  }
  for (int c = 1; c <= form.candidates(); ++c) {
    if (form.IndexOf(form.fields()[form.CandidateIndex(c)].id) != form.CandidateIndex(c)) std::abort();
  }
}

void FuzzElection(const Env& env, std::string_view text) {
  auto e = Election::Parse(text, "fuzz.toml");
  if (!e.ok()) return;
  for (const Contest& c : e->contests) {
    if (e->FindContest(c.id) == nullptr) std::abort();
  }
  if (!e->Resolve(env.schemas).ok()) return;
  for (const Contest& c : e->contests) {
    if (!c.form || c.form->candidates() != static_cast<int>(c.candidates.size())) std::abort();
    Exercise(*c.form, text);
  }
}

void FuzzSchema(std::string_view text, int variant) {
  auto s = FormSchema::Parse(text, "fuzz.toml");
  if (!s.ok()) return;
  // 1..99 candidates by the variant byte, and once out of range; with and without params.
  const int candidates = 1 + variant % 8 * 14;
  const std::map<std::string, double> params = {{"max_voters", 300 + variant}};
  (void)(*s)->Bind(0, params);
  (void)(*s)->Bind(100, params);
  (void)(*s)->Bind(candidates, {});
  auto f = (*s)->Bind(candidates, params);
  if (!f.ok()) return;
  if ((*f)->candidates() != candidates) std::abort();
  Exercise(**f, text);
}

void FuzzRule(const Env& env, std::string_view text, int variant) {
  const Form& form = *env.forms[static_cast<size_t>(variant) % env.forms.size()];
  rule::Symbols sym;
  sym.fields = &form.index();
  sym.group = form.schema().candidate_group();
  sym.group_first = form.CandidateIndex(1);
  sym.group_size = form.candidates();
  const std::map<std::string, double, std::less<>> params = {{"max_voters", 300}, {"ambang", 0.5}};
  sym.params = &params;
  auto r = rule::Compile("fuzz", text, sym);
  if (!r.ok()) return;
  if (r->max_stack > rule::kMaxStack) std::abort();
  std::vector<Value> v(form.size());
  std::vector<std::pair<double, double>> sides;
  for (int pattern = 0; pattern < 3; ++pattern) {
    for (size_t i = 0; i < v.size(); ++i) {
      v[i] = pattern == 0 ? 0 : pattern == 1 ? form.fields()[i].max_value : static_cast<Value>(i * 7 % 400);
    }
    for (int m = 0; m < (r->uses_each ? sym.group_size : 1); ++m) {
      const double a = rule::Evaluate(*r, v.data(), m);
      sides.clear();
      const double b = rule::EvaluateTraced(*r, v.data(), m, &sides);
      if (!(a == b || (a != a && b != b))) std::abort();
      (void)rule::DescribeSides(*r, sides);
      (void)rule::FormatNumber(a);
    }
    (void)rule::AllPresent(*r, v.data());
  }
}

void FuzzRegions(std::string_view text) {
  auto regions = ReadRegions(text, "fuzz.csv");
  if (!regions.ok()) return;
  RegionTree tree;
  for (const StoredRegion& r : *regions) {
    if (!tree.AddRegion(r.region).ok()) return;
  }
  (void)tree.Finish(true);
  auto merged = MergeRegions(*regions, *regions);
  if (merged.size() != regions->size()) std::abort();
}

void FuzzTps(std::string_view text) {
  auto tps = ReadTpsList(text, "fuzz.csv");
  if (!tps.ok()) return;
  RegionTree tree;
  for (const Tps& t : *tps) {
    auto id = TpsId::Parse(t.id);
    if (!id.ok()) std::abort();  // the reader accepted it
    (void)tree.AddRegion(Region{std::string(id->desa()), "DESA", "desa", Level::kDesa});
    if (!tree.AddTps(t).ok()) std::abort();  // ids are unique and valid
  }
  if (tree.Finish(true).ok()) {
    for (const Tps& t : *tps) {
      if (tree.FindTps(t.id) < 0) std::abort();
    }
  }
}

void FuzzResults(const Env& env, std::string_view text) {
  auto rows = ReadResultsKpuDki2024(text, "fuzz.csv");
  if (!rows.ok()) return;
  const Contest& contest = env.election->contests[0];
  const Form& form = *contest.form;
  std::vector<Value> v(form.size());
  std::vector<RuleFailure> out;
  for (const ResultRow& row : *rows) {
    std::fill(v.begin(), v.end(), kMissing);
    for (const auto& [field, value] : row.values) {
      const int i = form.IndexOf(field);
      if (i < 0) std::abort();  // the reader maps to the form's fields
      v[i] = value;
    }
    out.clear();
    (void)form.Validate(v.data(), &out);
    Command c;
    c.contest = contest.id;
    c.tps = row.tps;
    c.source = "import:kpu-dki-2024";
    c.author = "fuzz";
    c.values = row.values;
    c.partial = true;
    c.keep_out_of_range = true;
    (void)env.engine->Check(c);
  }
}

void FuzzCodes(std::string_view text) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (auto c = RegionCode::Parse(line); c.ok()) {
      (void)c->level();
      RegionCode p = c->parent();
      if (!c->str().empty() && !p.Contains(c->str())) std::abort();
      (void)CodeKey(c->str());
    }
    if (auto t = TpsId::Parse(line); t.ok()) {
      if (t->number() < 1 || t->number() > 999) std::abort();
      (void)t->key();
      (void)RegionCode::Parse(t->desa());
    }
    (void)AllDigits(line);
    (void)IsCodeChars(line);
  }
}

// A command as key=value lines: kind=submit|correct|accept, contest=, tps=, source=, author=,
// reason=, partial=1, and any other key a field with an integer value.
void FuzzCommand(const Env& env, std::string_view text) {
  Command c;
  c.contest = "ppwp";
  c.tps = "3171011001001";
  c.source = "kpps";
  c.author = "fuzz";
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string key(line.substr(0, eq));
    const std::string val(line.substr(eq + 1));
    if (key == "kind") {
      c.kind = val == "correct" ? EventKind::kCorrection : val == "accept" ? EventKind::kAcceptance : EventKind::kSubmission;
    } else if (key == "contest") {
      c.contest = val;
    } else if (key == "tps") {
      c.tps = val;
    } else if (key == "source") {
      c.source = val;
    } else if (key == "author") {
      c.author = val;
    } else if (key == "reason") {
      c.reason = val;
    } else if (key == "partial") {
      c.partial = val == "1";
    } else if (key == "keep") {
      c.keep_out_of_range = val == "1";
    } else {
      long long v = 0;
      bool neg = !val.empty() && val[0] == '-';
      for (size_t i = neg ? 1 : 0; i < val.size() && i < 12; ++i) {
        if (val[i] < '0' || val[i] > '9') break;
        v = v * 10 + (val[i] - '0');
      }
      c.values[key] = static_cast<Value>(neg ? -v : v);
    }
  }
  (void)env.engine->Check(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Env* env = Load();
  if (size == 0) return 0;
  const int selector = data[0] % kParsers;
  const int variant = data[0] / kParsers;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (selector) {
    case 0: FuzzElection(*env, text); break;
    case 1: FuzzSchema(text, variant); break;
    case 2: FuzzRule(*env, text, variant); break;
    case 3: (void)ParseCsv(text, "fuzz.csv"); break;
    case 4: FuzzRegions(text); break;
    case 5: FuzzTps(text); break;
    case 6: FuzzResults(*env, text); break;
    case 7: FuzzCodes(text); break;
    default: FuzzCommand(*env, text); break;
  }
  return 0;
}
