#!/usr/bin/env bash
# Builds the reader's libFuzzer target (bytes -> ReadPage) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in its own build directory, then fuzzes for a bounded time over the
# seed corpus fuzz/corpus/read (small synthetic photos of both forms and a few non-images).
#
#   scripts/fuzz-read.sh [SECONDS]        (default 60; env BUILD_DIR, JOBS)
#
# Exit status: non-zero on a crash, a leak, a sanitizer report or a timeout (> 10 s per input).
# Crash inputs are written to $BUILD_DIR/fuzz-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
build="${BUILD_DIR:-build-fuzz}"
jobs="${JOBS:-2}"
command -v clang++ >/dev/null || { echo "fuzz-read: clang++ not found" >&2; exit 1; }

# Warnings are printed but not fatal here: clang warns about things gcc does not, and the gcc
# builds of `make test` (build/, build-asan/) already hold every file to -Werror.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREKAP_READER=ON \
  -DREKAP_SANITIZE=ON -DREKAP_WERROR=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$build" -j"$jobs" --target rekap_read_fuzz

# The corpus grows in a scratch copy; the committed seeds stay as they are.
work="$build/fuzz-corpus"
mkdir -p "$work" "$build/fuzz-artifacts"
cp -n fuzz/corpus/read/* "$work"/ 2>/dev/null || true
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OPENBLAS_NUM_THREADS=1
"$build/src/reader/rekap_read_fuzz" "$work" \
  -max_total_time="$seconds" -max_len=300000 -timeout=10 -rss_limit_mb=4096 \
  -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1
