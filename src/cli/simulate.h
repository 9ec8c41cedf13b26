// Synthetic voting-day results for the demo and the benchmarks: consistent C.Hasil values
// (they satisfy every hard rule of the PPWP and KWK schemas) and realistic misreads.
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include "rekap/form.h"
#include "rekap/ledger.h"

namespace rekap::cli {

struct SimTps {
  int dpt = 250;          // registered voters
  double turnout = 0.75;  // of the DPT
};

// Values for one TPS on `form`: voter, user, ballot, disability and vote fields consistent
// with each other. `shares` are candidate vote shares (sum 1).
std::vector<FieldValue> SimulateResult(std::mt19937_64& rng, const Form& form, const SimTps& tps,
                                       const std::vector<double>& shares);

// A misread of one candidate's number as OCR makes them: an added digit (58 -> 958, 588) or a
// digit confused with a similar one (3 -> 8, 1 -> 7, 5 -> 6). Changes the value (returns the
// changed field index) so that the form's sum rule breaks.
int Misread(std::mt19937_64& rng, const Form& form, std::vector<FieldValue>* values);

std::map<std::string, Value> ToNamed(const Form& form, const std::vector<FieldValue>& values);

}  // namespace rekap::cli
