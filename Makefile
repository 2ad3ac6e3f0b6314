# A thin wrapper over CMake for the README's commands. Everything real lives in
# CMakeLists.txt and tests/scripts/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build test demo bench-receiver install clean fresh-debian deb deb-check

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
