#!/usr/bin/env bash
# Line and branch coverage of lib/ and of the emulator (examples/emulator/)
# by the whole CTest suite: a gcc --coverage build of its own
# (build-coverage/ unless COVERAGE_BUILD says otherwise), every test run
# once, lcov (Debian's) reading the counters. Prints a summary per tree and
# the lib/ files under the line target, and writes an HTML report with
# genhtml. Exits 1 when lib/'s line coverage is under COVERAGE_MIN (90).
#
# Usage: tests/scripts/coverage.sh     (make coverage)
# Environment: COVERAGE_BUILD, COVERAGE_MIN, JOBS, CTEST_ARGS (extra ctest
# arguments, e.g. -E 'receiver_load' to skip a test).
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${COVERAGE_BUILD:-$src/build-coverage}
min=${COVERAGE_MIN:-90}
jobs=${JOBS:-$(nproc)}
info=$build/coverage.info

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DGAUTH_COVERAGE=ON \
  -DGAUTH_BUILD_TESTS=ON > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 2; }
cmake --build "$build" -j "$jobs" > "$build.build.log" 2>&1 ||
  { tail -n 40 "$build.build.log"; exit 2; }
lcov --quiet --zerocounters --directory "$build" > /dev/null 2>&1

# shellcheck disable=SC2086
ctest --test-dir "$build" -j "$jobs" --timeout 600 ${CTEST_ARGS:-} \
  > "$build/ctest.log" 2>&1
ctest_rc=$?
grep -E 'tests passed|tests failed' "$build/ctest.log"
[ "$ctest_rc" -eq 0 ] || sed -n '/The following tests FAILED/,$p' "$build/ctest.log"

lcov --quiet --capture --directory "$build" --rc lcov_branch_coverage=1 \
  --output-file "$info.all" > "$build/lcov.log" 2>&1 ||
  { tail -n 20 "$build/lcov.log"; exit 2; }

# One tree's lines and branches: "lines P% (hit of n)  branches P% (hit of n)".
summary() {
  lcov --quiet --rc lcov_branch_coverage=1 --extract "$info.all" "$1" \
    --output-file "$2" > /dev/null 2>&1
  lcov --rc lcov_branch_coverage=1 --summary "$2" 2>&1 |
    sed -n 's/^ *\(lines\|branches\)\.*: *\(.*\)$/\1 \2/p' | tr '\n' ' '
  echo
}
echo "coverage of lib/:      $(summary "$src/lib/*" "$info.lib")"
echo "coverage of emulator:  $(summary "$src/examples/emulator/*" "$info.emulator")"

# lib/ files under the target, lowest first.
echo "lib/ files under ${min}% of lines:"
lcov --rc lcov_branch_coverage=1 --list "$info.lib" 2>/dev/null |
  awk -F'|' -v min="$min" '
    /^\[/ || /^=/ || /Total/ || NF < 2 { next }
    { f = $1; gsub(/ /, "", f); l = $2; sub(/%.*/, "", l); gsub(/ /, "", l)
      if (l ~ /^[0-9.]+$/ && l + 0 < min) printf "  %-28s %6s%%\n", f, l }' |
  sort -k2 -n

genhtml --quiet --branch-coverage --output-directory "$build/html" \
  "$info.lib" "$info.emulator" > /dev/null 2>&1 &&
  echo "HTML report: $build/html/index.html"

pct=$(lcov --summary "$info.lib" 2>&1 | sed -n 's/^ *lines\.*: *\([0-9.]*\)%.*/\1/p')
[ -n "$pct" ] || { echo "coverage: no line figure for lib/"; exit 2; }
if awk -v p="$pct" -v m="$min" 'BEGIN { exit !(p + 0 >= m + 0) }'; then
  echo "PASS: lib/ line coverage ${pct}% >= ${min}%"
  [ "$ctest_rc" -eq 0 ] || { echo "but some tests failed"; exit 1; }
else
  echo "FAIL: lib/ line coverage ${pct}% < ${min}%"
  exit 1
fi
