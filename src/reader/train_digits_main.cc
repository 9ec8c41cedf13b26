// rekap_train_digits: trains the digit classifier on MNIST (IDX files, gzip or plain) and
// writes data/models/digits.dnn plus, optionally, a JSON record of the run.
//
//   rekap_train_digits --train-images train-images-idx3-ubyte.gz
//     --train-labels train-labels-idx1-ubyte.gz --test-images t10k-images-idx3-ubyte.gz
//     --test-labels t10k-labels-idx1-ubyte.gz --out data/models/digits.dnn --epochs 12 --seed 20240214
// (one command line; see docs/digits.md for the exact command used for the committed model)

#include <dlfcn.h>
#include <unistd.h>
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dlib/revision.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <thread>

#include "reader/digits.h"
#include "reader/idx.h"

namespace {

using rekap::reader::DigitDataset;
using rekap::reader::DigitModel;
using rekap::reader::DigitPrediction;

std::string Sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0) {
      crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(buf.data()),
                                static_cast<unsigned long long>(n));
    }
  }
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, out);
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, out, sizeof out);
  return hex;
}

// The OpenBLAS kernel in use, if the BLAS is OpenBLAS (looked up at run time so any BLAS links).
std::string BlasDescription() {
  using Fn = char* (*)();
  auto corename = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  auto config = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  using IntFn = int (*)();
  auto threads = reinterpret_cast<IntFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (corename == nullptr) return "non-OpenBLAS BLAS";
  std::ostringstream s;
  s << "OpenBLAS core " << corename();
  if (threads != nullptr) s << ", " << threads() << " threads";
  if (config != nullptr) s << " (" << config() << ")";
  return s.str();
}

// OpenBLAS 0.3.21 (Debian 12) does not recognise some virtual CPUs ("Intel Xeon Processor")
// and falls back to its slowest x86-64 kernels (Prescott, SSE3), about 1.5x slower here. The
// kernel is chosen when the library loads, so the only remedy is the environment variable
// OPENBLAS_CORETYPE before start-up: if it is unset, the fallback kernel is in use and the CPU
// has AVX2 and FMA, re-run this program with OPENBLAS_CORETYPE=Haswell. The kernel in use is
// printed and recorded in the JSON, because it changes floating-point rounding.
void MaybeReexecWithFasterBlas(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  using Fn = char* (*)();
  auto corename = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (corename == nullptr || std::string(corename()) != "Prescott") return;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;
  setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: carry on with the slow kernel
  unsetenv("OPENBLAS_CORETYPE");
}

