// rekap read, rekap train-digits and rekap bench reader (issue 3, items 5 and 6).
#pragma once

#include <CLI/CLI.hpp>

namespace rekap::cli {

// Registers `read` and `train-digits` on `app` and `reader` under `bench` (may be null).
void AddReadCommands(CLI::App& app, CLI::App* bench);

}  // namespace rekap::cli
