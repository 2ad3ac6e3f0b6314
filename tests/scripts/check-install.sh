#!/usr/bin/env bash
# Installs a build into a temporary prefix and checks what a user gets: the
# files, the exported symbols, the SONAME, pkg-config consumers (shared and
# static), find_package consumers (shared and static) and the gauth binary.
# Usage: check-install.sh BUILD_DIR WORK_DIR
set -euo pipefail
build=$1
work=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"

fail() { echo "check-install: FAIL: $*" >&2; exit 1; }
ok() { echo "check-install: ok: $*"; }

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
libdir=$(find "$prefix" -name 'libgauth.so' -printf '%h\n' | head -n1)
[ -n "$libdir" ] || fail "libgauth.so not installed"
for f in "$libdir/libgauth.a" "$libdir/pkgconfig/gauth.pc" \
         "$libdir/cmake/gauth/gauthConfig.cmake" \
         "$libdir/cmake/gauth/gauthConfigVersion.cmake" \
         "$prefix/include/gauth/gauth.h" "$prefix/include/gauth/version.h" \
         "$prefix/bin/gauth"; do
  [ -e "$f" ] || fail "missing $f"
done
ok "installed files"
# The bash completion where bash-completion looks, and the man pages when the
# build made them (GAUTH_MAN_PAGES: pandoc was there).
[ -f "$prefix/share/bash-completion/completions/gauth" ] ||
  fail "missing share/bash-completion/completions/gauth"
if grep -q '^GAUTH_MAN_PAGES:BOOL=ON' "$build/CMakeCache.txt"; then
  for f in man1/gauth.1 man1/gauth-emulator.1 man3/libgauth.3 \
           man3/gauth_verifier_verify.3 man3/gauth_verifier_free.3; do
    [ -s "$prefix/share/man/$f" ] || fail "missing share/man/$f"
  done
  MANPATH=$prefix/share/man man -w gauth_verifier_verify > /dev/null 2>&1 ||
    fail "man -w gauth_verifier_verify does not find the installed page"
  ok "man pages ($(find "$prefix/share/man" -type f | wc -l) files) and bash completion"
else
  ok "bash completion (no man pages: GAUTH_MAN_PAGES is OFF)"
fi

# Only gauth_* symbols leave the shared library.
exported=$(nm -D --defined-only "$libdir/libgauth.so" | awk '{print $3}')
[ -n "$exported" ] || fail "no exported symbols"
others=$(printf '%s\n' "$exported" | grep -v '^gauth_' || true)
[ -z "$others" ] || fail "exported symbols not named gauth_*: $others"
ok "exports only gauth_* ($(printf '%s\n' "$exported" | wc -l) symbols)"

soname=$(readelf -d "$libdir/libgauth.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
major=$(sed -n 's/#define GAUTH_VERSION_MAJOR \([0-9]*\)/\1/p' "$prefix/include/gauth/version.h")
minor=$(sed -n 's/#define GAUTH_VERSION_MINOR \([0-9]*\)/\1/p' "$prefix/include/gauth/version.h")
# While the major is 0 a minor release may break the ABI: MAJOR.MINOR.
if [ "$major" = 0 ]; then want_so=libgauth.so.0.$minor; else want_so=libgauth.so.$major; fi
[ "$soname" = "$want_so" ] || fail "SONAME is '$soname', want $want_so"
ok "SONAME $soname"

export PKG_CONFIG_PATH=$libdir/pkgconfig
pkg-config --exists gauth || fail "pkg-config cannot find gauth"
cc -std=c11 -Wall -Werror "$src/tests/consumers/consumer.c" -o "$work/pc_shared" \
  $(pkg-config --cflags --libs gauth)
LD_LIBRARY_PATH=$libdir "$work/pc_shared" || fail "pkg-config shared consumer"
# ldd's output is read whole before grep -q looks at it: under pipefail a
# pipe into grep -q fails when grep exits before ldd has written everything.
linked() { local deps; deps=$(ldd "$1") && grep -q 'libgauth\.so' <<< "$deps"; }
linked "$work/pc_shared" || fail "pc_shared not linked to libgauth.so"
ok "pkg-config shared consumer"

# Static: the archive by name, everything else from `pkg-config --static`.
static_libs=$(pkg-config --static --libs gauth | sed 's/-lgauth\b/-l:libgauth.a/')
cc -std=c11 -Wall -Werror "$src/tests/consumers/consumer.c" -o "$work/pc_static" \
  $(pkg-config --cflags gauth) $static_libs
if linked "$work/pc_static"; then
  fail "pc_static links libgauth.so"
fi
env -u LD_LIBRARY_PATH "$work/pc_static" || fail "pkg-config static consumer"
ok "pkg-config static consumer"

cmake -S "$src/tests/consumers/cmake" -B "$work/fp" -DCMAKE_PREFIX_PATH="$prefix" \
  > "$work/fp.log" 2>&1 || { cat "$work/fp.log"; fail "find_package configure"; }
cmake --build "$work/fp" > "$work/fp-build.log" 2>&1 || { cat "$work/fp-build.log"; fail "find_package build"; }
"$work/fp/consumer_shared" || fail "find_package shared consumer"
linked "$work/fp/consumer_static" && fail "consumer_static links libgauth.so"
"$work/fp/consumer_static" || fail "find_package static consumer"
ok "find_package(gauth) consumers (gauth::gauth, gauth::gauth_static)"

# The package's version rule says what the SONAME says: while the major is 0,
# a program written for an earlier minor version is not compatible (from 1.0
# on, it is).
other_minor=$((minor > 0 ? minor - 1 : 0))
mkdir -p "$work/fp-compat"
printf 'cmake_minimum_required(VERSION 3.20)\nproject(c LANGUAGES C)\nfind_package(gauth %s.%s CONFIG REQUIRED)\n' \
  "$major" "$other_minor" > "$work/fp-compat/CMakeLists.txt"
if cmake -S "$work/fp-compat" -B "$work/fp-compat/b" -DCMAKE_PREFIX_PATH="$prefix" \
     > "$work/fp-compat.log" 2>&1; then
  [ "$major" = 0 ] && fail "find_package(gauth $major.$other_minor) accepted $major.$minor"
else
  [ "$major" = 0 ] || fail "find_package(gauth $major.$other_minor) refused $major.$minor"
fi
ok "find_package(gauth $major.$other_minor) against $major.$minor: as the SONAME $soname says"

out=$(env -u LD_LIBRARY_PATH "$prefix/bin/gauth" version)
case "$out" in
  "gauth "*) ok "installed gauth runs: $out" ;;
  *) fail "installed gauth printed: $out" ;;
esac
