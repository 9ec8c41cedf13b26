#include "common.h"

#include <sodium.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "embedded_data.h"
#include "rekap/import.h"

namespace rekap::cli {

Globals& G() {
  static Globals g;
  return g;
}

int Fail(const Status& st) {
  if (G().json) {
    nlohmann::json j = {{"error", {{"code", std::string(CodeName(st.code()))}, {"message", st.message()}}}};
    std::cout << j.dump() << "\n";
  }
  std::cerr << "rekap: " << Tr("galat", "error") << " [" << CodeName(st.code()) << "]: " << st.message() << "\n";
  switch (st.code()) {
    case Code::kInvalidArgument: return 2;
    case Code::kNotFound: return 3;
    case Code::kAlreadyExists: return 4;
    case Code::kFailedPrecondition: return 5;
    case Code::kDataLoss: return 6;
    default: return 1;
  }
}

static int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Progress::Progress(std::string what, int64_t total)
    : what_(std::move(what)), total_(total), enabled_(!G().json && !G().quiet) {}

void Progress::Update(int64_t done) {
  if (!enabled_) return;
  int64_t now = NowMs();
  if (now - last_ms_ < 250 && done != total_) return;
  last_ms_ = now;
  if (total_ > 0) {
    std::fprintf(stderr, "\r%s: %lld/%lld (%.0f%%)   ", what_.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), 100.0 * static_cast<double>(done) / static_cast<double>(total_));
  } else {
    std::fprintf(stderr, "\r%s: %lld   ", what_.c_str(), static_cast<long long>(done));
  }
  std::fflush(stderr);
}

void Progress::Done() {
  if (!enabled_ || last_ms_ == 0) return;
  std::fprintf(stderr, "\n");
}

Result<Db> OpenDb(bool create) {
  Db db;
  if (G().db.empty()) return InvalidArgument("--db: jalur kosong / empty path");
  struct stat st;
  if (stat(G().db.c_str(), &st) != 0) {
    if (!create)
      return NotFound("basis data " + G().db + " tidak ada; jalankan `rekap init` / database " + G().db +
                      " does not exist; run `rekap init`");
  } else if (!S_ISREG(st.st_mode)) {
    return InvalidArgument("--db: bukan berkas biasa / not a regular file: " + G().db);
  } else if (!create && st.st_size == 0) {
    // SQLite takes an empty file for an empty database: a reading command would write the
    // schema into it before finding the key missing (2026-12-07 audit).
    return FailedPrecondition("basis data " + G().db + " kosong; jalankan `rekap init` / database " + G().db +
                              " is empty; run `rekap init`");
  }
  {
    const int fd = ::open(G().db.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {  // else the store's open below says why
      db.lock = std::shared_ptr<void>(nullptr, [fd](void*) { ::close(fd); });
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (!G().quiet)
          std::cerr << Tr("menunggu perintah lain pada ", "waiting for another command on ") << G().db << "...\n";
        while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
        }
      }
    }
  }
  REKAP_ASSIGN_OR_RETURN(db.store, OpenSqliteStore(G().db, true));
  db.key_path = G().db + ".key";
  return db;
}

// Creates the key file so that a power cut at any moment leaves it whole or absent, and
// present on disk before the database records its public key: written to KEY.tmp (ours: a
// cut may have left one), synced, linked to KEY (which fails if KEY appeared meanwhile), and
// the directory synced. Before 2026-12-08 the key was written in place and its directory
// never synced: a cut could leave an empty key file ("key file corrupt"), or a database
// holding a public key whose key file was gone, which no command could extend again.
static Status CreateKeyFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  auto cannot = [&](const std::string& what) {
    return Unavailable("tidak dapat menulis / cannot write " + path + " (" + what + ": " + std::strerror(errno) + ")");
  };
  // A KEY.tmp left by a cut is removed, not reused: it keeps its own mode (0644 if someone made
  // it so), and a symbolic link there would be followed.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return cannot(tmp);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return cannot(tmp);
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    Status st = cannot(tmp);
    ::unlink(tmp.c_str());
    return st;
  }
  if (::link(tmp.c_str(), path.c_str()) == 0) {
    ::unlink(tmp.c_str());
  } else if (errno == EEXIST || ::rename(tmp.c_str(), path.c_str()) != 0) {  // rename: no hard links there
    Status st = cannot(path);
    ::unlink(tmp.c_str());
    return st;
  }
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return cannot(dir);
  ok = ::fsync(dfd) == 0;
  Status st = ok ? Status::Ok() : cannot(dir);
  ::close(dfd);
  return st;
}

