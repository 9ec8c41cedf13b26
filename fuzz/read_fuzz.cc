// libFuzzer target: arbitrary bytes -> ReadPage (our own form, KPU's page 2, or KPU's pages 2
// and 3 by the input's size mod 3). Must never crash, hang or read out of bounds; every bad photo
// is a typed reason.
//
//   scripts/fuzz-read.sh          (builds with clang + ASan/UBSan in build-fuzz, runs 60 s)
//
// The digit model and the form schemas are loaded once from the source tree (REKAP_ROOT) or
// from $REKAP_DIGITS_MODEL / $REKAP_ROOT.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>

#include <opencv2/core/utility.hpp>

#include "reader/digits.h"
#include "reader/read.h"
#include "rekap/election.h"

namespace {

using namespace rekap;
using namespace rekap::reader;

struct Env {
  Election election;
  std::unique_ptr<DigitModel> model;
};

const Env* Load() {
  const char* root_env = std::getenv("REKAP_ROOT");
  const std::string root = root_env ? root_env : REKAP_ROOT;
  const char* model_env = std::getenv("REKAP_DIGITS_MODEL");
  const std::string model_path = model_env ? model_env : root + "/data/models/digits.dnn";
  auto schemas = LoadSchemaDir(root + "/data/schemas");
  auto e = Election::LoadFile(root + "/data/elections/pemilu-2024-ppwp.toml");
  if (!schemas.ok() || !e.ok() || !e->Resolve(*schemas).ok()) std::abort();
  auto m = DigitModel::Load(model_path);
  if (!m.ok()) std::abort();
  auto* env = new Env{std::move(*e), std::make_unique<DigitModel>(std::move(*m))};
  return env;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cv::setNumThreads(1);
  cv::setBreakOnError(false);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Env* env = Load();
  ReadOptions o;
  o.contest = &env->election.contests[0];
  o.model = env->model.get();
  o.form = size % 3 == 0 ? FormKind::kOwn : size % 3 == 1 ? FormKind::kKpuPpwpPage2 : FormKind::kKpuPpwp;
  // Our form with and without the expected TPS (with it, a QR not decoded is matched by its
  // modules: MatchQr).
  o.expected_tps = IsKpu(o.form) || (size / 3) % 2 == 0 ? "3171010001001" : "";
  o.max_search_states = 2000;
  auto r = ReadPage(std::span<const uint8_t>(data, size), o);
  if (!r.ok()) std::abort();  // options are valid: a Status here is a bug
  // Fail closed: accepted means no reasons, and review always says why.
  if (r->accepted != r->reasons.empty()) std::abort();
  return 0;
}