void SetBlasThreads(int n) {
  using Fn = void (*)(int);
  auto set = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set != nullptr) set(n);
}

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string ShellQuote(const std::string& s) {
  if (s.find_first_of(" \t'\"$\\") == std::string::npos) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

int main(int argc, char** argv) {
  MaybeReexecWithFasterBlas(argv);
  CLI::App app{"Train the rekap handwritten-digit classifier on MNIST"};
  std::string train_images, train_labels, test_images, test_labels, out_path, json_path;
  rekap::reader::TrainOptions opt;
  size_t limit = 0;
  int blas_threads = 1;
  bool monitor = false;
  app.add_option("--train-images", train_images, "MNIST training images (IDX, gzip ok)")
      ->required();
  app.add_option("--train-labels", train_labels, "MNIST training labels")->required();
  app.add_option("--test-images", test_images, "MNIST test images")->required();
  app.add_option("--test-labels", test_labels, "MNIST test labels")->required();
  app.add_option("--out", out_path, "where to write the model (.dnn)")->required();
  app.add_option("--json", json_path, "also write a JSON record of the run here");
  app.add_option("--epochs", opt.epochs, "training epochs")->check(CLI::Range(1, 1000));
  app.add_option("--seed", opt.seed, "random seed (weights, shuffling, augmentation)");
  app.add_option("--limit", limit, "use only the first K training digits (0 = all)");
  app.add_option("--batch", opt.batch_size, "mini-batch size")->check(CLI::Range(1, 4096));
  app.add_option("--lr", opt.peak_learning_rate, "peak learning rate");
  app.add_option("--augment", opt.augment.probability,
                 "share of training digits augmented each epoch (0 = none)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--monitor", monitor,
               "evaluate the test set after every epoch (reported only, never used to steer)");
  app.add_option("--blas-threads", blas_threads,
                 "OpenBLAS threads (1 is fastest for this small network and bit-reproducible)")
      ->check(CLI::Range(1, 64));
  bool no_recalibration = false;
  app.add_flag("--no-bn-recalibration", no_recalibration,
               "keep the batch-norm statistics from the augmented training batches");
  app.add_option("--threads", opt.threads,
                 "split each mini-batch across N replicas of the network, one thread each (part of "
                 "the recipe: another N gives another model)")
      ->check(CLI::Range(1, 16));
  app.add_flag("--verbose", opt.verbose, "a progress line every 100 steps");
  CLI11_PARSE(app, argc, argv);

  if (sodium_init() < 0) {
    std::cerr << "libsodium init failed\n";
    return 1;
  }
  SetBlasThreads(blas_threads);
  opt.recalibrate_batch_norm = !no_recalibration;
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + ShellQuote(argv[i]);

  std::cout << "rekap_train_digits: dlib " << DLIB_MAJOR_VERSION << "." << DLIB_MINOR_VERSION
            << ", " << BlasDescription() << ", " << std::thread::hardware_concurrency()
            << " hardware threads\n";
  nlohmann::json inputs = nlohmann::json::object();
  for (const std::string* p : {&train_images, &train_labels, &test_images, &test_labels}) {
    const std::string h = Sha256File(*p);
    if (h.empty()) {
      std::cerr << "cannot read " << *p << "\n";
      return 1;
    }
    std::cout << h << "  " << *p << "\n";
    inputs[std::filesystem::path(*p).filename().string()] = h;
  }

  auto train = rekap::reader::ReadIdxDataset(train_images, train_labels,
                                             limit ? limit : SIZE_MAX);
  if (!train.ok()) {
    std::cerr << train.status().ToString() << "\n";
    return 1;
  }
  auto test = rekap::reader::ReadIdxDataset(test_images, test_labels);
  if (!test.ok()) {
    std::cerr << test.status().ToString() << "\n";
    return 1;
  }
  std::cout << "training digits: " << train->size() << ", test digits: " << test->size()
            << ", epochs: " << opt.epochs << ", seed: " << opt.seed
            << ", batch: " << opt.batch_size << ", peak lr: " << opt.peak_learning_rate
            << ", augment: " << opt.augment.probability << "\n"
            << std::flush;

  const auto t0 = std::chrono::steady_clock::now();
  if (monitor) opt.monitor = &*test;
  opt.on_epoch = [&](const rekap::reader::EpochReport& r) {
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                             .count();
    std::printf("epoch %d/%d  loss %.4f", r.epoch, opt.epochs, r.train_loss);
    if (r.monitor_accuracy >= 0) {
      std::printf("  test acc %.2f%%", 100 * r.monitor_accuracy);
    }
    std::printf("  %.0f s (total %.0f s, eta %.0f s)\n", r.seconds, total,
                total / r.epoch * (opt.epochs - r.epoch));
    std::fflush(stdout);
  };
  auto model = DigitModel::Train(*train, opt);
  if (!model.ok()) {
    std::cerr << model.status().ToString() << "\n";
    return 1;
  }
  const double train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const rekap::Status saved = model->Save(out_path);
  if (!saved.ok()) {
    std::cerr << saved.ToString() << "\n";
    return 1;
  }
  // Measure on the model as written: load it back.
  auto loaded = DigitModel::Load(out_path);
  if (!loaded.ok()) {
    std::cerr << loaded.status().ToString() << "\n";
    return 1;
  }
  const std::vector<DigitPrediction> pred = loaded->ClassifyBatch(test->images);
  size_t correct = 0;
  double nll = 0;
  // Expected calibration error over 15 equal-width confidence bins.
  constexpr int kBins = 15;
  std::array<double, kBins> bin_conf{}, bin_acc{};
  std::array<size_t, kBins> bin_n{};
  std::array<std::array<int, 10>, 10> confusion{};
  for (size_t i = 0; i < pred.size(); ++i) {
    const int y = test->labels[i];
    const bool ok = pred[i].digit == y;
    correct += ok;
    nll -= std::log(std::max(pred[i].prob[y], 1e-12f));
    const int b = std::min(kBins - 1, static_cast<int>(pred[i].confidence * kBins));
    bin_conf[b] += pred[i].confidence;
    bin_acc[b] += ok;
    ++bin_n[b];
    ++confusion[y][pred[i].digit];
  }
  double ece = 0;
  for (int b = 0; b < kBins; ++b) {
    if (bin_n[b]) ece += std::abs(bin_acc[b] - bin_conf[b]) / pred.size();
  }
  const double accuracy = static_cast<double>(correct) / pred.size();
  nll /= pred.size();

  // Inference time per digit, single calls and batched.
  const size_t timing_n = std::min<size_t>(2000, test->size());
  auto ts = std::chrono::steady_clock::now();
  for (size_t i = 0; i < timing_n; ++i) (void)loaded->Classify(test->images[i]);
  const double single_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - ts).count() /
      timing_n;
  ts = std::chrono::steady_clock::now();
  (void)loaded->ClassifyBatch(std::span(test->images).first(timing_n));
  const double batch_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - ts).count() /
      timing_n;

  const auto model_bytes = std::filesystem::file_size(out_path);
  std::printf("training time: %.0f s\n", train_seconds);
  std::printf("test accuracy: %.2f%% (%zu / %zu), errors: %zu, NLL %.4f, ECE %.4f\n",
              100 * accuracy, correct, pred.size(), pred.size() - correct, nll, ece);
  std::printf("model: %s, %zu parameters, %ju bytes\n", out_path.c_str(),
              loaded->ParameterCount(), static_cast<uintmax_t>(model_bytes));
  std::printf("inference: %.1f us/digit single, %.1f us/digit batched\n", single_us, batch_us);
  std::printf("confusion (rows = true digit, columns = predicted):\n");
  for (int y = 0; y < 10; ++y) {
    std::printf("  %d:", y);
    for (int p = 0; p < 10; ++p) std::printf(" %5d", confusion[y][p]);
    std::printf("\n");
  }

  if (!json_path.empty()) {
    nlohmann::json j;
    j["model"] = std::filesystem::path(out_path).filename().string();
    j["format"] = "dlib serialize: string tag 'rekap-digits', int version 1, string "
                  "description, loss_multiclass_log inference network";
    j["network"] = loaded->Describe();
    j["parameters"] = loaded->ParameterCount();
    j["model_bytes"] = model_bytes;
    j["model_sha256"] = Sha256File(out_path);
    j["command"] = command;
    j["seed"] = opt.seed;
    j["epochs"] = opt.epochs;
    j["batch_size"] = opt.batch_size;
    j["threads"] = opt.threads;
    j["peak_learning_rate"] = opt.peak_learning_rate;
    j["augment_probability"] = opt.augment.probability;
    j["batch_norm_recalibrated"] = opt.recalibrate_batch_norm;
    j["train_digits"] = train->size();
    j["input_sha256"] = inputs;
    j["test_digits"] = pred.size();
    j["test_accuracy"] = accuracy;
    j["test_errors"] = pred.size() - correct;
    j["test_nll"] = nll;
    j["test_ece_15bins"] = ece;
    j["inference_us_per_digit_single"] = single_us;
    j["inference_us_per_digit_batched"] = batch_us;
    j["training_seconds"] = train_seconds;
    j["date_utc"] = UtcNow();
    j["dlib_version"] = std::to_string(DLIB_MAJOR_VERSION) + "." +
                        std::to_string(DLIB_MINOR_VERSION) + "." +
                        std::to_string(DLIB_PATCH_VERSION);
    j["blas"] = BlasDescription();
    j["hardware_threads"] = std::thread::hardware_concurrency();
    std::ofstream f(json_path);
    f << j.dump(2) << "\n";
    if (!f) {
      std::cerr << "cannot write " << json_path << "\n";
      return 1;
    }
  }
  return 0;
}
