// rekap init | import regions|tps|results | election load
#include <iostream>
#include <set>

#include "commands.h"
#include "common.h"
#include "rekap/import.h"

namespace rekap::cli {
namespace {

int Finish(const Status& st) { return ExitCode() = st.ok() ? 0 : Fail(st); }

Status RunInit() {
  REKAP_ASSIGN_OR_RETURN(Db db, OpenDb(true));
  REKAP_RETURN_IF_ERROR(LoadOrCreateKey(db, true).status());
  REKAP_RETURN_IF_ERROR(StoreEmbeddedSchemas(db.store.get()));
  if (G().json) {
    std::cout << nlohmann::json{{"db", G().db}, {"key", db.key_path}}.dump() << "\n";
  } else {
    std::cout << Tr("Basis data siap: ", "Database ready: ") << G().db << " (" << Tr("kunci", "key") << " "
              << db.key_path << ")\n";
  }
  return Status::Ok();
}

// Opens the database, creating it (and its key) on first use so imports work on a fresh path.
Result<Db> OpenForImport() {
  REKAP_ASSIGN_OR_RETURN(Db db, OpenDb(true));
  REKAP_RETURN_IF_ERROR(LoadOrCreateKey(db, true).status());
  REKAP_RETURN_IF_ERROR(StoreEmbeddedSchemas(db.store.get()));
  return db;
}

Status RunImportRegions(const std::vector<std::string>& files) {
  std::vector<StoredRegion> merged;
  for (const auto& f : files) {
    REKAP_ASSIGN_OR_RETURN(std::string text, ReadFileMaybeGz(f));
    REKAP_ASSIGN_OR_RETURN(auto regions, ReadRegions(text, f));
    if (!G().quiet && !G().json) std::cerr << f << ": " << regions.size() << Tr(" wilayah\n", " regions\n");
    merged = MergeRegions(std::move(merged), std::move(regions));
  }
  // Check every parent exists in the merged set before writing anything.
  std::set<std::string> codes;
  for (const auto& r : merged) codes.insert(r.region.code);
  REKAP_ASSIGN_OR_RETURN(Db db, OpenForImport());
  REKAP_RETURN_IF_ERROR(db.store->ScanRegions([&](const StoredRegion& r) { codes.insert(r.region.code); }));
  for (const auto& r : merged) {
    RegionCode parent = RegionCode::Parse(r.region.code)->parent();
    if (!parent.str().empty() && !codes.count(parent.str())) {
      return NotFound("wilayah " + r.region.code + ": induk " + parent.str() + " tidak ada / region " + r.region.code +
                      ": parent " + parent.str() + " is missing");
    }
  }
  // Keep names already stored from the other source.
  std::vector<StoredRegion> existing;
  REKAP_RETURN_IF_ERROR(db.store->ScanRegions([&](const StoredRegion& r) { existing.push_back(r); }));
  std::set<std::string> incoming;
  for (const auto& r : merged) incoming.insert(r.region.code);
  std::vector<StoredRegion> base;
  for (auto& r : existing)
    if (incoming.count(r.region.code)) base.push_back(std::move(r));
  merged = MergeRegions(std::move(base), std::move(merged));
  Progress p(Tr("menyimpan wilayah", "storing regions"), static_cast<int64_t>(merged.size()));
  REKAP_RETURN_IF_ERROR(db.store->PutRegions(merged));
  p.Update(static_cast<int64_t>(merged.size()));
  p.Done();
  REKAP_ASSIGN_OR_RETURN(int64_t total, db.store->CountRegions());
  std::map<int, int64_t> per_level;
  for (const auto& r : merged) per_level[static_cast<int>(r.region.level)]++;
  if (G().json) {
    std::cout << nlohmann::json{{"imported", merged.size()}, {"regions_total", total},
                                {"provinsi", per_level[1]}, {"kabkota", per_level[2]},
                                {"kecamatan", per_level[3]}, {"desa", per_level[4]}}
                     .dump()
              << "\n";
  } else {
    std::cout << Tr("Wilayah diimpor: ", "Regions imported: ") << merged.size() << " (provinsi " << per_level[1]
              << ", kab/kota " << per_level[2] << ", kecamatan " << per_level[3] << ", desa/kelurahan "
              << per_level[4] << "); " << Tr("total di basis data: ", "total in database: ") << total << "\n";
  }
  return Status::Ok();
}

Status RunImportTps(const std::string& file) {
  Progress p(Tr("membaca TPS", "reading TPS"), 0);
  REKAP_ASSIGN_OR_RETURN(std::string text, ReadFileMaybeGz(file));
  REKAP_ASSIGN_OR_RETURN(auto tps, ReadTpsList(text, file));
  REKAP_ASSIGN_OR_RETURN(Db db, OpenForImport());
  std::set<std::string> desa;
  REKAP_RETURN_IF_ERROR(db.store->ScanRegions([&](const StoredRegion& r) {
    if (r.region.level == Level::kDesa) desa.insert(r.region.code);
  }));
  if (desa.empty()) {
    return FailedPrecondition("belum ada wilayah; jalankan `rekap import regions` dulu / no regions yet; run `rekap "
                              "import regions` first");
  }
  for (const auto& t : tps) {
    if (!desa.count(t.id.substr(0, 10))) {
      return NotFound("TPS " + t.id + ": desa " + t.id.substr(0, 10) + " tidak ada dalam daftar wilayah / desa " +
                      t.id.substr(0, 10) + " is not in the region list");
    }
  }
  p.Update(static_cast<int64_t>(tps.size()));
  REKAP_RETURN_IF_ERROR(db.store->PutTps(tps));
  p.Done();
  REKAP_ASSIGN_OR_RETURN(int64_t total, db.store->CountTps());
  if (G().json) {
    std::cout << nlohmann::json{{"imported", tps.size()}, {"tps_total", total}}.dump() << "\n";
  } else {
    std::cout << Tr("TPS diimpor: ", "TPS imported: ") << tps.size() << "; "
              << Tr("total di basis data: ", "total in database: ") << total << "\n";
  }
  return Status::Ok();
}

Status RunElectionLoad(const std::string& file, const std::vector<std::string>& schema_files) {
  // Extra form schemas first: each is checked whole (unknown fields and functions in rules
  // are errors naming the rule) before the election that uses it.
  std::vector<StoredDocument> schemas;
  for (const auto& f : schema_files) {
    REKAP_ASSIGN_OR_RETURN(std::string stext, ReadFileMaybeGz(f, 4 << 20));
    REKAP_ASSIGN_OR_RETURN(auto schema, FormSchema::Parse(stext, f));
    schemas.push_back({schema->id(), stext});
  }
  std::string text;
  if (file.rfind("builtin:", 0) == 0) {
    text = EmbeddedFile("data/elections/" + file.substr(8) + ".toml");
    if (text.empty()) return NotFound("pemilihan bawaan / builtin election " + file);
  } else {
    REKAP_ASSIGN_OR_RETURN(text, ReadFileMaybeGz(file, 4 << 20));
  }
  REKAP_ASSIGN_OR_RETURN(Db db, OpenForImport());
  REKAP_ASSIGN_OR_RETURN(uint64_t last_seq, db.store->LastSeq());
  for (const auto& d : schemas) {
    if (last_seq > 0) {
      return FailedPrecondition("ledger sudah berisi hasil; skema tidak boleh diganti / the ledger already holds "
                                "results; schemas cannot be replaced");
    }
    REKAP_RETURN_IF_ERROR(db.store->PutSchema(d));
  }
  REKAP_RETURN_IF_ERROR(LoadElectionText(db.store.get(), text, file));
  REKAP_ASSIGN_OR_RETURN(auto e, LoadElection(db.store.get()));
  if (G().json) {
    nlohmann::json contests = nlohmann::json::array();
    for (const auto& c : e->contests)
      contests.push_back({{"id", c.id}, {"kind", c.kind}, {"scope", c.scope}, {"candidates", c.candidates.size()}});
    std::cout << nlohmann::json{{"election", e->id}, {"contests", contests}}.dump() << "\n";
  } else {
    std::cout << Tr("Pemilihan dimuat: ", "Election loaded: ") << e->id << " (" << e->contests.size()
              << Tr(" kontes)\n", " contests)\n");
    for (const auto& c : e->contests)
      std::cout << "  " << c.id << "  " << c.name << "  [" << c.schema_id << ", " << c.candidates.size()
                << " paslon]\n";
  }
  return Status::Ok();
}

}  // namespace

void AddInit(CLI::App& app) {
  auto* cmd = app.add_subcommand("init", "buat basis data dan kunci tanda tangan / create the database and signing key");
  cmd->callback([] { Finish(RunInit()); });
}

void AddElection(CLI::App& app) {
  auto* cmd = app.add_subcommand("election", "definisi pemilihan / election definition");
  cmd->require_subcommand(1);
  auto* load = cmd->add_subcommand("load", "muat berkas TOML pemilihan (atau builtin:NAMA) / load an election TOML file (or builtin:NAME)");
  static std::string file;
  static std::vector<std::string> schema_files;
  load->add_option("file", file, "berkas TOML / TOML file, e.g. data/elections/pemilu-2024-ppwp.toml")->required();
  // Files are checked where they are read (ReadFileMaybeGz): a directory given as a file is an
  // INVALID_ARGUMENT naming it there, not the argument parser's exit 105.
  load->add_option("--schema", schema_files, "skema formulir tambahan (TOML) / extra form schema files");
  load->callback([] { Finish(RunElectionLoad(file, schema_files)); });
}

// `import results` lives in cmd_results_import.cc; regions and TPS here.
Status RunImportResults(const std::string& format, const std::string& file, const std::string& source);

void AddImport(CLI::App& app) {
  auto* cmd = app.add_subcommand("import", "impor data publik / import public data");
  cmd->require_subcommand(1);
  static std::vector<std::string> region_files;
  auto* reg = cmd->add_subcommand(
      "regions", "impor wilayah (wilayah.csv Kemendagri dan/atau kpu_wilayah_pemilu2024.csv) / import regions");
  reg->add_option("files", region_files, "berkas CSV (boleh .gz) / CSV files (gzip allowed)")->required();
  reg->callback([] { Finish(RunImportRegions(region_files)); });

  static std::string tps_file;
  auto* tps = cmd->add_subcommand("tps", "impor daftar TPS KPU (kpu_tps_pemilu2024.csv.gz) / import the KPU TPS list");
  tps->add_option("file", tps_file, "berkas CSV (boleh .gz) / CSV file (gzip allowed)")->required();
  tps->callback([] { Finish(RunImportTps(tps_file)); });

  static std::string res_file, res_format = "kpu-dki-2024", res_source;
  auto* res = cmd->add_subcommand("results", "impor hasil per TPS / import per-TPS results");
  res->add_option("file", res_file, "berkas CSV / CSV file")->required();
  res->add_option("--format", res_format, "format berkas / file format")
      ->check(CLI::IsMember({"kpu-dki-2024"}))
      ->capture_default_str();
  res->add_option("--source", res_source, "nama sumber di ledger / source name in the ledger (default import:<format>)");
  res->callback([] { Finish(RunImportResults(res_format, res_file, res_source)); });
}

}  // namespace rekap::cli
