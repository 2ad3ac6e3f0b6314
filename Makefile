# A thin wrapper over CMake for the README's commands. Everything real lives in
# CMakeLists.txt and tests/scripts/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build test static-analysis demo bench-receiver soak fuzz install clean fresh-debian coverage deb deb-check

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

# The soak (tests/soak/soak.c): SOAK_HOURS simulated hours (24) of
# SOAK_SECONDS_PER_HOUR real seconds (10) against an emulator of its own,
# 10% faults, 8 threads; prints the figures per hour. Not part of `make test`.
SOAK_BUILD ?= build-soak
soak:
	@sh cmake/install-deps.sh test
	cmake -S . -B $(SOAK_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAUTH_BUILD_TESTS=ON $(CMAKE_FLAGS)
	cmake --build $(SOAK_BUILD) -j $(JOBS) --target gauth_soak gauth_emulator
	GAUTH_EMULATOR_BIN=$(SOAK_BUILD)/examples/emulator/gauth-emulator \
	  $(SOAK_BUILD)/tests/emulator/gauth_soak

# Fuzzing at scale (tests/scripts/fuzz.sh): every libFuzzer target (clang,
# ASan + UBSan) in a build dir of its own, each for FUZZ_RUNS executions or
# FUZZ_MAX_SECONDS seconds, whichever comes first, FUZZ_PARALLEL targets at
# a time; prints a table (executions, coverage, corpus, findings, seconds)
# and fails on any crash, leak, timeout or failed property (reproducers in
# FUZZ_BUILD/fuzz/artifacts/). A script, not CI: `make test` runs the
# targets briefly. FUZZ_TARGETS="fuzz_url fuzz_aws" runs a subset.
FUZZ_BUILD ?= build-fuzz
FUZZ_RUNS ?= 10000000
FUZZ_MAX_SECONDS ?= 3600
FUZZ_PARALLEL ?= $(JOBS)
fuzz:
	@sh cmake/install-deps.sh fuzz
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_RUNS=$(FUZZ_RUNS) \
	  FUZZ_MAX_SECONDS=$(FUZZ_MAX_SECONDS) FUZZ_PARALLEL=$(FUZZ_PARALLEL) \
	  JOBS=$(JOBS) bash tests/scripts/fuzz.sh

# `make demo` on a minimal Debian 12 root made with debootstrap, from a clone
# of HEAD (downloads Debian packages; not part of `make test`).
fresh-debian:
	@bash tests/scripts/fresh-debian.sh

# Line and branch coverage of lib/ and the emulator by the whole suite
# (gcov + lcov; tests/scripts/coverage.sh): a build of its own in
# build-coverage/, a summary, the lib/ files under 90%, an HTML report.
coverage:
	@sh cmake/install-deps.sh coverage
	@JOBS=$(JOBS) bash tests/scripts/coverage.sh

# Debian packages (docs/packaging.md): libgauth0.1, libgauth-dev and
# gauth-tools, built with dpkg-buildpackage from a copy of the tree into
# $(DEB_BUILD)/debs, then checked with lintian.
DEB_BUILD ?= build-deb
deb:
	@sh cmake/install-deps.sh deb
	@sh tools/deb/build-deb.sh $(DEB_BUILD)

# The packages of `make deb` installed into a clean Debian 12 root
# (debootstrap) and used there: the README's program built with pkg-config
# and CMake and run against gauth-emulator, gauth version, man pages, bash
# completion. Downloads Debian packages; not part of `make test`.
deb-check: deb
	@bash tools/deb/deb-check.sh $(DEB_BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) build-*
