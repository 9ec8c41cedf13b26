# rekap: the two commands of a fresh Debian 12 machine are `make demo` and `make test`.
BUILD      ?= build
BUILD_SAN  ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all deps build build-asan demo test test-fast test-reader bench bench-micro clean format

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(BUILD_SAN)/CMakeCache.txt:
	cmake -S . -B $(BUILD_SAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DREKAP_SANITIZE=ON

build-asan: deps $(BUILD_SAN)/CMakeCache.txt
	cmake --build $(BUILD_SAN) -j $(JOBS) --target rekap_tests rekap

demo: build
	./$(BUILD)/rekap demo --db $(BUILD)/demo.db

# Every test, then the library's tests again under ASan+UBSan.
test: build build-asan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -LE slow

# The form reader (issue 3, in progress): its packages, build and tests. Not part of `make test` yet.
test-reader:
	REKAP_WITH_READER=1 ./scripts/install-deps.sh
	cmake -S . -B build-reader $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREKAP_READER=ON
	cmake --build build-reader -j $(JOBS)
	cd build-reader && ctest --output-on-failure -j $(JOBS) -L reader

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE slow

# The whole country through the ingest path, with the raw SQLite baseline (needs ../shared).
bench: build
	./$(BUILD)/rekap bench ingest --tps all

# Google Benchmark micro-benchmarks of the parts, each beside its baseline.
bench-micro: deps $(BUILD)/CMakeCache.txt
	cmake -S . -B $(BUILD) -DREKAP_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS) --target rekap_bench
	./$(BUILD)/rekap_bench

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_SAN)
