#include "rekap/import.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <cerrno>
#include <filesystem>
#include <unordered_map>

namespace rekap {
namespace {

constexpr size_t kMaxLine = 64 * 1024;

std::string At(const std::string& origin, size_t line) { return origin + ":" + std::to_string(line); }

Status ColumnError(const std::string& origin, size_t line, std::string_view column, const std::string& id,
                   const std::string& en) {
  return InvalidArgument(At(origin, line) + ": kolom '" + std::string(column) + "': " + id + " / column '" +
                         std::string(column) + "': " + en);
}

std::string Trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) --b;
  return std::string(s.substr(a, b - a));
}

}  // namespace

Status CheckInputFile(const std::string& what, const std::string& path) {
  const std::string named = what.empty() ? std::string() : what + ": ";
  if (path.empty()) return InvalidArgument(named + "jalur kosong / empty path");
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const std::string why = std::strerror(errno);
    return NotFound(named + "berkas tidak dapat dibuka / cannot open file: " + path + " (" + why + ")");
  }
  if (S_ISDIR(st.st_mode))  // a user's slip, not a damaged file
    return InvalidArgument(named + "berkas adalah direktori / is a directory, not a file: " + path);
  // A device (/dev/zero, /dev/urandom) is never a data file: read to the size limit it took ~15 s
  // to be refused as "too large".
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode))
    return InvalidArgument(named + "bukan berkas biasa / not a regular file or pipe: " + path);
  return Status::Ok();
}

Result<std::string> ReadFileMaybeGz(const std::string& path, size_t max_bytes) {
  REKAP_RETURN_IF_ERROR(CheckInputFile("", path));
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return NotFound("berkas tidak dapat dibuka / cannot open file: " + path);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      std::string m = gzerror(f, &err);
      gzclose(f);
      return DataLoss("berkas rusak / corrupt file " + path + ": " + m);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      gzclose(f);
      return ResourceExhausted("berkas terlalu besar / file too large: " + path + " (> " +
                               std::to_string(max_bytes / (1 << 20)) + " MiB)");
    }
  }
  // gzread returns 0 at a truncated gzip stream too; gzclose_r reports it.
  int rc = gzclose_r(f);
  if (rc != Z_OK) return DataLoss("berkas gzip terpotong atau rusak / truncated or corrupt gzip file: " + path);
  return out;
}

