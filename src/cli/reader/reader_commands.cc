// Registers the reader's subcommands on the rekap binary (built with -DREKAP_READER=ON).
#include "cli/commands.h"
#include "cli/reader/read_commands.h"
#include "cli/reader/reader_commands.h"

namespace rekap::cli {

void AddReaderCommands(CLI::App& app, CLI::App* bench) {
  AddFormsCommands(app);        // forms print | layout | synth (cmd_forms.cc)
  AddReadCommands(app, bench);  // read, train-digits, bench reader (cmd_read.cc)
}

}  // namespace rekap::cli
