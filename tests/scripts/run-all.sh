#!/usr/bin/env bash
# Everything `make test` runs, in order. Each stage prints "==> stage"; the
# last line is the summary "make test: N passed, N failed".
#
#  1. gcc build with -Werror; the whole suite (ctest).
#  2. clang build with ASan + UBSan and -Werror; the whole suite, failing on
#     any sanitizer report (reports go to files: a leak in a Criterion child
#     does not change its exit status).
#  3. valgrind over the unit tests and the concurrency programs, failing on
#     any error or definite leak in any process.
#  4. The two leak checks are shown to fail on a deliberately leaking test.
#  5. ThreadSanitizer build of the concurrency programs.
#  6. Install into a temporary prefix; consumers via pkg-config (shared and
#     static) and find_package; only gauth_* exported.
#  7. Fuzz targets, briefly.
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
jobs=${JOBS:-2}
work=$src/build-test
mkdir -p "$work"
started=$(date +%s)
passed=0
failed=0
failures=()

# The test environment (tests/test-env.list) for what runs outside ctest.
while IFS= read -r line; do
  case "$line" in
    '#'*|'') ;;
    -*) unset "${line#-}" ;;
    *=*) export "$line" ;;
  esac
done < "$src/tests/test-env.list"
mkdir -p "$work/no-gcloud-config"
export CLOUDSDK_CONFIG=$work/no-gcloud-config
export GAUTH_TEST_VECTORS=$src/../shared/vectors

stage() { echo; echo "==> $* ($(( $(date +%s) - started )) s)"; }
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); echo "FAIL: $*"; }

# Runs ctest in a build dir; counts each test; extra args go to ctest.
run_ctest() {
  local dir=$1 name=$2
  shift 2
  local log=$work/ctest-$name.log
  ctest --test-dir "$dir" --output-on-failure --timeout 300 "$@" > "$log" 2>&1
  local rc=$?
  grep -E '^ *[0-9]+/[0-9]+ Test' "$log" | sed "s/^/[$name] /"
  local p f
  p=$(grep -cE '^ *[0-9]+/[0-9]+ Test .* Passed' "$log")
  f=$(grep -cE '^ *[0-9]+/[0-9]+ Test .*(Failed|Exception|Timeout|Not Run)' "$log")
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$rc" -ne 0 ]; then
    sed -n '/The following tests FAILED/,$p' "$log"
    grep -B2 -A12 -E 'Assertion Failed|\[FAIL\]|CRASH' "$log" | head -n 80
    [ "$f" -gt 0 ] || { failed=$((failed + 1)); }
    failures+=("ctest ($name): see $log")
  elif [ "$p" -eq 0 ]; then
    fail "ctest ($name) ran no test"
  fi
}

# Lists the files of a directory of sanitizer / valgrind logs with a report.
reports_in() {
  grep -lE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|LeakSanitizer|AddressSanitizer|runtime error|ThreadSanitizer' \
    "$1"/* 2>/dev/null || true
}

# Fails when a directory of sanitizer / valgrind logs holds a report.
check_reports() {
  local dir=$1 what=$2
  local bad
  bad=$(reports_in "$dir")
  if [ -n "$bad" ]; then
    for f in $bad; do echo "--- $f"; head -n 40 "$f"; done
    fail "$what: reports in $dir"
    return 1
  fi
  pass "$what: no reports"
  return 0
}

build() {
  local dir=$1
  shift
  if ! cmake -S "$src" -B "$dir" "$@" > "$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"; return 1
  fi
  cmake --build "$dir" -j "$jobs" > "$dir.build.log" 2>&1 || {
    grep -E 'error|warning' "$dir.build.log" | head -n 60; return 1; }
}

# ---- 1. gcc -Werror, full suite ---------------------------------------------
stage "gcc build (-Werror) and full suite"
gcc_dir=$work/gcc
if build "$gcc_dir" -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
     -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAUTH_WERROR=ON; then
  pass "gcc build, warning-free, every header alone in C11 and C++"
  run_ctest "$gcc_dir" gcc
else
  fail "gcc build"
fi

# ---- 2. clang ASan + UBSan ----------------------------------------------------
stage "clang build with ASan + UBSan (-Werror) and full suite"
asan_dir=$work/asan
asan_logs=$work/asan-logs
rm -rf "$asan_logs"; mkdir -p "$asan_logs"
if build "$asan_dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
     -DCMAKE_BUILD_TYPE=Debug -DGAUTH_SANITIZE=ON -DGAUTH_WERROR=ON; then
  pass "clang build, warning-free"
  ASAN_OPTIONS=detect_leaks=1:log_path=$asan_logs/asan \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$asan_logs/ubsan \
    run_ctest "$asan_dir" asan
  check_reports "$asan_logs" "ASan/UBSan/LSan"
