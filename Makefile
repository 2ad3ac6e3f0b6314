# A thin wrapper over CMake for the README's commands. Everything real lives in
# CMakeLists.txt and tests/scripts/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build test static-analysis demo bench-receiver install clean fresh-debian

all: build

# The library and the examples; the tests are built by `make test`, which
# installs their dependencies.
build:
	@sh cmake/install-deps.sh build
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAUTH_BUILD_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# Every test: gcc -Werror build + suite, clang ASan/UBSan build + suite,
# valgrind, ThreadSanitizer, install + pkg-config / find_package consumers,
# exported-symbol check. See tests/scripts/run-all.sh.
test:
	@sh cmake/install-deps.sh test
	@JOBS=$(JOBS) bash tests/scripts/run-all.sh

# cppcheck and clang's analyzer (scan-build) over lib/ and examples/, in a
# build folder of their own; part of `make test` (docs/testing.md).
STATIC_BUILD ?= build-static
static-analysis:
	@sh cmake/install-deps.sh static
	@JOBS=$(JOBS) bash tests/scripts/static-analysis.sh $(STATIC_BUILD)

# Builds and runs the end-to-end example.
demo:
	@sh cmake/install-deps.sh demo
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAUTH_BUILD_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS) --target gauth_demo_programs
	@sh examples/demo.sh $(BUILD)

# The receiver's load benchmark (tests/bench/run-receiver-bench.sh): the
# receiver, the emulator and the CLI in a release build of their own, under
# wrk, against the same server without verification, HTTP alone plus raw
# OpenSSL RS256, and a Node.js peer. A benchmark, not a test: it prints a
# table and ratios. DURATION, ROUNDS, CALLGRIND=1 etc. are read by the script.
BENCH_BUILD ?= build-bench
bench-receiver:
	@sh cmake/install-deps.sh bench
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DGAUTH_BUILD_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BENCH_BUILD) -j $(JOBS) --target receiver gauth_emulator gauth_cli
	@bash tests/bench/run-receiver-bench.sh $(BENCH_BUILD)

# `make demo` on a minimal Debian 12 root made with debootstrap, from a clone
# of HEAD (downloads Debian packages; not part of `make test`).
fresh-debian:
	@bash tests/scripts/fresh-debian.sh

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) build-*
