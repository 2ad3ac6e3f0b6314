#!/bin/sh
# Installs the Debian packages that a make target needs, when any is missing.
# Usage: cmake/install-deps.sh build|test|demo|bench|coverage|fuzz|static|deb
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -eu

# libmicrohttpd: the emulator, and the gauth CLI (gauth metadata-server).
build_pkgs="cmake make gcc pkg-config libssl-dev libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev"
# The emulator and the test server use libmicrohttpd; the tests use Criterion,
# g++ (public headers must compile as C++), clang with its sanitizer and
# libFuzzer runtime, and valgrind. A static link against libgauth.a through
# `pkg-config --static` needs the -dev packages of libcurl's private
# dependencies. The CLI tests and the demo make keys with openssl; the
# interop tests run Debian's PyJWT (with python3-cryptography, only a
# Recommends of it) and python3-google-auth (with python3-requests, its
# transport) under /usr/bin/python3. The receiver's load test drives it with
# wrk. The static analysis (tests/scripts/static-analysis.sh) runs cppcheck
# and scan-build (clang-tools). The man pages are made with pandoc and
# checked with groff.
static_pkgs="libmicrohttpd-dev clang cppcheck clang-tools"
test_pkgs="libcriterion-dev libmicrohttpd-dev g++ clang libclang-rt-14-dev valgrind \
  libnghttp2-dev libidn2-dev librtmp-dev libssh2-1-dev libpsl-dev libkrb5-dev \
  libldap-dev libzstd-dev libbrotli-dev zlib1g-dev \
  clang-format git openssl python3-jwt python3-cryptography python3-google-auth python3-requests wrk \
  cppcheck clang-tools pandoc groff-base"
demo_pkgs="libmicrohttpd-dev curl"
# make bench-receiver: the receiver and the emulator (libmicrohttpd), wrk,
# openssl speed for the RS256 floor, curl for the servers' first answers,
# valgrind for the optional instruction counts; node and npm for the peer.
bench_pkgs="libmicrohttpd-dev wrk openssl curl valgrind"
# make coverage: the test suite's packages and lcov (lcov, genhtml).
coverage_pkgs="$test_pkgs lcov"
# make fuzz: clang with libFuzzer and the sanitizers' runtimes.
fuzz_pkgs="clang libclang-rt-14-dev"
# make deb / make deb-check (docs/packaging.md): dpkg-buildpackage with
# debhelper, the build dependencies of debian/control (libmicrohttpd for the
# emulator, pandoc and groff for the man pages, bash-completion for its
# install directory), lintian, and debootstrap for the clean Debian 12 root.
deb_pkgs="libmicrohttpd-dev dpkg-dev debhelper fakeroot lintian pandoc groff-base man-db \
  bash-completion debootstrap"

case "${1:-build}" in
  build) want="$build_pkgs" ;;
  test) want="$build_pkgs $test_pkgs" ;;
  demo) want="$build_pkgs $demo_pkgs" ;;
  bench) want="$build_pkgs $bench_pkgs" ;;
  coverage) want="$build_pkgs $coverage_pkgs" ;;
  fuzz) want="$build_pkgs $fuzz_pkgs" ;;
  static) want="$build_pkgs $static_pkgs" ;;
  deb) want="$build_pkgs $deb_pkgs" ;;
  *) echo "usage: $0 build|test|demo|bench|coverage|fuzz|static|deb" >&2; exit 2 ;;
esac

missing=""
# The interop tests run npm packages (jose, google-auth-library) under
# Node.js, and so does the receiver benchmark's peer; a machine without node
# gets Debian's.
if { [ "${1:-build}" = test ] || [ "${1:-build}" = bench ] ||
     [ "${1:-build}" = coverage ]; } &&
   ! command -v node > /dev/null 2>&1; then
  want="$want nodejs npm"
fi
for p in $want; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *"ok installed") ;;
    *) missing="$missing $p" ;;
  esac
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
  echo "libgauth needs these Debian packages:$missing" >&2
  echo "Install them as root, then run make again:" >&2
  echo "  apt-get update && $cmd" >&2
  exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
