// rekap: readers of the public data files (regions, TPS, per-TPS results).
//
// Every reader validates the whole input before anything is written: an error names the
// file, the line, the column and the rule, and the caller writes nothing. Inputs are
// bounded (file size, line length, field count).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rekap/form.h"
#include "rekap/region.h"
#include "rekap/status.h"
#include "rekap/store.h"

namespace rekap {

// Reads a whole file, gunzipping it when it is gzip. At most `max_bytes` after inflation.
// An input file checked before it is read: an empty path, a directory, a device or a socket is
// INVALID_ARGUMENT, one that is not there (or a symlink loop) NOT_FOUND with the reason; each
// message names `what` (an option such as "--digits"; empty: the path alone) and the path. A pipe
// (/dev/stdin, <(zcat ...)) is an input file.
Status CheckInputFile(const std::string& what, const std::string& path);
Result<std::string> ReadFileMaybeGz(const std::string& path, size_t max_bytes = size_t{1} << 30);

// A parsed CSV: header names and rows of cells. Quotes ("a,b", "" escape) are honoured.
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> lines;  // 1-based line number of each row
  int Column(std::string_view name) const;  // -1 if absent
};
// Fails on a row whose cell count differs from the header (a truncated file), an
// unterminated quote, a NUL byte, a line longer than 64 KiB, or more than `max_cells` cells in
// all (RESOURCE_EXHAUSTED). Each cell is a string of its own, some 30 bytes more than its text:
// the default, 32 M cells, holds KPU's national per-TPS results (822,116 rows of 31, 25 M) and
// keeps a hostile file of tiny cells near the 1 GiB read limit from needing tens of GB.
inline constexpr size_t kMaxCsvCells = size_t{32} << 20;
Result<Csv> ParseCsv(std::string_view text, const std::string& origin, size_t max_cells = kMaxCsvCells);

// Region files: Kemendagri `wilayah.csv` (kode,kode_flat,level,jenis,kode_parent,nama,...)
// or KPU `kpu_wilayah_pemilu2024.csv` (kode,tingkat,jenis,nama,kpu_id,kode_parent);
// the format is detected from the header.
Result<std::vector<StoredRegion>> ReadRegions(std::string_view text, const std::string& origin);
// KPU TPS list: kode_tps,kode_desa,nama_tps[,kpu_id].
Result<std::vector<Tps>> ReadTpsList(std::string_view text, const std::string& origin);
// Merges `incoming` into `existing` by code: a code present in both keeps the KPU 2024 name
// and records the other as name_alt. Returns the merged list.
std::vector<StoredRegion> MergeRegions(std::vector<StoredRegion> existing, std::vector<StoredRegion> incoming);

// One TPS row of a results file.
struct ResultRow {
  size_t line = 0;
  std::string tps;
  std::map<std::string, Value> values;  // field id -> value; absent = not yet received
  std::vector<std::string> region_names;  // kab/kota, kecamatan, desa names when the file has them
};
// `kpu-dki-2024`: the per-TPS DKI Jakarta file of ../shared/data/pemilu2024 (columns
// kode_tps, ..., suara_01..03, dpt, dpt_l, ...). Maps columns to C.HASIL-PPWP-2024 field ids.
// Empty cells are not received. Non-numeric, negative or > 999 cells are errors naming
// the line and column; a TPS twice with different values is an error naming both lines;
// identical repeats are dropped.
Result<std::vector<ResultRow>> ReadResultsKpuDki2024(std::string_view text, const std::string& origin);

}  // namespace rekap
