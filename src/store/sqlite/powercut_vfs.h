// A SQLite VFS for tests that simulates a power cut (only for tests: included by *_test.cc).
//
// It wraps the platform's VFS. Every write, truncate and sync of the files it opens goes
// through to the real file as usual, and is also recorded: per file, the content it had at
// its last sync (what a disk keeps through a power cut) and the writes and truncates since.
// A sync records durability without calling fsync (the real files are only the working copy;
// durability is what this model says it is), so a test can run thousands of commits quickly.
//
// `CutAfter(n)` arms the cut: the n-th write, truncate or sync from then on, and every one
// after it, fails with an I/O error and never reaches the file, as if the machine lost power
// just before it (SQLite and the engine see the failure; nothing they do afterwards lands).
// After the test has closed its connections, `Restore(rng)` puts on disk what a disk could
// hold after such a cut: each file's synced content, plus a random subset of the writes made
// since its last sync, 512-byte piece by piece and in order, and each truncate since with
// probability 1/2. A file whose directory entry was never made durable (created, and no
// journal or WAL in its directory synced since) may vanish. The WAL index (`-shm`), which is
// not meant to survive, is removed. That is the model of SQLite's own crash tests (a disk
// reorders and tears unsynced writes, and honours a sync); it does not model a disk that
// lies about its syncs.
//
// While registered it is the default VFS, so code that opens SQLite with the default VFS
// (OpenSqliteStore) runs on it unchanged. One instance at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace rekap::powercut {

