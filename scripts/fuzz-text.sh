#!/usr/bin/env bash
# Builds the library's text-parser libFuzzer target (fuzz/text_fuzz.cc: election and form-schema
# TOML, rule expressions, the CSV readers, region codes and TPS ids, engine commands) with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer in the reader's fuzz build directory (one
# configure for both targets), then fuzzes for a bounded time over the seed corpus
# fuzz/corpus/text (real files from data/, each behind its selector byte).
#
#   scripts/fuzz-text.sh [SECONDS]        (default 30; env BUILD_DIR, JOBS, REKAP_READER)
#
# REKAP_READER=OFF configures without the form reader (a machine with the core packages only);
# the default ON shares the configure of scripts/fuzz-read.sh.
#
# Exit status: non-zero on a crash, a leak, a sanitizer report, a timeout (> 5 s per input) or
# more than 2 GiB of memory. Crash inputs are written to $BUILD_DIR/fuzz-artifacts/; a fixed one
# goes to fuzz/corpus/text/ beside its regression test (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
build="${BUILD_DIR:-build-fuzz}"
jobs="${JOBS:-2}"
command -v clang++ >/dev/null || { echo "fuzz-text: clang++ not found" >&2; exit 1; }

# Warnings are printed but not fatal here, as in scripts/fuzz-read.sh: the gcc builds of
# `make test` hold every file to -Werror.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREKAP_READER="${REKAP_READER:-ON}" \
  -DREKAP_SANITIZE=ON -DREKAP_WERROR=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$build" -j"$jobs" --target rekap_text_fuzz

# The corpus grows in a scratch copy; the committed seeds stay as they are.
work="$build/fuzz-corpus-text"
mkdir -p "$work" "$build/fuzz-artifacts"
cp -n fuzz/corpus/text/* "$work"/ 2>/dev/null || true
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
"$build/rekap_text_fuzz" "$work" \
  -max_total_time="$seconds" -max_len=65536 -timeout=5 -rss_limit_mb=2048 \
  -artifact_prefix="$build/fuzz-artifacts/text-" -print_final_stats=1
