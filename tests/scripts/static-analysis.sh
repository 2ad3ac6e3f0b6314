#!/usr/bin/env bash
# Static analysis of lib/ and examples/ (tests/ is not analysed):
#
#  1. cppcheck (Debian 12's 2.10) with the include paths and definitions of
#     the real build (compile_commands.json of a build configured here),
#     Debian's library configurations for POSIX, OpenSSL and libcurl and
#     ours for cJSON (tests/scripts/cppcheck/cjson.cfg), the checks
#     warning, style, performance and portability. Whole checks turned off
#     are listed with their reasons in tests/scripts/cppcheck/suppressions.txt;
#     a single finding is suppressed where it is, with a reason:
#       // cppcheck-suppress ID ; why it is not a defect
#  2. clang's analyzer (scan-build, clang-tools 14) over a fresh build of the
#     library and the examples (GAUTH_BUILD_TESTS=OFF), with its default
#     checkers plus the security and UNIX API ones below.
#
# Any finding of either fails the script (exit status 1).
#
# Usage: tests/scripts/static-analysis.sh BUILD_DIR
#          BUILD_DIR holds the build, cppcheck's work files and scan-build's
#          HTML reports (BUILD_DIR/scan-build/...); it is created if missing.
#        tests/scripts/static-analysis.sh --self-test BUILD_DIR
#          analyses tests/static/known_bad.c (a NULL dereference and a use
#          after free) with the same settings and succeeds only when BOTH
#          tools report it: the check can fail.
# JOBS (default 2) sets the parallelism of both tools.
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
self_test=0
if [ "${1:-}" = --self-test ]; then
  self_test=1
  shift
fi
[ $# -eq 1 ] || {
  echo "usage: $0 [--self-test] BUILD_DIR" >&2
  exit 2
}
mkdir -p "$1" || exit 2
work=$(cd "$1" && pwd)
jobs=${JOBS:-2}

cppcheck=$(command -v cppcheck || true)
scan_build=$(command -v scan-build-14 || command -v scan-build || true)
if [ -z "$cppcheck" ] || [ -z "$scan_build" ]; then
  echo "static-analysis: needs cppcheck and scan-build (Debian: cppcheck clang-tools)" >&2
  exit 1
fi

cfg=$src/tests/scripts/cppcheck
cppcheck_opts=(
  --enable=warning,style,performance,portability
  --library=posix --library=openssl --library=libcurl
  --library="$cfg/cjson.cfg"
  --suppressions-list="$cfg/suppressions.txt"
  --inline-suppr
  --error-exitcode=1
  --quiet
  --template='{file}:{line}:{column}: {severity}: {message} [{id}]'
)
# clang's default checkers (core, unix, deadcode, nullability, security's
# defaults, ...) plus these, each clean on this tree.
scan_opts=(
  --status-bugs
  -enable-checker security.FloatLoopCounter
  -enable-checker security.insecureAPI.rand
  -enable-checker security.insecureAPI.strcpy
  -enable-checker optin.portability.UnixAPI
  -enable-checker valist
)

# The findings of a build log under scan-build: the analyzer's warnings
# carry a [checker] tag ([core.NullDereference], [unix.Malloc], ...).
analyzer_findings() {
  grep -E 'warning: .*\[(core|unix|deadcode|security|nullability|optin|valist|alpha|apiModeling|cplusplus)\.' "$1" |
    sort -u
}

