#include "rekap/region.h"

#include <algorithm>

namespace rekap {

std::string_view LevelName(Level l) {
  switch (l) {
    case Level::kNational: return "nasional";
    case Level::kProvinsi: return "provinsi";
    case Level::kKabKota: return "kabkota";
    case Level::kKecamatan: return "kecamatan";
    case Level::kDesa: return "desa";
    case Level::kTps: return "tps";
  }
  return "?";
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsCodeChars(std::string_view s) {
  if (AllDigits(s)) return true;
  // Overseas (province 99) kab/kota codes of KPU 2024 use letters: 99AA, 99AA01, ...
  if (s.size() < 4 || s.substr(0, 2) != "99") return false;
  return std::all_of(s.begin() + 2, s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); });
}

uint64_t CodeKey(std::string_view code) {
  // Digit codes in base 10, overseas alphanumeric codes in base 36 with a flag bit; the
  // length keeps "01" and "1" apart. Fits: 10^13 * 32 and 36^10 * 32 are below 2^64.
  bool alnum = !AllDigits(code);
  uint64_t v = 0;
  for (char c : code) {
    uint64_t d = c >= 'A' ? static_cast<uint64_t>(c - 'A' + 10) : static_cast<uint64_t>(c - '0');
    v = v * (alnum ? 36 : 10) + d;
  }
  return (v << 5) | (alnum ? 16u : 0u) | code.size();
}

namespace {
Level LevelOfLength(size_t n) {
  switch (n) {
    case 0: return Level::kNational;
    case 2: return Level::kProvinsi;
    case 4: return Level::kKabKota;
    case 6: return Level::kKecamatan;
    default: return Level::kDesa;
  }
}
size_t ParentLength(size_t n) {
  switch (n) {
    case 2: return 0;
    case 4: return 2;
    case 6: return 4;
    case 10: return 6;
    default: return 0;
  }
}
}  // namespace

Result<RegionCode> RegionCode::Parse(std::string_view text) {
  std::string code;
  code.reserve(text.size());
  for (char c : text)
    if (c != '.') code.push_back(c);
  if (code.empty()) return RegionCode();
  if (!IsCodeChars(code) || (code.size() != 2 && code.size() != 4 && code.size() != 6 &&
                           code.size() != 10)) {
    return InvalidArgument("kode wilayah '" + std::string(text) +
                           "' tidak sah: harus 2, 4, 6 atau 10 angka / region code '" +
                           std::string(text) + "' is invalid: must be 2, 4, 6 or 10 digits");
  }
  if (code.substr(0, 2) == "00") {
    return InvalidArgument("kode wilayah '" + code + "': kode provinsi 00 tidak ada / province 00 does not exist");
  }
  return RegionCode(std::move(code));
}

Level RegionCode::level() const { return LevelOfLength(code_.size()); }

RegionCode RegionCode::parent() const {
  return RegionCode(code_.substr(0, ParentLength(code_.size())));
}

Result<TpsId> TpsId::Parse(std::string_view text) {
  if (text.size() != 13 || !AllDigits(text)) {
    return InvalidArgument("id TPS '" + std::string(text.substr(0, 40)) +
                           "' tidak sah: harus 13 angka (kode desa + nomor TPS 3 angka) / TPS id '" +
                           std::string(text.substr(0, 40)) +
                           "' is invalid: must be 13 digits (desa code + 3-digit TPS number)");
  }
  if (text.substr(10) == "000") {
    return InvalidArgument("id TPS '" + std::string(text) +
                           "': nomor TPS 000 tidak sah / TPS number 000 is invalid");
  }
  return TpsId(std::string(text));
}

int TpsId::number() const { return std::stoi(id_.substr(10)); }
uint64_t TpsId::key() const { return CodeKey(id_); }

RegionTree::RegionTree() {
  Node root;
  root.region.name = "INDONESIA";
  root.region.kind = "nasional";
  nodes_.push_back(std::move(root));
  by_code_[CodeKey("")] = 0;
}

