#!/usr/bin/env bash
# Builds one of rekap's libFuzzer targets with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in its own build directory (one configure for both targets), then
# fuzzes it for a bounded time over its seed corpus (docs/fuzzing.md):
#
#   read  rekap_read_fuzz: any bytes as a photo -> ReadPage; fuzz/corpus/read (small synthetic
#         photos of both forms and a few non-images); 10 s and 4 GiB per input at most
#   text  rekap_text_fuzz: the library's text parsers (election and form-schema TOML, rule
#         expressions, the CSV readers, region codes and TPS ids, engine commands);
#         fuzz/corpus/text; 5 s and 2 GiB per input at most
#
#   scripts/fuzz.sh read|text [SECONDS]   (default 60 for read, 30 for text; env BUILD_DIR, JOBS,
#                                          REKAP_READER=OFF for `text` on a machine without the
#                                          reader's packages)
#
# Exit status: non-zero on a crash, a leak, a sanitizer report, a timeout or too much memory.
# Crash inputs are written to $BUILD_DIR/fuzz-artifacts/; a fixed one goes to fuzz/corpus/<target>/
# beside its regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:?usage: scripts/fuzz.sh read|text [SECONDS]}"
case "$what" in
  read) target=src/reader/rekap_read_fuzz seconds="${2:-60}" limits="-max_len=300000 -timeout=10 -rss_limit_mb=4096"
        reader=ON work_name=fuzz-corpus artifacts=fuzz-artifacts/ ;;
  text) target=rekap_text_fuzz seconds="${2:-30}" limits="-max_len=65536 -timeout=5 -rss_limit_mb=2048"
        reader="${REKAP_READER:-ON}" work_name=fuzz-corpus-text artifacts=fuzz-artifacts/text- ;;
  *) echo "fuzz: unknown target '$what' (read | text)" >&2; exit 2 ;;
esac
build="${BUILD_DIR:-build-fuzz}"
jobs="${JOBS:-2}"
command -v clang++ >/dev/null || { echo "fuzz-$what: clang++ not found" >&2; exit 1; }

# Warnings are printed but not fatal here: clang warns about things gcc does not, and the gcc
# builds of `make test` (build/, build-asan/) already hold every file to -Werror.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREKAP_READER="$reader" \
  -DREKAP_SANITIZE=ON -DREKAP_WERROR=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$build" -j"$jobs" --target "$(basename "$target")"

# The corpus grows in a scratch copy; the committed seeds stay as they are.
work="$build/$work_name"
mkdir -p "$work" "$build/fuzz-artifacts"
cp -n "fuzz/corpus/$what"/* "$work"/ 2>/dev/null || true
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OPENBLAS_NUM_THREADS=1
# shellcheck disable=SC2086  # $limits is a list of options
"$build/$target" "$work" -max_total_time="$seconds" $limits \
  -artifact_prefix="$build/$artifacts" -print_final_stats=1