Result<Signer> LoadOrCreateKey(Db& db, bool create) {
  struct stat kst;
  if (stat(db.key_path.c_str(), &kst) == 0 && !S_ISREG(kst.st_mode))  // read as "corrupt" before
    return FailedPrecondition("berkas kunci bukan berkas biasa / key file is not a regular file: " + db.key_path);
  std::ifstream in(db.key_path);
  if (in) {
    // At most a few hundred bytes: the key is 128 hex digits and a newline (a key path onto a
    // device or a huge file read without bound hung before, 2026-12-07).
    std::string hex(512, '\0');
    in.read(hex.data(), std::streamsize(hex.size()));
    hex.resize(size_t(in.gcount()));
    while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.pop_back();
    size_t lead = 0;
    while (lead < hex.size() && std::isspace(static_cast<unsigned char>(hex[lead]))) ++lead;
    hex.erase(0, lead);
    std::string sk(64, '\0');
    size_t len = 0;
    if (sodium_hex2bin(reinterpret_cast<unsigned char*>(sk.data()), sk.size(), hex.data(), hex.size(), nullptr, &len,
                       nullptr) != 0 ||
        len != 64) {
      return DataLoss("berkas kunci rusak / key file corrupt: " + db.key_path);
    }
    REKAP_ASSIGN_OR_RETURN(Signer s, Signer::FromSecretKey(sk));
    REKAP_ASSIGN_OR_RETURN(auto pk, db.store->GetMeta("public_key"));
    std::string mine = ToHex(*reinterpret_cast<const Hash*>(s.public_key().data()));
    if (pk && *pk != mine) {
      return FailedPrecondition("kunci " + db.key_path + " bukan kunci basis data ini / key " + db.key_path +
                                " is not this database's key");
    }
    if (!pk) REKAP_RETURN_IF_ERROR(db.store->PutMeta("public_key", mine));
    return s;
  }
  if (!create) {
    return NotFound("berkas kunci " + db.key_path + " tidak ada / key file " + db.key_path + " missing");
  }
  REKAP_ASSIGN_OR_RETURN(auto pk, db.store->GetMeta("public_key"));
  if (pk) {
    return FailedPrecondition("basis data sudah punya kunci publik tetapi berkas kunci hilang / database has a public key "
                              "but the key file is missing: " + db.key_path);
  }
  Signer s = Signer::Generate();
  std::string sk = s.secret_key();
  std::string hex(sk.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(sk.data()), sk.size());
  hex.pop_back();
  REKAP_RETURN_IF_ERROR(CreateKeyFile(db.key_path, hex + "\n"));
  REKAP_RETURN_IF_ERROR(db.store->PutMeta("public_key", ToHex(*reinterpret_cast<const Hash*>(s.public_key().data()))));
  return s;
}

Result<Session> OpenSession() {
  Session s;
  REKAP_ASSIGN_OR_RETURN(s.db, OpenDb(false));
  REKAP_ASSIGN_OR_RETURN(Signer signer, LoadOrCreateKey(s.db, false));
  REKAP_ASSIGN_OR_RETURN(s.engine, Engine::Open(s.db.store.get(), std::move(signer), SystemClock()));
  return s;
}