class PowerCutVfs {
 public:
  PowerCutVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    std::memset(&vfs_, 0, sizeof vfs_);
    vfs_.iVersion = 1;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.mxPathname = real_->mxPathname;
    vfs_.zName = "rekap-powercut";
    vfs_.pAppData = this;
    vfs_.xOpen = &Open;
    vfs_.xDelete = &Delete;
    vfs_.xAccess = [](sqlite3_vfs* v, const char* n, int f, int* o) { return Real(v)->xAccess(Real(v), n, f, o); };
    vfs_.xFullPathname = [](sqlite3_vfs* v, const char* n, int k, char* o) {
      return Real(v)->xFullPathname(Real(v), n, k, o);
    };
    vfs_.xDlOpen = [](sqlite3_vfs* v, const char* n) { return Real(v)->xDlOpen(Real(v), n); };
    vfs_.xDlError = [](sqlite3_vfs* v, int n, char* o) { Real(v)->xDlError(Real(v), n, o); };
    vfs_.xDlSym = [](sqlite3_vfs* v, void* h, const char* s) { return Real(v)->xDlSym(Real(v), h, s); };
    vfs_.xDlClose = [](sqlite3_vfs* v, void* h) { Real(v)->xDlClose(Real(v), h); };
    vfs_.xRandomness = [](sqlite3_vfs* v, int n, char* o) { return Real(v)->xRandomness(Real(v), n, o); };
    vfs_.xSleep = [](sqlite3_vfs* v, int us) { return Real(v)->xSleep(Real(v), us); };
    vfs_.xCurrentTime = [](sqlite3_vfs* v, double* t) { return Real(v)->xCurrentTime(Real(v), t); };
    vfs_.xGetLastError = [](sqlite3_vfs* v, int n, char* o) { return Real(v)->xGetLastError(Real(v), n, o); };
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
  }
  ~PowerCutVfs() { sqlite3_vfs_unregister(&vfs_); }
  PowerCutVfs(const PowerCutVfs&) = delete;
  PowerCutVfs& operator=(const PowerCutVfs&) = delete;

  // Arms the cut before the n-th (n >= 1) write, truncate or sync from now on; 0 disarms it.
  void CutAfter(uint64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    countdown_ = n;
  }
  bool cut() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cut_;
  }
  // Writes, truncates and syncs seen since construction (a dry run counts a workload's).
  uint64_t operations() const {
    std::lock_guard<std::mutex> lock(mu_);
    return operations_;
  }
  // The operation numbers (as counted by operations()) of the syncs of database files
  // (not journals or WALs): in WAL mode, the checkpoints.
  std::vector<uint64_t> database_sync_operations() const {
    std::lock_guard<std::mutex> lock(mu_);
    return database_syncs_;
  }

  // After every connection is closed: leaves on disk what survived the cut (see above),
  // forgets every file, and runs normally again.
  void Restore(std::mt19937_64& rng) {
    std::lock_guard<std::mutex> lock(mu_);
    std::bernoulli_distribution half(0.5);
    for (auto& [path, st] : files_) {
      std::error_code ec;
      if (st.deleted) {  // a delete is a directory change too: it may not have landed
        if (st.entry_durable && half(rng)) {
          std::ofstream out(path, std::ios::binary | std::ios::trunc);
          out.write(st.durable.data(), static_cast<std::streamsize>(st.durable.size()));
        }
      } else if (!st.entry_durable && half(rng)) {
        std::filesystem::remove(path, ec);
      } else {
        std::string image = st.durable;
        for (const Op& op : st.pending) {
          if (op.truncate) {
            if (half(rng)) image.resize(op.offset);
            continue;
          }
          for (size_t at = 0; at < op.data.size(); at += 512) {
            if (!half(rng)) continue;
            size_t n = std::min<size_t>(512, op.data.size() - at);
            size_t off = op.offset + at;
            if (image.size() < off + n) image.resize(off + n, '\0');
            image.replace(off, n, op.data, at, n);
          }
        }
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(image.data(), static_cast<std::streamsize>(image.size()));
      }
      std::filesystem::remove(path + "-shm", ec);
    }
    files_.clear();
    cut_ = false;
    countdown_ = 0;
  }

 private:
  struct Op {
    bool truncate = false;
    uint64_t offset = 0;  // a write's offset, or a truncate's new size
    std::string data;
  };
  struct State {
    std::string durable;       // content as of the last sync
    std::vector<Op> pending;   // since then, in order
    bool entry_durable = false;  // its directory entry as of the last directory sync: it exists
                                 // (or, deleted since, would come back with `durable`)
    bool deleted = false;        // by xDelete; `durable` is what it held
  };
  struct File {
    sqlite3_file base;
    PowerCutVfs* vfs;
    State* state;       // null: not tracked (temporary files)
    bool journal;       // a rollback journal or a WAL
    bool dir_sync;      // a journal or WAL just created: its next sync also syncs its directory
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };

  static sqlite3_vfs* Real(sqlite3_vfs* v) { return static_cast<PowerCutVfs*>(v->pAppData)->real_; }
  static File* F(sqlite3_file* f) { return reinterpret_cast<File*>(f); }

  // Called with mu_ held for every write, truncate and sync: false once the power is cut.
  bool PowerOn() {
    if (cut_) return false;
    ++operations_;
    if (countdown_ > 0 && --countdown_ == 0) {
      cut_ = true;
      return false;
    }
    return true;
  }

  static int Open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    auto* self = static_cast<PowerCutVfs*>(v->pAppData);
    File* pf = F(f);
    pf->base.pMethods = nullptr;
    pf->vfs = self;
    pf->state = nullptr;
    pf->journal = (flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL)) != 0;
    pf->dir_sync = pf->journal && (flags & SQLITE_OPEN_CREATE) != 0;
    const bool tracked = name != nullptr && (flags & SQLITE_OPEN_DELETEONCLOSE) == 0;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      if (self->cut_) return SQLITE_CANTOPEN;
      auto it = tracked ? self->files_.find(name) : self->files_.end();
      if (tracked && (it == self->files_.end() || it->second.deleted)) {
        State st;
        std::error_code ec;
        if (std::filesystem::exists(name, ec)) {  // there before: taken as durable
          std::ifstream in(name, std::ios::binary);
          st.durable.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
          st.entry_durable = true;
        }
        self->files_[name] = std::move(st);
      }
      if (tracked) pf->state = &self->files_[name];
    }
    int rc = self->real_->xOpen(self->real_, name, pf->real(), flags, out_flags);
    if (rc != SQLITE_OK) return rc;
    static const sqlite3_io_methods kMethods = MakeMethods();
    pf->base.pMethods = &kMethods;
    return SQLITE_OK;
  }

  static int Delete(sqlite3_vfs* v, const char* name, int sync_dir) {
    auto* self = static_cast<PowerCutVfs*>(v->pAppData);
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      if (!self->PowerOn()) return SQLITE_IOERR_DELETE;
      auto it = self->files_.find(name);
      if (it != self->files_.end()) {  // kept (open files point at it); see Restore
        it->second.pending.clear();
        it->second.deleted = true;
      }
    }
    return self->real_->xDelete(self->real_, name, sync_dir);
  }

  static sqlite3_io_methods MakeMethods() {
    sqlite3_io_methods m;
    std::memset(&m, 0, sizeof m);
    m.iVersion = 2;  // with shared memory (WAL), without memory-mapped I/O
    m.xClose = [](sqlite3_file* f) {
      int rc = F(f)->real()->pMethods->xClose(F(f)->real());
      return rc;
    };
    m.xRead = [](sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
      return F(f)->real()->pMethods->xRead(F(f)->real(), buf, n, off);
    };
    m.xWrite = [](sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
      File* pf = F(f);
      {
        std::lock_guard<std::mutex> lock(pf->vfs->mu_);
        if (!pf->vfs->PowerOn()) return SQLITE_IOERR_WRITE;
        if (pf->state)
          pf->state->pending.push_back(Op{false, static_cast<uint64_t>(off),
                                          std::string(static_cast<const char*>(buf), static_cast<size_t>(n))});
      }
      return pf->real()->pMethods->xWrite(pf->real(), buf, n, off);
    };
    m.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
      File* pf = F(f);
      {
        std::lock_guard<std::mutex> lock(pf->vfs->mu_);
        if (!pf->vfs->PowerOn()) return SQLITE_IOERR_TRUNCATE;
        if (pf->state) pf->state->pending.push_back(Op{true, static_cast<uint64_t>(size), {}});
      }
      return pf->real()->pMethods->xTruncate(pf->real(), size);
    };
    m.xSync = [](sqlite3_file* f, int) {
      File* pf = F(f);
      std::lock_guard<std::mutex> lock(pf->vfs->mu_);
      if (!pf->vfs->PowerOn()) return SQLITE_IOERR_FSYNC;
      if (!pf->journal) pf->vfs->database_syncs_.push_back(pf->vfs->operations_);
      if (State* st = pf->state) {
        for (const Op& op : st->pending) {
          if (op.truncate) {
            st->durable.resize(op.offset);
          } else {
            if (st->durable.size() < op.offset + op.data.size()) st->durable.resize(op.offset + op.data.size(), '\0');
            st->durable.replace(op.offset, op.data.size(), op.data);
          }
        }
        st->pending.clear();
      }
      // unix VFS: the first sync of a journal or WAL opened with create also syncs its
      // directory, which makes every entry's state so far durable: the files made in it (the
      // database's among them) exist, the files deleted from it are gone. A file's own sync
      // does not make its entry durable.
      if (pf->dir_sync) {
        pf->dir_sync = false;
        for (auto& [path, other] : pf->vfs->files_) other.entry_durable = !other.deleted;
      }
      return SQLITE_OK;  // durability is this model's; the real fsync is not needed
    };
    m.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
      return F(f)->real()->pMethods->xFileSize(F(f)->real(), size);
    };
    m.xLock = [](sqlite3_file* f, int l) { return F(f)->real()->pMethods->xLock(F(f)->real(), l); };
    m.xUnlock = [](sqlite3_file* f, int l) { return F(f)->real()->pMethods->xUnlock(F(f)->real(), l); };
    m.xCheckReservedLock = [](sqlite3_file* f, int* o) {
      return F(f)->real()->pMethods->xCheckReservedLock(F(f)->real(), o);
    };
    m.xFileControl = [](sqlite3_file* f, int op, void* arg) {
      // Growing a file by a size hint or chunks would change it outside xWrite and xTruncate.
      if (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE) return SQLITE_NOTFOUND;
      return F(f)->real()->pMethods->xFileControl(F(f)->real(), op, arg);
    };
    m.xSectorSize = [](sqlite3_file* f) { return F(f)->real()->pMethods->xSectorSize(F(f)->real()); };
    m.xDeviceCharacteristics = [](sqlite3_file* f) {
      return F(f)->real()->pMethods->xDeviceCharacteristics(F(f)->real());
    };
    m.xShmMap = [](sqlite3_file* f, int pg, int sz, int extend, void volatile** p) {
      return F(f)->real()->pMethods->xShmMap(F(f)->real(), pg, sz, extend, p);
    };
    m.xShmLock = [](sqlite3_file* f, int off, int n, int flags) {
      return F(f)->real()->pMethods->xShmLock(F(f)->real(), off, n, flags);
    };
    m.xShmBarrier = [](sqlite3_file* f) { F(f)->real()->pMethods->xShmBarrier(F(f)->real()); };
    m.xShmUnmap = [](sqlite3_file* f, int del) { return F(f)->real()->pMethods->xShmUnmap(F(f)->real(), del); };
    return m;
  }

  sqlite3_vfs vfs_;
  sqlite3_vfs* real_;
  mutable std::mutex mu_;
  std::map<std::string, State> files_;  // by the name SQLite opened them with (a full path);
                                        // never erased before Restore (files point at them)
  uint64_t countdown_ = 0;
  uint64_t operations_ = 0;
  std::vector<uint64_t> database_syncs_;
  bool cut_ = false;
};

}  // namespace rekap::powercut