else
  fail "clang sanitizer build"
fi

# ---- 3. valgrind --------------------------------------------------------------
stage "valgrind: unit tests and concurrency programs"
vg_logs=$work/valgrind-logs
rm -rf "$vg_logs"; mkdir -p "$vg_logs"
vg() {
  valgrind --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite \
    --error-exitcode=1 --log-file="$vg_logs/vg.%p" "$@"
}
if [ -d "$gcc_dir/tests" ]; then
  for t in "$gcc_dir"/tests/test_*; do
    case "$t" in *.*) continue ;; esac
    if [ -f "$src/tests/unit/$(basename "$t").c" ]; then
      if vg "$t" --jobs=1 > "$vg_logs/out.$(basename "$t")" 2>&1; then
        pass "valgrind $(basename "$t")"
      else
        fail "valgrind $(basename "$t") (exit status)"
      fi
    fi
  done
  for t in "$gcc_dir"/tests/conc_*; do
    if vg "$t" > "$vg_logs/out.$(basename "$t")" 2>&1; then
      pass "valgrind $(basename "$t")"
    else
      fail "valgrind $(basename "$t") (exit status)"
    fi
  done
  check_reports "$vg_logs" "valgrind"
fi

# ---- 4. the leak checks catch a leak -----------------------------------------
stage "the leak checks fail on a deliberately leaking test"
probe=$work/leak-probe
rm -rf "$probe"; mkdir -p "$probe/vg" "$probe/asan"
valgrind --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite \
  --log-file="$probe/vg/vg.%p" "$gcc_dir/tests/harness_leak" > /dev/null 2>&1
if [ -n "$(reports_in "$probe/vg")" ]; then
  pass "valgrind check catches a leak in a Criterion child"
else
  fail "valgrind check missed a deliberate leak"
fi
ASAN_OPTIONS=detect_leaks=1:log_path=$probe/asan/asan \
  "$asan_dir/tests/harness_leak" > /dev/null 2>&1
if [ -n "$(reports_in "$probe/asan")" ]; then
  pass "LeakSanitizer check catches a leak in a Criterion child"
else
  fail "LeakSanitizer check missed a deliberate leak"
fi

# ---- 5. ThreadSanitizer -------------------------------------------------------
stage "ThreadSanitizer: concurrency programs"
tsan_dir=$work/tsan
conc_targets=$(sed -n 's/^set(GAUTH_CONCURRENCY_TESTS \(.*\))/\1/p' "$src/tests/CMakeLists.txt")
if cmake -S "$src" -B "$tsan_dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
     -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAUTH_TSAN=ON -DGAUTH_BUILD_EXAMPLES=OFF \
     > "$tsan_dir.configure.log" 2>&1 &&
   cmake --build "$tsan_dir" -j "$jobs" --target $(printf 'conc_%s ' $conc_targets) \
     > "$tsan_dir.build.log" 2>&1; then
  supp=$src/tests/concurrency/tsan.supp
  topts="halt_on_error=1:exitcode=66:second_deadlock_stack=1"
  [ -f "$supp" ] && topts="$topts:suppressions=$supp"
  TSAN_OPTIONS=$topts run_ctest "$tsan_dir" tsan -L concurrency
else
  tail -n 40 "$tsan_dir.build.log" 2>/dev/null
  fail "ThreadSanitizer build"
fi

# ---- 6. install and consumers ------------------------------------------------
stage "install, pkg-config and find_package consumers, exported symbols"
if [ -d "$gcc_dir" ] && bash "$src/tests/scripts/check-install.sh" "$gcc_dir" "$work/install"; then
  pass "install and consumers"
else
  fail "install and consumers"
fi

# ---- 7. fuzzing ----------------------------------------------------------------
if [ -f "$src/tests/scripts/fuzz.sh" ]; then
  stage "fuzz targets (${FUZZ_SECONDS:-15} s each)"
  if FUZZ_SECONDS=${FUZZ_SECONDS:-15} FUZZ_BUILD=$work/fuzz bash "$src/tests/scripts/fuzz.sh"; then
    pass "fuzz targets"
  else
    fail "fuzz targets"
  fi
fi

echo
echo "==> done in $(( $(date +%s) - started )) s"
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "make test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
