// rekap read PHOTO...: read photos of a filled C.Hasil (our own form or KPU's page 2).
// rekap bench reader: synthetic photos -> read, against the truth; Tesseract as the baseline.
// rekap train-digits: trains the digit CNN (DigitModel::Train), see docs/digits.md.
#include "read_commands.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/reader/reader_commands.h"
#include "rekap/import.h"
#include "rekap/region.h"
#include "reader/atomic_file.h"
#include "reader/digits.h"
#include "reader/fast_digits.h"
#include "reader/idx.h"
#include "reader/layout.h"
#include "reader/read.h"
#include "reader/review_cause.h"
#include "reader/synth.h"

namespace rekap::cli {

std::string FindDataFile(const std::string& dir_opt, const std::string& rel);  // cmd_demo.cc

namespace {

using namespace rekap::reader;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

// One core for the reader's own numbers: single-threaded BLAS (dlib) and OpenCV.
void SingleThreaded() {
  using Fn = void (*)(int);
  if (auto set = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(1);
  cv::setNumThreads(1);
}

// `--model` may name several files, comma-separated: the CNN then averages them (an ensemble);
// the dlib fallback uses the first.
std::vector<std::string> SplitModels(const std::string& m) {
  std::vector<std::string> out;
  size_t a = 0;
  while (a <= m.size()) {
    const size_t b = std::min(m.find(',', a), m.size());
    if (b > a) out.push_back(m.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

Result<DigitModel> LoadDlibModel(const std::string& mpath) {
  const auto parts = SplitModels(mpath);
  if (parts.empty()) return NotFound("model digit tidak ditemukan / digit model not found (--model)");
  return DigitModel::Load(parts[0]);
}

Result<FastDigitNet> LoadFastNet(const std::string& mpath) {
  const auto parts = SplitModels(mpath);
  return FastDigitNet::LoadEnsemble(parts);
}

// Every file --model names is there and is a file (a directory or /dev/zero was "not found").
Status CheckModelFiles(const std::string& mpath) {
  const auto parts = SplitModels(mpath);
  if (parts.empty()) return InvalidArgument("--model: tidak ada berkas model / no model file named");
  for (const auto& p : parts) REKAP_RETURN_IF_ERROR(CheckInputFile("--model", p));
  return Status::Ok();
}

// The fast network, which alone reads an ensemble: several models named that it cannot load
// (one missing or damaged) are an error, not the first read alone by the dlib fallback with
// the command exiting 0 (2026-12-07). One model it cannot load falls back to dlib, as before.
Result<std::optional<FastDigitNet>> LoadFastNetFor(const std::string& mpath) {
  auto fast = LoadFastNet(mpath);
  if (fast.ok()) return std::optional<FastDigitNet>(std::move(*fast));
  if (SplitModels(mpath).size() > 1)
    return Status(fast.status().code(), "--model (ensembel / ensemble): " + fast.status().message());
  return std::optional<FastDigitNet>();
}

constexpr const char* kNoQrPatternHelp =
    "formulir kita: kode QR yang terlalu kabur untuk dibaca tidak dicocokkan dengan kode TPS yang diharapkan "
    "(--tps) / our form: a QR code too blurred to decode is not matched with the expected TPS's code";
constexpr const char* kFaintContrastHelp =
    "kotak tampak kosong padahal angkanya perlu digit di situ dibaca lagi pada kontras tinta ini, 0 = tidak "
    "pernah / a box that looks empty where the number needs a digit is read again at this ink contrast "
    "(of 255 below the paper; 0 = never)";
constexpr const char* kFaintPageContrastHelp =
    "pada halaman yang tulisannya pudar (median kontras kotak terbaca di bawah ini), setiap kotak tampak kosong "
    "yang bertinta pada --faint-contrast dibaca lagi, juga kotak depan; 0 = tidak pernah / on a page written "
    "faintly (the median contrast of its boxes read under this), every box that looks empty but shows ink at "
    "--faint-contrast is read again, a leading one too; 0 = never";

// --model's help: the committed ensemble, every member read and averaged.
std::string ModelHelp() {
  std::string list;
  for (const char* name : kCommittedDigitModels) list += (list.empty() ? "" : ",") + std::string(name);
  return "model digit; beberapa dipisah koma = ensembel, dirata-rata / digit model(s), comma-separated = an "
         "ensemble, averaged (default data/models/{" + list + "})";
}

std::string FindModel(const std::string& opt) {
  if (!opt.empty()) return opt;
  if (const char* e = std::getenv("REKAP_DIGITS_MODEL")) return e;
  std::string all;
  for (const char* name : kCommittedDigitModels) {  // every member must be there
    const std::string p = FindDataFile("", std::string("models/") + name);
    if (p.empty()) return "";
    all += (all.empty() ? "" : ",") + p;
  }
  return all;
}

struct LoadedContest {
  Election election;
  const Contest* contest = nullptr;
};

// The contest whose form is read: from --election FILE or the embedded Pemilu 2024 PPWP.
Result<std::unique_ptr<LoadedContest>> LoadContest(const std::string& file, const std::string& id) {
  auto lc = std::make_unique<LoadedContest>();
  if (file.empty()) {
    REKAP_ASSIGN_OR_RETURN(lc->election, Election::Parse(EmbeddedFile("data/elections/pemilu-2024-ppwp.toml"),
                                                         "pemilu-2024-ppwp"));
  } else {
    std::string text = EmbeddedFile("data/elections/" + file + ".toml");
    if (text.empty()) {
      // Bounded, and a directory or device refused (a directory read as an empty election, and
      // /dev/zero was read until memory ran out, before 2026-12-07).
      REKAP_RETURN_IF_ERROR(CheckInputFile("--election", file));
      REKAP_ASSIGN_OR_RETURN(text, ReadFileMaybeGz(file, 4 << 20));
      REKAP_ASSIGN_OR_RETURN(lc->election, Election::Parse(text, file));
    } else {
      REKAP_ASSIGN_OR_RETURN(lc->election, Election::Parse(text, file));
    }
  }
  REKAP_RETURN_IF_ERROR(lc->election.Resolve(EmbeddedSchemas()));
  lc->contest = id.empty() ? (lc->election.contests.empty() ? nullptr : &lc->election.contests[0])
                           : lc->election.FindContest(id);
  if (lc->contest == nullptr) return NotFound("kontes tidak ada / no such contest: " + id);
  return lc;
}

Result<FormKind> ParseFormKind(const std::string& s) {
  if (s == "own") return FormKind::kOwn;
  if (s == "kpu-ppwp-2") return FormKind::kKpuPpwpPage2;
  if (s == "kpu-ppwp") return FormKind::kKpuPpwp;
  return InvalidArgument("--form: own | kpu-ppwp-2 | kpu-ppwp");
}

Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path, size_t max) {
  // A directory read as an empty, unreadable photo (exit 2 as a page for review) before.
  REKAP_RETURN_IF_ERROR(CheckInputFile("foto / photo", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("tidak dapat membuka / cannot open " + path);
  std::vector<uint8_t> out;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    out.insert(out.end(), buf.data(), buf.data() + in.gcount());
    if (out.size() > max) break;  // ReadPage reports image_too_large
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// rekap read

struct ReadCmd {
  std::vector<std::string> photos;
  std::string debug, tps, contest = "ppwp", form = "own", election, model, crops;
  int voters = 0, page = 0;
  bool each = false, no_tally = false, no_qr_pattern = false, no_spill = false, no_box_borders = false,
       no_row_search = false, no_qr_modules = false, no_finer_decode = false, no_print_field = false;
  int faint_contrast = ReadOptions{}.faint_contrast;
  double faint_page_contrast = ReadOptions{}.faint_page_contrast;
};

std::string V(Value v) { return v == kMissing ? "-" : std::to_string(v); }

void PrintReading(const Reading& r, const std::vector<std::string>& names) {
  std::cout << "== ";
  for (const auto& n : names) std::cout << n << " ";
  std::cout << "\n" << Tr("status", "status") << ": "
            << (r.accepted ? Tr("DITERIMA", "ACCEPTED") : Tr("PERLU DIPERIKSA", "REVIEW")) << "  "
            << r.form << Tr("  halaman ", "  page ") << r.page << "  TPS " << (r.tps.empty() ? "?" : r.tps);
  if (r.tps_from == reader::tps_from::kCaller) std::cout << Tr(" (dari --tps, tidak terbaca dari halaman)", " (from --tps, not read from the page)");
  for (const auto& [page, how] : r.qr)  // our form: how the TPS was read from the page
    std::cout << "  QR" << (r.qr.size() > 1 ? " " + std::to_string(page) : "") << ": "
              << (how == qr::kDecoded   ? Tr("terbaca", "decoded")
                  : how == qr::kMatched ? Tr("pola cocok", "pattern matched")
                                     : Tr("tidak terbaca", "unreadable"));
  std::cout << "  (" << int(r.ms) << " ms)\n";
  for (const auto& [page, n] : r.copies)  // two sheets of the page in the photo, every number the same
    std::cout << "  " << TrS(std::to_string(n) + " lembar halaman " + std::to_string(page) + " dalam foto, semua angkanya sama",
                            std::to_string(n) + " sheets of page " + std::to_string(page) + " in the photo, every number the same")
              << "\n";
  if (!r.fields.empty()) {
    std::printf("  %-22s %6s %6s %6s %8s\n", Tr("isian", "field").c_str(), Tr("nilai", "value").c_str(),
                Tr("kotak", "boxes").c_str(), Tr("bulat", "bubbles").c_str(),
                Tr("yakin", "conf").c_str());
    for (const auto& f : r.fields) {
      std::string tally;  // KPU page 2: the counts the tally grid allows
      if (f.tally)
        tally = "  " + Tr("turus ", "tally ") +
                (f.tally->read ? std::to_string(f.tally->lo) + ".." + std::to_string(f.tally->hi) : std::string("?"));
      std::printf("  %-22s %6s %6s %6s %8.4f%s%s\n", f.field.c_str(), V(f.value).c_str(), V(f.ocr).c_str(),
                  V(f.omr).c_str(), f.confidence, f.verified ? "" : "  *", tally.c_str());
    }
  }
  for (const auto& x : r.reasons) {
    std::cout << "  - " << x.code;
    if (!x.field.empty()) std::cout << " " << x.field;
    if (!x.rule.empty()) std::cout << " " << x.rule;
    if (x.p >= 0) std::cout << " p=" << x.p;
    if (!x.detail.empty()) std::cout << ": " << x.detail;
    else if (const std::string m = ReasonMessage(x.code); !m.empty()) std::cout << ": " << m;
    std::cout << "\n";
  }
  for (const auto& w : r.warnings) std::cout << "  ! " << w.rule_id << ": " << w.detail << "\n";
}

Status RunRead(const ReadCmd& c) {
  SingleThreaded();
  REKAP_ASSIGN_OR_RETURN(FormKind kind, ParseFormKind(c.form));
  // --tps is a TPS id (it was matched, and shown, as any text before, 2026-12-07).
  if (!c.tps.empty())
    if (auto t = TpsId::Parse(c.tps); !t.ok()) return InvalidArgument("--tps: " + t.status().message());
  REKAP_ASSIGN_OR_RETURN(auto lc, LoadContest(c.election, c.contest));
  {  // --page: one of the form's pages or 0 (a negative one read as "any" before)
    const int n = kind == FormKind::kOwn ? (lc->contest->form ? OwnPageCount(*lc->contest->form) : 0) : 3;
    const bool ok = c.page == 0 || (kind == FormKind::kOwn ? c.page >= 1 && c.page <= n
                                                           : c.page == 2 || (kind == FormKind::kKpuPpwp && c.page == 3));
    if (!ok)
      return InvalidArgument("--page: " + std::to_string(c.page) + " bukan halaman formulir ini (" +
                             (kind == FormKind::kOwn ? "0, 1.." + std::to_string(n)
                              : kind == FormKind::kKpuPpwp ? std::string("0, 2, 3") : std::string("0, 2")) +
                             ") / is not a page of this form");
  }
  const std::string mpath = FindModel(c.model);
  if (mpath.empty()) return NotFound("model digit tidak ditemukan / digit model not found (--model)");
  REKAP_RETURN_IF_ERROR(CheckModelFiles(mpath));
  REKAP_ASSIGN_OR_RETURN(DigitModel model, LoadDlibModel(mpath));
  REKAP_ASSIGN_OR_RETURN(auto fast, LoadFastNetFor(mpath));  // one model: falls back to dlib if it cannot
  ReadOptions o;
  o.contest = lc->contest;
  o.form = kind;
  o.fast = fast ? &*fast : nullptr;
  o.expected_tps = c.tps;
  o.expected_page = c.page;
  o.voters = c.voters;
  o.model = &model;
  o.debug_dir = c.debug;
  o.crops = !c.crops.empty();
  o.accept_tally = !c.no_tally;
  o.faint_contrast = c.faint_contrast;
  o.faint_page_contrast = c.faint_page_contrast;
  o.spill = !c.no_spill;
  o.finer_decode = !c.no_finer_decode;
  o.box_borders = !c.no_box_borders;
  o.bubble_rows = !c.no_row_search;
  o.print_field = !c.no_print_field;
  o.qr_by_modules = !c.no_qr_modules;
  o.qr_by_pattern = !c.no_qr_pattern;

  // The directories asked for, made before any photo is read: one that cannot be made is an
  // error, not crops or stages silently missing (the JSON names each crop's file).
  for (const auto& [flag, dir] : {std::pair<const char*, const std::string&>{"--crops", c.crops}, {"--debug", c.debug}}) {
    if (dir.empty()) continue;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir, ec))
      return Unavailable(std::string(flag) + ": tidak bisa membuat direktori / cannot create directory " + dir);
  }
  // Checked before any photo is read into memory (ReadPages refuses them too).
  if (!c.each && c.photos.size() > kMaxPhotosPerTps)
    return InvalidArgument("photos: " + std::to_string(c.photos.size()) + " foto untuk satu TPS, maks. " +
                           std::to_string(kMaxPhotosPerTps) + " (--each membaca satu per satu) / photos for one TPS, max " +
                           std::to_string(kMaxPhotosPerTps) + " (--each reads them one by one)");
  std::vector<std::vector<std::string>> groups;
  if (c.each)
    for (const auto& p : c.photos) groups.push_back({p});
  else
    groups.push_back(c.photos);
  json out = json::array();
  bool all_accepted = true;
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<std::vector<uint8_t>> bytes;
    for (const auto& p : groups[g]) {
      REKAP_ASSIGN_OR_RETURN(auto b, ReadFileBytes(p, kMaxPhotoBytes + 1));
      bytes.push_back(std::move(b));
    }
    o.debug_name = std::filesystem::path(groups[g][0]).stem().string();
    REKAP_ASSIGN_OR_RETURN(Reading r, ReadPages(bytes, o));
    all_accepted = all_accepted && r.accepted;
    json j = ToJson(r);
    j["photos"] = groups[g];
    if (!c.crops.empty()) {
      for (const auto& f : r.fields) {
        if (f.crop_png.empty()) continue;
        const std::string path = c.crops + "/" + o.debug_name + "-" + f.field + ".png";
        if (!WriteFileAtomic(path, std::string_view(reinterpret_cast<const char*>(f.crop_png.data()), f.crop_png.size()))
                 .ok())
          return Unavailable("--crops: tidak bisa menulis / cannot write " + path);
        j["fields"][f.field]["crop"] = path;
      }
    }
    if (G().json) out.push_back(j);
    else PrintReading(r, groups[g]);
  }
  if (G().json) std::cout << (out.size() == 1 ? out[0] : out).dump(2) << "\n";
  ExitCode() = all_accepted ? 0 : 2;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// rekap bench reader

struct BenchCmd {
  std::string digits, labels, form = "own", model, keep, photos;
  int count = 1000;
  uint32_t seed = 1;
  int tesseract_sample = 2000;
  int min_width = 1000, max_width = 4000;  // synthetic photo width, px
  double min_fill = SynthOptions{}.min_fill, max_fill = SynthOptions{}.max_fill;  // share of the frame's width the page fills
  double inconsistent_rate = SynthOptions{}.inconsistent_rate;
  double restyle = 0;
  double bend_mm = 0;
  int folds = 0;
  bool cover_corner = false;
  double unbubbled = 0;
  double segment_style = 0;
  double pen_strokes = 0;
  bool pen_outline_areas = false;
  double blur_scale = 1;
  double shake = 0;
  double spill = 0;
  double flagged_ones = 0;
  double crossed_sevens = 0;
  std::string format = "jpeg";
  bool no_tally = false, no_qr_pattern = false, no_spill = false, no_box_borders = false, no_row_search = false,
       no_qr_modules = false, no_finer_decode = false, no_print_field = false;
  int faint_contrast = ReadOptions{}.faint_contrast;
  double faint_page_contrast = ReadOptions{}.faint_page_contrast;
};

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
  return v[i];
}

// Tesseract 5 on the same digit boxes (CLI, one process for the whole sample via a list
// file; --psm 10 single character, digits only). Returns (correct, total) or nullopt.
std::optional<std::pair<int, int>> TesseractBaseline(const std::vector<std::pair<cv::Mat, int>>& sample,
                                                     double* seconds) {
  if (sample.empty()) return std::nullopt;
  const auto t0 = Clock::now();
  const std::string dir = std::filesystem::temp_directory_path().string() + "/rekap-tess-" + std::to_string(getpid());
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return std::nullopt;  // no baseline rather than no benchmark
  std::ofstream list(dir + "/list.txt");
  for (size_t i = 0; i < sample.size(); ++i) {
    // The box interior (its printed border cut off), 64 px tall, binarized, on a white margin.
    const cv::Mat& c = sample[i].first;
    const int ix = std::max(1, c.cols / 10), iy = std::max(1, c.rows / 10);
    cv::Mat in = c(cv::Rect(ix, iy, c.cols - 2 * ix, c.rows - 2 * iy)).clone();
    cv::Mat big;
    const double f = 64.0 / std::max(1, in.rows);
    cv::resize(in, big, cv::Size(), f, f, cv::INTER_CUBIC);
    cv::threshold(big, big, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);  // helps it (28 -> 30 %)
    cv::copyMakeBorder(big, big, 24, 24, 24, 24, cv::BORDER_CONSTANT, cv::Scalar(255));
    const std::string p = dir + "/" + std::to_string(i) + ".png";
    cv::imwrite(p, big);
    list << p << "\n";
  }
  list.close();
  const std::string cmd = "tesseract " + dir + "/list.txt stdout --psm 10 -c tessedit_char_whitelist=0123456789 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return std::nullopt;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const int rc = pclose(f);
  std::filesystem::remove_all(dir);
  if (rc != 0) return std::nullopt;
  // One page of output per image, separated by form feeds.
  std::vector<std::string> pages;
  std::string cur;
  for (char ch : text) {
    if (ch == '\f') {
      pages.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (pages.size() + 1 == sample.size()) pages.push_back(cur);  // no form feed after the last
  if (pages.size() != sample.size()) return std::nullopt;
  int correct = 0;
  for (size_t i = 0; i < sample.size(); ++i) {
    std::string digits;
    for (char ch : pages[i])
      if (ch >= '0' && ch <= '9') digits += ch;
    correct += digits.size() == 1 && digits[0] - '0' == sample[i].second;
  }
  *seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return std::make_pair(correct, int(sample.size()));
}

// One page of a truth.json read by `bench reader --photos` (written by `rekap forms synth`, or
// by hand): every key the benchmark reads has its type, and the photo is a file in the
// directory itself. Checked before the pages are read (a type error thrown on the maker's
// thread aborted the benchmark before, 2026-12-07).
Status CheckTruthPage(const json& t, size_t i) {
  auto bad = [&](const std::string& key, const char* want) {
    return InvalidArgument("truth.json: halaman / page " + std::to_string(i) + ": " +
                           (key.empty() ? std::string() : "'" + key + "' ") + want);
  };
  if (!t.is_object()) return bad("", "harus objek / must be an object");
  if (!t.contains("file") || !t["file"].is_string()) return bad("file", "harus teks / must be a string");
  const std::string file = t["file"].get<std::string>();
  if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos ||
      file.find('\\') != std::string::npos)
    return bad("file", "harus nama berkas di direktori itu / must name a file in that directory");
  for (const char* k : {"form", "tps", "inconsistency"})
    if (t.contains(k) && !t[k].is_string()) return bad(k, "harus teks / must be a string");
  for (const char* k : {"page", "voters", "flagged_ones", "crossed_sevens"})
    if (t.contains(k) && !t[k].is_number_integer()) return bad(k, "harus bilangan bulat / must be an integer");
  if (t.contains("pen_mm") && !t["pen_mm"].is_number()) return bad("pen_mm", "harus bilangan / must be a number");
  if (t.contains("inconsistent") && !t["inconsistent"].is_boolean())
    return bad("inconsistent", "harus true/false / must be true or false");
  for (const char* k : {"values", "bubble_values"})
    if (t.contains(k)) {
      if (!t[k].is_object()) return bad(k, "harus objek / must be an object");
      for (const auto& [field, v] : t[k].items())
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 999)
          return bad(std::string(k) + "." + field, "harus bilangan bulat 0-999 / must be an integer 0-999");
    }
  for (const char* k : {"missing_marks", "double_marked", "leading_zeros"})
    if (t.contains(k)) {
      if (!t[k].is_array()) return bad(k, "harus larik teks / must be an array of strings");
      for (const auto& v : t[k])
        if (!v.is_string()) return bad(k, "harus larik teks / must be an array of strings");
    }
  return Status::Ok();
}

Status RunBench(const BenchCmd& c) {
  SingleThreaded();
  REKAP_ASSIGN_OR_RETURN(FormKind kind, ParseFormKind(c.form));
  REKAP_ASSIGN_OR_RETURN(SynthForm sform, ParseSynthForm(c.form));
  if (c.tesseract_sample < 0)
    return InvalidArgument("--tesseract-sample: harus >= 0 (0 = lewati) / must be >= 0 (0 = skip)");
  REKAP_ASSIGN_OR_RETURN(auto lc, LoadContest("", "ppwp"));
  const std::string mpath = FindModel(c.model);
  if (mpath.empty()) return NotFound("model digit tidak ditemukan / digit model not found (--model)");
  REKAP_RETURN_IF_ERROR(CheckModelFiles(mpath));
  REKAP_ASSIGN_OR_RETURN(DigitModel model, LoadDlibModel(mpath));
  REKAP_ASSIGN_OR_RETURN(auto fast, LoadFastNetFor(mpath));  // before the maker thread starts
  if (!fast) std::cerr << "fast digit net unavailable, using dlib\n";
  // Pages: synthesised here, or read from a `rekap forms synth` directory (truth.json).
  DigitDataset digits;
  std::unique_ptr<Synthesizer> synth;
  json truth;
  int count = c.count;
  REKAP_ASSIGN_OR_RETURN(const PhotoFormat format, ParsePhotoFormat(c.format));
  // Options that shape the photos made here: photos read from a directory are already made.
  for (const auto& [flag, on] : {std::pair<const char*, bool>{"--bend", c.bend_mm > 0},
                                 {"--cover-corner", c.cover_corner},
                                 {"--unbubbled", c.unbubbled > 0},
                                 {"--fold", c.folds > 0},
                                 {"--restyle", c.restyle > 0},
                                 {"--segment-style", c.segment_style > 0},
                                 {"--pen-strokes", c.pen_strokes > 0},
                                 {"--pen-outline-areas", c.pen_outline_areas},
                                 {"--blur-scale", c.blur_scale != 1},
                                 {"--shake", c.shake > 0},
                                 {"--spill", c.spill > 0},
                                 {"--flagged-ones", c.flagged_ones > 0},
                                 {"--crossed-sevens", c.crossed_sevens > 0},
                                 {"--format", format != PhotoFormat::kJpeg}})
    if (!c.photos.empty() && on)
      return InvalidArgument(std::string(flag) +
                             ": hanya saat membuat foto (--digits), bukan dengan --photos / only when making the photos "
                             "(--digits), not with --photos (use `rekap forms synth " + flag + "`)");
  if (c.photos.empty()) {
    if (c.digits.empty() || c.labels.empty())
      return InvalidArgument("--digits dan --labels (atau --photos DIR) wajib / --digits and --labels (or --photos DIR) "
                             "are required");
    REKAP_RETURN_IF_ERROR(CheckInputFile("--digits", c.digits));
    REKAP_RETURN_IF_ERROR(CheckInputFile("--labels", c.labels));
    REKAP_ASSIGN_OR_RETURN(digits, ReadIdxDataset(c.digits, c.labels));
    SynthOptions so;
    so.form = sform;
    so.seed = c.seed;
    so.min_width = c.min_width;
    so.max_width = std::max(c.min_width, c.max_width);
    so.min_fill = c.min_fill;
    so.max_fill = std::max(c.min_fill, c.max_fill);
    so.inconsistent_rate = c.inconsistent_rate;
    so.restyle = c.restyle;
    so.bend_mm = c.bend_mm;
    so.folds = c.folds;
    so.cover_corner = c.cover_corner;
    so.unbubbled_rate = c.unbubbled;
    so.segment_style = c.segment_style;
    so.pen_strokes = c.pen_strokes;
    so.pen_outline_areas = c.pen_outline_areas;
    so.blur_scale = c.blur_scale;
    so.shake = c.shake;
    so.spill = c.spill;
    so.flagged_ones = c.flagged_ones;
    so.crossed_sevens = c.crossed_sevens;
    so.format = format;
    REKAP_ASSIGN_OR_RETURN(synth, Synthesizer::Create(digits, lc->contest, so));
  } else {
    // The set the photos were written from, if named: only to ask how the networks read a
    // misread box's digit on its own (review_causes below).
    if (c.digits.empty() != c.labels.empty())
      return InvalidArgument("--digits dan --labels harus bersama / --digits and --labels go together");
    if (!c.digits.empty() && !c.labels.empty()) {
      REKAP_RETURN_IF_ERROR(CheckInputFile("--digits", c.digits));
      REKAP_RETURN_IF_ERROR(CheckInputFile("--labels", c.labels));
      REKAP_ASSIGN_OR_RETURN(digits, ReadIdxDataset(c.digits, c.labels));
    }
    std::ifstream in(c.photos + "/truth.json");
    truth = json::parse(in, nullptr, false);
    if (truth.is_discarded() || !truth.is_object() || !truth.contains("pages"))
      return InvalidArgument("--photos: tidak ada truth.json yang sah di / no valid truth.json in " + c.photos);
    if (!truth["pages"].is_array()) return InvalidArgument("truth.json: 'pages' harus larik / must be an array");
    for (size_t i = 0; i < truth["pages"].size(); ++i) REKAP_RETURN_IF_ERROR(CheckTruthPage(truth["pages"][i], i));
    count = std::min<int>(count, int(truth["pages"].size()));
  }
  if (!c.keep.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(c.keep, ec);
    if (ec || !std::filesystem::is_directory(c.keep, ec))
      return Unavailable("--keep: tidak bisa membuat direktori / cannot create directory " + c.keep);
    // An earlier run's truth.json would describe photos this run writes over (as forms synth).
    std::filesystem::remove(c.keep + "/truth.json", ec);
    if (ec) return Unavailable("--keep: tidak bisa menghapus / cannot remove " + c.keep + "/truth.json");
  }
  auto make = [&](int i) -> Result<SynthPage> {
    if (synth) return synth->Make(i);
    const json& t = truth["pages"][size_t(i)];
    SynthPage p;
    if (t.contains("missing_marks")) p.missing_marks = t["missing_marks"].get<std::vector<std::string>>();
    if (t.contains("double_marked")) p.double_marked = t["double_marked"].get<std::vector<std::string>>();
    p.file = t.value("file", "");
    p.form = t.value("form", "");
    p.page = t.value("page", 1);
    p.tps = t.value("tps", "");
    p.inconsistent = t.value("inconsistent", false);
    p.inconsistency = t.value("inconsistency", "");
    p.voters = t.value("voters", 0);
    if (t.contains("values")) p.values = t["values"].get<std::map<std::string, int>>();
    if (t.contains("bubble_values")) p.bubble_values = t["bubble_values"].get<std::map<std::string, int>>();
    if (t.contains("leading_zeros")) p.leading_zeros = t["leading_zeros"].get<std::vector<std::string>>();
    if (t.contains("samples") && t["samples"].is_object())
      for (const auto& [field, a] : t["samples"].items())
        if (a.is_array() && a.size() == 3 && a[0].is_number_integer() && a[1].is_number_integer() &&
            a[2].is_number_integer())
          p.samples[field] = {a[0].get<int>(), a[1].get<int>(), a[2].get<int>()};
    p.pen_mm = t.value("pen_mm", 0.0);
    p.flagged = t.value("flagged_ones", 0);
    p.crossed = t.value("crossed_sevens", 0);
    REKAP_ASSIGN_OR_RETURN(p.jpeg, ReadFileBytes(c.photos + "/" + p.file, kMaxPhotoBytes + 1));
    return p;
  };

  // Pages are made on a second thread in batches, and read on this thread with that one idle:
  // a batch of kBatch photos is made (the reader waiting), then read (the maker waiting), so
  // each read is timed on one core with nothing else running, as the acceptance asks. Made
  // alongside the reading, the pages slowed it: our form 62.6-63.6 ms a page against 59.0-62.0
  // ms in batches, three runs of 100 photos (2,000-4,000 px wide) each, taken in turn on a
  // 2-vCPU VM (2026-12-07).
  constexpr size_t kBatch = 32;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Result<SynthPage>> queue;
  bool stop = false, reading = false, making = false, made_all = false;
  // KPU pages 2 and 3: one sheet (TPS) is two consecutive photos, read together.
  const int per = kind == FormKind::kKpuPpwp ? 2 : 1;
  if (!c.photos.empty()) count = std::min(count, int(truth["pages"].size()) / per);
  // No page to read is no benchmark: it reported zeros and exited 0 before (2026-12-07).
  if (count <= 0)
    return InvalidArgument("--photos: truth.json di " + c.photos + " tidak berisi " +
                           (per > 1 ? "satu lembar pun (2 foto) / holds no sheet (2 photos) in " : "halaman / holds no page in ") +
                           c.photos);
  std::thread producer([&] {
    for (int i = 0; i < count * per; ++i) {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return !reading || stop; });
        if (stop) return;
        making = true;
      }
      Result<SynthPage> p = Internal("bench: halaman / page " + std::to_string(i));
      try {  // nothing may leave this thread by an exception: it would abort the process
        p = make(i);
      } catch (const std::exception& e) {
        p = Internal("bench: halaman / page " + std::to_string(i) + ": " + e.what());
      }
      // The photo is read from its JPEG: the decoded image is let go, or a batch of our form's
      // 4,000 px pages would hold some 2 GB (1.7 GB peak for 40 pages before). --keep writes
      // truth.json from it (its size), so keeps it.
      if (p.ok() && c.keep.empty()) p->image.release();
      std::lock_guard<std::mutex> lock(mu);
      queue.push_back(std::move(p));
      making = false;
      cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu);
    made_all = true;
    cv.notify_all();
  });

  ReadOptions o;
  o.contest = lc->contest;
  o.form = kind;
  o.model = &model;
  o.fast = fast ? &*fast : nullptr;
  o.accept_tally = !c.no_tally;
  o.faint_contrast = c.faint_contrast;
  o.faint_page_contrast = c.faint_page_contrast;
  o.spill = !c.no_spill;
  o.finer_decode = !c.no_finer_decode;
  o.box_borders = !c.no_box_borders;
  o.bubble_rows = !c.no_row_search;
  o.print_field = !c.no_print_field;
  o.qr_by_modules = !c.no_qr_modules;
  o.qr_by_pattern = !c.no_qr_pattern;
  // Development aid: the crop and the CNN's 28x28 input of every misread box, as PNGs here.
  const char* dump_crops = std::getenv("REKAP_BENCH_DUMP_CROPS");
  o.box_crops = c.tesseract_sample > 0 || dump_crops != nullptr;
  o.digit_inputs = dump_crops != nullptr;

  int qr_matched = 0;
  int spilled_boxes = 0;
  int decoded_finer = 0;  // pages read from their photo decoded again finer (Reading::decoded_finer)
  int boxes_moved = 0;
  int rows_moved = 0;
  int print_field = 0;  // pages registered through their print's field (Reading::bend_mm)
  int print_fields = 0;  // fields of the print computed, used or not (Reading::print_fields)
  int pages = 0, found = 0, accepted = 0, wrong_accepted = 0, wrong_values = 0, inconsistent = 0,
      inconsistent_flagged = 0;
  std::array<int, 2> page_confirmed{}, page_confirmed_wrong{};  // KPU sheets: per page (2, 3)
  int64_t boxes_found = 0, boxes_found_ok = 0;  // on pages found and identified
  int64_t boxes = 0, boxes_ok = 0, boxes_missed = 0, numbers = 0, ocr_ok = 0, omr_ok = 0, comb_ok = 0,
          omr_numbers = 0;
  std::vector<double> ms, cpu_ms;
  // The acceptance's own measure: pages whose every photo is 2,000-4,000 px wide (issue 3).
  std::vector<double> ms_2000_4000, cpu_ms_2000_4000;
  std::map<std::string, int> reasons;
  std::vector<std::pair<cv::Mat, int>> tess;
  json wrong = json::array();
  json unflagged = json::array();  // deliberately inconsistent pages accepted (must stay empty)
  json kept_truth = json::array();  // --keep: truth.json of the photos kept, as `rekap forms synth` writes it
  json review = json::array();  // consistent pages sent to review, with their reasons
  std::vector<int> not_found;
  struct {
    int misread = 0, misread_below = 0, written_otherwise = 0, written_otherwise_at_or_above = 0;
    double written_otherwise_max_p = 0;
  } margin;
  // Why consistent pages went to review, by what their numbers left unconfirmed show: a digit
  // box misread (and of those, pages where such a box's handwritten sample is misread by the
  // networks on its own too, as the clean 28x28 image of the set: a hard digit rather than the
  // photo's doing), else a number whose bubbles were not read, else something else.
  // The sample's own reading is known only where the digits were drawn as they are in the set
  // (not restyled, no flag or bar added, not redrawn with another pen; truth.json records the
  // last three per page, not --restyle: name the set with --photos only for photos written
  // without it).
  const bool samples_as_in_set = !digits.images.empty() && c.restyle == 0;
  struct {
    int digit_misread = 0, digit_misread_alone_too = 0, bubbles_unread = 0, other = 0;
    int pages() const { return digit_misread + bubbles_unread + other; }
  } review_causes;
  std::map<int, bool> misread_alone;  // sample index -> the networks misread its clean image
  auto sample_misread_alone = [&](int s) {
    if (s < 0 || size_t(s) >= digits.images.size() || (o.fast == nullptr && o.model == nullptr)) return false;
    auto it = misread_alone.find(s);
    if (it != misread_alone.end()) return it->second;
    const std::span<const Image28> one(&digits.images[size_t(s)], 1);
    std::vector<DigitPrediction> pr = o.fast != nullptr ? o.fast->ClassifyBatch(one) : o.model->ClassifyBatch(one);
    const bool wrong_alone = pr.size() == 1 && pr[0].digit != int(digits.labels[size_t(s)]);
    misread_alone[s] = wrong_alone;
    return wrong_alone;
  };
  Progress prog("bench reader", count);
  FILE* dump = nullptr;
  if (const char* d = std::getenv("REKAP_BENCH_DUMP_BUBBLES")) dump = std::fopen(d, "w");
  FILE* dump_digits = nullptr;
  if (const char* d = std::getenv("REKAP_BENCH_DUMP_DIGITS")) dump_digits = std::fopen(d, "w");
  FILE* dump_fields = nullptr;
  if (const char* d = std::getenv("REKAP_BENCH_DUMP_FIELDS")) dump_fields = std::fopen(d, "w");
  Status failure;
  for (int i = 0; i < count; ++i) {
    std::vector<SynthPage> sheet;
    for (int k = 0; k < per && failure.ok(); ++k) {
      Result<SynthPage> pr = Status(Code::kInternal, "");
      {
        std::unique_lock<std::mutex> lock(mu);
        if (queue.empty()) reading = false;
        if (!reading) {  // a batch made, then the maker idle while it is read
          cv.notify_all();
          cv.wait(lock, [&] { return made_all || queue.size() >= kBatch; });
          reading = true;
          cv.wait(lock, [&] { return !making; });
        }
        if (queue.empty()) {  // every page made and read: cannot happen while pages are owed
          failure = Status(Code::kInternal, "bench: halaman habis / no page left");
          break;
        }
        pr = std::move(queue.front());
        queue.pop_front();
      }
      if (!pr.ok()) failure = pr.status();
      else sheet.push_back(std::move(*pr));
    }
    if (!failure.ok()) break;
    std::vector<std::vector<uint8_t>> photos;
    bool in_2000_4000 = true;
    int photo_width = 0;  // the first photo's (the development dumps)
    for (SynthPage& sp : sheet) {
      if (!c.keep.empty()) {  // the directory made before the threads (below)
        failure = WriteFileAtomic(c.keep + "/" + sp.file,
                                  std::string_view(reinterpret_cast<const char*>(sp.jpeg.data()), sp.jpeg.size()));
        if (!failure.ok()) break;
        kept_truth.push_back(sp.TruthJson());
      }
      const auto header = ParseImageHeader(sp.jpeg);
      in_2000_4000 = in_2000_4000 && header && header->width >= 2000 && header->width <= 4000;
      if (photo_width == 0 && header) photo_width = header->width;
      photos.push_back(std::move(sp.jpeg));  // not needed again
    }
    if (!failure.ok()) break;
    SynthPage& p = sheet[0];  // the sheet's truth: the other pages' fields merged in
    for (size_t k = 1; k < sheet.size(); ++k) {
      p.values.insert(sheet[k].values.begin(), sheet[k].values.end());
      p.bubble_values.insert(sheet[k].bubble_values.begin(), sheet[k].bubble_values.end());
      p.samples.insert(sheet[k].samples.begin(), sheet[k].samples.end());
      p.leading_zeros.insert(p.leading_zeros.end(), sheet[k].leading_zeros.begin(), sheet[k].leading_zeros.end());
    }
    // The TPS the photos were taken for, as an uploader knows it (`rekap read --tps`): KPU's page
    // has no other identity; on our form the QR code must match it (or, too blurred to decode,
    // match the code printed for it: ReadOptions::qr_by_pattern).
    o.expected_tps = p.tps;
    o.voters = IsKpu(kind) ? p.voters : 0;
    auto rr = ReadPages(photos, o);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (queue.empty()) {  // the batch read: the maker makes the next
        reading = false;
        cv.notify_all();
      }
    }
    if (!rr.ok()) {
      failure = rr.status();
      break;
    }
    const Reading& r = *rr;
    ++pages;
    ms.push_back(r.ms / per);  // per photo
    cpu_ms.push_back(r.cpu_ms / per);
    if (in_2000_4000) {
      ms_2000_4000.push_back(r.ms / per);
      cpu_ms_2000_4000.push_back(r.cpu_ms / per);
    }
    std::vector<int> want_pages;
    for (const SynthPage& sp : sheet) want_pages.push_back(sp.page);
    // Identified: our form's QR decoded or matched to the expected TPS's code (a QR unread leaves
    // the TPS only as expected, unverified); KPU's page by its tag, the TPS as named.
    const bool identified =
        r.page_found && r.tps == p.tps && r.pages == want_pages && !r.HasReason(reason::kQrUnreadable);
    // KPU sheets, page by page (Reading::pages_confirmed): page 2's votes can be published while
    // page 3 waits for review.
    for (size_t k = 0; per > 1 && k < sheet.size(); ++k) {
      const int pg = sheet[k].page;
      if (std::find(r.pages_confirmed.begin(), r.pages_confirmed.end(), pg) == r.pages_confirmed.end()) continue;
      bool wrong_value = !identified;
      for (const auto& f : r.fields)
        if (f.page == pg) wrong_value = wrong_value || !p.values.count(f.field) || p.values.at(f.field) != f.value;
      ++page_confirmed[k];
      page_confirmed_wrong[k] += wrong_value;
    }
    found += identified;
    for (const auto& [page, how] : r.qr) qr_matched += how == qr::kMatched;
    for (const auto& [page, k] : r.spilled_boxes) spilled_boxes += k;
    decoded_finer += int(r.decoded_finer.size());
    for (const auto& [page, k] : r.boxes_moved) boxes_moved += k;
    for (const auto& [page, k] : r.rows_moved) rows_moved += k;
    print_field += int(r.bend_mm.size());
    print_fields += r.print_fields;
    if (!identified && not_found.size() < 100) not_found.push_back(i);
    if (p.inconsistent) {
      ++inconsistent;
      inconsistent_flagged += !r.accepted;
      if (r.accepted && unflagged.size() < 100) {
        json u = {{"page", i}, {"file", p.file}, {"inconsistency", p.inconsistency}, {"fields", json::object()}};
        for (const FieldReading& f : r.fields) u["fields"][f.field] = f.confirmed_by;
        unflagged.push_back(u);
      }
    }
    for (const auto& x : r.reasons) reasons[x.code]++;
    // The margin of the fail-closed rule: numbers whose bubbles read their bubbled value and
    // whose boxes' best reading differs, split by what was written. A misread (written as
    // bubbled) is settled by the boxes' second reading only at >= min_support_probability; a
    // number written otherwise must stay below it.
    for (const FieldReading& f : r.fields) {
      const auto tv = p.values.find(f.field);
      if (!f.has_bubbles || f.omr < 0 || f.ocr == f.omr || tv == p.values.end()) continue;
      const auto bv = p.bubble_values.find(f.field);
      const int bubbled = bv == p.bubble_values.end() ? tv->second : bv->second;
      if (f.omr != bubbled) continue;  // the bubbles misread
      if (tv->second == bubbled) {
        ++margin.misread;
        margin.misread_below += f.ocr_p_of_omr < o.min_support_probability;
      } else {
        ++margin.written_otherwise;
        margin.written_otherwise_max_p = std::max(margin.written_otherwise_max_p, f.ocr_p_of_omr);
        margin.written_otherwise_at_or_above += f.ocr_p_of_omr >= o.min_support_probability;
      }
    }
    if (dump_fields != nullptr)  // development aid: every number read, with both channels
      for (const FieldReading& f : r.fields) {
        const auto tv = p.values.find(f.field);
        const auto bv = p.bubble_values.find(f.field);
        const int truth = tv == p.values.end() ? -1 : tv->second;
        double p_truth = 0;  // the combined reading's probability of what was written
        for (const Hypothesis& h : f.hypotheses)
          if (h.value == truth) p_truth = h.p;
        std::fprintf(dump_fields,
                     "%d %s inconsistent %d truth %d bubbles %d omr %d ocr %d ocr_p %.6g p_omr %.6g chosen %d "
                     "conf %.6g verified %d accepted %d tally %d %d p_truth %.6g by %s line %.3f grain %.3f %.3f\n",
                     i, f.field.c_str(), int(p.inconsistent), truth, bv == p.bubble_values.end() ? truth : bv->second,
                     f.omr, f.ocr, f.ocr_p, f.ocr_p_of_omr, f.value, f.confidence, int(f.verified), int(r.accepted),
                     f.tally && f.tally->read ? f.tally->lo : -1, f.tally && f.tally->read ? f.tally->hi : -1,
                     p_truth, f.confirmed_by.empty() ? "-" : f.confirmed_by.c_str(),
                     r.line_mm.empty() ? 0.0 : r.line_mm.begin()->second,
                     r.grain.empty() ? 0.0 : r.grain.begin()->second, r.grain.empty() ? 0.0 : r.grain.rbegin()->second);
      }
    // Accuracy against what was written (boxes) and marked (bubbles).
    std::set<std::string> lz(p.leading_zeros.begin(), p.leading_zeros.end());
    int page_wrong = 0;
    for (const auto& [field, v] : p.values) {
      const FieldReading* f = r.Find(field);
      const auto bv = p.bubble_values.find(field);
      const int bubbles = bv == p.bubble_values.end() ? v : bv->second;
      if (!p.inconsistent) {
        ++numbers;
        if (f != nullptr) {
          ocr_ok += f->ocr == v;
          comb_ok += f->value == v;
        }
        if (f == nullptr || f->has_bubbles) {  // KPU page 3 has no bubbles
          ++omr_numbers;
          omr_ok += f != nullptr && f->omr == bubbles;
        }
      }
      if (r.accepted && (f == nullptr || f->value != v)) ++page_wrong;
      for (int pos = 0; pos < 3; ++pos) {
        const int d = WrittenDigit(v, pos, lz.count(field) > 0);
        if (d < 0 && f != nullptr && f->box_digit[size_t(pos)] >= 0 && dump_digits) {  // a blank box read
          std::fprintf(dump_digits, "%d %s %d truth -1 read %d p %.4f width %d q %d sample -1\n", i, field.c_str(),
                       pos, f->box_digit[size_t(pos)], f->box_p[size_t(pos)], photo_width, p.jpeg_quality);
          if (dump_crops && !f->box_crops[size_t(pos)].empty())
            cv::imwrite(std::string(dump_crops) + "/" + std::to_string(i) + "-" + field + "-" + std::to_string(pos) +
                            "-tblank-r" + std::to_string(f->box_digit[size_t(pos)]) + ".png",
                        f->box_crops[size_t(pos)]);
        }
        if (d < 0) continue;
        ++boxes;
        if (identified) {
          ++boxes_found;
          boxes_found_ok += f != nullptr && f->box_digit[size_t(pos)] == d;
        }
        if (f != nullptr && f->box_digit[size_t(pos)] == d) ++boxes_ok;
        else if (f != nullptr && f->box_digit[size_t(pos)] < 0) ++boxes_missed;
        if (f != nullptr && f->box_digit[size_t(pos)] != d && dump_digits) {
          const auto smp = p.samples.find(field);
          std::fprintf(dump_digits, "%d %s %d truth %d read %d p %.4f width %d q %d sample %d\n", i, field.c_str(),
                       pos, d, f->box_digit[size_t(pos)], f->box_p[size_t(pos)], photo_width, p.jpeg_quality,
                       smp == p.samples.end() ? -1 : smp->second[size_t(pos)]);
          if (dump_crops) {
            const std::string name = std::to_string(i) + "-" + field + "-" + std::to_string(pos) + "-t" +
                                     std::to_string(d) + "-r" + std::to_string(f->box_digit[size_t(pos)]) + ".png";
            if (!f->box_crops[size_t(pos)].empty())
              cv::imwrite(std::string(dump_crops) + "/" + name, f->box_crops[size_t(pos)]);
            if (f->box_input[size_t(pos)])
              cv::imwrite(std::string(dump_crops) + "/n" + name,
                          cv::Mat(28, 28, CV_8UC1, const_cast<uint8_t*>(f->box_input[size_t(pos)]->data())));
          }
        }
        if (f != nullptr && int(tess.size()) < c.tesseract_sample && !f->box_crops[size_t(pos)].empty())
          tess.emplace_back(f->box_crops[size_t(pos)], d);
      }
    }
    if (dump) {  // per bubble: marked by the writer? (1 yes, 0 no, -1 unknown) and features
      std::set<std::string> miss(p.missing_marks.begin(), p.missing_marks.end());
      std::set<std::string> dbl(p.double_marked.begin(), p.double_marked.end());
      for (const auto& [field, v0] : p.values) {
        const FieldReading* f = r.Find(field);
        if (f == nullptr) continue;
        const auto bv = p.bubble_values.find(field);
        const int v = bv == p.bubble_values.end() ? v0 : bv->second;
        const int d[3] = {v / 100, (v / 10) % 10, v % 10};
        const int first = v >= 100 ? 0 : v >= 10 ? 1 : 2;
        for (int pos = 0; pos < 3; ++pos)
          for (int b = 0; b < 10; ++b) {
            int expect = b == d[pos] ? 1 : 0;
            if (pos < first && !lz.count(field)) expect = b == 0 ? -1 : 0;
            if ((miss.count(field) || dbl.count(field)) && expect != 0) expect = -1;
            if (dbl.count(field) && expect == 0) expect = -2;
            std::fprintf(dump, "%d %s %d %d %d %.4f %.4f\n", i, field.c_str(), pos, b, expect,
                         f->bubble_dark[size_t(pos)][size_t(b)], f->bubble_ink[size_t(pos)][size_t(b)]);
          }
      }
    }
    if (!r.accepted && !p.inconsistent) {
      const ReviewExplanation e =
          ExplainReview(r, p.values, lz, p.samples,
                        samples_as_in_set && p.pen_mm == 0 && p.flagged == 0 && p.crossed == 0
                            ? std::function<bool(int)>(sample_misread_alone)
                            : nullptr);
      switch (e.cause) {
        case ReviewCause::kDigitMisread:
          ++review_causes.digit_misread;
          review_causes.digit_misread_alone_too += e.misread_alone_too;
          break;
        case ReviewCause::kBubblesUnread: ++review_causes.bubbles_unread; break;
        case ReviewCause::kOther: ++review_causes.other; break;
      }
    }
    if (!r.accepted && !p.inconsistent && review.size() < 200) {
      json rs = json::array();
      for (const auto& x : r.reasons) rs.push_back(ToJson(x));
      review.push_back({{"page", i}, {"file", p.file}, {"reasons", rs}});
    }
    if (r.accepted) {
      ++accepted;
      if (page_wrong > 0 || !identified) {
        ++wrong_accepted;
        wrong_values += page_wrong;
        wrong.push_back({{"page", i}, {"file", p.file}, {"truth", p.TruthJson()}, {"reading", ToJson(r)}});
      }
    }
    prog.Update(i + 1);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_all();
  }
  producer.join();
  prog.Done();
  if (dump) std::fclose(dump);
  if (dump_digits) std::fclose(dump_digits);
  if (dump_fields) std::fclose(dump_fields);
  if (!failure.ok()) return failure;
  if (!c.keep.empty() && c.photos.empty()) {  // the kept photos can be read again with --photos
    const json t = {{"generator", "rekap bench reader"}, {"form", c.form}, {"seed", c.seed},
                    {"count", kept_truth.size()}, {"pages", kept_truth}};
    REKAP_RETURN_IF_ERROR(WriteFileAtomic(c.keep + "/truth.json", t.dump(1) + "\n"));
  }

