// The reader's subcommands (issue 3), registered by AddReaderCommands (src/cli/commands.h).
#pragma once

#include <CLI/CLI.hpp>

namespace rekap::cli {

// rekap forms print | layout | synth (src/cli/reader/cmd_forms.cc).
void AddFormsCommands(CLI::App& app);

}  // namespace rekap::cli
