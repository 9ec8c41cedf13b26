// rekap: the command line. One binary, subcommands; see `rekap --help`.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string_view>

#include "commands.h"
#include "common.h"

namespace rekap::cli {
int& ExitCode() {
  static int code = 0;
  return code;
}
}  // namespace rekap::cli

namespace {

// Whole numbers on the command line are written in decimal. CLI11 reads "010" as octal (8) and
// "0x10" as hexadecimal: `--voters 050` would have bounded a TPS's paslon at 40 without a word.
// Every integer option refuses a leading zero and a base prefix instead.
void PlainIntegers(CLI::App* app) {
  auto decimal = [](bool unsigned_only) {
    return CLI::Validator(
        [unsigned_only](std::string& v) -> std::string {
          if (unsigned_only && !v.empty() && v[0] == '-')  // "-1" wrapped round to 2^64-1 before
            return "'" + v + "': harus >= 0 / must be >= 0";
          size_t i = (!v.empty() && (v[0] == '-' || v[0] == '+')) ? 1 : 0;
          if (v.size() > i + 1 && v[i] == '0')
            return "'" + v + "': tulis bilangan desimal tanpa nol di depan / write a decimal number without "
                             "leading zeros or a base prefix";
          return {};
        },
        "", "decimal");
  };
  static const CLI::Validator kSigned = decimal(false), kUnsigned = decimal(true);
  for (CLI::Option* o : app->get_options()) {
    const std::string t = o->get_type_name();
    if (t.rfind("UINT", 0) == 0) o->check(kUnsigned);
    else if (t.rfind("INT", 0) == 0) o->check(kSigned);
  }
  for (CLI::App* sub : app->get_subcommands({})) PlainIntegers(sub);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rekap::cli;
  if (const char* l = std::getenv("REKAP_LANG")) G().lang = l;
  CLI::App app{
      "rekap: rekapitulasi hasil pemilu dari TPS sampai nasional / election results from every TPS to the nation"};
  app.set_help_all_flag("--help-all", "semua bantuan / all help");
  app.require_subcommand(1);
  app.add_option("--db", G().db, "berkas basis data SQLite / SQLite database file")->capture_default_str();
  app.add_option("--lang", G().lang, "bahasa keluaran: id | en / output language")
      ->check(CLI::IsMember({"id", "en"}))
      ->capture_default_str();
  app.add_flag("--json", G().json, "keluaran JSON / machine-readable JSON output");
  app.add_flag("-q,--quiet", G().quiet, "tanpa kemajuan / no progress output");
  app.fallthrough();

  AddInit(app);
  AddImport(app);
  AddElection(app);
  AddSubmit(app);
  AddResults(app);
  AddVerify(app);
  AddDemo(app);
  CLI::App* bench = AddBench(app);
#ifdef REKAP_WITH_READER
  AddReaderCommands(app, bench);
#else
  (void)bench;
#endif

  PlainIntegers(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help
    // Parsing may stop before --json is read (`rekap --lang xx --json verify`): a script that
    // asked for JSON gets its error as JSON all the same.
    for (int i = 1; i < argc; ++i)
      if (std::string_view(argv[i]) == "--json") G().json = true;
    // A wrong option or value is invalid input, exit 2 as the README says, bilingual like every
    // other error (CLI11's own English text and codes 104-114 before: `--lang xx` exited 105).
    return Fail(rekap::InvalidArgument(std::string("argumen tidak sah / invalid argument: ") + e.what() +
                                       " (--help)"));
  } catch (const std::exception& e) {
    // A command's errors are Status values; anything thrown past one is a defect, reported as
    // such rather than an abort (std::filesystem, a library's allocation).
    std::cerr << "rekap: galat internal / internal error: " << e.what() << "\n";
    return 70;  // EX_SOFTWARE
  }
  // What was printed must have been written: a full disk or a closed pipe behind stdout is an
  // error, not a success with the output lost.
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "rekap: galat [UNAVAILABLE]: keluaran tidak dapat ditulis / cannot write the output (stdout)\n";
    return 1;
  }
  return ExitCode();
}