Status RegionTree::AddRegion(Region r) {
  auto code = RegionCode::Parse(r.code);
  if (!code.ok()) return code.status();
  if (code->str().empty()) return InvalidArgument("kode wilayah kosong / empty region code");
  r.code = code->str();
  r.level = code->level();
  auto [it, inserted] = by_code_.emplace(CodeKey(r.code), static_cast<int32_t>(nodes_.size()));
  if (!inserted) return AlreadyExists("kode wilayah ganda / duplicate region code: " + r.code);
  Node n;
  n.region = std::move(r);
  nodes_.push_back(std::move(n));
  finished_ = false;
  return Status::Ok();
}

Status RegionTree::AddTps(Tps t) {
  auto id = TpsId::Parse(t.id);
  if (!id.ok()) return id.status();
  auto [it, inserted] = tps_by_key_.emplace(id->key(), static_cast<int32_t>(tps_.size()));
  if (!inserted) return AlreadyExists("id TPS ganda / duplicate TPS id: " + t.id);
  tps_.push_back(TpsNode{std::move(t), -1});
  finished_ = false;
  return Status::Ok();
}

Status RegionTree::Finish(bool create_missing_parents) {
  for (auto& n : nodes_) {
    n.children.clear();
    n.tps.clear();
  }
  // Link regions to parents; placeholders may be appended while iterating.
  for (size_t i = 1; i < nodes_.size(); ++i) {
    std::string parent = nodes_[i].region.code.substr(0, ParentLength(nodes_[i].region.code.size()));
    int32_t p = Find(parent);
    if (p < 0) {
      if (!create_missing_parents) {
        return NotFound("wilayah induk " + parent + " dari " + nodes_[i].region.code +
                        " tidak dikenal / parent region " + parent + " of " +
                        nodes_[i].region.code + " is unknown");
      }
      Region r;
      r.code = parent;
      r.name = parent;
      r.kind = std::string(LevelName(LevelOfLength(parent.size())));
      REKAP_RETURN_IF_ERROR(AddRegion(std::move(r)));
      p = static_cast<int32_t>(nodes_.size() - 1);
    }
    nodes_[i].parent = p;
    nodes_[p].children.push_back(static_cast<int32_t>(i));
  }
  for (size_t t = 0; t < tps_.size(); ++t) {
    std::string_view desa = std::string_view(tps_[t].tps.id).substr(0, 10);
    int32_t d = Find(desa);
    if (d < 0) {
      return NotFound("desa " + std::string(desa) + " dari TPS " + tps_[t].tps.id +
                      " tidak dikenal / desa of TPS " + tps_[t].tps.id + " is unknown");
    }
    tps_[t].desa = d;
    nodes_[d].tps.push_back(static_cast<int32_t>(t));
  }
  tps_under_.assign(nodes_.size(), 0);
  for (const auto& t : tps_) {
    for (int32_t n = t.desa; n >= 0; n = nodes_[n].parent) tps_under_[n]++;
  }
  finished_ = true;
  return Status::Ok();
}

int32_t RegionTree::Find(std::string_view code) const {
  if (code.size() > 10 || (!code.empty() && !IsCodeChars(code))) return -1;
  auto it = by_code_.find(CodeKey(code));
  return it == by_code_.end() ? -1 : it->second;
}

int32_t RegionTree::FindTps(std::string_view tps_id) const {
  if (tps_id.size() != 13 || !AllDigits(tps_id)) return -1;
  return FindTpsKey(CodeKey(tps_id));
}

int32_t RegionTree::FindTpsKey(uint64_t key) const {
  auto it = tps_by_key_.find(key);
  return it == tps_by_key_.end() ? -1 : it->second;
}

int RegionTree::AncestorsOf(int32_t node, int32_t out[6]) const {
  int n = 0;
  for (int32_t i = node; i >= 0 && n < 6; i = nodes_[i].parent) out[n++] = i;
  return n;
}

}  // namespace rekap
