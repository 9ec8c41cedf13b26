// rekap: region codes (kode wilayah Kemendagri as KPU writes them) and TPS ids, and the
// in-memory region tree that tallies aggregate over.
//
// Codes are digits without dots: provinsi "32" (2), kab/kota "3212" (4), kecamatan
// "321201" (6), desa/kelurahan "3212012001" (10). A TPS id is a desa code plus a 3-digit
// number, 13 digits. Overseas regions live under province "99" with the same lengths.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rekap/status.h"

namespace rekap {

enum class Level : uint8_t { kNational = 0, kProvinsi = 1, kKabKota = 2, kKecamatan = 3, kDesa = 4, kTps = 5 };
std::string_view LevelName(Level l);  // "nasional", "provinsi", ...

// A validated region code. Construct with Parse().
class RegionCode {
 public:
  RegionCode() = default;  // national (empty code)
  // Accepts "", 2, 4, 6 or 10 digits (letters allowed after "99", overseas); also the dotted
  // form "32.12.01.2001".
  static Result<RegionCode> Parse(std::string_view text);
  const std::string& str() const { return code_; }
  Level level() const;
  // Parent code ("" for a province, national has none: returns itself).
  RegionCode parent() const;
  bool Contains(std::string_view code) const { return code.substr(0, code_.size()) == code_; }
  bool operator==(const RegionCode&) const = default;

 private:
  explicit RegionCode(std::string c) : code_(std::move(c)) {}
  std::string code_;
};

// A validated TPS id: 13 digits, the first 10 a desa code, the TPS number 001-999.
class TpsId {
 public:
  static Result<TpsId> Parse(std::string_view text);
  const std::string& str() const { return id_; }
  std::string_view desa() const { return std::string_view(id_).substr(0, 10); }
  int number() const;
  // Dense numeric key (the 13 digits as an integer); unique per id.
  uint64_t key() const;

 private:
  explicit TpsId(std::string s) : id_(std::move(s)) {}
  std::string id_;
};

// True iff `s` is non-empty and all ASCII digits.
bool AllDigits(std::string_view s);
// True iff `s` is a region code's characters: digits, or (overseas, under "99") digits and
// capital letters after the province, as KPU 2024 writes e.g. "99AA01".
bool IsCodeChars(std::string_view s);
// Dense numeric key of a code (<= 13 digits, or <= 10 code characters); unique.
uint64_t CodeKey(std::string_view code);

struct Region {
  std::string code;      // "" for the national root
  std::string name;      // as the source gives it
  std::string kind;      // "provinsi", "kabupaten", "kota", "kecamatan", "desa", "kelurahan", ...
  Level level = Level::kNational;
};

struct Tps {
  std::string id;        // 13 digits
  std::string name;      // "TPS 001", "KSK 001", "POS 001"
};

// The region tree plus TPS leaves, indexed for O(1) lookup. Node 0 is the national root.
// Built once (from the store) and then read-only; safe to share across threads.
class RegionTree {
 public:
  struct Node {
    Region region;
    int32_t parent = -1;
    std::vector<int32_t> children;
    std::vector<int32_t> tps;  // TPS indices directly under a desa
  };
  struct TpsNode {
    Tps tps;
    int32_t desa = -1;  // node index
  };

  RegionTree();
  // Adds regions in any order; parents are linked in Finish(). Duplicate codes: error.
  Status AddRegion(Region r);
  Status AddTps(Tps t);
  // Links parents. A region whose parent is unknown is an error naming the code, unless
  // `create_missing_parents` (then a placeholder named by its code is added).
  Status Finish(bool create_missing_parents = false);

  size_t size() const { return nodes_.size(); }
  size_t tps_count() const { return tps_.size(); }
  const Node& node(int32_t i) const { return nodes_[i]; }
  const TpsNode& tps(int32_t i) const { return tps_[i]; }
  // -1 when unknown.
  int32_t Find(std::string_view code) const;
  int32_t FindTps(std::string_view tps_id) const;
  int32_t FindTpsKey(uint64_t key) const;
  // Ancestors of a node from itself up to the root, inclusive: at most 5 entries.
  int AncestorsOf(int32_t node, int32_t out[6]) const;
  // Number of TPS under a node (desa and up).
  int64_t TpsUnder(int32_t node) const { return tps_under_[node]; }

 private:
  std::vector<Node> nodes_;
  std::vector<TpsNode> tps_;
  std::unordered_map<uint64_t, int32_t> by_code_;
  std::unordered_map<uint64_t, int32_t> tps_by_key_;
  std::vector<int64_t> tps_under_;
  bool finished_ = false;
};

}  // namespace rekap
