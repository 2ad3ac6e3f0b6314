# A thin wrapper over CMake for the README's commands. Everything real lives in
# CMakeLists.txt and tests/scripts/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build test demo install clean fresh-debian

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

# `make demo` on a minimal Debian 12 root made with debootstrap, from a clone
# of HEAD (downloads Debian packages; not part of `make test`).
fresh-debian:
	@bash tests/scripts/fresh-debian.sh

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) build-*
