// rekap forms print | layout | synth: the printable C.Hasil pages, their geometry, and
// synthetic photos of filled pages (issue 3; docs/forms.md).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/common.h"
#include "cli/commands.h"
#include "cli/reader/reader_commands.h"
#include "reader/idx.h"
#include "reader/layout.h"
#include "reader/render.h"
#include "reader/synth.h"
#include "rekap/import.h"
#include "rekap/region.h"

namespace rekap::cli {
namespace {

using reader::PageLayout;

// An election from a file or from the embedded ones ("builtin:pemilu-2024-ppwp"), resolved
// against the embedded schemas.
Result<Election> LoadElectionSpec(const std::string& spec) {
  std::string text, origin = spec;
  if (spec.rfind("builtin:", 0) == 0) {
    text = EmbeddedFile("data/elections/" + spec.substr(8) + ".toml");
    if (text.empty())
      return NotFound("pemilihan bawaan tidak ada: " + spec +
                      " (builtin:pemilu-2024-ppwp, builtin:contoh-pilkada, builtin:demo-indramayu)"
                      " / no such built-in election");
  } else {
    // Bounded, and a directory or device refused: a directory read as an empty election
    // ("required key 'id' missing") and /dev/zero until memory ran out before (2026-12-07).
    REKAP_RETURN_IF_ERROR(CheckInputFile("--election", spec));
    REKAP_ASSIGN_OR_RETURN(text, ReadFileMaybeGz(spec, 4 << 20));
  }
  REKAP_ASSIGN_OR_RETURN(Election e, Election::Parse(text, origin));
  REKAP_RETURN_IF_ERROR(e.Resolve(EmbeddedSchemas()));
  return e;
}

Result<const Contest*> FindContestOr(const Election& e, const std::string& id) {
  const Contest* c = e.FindContest(id);
  if (!c) {
    std::string ids;
    for (const auto& x : e.contests) ids += (ids.empty() ? "" : ", ") + x.id;
    return NotFound("pemilihan '" + id + "' tidak ada (ada: " + ids + ") / no contest '" + id +
                    "' (have: " + ids + ")");
  }
  if (!c->form) return FailedPrecondition("pemilihan tanpa formulir / contest has no form");
  return c;
}

// Every page (page == 0) or one page of the chosen form.
Result<std::vector<PageLayout>> Layouts(const std::string& form, const std::string& election,
                                        const std::string& contest, int page) {
  std::vector<PageLayout> out;
  if (form == "kpu-ppwp-2") {
    REKAP_ASSIGN_OR_RETURN(PageLayout L, reader::KpuPpwpPage2Layout());
    if (page != 0 && page != 2)
      return InvalidArgument("--page: tata letak KPU hanya halaman 2 / the KPU layout is page 2 only");
    out.push_back(std::move(L));
    return out;
  }
  if (form == "kpu-ppwp") {  // pages 2 and 3
    if (page != 0 && page != 2 && page != 3)
      return InvalidArgument("--page: tata letak KPU: halaman 2 atau 3 / the KPU layouts are pages 2 and 3");
    if (page != 3) {
      REKAP_ASSIGN_OR_RETURN(PageLayout L, reader::KpuPpwpPage2Layout());
      out.push_back(std::move(L));
    }
    if (page != 2) {
      REKAP_ASSIGN_OR_RETURN(PageLayout L, reader::KpuPpwpPage3Layout());
      out.push_back(std::move(L));
    }
    return out;
  }
  if (form != "own")
    return InvalidArgument("formulir: own | kpu-ppwp-2 | kpu-ppwp / form: own | kpu-ppwp-2 | kpu-ppwp");
  REKAP_ASSIGN_OR_RETURN(Election e, LoadElectionSpec(election));
  REKAP_ASSIGN_OR_RETURN(const Contest* c, FindContestOr(e, contest));
  int n = reader::OwnPageCount(*c->form);
  if (n < 1) return InvalidArgument("formulir tidak muat / form does not fit");
  if (page < 0 || page > n)
    return InvalidArgument("--page: halaman " + std::to_string(page) + " di luar 1.." + std::to_string(n) +
                           " / page out of range");
  for (int p = (page == 0 ? 1 : page); p <= (page == 0 ? n : page); ++p) {
    REKAP_ASSIGN_OR_RETURN(PageLayout L, reader::LayoutOwnPage(*c->form, *c, p));
    out.push_back(std::move(L));
  }
  return out;
}

bool EndsWith(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

struct PrintOptions {
  std::string form = "own";
  std::string election = "builtin:pemilu-2024-ppwp";
  std::string contest = "ppwp";
  std::string tps;
  std::string out;
  int page = 0;
  double dpi = 150;
  reader::RenderInput names;
};

Status RunPrint(PrintOptions o) {
  if (o.form == "own" || !o.tps.empty()) REKAP_RETURN_IF_ERROR(TpsId::Parse(o.tps).status());
  o.names.tps = o.tps;
  REKAP_ASSIGN_OR_RETURN(auto pages, Layouts(o.form, o.election, o.contest, o.page));
  std::vector<std::string> written;
  if (EndsWith(o.out, ".pdf")) {
    REKAP_RETURN_IF_ERROR(reader::RenderPagesPdf(pages, o.names, o.out));
    written.push_back(o.out);
  } else if (EndsWith(o.out, ".png")) {
    if (!(o.dpi >= 20 && o.dpi <= 1200)) return InvalidArgument("--dpi 20..1200");
    for (const auto& L : pages) {
      std::string path = o.out;
      if (pages.size() > 1)
        path = o.out.substr(0, o.out.size() - 4) + "-p" + std::to_string(L.page) + ".png";
      REKAP_RETURN_IF_ERROR(reader::RenderPagePng(L, o.names, o.dpi, path));
      written.push_back(path);
    }
  } else {
    return InvalidArgument("--out harus .pdf atau .png / --out must end in .pdf or .png");
  }
  if (G().json) {
    nlohmann::json j;
    j["files"] = written;
    j["pages"] = pages.size();
    j["form"] = pages[0].form_id;
    std::cout << j.dump() << "\n";
  } else if (!G().quiet) {
    for (const auto& w : written) std::cout << Tr("ditulis: ", "written: ") << w << "\n";
  }
  return Status::Ok();
}

struct LayoutOptions {
  std::string form = "own";
  std::string election = "builtin:pemilu-2024-ppwp";
  std::string contest = "ppwp";
  int page = 1;
};

Status RunLayout(const LayoutOptions& o) {
  int page = o.page;
  if (o.form == "kpu-ppwp-2" && page == 1) page = 2;  // the KPU layout is its page 2
  if (o.form == "kpu-ppwp" && page == 1) page = 0;    // both KPU layouts (pages 2 and 3)
  REKAP_ASSIGN_OR_RETURN(auto pages, Layouts(o.form, o.election, o.contest, page));
  if (G().json) {
    if (page == 0) {
      nlohmann::json j;
      j["pages"] = nlohmann::json::array();
      for (const auto& L : pages) j["pages"].push_back(reader::ToJson(L));
      std::cout << j.dump(1) << "\n";
    } else {
      std::cout << reader::ToJson(pages[0]).dump(1) << "\n";
    }
    return Status::Ok();
  }
  for (const auto& L : pages) {
    std::cout << L.form_id << " v" << L.version << "  " << Tr("halaman ", "page ") << L.page << "/"
              << L.pages << "  " << L.width_mm << " x " << L.height_mm << " mm\n";
    for (const auto& f : L.fiducials)
      std::cout << "  " << Tr("penanda ", "marker ") << f.dictionary << " " << f.marker_id << " @ "
                << f.box.x << "," << f.box.y << " " << f.box.w << " mm\n";
    if (L.page_marker)
      std::cout << "  " << Tr("penanda halaman ", "page marker ") << L.page_marker->dictionary << " "
                << L.page_marker->marker_id << "\n";
    if (L.qr) std::cout << "  QR @ " << L.qr->x << "," << L.qr->y << " " << L.qr->w << " mm\n";
    for (const auto& n : L.numbers)
      std::cout << "  " << n.field << "  " << Tr("kotak ", "boxes ") << n.digit_boxes[0].x << ","
                << n.digit_boxes[0].y << "  " << n.label.id << "\n";
  }
  return Status::Ok();
}

struct SynthCliOptions {
  std::string digits, labels, out;
  std::string form = "own";
  std::string election = "builtin:pemilu-2024-ppwp";
  std::string contest = "ppwp";
  std::string format = "jpeg";
  int count = 10;
  uint32_t seed = 1;
  reader::SynthOptions so;
  bool clean = false;
};

Status RunSynth(SynthCliOptions o) {
  REKAP_ASSIGN_OR_RETURN(o.so.form, reader::ParseSynthForm(o.form));
  REKAP_ASSIGN_OR_RETURN(o.so.format, reader::ParsePhotoFormat(o.format));
  // Options named where the synthesizer says only "invalid photo widths / synth options"; a
  // negative or NaN --px-per-mm ran as automatic (0), and an odd --count of kpu-ppwp sheets
  // wrote the last sheet's page 2 without its page 3, before (2026-12-07).
  if (!(o.so.px_per_mm == 0 || (o.so.px_per_mm >= 1 && o.so.px_per_mm <= 20)))
    return InvalidArgument("--px-per-mm: 0 (otomatis) atau 1..20 / 0 (automatic) or 1..20");
  if (o.so.min_width < 200 || o.so.min_width > 8000)
    return InvalidArgument("--min-width: harus 200..8000 px / must be 200..8000 px");
  if (o.so.max_width < o.so.min_width || o.so.max_width > 8000)
    return InvalidArgument("--max-width: harus --min-width..8000 px / must be --min-width..8000 px");
  if (!(o.so.max_tilt_deg >= 0 && o.so.max_tilt_deg <= 60))
    return InvalidArgument("--max-tilt: harus 0..60 derajat / must be 0..60 degrees");
  if (o.so.form == reader::SynthForm::kKpuPpwp && o.count % 2 != 0)
    return InvalidArgument("--count: genap untuk kpu-ppwp (satu lembar = foto halaman 2 dan 3) / must be even for "
                           "kpu-ppwp (a sheet is a photo of page 2 and one of page 3)");
  REKAP_RETURN_IF_ERROR(CheckInputFile("--digits", o.digits));
  REKAP_RETURN_IF_ERROR(CheckInputFile("--labels", o.labels));
  o.so.photograph = !o.clean;
  o.so.seed = o.seed;
  REKAP_ASSIGN_OR_RETURN(reader::DigitDataset data, reader::ReadIdxDataset(o.digits, o.labels));
  std::optional<Election> election;
  const Contest* contest = nullptr;
  if (o.so.form == reader::SynthForm::kOwn) {
    REKAP_ASSIGN_OR_RETURN(Election e, LoadElectionSpec(o.election));
    election = std::move(e);
    REKAP_ASSIGN_OR_RETURN(contest, FindContestOr(*election, o.contest));
  }
  REKAP_ASSIGN_OR_RETURN(auto synth, reader::Synthesizer::Create(data, contest, o.so));
  Progress progress(Tr("sintesis halaman", "synthesizing pages"), o.count);
  auto t0 = std::chrono::steady_clock::now();
  REKAP_RETURN_IF_ERROR(synth->WriteAll(o.count, o.out, [&](int done, int) { progress.Update(done); }));
  progress.Done();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double ms = o.count ? secs * 1000 / o.count : 0;
  if (G().json) {
    nlohmann::json j = {{"pages", o.count}, {"dir", o.out}, {"truth", o.out + "/truth.json"},
                        {"seconds", secs}, {"ms_per_page", ms}};
    std::cout << j.dump() << "\n";
  } else if (!G().quiet) {
    std::cerr << o.count << Tr(" halaman ditulis ke ", " pages written to ") << o.out << " ("
              << int(ms) << Tr(" ms/halaman, ", " ms/page, ") << "truth.json)\n";
  }
  return Status::Ok();
}

}  // namespace

void AddFormsCommands(CLI::App& app) {
  auto* forms = app.add_subcommand(
      "forms", "formulir C.Hasil: cetak, tata letak, foto sintetis / C.Hasil forms: print, layout, synthetic photos");
  forms->require_subcommand(1);

  // forms print
  static PrintOptions po;
  auto* p = forms->add_subcommand(
      "print", "cetak halaman formulir (PDF atau PNG) untuk satu TPS / print the form's pages (PDF or PNG) for one TPS");
  p->add_option("--contest", po.contest, "id pemilihan / contest id")->capture_default_str();
  p->add_option("--tps", po.tps, "id TPS, 13 angka / TPS id, 13 digits");
  p->add_option("--election", po.election,
                "berkas pemilihan atau builtin:NAMA / election file or builtin:NAME")
      ->capture_default_str();
  p->add_option("--form", po.form, "own | kpu-ppwp-2 | kpu-ppwp (tiruan halaman 2 (dan 3) KPU / replica of KPU page 2 (and 3))")
      ->check(CLI::IsMember({"own", "kpu-ppwp-2", "kpu-ppwp"}))
      ->capture_default_str();
  p->add_option("--out", po.out, "berkas keluaran .pdf atau .png / output file .pdf or .png")->required();
  p->add_option("--dpi", po.dpi, "resolusi PNG / PNG resolution")->capture_default_str();
  p->add_option("--page", po.page, "satu halaman saja (0 = semua) / one page only (0 = all)")
      ->capture_default_str();
  p->add_option("--provinsi", po.names.provinsi, "nama provinsi di kepala / province name in the header");
  p->add_option("--kabkota", po.names.kabkota, "nama kabupaten/kota / regency or city name");
  p->add_option("--kecamatan", po.names.kecamatan, "nama kecamatan / district name");
  p->add_option("--desa", po.names.desa, "nama kelurahan/desa / village name");
  p->callback([] {
    Status st = RunPrint(po);
    ExitCode() = st.ok() ? 0 : Fail(st);
  });

  // forms layout
  static LayoutOptions lo;
  auto* l = forms->add_subcommand(
      "layout", "geometri halaman (penanda, QR, kotak, bulatan) dalam mm; --json / page geometry (markers, QR, boxes, bubbles) in mm; --json");
  l->add_option("--contest", lo.contest, "id pemilihan / contest id")->capture_default_str();
  l->add_option("--election", lo.election,
                "berkas pemilihan atau builtin:NAMA / election file or builtin:NAME")
      ->capture_default_str();
  l->add_option("--form", lo.form, "own | kpu-ppwp-2 | kpu-ppwp")
      ->check(CLI::IsMember({"own", "kpu-ppwp-2", "kpu-ppwp"}))
      ->capture_default_str();
  l->add_option("--page", lo.page,
                "halaman (0 = semua: {\"pages\": [...]}) / page (0 = all: {\"pages\": [...]})")
      ->capture_default_str();
  l->callback([] {
    Status st = RunLayout(lo);
    ExitCode() = st.ok() ? 0 : Fail(st);
  });

  // forms synth
  static SynthCliOptions so;
  auto* s = forms->add_subcommand(
      "synth", "foto sintetis halaman terisi + truth.json / synthetic photos of filled pages + truth.json");
  s->add_option("--digits", so.digits, "gambar angka IDX (.gz), mis. MNIST uji / IDX digit images (.gz), e.g. MNIST test")
      ->required();
  s->add_option("--labels", so.labels, "label IDX (.gz) / IDX labels (.gz)")->required();
  s->add_option("--count", so.count, "jumlah halaman / number of pages")->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  s->add_option("--seed", so.seed, "benih acak / random seed")->capture_default_str();
  s->add_option("--form", so.form, "own | kpu-ppwp-2 | kpu-ppwp (halaman 2 dan 3 / pages 2 and 3)")
      ->check(CLI::IsMember({"own", "kpu-ppwp-2", "kpu-ppwp"}))
      ->capture_default_str();
  s->add_option("--out", so.out, "direktori keluaran / output directory")->required();
  s->add_option("--contest", so.contest, "id pemilihan (formulir own) / contest id (own form)")
      ->capture_default_str();
  s->add_option("--election", so.election,
                "berkas pemilihan atau builtin:NAMA / election file or builtin:NAME")
      ->capture_default_str();
  s->add_option("--tps", so.so.tps, "id TPS yang dipakai (boleh berulang) / TPS ids to use (repeatable)");
  s->add_option("--inconsistent-rate", so.so.inconsistent_rate, kInconsistentRateHelp)
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  s->add_option("--min-width", so.so.min_width, "lebar foto minimum (px) / minimum photo width (px)")
      ->capture_default_str();
  s->add_option("--max-width", so.so.max_width, "lebar foto maksimum (px) / maximum photo width (px)")
      ->capture_default_str();
  s->add_option("--max-tilt", so.so.max_tilt_deg, "kemiringan kamera maks. (derajat) / max camera tilt (degrees)")
      ->capture_default_str();
  s->add_option("--min-fill", so.so.min_fill, kMinFillHelp)->capture_default_str()->check(CLI::Range(0.2, 1.0));
  s->add_option("--max-fill", so.so.max_fill, kMaxFillHelp)->capture_default_str()->check(CLI::Range(0.2, 1.0));
  s->add_option("--px-per-mm", so.so.px_per_mm,
                "resolusi render (0 = otomatis) / render resolution (0 = automatic)")
      ->capture_default_str();
  s->add_flag("--clean", so.clean, "tanpa efek foto (pindaian bersih) / no photo effects (clean scan)");
  s->add_option("--restyle", so.so.restyle, kRestyleHelp)
      ->capture_default_str()->check(CLI::Range(0.0, 2.0));
  s->add_option("--bend", so.so.bend_mm, kBendHelp)->capture_default_str()->check(CLI::Range(0.0, 20.0));
  s->add_option("--fold", so.so.folds, kFoldHelp)->capture_default_str()->check(CLI::Range(0, 3));
  s->add_flag("--cover-corner", so.so.cover_corner, kCoverCornerHelp);
  s->add_option("--unbubbled", so.so.unbubbled_rate, kUnbubbledHelp)->capture_default_str()->check(CLI::Range(0.0, 1.0));
  s->add_option("--segment-style", so.so.segment_style, kSegmentStyleHelp)
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  s->add_option("--pen-strokes", so.so.pen_strokes, kPenStrokesHelp)
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  s->add_flag("--pen-outline-areas", so.so.pen_outline_areas, kPenOutlineAreasHelp);
  s->add_option("--blur-scale", so.so.blur_scale, kBlurScaleHelp)->capture_default_str()->check(CLI::Range(0.0, 10.0));
  s->add_option("--shake", so.so.shake, kShakeHelp)->capture_default_str()->check(CLI::Range(0.0, 100.0));
  s->add_option("--spill", so.so.spill, kSpillHelp)->capture_default_str()->check(CLI::Range(0.0, 1.0));
  s->add_option("--flagged-ones", so.so.flagged_ones, kFlaggedOnesHelp)->capture_default_str()->check(CLI::Range(0.0, 1.0));
  s->add_option("--crossed-sevens", so.so.crossed_sevens, kCrossedSevensHelp)->capture_default_str()->check(CLI::Range(0.0, 1.0));
  s->add_option("--format", so.format, kPhotoFormatHelp)->capture_default_str();
  s->callback([] {
    Status st = RunSynth(so);
    ExitCode() = st.ok() ? 0 : Fail(st);
  });
}

}  // namespace rekap::cli
