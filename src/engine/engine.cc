#include "rekap/engine.h"

#include <algorithm>
#include <chrono>
#include <future>

namespace rekap {
namespace {

class RealClock final : public Clock {
 public:
  int64_t NowMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// Identifiers that end up in the ledger: printable, bounded, no separators that could
// confuse a CSV or a log line.
Status CheckToken(std::string_view field, std::string_view v, size_t max) {
  if (v.empty() || v.size() > max) {
    return InvalidArgument("kolom '" + std::string(field) + "': wajib diisi, 1-" + std::to_string(max) +
                           " karakter / field '" + std::string(field) + "': required, 1-" +
                           std::to_string(max) + " characters");
  }
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
              c == '-' || c == '_' || c == '.' || c == '@';
    if (!ok) {
      return InvalidArgument("kolom '" + std::string(field) + "': karakter tidak sah / field '" +
                             std::string(field) + "': invalid character (allowed: letters, digits, : - _ . @)");
    }
  }
  return Status::Ok();
}

// A source is one name however it is typed ("KPPS" was a second source beside "kpps"), and a
// qualifier after ':' names someone ("saksi:" named no one).
Status CheckSource(std::string_view v) {
  for (char c : v)
    if (c >= 'A' && c <= 'Z')
      return InvalidArgument("kolom 'source': huruf kecil saja / field 'source': lowercase only (e.g. kpps, saksi:01)");
  const size_t colon = v.find(':');
  if (colon == 0 || (colon != std::string_view::npos && colon + 1 == v.size()))
    return InvalidArgument("kolom 'source': nama sebelum dan sesudah ':' / field 'source': a name before and after ':' "
                           "(e.g. saksi:01)");
  return Status::Ok();
}

Status CheckReason(std::string_view v) {
  if (v.empty() || v.size() > 1000) {
    return InvalidArgument(
        "kolom 'reason': alasan wajib untuk koreksi dan penerimaan, 1-1000 byte / field 'reason': a "
        "reason is required for corrections and acceptances, 1-1000 bytes");
  }
  bool words = false;  // a reason says something: not only spaces, tabs and newlines
  for (unsigned char c : v) {
    if (c < 0x20 && c != '\n' && c != '\t')
      return InvalidArgument("kolom 'reason': karakter kontrol / field 'reason': control character");
    words = words || (c != ' ' && c != '\n' && c != '\t');
  }
  if (!words)
    return InvalidArgument("kolom 'reason': alasan kosong (hanya spasi) / field 'reason': blank (only spaces)");
  return Status::Ok();
}

}  // namespace

Clock* SystemClock() {
  static RealClock clock;
  return &clock;
}

Result<std::shared_ptr<const RegionTree>> LoadTree(Store* store) {
  auto tree = std::make_shared<RegionTree>();
  Status st = Status::Ok();
  REKAP_RETURN_IF_ERROR(store->ScanRegions([&](const StoredRegion& r) {
    if (st.ok()) st = tree->AddRegion(r.region);
  }));
  REKAP_RETURN_IF_ERROR(st);
  REKAP_RETURN_IF_ERROR(store->ScanTps([&](const Tps& t) {
    if (st.ok()) st = tree->AddTps(t);
  }));
  REKAP_RETURN_IF_ERROR(st);
  REKAP_RETURN_IF_ERROR(tree->Finish(/*create_missing_parents=*/true));
  return std::shared_ptr<const RegionTree>(std::move(tree));
}

Result<std::shared_ptr<const Election>> LoadElection(Store* store) {
  REKAP_ASSIGN_OR_RETURN(auto doc, store->GetElection());
  if (!doc) {
    return FailedPrecondition(
        "belum ada pemilihan; jalankan `rekap election load FILE` / no election loaded; run `rekap "
        "election load FILE`");
  }
  std::map<std::string, std::shared_ptr<const FormSchema>> schemas;
  Status st = Status::Ok();
  REKAP_RETURN_IF_ERROR(store->ScanSchemas([&](const StoredDocument& d) {
    if (!st.ok()) return;
    auto s = FormSchema::Parse(d.text, "schema " + d.id);
    if (!s.ok()) {
      st = s.status();
      return;
    }
    schemas[(*s)->id()] = *s;
  }));
  REKAP_RETURN_IF_ERROR(st);
  REKAP_ASSIGN_OR_RETURN(Election e, Election::Parse(doc->text, "election " + doc->id));
  REKAP_RETURN_IF_ERROR(e.Resolve(schemas));
  return std::make_shared<const Election>(std::move(e));
}

Result<std::unique_ptr<Engine>> Engine::Open(Store* store, Signer signer, Clock* clock) {
  REKAP_ASSIGN_OR_RETURN(auto tree, LoadTree(store));
  REKAP_ASSIGN_OR_RETURN(auto election, LoadElection(store));
  return OpenWith(store, std::move(signer), clock, std::move(tree), std::move(election));
}

Result<std::unique_ptr<Engine>> Engine::OpenWith(Store* store, Signer signer, Clock* clock,
                                                 std::shared_ptr<const RegionTree> tree,
                                                 std::shared_ptr<const Election> election) {
  std::unique_ptr<Engine> e(new Engine(store, std::move(signer), clock));
  REKAP_RETURN_IF_ERROR(e->Init(std::move(tree), std::move(election)));
  return e;
}

Status Engine::Init(std::shared_ptr<const RegionTree> tree, std::shared_ptr<const Election> election) {
  tree_ = std::move(tree);
  election_ = std::move(election);
  return Replay();
}

Status Engine::Replay() {
  tallies_.clear();
  for (const auto& c : election_->contests) {
    tallies_.emplace(c.id, std::make_unique<ContestTally>(tree_.get(), &c));
  }
  last_seq_ = 0;
  last_batch_ = 0;
  last_head_ = Hash{};
  Status st = Status::Ok();
  uint64_t covered = 0;  // last seq the batch heads cover
  REKAP_RETURN_IF_ERROR(store_->ScanBatches([&](const BatchHead& h) {
    if (h.batch != last_batch_ + 1 || h.prev_head != last_head_ || h.first_seq != covered + 1) {
      st = DataLoss("batch " + std::to_string(h.batch) + ": rantai kepala putus / head chain broken");
      return false;
    }
    last_batch_ = h.batch;
    last_head_ = HeadHash(h);
    covered = h.first_seq + h.size - 1;
    return true;
  }));
  REKAP_RETURN_IF_ERROR(st);
  REKAP_RETURN_IF_ERROR(store_->ScanEvents(1, [&](const StoredEvent& se) {
    if (se.seq != last_seq_ + 1) {
      st = DataLoss("event " + std::to_string(se.seq) + ": urutan tidak berurutan / sequence gap");
      return false;
    }
    Hash h = EventHash(se.body);
    if (h != se.hash) {
      st = DataLoss("event " + std::to_string(se.seq) + ": hash tidak cocok / hash mismatch");
      return false;
    }
    auto ev = Decode(se.body);
    if (!ev.ok()) {
      st = DataLoss("event " + std::to_string(se.seq) + ": " + ev.status().message());
      return false;
    }
    if (ev->seq != se.seq) {
      st = DataLoss("event " + std::to_string(se.seq) + ": nomor urut isi berbeda / body seq differs");
      return false;
    }
    auto it = tallies_.find(ev->contest);
    if (it == tallies_.end()) {
      st = DataLoss("event " + std::to_string(se.seq) + ": kontes tidak dikenal / unknown contest " + ev->contest);
      return false;
    }
    st = it->second->Apply(*ev, h);
    if (!st.ok()) return false;
    last_seq_ = se.seq;
    return true;
  }));
  REKAP_RETURN_IF_ERROR(st);
  // Events and heads must cover each other: a lost acknowledged event (or an event outside
  // any batch) would otherwise let the next batch reuse its seq.
  if (last_seq_ != covered) {
    return DataLoss("peristiwa tersimpan sampai " + std::to_string(last_seq_) + ", kepala batch mencakup sampai " +
                    std::to_string(covered) + " / events stored up to " + std::to_string(last_seq_) +
                    ", batch heads cover up to " + std::to_string(covered));
  }
  return st;
}

const ContestTally* Engine::tally(std::string_view contest) const {
  auto it = tallies_.find(contest);
  return it == tallies_.end() ? nullptr : it->second.get();
}

Status Engine::Prepare(const Command& c, Event* out, ContestTally** tally_out, int32_t* tps_out,
                       std::optional<Outcome>* duplicate) const {
  auto it = tallies_.find(c.contest);
  if (it == tallies_.end()) {
    return NotFound("kolom 'contest': kontes '" + c.contest.substr(0, 40) +
                    "' tidak dikenal / field 'contest': unknown contest '" + c.contest.substr(0, 40) + "'");
  }
  ContestTally* tally = it->second.get();
  const Form& form = *tally->contest().form;
  auto id = TpsId::Parse(c.tps);
  if (!id.ok()) return Status(id.status().code(), "kolom/field 'tps': " + id.status().message());
  int32_t t = tree_->FindTpsKey(id->key());
  if (t < 0) {
    return NotFound("kolom 'tps': TPS " + c.tps + " tidak ada dalam daftar TPS / field 'tps': TPS " + c.tps +
                    " is not in the TPS list");
  }
  if (!tally->InScope(t)) {
    return InvalidArgument("kolom 'tps': TPS " + c.tps + " di luar wilayah kontes " + c.contest +
                           " / field 'tps': TPS " + c.tps + " is outside the scope of contest " + c.contest);
  }
  REKAP_RETURN_IF_ERROR(CheckToken("author", c.author, 64));
  const TpsState& s = tally->tps_state(t);

  Event& e = *out;
  e.seq = 0;
  e.time_ms = 0;
  e.kind = c.kind;
  e.contest = c.contest;
  e.subject = c.tps;
  e.author = c.author;
  e.photo = c.photo;
  e.prev = s.last_hash;
  e.source.clear();
  e.reason.clear();
  e.values.clear();
  e.previous.clear();
  if (c.kind == EventKind::kSubmission || c.kind == EventKind::kCorrection) {
    if (c.values.empty()) {
      return InvalidArgument("kolom 'values': tidak ada nilai / field 'values': no values given");
    }
    // Both maps are sorted by name: one merge pass resolves every field.
    const auto& index = form.index();
    auto fi = index.begin();
    for (const auto& [name, v] : c.values) {
      while (fi != index.end() && fi->first < name) ++fi;
      int idx = fi != index.end() && fi->first == name ? fi->second : -1;
      if (idx < 0) {
        return InvalidArgument("kolom '" + name.substr(0, 40) + "' tidak ada pada formulir " +
                               form.schema().id() + " / field '" + name.substr(0, 40) +
                               "' is not on form " + form.schema().id());
      }
      const FieldDef& f = form.fields()[idx];
      if (v < 0 || v > (c.keep_out_of_range ? 999999 : f.max_value)) {
        return InvalidArgument("kolom '" + name + "' aturan rentang_nilai: " + std::to_string(v) +
                               " di luar 0-" + std::to_string(f.max_value) + " / field '" + name +
                               "' rule rentang_nilai: " + std::to_string(v) + " outside 0-" +
                               std::to_string(f.max_value));
      }
      e.values.push_back(FieldValue{static_cast<uint16_t>(idx), v});
    }
    std::sort(e.values.begin(), e.values.end(),
              [](const FieldValue& a, const FieldValue& b) { return a.field < b.field; });
  }
  switch (c.kind) {
    case EventKind::kSubmission: {
      REKAP_RETURN_IF_ERROR(CheckToken("source", c.source, 64));
      REKAP_RETURN_IF_ERROR(CheckSource(c.source));
      if (!c.reason.empty()) REKAP_RETURN_IF_ERROR(CheckReason(c.reason));
      e.source = c.source;
      e.reason = c.reason;
      Hash content = ContentDigest(e.values, e.photo);
      for (const auto& src : s.sources) {
        if (src.source != c.source) continue;
        if (src.content == content) {
          Outcome o;
          o.kind = Outcome::Kind::kDuplicate;
          o.seq = src.seq;
          o.event_hash = src.event_hash;
          o.flagged = (s.flags & kFlagged) && !(s.flags & kAccepted);
          o.conflicting = s.flags & kConflicting;
          *duplicate = std::move(o);
          return Status::Ok();
        }
        if (c.partial)  // more fields for a result already sent: a correction adds them (2026-12-07 audit)
          return AlreadyExists("TPS " + c.tps + " kontes " + c.contest + ": sumber '" + c.source +
                               "' sudah mengirim hasil; kolom lain ditambah atau diubah dengan koreksi beralasan, "
                               "yang hanya mengubah kolom yang disebut / source '" + c.source +
                               "' already sent a result; add or change fields with a correction with a reason, "
                               "which changes only the fields it names");
        return AlreadyExists("TPS " + c.tps + " kontes " + c.contest + ": sumber '" + c.source +
                             "' sudah mengirim hasil yang berbeda; gunakan koreksi dengan alasan / source '" +
                             c.source + "' already sent a different result; use a correction with a reason");
      }
      break;
    }
    case EventKind::kCorrection: {
      REKAP_RETURN_IF_ERROR(CheckReason(c.reason));
      if (!(s.flags & kReceived)) {
        return FailedPrecondition("TPS " + c.tps + ": belum ada hasil untuk dikoreksi / no result to correct");
      }
      e.source = s.primary;
      e.reason = c.reason;
      const Value* cur = tally->tps_values(t);
      for (size_t i = 0; i < form.size(); ++i) {
        if (cur[i] != kMissing) e.previous.push_back(FieldValue{static_cast<uint16_t>(i), cur[i]});
      }
      // A correction that keeps the values is allowed only to resolve a conflict (it confirms them).
      if (e.previous == e.values && !c.photo && !(s.flags & kConflicting)) {
        return FailedPrecondition("TPS " + c.tps + ": koreksi tidak mengubah nilai / the correction changes nothing");
      }
      break;
    }
    case EventKind::kAcceptance: {
      REKAP_RETURN_IF_ERROR(CheckReason(c.reason));
      if (!(s.flags & kFlagged) || (s.flags & kAccepted)) {
        return FailedPrecondition("TPS " + c.tps +
                                  ": tidak ada hasil bertanda untuk diterima / no flagged result to accept");
      }
      e.source = s.primary;
      e.reason = c.reason;
      break;
    }
    default:
      return InvalidArgument("jenis perintah belum didukung / command kind not supported yet");
  }
  // Text must be encodable (UTF-8 without NUL, e.g. a reason): refuse it here rather than
  // write an event that Decode() rejects on replay.
  if (Status enc = CheckEncodable(e); !enc.ok()) {
    return InvalidArgument("teks tidak sah / invalid text: " + enc.message());
  }
  if (!c.partial && e.kind != EventKind::kAcceptance && e.values.size() != form.size()) {
    size_t k = 0;  // the first field of the form not given (e.values is sorted by field)
    while (k < e.values.size() && e.values[k].field == k) ++k;
    const std::string& missing = form.fields()[k].id;
    return InvalidArgument("kolom '" + missing + "' tidak diisi (aturan lengkap: setiap kolom formulir wajib) / field '" +
                           missing + "' missing (rule lengkap: every field of the form is required; " +
                           std::to_string(form.size() - e.values.size()) + " missing)");
  }
  *tally_out = tally;
  *tps_out = t;
  return Status::Ok();
}

Status Engine::Check(const Command& command) const {
  ContestTally* tally = nullptr;
  int32_t t = -1;
  std::optional<Outcome> dup;
  Event e;
  return Prepare(command, &e, &tally, &t, &dup);
}

// One sealed batch of a call, ready to commit.
struct Engine::Staged {
  std::vector<StoredEvent> events;
  std::vector<size_t> result_index;  // results index of each event
  BatchHead head;
};

void Engine::Stage(const std::vector<Command>& commands, size_t begin, size_t end, int64_t now,
                   std::vector<Result<Outcome>>* results, Staged* out) {
  out->events.clear();
  out->result_index.clear();
  std::vector<Hash> leaves;
  Event e;  // reused: its strings and vectors keep their capacity across commands
  for (size_t i = begin; i < end; ++i) {
    ContestTally* tally = nullptr;
    int32_t t = -1;
    std::optional<Outcome> dup;
    Status pst = Prepare(commands[i], &e, &tally, &t, &dup);
    if (!pst.ok()) {
      results->emplace_back(std::move(pst));
      continue;
    }
    if (dup) {
      results->emplace_back(std::move(*dup));
      continue;
    }
    e.seq = last_seq_ + out->events.size() + 1;
    e.time_ms = now;
    StoredEvent se;
    se.seq = e.seq;
    se.batch = last_batch_ + 1;
    se.body = Encode(e);
    se.hash = EventHash(se.body);
    Outcome o;
    Status st = tally->Apply(e, se.hash, &o.failures);
    if (!st.ok()) {  // cannot happen for a prepared event; refuse rather than write it
      results->emplace_back(Internal(st.message()));
      continue;
    }
    o.seq = e.seq;
    o.event_hash = se.hash;
    o.batch = se.batch;
    const TpsState& s = tally->tps_state(t);
    o.flagged = (s.flags & kFlagged) && !(s.flags & kAccepted);
    o.conflicting = s.flags & kConflicting;
    leaves.push_back(MerkleLeafHash(se.body));
    out->events.push_back(std::move(se));
    out->result_index.push_back(results->size());
    results->emplace_back(std::move(o));
  }
  if (out->events.empty()) return;
  BatchHead& head = out->head;
  head = BatchHead{};
  head.batch = last_batch_ + 1;
  head.first_seq = last_seq_ + 1;
  head.size = out->events.size();
  head.time_ms = now;
  head.root = MerkleRoot(leaves);
  head.prev_head = last_head_;
  SignHead(signer_, &head);
  // Advance optimistically: the next batch chains to this one. Undone by Replay() if the
  // commit fails.
  last_seq_ += out->events.size();
  last_batch_ = head.batch;
  last_head_ = HeadHash(head);
}

std::vector<Result<Outcome>> Engine::Execute(const std::vector<Command>& commands,
                                             const ExecuteOptions& options) {
  std::vector<Result<Outcome>> results;
  results.reserve(commands.size());
  const int64_t now = clock_->NowMs();
  const size_t step = options.commit_every ? options.commit_every : std::max<size_t>(1, commands.size());
  // Two buffers: one being committed on the writer thread, one being staged here.
  Staged buf[2];
  std::future<Status> pending;
  Staged* pending_batch = nullptr;
  Status failed = Status::Ok();
  std::vector<size_t> unacknowledged;  // results of batches that did not become durable
  auto settle = [&]() {
    if (!pending.valid()) return;
    Status st = pending.get();
    if (!st.ok() && failed.ok()) failed = st;
    if (!failed.ok()) {
      unacknowledged.insert(unacknowledged.end(), pending_batch->result_index.begin(),
                            pending_batch->result_index.end());
    }
  };
  int which = 0;
  for (size_t begin = 0; begin < commands.size(); begin += step) {
    Staged& cur = buf[which];
    which ^= 1;
    if (!failed.ok()) {  // after a failed commit nothing more is written in this call
      for (size_t i = begin; i < std::min(commands.size(), begin + step); ++i) {
        unacknowledged.push_back(results.size());
        results.emplace_back(failed);
      }
      continue;
    }
    Stage(commands, begin, std::min(commands.size(), begin + step), now, &results, &cur);
    settle();  // the previous batch must be durable before this one is written
    if (cur.events.empty()) {
      pending = {};
      continue;
    }
    if (!failed.ok()) {
      unacknowledged.insert(unacknowledged.end(), cur.result_index.begin(), cur.result_index.end());
      pending = {};
      continue;
    }
    pending_batch = &cur;
    if (options.commit_every) {
      pending = std::async(std::launch::async, [this, &cur] { return store_->AppendBatch(cur.events, cur.head); });
    } else {
      std::promise<Status> p;
      p.set_value(store_->AppendBatch(cur.events, cur.head));
      pending = p.get_future();
    }
  }
  settle();
  if (!failed.ok()) {
    // What was not durable is refused, and the projections are rebuilt from what the store
    // holds, so memory never keeps what the disk does not.
    Status rs = Replay();
    for (size_t idx : unacknowledged) {
      results[idx] = rs.ok() ? Status(failed.code(), "tidak tersimpan / not stored: " + failed.message())
                             : Status(rs.code(), "penyimpanan gagal / store failed: " + rs.message());
    }
  }
  return results;
}

Result<Outcome> Engine::Execute(const Command& command) {
  auto r = Execute(std::vector<Command>{command});
  return std::move(r.front());
}

Result<Receipt> Engine::ReceiptFor(uint64_t seq) {
  StoredEvent found;
  bool have = false;
  REKAP_RETURN_IF_ERROR(store_->ScanEvents(seq, [&](const StoredEvent& e) {
    if (e.seq == seq) {
      found = e;
      have = true;
    }
    return false;
  }));
  if (!have) return NotFound("event " + std::to_string(seq));
  REKAP_ASSIGN_OR_RETURN(auto head, store_->GetBatch(found.batch));
  if (!head) return DataLoss("batch " + std::to_string(found.batch) + " missing");
  std::vector<Hash> leaves;
  leaves.reserve(head->size);
  REKAP_RETURN_IF_ERROR(store_->ScanEvents(head->first_seq, [&](const StoredEvent& e) {
    if (e.seq >= head->first_seq + head->size) return false;
    leaves.push_back(MerkleLeafHash(e.body));
    return true;
  }));
  Receipt r;
  r.seq = seq;
  r.event_hash = found.hash;
  r.head = *head;
  r.index = seq - head->first_seq;
  r.proof = InclusionProof(leaves, r.index);
  return r;
}

}  // namespace rekap
