// rekap import results --format kpu-dki-2024 FILE
#include <filesystem>
#include <iostream>
#include <set>

#include "commands.h"
#include "common.h"
#include "rekap/import.h"

namespace rekap::cli {
namespace {

// When the database has no TPS list yet, the results file's own codes and names build the
// region tree (province names from a KPU region file beside it, if there is one).
Status RegionsFromResults(Store* store, const std::vector<ResultRow>& rows, const std::string& file) {
  std::map<std::string, std::string> prov_names;
  auto sibling = std::filesystem::path(file).parent_path() / "kpu_wilayah_pemilu2024.csv";
  if (std::filesystem::exists(sibling)) {
    auto text = ReadFileMaybeGz(sibling.string());
    if (text.ok()) {
      auto regions = ReadRegions(*text, sibling.string());
      if (regions.ok())
        for (const auto& r : *regions)
          if (r.region.level == Level::kProvinsi) prov_names[r.region.code] = r.region.name;
    }
  }
  std::map<std::string, StoredRegion> regions;
  std::vector<Tps> tps;
  for (const auto& row : rows) {
    std::string codes[4] = {row.tps.substr(0, 2), row.tps.substr(0, 4), row.tps.substr(0, 6), row.tps.substr(0, 10)};
    for (int l = 0; l < 4; ++l) {
      if (regions.count(codes[l])) continue;
      StoredRegion r;
      r.region.code = codes[l];
      r.region.level = static_cast<Level>(l + 1);
      r.source = "kpu2024";
      if (l == 0) {
        auto it = prov_names.find(codes[0]);
        r.region.name = it != prov_names.end() ? it->second : "PROVINSI " + codes[0];
        r.region.kind = "provinsi";
      } else {
        r.region.name = row.region_names.size() == 3 && !row.region_names[l - 1].empty() ? row.region_names[l - 1]
                                                                                          : codes[l];
        r.region.kind = l == 1 ? (codes[1][2] >= '7' ? "kota" : "kabupaten")
                               : l == 2 ? "kecamatan"
                                        : (codes[3][6] == '1' ? "kelurahan" : "desa");
      }
      regions.emplace(codes[l], std::move(r));
    }
    tps.push_back(Tps{row.tps, "TPS " + row.tps.substr(10)});
  }
  std::vector<StoredRegion> list;
  for (auto& [code, r] : regions) list.push_back(std::move(r));
  REKAP_RETURN_IF_ERROR(store->PutRegions(list));
  return store->PutTps(tps);
}

}  // namespace

Status RunImportResults(const std::string& format, const std::string& file, const std::string& source_opt) {
  std::string source = source_opt.empty() ? "import:" + format : source_opt;
  REKAP_ASSIGN_OR_RETURN(std::string text, ReadFileMaybeGz(file));
  REKAP_ASSIGN_OR_RETURN(auto rows, ReadResultsKpuDki2024(text, file));

  REKAP_ASSIGN_OR_RETURN(Db db, OpenDb(true));
  REKAP_ASSIGN_OR_RETURN(Signer signer, LoadOrCreateKey(db, true));
  REKAP_RETURN_IF_ERROR(StoreEmbeddedSchemas(db.store.get()));
  REKAP_ASSIGN_OR_RETURN(int64_t ntps, db.store->CountTps());
  if (ntps == 0) {
    if (!G().quiet && !G().json)
      std::cerr << Tr("Belum ada daftar TPS: wilayah dan TPS diambil dari berkas hasil.\n",
                      "No TPS list yet: regions and TPS are taken from the results file.\n");
    REKAP_RETURN_IF_ERROR(RegionsFromResults(db.store.get(), rows, file));
  }
  REKAP_ASSIGN_OR_RETURN(auto election_doc, db.store->GetElection());
  if (!election_doc) {
    REKAP_RETURN_IF_ERROR(LoadElectionText(db.store.get(), EmbeddedFile("data/elections/pemilu-2024-ppwp.toml"),
                                           "builtin:pemilu-2024-ppwp"));
  }
  REKAP_ASSIGN_OR_RETURN(auto engine, Engine::Open(db.store.get(), std::move(signer), SystemClock()));
  const Contest* contest = nullptr;
  for (const auto& c : engine->election().contests)
    if (c.kind == "ppwp") contest = &c;
  if (!contest) return FailedPrecondition("pemilihan tidak punya kontes ppwp / the election has no ppwp contest");

  // Build every command and check it before writing anything.
  std::vector<Command> commands;
  std::vector<size_t> row_of;
  size_t empty_rows = 0;
  Progress p(Tr("memeriksa", "checking"), static_cast<int64_t>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    p.Update(static_cast<int64_t>(i + 1));
    if (rows[i].values.empty()) {
      ++empty_rows;  // not yet received: nothing to record
      continue;
    }
    Command c;
    c.kind = EventKind::kSubmission;
    c.contest = contest->id;
    c.tps = rows[i].tps;
    c.source = source;
    c.author = "rekap-import";
    c.values = rows[i].values;
    c.keep_out_of_range = true;
    c.partial = true;  // empty cells: not yet received
    Status st = engine->Check(c);
    if (!st.ok()) return Status(st.code(), file + ":" + std::to_string(rows[i].line) + ": " + st.message());
    commands.push_back(std::move(c));
    row_of.push_back(i);
  }
  p.Done();
  // One batch: one transaction, all or nothing.
  auto outcomes = engine->Execute(commands);
  size_t appended = 0, duplicates = 0;
  nlohmann::json flagged = nlohmann::json::array();
  std::map<std::string, std::pair<int64_t, nlohmann::json>> rules;
  std::map<std::string, Severity> severity;
  for (const auto& r : contest->form->rules()) {
    rules[r.id] = {0, nlohmann::json::array()};
    severity[r.id] = r.severity;
  }
  const Form& form = *contest->form;
  std::vector<Value> v(form.size());
  std::vector<RuleFailure> failures;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i].ok()) return outcomes[i].status();  // the store failed: nothing was written
    if (outcomes[i]->kind == Outcome::Kind::kAppended) ++appended; else ++duplicates;
    if (outcomes[i]->flagged) flagged.push_back(commands[i].tps);
    std::fill(v.begin(), v.end(), kMissing);
    for (const auto& [name, val] : commands[i].values) v[form.IndexOf(name)] = val;
    failures.clear();
    form.Validate(v.data(), &failures);
    std::set<std::string> seen;
    for (const auto& f : failures) {
      if (!seen.insert(f.rule_id).second) continue;  // one TPS counts once per rule
      auto& [n, list] = rules[f.rule_id];
      ++n;
      list.push_back(commands[i].tps);
      severity[f.rule_id] = f.severity;
    }
  }
  if (G().json) {
    nlohmann::json jr = nlohmann::json::object();
    for (auto& [id, nl] : rules)
      jr[id] = {{"broken", nl.first}, {"tps", nl.second},
                {"severity", severity[id] == Severity::kError ? "error" : "warning"}};
    std::cout << nlohmann::json{{"imported", commands.size()}, {"appended", appended}, {"duplicates", duplicates},
                                {"rows", rows.size()}, {"not_received", empty_rows}, {"contest", contest->id},
                                {"rules", jr}, {"flagged_tps", flagged}}
                     .dump()
              << "\n";
    return Status::Ok();
  }
  std::cout << Tr("Berkas: ", "File: ") << file << "\n"
            << Tr("Baris: ", "Rows: ") << rows.size() << Tr(", belum masuk (kosong): ", ", not yet received (empty): ")
            << empty_rows << Tr(", diimpor: ", ", imported: ") << commands.size() << " (" << appended
            << Tr(" baru, ", " new, ") << duplicates << Tr(" duplikat)\n", " duplicates)\n\n");
  std::printf("%-44s %-8s %8s\n", Tr("aturan", "rule").c_str(), Tr("jenis", "severity").c_str(),
              Tr("TPS", "TPS broken").c_str());
  for (auto& [id, nl] : rules) {
    std::printf("%-44s %-8s %8lld\n", id.c_str(), severity[id] == Severity::kError ? "error" : "warning",
                static_cast<long long>(nl.first));
  }
  std::cout << "\n" << Tr("TPS ditandai (melanggar aturan keras, tidak dihitung): ",
                          "TPS flagged (break a hard rule, not counted): ")
            << flagged.size() << "\n";
  return Status::Ok();
}

}  // namespace rekap::cli