if [ "$self_test" = 1 ]; then
  bad=$src/tests/static/known_bad.c
  rc=0
  out=$("$cppcheck" "${cppcheck_opts[@]}" --std=c11 -I "$src/include" "$bad" 2>&1)
  if [ $? -ne 0 ] && grep -q 'known_bad.c:.*nullPointer' <<< "$out"; then
    echo "cppcheck reports the known bug:"
    grep -E '^[^ ]+:[0-9]+:[0-9]+: ' <<< "$out" | sed 's/^/  /'
  else
    echo "$out"
    echo "static-analysis self-test: cppcheck did not fail on $bad"
    rc=1
  fi
  rm -rf "$work/self-test"
  mkdir -p "$work/self-test"
  log=$work/self-test/scan-build.log
  # scan-build sets CC to its compiler wrapper, which analyses what it
  # compiles, as it does for the real build.
  "$scan_build" "${scan_opts[@]}" -o "$work/self-test/report" \
    sh -c '"$CC" -std=c11 -c "$1" -o "$2"' sh "$bad" "$work/self-test/known_bad.o" \
    > "$log" 2>&1
  sb=$?
  if [ $sb -ne 0 ] && analyzer_findings "$log" | grep -q NullDereference &&
     analyzer_findings "$log" | grep -q 'unix.Malloc'; then
    echo "scan-build reports the known bugs:"
    analyzer_findings "$log" | sed 's/^/  /'
  else
    cat "$log"
    echo "static-analysis self-test: scan-build did not fail on $bad (exit status $sb)"
    rc=1
  fi
  exit $rc
fi

rc=0
t0=$(date +%s)

# ---- the build both tools read ---------------------------------------------
# Configured under scan-build, so that the compiler is its wrapper; the
# compile commands give cppcheck the same include paths and definitions.
build=$work/build
if ! "$scan_build" cmake -S "$src" -B "$build" -DGAUTH_BUILD_TESTS=OFF \
     -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
     > "$work/configure.log" 2>&1; then
  cat "$work/configure.log"
  echo "static-analysis: cmake could not configure $build"
  exit 1
fi

# ---- 1. cppcheck ------------------------------------------------------------
# A fresh work folder each run: its results are cached per file, and a stale
# cache would hide a change of the configuration files.
rm -rf "$work/cppcheck"
mkdir -p "$work/cppcheck"
t1=$(date +%s)
"$cppcheck" "${cppcheck_opts[@]}" -j "$jobs" \
  --project="$build/compile_commands.json" \
  --file-filter="$src/lib/*" --file-filter="$src/examples/*" \
  --cppcheck-build-dir="$work/cppcheck" \
  > "$work/cppcheck.log" 2>&1
cc_rc=$?
findings=$(grep -cE '^[^ ]+:[0-9]+:[0-9]+: ' "$work/cppcheck.log")
files=$(grep -c '"file"' "$build/compile_commands.json")
if [ $cc_rc -eq 0 ] && [ "$findings" -eq 0 ]; then
  echo "cppcheck: no findings in lib/ and examples/ ($(( $(date +%s) - t1 )) s)"
else
  cat "$work/cppcheck.log"
  echo "cppcheck: $findings finding(s) (exit status $cc_rc); fix each, or suppress a false positive where it is:"
  echo "  // cppcheck-suppress ID ; reason"
  rc=1
fi
[ "$files" -gt 0 ] || { echo "cppcheck: no compile commands in $build"; rc=1; }

# ---- 2. clang's analyzer -------------------------------------------------------
# --clean-first: an up-to-date object would be skipped, and so not analysed.
t1=$(date +%s)
rm -rf "$work/scan-build"
"$scan_build" "${scan_opts[@]}" -o "$work/scan-build" \
  cmake --build "$build" --clean-first -j "$jobs" > "$work/scan-build.log" 2>&1
sb_rc=$?
reports=$(analyzer_findings "$work/scan-build.log")
if [ $sb_rc -eq 0 ] && [ -z "$reports" ] &&
   grep -q 'scan-build: No bugs found' "$work/scan-build.log"; then
  echo "scan-build: no bugs found in lib/ and examples/ ($(( $(date +%s) - t1 )) s)"
else
  grep -E 'error|warning' "$work/scan-build.log" | grep -v '^scan-build:' | head -n 60
  grep '^scan-build:' "$work/scan-build.log"
  echo "scan-build: reports (exit status $sb_rc); HTML in $work/scan-build"
  rc=1
fi
echo "static-analysis: done in $(( $(date +%s) - t0 )) s"
exit $rc
