#include "rekap/import.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "rekap/election.h"

namespace rekap {
namespace {

const char kDkiHeader[] =
    "kode_tps,kode_prov,kode_kabkota,kode_kec,kode_desa,no_tps,nama_kabkota,nama_kecamatan,nama_desa,suara_01,"
    "suara_02,suara_03,dpt,dpt_l,dpt_p,pengguna_dpt,pengguna_dpt_l,pengguna_dpt_p,pengguna_dptb,pengguna_dptb_l,"
    "pengguna_dptb_p,pengguna_dpk,pengguna_dpk_l,pengguna_dpk_p,pengguna_total,pengguna_total_l,pengguna_total_p,"
    "suara_sah,suara_tidak_sah,suara_sah_dan_tidak_sah,n_foto_c_plano\n";
const char kDkiRow1[] =
    "3101011001001,31,3101,310101,3101011001,001,ADM. KEP. SERIBU,KEPULAUAN SERIBU UTARA,PULAU PANGGANG,83,107,38,"
    "292,147,145,292,147,145,1,0,1,0,0,0,292,147,145,228,5,233,3\n";
const char kDkiRow2Partial[] =
    "3101011001002,31,3101,310101,3101011001,002,ADM. KEP. SERIBU,KEPULAUAN SERIBU UTARA,PULAU PANGGANG,92,126,30,"
    ",,,,,,,,,,,,,,,,,,3\n";

std::string Message(const Status& s) { return s.message(); }

TEST(ParseCsv, QuotesBomAndBlankLines) {
  auto csv = ParseCsv("\xEF\xBB\xBF" "a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n\n2,,3\r\n", "t.csv");
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  EXPECT_EQ(csv->header, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(csv->rows.size(), 2u);
  EXPECT_EQ(csv->rows[0][1], "x, y");
  EXPECT_EQ(csv->rows[0][2], "say \"hi\"");
  EXPECT_EQ(csv->rows[1][2], "3");
  EXPECT_EQ(csv->lines[1], 4u);  // line 3 is blank
}

// Only a whole byte order mark is dropped: a file opening with another 0xEF byte lost its first
// three bytes before (the header "\xEF" "a,b" became "b"; found while writing fuzz/text_fuzz.cc).
TEST(ParseCsv, DropsOnlyAWholeBom) {
  auto csv = ParseCsv("\xEF" "a,b\n1,2\n", "t.csv");
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  EXPECT_EQ(csv->header, (std::vector<std::string>{"\xEF" "a", "b"}));
  auto two = ParseCsv("\xEF\xBB" "a,b\n1,2\n", "t.csv");
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(two->header[0], "\xEF\xBB" "a");
}

// The cells are bounded in all, not only per line: a file of many short rows held each cell as a
// string of its own without limit (a hostile 1 GiB of "a,b" lines needed tens of GB).
TEST(ParseCsv, CellsAreBoundedInAll) {
  const std::string text = "a,b\n1,2\n3,4\n5,6\n";
  ASSERT_TRUE(ParseCsv(text, "t.csv", 8).ok());  // header + 3 rows of 2 = 8
  auto r = ParseCsv(text, "t.csv", 7);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_NE(r.status().message().find("t.csv:4"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("more than 7 cells"), std::string::npos) << r.status().message();
}

TEST(ParseCsv, RejectsBrokenInput) {
  struct Case {
    std::string text;
    const char* needle;
  };
  for (const Case& c : {Case{"a,b\n1,2\n3\n", "t.csv:3"}, Case{"a,b\n1,\"2\n", "quote"},
                        Case{std::string("a,b\n1,2\0x\n", 11), "NUL"}, Case{"", "kosong"},
                        Case{"a,b\n" + std::string(70000, 'x') + ",1\n", "64 KiB"}}) {
    auto csv = ParseCsv(c.text, "t.csv");
    ASSERT_FALSE(csv.ok()) << c.needle;
    EXPECT_NE(Message(csv.status()).find(c.needle), std::string::npos) << Message(csv.status());
  }
}

TEST(ReadRegions, DetectsBothFormats) {
  auto kpu = ReadRegions(
      "kode,tingkat,jenis,nama,kpu_id,kode_parent\n32,1,provinsi,JAWA BARAT,1,\n3212,2,kabupaten/kota,INDRAMAYU,2,32\n"
      "3212011001,4,desa/kelurahan,X,3,321201\n99AA,2,kabupaten/kota,\"San Francisco, Amerika Serikat\",4,99\n",
      "kpu.csv");
  ASSERT_TRUE(kpu.ok()) << kpu.status().ToString();
  ASSERT_EQ(kpu->size(), 4u);
  EXPECT_EQ((*kpu)[1].region.kind, "kabupaten");
  EXPECT_EQ((*kpu)[2].region.kind, "kelurahan");
  EXPECT_EQ((*kpu)[3].region.name, "San Francisco, Amerika Serikat");
  EXPECT_EQ((*kpu)[0].source, "kpu2024");
  auto kmd = ReadRegions(
      "kode,kode_flat,level,jenis,kode_parent,nama,penduduk,luas_km2\n32,32,1,provinsi,,Jawa Barat,1,2\n"
      "32.12,3212,2,kabupaten,32,Kabupaten Indramayu,,\n",
      "wilayah.csv");
  ASSERT_TRUE(kmd.ok()) << kmd.status().ToString();
  EXPECT_EQ((*kmd)[1].region.code, "3212");
  EXPECT_EQ((*kmd)[1].source, "kemendagri2025");
  auto merged = MergeRegions(*kmd, *kpu);
  ASSERT_EQ(merged.size(), 4u);  // 32 and 3212 are in both
  EXPECT_EQ(merged[0].region.name, "JAWA BARAT");
  EXPECT_EQ(merged[0].name_alt, "Jawa Barat");
}

TEST(ReadRegions, ErrorsNameLineAndColumn) {
  struct Case {
    const char* text;
    const char* needle;
  };
  for (const Case& c :
       {Case{"kode,tingkat,jenis,nama\n32,1,provinsi,A\n3x12,2,kabupaten,B\n", "r.csv:3: kolom 'kode'"},
        Case{"kode,tingkat,jenis,nama\n32,1,provinsi,A\n32,1,provinsi,B\n", "ganda"},
        Case{"kode,tingkat,jenis,nama\n32,1,provinsi,\n", "kolom 'nama'"},
        Case{"code,name\n32,A\n", "header"}}) {
    auto r = ReadRegions(c.text, "r.csv");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(Message(r.status()).find(c.needle), std::string::npos) << Message(r.status());
  }
}

// KPU's "desa/kelurahan" and "kabupaten/kota" are split by the code's 7th or 3rd character: on a
// shorter code that read past the end of the string (undefined behaviour, no sanitizer sees it
// inside std::string's inline buffer; found while writing fuzz/text_fuzz.cc, 2026-12-07).
TEST(ReadRegions, CompoundKindMustFitTheCodeLevel) {
  for (const char* text : {"kode,tingkat,jenis,nama\n32,1,desa/kelurahan,A\n",
                           "kode,tingkat,jenis,nama\n32,1,provinsi,A\n3212,2,desa/kelurahan,B\n",
                           "kode,tingkat,jenis,nama\n32,1,kabupaten/kota,A\n",
                           "kode,tingkat,jenis,nama\n321201,3,kabupaten/kota,A\n"}) {
    auto r = ReadRegions(text, "r.csv");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(Message(r.status()).find("kolom 'jenis'"), std::string::npos) << Message(r.status());
    EXPECT_NE(Message(r.status()).find("does not fit code"), std::string::npos) << Message(r.status());
  }
  auto ok = ReadRegions("kode,tingkat,jenis,nama\n3212,2,kabupaten/kota,A\n3212012001,4,desa/kelurahan,B\n", "r.csv");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)[0].region.kind, "kabupaten");
  EXPECT_EQ((*ok)[1].region.kind, "desa");
}

TEST(ReadTpsList, ValidatesIdsAndDesa) {
  auto ok = ReadTpsList("kode_tps,kode_desa,nama_tps,kpu_id\n3212012001001,3212012001,TPS 001,1\n", "t.csv");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->front().name, "TPS 001");
  struct Case {
    const char* text;
    const char* needle;
  };
  for (const Case& c : {Case{"kode_tps,kode_desa,nama_tps\n321201200100,3212012001,TPS\n", "t.csv:2: kolom 'kode_tps'"},
                        Case{"kode_tps,kode_desa,nama_tps\n3212012001001,3212012002,TPS\n", "kolom 'kode_desa'"},
                        Case{"kode_tps,kode_desa,nama_tps\n3212012001001,3212012001,TPS\n3212012001001,3212012001,TPS\n",
                             "t.csv:3"},
                        Case{"kode_tps,kode_desa,nama_tps\n3212012001001,3212012001,\n", "kolom 'nama_tps'"},
                        Case{"id,name\n1,2\n", "kode_tps"}}) {
    auto r = ReadTpsList(c.text, "t.csv");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(Message(r.status()).find(c.needle), std::string::npos) << Message(r.status());
  }
}

TEST(ReadResultsKpuDki2024, MapsColumnsAndKeepsMissingCellsMissing) {
  auto rows = ReadResultsKpuDki2024(std::string(kDkiHeader) + kDkiRow1 + kDkiRow2Partial, "dki.csv");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  const auto& a = (*rows)[0].values;
  EXPECT_EQ(a.at("suara_1"), 83);
  EXPECT_EQ(a.at("dpt_j"), 292);
  EXPECT_EQ(a.at("pengguna_total_p"), 145);
  EXPECT_EQ(a.at("suara_total"), 233);
  const auto& b = (*rows)[1].values;
  EXPECT_EQ(b.size(), 3u);  // only the three paslon cells were filled
  EXPECT_EQ(b.count("suara_sah"), 0u);
  EXPECT_EQ((*rows)[0].region_names[2], "PULAU PANGGANG");
}

TEST(ReadResultsKpuDki2024, RejectsBadCellsNamingLineAndColumn) {
  auto with = [](std::string row) { return std::string(kDkiHeader) + kDkiRow1 + row; };
  std::string bad_number = kDkiRow1;
  bad_number.replace(bad_number.find(",83,"), 4, ",8x,");
  bad_number.replace(0, 13, "3101011001003");
  std::string negative = kDkiRow1;
  negative.replace(negative.find(",83,"), 4, ",-3,");
  negative.replace(0, 13, "3101011001004");
  std::string truncated = std::string(kDkiRow1).substr(0, 60);
  std::string changed = kDkiRow1;
  changed.replace(changed.find(",83,"), 4, ",84,");
  std::string bad_id = kDkiRow1;
  bad_id.replace(0, 13, "31010110010AB");
  struct Case {
    std::string text;
    const char* needle;
  };
  for (const Case& c : {Case{with(bad_number), "dki.csv:3: kolom 'suara_01'"}, Case{with(negative), "negatif"},
                        Case{with(truncated), "dki.csv:3"}, Case{with(changed), "baris 2"},
                        Case{with(bad_id), "kolom 'kode_tps'"},
                        Case{"kode_tps,suara_01\n3101011001001,1\n", "suara_02"}}) {
    auto r = ReadResultsKpuDki2024(c.text, "dki.csv");
    ASSERT_FALSE(r.ok()) << c.needle;
    EXPECT_NE(Message(r.status()).find(c.needle), std::string::npos) << Message(r.status());
  }
  // A repeated identical row (a duplicated file) counts once.
  auto dup = ReadResultsKpuDki2024(with(kDkiRow1), "dki.csv");
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(dup->size(), 1u);
}

class TempFile {
 public:
  explicit TempFile(const std::string& name)
      : path_((std::filesystem::temp_directory_path() / (name + std::to_string(getpid()))).string()) {}
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ReadFileMaybeGz, PlainGzipTruncatedAndMissing) {
  TempFile plain("rekap-plain-"), gz("rekap-gz-"), cut("rekap-cut-");
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "line " + std::to_string(i) + "\n";
  std::ofstream(plain.path()) << text;
  gzFile f = gzopen(gz.path().c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
  EXPECT_EQ(*ReadFileMaybeGz(plain.path()), text);
  EXPECT_EQ(*ReadFileMaybeGz(gz.path()), text);
  std::string bytes;
  {
    std::ifstream in(gz.path(), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(cut.path(), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto r = ReadFileMaybeGz(cut.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_EQ(ReadFileMaybeGz("/nonexistent/rekap.csv").status().code(), Code::kNotFound);
  EXPECT_EQ(ReadFileMaybeGz(plain.path(), 100).status().code(), Code::kResourceExhausted);
}

// The real DKI Jakarta file: per-rule counts of the library equal a recomputation written
// here independently (plain splitting and arithmetic, no rule language).
TEST(RealData, DkiRuleCountsMatchIndependentRecomputation) {
  const std::string path = REKAP_SOURCE_DIR "/../shared/data/pemilu2024/hasil_pilpres2024_dki_jakarta_per_tps.csv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no ../shared data here";
  auto text = ReadFileMaybeGz(path);
  ASSERT_TRUE(text.ok());
  auto rows = ReadResultsKpuDki2024(*text, path);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 30712u);

  auto schemas = LoadSchemaDir(REKAP_SOURCE_DIR "/data/schemas");
  ASSERT_TRUE(schemas.ok());
  auto form = schemas->at("C.HASIL-PPWP-2024")->Bind(3, {{"max_voters", 300}});
  ASSERT_TRUE(form.ok()) << form.status().ToString();
  std::map<std::string, int> ours;
  std::vector<Value> v((*form)->size());
  std::vector<RuleFailure> failures;
  for (const auto& r : *rows) {
    std::fill(v.begin(), v.end(), kMissing);
    for (const auto& [k, x] : r.values) v[(*form)->IndexOf(k)] = x;
    failures.clear();
    (*form)->Validate(v.data(), &failures);
    std::set<std::string> seen;
    for (const auto& f : failures)
      if (seen.insert(f.rule_id).second) ours[f.rule_id]++;
  }

  // Independent: split each line on commas (this file has no quoted cells) and compute.
  std::istringstream in(*text);
  std::string line;
  std::getline(in, line);
  int sum_ne_sah = 0, sah_tidak_ne_total = 0, paslon_over_300 = 0, lines = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> c;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) c.push_back(cell);
    if (line.back() == ',') c.push_back("");
    ASSERT_EQ(c.size(), 31u) << line;
    ++lines;
    auto num = [&](int i) { return c[i].empty() ? -1 : std::stoi(c[i]); };
    int s1 = num(9), s2 = num(10), s3 = num(11), sah = num(27), tidak = num(28), total = num(29);
    if (s1 >= 0 && s2 >= 0 && s3 >= 0 && sah >= 0 && s1 + s2 + s3 != sah) ++sum_ne_sah;
    if (sah >= 0 && tidak >= 0 && total >= 0 && sah + tidak != total) ++sah_tidak_ne_total;
    if (s1 > 300 || s2 > 300 || s3 > 300) ++paslon_over_300;
  }
  EXPECT_EQ(lines, 30712);
  EXPECT_EQ(sum_ne_sah, 467);  // the figures the data's README states
  EXPECT_EQ(sah_tidak_ne_total, 178);
  EXPECT_EQ(paslon_over_300, 10);
  EXPECT_EQ(ours["suara_sah_sama_jumlah_paslon"], sum_ne_sah);
  EXPECT_EQ(ours["suara_total_sama_sah_tambah_tidak_sah"], sah_tidak_ne_total);
  EXPECT_EQ(ours["suara_paslon_maks_pemilih"], paslon_over_300);
}

}  // namespace
}  // namespace rekap