int Csv::Column(std::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

Result<Csv> ParseCsv(std::string_view text, const std::string& origin, size_t max_cells) {
  Csv csv;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // BOM (any other 0xEF opens the first cell)
  size_t pos = 0, line = 0;
  std::vector<std::string> cells;
  while (pos < text.size()) {
    ++line;
    size_t start = pos;
    cells.clear();
    std::string cell;
    bool quoted = false;
    bool done = false;
    while (!done) {
      if (pos >= text.size()) {
        if (quoted) return InvalidArgument(At(origin, line) + ": tanda kutip tidak ditutup / unterminated quote");
        done = true;
        break;
      }
      char c = text[pos++];
      if (c == '\0') return InvalidArgument(At(origin, line) + ": byte NUL / NUL byte");
      if (pos - start > kMaxLine) {
        return ResourceExhausted(At(origin, line) + ": baris lebih dari 64 KiB / line longer than 64 KiB");
      }
      if (quoted) {
        if (c == '"') {
          if (pos < text.size() && text[pos] == '"') {
            cell.push_back('"');
            ++pos;
          } else {
            quoted = false;
          }
        } else {
          cell.push_back(c);
        }
      } else if (c == '"' && cell.empty()) {
        quoted = true;
      } else if (c == ',') {
        cells.push_back(Trim(cell));
        cell.clear();
      } else if (c == '\n') {
        done = true;
      } else {
        cell.push_back(c);
      }
    }
    cells.push_back(Trim(cell));
    if (cells.size() == 1 && cells[0].empty()) continue;  // blank line
    if (csv.header.empty()) {
      csv.header = cells;
      continue;
    }
    if (cells.size() != csv.header.size()) {
      return InvalidArgument(At(origin, line) + ": " + std::to_string(cells.size()) + " kolom, header punya " +
                             std::to_string(csv.header.size()) + " (berkas terpotong?) / " +
                             std::to_string(cells.size()) + " cells, the header has " +
                             std::to_string(csv.header.size()) + " (truncated file?)");
    }
    if ((csv.rows.size() + 2) * csv.header.size() > max_cells) {  // the header, the rows, this row
      return ResourceExhausted(At(origin, line) + ": lebih dari " + std::to_string(max_cells) + " sel / more than " +
                               std::to_string(max_cells) + " cells");
    }
    csv.rows.push_back(cells);
    csv.lines.push_back(line);
  }
  if (csv.header.empty()) return InvalidArgument(origin + ": berkas kosong / empty file");
  return csv;
}

Result<std::vector<StoredRegion>> ReadRegions(std::string_view text, const std::string& origin) {
  REKAP_ASSIGN_OR_RETURN(Csv csv, ParseCsv(text, origin));
  bool kemendagri = csv.Column("kode_flat") >= 0 && csv.Column("nama") >= 0;
  bool kpu = csv.Column("tingkat") >= 0 && csv.Column("nama") >= 0 && csv.Column("kode") >= 0;
  if (!kemendagri && !kpu) {
    return InvalidArgument(origin +
                           ": header tidak dikenal; diharapkan wilayah.csv Kemendagri atau kpu_wilayah_pemilu2024.csv / "
                           "unknown header; expected Kemendagri wilayah.csv or KPU kpu_wilayah_pemilu2024.csv");
  }
  int c_code = csv.Column(kemendagri ? "kode_flat" : "kode");
  int c_name = csv.Column("nama");
  int c_kind = csv.Column("jenis");
  std::vector<StoredRegion> out;
  out.reserve(csv.rows.size());
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < csv.rows.size(); ++i) {
    const auto& row = csv.rows[i];
    auto code = RegionCode::Parse(row[c_code]);
    if (!code.ok() || code->str().empty()) {
      return ColumnError(origin, csv.lines[i], csv.header[c_code], "kode wilayah tidak sah '" + row[c_code].substr(0, 20) + "'",
                         "invalid region code '" + row[c_code].substr(0, 20) + "'");
    }
    if (row[c_name].empty() || row[c_name].size() > 200) {
      return ColumnError(origin, csv.lines[i], "nama", "nama kosong atau lebih dari 200 byte", "name empty or over 200 bytes");
    }
    auto [it, fresh] = seen.emplace(code->str(), csv.lines[i]);
    if (!fresh) {
      return ColumnError(origin, csv.lines[i], csv.header[c_code],
                         "kode " + code->str() + " ganda (baris " + std::to_string(it->second) + ")",
                         "duplicate code " + code->str() + " (line " + std::to_string(it->second) + ")");
    }
    StoredRegion r;
    r.region.code = code->str();
    r.region.level = code->level();
    r.region.name = row[c_name];
    std::string kind = c_kind >= 0 ? row[c_kind] : "";
    // KPU's two-way kinds are told apart by a digit of the code, which a code of another level
    // does not have (a province "32" with jenis desa/kelurahan was read past its end before).
    if ((kind == "desa/kelurahan" && r.region.level != Level::kDesa) ||
        (kind == "kabupaten/kota" && r.region.level != Level::kKabKota)) {
      const std::string level(LevelName(r.region.level));
      return ColumnError(origin, csv.lines[i], csv.header[c_kind],
                         "jenis '" + kind + "' tidak cocok dengan kode " + r.region.code + " (tingkat " + level + ")",
                         "kind '" + kind + "' does not fit code " + r.region.code + " (level " + level + ")");
    }
    if (kind == "desa/kelurahan") kind = r.region.code[6] == '1' ? "kelurahan" : "desa";
    if (kind == "kabupaten/kota") kind = r.region.code[2] >= '7' ? "kota" : "kabupaten";
    r.region.kind = kind.empty() ? std::string(LevelName(r.region.level)) : kind;
    r.source = kemendagri ? "kemendagri2025" : "kpu2024";
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<Tps>> ReadTpsList(std::string_view text, const std::string& origin) {
  REKAP_ASSIGN_OR_RETURN(Csv csv, ParseCsv(text, origin));
  int c_id = csv.Column("kode_tps"), c_desa = csv.Column("kode_desa"), c_name = csv.Column("nama_tps");
  if (c_id < 0 || c_name < 0) {
    return InvalidArgument(origin + ": header harus memuat kode_tps dan nama_tps / header must have kode_tps and nama_tps");
  }
  std::vector<Tps> out;
  out.reserve(csv.rows.size());
  std::unordered_map<std::string, size_t> seen;
  seen.reserve(csv.rows.size());
  for (size_t i = 0; i < csv.rows.size(); ++i) {
    const auto& row = csv.rows[i];
    auto id = TpsId::Parse(row[c_id]);
    if (!id.ok()) return ColumnError(origin, csv.lines[i], "kode_tps", id.status().message(), "invalid TPS id");
    if (c_desa >= 0 && row[c_desa] != id->desa()) {
      return ColumnError(origin, csv.lines[i], "kode_desa", "tidak sama dengan 10 angka pertama kode_tps",
                         "differs from the first 10 digits of kode_tps");
    }
    if (row[c_name].empty() || row[c_name].size() > 100) {
      return ColumnError(origin, csv.lines[i], "nama_tps", "kosong atau lebih dari 100 byte", "empty or over 100 bytes");
    }
    auto [it, fresh] = seen.emplace(row[c_id], csv.lines[i]);
    if (!fresh) {
      return ColumnError(origin, csv.lines[i], "kode_tps", "TPS " + row[c_id] + " ganda (baris " + std::to_string(it->second) + ")",
                         "duplicate TPS " + row[c_id] + " (line " + std::to_string(it->second) + ")");
    }
    out.push_back(Tps{row[c_id], row[c_name]});
  }
  return out;
}

std::vector<StoredRegion> MergeRegions(std::vector<StoredRegion> existing, std::vector<StoredRegion> incoming) {
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < existing.size(); ++i) index[existing[i].region.code] = i;
  for (auto& r : incoming) {
    auto it = index.find(r.region.code);
    if (it == index.end()) {
      index[r.region.code] = existing.size();
      existing.push_back(std::move(r));
      continue;
    }
    StoredRegion& cur = existing[it->second];
    if (cur.source == r.source) {
      cur = std::move(r);
    } else if (r.source == "kpu2024") {  // KPU names are the ones TPS results use
      r.name_alt = cur.region.name;
      cur = std::move(r);
    } else {
      cur.name_alt = r.region.name;
    }
  }
  return existing;
}

Result<std::vector<ResultRow>> ReadResultsKpuDki2024(std::string_view text, const std::string& origin) {
  REKAP_ASSIGN_OR_RETURN(Csv csv, ParseCsv(text, origin));
  // CSV column -> C.HASIL-PPWP-2024 field id.
  static const std::pair<const char*, const char*> kMap[] = {
      {"suara_01", "suara_1"},
      {"suara_02", "suara_2"},
      {"suara_03", "suara_3"},
      {"dpt", "dpt_j"},
      {"dpt_l", "dpt_l"},
      {"dpt_p", "dpt_p"},
      {"pengguna_dpt", "pengguna_dpt_j"},
      {"pengguna_dpt_l", "pengguna_dpt_l"},
      {"pengguna_dpt_p", "pengguna_dpt_p"},
      {"pengguna_dptb", "pengguna_dptb_j"},
      {"pengguna_dptb_l", "pengguna_dptb_l"},
      {"pengguna_dptb_p", "pengguna_dptb_p"},
      {"pengguna_dpk", "pengguna_dpk_j"},
      {"pengguna_dpk_l", "pengguna_dpk_l"},
      {"pengguna_dpk_p", "pengguna_dpk_p"},
      {"pengguna_total", "pengguna_total_j"},
      {"pengguna_total_l", "pengguna_total_l"},
      {"pengguna_total_p", "pengguna_total_p"},
      {"suara_sah", "suara_sah"},
      {"suara_tidak_sah", "suara_tidak_sah"},
      {"suara_sah_dan_tidak_sah", "suara_total"},
  };
  int c_tps = csv.Column("kode_tps");
  if (c_tps < 0) return InvalidArgument(origin + ": kolom 'kode_tps' tidak ada / column 'kode_tps' missing");
  std::vector<std::pair<int, const char*>> cols;
  for (const auto& [col, field] : kMap) {
    int c = csv.Column(col);
    if (c < 0) {
      return InvalidArgument(origin + ": kolom '" + col + "' tidak ada (format kpu-dki-2024) / column '" + col +
                             "' missing (format kpu-dki-2024)");
    }
    cols.emplace_back(c, field);
  }
  int c_kab = csv.Column("nama_kabkota"), c_kec = csv.Column("nama_kecamatan"), c_desa = csv.Column("nama_desa");
  std::vector<ResultRow> out;
  out.reserve(csv.rows.size());
  std::unordered_map<std::string, size_t> seen;  // tps -> index in out
  for (size_t i = 0; i < csv.rows.size(); ++i) {
    const auto& row = csv.rows[i];
    size_t line = csv.lines[i];
    auto id = TpsId::Parse(row[c_tps]);
    if (!id.ok()) return ColumnError(origin, line, "kode_tps", id.status().message(), "invalid TPS id");
    ResultRow r;
    r.line = line;
    r.tps = row[c_tps];
    for (const auto& [c, field] : cols) {
      const std::string& cell = row[c];
      if (cell.empty()) continue;  // not yet received
      if (cell[0] == '-') {
        return ColumnError(origin, line, csv.header[c], "nilai negatif '" + cell.substr(0, 20) + "' (aturan rentang_nilai)",
                           "negative value '" + cell.substr(0, 20) + "' (rule rentang_nilai)");
      }
      if (!AllDigits(cell) || cell.size() > 6) {
        return ColumnError(origin, line, csv.header[c], "bukan bilangan bulat 0-999999: '" + cell.substr(0, 20) + "'",
                           "not an integer 0-999999: '" + cell.substr(0, 20) + "'");
      }
      r.values[field] = std::stoi(cell);
    }
    if (c_kab >= 0 && c_kec >= 0 && c_desa >= 0) r.region_names = {row[c_kab], row[c_kec], row[c_desa]};
    auto [it, fresh] = seen.emplace(r.tps, out.size());
    if (!fresh) {
      const ResultRow& first = out[it->second];
      if (first.values != r.values) {
        return ColumnError(origin, line, "kode_tps",
                           "TPS " + r.tps + " muncul lagi dengan nilai berbeda (baris " + std::to_string(first.line) + ")",
                           "TPS " + r.tps + " appears again with different values (line " + std::to_string(first.line) + ")");
      }
      continue;  // an identical repeat counts once
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace rekap
