// rekap results | export | history | verify
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "common.h"

namespace rekap::cli {
namespace {

std::string CsvCell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

const Contest* PickContest(const Engine& e, const std::string& id) {
  if (id.empty()) return e.election().contests.empty() ? nullptr : &e.election().contests.front();
  return e.election().FindContest(id);
}

std::string NodeName(const RegionTree& tree, int32_t n) {
  const auto& r = tree.node(n).region;
  return r.code.empty() ? "INDONESIA" : r.name;
}

// One TPS's standing in the totals. Received and not counted: flagged (and not accepted), else
// incomplete (a field the totals add is missing).
const char* TpsStatus(const TpsState& st) {
  return !(st.flags & kReceived)                       ? "not_received"
         : st.counted()                                   ? "counted"
         : (st.flags & kFlagged) && !(st.flags & kAccepted) ? "flagged"
                                                           : "incomplete";
}

void ExportHeader(const Form& form, std::ostream& os) {
  os << "contest,tps,status,flagged,accepted,conflicting,corrected,last_seq,last_event_sha256,content_sha256";
  for (const auto& f : form.fields()) os << "," << f.id;
  os << "\n";
}

void ExportRow(const Contest& c, const RegionTree& tree, const ContestTally& t, int32_t i, std::ostream& os) {
  const TpsState& st = t.tps_state(i);
  os << c.id << "," << tree.tps(i).tps.id << "," << TpsStatus(st) << "," << bool(st.flags & kFlagged) << ","
     << bool(st.flags & kAccepted) << "," << bool(st.flags & kConflicting) << "," << bool(st.flags & kCorrected)
     << "," << st.last_seq << "," << (st.last_seq ? ToHex(st.last_hash) : "") << ","
     << (st.flags & kReceived ? ToHex(st.content) : "");
  const Value* v = t.tps_values(i);
  for (size_t k = 0; k < c.form->size(); ++k) {
    os << ",";
    if (v[k] != kMissing) os << v[k];
  }
  os << "\n";
}

}  // namespace

// Prints one region and its children as a table (also used by the demo).
void PrintTable(const RegionTree& tree, const ContestTally& t, int32_t node, std::ostream& os) {
  const Contest& c = t.contest();
  auto row = [&](int32_t n, bool indent) {
    RegionTotals r = t.Read(n);
    char buf[64];
    std::string code = tree.node(n).region.code;
    std::string name = NodeName(tree, n).substr(0, 26);
    std::string shown = (indent ? "  " : "") + (code.empty() ? std::string("-") : code);
    std::snprintf(buf, sizeof buf, "%-13s%-27s", shown.c_str(), name.c_str());
    os << buf;
    for (int64_t v : r.votes) {
      std::snprintf(buf, sizeof buf, "%11lld", static_cast<long long>(v));
      os << buf;
    }
    std::snprintf(buf, sizeof buf, "%11lld %7lld/%-7lld%7s %6lld %6lld %6lld", static_cast<long long>(r.valid),
                  static_cast<long long>(r.received), static_cast<long long>(r.expected),
                  Percent(r.received, r.expected).c_str(), static_cast<long long>(r.flagged),
                  static_cast<long long>(r.conflicting), static_cast<long long>(r.corrected));
    os << buf << "\n";
  };
  os << c.name << " (" << c.id << ")\n";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-13s%-27s", Tr("kode", "code").c_str(), Tr("wilayah", "region").c_str());
  os << buf;
  for (const auto& cand : c.candidates) {
    std::snprintf(buf, sizeof buf, "%11s", ("paslon " + std::to_string(cand.number)).c_str());
    os << buf;
  }
  std::snprintf(buf, sizeof buf, "%11s %15s%7s %6s %6s %6s", Tr("sah", "valid").c_str(), Tr("TPS masuk", "TPS in").c_str(),
                "%", Tr("tanda", "flag").c_str(), Tr("konfl", "confl").c_str(), Tr("koreksi", "corr").c_str());
  os << buf << "\n";
  row(node, false);
  for (int32_t ch : tree.node(node).children) {
    if (t.Read(ch).expected > 0) row(ch, true);
  }
  RegionTotals r = t.Read(node);
  int64_t sum = 0;
  for (auto v : r.votes) sum += v;
  for (size_t i = 0; i < r.votes.size(); ++i) {
    os << "  " << c.candidates[i].number << ". " << c.candidates[i].name << ": " << r.votes[i] << " ("
       << Percent(r.votes[i], sum) << ")\n";
  }
}

namespace {

Status RunResults(const std::string& contest_id, const std::string& region, const std::string& format) {
  REKAP_ASSIGN_OR_RETURN(Session s, OpenSession());
  const Contest* c = PickContest(*s.engine, contest_id);
  if (!c) return NotFound("kontes / contest '" + contest_id + "'");
  const ContestTally& t = *s.engine->tally(c->id);
  const RegionTree& tree = s.engine->tree();
  auto code = RegionCode::Parse(region);
  if (!code.ok() && !(region.size() == 13 && AllDigits(region))) return code.status();
  if (region.size() == 13) {
    int32_t ti = tree.FindTps(region);
    if (ti < 0) return NotFound("TPS " + region);
    if (!t.InScope(ti))
      return FailedPrecondition("TPS " + region + " di luar wilayah kontes / outside the contest's scope: " + c->id);
    const Value* v = t.tps_values(ti);
    const TpsState& st = t.tps_state(ti);
    if (G().json || format == "json") {
      nlohmann::json values = nlohmann::json::object();
      for (size_t i = 0; i < c->form->size(); ++i)
        if (v[i] != kMissing) values[c->form->fields()[i].id] = v[i];
      nlohmann::json j = {{"contest", c->id}, {"tps", region}, {"status", TpsStatus(st)}, {"values", values},
                          {"received", bool(st.flags & kReceived)}, {"flagged", bool(st.flags & kFlagged)},
                          {"accepted", bool(st.flags & kAccepted)}, {"conflicting", bool(st.flags & kConflicting)},
                          {"corrected", bool(st.flags & kCorrected)}, {"incomplete", bool(st.flags & kIncomplete)},
                          {"last_hash", ToHex(st.last_hash)}};
      std::cout << j.dump() << "\n";
    } else if (format == "csv") {  // the export's columns, one row
      ExportHeader(*c->form, std::cout);
      ExportRow(*c, tree, t, ti, std::cout);
    } else {  // a table for a person (it printed JSON before, 2026-12-07 audit)
      const auto& tn = tree.tps(ti);
      std::cout << c->name << " (" << c->id << ")\n"
                << "TPS " << tn.tps.id << "  " << tn.tps.name << ", " << NodeName(tree, tn.desa) << "\n"
                << "status: " << TpsStatus(st);
      for (auto [flag, name] : {std::pair{kFlagged, "flagged"}, {kAccepted, "accepted"}, {kConflicting, "conflicting"},
                                {kCorrected, "corrected"}})
        if (st.flags & flag) std::cout << ", " << name;
      std::cout << "\n";
      for (size_t i = 0; i < c->form->size(); ++i) {
        const FieldDef& f = c->form->fields()[i];
        char buf[64];
        std::snprintf(buf, sizeof buf, "  %-18s %7s  ", f.id.c_str(),
                      v[i] == kMissing ? "-" : std::to_string(v[i]).c_str());
        std::cout << buf << (G().lang == "en" ? f.label.en : f.label.id) << "\n";
      }
    }
    return Status::Ok();
  }
  int32_t n = tree.Find(code->str());
  if (n < 0) return NotFound("wilayah / region '" + region + "'");
  if (G().json || format == "json") {
    nlohmann::json children = nlohmann::json::array();
    for (int32_t ch : tree.node(n).children) {
      RegionTotals r = t.Read(ch);
      if (r.expected == 0) continue;
      auto j = TotalsJson(*c, r);
      j["code"] = tree.node(ch).region.code;
      j["name"] = tree.node(ch).region.name;
      children.push_back(j);
    }
    auto j = TotalsJson(*c, t.Read(n));
    j["code"] = code->str();
    j["name"] = NodeName(tree, n);
    j["contest"] = c->id;
    j["children"] = children;
    nlohmann::json cands = nlohmann::json::array();
    for (const auto& cd : c->candidates) cands.push_back({{"number", cd.number}, {"name", cd.name}});
    j["candidates"] = cands;
    std::cout << j.dump() << "\n";
  } else if (format == "csv") {
    std::cout << "code,name";
    for (const auto& cd : c->candidates) std::cout << ",paslon_" << cd.number;
    std::cout << ",valid,invalid,dpt,tps_expected,tps_received,tps_flagged,tps_conflicting,tps_corrected,tps_counted\n";
    auto line = [&](int32_t x) {
      RegionTotals r = t.Read(x);
      std::cout << tree.node(x).region.code << "," << CsvCell(NodeName(tree, x));
      for (auto v : r.votes) std::cout << "," << v;
      std::cout << "," << r.valid << "," << r.invalid << "," << r.dpt << "," << r.expected << "," << r.received << ","
                << r.flagged << "," << r.conflicting << "," << r.corrected << "," << r.counted << "\n";
    };
    line(n);
    for (int32_t ch : tree.node(n).children)
      if (t.Read(ch).expected > 0) line(ch);
  } else {
    PrintTable(tree, t, n, std::cout);
  }
  return Status::Ok();
}

Status RunExport(const std::string& contest_id, const std::string& out_path) {
  REKAP_ASSIGN_OR_RETURN(Session s, OpenSession());
  const Contest* c = PickContest(*s.engine, contest_id);
  if (!c) return NotFound("kontes / contest '" + contest_id + "'");
  const ContestTally& t = *s.engine->tally(c->id);
  const RegionTree& tree = s.engine->tree();
  std::ofstream file;
  std::ostream* os = &std::cout;
  if (!out_path.empty() && out_path != "-") {
    // Written beside and renamed over, so only onto a regular file (or none): a device would be
    // replaced by the file, and never onto the database or its companions (which it would erase).
    std::error_code ec;
    if (std::filesystem::exists(out_path, ec) && !std::filesystem::is_regular_file(out_path, ec))
      return InvalidArgument("--out: " + out_path + " bukan berkas biasa / is not a regular file (use --out - for stdout)");
    const auto target = std::filesystem::weakly_canonical(out_path, ec);
    for (const char* suffix : {"", "-wal", "-shm", "-journal", ".key"}) {
      std::error_code ec2;
      const auto db = std::filesystem::weakly_canonical(G().db + suffix, ec2);
      if (!ec && !ec2 && (target == db || std::filesystem::path(target.string() + ".tmp") == db))
        return InvalidArgument("--out: " + out_path + " adalah basis data / is the database (or its file " + G().db + suffix + ")");
    }
    file.open(out_path + ".tmp");
    if (!file) return Unavailable("tidak dapat menulis / cannot write " + out_path);
    os = &file;
  }
  ExportHeader(*c->form, *os);
  Progress p(Tr("ekspor", "export"), static_cast<int64_t>(tree.tps_count()));
  int64_t rows = 0;
  for (int32_t i = 0; i < static_cast<int32_t>(tree.tps_count()); ++i) {
    p.Update(i + 1);
    if (!t.InScope(i)) continue;
    ExportRow(*c, tree, t, i, *os);
    ++rows;
  }
  p.Done();
  if (file.is_open()) {
    file.close();
    if (!file || std::rename((out_path + ".tmp").c_str(), out_path.c_str()) != 0)
      return Unavailable("tidak dapat menulis / cannot write " + out_path);
    std::cerr << Tr("Diekspor ", "Exported ") << rows << " TPS -> " << out_path << "\n";
  }
  return Status::Ok();
}

Status RunHistory(const std::string& contest_id, const std::string& tps) {
  REKAP_ASSIGN_OR_RETURN(Session s, OpenSession());
  const Contest* c = PickContest(*s.engine, contest_id);
  if (!c) return NotFound("kontes / contest '" + contest_id + "'");
  REKAP_ASSIGN_OR_RETURN(TpsId id, TpsId::Parse(tps));
  // A TPS the region tree does not hold has no history to show: say so, not an empty one.
  if (s.engine->tree().FindTps(id.str()) < 0) return NotFound("TPS '" + id.str() + "' tidak ada / does not exist");
  nlohmann::json out = nlohmann::json::array();
  REKAP_RETURN_IF_ERROR(s.db.store->ScanEvents(1, [&](const StoredEvent& se) {
    auto e = Decode(se.body);
    if (!e.ok() || e->subject != id.str() || e->contest != c->id) return true;
    nlohmann::json values = nlohmann::json::object(), prev = nlohmann::json::object();
    for (const auto& fv : e->values) values[c->form->fields()[fv.field].id] = fv.value;
    for (const auto& fv : e->previous) prev[c->form->fields()[fv.field].id] = fv.value;
    out.push_back({{"seq", e->seq}, {"kind", std::string(EventKindName(e->kind))}, {"time_ms", e->time_ms},
                   {"source", e->source}, {"author", e->author}, {"reason", e->reason}, {"values", values},
                   {"previous", prev}, {"hash", ToHex(se.hash)}, {"prev", ToHex(e->prev)}});
    return true;
  }));
  if (G().json) {
    std::cout << out.dump() << "\n";
  } else {
    for (const auto& e : out) {
      std::cout << "#" << e["seq"] << " " << e["kind"].get<std::string>() << " " << Tr("oleh", "by") << " "
                << e["author"].get<std::string>() << " (" << e["source"].get<std::string>() << ")";
      if (!e["reason"].get<std::string>().empty()) std::cout << " " << Tr("alasan", "reason") << ": " << e["reason"].get<std::string>();
      std::cout << "\n    " << e["values"].dump() << "\n";
      if (!e["previous"].empty()) std::cout << "    " << Tr("sebelumnya", "previous") << ": " << e["previous"].dump() << "\n";
    }
  }
  return Status::Ok();
}

Status RunVerify() {
  REKAP_ASSIGN_OR_RETURN(Db db, OpenDb(false));
  REKAP_ASSIGN_OR_RETURN(auto pk_hex, db.store->GetMeta("public_key"));
  if (!pk_hex) return FailedPrecondition("basis data tanpa kunci publik / database has no public key");
  REKAP_ASSIGN_OR_RETURN(Hash pk, HashFromHex(*pk_hex));
  // A database with no election yet (after `init` or the imports) has no ledger to check: an
  // empty one verifies (it was "no election loaded", FAILED_PRECONDITION, before).
  REKAP_ASSIGN_OR_RETURN(auto loaded, db.store->GetElection());
  REKAP_ASSIGN_OR_RETURN(uint64_t last, db.store->LastSeq());
  if (!loaded && last == 0) {
    if (G().json)
      std::cout << nlohmann::json{{"ok", true}, {"events", 0}, {"batches", 0}, {"problems", nlohmann::json::array()}}
                       .dump()
                << "\n";
    else
      std::cout << Tr("Diperiksa: 0 peristiwa (belum ada pemilihan)\nOK\n", "Checked: 0 events (no election yet)\nOK\n");
    return Status::Ok();
  }
  REKAP_ASSIGN_OR_RETURN(auto tree, LoadTree(db.store.get()));
  REKAP_ASSIGN_OR_RETURN(auto election, LoadElection(db.store.get()));
  std::vector<std::string> open_problem;
  std::unique_ptr<Engine> engine;
  auto signer = LoadOrCreateKey(db, false);
  if (signer.ok()) {
    auto e = Engine::OpenWith(db.store.get(), *signer, SystemClock(), tree, election);
    if (e.ok()) engine = std::move(*e);
    else open_problem.push_back(Tr("pemutaran ulang gagal: ", "replay failed: ") + e.status().message());
  }
  VerifyReport rep = Verify(db.store.get(), pk, engine.get(), tree, election);
  rep.problems.insert(rep.problems.begin(), open_problem.begin(), open_problem.end());
  if (G().json) {
    std::cout << nlohmann::json{{"ok", rep.ok()}, {"events", rep.events}, {"batches", rep.batches},
                                {"problems", rep.problems}}
                     .dump()
              << "\n";
  } else {
    std::cout << Tr("Diperiksa: ", "Checked: ") << rep.events << Tr(" peristiwa, ", " events, ") << rep.batches
              << " batch\n";
    for (const auto& p : rep.problems) std::cout << "  " << p << "\n";
    std::cout << (rep.ok() ? Tr("OK: rantai, pohon Merkle, tanda tangan dan proyeksi cocok\n",
                                "OK: chains, Merkle trees, signatures and projections agree\n")
                           : Tr("GAGAL\n", "FAILED\n"));
  }
  if (!rep.ok()) return DataLoss(std::to_string(rep.problems.size()) + Tr(" masalah", " problems"));
  return Status::Ok();
}

}  // namespace

void AddResults(CLI::App& app) {
  static std::string contest, region, format = "table", out, tps;
  auto* r = app.add_subcommand("results", "hasil per wilayah / results for a region (or a TPS)");
  r->add_option("--contest", contest, "id kontes / contest id (default: the first)");
  r->add_option("--region", region, "kode wilayah atau id TPS / region code or TPS id (default: national)");
  r->add_option("--format", format, "table | json | csv")->check(CLI::IsMember({"table", "json", "csv"}))->capture_default_str();
  r->callback([] { Status st = RunResults(contest, region, format); ExitCode() = st.ok() ? 0 : Fail(st); });

  auto* e = app.add_subcommand("export", "setiap hasil TPS sebagai CSV dengan status dan hash / every TPS result as CSV");
  e->add_option("--contest", contest, "id kontes / contest id");
  e->add_option("--out", out, "berkas keluaran (default stdout) / output file");
  e->callback([] { Status st = RunExport(contest, out); ExitCode() = st.ok() ? 0 : Fail(st); });

  auto* h = app.add_subcommand("history", "semua versi hasil satu TPS: siapa, kapan, mengapa / every version of a TPS result");
  h->add_option("--contest", contest, "id kontes / contest id");
  h->add_option("--tps", tps, "id TPS / TPS id")->required();
  h->callback([] { Status st = RunHistory(contest, tps); ExitCode() = st.ok() ? 0 : Fail(st); });
}

void AddVerify(CLI::App& app) {
  auto* v = app.add_subcommand("verify", "periksa ulang seluruh ledger dari awal / recompute and check the whole ledger");
  v->callback([] { Status st = RunVerify(); ExitCode() = st.ok() ? 0 : Fail(st); });
}

}  // namespace rekap::cli
