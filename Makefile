# rekap: the two commands of a fresh Debian 12 machine are `make demo` and `make test`.
#
#   make demo   the core packages, the `rekap` binary alone (no form reader) in build-demo/, and
#               the simulated voting day in Kabupaten Indramayu.
#   make test   what CI runs (.ci/run), on a fresh clone with 2 cores:
#               1. every package, the form reader's and clang's included (scripts/install-deps.sh);
#               2. build/ (-DREKAP_READER=ON): `rekap` and the two test programs, then every
#                  test: the library's, the command line's and the reader's (ctest -L reader);
#               3. build-asan/: the library and command-line tests again under ASan+UBSan (gcc);
#               4. build-fuzz/: the reader's libFuzzer target (clang, ASan+UBSan) fuzzing
#                  bytes -> ReadPage for FUZZ_SECONDS over fuzz/corpus/read (scripts/fuzz-read.sh);
#               5. build-fuzz/: the library's text-parser target (election and schema TOML, rule
#                  expressions, CSV imports, codes, commands) for FUZZ_TEXT_SECONDS over
#                  fuzz/corpus/text (scripts/fuzz-text.sh, docs/fuzzing.md).
#               A failed test, a sanitizer report or a fuzzer crash, leak or timeout fails it.
BUILD        ?= build
BUILD_SAN    ?= build-asan
BUILD_FUZZ   ?= build-fuzz
BUILD_DEMO   ?= build-demo
FUZZ_SECONDS ?= 60
FUZZ_TEXT_SECONDS ?= 30
JOBS         ?= $(shell nproc)
CMAKE_GEN    := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all deps deps-core configure build build-asan demo test test-fast test-reader fuzz-read fuzz-text bench \
        bench-micro clean format

all: build

# Every package, the reader's included; deps-core: only what the library and `rekap` need.
deps:
	@./scripts/install-deps.sh

deps-core:
	@REKAP_WITH_READER=0 ./scripts/install-deps.sh

# build/ always has the reader: a build/ configured before without it is configured again.
configure: deps
	@grep -qs '^REKAP_READER:BOOL=ON' $(BUILD)/CMakeCache.txt || \
	  cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREKAP_READER=ON

build: configure
	cmake --build $(BUILD) -j $(JOBS)

$(BUILD_SAN)/CMakeCache.txt:
	cmake -S . -B $(BUILD_SAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DREKAP_SANITIZE=ON

build-asan: deps $(BUILD_SAN)/CMakeCache.txt
	cmake --build $(BUILD_SAN) -j $(JOBS) --target rekap_tests rekap

$(BUILD_DEMO)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DEMO) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo

# The demo needs neither the reader nor the tests: core packages and the one binary.
demo: deps-core $(BUILD_DEMO)/CMakeCache.txt
	cmake --build $(BUILD_DEMO) -j $(JOBS) --target rekap
	./$(BUILD_DEMO)/rekap demo --db $(BUILD_DEMO)/demo.db

# What `make test` builds in build/: the binary and the two test programs (`make build` builds
# everything, rekap_train_digits too).
TEST_TARGETS := rekap rekap_tests rekap_reader_tests

# Every test (the reader's too: there must be some), then the library's and the command line's
# again under ASan+UBSan, then the reader's fuzz target for FUZZ_SECONDS and the text parsers' for
# FUZZ_TEXT_SECONDS. In this order, so that a failure shows before the next build starts.
test: configure $(BUILD_SAN)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target $(TEST_TARGETS)
	@cd $(BUILD) && ctest -N -L reader | grep -Eq '^Total Tests: [1-9]' || \
	  { echo "make test: no reader tests in $(BUILD)" >&2; exit 1; }
	cd $(BUILD) && OPENBLAS_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS)
	cmake --build $(BUILD_SAN) -j $(JOBS) --target rekap_tests rekap
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -LE slow
	BUILD_DIR=$(BUILD_FUZZ) JOBS=$(JOBS) ./scripts/fuzz-read.sh $(FUZZ_SECONDS)
	BUILD_DIR=$(BUILD_FUZZ) JOBS=$(JOBS) ./scripts/fuzz-text.sh $(FUZZ_TEXT_SECONDS)

# The form reader's tests alone (issue 3).
test-reader: build
	cd $(BUILD) && OPENBLAS_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS) -L reader

# The reader's fuzz target alone: make fuzz-read FUZZ_SECONDS=600.
fuzz-read: deps
	BUILD_DIR=$(BUILD_FUZZ) JOBS=$(JOBS) ./scripts/fuzz-read.sh $(FUZZ_SECONDS)

# The text parsers' fuzz target alone: make fuzz-text FUZZ_TEXT_SECONDS=600.
fuzz-text: deps
	BUILD_DIR=$(BUILD_FUZZ) JOBS=$(JOBS) ./scripts/fuzz-text.sh $(FUZZ_TEXT_SECONDS)

test-fast: build
	cd $(BUILD) && OPENBLAS_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS) -LE slow

# The whole country through the ingest path, with the raw SQLite baseline (needs ../shared).
bench: build
	./$(BUILD)/rekap bench ingest --tps all

# Google Benchmark micro-benchmarks of the parts, each beside its baseline.
bench-micro: configure
	cmake -S . -B $(BUILD) -DREKAP_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS) --target rekap_bench
	./$(BUILD)/rekap_bench

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_FUZZ) $(BUILD_DEMO)
