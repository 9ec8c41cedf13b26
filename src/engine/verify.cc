// Full verification of a store, recomputed from scratch (see engine.h: Verify).
#include <map>

#include "rekap/engine.h"

namespace rekap {

VerifyReport Verify(Store* store, const std::array<uint8_t, 32>& public_key, const Engine* incremental,
                    std::shared_ptr<const RegionTree> tree, std::shared_ptr<const Election> election) {
  VerifyReport rep;
  constexpr size_t kMaxProblems = 100;
  auto problem = [&](std::string p) {
    if (rep.problems.size() < kMaxProblems) rep.problems.push_back(std::move(p));
  };

  // 1. Batch heads: contiguous, chained, signed.
  std::vector<BatchHead> heads;
  Hash prev{};
  Status st = store->ScanBatches([&](const BatchHead& h) {
    if (h.batch != heads.size() + 1) problem("batch " + std::to_string(h.batch) + ": nomor tidak berurutan / not contiguous");
    if (h.prev_head != prev) problem("batch " + std::to_string(h.batch) + ": prev_head tidak cocok / does not match the previous head");
    if (!VerifyHead(public_key, h)) problem("batch " + std::to_string(h.batch) + ": tanda tangan tidak sah / signature invalid");
    prev = HeadHash(h);
    heads.push_back(h);
    return true;
  });
  if (!st.ok()) problem("scan batches: " + st.message());
  rep.batches = heads.size();

  // 2. Events: hashes, decoding, order, chains, Merkle roots; 3. fresh replay.
  std::map<std::string, std::unique_ptr<ContestTally>, std::less<>> fresh;
  for (const auto& c : election->contests) fresh.emplace(c.id, std::make_unique<ContestTally>(tree.get(), &c));
  std::map<std::string, Hash> chain;  // (contest \0 subject) -> last hash
  std::vector<Hash> leaves;
  size_t batch_i = 0;
  uint64_t expect_seq = 1;
  auto close_batch = [&]() {
    if (batch_i >= heads.size()) return;
    const BatchHead& h = heads[batch_i];
    if (leaves.size() != h.size) {
      problem("batch " + std::to_string(h.batch) + ": berisi " + std::to_string(leaves.size()) +
              " peristiwa, kepala menyatakan " + std::to_string(h.size) + " / holds " +
              std::to_string(leaves.size()) + " events, head says " + std::to_string(h.size));
    } else if (MerkleRoot(leaves) != h.root) {
      problem("batch " + std::to_string(h.batch) + ": akar Merkle tidak cocok / Merkle root mismatch");
    }
    leaves.clear();
    ++batch_i;
  };
  st = store->ScanEvents(1, [&](const StoredEvent& se) {
    ++rep.events;
    std::string at = "event " + std::to_string(se.seq) + ": ";
    if (se.seq != expect_seq) problem(at + "nomor urut tidak berurutan / sequence gap, expected " + std::to_string(expect_seq));
    expect_seq = se.seq + 1;
    while (batch_i < heads.size() && se.seq >= heads[batch_i].first_seq + heads[batch_i].size) close_batch();
    if (batch_i >= heads.size() || se.seq < heads[batch_i].first_seq) {
      problem(at + "tidak termasuk batch mana pun / in no batch");
    } else {
      if (se.batch != heads[batch_i].batch) problem(at + "kolom batch salah / wrong batch column");
      leaves.push_back(MerkleLeafHash(se.body));
    }
    Hash h = EventHash(se.body);
    if (h != se.hash) problem(at + "hash tersimpan tidak cocok dengan isi / stored hash does not match the body");
    auto ev = Decode(se.body);
    if (!ev.ok()) {
      problem(at + ev.status().message());
      return true;
    }
    if (ev->seq != se.seq) problem(at + "nomor urut di isi " + std::to_string(ev->seq) + " / body seq differs");
    std::string key = ev->contest + '\0' + ev->subject;
    Hash& last = chain[key];
    if (ev->prev != last) problem(at + "rantai hash putus untuk / hash chain broken for " + ev->contest + " " + ev->subject);
    last = h;
    auto it = fresh.find(ev->contest);
    if (it == fresh.end()) {
      problem(at + "kontes tidak dikenal / unknown contest " + ev->contest);
      return true;
    }
    Status a = it->second->Apply(*ev, h);
    if (!a.ok() && a.message().find("chain") == std::string::npos) problem(at + a.message());
    return true;
  });
  if (!st.ok()) problem("scan events: " + st.message());
  while (batch_i < heads.size()) close_batch();

  // 4. Projections: fresh replay vs bottom-up recomputation vs the live incremental state.
  for (const auto& [id, t] : fresh) {
    std::string bad = t->CheckAgainstLeaves();
    if (!bad.empty()) problem("kontes " + id + ": agregat " + bad + " tidak sama dengan jumlah anaknya / aggregate differs from the sum of its children");
    if (incremental) {
      const ContestTally* live = incremental->tally(id);
      if (!live) {
        problem("kontes " + id + ": tidak ada proyeksi langsung / no live projection");
      } else {
        std::string d = t->Diff(*live);
        if (!d.empty()) problem("kontes " + id + ": proyeksi langsung berbeda dari pemutaran ulang di " + d + " / live projection differs from replay at " + d);
        std::string bad2 = live->CheckAgainstLeaves();
        if (!bad2.empty()) problem("kontes " + id + ": agregat langsung " + bad2 + " berbeda / live aggregate differs from its children");
      }
    }
  }
  return rep;
}

}  // namespace rekap
