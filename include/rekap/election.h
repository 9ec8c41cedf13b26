// rekap: an election definition: contests, their candidates, and the form each uses.
//
// Loaded from TOML (data/elections/*.toml, grammar in docs/form-schema.md). A contest is
// scoped to a region (national "" / a province / a kab/kota) and counts the TPS under it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rekap/form.h"
#include "rekap/status.h"

namespace rekap {

struct Candidate {
  int number = 0;          // nomor urut, 1-based, contiguous
  std::string name;        // e.g. "H. Anies Rasyid Baswedan, Ph.D. - Dr. (H.C.) H. A. Muhaimin Iskandar"
  std::string party;       // optional (party-list contests later)
};

struct Contest {
  std::string id;          // unique in the election, [a-z0-9_-]{1,32}, e.g. "ppwp", "pkwkk-3212"
  std::string kind;        // "ppwp", "pkwkp", "pkwkk" (later: "dpd", "dpr", ...)
  std::string name;        // display name
  std::string scope;       // region code the contest covers; "" = national (incl. overseas)
  std::string schema_id;   // form schema id, e.g. "C.HASIL-PPWP-2024"
  std::map<std::string, double> params;  // constants for rules, e.g. max_voters = 300
  std::vector<Candidate> candidates;
  std::shared_ptr<const Form> form;      // bound after Resolve()
};

struct Election {
  std::string id;          // e.g. "pemilu-2024", "pilkada-2024-indramayu"
  std::string name;
  std::vector<Contest> contests;

  const Contest* FindContest(std::string_view id) const;

  // Parses the TOML text. Validates ids, kinds, candidate numbering, scope codes.
  static Result<Election> Parse(std::string_view toml_text, std::string_view origin);
  static Result<Election> LoadFile(const std::string& path);

  // Binds each contest's form from `schemas` (by schema id). Fails naming the contest and
  // schema if one is unknown.
  Status Resolve(const std::map<std::string, std::shared_ptr<const FormSchema>>& schemas);
};

// Loads every *.toml under `dir` as a FormSchema, keyed by schema id.
Result<std::map<std::string, std::shared_ptr<const FormSchema>>> LoadSchemaDir(
    const std::string& dir);

}  // namespace rekap
