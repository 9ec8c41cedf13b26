// rekap: the command line. One binary, subcommands; see `rekap --help`.
#include <cstdlib>
#include <exception>
#include <iostream>

#include "commands.h"
#include "common.h"

namespace rekap::cli {
int& ExitCode() {
  static int code = 0;
  return code;
}
}  // namespace rekap::cli

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help
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
