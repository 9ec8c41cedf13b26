// Shared plumbing of the rekap subcommands: opening the database and key, language,
// progress, and output formats.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "rekap/election.h"
#include "rekap/engine.h"
#include "rekap/store.h"

namespace rekap::cli {

struct Globals {
  std::string db = "rekap.db";
  std::string lang = "id";  // "id" or "en"
  bool json = false;
  bool quiet = false;
};
Globals& G();

// Picks the Indonesian or English text by --lang.
inline const std::string& Tr(const std::string& id, const std::string& en) { return G().lang == "en" ? en : id; }
inline std::string TrS(std::string id, std::string en) { return G().lang == "en" ? en : id; }

// Prints an error (bilingual) and returns the exit code for it.
int Fail(const Status& st);

// Progress on stderr for long work; silent with --json or --quiet or when stderr is not a tty
// unless forced. `Update` is cheap to call often.
class Progress {
 public:
  Progress(std::string what, int64_t total);
  void Update(int64_t done);
  void Done();

 private:
  std::string what_;
  int64_t total_;
  int64_t last_ms_ = 0;
  bool enabled_;
};

// The database at G().db and its signing key (<db>.key, created with the database).
struct Db {
  // An exclusive flock on the database file for the whole command: two commands on one
  // database take turns instead of both appending the same batch or one reading the other's
  // commit half done (the loser failed as "invalid input" or "data loss" before, 2026-12-07).
  // SQLite's own locks are fcntl locks, which flock does not touch on Linux. First, so that it
  // is let go last, after the store has closed (and checkpointed) its connection.
  std::shared_ptr<void> lock;
  std::unique_ptr<Store> store;
  std::string key_path;
};
Result<Db> OpenDb(bool create);
Result<Signer> LoadOrCreateKey(Db& db, bool create);
// Opens the database and the engine over it (loads regions, TPS, election; replays).
struct Session {
  Db db;
  std::unique_ptr<Engine> engine;
};
Result<Session> OpenSession();

// Embedded form schemas and elections (data/ of the source tree, compiled in).
std::map<std::string, std::shared_ptr<const FormSchema>> EmbeddedSchemas();
// Text of an embedded file by relative path ("data/elections/pemilu-2024-ppwp.toml"), or "".
std::string EmbeddedFile(std::string_view path);
// Saves the embedded schemas into the store (idempotent).
Status StoreEmbeddedSchemas(Store* store);
// Loads an election text (TOML) into the store after checking it resolves; refuses to
// replace an election once events exist unless the text is identical.
Status LoadElectionText(Store* store, const std::string& text, const std::string& origin);

nlohmann::json TotalsJson(const Contest& c, const RegionTotals& t);
nlohmann::json FailureJson(const RuleFailure& f);
std::string Percent(int64_t part, int64_t whole);

}  // namespace rekap::cli
