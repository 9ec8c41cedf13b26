// The rekap subcommands, each registered on the CLI11 app by its own function.
#pragma once

#include <CLI/CLI.hpp>

namespace rekap::cli {

void AddInit(CLI::App& app);
void AddImport(CLI::App& app);
void AddElection(CLI::App& app);
void AddSubmit(CLI::App& app);   // submit, correct, accept
void AddResults(CLI::App& app);  // results, export, history
void AddVerify(CLI::App& app);
void AddDemo(CLI::App& app);
CLI::App* AddBench(CLI::App& app);
// The reader's commands (forms print|layout|synth, read, train-digits, bench reader); built
// with -DREKAP_READER=ON, in src/cli/reader/.
void AddReaderCommands(CLI::App& app, CLI::App* bench);

// Set by a subcommand's callback; main returns it.
int& ExitCode();

}  // namespace rekap::cli
