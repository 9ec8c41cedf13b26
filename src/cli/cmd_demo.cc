#include "commands.h"
namespace rekap::cli {
void AddDemo(CLI::App&) {}
void AddBench(CLI::App&) {}
}