std::map<std::string, std::shared_ptr<const FormSchema>> EmbeddedSchemas() {
  std::map<std::string, std::shared_ptr<const FormSchema>> out;
  for (const auto& f : embedded::kFiles) {
    if (f.path.substr(0, 13) != "data/schemas/") continue;
    auto s = FormSchema::Parse(f.text, std::string(f.path));
    if (s.ok()) out[(*s)->id()] = *s;  // shipped schemas are tested; a bad one is skipped
  }
  return out;
}

std::string EmbeddedFile(std::string_view path) {
  for (const auto& f : embedded::kFiles)
    if (f.path == path) return std::string(f.text);
  return "";
}

Status StoreEmbeddedSchemas(Store* store) {
  // Only schemas the database lacks: a stored schema is what its results were checked
  // against, and a newer binary must not change it under them.
  std::set<std::string> stored;
  REKAP_RETURN_IF_ERROR(store->ScanSchemas([&](const StoredDocument& d) { stored.insert(d.id); }));
  for (const auto& f : embedded::kFiles) {
    if (f.path.substr(0, 13) != "data/schemas/") continue;
    REKAP_ASSIGN_OR_RETURN(auto s, FormSchema::Parse(f.text, std::string(f.path)));
    if (stored.count(s->id())) continue;
    REKAP_RETURN_IF_ERROR(store->PutSchema({s->id(), std::string(f.text)}));
  }
  return Status::Ok();
}

Status LoadElectionText(Store* store, const std::string& text, const std::string& origin) {
  REKAP_RETURN_IF_ERROR(StoreEmbeddedSchemas(store));
  std::map<std::string, std::shared_ptr<const FormSchema>> schemas;
  REKAP_RETURN_IF_ERROR(store->ScanSchemas([&](const StoredDocument& d) {
    auto s = FormSchema::Parse(d.text, d.id);
    if (s.ok()) schemas[(*s)->id()] = *s;
  }));
  REKAP_ASSIGN_OR_RETURN(Election e, Election::Parse(text, origin));
  REKAP_RETURN_IF_ERROR(e.Resolve(schemas));
  REKAP_ASSIGN_OR_RETURN(auto existing, store->GetElection());
  REKAP_ASSIGN_OR_RETURN(uint64_t last, store->LastSeq());
  if (existing && last > 0 && existing->text != text) {
    return FailedPrecondition(
        "ledger sudah berisi hasil untuk pemilihan " + existing->id +
        "; definisi tidak boleh diganti / the ledger already holds results for election " + existing->id +
        "; its definition cannot be replaced");
  }
  return store->PutElection({e.id, text});
}

nlohmann::json TotalsJson(const Contest& c, const RegionTotals& t) {
  nlohmann::json votes = nlohmann::json::object();
  for (size_t i = 0; i < t.votes.size() && i < c.candidates.size(); ++i) {
    votes[std::to_string(c.candidates[i].number)] = t.votes[i];
  }
  return {{"votes", votes},           {"valid", t.valid},           {"invalid", t.invalid},
          {"dpt", t.dpt},             {"tps_expected", t.expected}, {"tps_received", t.received},
          {"tps_flagged", t.flagged}, {"tps_conflicting", t.conflicting}, {"tps_corrected", t.corrected},
          {"tps_counted", t.counted}};
}

nlohmann::json FailureJson(const RuleFailure& f) {
  nlohmann::json values = nlohmann::json::object();
  for (size_t i = 0; i < f.fields.size() && i < f.values.size(); ++i) values[f.fields[i]] = f.values[i];
  return {{"rule", f.rule_id},
          {"severity", f.severity == Severity::kError ? "error" : "warning"},
          {"fields", f.fields},
          {"values", values},
          {"message", {{"id", f.message.id}, {"en", f.message.en}}},
          {"detail", f.detail}};
}

std::string Percent(int64_t part, int64_t whole) {
  if (whole <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buf;
}

}  // namespace rekap::cli