  double tess_seconds = 0;
  auto tr = TesseractBaseline(tess, &tess_seconds);
  auto ratio = [](int64_t a, int64_t b) { return b > 0 ? double(a) / double(b) : 0.0; };
  json j;
  j["form"] = c.form;
  if (c.photos.empty()) j["format"] = PhotoFormatName(format);  // the photos made here
  j["seed"] = c.seed;
  if (c.restyle > 0) j["restyle"] = c.restyle;
  if (c.bend_mm > 0) j["bend_mm"] = c.bend_mm;
  if (c.folds > 0) j["folds"] = c.folds;
  if (c.cover_corner) j["cover_corner"] = true;
  if (c.unbubbled > 0) j["unbubbled"] = c.unbubbled;
  if (c.segment_style > 0) j["segment_style"] = c.segment_style;
  if (c.pen_strokes > 0) j["pen_strokes"] = c.pen_strokes;
  if (c.blur_scale != 1) j["blur_scale"] = c.blur_scale;
  if (c.min_fill != SynthOptions{}.min_fill || c.max_fill != SynthOptions{}.max_fill) j["page_fill"] = {c.min_fill, std::max(c.min_fill, c.max_fill)};
  if (c.shake > 0) j["shake"] = c.shake;
  if (c.spill > 0) j["spill"] = c.spill;
  if (c.flagged_ones > 0) j["flagged_ones"] = c.flagged_ones;
  if (c.crossed_sevens > 0) j["crossed_sevens"] = c.crossed_sevens;
  j["pages"] = pages;
  j["pages_found"] = found;
  // The CNN's accuracy: written boxes of the pages found (a page not found is counted in
  // pages_found, and its boxes in digit_accuracy_all_pages as wrong).
  j["digit_boxes"] = boxes_found;
  j["digit_accuracy"] = ratio(boxes_found_ok, boxes_found);
  j["digit_boxes_all_pages"] = boxes;
  j["digit_accuracy_all_pages"] = ratio(boxes_ok, boxes);
  j["digit_boxes_read_empty"] = boxes_missed;
  j["numbers"] = numbers;
  j["ocr_number_accuracy"] = ratio(ocr_ok, numbers);
  j["omr_number_accuracy"] = ratio(omr_ok, omr_numbers);  // numbers with bubbles
  j["combined_number_accuracy"] = ratio(comb_ok, numbers);
  j["accepted"] = accepted;
  j["accepted_rate"] = ratio(accepted, pages);
  // The deliberately inconsistent pages must go to review, so accepted_rate can reach at most
  // the consistent share (pages drawn inconsistent at random: 3.8 % of seed 1's); the rate over
  // the consistent pages is what a run with another draw would compare with.
  j["consistent_pages"] = pages - inconsistent;
  j["consistent_accepted_rate"] = ratio(accepted - (inconsistent - inconsistent_flagged), pages - inconsistent);
  if (per > 1) {  // KPU sheets: "pages" are sheets (TPS) of `per` photos, times per photo
    j["photos_per_sheet"] = per;
    j["page_2_confirmed"] = page_confirmed[0];
    j["page_2_confirmed_wrong"] = page_confirmed_wrong[0];
    j["page_3_confirmed"] = page_confirmed[1];
    j["page_3_confirmed_wrong"] = page_confirmed_wrong[1];
  }
  j["wrong_accepted"] = wrong_accepted;
  j["wrong_accepted_values"] = wrong_values;
  j["inconsistent"] = inconsistent;
  j["inconsistent_flagged"] = inconsistent_flagged;
  j["median_ms"] = Percentile(ms, 0.5);
  j["p95_ms"] = Percentile(ms, 0.95);
  j["median_cpu_ms"] = Percentile(cpu_ms, 0.5);
  j["p95_cpu_ms"] = Percentile(cpu_ms, 0.95);
  j["pages_2000_4000"] = ms_2000_4000.size();
  j["median_ms_2000_4000"] = ms_2000_4000.empty() ? json(nullptr) : json(Percentile(ms_2000_4000, 0.5));
  j["p95_ms_2000_4000"] = ms_2000_4000.empty() ? json(nullptr) : json(Percentile(ms_2000_4000, 0.95));
  j["median_cpu_ms_2000_4000"] = cpu_ms_2000_4000.empty() ? json(nullptr) : json(Percentile(cpu_ms_2000_4000, 0.5));
  j["tesseract_digit_accuracy"] = tr ? json(ratio(tr->first, tr->second)) : json(nullptr);
  j["tesseract_sample"] = tr ? tr->second : 0;
  j["tesseract_seconds"] = tess_seconds;
  j["reasons"] = reasons;
  j["bubbles_against_boxes"] = {
      {"threshold", o.min_support_probability},
      {"misread", margin.misread},
      {"misread_below_threshold", margin.misread_below},
      {"written_otherwise", margin.written_otherwise},
      {"written_otherwise_at_or_above_threshold", margin.written_otherwise_at_or_above},
      {"written_otherwise_max_p", margin.written_otherwise_max_p}};
  j["review_causes"] = {{"pages", review_causes.pages()},
                         {"digit_misread", review_causes.digit_misread},
                         {"digit_misread_alone_too", samples_as_in_set ? json(review_causes.digit_misread_alone_too)
                                                                        : json(nullptr)},
                         {"bubbles_unread", review_causes.bubbles_unread},
                         {"other", review_causes.other}};
  j["pages_not_found"] = not_found;
  j["boxes_moved"] = boxes_moved;  // numbers whose boxes were read where their borders are (bent pages)
  j["print_field"] = print_field;  // pages registered through their print's field (bent pages)
  j["print_fields_computed"] = print_fields;  // fields computed, used or not (0.1-0.2 s each)
  j["rows_moved"] = rows_moved;    // bubble rows read again where their outlines are (bent pages)
  j["spilled_boxes"] = spilled_boxes;  // digit boxes read from ink crossing their borders (ReadOptions::spill)
  j["decoded_finer"] = decoded_finer;  // pages small in their photo, read from it decoded again finer
  j["qr_matched"] = qr_matched;  // our form: photos identified by their QR's modules (MatchQr)
  if (!wrong.empty()) j["wrong"] = wrong;
  if (!unflagged.empty()) j["inconsistent_accepted"] = unflagged;
  j["review_consistent"] = review;
  if (G().json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "bench reader (" << c.form << ", seed " << c.seed << "): " << pages << (per > 1 ? " sheets (2 photos each)\n" : " pages\n")
              << "  pages found and identified  " << found << "\n"
              << "  digit accuracy (CNN)        " << j["digit_accuracy"].get<double>() << "  over " << boxes_found
              << " boxes of the pages found (all pages: " << j["digit_accuracy_all_pages"].get<double>() << ")\n"
              << "  number accuracy: CNN " << j["ocr_number_accuracy"].get<double>() << "  OMR "
              << j["omr_number_accuracy"].get<double>() << "  combined "
              << j["combined_number_accuracy"].get<double>() << "\n"
              << "  accepted " << accepted << "  wrong among accepted " << wrong_accepted << "  (of the "
              << pages - inconsistent << " consistent: " << j["consistent_accepted_rate"].get<double>() << ")\n"
              << (per > 1 ? "  sheets of pages 2 + 3: page 2 confirmed " + std::to_string(page_confirmed[0]) +
                                "  page 3 confirmed " + std::to_string(page_confirmed[1]) + "\n"
                          : std::string())
              << "  inconsistent " << inconsistent << "  flagged " << inconsistent_flagged << "\n"
              << "  bubbles against boxes: misread " << margin.misread << " (" << margin.misread_below
              << " below " << o.min_support_probability << "), written otherwise " << margin.written_otherwise
              << " (" << margin.written_otherwise_at_or_above << " at or above; highest "
              << margin.written_otherwise_max_p << ")\n"
              << "  consistent pages in review " << review_causes.pages() << ": a digit box misread "
              << review_causes.digit_misread << " (its digit misread on its own too: "
              << j["review_causes"]["digit_misread_alone_too"].dump() << "), bubbles unread "
              << review_causes.bubbles_unread << ", other " << review_causes.other << "\n"
              << "  median " << j["median_ms"].get<double>() << " ms  p95 " << j["p95_ms"].get<double>()
              << " ms; photos 2,000-4,000 px wide (" << ms_2000_4000.size() << " pages): median "
              << j["median_ms_2000_4000"].dump() << " ms  p95 " << j["p95_ms_2000_4000"].dump() << " ms\n"
              << "  Tesseract digits-only on " << j["tesseract_sample"] << " boxes: "
              << j["tesseract_digit_accuracy"].dump() << "\n"
              << "  reasons: " << json(reasons).dump() << "\n";
  }
  ExitCode() = wrong_accepted == 0 ? 0 : 2;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// rekap train-digits

struct TrainCmd {
  std::string train_images, train_labels, test_images, test_labels, out;
  TrainOptions opt;
  int64_t limit = 0;
  int photo_pages = 0;
  uint32_t photo_seed = 7;
  double photo_segment_style = 0;  // KPU pages' digits written along the segment guide (SynthOptions)
  double photo_pen_strokes = 0;    // pages whose digits are drawn at the page's pen width (SynthOptions)
  bool photo_pen_outline_areas = false;  // ... their solid areas drawn around (SynthOptions::pen_outline_areas)
  double photo_flagged_ones = 0;   // the harvest's 1s written with a flag (SynthOptions::flagged_ones)
  std::string init;                // fine-tune this model (TrainOptions::init) instead of training from scratch
};

// Digits as the reader sees them in photos: `pages` synthetic photos (alternately our own form
// and KPU's page 2) written with the *training* digits, read back through the reader's own
// crop and normalization, labelled with what was written. Pages not found are skipped.
Result<DigitDataset> HarvestPhotoDigits(const DigitDataset& train, const Contest* contest, int pages,
                                        uint32_t seed, double segment_style, double pen_strokes,
                                        bool pen_outline_areas, double flagged_ones) {
  SynthOptions so;
  so.seed = seed;
  so.flagged_ones = flagged_ones;  // a stream of its own per page: 0 harvests exactly as before
  // Thin pens (a stream of its own per page: 0 harvests exactly as before).
  so.pen_strokes = pen_strokes;
  so.pen_outline_areas = pen_outline_areas;
  so.form = SynthForm::kOwn;
  // The committed networks' recorded recipes harvested pages without tally strokes (the tally
  // came later; docs/digits.md). It is drawn from a random stream of its own: the digits
  // written and the photo's effects are the same either way.
  so.tally = false;
  REKAP_ASSIGN_OR_RETURN(auto own, Synthesizer::Create(train, contest, so));
  so.form = SynthForm::kKpuPpwpPage2;
  so.seed = seed + 1;
  so.segment_style = segment_style;  // a stream of its own: 0 harvests exactly as before
  REKAP_ASSIGN_OR_RETURN(auto kpu, Synthesizer::Create(train, contest, so));
  DigitDataset out;
  std::mutex mu;
  std::atomic<int> next{0}, done{0}, found{0};
  Status failure;
  Progress prog("photo digits", pages);
  auto worker = [&] {
    for (int i = next++; i < pages; i = next++) {
      const bool is_kpu = i % 2 == 1;
      auto sp = (is_kpu ? kpu : own)->Make(i / 2);
      if (!sp.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        failure = sp.status();
        return;
      }
      ReadOptions o;
      o.contest = contest;
      o.form = is_kpu ? FormKind::kKpuPpwpPage2 : FormKind::kOwn;
      o.expected_tps = is_kpu ? sp->tps : "";
      o.voters = is_kpu ? sp->voters : 0;
      o.digit_inputs = true;
      // The recorded recipes harvested before a faint page's leading boxes were looked at
      // (ReadOptions::faint_page_contrast, 2026-12-06), which adds their faint digits.
      o.faint_page_contrast = 0;
      auto rr = ReadPage(std::span<const uint8_t>(sp->jpeg), o);
      if (!rr.ok() || !rr->page_found) {
        ++done;
        continue;
      }
      ++found;
      std::set<std::string> lz(sp->leading_zeros.begin(), sp->leading_zeros.end());
      DigitDataset local;
      for (const auto& [field, v] : sp->values) {
        const FieldReading* f = rr->Find(field);
        if (f == nullptr) continue;
        for (int pos = 0; pos < 3; ++pos) {
          const int d = WrittenDigit(v, pos, lz.count(field) > 0);
          if (d < 0 || !f->box_input[size_t(pos)]) continue;
          local.images.push_back(*f->box_input[size_t(pos)]);
          local.labels.push_back(uint8_t(d));
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      out.images.insert(out.images.end(), local.images.begin(), local.images.end());
      out.labels.insert(out.labels.end(), local.labels.begin(), local.labels.end());
      prog.Update(++done);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < std::max(1u, std::thread::hardware_concurrency()); ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  prog.Done();
  if (!failure.ok()) return failure;
  // Threads finish pages in any order: sort by content for a reproducible set.
  std::vector<size_t> idx(out.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return std::tie(out.labels[a], out.images[a]) < std::tie(out.labels[b], out.images[b]);
  });
  DigitDataset sorted;
  for (size_t i : idx) {
    sorted.images.push_back(out.images[i]);
    sorted.labels.push_back(out.labels[i]);
  }
  std::cerr << "photo digits: " << sorted.size() << " from " << found.load() << " of " << pages << " pages\n";
  return sorted;
}

Status RunTrain(TrainCmd& c) {
  SingleThreaded();
  // Arguments checked before the minutes of harvest and training: a directory or an empty path
  // as --out passed the probe below and failed only after the training (2026-12-07); one test
  // file without the other failed unnamed (images) or was ignored (labels); a negative --limit
  // wrapped around to "all".
  if (c.out.empty()) return InvalidArgument("--out: jalur kosong / empty path");
  {
    std::error_code ec;
    if (std::filesystem::is_directory(c.out, ec) || c.out.back() == '/')
      return InvalidArgument("--out: berkas model, bukan direktori / a model file, not a directory: " + c.out);
  }
  if (c.test_images.empty() != c.test_labels.empty())
    return InvalidArgument("--test-images dan --test-labels harus bersama / --test-images and --test-labels go together");
  if (c.limit < 0) return InvalidArgument("--limit: harus >= 0 (0 = semua) / must be >= 0 (0 = all)");
  REKAP_RETURN_IF_ERROR(CheckInputFile("--train-images", c.train_images));
  REKAP_RETURN_IF_ERROR(CheckInputFile("--train-labels", c.train_labels));
  if (!c.test_images.empty()) {
    REKAP_RETURN_IF_ERROR(CheckInputFile("--test-images", c.test_images));
    REKAP_RETURN_IF_ERROR(CheckInputFile("--test-labels", c.test_labels));
  }
  if (!c.init.empty()) REKAP_RETURN_IF_ERROR(CheckInputFile("--init", c.init));
  {  // --out writable, before the minutes of harvest and training
    const std::string probe = c.out + ".tmp";
    std::ofstream f(probe, std::ios::binary | std::ios::app);
    const bool ok = f.is_open();
    f.close();
    std::remove(probe.c_str());
    if (!ok) return Unavailable("--out: tidak dapat menulis / cannot write " + c.out);
  }
  std::optional<DigitModel> init;  // loaded first: a wrong path fails before the harvest's minutes
  if (!c.init.empty()) {
    REKAP_ASSIGN_OR_RETURN(init, DigitModel::Load(c.init));
    c.opt.init = &*init;
  }
  REKAP_ASSIGN_OR_RETURN(DigitDataset train,
                         ReadIdxDataset(c.train_images, c.train_labels,
                                        c.limit ? size_t(c.limit) : std::numeric_limits<size_t>::max()));
  size_t photo_digits = 0;
  if (c.photo_pages > 0) {
    REKAP_ASSIGN_OR_RETURN(auto lc, LoadContest("", "ppwp"));
    REKAP_ASSIGN_OR_RETURN(DigitDataset extra, HarvestPhotoDigits(train, lc->contest, c.photo_pages, c.photo_seed,
                                                                             c.photo_segment_style, c.photo_pen_strokes,
                                                                             c.photo_pen_outline_areas,
                                                                             c.photo_flagged_ones));
    photo_digits = extra.size();
    train.images.insert(train.images.end(), extra.images.begin(), extra.images.end());
    train.labels.insert(train.labels.end(), extra.labels.begin(), extra.labels.end());
    // Mixed, so that the batch-norm recalibration (first digits) sees both kinds.
    std::mt19937 rng(c.opt.seed);
    for (size_t i = train.size(); i > 1; --i) {
      const size_t j = size_t(rng() % i);
      std::swap(train.images[i - 1], train.images[j]);
      std::swap(train.labels[i - 1], train.labels[j]);
    }
  }
  std::optional<DigitDataset> test;
  if (!c.test_images.empty()) {
    REKAP_ASSIGN_OR_RETURN(test, ReadIdxDataset(c.test_images, c.test_labels));
  }
  c.opt.on_epoch = [](const EpochReport& e) {
    std::cerr << "epoch " << e.epoch << " loss " << e.train_loss << " (" << e.seconds << " s)\n";
  };
  REKAP_ASSIGN_OR_RETURN(DigitModel m, DigitModel::Train(train, c.opt));
  REKAP_RETURN_IF_ERROR(m.Save(c.out));
  json j = {{"out", c.out},         {"train", train.size()},        {"photo_digits", photo_digits},
            {"epochs", c.opt.epochs}, {"seed", c.opt.seed},           {"photo_pages", c.photo_pages},
            {"photo_seed", c.photo_seed}, {"photo_segment_style", c.photo_segment_style},
            {"photo_pen_strokes", c.photo_pen_strokes},
            {"elastic", c.opt.augment.elastic_probability},
            {"threads", c.opt.threads}, {"deskew", c.opt.deskew}, {"network", m.Describe()},
            {"parameters", m.ParameterCount()}};
  if (c.opt.flag_ones > 0) j["flag_ones"] = c.opt.flag_ones;
  if (c.opt.cross_sevens > 0) j["cross_sevens"] = c.opt.cross_sevens;
  if (c.photo_flagged_ones > 0) j["photo_flagged_ones"] = c.photo_flagged_ones;
  if (c.photo_pen_outline_areas) j["photo_pen_outline_areas"] = true;
  j["peak_learning_rate"] = c.opt.peak_learning_rate;
  if (!c.init.empty()) j["init"] = c.init;
  if (test) j["test_accuracy"] = m.Accuracy(*test);
  std::cout << (G().json ? j.dump(2) : j.dump()) << "\n";
  return Status::Ok();
}

}  // namespace

// rekap bench digits: the digit CNN on an IDX set (the MNIST test set): each member of the
// ensemble alone, then the ensemble as the reader runs it (the cascade).
struct DigitsBenchCmd {
  std::string digits, labels, model;
  bool flag_ones = false;
  bool cross_sevens = false;
};

// The set's digits of one label.
std::vector<Image28> DigitsOf(const DigitDataset& set, int label) {
  std::vector<Image28> out;
  for (size_t i = 0; i < set.size(); ++i)
    if (set.labels[i] == label) out.push_back(set.images[i]);
  return out;
}

// `variants` (each a digit of `label` redrawn) read by `net`, into `row`: the share read as
// `label` ("accuracy") and what each was read as ("read_as").
json ReadVariants(const FastDigitNet& net, const std::vector<Image28>& variants, int label, json row) {
  std::array<int64_t, 10> read{};
  for (const auto& p : net.ClassifyBatch(variants)) ++read[size_t(p.digit)];
  row["accuracy"] = variants.empty() ? 0.0 : double(read[size_t(label)]) / double(variants.size());
  row["read_as"] = read;
  return row;
}

// The set's 1s written with a flag (FlagOne), read by `net`: per flag (length x angle, with
// and without a base), the share read as 1 and what the others were read as.
json FlaggedOnes(const DigitDataset& set, const FastDigitNet& net) {
  const std::vector<Image28> ones = DigitsOf(set, 1);
  json rows = json::array();
  for (const double base : {0.0, 0.45})
    for (const double length : {0.2, 0.3, 0.4})
      for (const double deg : {30.0, 45.0, 60.0}) {
        std::vector<Image28> flagged;
        for (const Image28& one : ones) flagged.push_back(FlagOne(one, length, deg, base));
        rows.push_back(ReadVariants(net, flagged, 1, {{"length", length}, {"deg", deg}, {"base", base}, {"ones", ones.size()}}));
      }
  return rows;
}

// The set's 7s written with a bar across the stem (CrossSeven), read by `net`: per bar (length x
// height x tilt), the share read as 7 and what the others were read as.
json CrossedSevens(const DigitDataset& set, const FastDigitNet& net) {
  const std::vector<Image28> sevens = DigitsOf(set, 7);
  json rows = json::array();
  for (const double length : {0.3, 0.45, 0.6})
    for (const double height : {0.45, 0.6})
      for (const double tilt : {0.0, 10.0}) {
        std::vector<Image28> crossed;
        for (const Image28& seven : sevens) crossed.push_back(CrossSeven(seven, length, height, tilt));
        rows.push_back(ReadVariants(net, crossed, 7,
                                    {{"length", length}, {"height", height}, {"tilt", tilt}, {"sevens", sevens.size()}}));
      }
  return rows;
}

Status RunDigitsBench(const DigitsBenchCmd& c) {
  REKAP_RETURN_IF_ERROR(CheckInputFile("--digits", c.digits));
  REKAP_RETURN_IF_ERROR(CheckInputFile("--labels", c.labels));
  REKAP_ASSIGN_OR_RETURN(DigitDataset set, ReadIdxDataset(c.digits, c.labels));
  // An empty set has no accuracy: "-nan %" and exit 0 before (2026-12-07).
  if (set.size() == 0) return InvalidArgument("--digits: set IDX tanpa gambar / the IDX set holds no images: " + c.digits);
  const std::string mpath = FindModel(c.model);
  if (mpath.empty()) return NotFound("model digit tidak ditemukan / digit model not found (--model)");
  REKAP_RETURN_IF_ERROR(CheckModelFiles(mpath));
  auto errors = [&](const FastDigitNet& net) {
    const auto pred = net.ClassifyBatch(set.images);
    int64_t wrong = 0;
    for (size_t i = 0; i < pred.size(); ++i) wrong += pred[i].digit != set.labels[i];
    // Development aid: every digit's reading (index, label, read, p) to trace photo misreads
    // (`rekap bench reader`, REKAP_BENCH_DUMP_DIGITS) back to the clean sample.
    if (const char* d = std::getenv("REKAP_BENCH_DUMP_PREDICTIONS"))
      if (FILE* out = std::fopen(d, "w")) {
        for (size_t i = 0; i < pred.size(); ++i)
          std::fprintf(out, "%zu %d %d %.6g %.6g\n", i, int(set.labels[i]), pred[i].digit, pred[i].confidence,
                       pred[i].prob[set.labels[i]]);
        std::fclose(out);
      }
    return wrong;
  };
  const double n = double(set.size());
  json j = {{"digits", set.size()}, {"members", json::array()}};
  for (const std::string& m : SplitModels(mpath)) {
    REKAP_ASSIGN_OR_RETURN(FastDigitNet one, FastDigitNet::Load(m));
    const int64_t e = errors(one);
    j["members"].push_back({{"model", m}, {"errors", e}, {"accuracy", 1 - double(e) / n}});
  }
  REKAP_ASSIGN_OR_RETURN(FastDigitNet all, LoadFastNet(mpath));
  const int64_t e = errors(all);
  j["ensemble"] = {{"errors", e}, {"accuracy", 1 - double(e) / n}};
  if (c.flag_ones) j["flagged_ones"] = FlaggedOnes(set, all);
  if (c.cross_sevens) j["crossed_sevens"] = CrossedSevens(set, all);
  if (G().json) {
    std::cout << j.dump(2) << "\n";
  } else {
    for (const auto& m : j["members"])
      std::cout << m["model"].get<std::string>() << ": " << m["accuracy"].get<double>() * 100 << " % ("
                << m["errors"].get<int64_t>() << Tr(" salah", " wrong") << ")\n";
    std::cout << Tr("ensembel", "ensemble") << ": " << j["ensemble"]["accuracy"].get<double>() * 100 << " % (" << e
              << Tr(" salah dari ", " wrong of ") << set.size() << ")\n";
    for (const auto& r : j.value("flagged_ones", json::array()))
      std::cout << Tr("angka 1 berbendera ", "flagged 1s ") << r["length"].get<double>() << " x " << r["deg"].get<double>()
                << Tr(" derajat", " deg") << (r["base"].get<double>() > 0 ? Tr(", beralas", ", with a base") : "") << ": "
                << r["accuracy"].get<double>() * 100 << " %, " << Tr("dibaca 7: ", "read as 7: ") << r["read_as"][7] << "\n";
    for (const auto& r : j.value("crossed_sevens", json::array())) {
      std::cout << Tr("angka 7 bergaris ", "crossed 7s ") << r["length"].get<double>() << Tr(" pada ", " at ")
                << r["height"].get<double>() << Tr(", miring ", ", tilted ") << r["tilt"].get<double>()
                << Tr(" derajat", " deg") << ": " << r["accuracy"].get<double>() * 100 << " %, "
                << Tr("dibaca sebagai", "read as");
      for (int k = 0; k < 10; ++k)
        if (k != 7 && r["read_as"][size_t(k)].get<int64_t>() > 0) std::cout << " " << k << ":" << r["read_as"][size_t(k)];
      std::cout << "\n";
    }
  }
  return Status::Ok();
}

void AddReadCommands(CLI::App& app, CLI::App* bench) {
  static ReadCmd rc;
  auto* r = app.add_subcommand("read", "baca foto formulir C.Hasil / read photos of a filled C.Hasil");
  r->add_option("photos", rc.photos,
                "foto (JPEG/PNG/HEIC); beberapa foto = halaman satu TPS; satu foto boleh memuat beberapa halaman "
                "(sampai tiga halaman formulir kita, halaman 2 dan 3 KPU) atau dua salinan satu halaman (diterima bila "
                "semua angkanya sama) / photos (JPEG/PNG/HEIC); several = the pages of one TPS; one photo may hold "
                "several pages (up to three of our form's, KPU's pages 2 and 3) or two copies of one page (accepted "
                "where every number is the same)")
      ->required();
  r->add_option("--form", rc.form, "own | kpu-ppwp-2 | kpu-ppwp (halaman 2 dan 3 / pages 2 and 3)")->capture_default_str();
  r->add_option("--tps", rc.tps, "TPS yang diharapkan (13 angka); formulir KPU tanpa --tps selalu ditinjau (tps_unknown); pada formulir kita QR "
                "harus cocok, dan QR yang kabur dicocokkan polanya / expected TPS id; a KPU form read without it always goes to "
                "review (tps_unknown); on our form the QR must match it, and a blurred QR is matched by its pattern");
  r->add_option("--contest", rc.contest, "kontes / contest id")->capture_default_str();
  r->add_option("--election", rc.election, "berkas pemilu / election file (default: embedded pemilu-2024-ppwp)");
  r->add_option("--voters", rc.voters, "formulir KPU: pemilih TPS (batas suara paslon) / KPU forms: the TPS's voters (bound of a paslon's votes)")
      ->check(CLI::Range(1, 999));
  r->add_option("--page", rc.page, "halaman yang diharapkan / expected page (0 = any)");
  r->add_option("--model", rc.model, ModelHelp());
  r->add_option("--debug", rc.debug, "tulis gambar tiap tahap ke DIR / write an image per stage to DIR");
  r->add_option("--crops", rc.crops, "tulis potongan tiap angka ke DIR / write a crop per number to DIR");
  r->add_flag("--each", rc.each, "baca tiap foto sendiri / read each photo on its own");
  r->add_flag("--no-tally", rc.no_tally,
              "formulir KPU: jangan pakai turus untuk mengonfirmasi / KPU forms: never confirm a number by its tally grid");
  r->add_flag("--no-spill", rc.no_spill, kNoSpillHelp);
  r->add_flag("--no-finer-decode", rc.no_finer_decode, kNoFinerDecodeHelp);
  r->add_flag("--no-box-borders", rc.no_box_borders, kNoBoxBordersHelp);
  r->add_flag("--no-row-search", rc.no_row_search, kNoRowSearchHelp);
  r->add_flag("--no-print-field", rc.no_print_field, kNoPrintFieldHelp);
  r->add_flag("--no-qr-modules", rc.no_qr_modules, kNoQrModulesHelp);
  r->add_option("--faint-contrast", rc.faint_contrast, kFaintContrastHelp)->capture_default_str()->check(CLI::Range(0, 255));
  r->add_option("--faint-page-contrast", rc.faint_page_contrast, kFaintPageContrastHelp)
      ->capture_default_str()->check(CLI::Range(0.0, 255.0));
  r->add_flag("--no-qr-pattern", rc.no_qr_pattern, kNoQrPatternHelp);
  r->callback([] {
    Status st = RunRead(rc);
    if (!st.ok()) ExitCode() = Fail(st);
  });

  static TrainCmd tc;
  auto* t = app.add_subcommand("train-digits", "latih CNN digit / train the digit CNN (docs/digits.md)");
  t->add_option("--train-images", tc.train_images, "MNIST train images (IDX, gzip ok)")->required();
  t->add_option("--train-labels", tc.train_labels, "MNIST train labels")->required();
  t->add_option("--test-images", tc.test_images, "MNIST test images (accuracy only)");
  t->add_option("--test-labels", tc.test_labels, "MNIST test labels");
  t->add_option("--out", tc.out, "model file (.dnn)")->required();
  t->add_option("--epochs", tc.opt.epochs)->capture_default_str()->check(CLI::Range(1, 1000));
  t->add_option("--seed", tc.opt.seed)->capture_default_str();
  t->add_option("--limit", tc.limit, "first K training digits (0 = all)");
  t->add_option("--photo-pages", tc.photo_pages,
                "tambah digit dari N foto sintetis (digit latih) / add the digits of N synthetic photos "
                "written with the training digits, as the reader sees them")
      ->check(CLI::Range(0, 100000));
  t->add_option("--photo-seed", tc.photo_seed)->capture_default_str();
  t->add_option("--photo-segment-style", tc.photo_segment_style,
                "pada foto KPU: bagian angka yang ditulis mengikuti panduan 8 segmen / on the KPU photos: share of "
                "the digits written along the 8-segment guide (rekap forms synth --segment-style)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  t->add_option("--photo-pen-strokes", tc.photo_pen_strokes,
                "bagian foto yang angkanya ditulis setebal pena halaman itu (rekap forms synth --pen-strokes) / "
                "share of the photos whose digits are drawn at the width of the page's pen (rekap forms synth "
                "--pen-strokes)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  t->add_flag("--photo-pen-outline-areas", tc.photo_pen_outline_areas,
              "dengan --photo-pen-strokes: bidang tinta pejal ditulis kelilingnya (rekap forms synth "
              "--pen-outline-areas) / with --photo-pen-strokes: solid areas drawn around (rekap forms synth "
              "--pen-outline-areas)");
  t->add_option("--threads", tc.opt.threads,
                "bagi tiap mini-batch ke N salinan jaringan, satu thread masing-masing (bagian dari resep: N "
                "lain, model lain) / split each mini-batch across N replicas of the network, one thread each "
                "(part of the recipe: another N gives another model)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  t->add_option("--elastic", tc.opt.augment.elastic_probability,
                "peluang distorsi elastis / share of digits elastically distorted (0 = none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  t->add_option("--flag-ones", tc.opt.flag_ones,
                "bagian angka 1 latih yang diberi bendera (dan alas), seperti tulisan tangan Indonesia / share of the "
                "training 1s given a flag (and a base), as most Indonesian hands write a 1 (0 = none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  t->add_option("--cross-sevens", tc.opt.cross_sevens,
                "bagian angka 7 latih yang diberi garis melintang, seperti banyak tulisan tangan Indonesia / share of the "
                "training 7s given a bar across the stem, as many Indonesian hands write a 7 (0 = none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  t->add_option("--photo-flagged-ones", tc.photo_flagged_ones,
                "bagian angka 1 pada foto panen yang ditulis berbendera (rekap forms synth --flagged-ones) / share of "
                "the harvest photos' 1s written with a flag (rekap forms synth --flagged-ones)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  t->add_option("--init", tc.init,
                "mulai dari bobot model ini (penyetelan halus), bukan dari acak / start from this model's weights "
                "(fine-tuning) instead of random ones; it must read deskewed digits as --deskew says");
  t->add_option("--lr", tc.opt.peak_learning_rate,
                "laju belajar puncak (SGD) / peak learning rate (SGD; lower for fine-tuning, e.g. 0.01)")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1.0));
  t->add_flag("--deskew", tc.opt.deskew,
              "jaringan membaca digit yang kemiringannya diluruskan / the network reads deskewed digits "
              "(slant taken out; recorded in the model file)");
  t->callback([] {
    Status st = RunTrain(tc);
    if (!st.ok()) ExitCode() = Fail(st);
  });

  if (bench == nullptr) return;
  static BenchCmd bc;
  auto* b = bench->add_subcommand("reader", "foto sintetis -> baca / synthetic photos -> read");
  b->add_option("--digits", bc.digits,
                "gambar IDX (MNIST uji); dengan --photos: set yang dipakai foto itu, untuk review_causes / IDX "
                "images (MNIST test set); with --photos: the set those photos were written from, for review_causes");
  b->add_option("--labels", bc.labels, "label IDX / IDX labels");
  b->add_option("--photos", bc.photos, "read a `rekap forms synth` directory (truth.json) instead");
  b->add_option("--count", bc.count, "pages")->capture_default_str()->check(CLI::Range(1, 1000000));
  b->add_option("--form", bc.form, "own | kpu-ppwp-2 | kpu-ppwp (lembar = halaman 2 + 3 / a sheet = pages 2 + 3)")->capture_default_str();
  b->add_option("--seed", bc.seed)->capture_default_str();
  b->add_option("--model", bc.model, ModelHelp());
  b->add_option("--tesseract-sample", bc.tesseract_sample, "digit boxes read by Tesseract (0 = skip)")
      ->capture_default_str();
  b->add_option("--keep", bc.keep, "also write the synthetic photos to DIR");
  b->add_flag("--no-tally", bc.no_tally, "never confirm a number by its tally grid (KPU page 2; for comparison)");
  b->add_flag("--no-spill", bc.no_spill, kNoSpillHelp);
  b->add_flag("--no-finer-decode", bc.no_finer_decode, kNoFinerDecodeHelp);
  b->add_flag("--no-box-borders", bc.no_box_borders, kNoBoxBordersHelp);
  b->add_flag("--no-row-search", bc.no_row_search, kNoRowSearchHelp);
  b->add_flag("--no-print-field", bc.no_print_field, kNoPrintFieldHelp);
  b->add_flag("--no-qr-modules", bc.no_qr_modules, kNoQrModulesHelp);
  b->add_option("--faint-contrast", bc.faint_contrast, kFaintContrastHelp)->capture_default_str()->check(CLI::Range(0, 255));
  b->add_option("--faint-page-contrast", bc.faint_page_contrast, kFaintPageContrastHelp)
      ->capture_default_str()->check(CLI::Range(0.0, 255.0));
  b->add_flag("--no-qr-pattern", bc.no_qr_pattern, kNoQrPatternHelp);
  b->add_option("--min-width", bc.min_width, "lebar foto minimum / narrowest photo, px")
      ->capture_default_str()->check(CLI::Range(400, 8000));
  b->add_option("--max-width", bc.max_width, "lebar foto maksimum / widest photo, px")
      ->capture_default_str()->check(CLI::Range(400, 8000));
  b->add_option("--min-fill", bc.min_fill, kMinFillHelp)->capture_default_str()->check(CLI::Range(0.2, 1.0));
  b->add_option("--max-fill", bc.max_fill, kMaxFillHelp)->capture_default_str()->check(CLI::Range(0.2, 1.0));
  b->add_option("--inconsistent-rate", bc.inconsistent_rate, kInconsistentRateHelp)
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  b->add_option("--restyle", bc.restyle, kRestyleHelp)
      ->capture_default_str()->check(CLI::Range(0.0, 2.0));
  b->add_option("--bend", bc.bend_mm, kBendHelp)->capture_default_str()->check(CLI::Range(0.0, 20.0));
  b->add_option("--fold", bc.folds, kFoldHelp)->capture_default_str()->check(CLI::Range(0, 3));
  b->add_flag("--cover-corner", bc.cover_corner, kCoverCornerHelp);
  b->add_option("--unbubbled", bc.unbubbled, kUnbubbledHelp)->capture_default_str()->check(CLI::Range(0.0, 1.0));
  b->add_option("--segment-style", bc.segment_style, kSegmentStyleHelp)
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  b->add_option("--pen-strokes", bc.pen_strokes, kPenStrokesHelp)
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  b->add_flag("--pen-outline-areas", bc.pen_outline_areas, kPenOutlineAreasHelp);
  b->add_option("--blur-scale", bc.blur_scale, kBlurScaleHelp)->capture_default_str()->check(CLI::Range(0.0, 10.0));
  b->add_option("--shake", bc.shake, kShakeHelp)->capture_default_str()->check(CLI::Range(0.0, 100.0));
  b->add_option("--spill", bc.spill, kSpillHelp)->capture_default_str()->check(CLI::Range(0.0, 1.0));
  b->add_option("--flagged-ones", bc.flagged_ones, kFlaggedOnesHelp)->capture_default_str()->check(CLI::Range(0.0, 1.0));
  b->add_option("--crossed-sevens", bc.crossed_sevens, kCrossedSevensHelp)->capture_default_str()->check(CLI::Range(0.0, 1.0));
  b->add_option("--format", bc.format, kPhotoFormatHelp)->capture_default_str();
  b->callback([] {
    Status st = RunBench(bc);
    if (!st.ok()) ExitCode() = Fail(st);
  });

  static DigitsBenchCmd dc;
  auto* d = bench->add_subcommand("digits", "CNN digit pada set IDX / the digit CNN on an IDX set (MNIST test)");
  d->add_option("--digits", dc.digits, "IDX images (MNIST test set)")->required();
  d->add_option("--labels", dc.labels, "IDX labels")->required();
  d->add_option("--model", dc.model, ModelHelp());
  d->add_flag("--flag-ones", dc.flag_ones,
              "juga: angka 1 set ini diberi bendera (panjang x sudut, dengan/tanpa alas) / also: the set's 1s given a flag "
              "(length x angle, with and without a base), as most Indonesian hands write a 1");
  d->add_flag("--cross-sevens", dc.cross_sevens,
              "juga: angka 7 set ini diberi garis melintang (panjang x tinggi x kemiringan) / also: the set's 7s given a "
              "bar across the stem (length x height x tilt), as many Indonesian hands write a 7");
  d->callback([] {
    Status st = RunDigitsBench(dc);
    if (!st.ok()) ExitCode() = Fail(st);
  });
}

}  // namespace rekap::cli
