#!/usr/bin/env bash
# Everything `make test` runs, in order. Each stage prints "==> stage"; the
# last line is the summary "make test: N passed, N failed".
#
#  0. Every C file is formatted as .clang-format says.
#  1. gcc build with -Werror; the whole suite (ctest).
#  1b. Static analysis of lib/ and examples/: cppcheck and clang's analyzer
#     (tests/scripts/static-analysis.sh), run while stage 1's suite runs,
#     and shown to fail on a known-bad file.
#  2. clang build with ASan + UBSan and -Werror; the whole suite, failing on
#     any sanitizer report (reports go to files: a leak in a Criterion child
#     does not change its exit status).
#  3. valgrind over the unit tests and the concurrency programs, the emulator
#     and the receiver under load, failing on any error or definite leak in
#     any process.
#  4. The two leak checks are shown to fail on a deliberately leaking test.
#  5. ThreadSanitizer build of the concurrency programs.
#  6. Install into a temporary prefix; consumers via pkg-config (shared and
#     static) and find_package; only gauth_* exported.
#  7. Interop, gcc and ASan builds: npm jose and Debian's PyJWT; against
#     gauth-emulator, npm google-auth-library / gcp-metadata / jose and
#     Debian's python3-google-auth (node packages from the lockfile in
#     tests/interop/node, npm ci into build-test/interop-node); a benchmark
#     smoke run.
#  8. Fuzz targets, briefly (started in the background during stage 3's
#     emulator run).
#  9. What a newcomer meets: HEAD cloned into a fresh folder, `make demo`
#     there with its own build folder, and every code block of README.md
#     run as written (tests/scripts/check-newcomer.sh).
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
jobs=${JOBS:-2}
# Tests at a time in the gcc and ASan suites: twice the cores. Most of the
# suite waits on sockets, clocks, fault delays and child processes, not the
# CPU (measured on 2 cores, idle, gcc build: -j2 267 s wall for 309 s of
# CPU, 58% busy; -j4 173 s for 302 s, every test passing).
ctest_jobs=${CTEST_JOBS:-$((jobs * 2))}
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
# The RSA keys the tests use (tests/support/test_keys.h): generated afresh in
# each run, by the first test that needs one, and shared by every build's
# tests in the run (under valgrind, test_key's 3072-bit key took 194 s).
export GAUTH_TEST_KEY_CACHE=$work/test-keys
rm -rf "$GAUTH_TEST_KEY_CACHE"
mkdir -p "$GAUTH_TEST_KEY_CACHE"

stage() { echo; echo "==> $* ($(( $(date +%s) - started )) s)"; }
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); echo "FAIL: $*"; }

# Prints what each failed test of a ctest log printed (ctest's
# --output-on-failure puts it under the test's result line): its first 25
# lines, its last 15, and between them the lines that name a failure, for
# at most 6 tests.
failed_output() {
  awk '
    /^ *[0-9]+\/[0-9]+ Test +#/ || /^The following tests/ || /tests passed, / {
      if (name != "") flush()
      name = ""
      if ($0 ~ /(Failed|Exception|Timeout|Not Run)/ && ++shown <= 6) {
        name = $0; n = 0
      }
      next
    }
    /^ +Start +[0-9]+: / { next }
    name != "" { lines[++n] = $0 }
    function flush(   i, m) {
      print "--- output of " name
      for (i = 1; i <= n; i++)
        if (i <= 25 || i > n - 15) print "  " lines[i]
        else if (lines[i] ~ /FAIL|MISMATCH|Assertion|ERROR|[Ee]rror:|Sanitizer/ &&
                 ++m <= 20)
          print "  [" i "] " lines[i]
        else if (i == 26) print "  [... lines 26-" (n - 15) ", those naming a failure shown ...]"
    }
    END { if (name != "") flush() }
  ' "$1"
}

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
    failed_output "$log"
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
    local f names=
    for f in $bad; do
      echo "--- $f"; head -n 40 "$f"
      # The file (PREFIX.EXE.PID with log_exe_name=1) and its first summary,
      # in the failure line, which is what a short excerpt of the log keeps.
      # Criterion's children are all "boxfort-worker": the first frame in
      # the tree's own code says which test.
      names="$names $(basename "$f")[$(grep -m 1 -oE '(SUMMARY|ERROR): .{0,100}' "$f" || head -c 100 "$f"); $(grep -m 1 -oE 'in [A-Za-z0-9_]+ [^ ]*/(lib|tests|examples)/[^ ]+\.c:[0-9]+' "$f")]"
    done
    fail "$what: reports in $dir:$names"
    return 1
  fi
  pass "$what: no reports"
  return 0
}

# The fuzz targets (stage 8) run for a fixed time on one core each, one
# after the other (14 targets at 5 s: about the 75 s five targets took at
# 15 s; `make fuzz` is the long run); they start in the background while valgrind runs the
# emulator under emu_load (one core: valgrind runs one thread at a time) and
# stage 8 waits for them and prints their output.
fuzz_log=$work/fuzz.log
fuzz_pid=
start_fuzz() {
  [ -f "$src/tests/scripts/fuzz.sh" ] && [ -z "$fuzz_pid" ] || return 0
  FUZZ_SECONDS=${FUZZ_SECONDS:-5} FUZZ_BUILD=$work/fuzz JOBS=1 \
    bash "$src/tests/scripts/fuzz.sh" > "$fuzz_log" 2>&1 &
  fuzz_pid=$!
}

# Static analysis (stage 1b) runs in the background, at a lower priority,
# while stage 1's suite runs (most of its tests wait on sockets, clocks and
# children, not the CPU); stage 1b waits for it and prints its output.
static_log=$work/static-analysis.log
static_pid=
start_static_analysis() {
  [ -z "$static_pid" ] || return 0
  (
    t0=$(date +%s)
    JOBS=$jobs nice -n 10 bash "$src/tests/scripts/static-analysis.sh" \
      "$work/static" > "$static_log" 2>&1
    rc=$?
    echo "static-analysis: wall time $(( $(date +%s) - t0 )) s" >> "$static_log"
    exit $rc
  ) &
  static_pid=$!
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

# ---- 0. formatting -------------------------------------------------------------
stage "format: clang-format (.clang-format) on every tracked C file"
if sh "$src/tests/scripts/check-format.sh" "$src"; then
  pass "every C file as .clang-format says"
else
  fail "formatting (tests/scripts/check-format.sh)"
fi

# ---- 1. gcc -Werror, full suite ---------------------------------------------
stage "gcc build (-Werror) and full suite"
gcc_dir=$work/gcc
if build "$gcc_dir" -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
     -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAUTH_WERROR=ON; then
  pass "gcc build, warning-free, every header alone in C11 and C++"
  # $ctest_jobs tests at a time (above). Tests that share the fixture's
  # emulator hold RESOURCE_LOCK gauth_emulator_state; the others start
  # emulators of their own.
  start_static_analysis
  run_ctest "$gcc_dir" gcc -j "$ctest_jobs"
else
  fail "gcc build"
fi

# ---- 1b. static analysis --------------------------------------------------------
stage "static analysis: cppcheck and clang's analyzer on lib/ and examples/ (started with stage 1's suite)"
start_static_analysis
wait "$static_pid"
static_rc=$?
cat "$static_log"
if [ "$static_rc" -eq 0 ]; then
  pass "static analysis: cppcheck and scan-build clean ($(tail -n 1 "$static_log" | sed 's/^static-analysis: //'))"
else
  fail "static analysis (see above; $work/static)"
fi
# The check can fail: both tools must report tests/static/known_bad.c.
if bash "$src/tests/scripts/static-analysis.sh" --self-test "$work/static" \
     > "$work/static-analysis-self-test.log" 2>&1; then
  pass "static analysis fails on a deliberately wrong file (tests/static/known_bad.c)"
else
  cat "$work/static-analysis-self-test.log"
  fail "static analysis missed the bugs of tests/static/known_bad.c"
fi

# ---- 2. clang ASan + UBSan ----------------------------------------------------
stage "clang build with ASan + UBSan (-Werror) and full suite"
asan_dir=$work/asan
asan_logs=$work/asan-logs
rm -rf "$asan_logs"; mkdir -p "$asan_logs"
if build "$asan_dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
     -DCMAKE_BUILD_TYPE=Debug -DGAUTH_SANITIZE=ON -DGAUTH_WERROR=ON; then
  pass "clang build, warning-free"
  ASAN_OPTIONS=detect_leaks=1:log_exe_name=1:log_path=$asan_logs/asan \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_exe_name=1:log_path=$asan_logs/ubsan \
    run_ctest "$asan_dir" asan -j "$ctest_jobs"
  check_reports "$asan_logs" "ASan/UBSan/LSan"
else
  fail "clang sanitizer build"
fi

# ---- 3. valgrind --------------------------------------------------------------
stage "valgrind: unit tests and concurrency programs"
vg_logs=$work/valgrind-logs
rm -rf "$vg_logs"; mkdir -p "$vg_logs"
vg() {
  valgrind --trace-children=yes --trace-children-skip='*/gauth-emulator' \
    --leak-check=full --errors-for-leak-kinds=definite \
    --error-exitcode=1 --log-file="$vg_logs/vg.%p" "$@"
}
if [ -d "$gcc_dir/tests" ]; then
  # Under valgrind each test process pays its start-up again (~1 s of ~1.5 s
  # a Criterion test takes), and Criterion's libgit2 parses the system CA
  # bundle in each: tests/harness/no_ca_bundle.c (preloaded) skips that.
  vg_preload=$gcc_dir/tests/libgauth_test_no_ca_bundle.so
  [ -f "$vg_preload" ] || vg_preload=
  # The unit programs (two Criterion workers each: each test child is traced
  # on its own) and the concurrency programs, two programs at a time, so
  # that one program's start-up and last tests (one valgrind process: one
  # core) overlap the other's (measured on six small programs: 89-107 s
  # one at a time, 63-66 s two at a time); the longest first, so that the
  # queue does not end on one long program alone. The results are printed
  # afterwards, in order.
  vg_rc=$work/valgrind-rc
  rm -rf "$vg_rc"; mkdir -p "$vg_rc"
  units=() concs=() queue=()
  for t in "$gcc_dir"/tests/test_*; do
    case "$t" in *.*) continue ;; esac
    [ -f "$src/tests/unit/$(basename "$t").c" ] && units+=("$t")
  done
  for t in "$gcc_dir"/tests/conc_*; do
    [ -x "$t" ] && concs+=("$t")
  done
  # Seconds under valgrind, two at a time (the longest of a run on
  # 2026-12-07); the others follow in name order.
  for t in test_jws test_key test_json test_claims test_cred_service_account \
           test_iam test_config test_iam_resource test_receiver test_metadata \
           test_scheduler_job test_emu_cron test_cred_external test_error_body \
           test_base64; do
    for u in "${units[@]}"; do [ "$(basename "$u")" = "$t" ] && queue+=("$u"); done
  done
  for u in "${concs[@]}" "${units[@]}"; do
    case " ${queue[*]} " in *" $u "*) ;; *) queue+=("$u") ;; esac
  done
  for t in "${queue[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
    (
      t0=$(date +%s)
      case "$(basename "$t")" in
        # conc_cred_cache starts an emulator of its own (natively: only
        # the program itself is under valgrind).
        conc_*) GAUTH_EMULATOR_BIN=$gcc_dir/examples/emulator/gauth-emulator \
                  LD_PRELOAD=$vg_preload vg "$t" ;;
        *) LD_PRELOAD=$vg_preload vg "$t" --jobs="$jobs" ;;
      esac > "$vg_logs/out.$(basename "$t")" 2>&1
      echo "$? $(( $(date +%s) - t0 ))" > "$vg_rc/$(basename "$t")"
    ) &
  done
  wait
  for t in "${units[@]}" "${concs[@]}"; do
    read -r rc secs < "$vg_rc/$(basename "$t")" || rc=missing
    if [ "$rc" = 0 ]; then
      pass "valgrind $(basename "$t") ($secs s)"
    else
      fail "valgrind $(basename "$t") (exit status $rc)"
    fi
  done
  # The emulator under valgrind, under load: emu_load (native) starts it
  # through GAUTH_EMULATOR_WRAPPER and sends 5 000 mixed requests from 8
  # clients, each of its ~50 kinds of request ~100 times (measured: ~55 s
  # start-up under valgrind, its four RSA keys; 10 000 requests took ~80 s
  # of load). EMU_LOAD_VALGRIND_REQUESTS sets the count.
  emu_load=$gcc_dir/tests/emulator/emu_load
  emu_bin=$gcc_dir/examples/emulator/gauth-emulator
  start_fuzz
  if [ -x "$emu_load" ] && [ -x "$emu_bin" ]; then
    t0=$(date +%s)
    if GAUTH_EMULATOR_WRAPPER="valgrind --trace-children=no --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 --log-file=$vg_logs/emu.%p" \
       EMU_LOAD_REQUESTS=${EMU_LOAD_VALGRIND_REQUESTS:-5000} \
       "$emu_load" "$emu_bin" > "$vg_logs/out.emu_load" 2>&1; then
      pass "valgrind gauth-emulator under emu_load ($(( $(date +%s) - t0 )) s): $(tail -n 1 "$vg_logs/out.emu_load")"
    else
      tail -n 30 "$vg_logs/out.emu_load"
      fail "valgrind gauth-emulator under emu_load (exit status)"
    fi
    if ! ls "$vg_logs"/emu.* > /dev/null 2>&1; then
      fail "valgrind gauth-emulator under emu_load: no valgrind log"
    fi
  else
    fail "valgrind gauth-emulator under emu_load: $emu_load or $emu_bin missing"
  fi
  # examples/receiver under valgrind, under load: tests/bench/receiver-load.sh
  # (as ctest runs it in the other stages) with both receivers started
  # through GAUTH_RECEIVER_WRAPPER; the emulator and wrk run natively. 8 s of
  # load: under valgrind the first 2 s go to start-up and the first key
  # fetch (measured: ~50 answers with 2 s, thousands with 8 s; 20-35 s in
  # all).
  receiver_bin=$gcc_dir/examples/receiver/receiver
  if [ -x "$receiver_bin" ]; then
    t0=$(date +%s)
    if LOAD_SECONDS=8 GAUTH_RECEIVER_WRAPPER="valgrind --trace-children=no --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 --log-file=$vg_logs/receiver.%p" \
       bash "$src/tests/bench/receiver-load.sh" "$receiver_bin" "$emu_bin" \
         "$gcc_dir/examples/gauth/gauth" "$work/receiver-load-valgrind" \
         > "$vg_logs/out.receiver_load" 2>&1; then
      pass "valgrind receiver under load ($(( $(date +%s) - t0 )) s): $(tail -n 1 "$vg_logs/out.receiver_load")"
    else
      grep -E '^FAIL' "$vg_logs/out.receiver_load" | head -n 20
      fail "valgrind receiver under load (see $vg_logs/out.receiver_load)"
    fi
    if ! ls "$vg_logs"/receiver.* > /dev/null 2>&1; then
      fail "valgrind receiver under load: no valgrind log"
    fi
  else
    fail "valgrind receiver under load: $receiver_bin missing"
  fi
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
ASAN_OPTIONS=detect_leaks=1:log_exe_name=1:log_path=$probe/asan/asan \
  "$asan_dir/tests/harness_leak" > /dev/null 2>&1
if [ -n "$(reports_in "$probe/asan")" ]; then
  pass "LeakSanitizer check catches a leak in a Criterion child"
else
  fail "LeakSanitizer check missed a deliberate leak"
fi

# ---- 5. ThreadSanitizer -------------------------------------------------------
stage "ThreadSanitizer: concurrency programs"
tsan_dir=$work/tsan
# The names in set(GAUTH_CONCURRENCY_TESTS ...), which may span lines.
conc_targets=$(sed -n '/^set(GAUTH_CONCURRENCY_TESTS/,/)/p' "$src/tests/CMakeLists.txt" |
  tr '\n' ' ' | sed 's/^set(GAUTH_CONCURRENCY_TESTS *//; s/).*//')
if cmake -S "$src" -B "$tsan_dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
     -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAUTH_TSAN=ON -DGAUTH_BUILD_EXAMPLES=OFF \
     > "$tsan_dir.configure.log" 2>&1 &&
   cmake --build "$tsan_dir" -j "$jobs" --target $(printf 'conc_%s ' $conc_targets) \
     > "$tsan_dir.build.log" 2>&1; then
  supp=$src/tests/concurrency/tsan.supp
  topts="halt_on_error=1:exitcode=66:second_deadlock_stack=1"
  [ -f "$supp" ] && topts="$topts:suppressions=$supp"
  # The TSan build has no examples: conc_cred_cache's emulator comes from
  # the gcc build.
  GAUTH_EMULATOR_BIN=$gcc_dir/examples/emulator/gauth-emulator \
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

# ---- 7. interop, benchmark smoke run ---------------------------------------------
stage "interop: npm jose, PyJWT, and real clients against gauth-emulator (gcc and ASan builds)"
# The node packages (jose, google-auth-library, gcp-metadata) come from the
# committed lockfile tests/interop/node/package-lock.json, installed with
# npm ci into a copy of that folder here.
node_dir=$work/interop-node
lock_src=$src/tests/interop/node
if ! cmp -s "$lock_src/package-lock.json" "$node_dir/package-lock.json" ||
   [ ! -f "$node_dir/node_modules/.package-lock.json" ]; then
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  cp "$lock_src/package.json" "$lock_src/package-lock.json" "$node_dir/"
  if command -v npm > /dev/null; then
    # The test environment points every proxy at a closed port; the npm
    # registry is the one thing this run fetches from outside.
    for attempt in 1 2; do
      env -u http_proxy -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
        npm ci --no-audit --no-fund --prefix "$node_dir" \
        > "$work/npm-install.log" 2>&1 && break
      sleep 2
    done
  fi
fi
if [ -f "$node_dir/node_modules/.package-lock.json" ]; then
  versions=
  for p in jose google-auth-library gcp-metadata; do
    versions="$versions $p $(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
      "$node_dir/node_modules/$p/package.json" | head -n1)"
  done
  pass "npm ci from tests/interop/node/package-lock.json:$versions in $node_dir"
else
  tail -n 20 "$work/npm-install.log" 2>/dev/null
  fail "npm ci of tests/interop/node (npm missing or registry unreachable)"
fi
export GAUTH_INTEROP_NODE_MODULES=$node_dir/node_modules
# Here nothing may be skipped: a skip means an implementation is missing.
interop_run() {
  local dir=$1 name=$2
  run_ctest "$dir" "$name" -L interop
  if grep -q 'Skipped' "$work/ctest-$name.log"; then
    grep -h '^SKIP' "$dir"/Testing/Temporary/LastTest.log 2>/dev/null | sort -u
    fail "$name: a test was skipped"
  fi
}
[ -d "$gcc_dir/tests" ] && interop_run "$gcc_dir" interop
if [ -d "$asan_dir/tests" ]; then
  asan_interop_logs=$work/asan-logs-interop
  rm -rf "$asan_interop_logs"; mkdir -p "$asan_interop_logs"
  ASAN_OPTIONS=detect_leaks=1:log_exe_name=1:log_path=$asan_interop_logs/asan \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_exe_name=1:log_path=$asan_interop_logs/ubsan \
    interop_run "$asan_dir" interop-asan
  check_reports "$asan_interop_logs" "interop under ASan/UBSan/LSan"
fi

stage "benchmark smoke run (runs and prints every case; not a performance check)"
bench=$gcc_dir/tests/bench/gauth-bench
out=
if [ -x "$bench" ] && out=$("$bench" --duration=0.2 --rounds=2 2>&1); then
  echo "$out"
  missing=
  for c in verify-rs256 verify-es256 sign-rs256 verify-rs256-cached verify-rs256-2threads; do
    extra=
    # The verification cases also print the prepared-context floor.
    case $c in verify-rs256|verify-es256|verify-rs256-2threads) extra=" prepared=[0-9]+ ratio_prepared=[0-9.]+" ;; esac
    grep -qE "^$c impl=[0-9]+ floor=[0-9]+ ratio=[0-9.]+$extra\$" <<< "$out" || missing="$missing $c"
  done
  if [ -z "$missing" ]; then pass "gauth-bench: every case printed"
  else fail "gauth-bench: no line for$missing"; fi
  if "$bench" --callgrind verify-rs256 impl --iterations 2 > /dev/null &&
     "$bench" --callgrind verify-rs256 floor-prepared --iterations 2 > /dev/null &&
     "$bench" --callgrind sign-rs256 floor --iterations 2 > /dev/null; then
    pass "gauth-bench --callgrind mode"
  else
    fail "gauth-bench --callgrind mode"
  fi
else
  echo "$out" 2>/dev/null | tail -n 20
  fail "gauth-bench smoke run"
fi
# Credentials and detection: ~8 s, most of it gcp-metadata's 3 s timeout
# against the silent port, twice.
bench_creds=$gcc_dir/tests/bench/gauth-bench-creds
out=
if [ -x "$bench_creds" ] &&
   out=$("$bench_creds" --duration=0.2 --rounds=2 --runs=2 2>&1); then
  echo "$out"
  missing=
  for c in token-cached token-cached-2threads; do
    grep -qE "^$c impl=[0-9]+ floor=[0-9]+ ratio=[0-9.]+ impl_ns=[0-9.]+ floor_ns=[0-9.]+" <<< "$out" ||
      missing="$missing $c"
  done
  grep -qE '^token-cached-2threads .* scaling=[0-9.]+ floor_scaling=[0-9.]+$' <<< "$out" ||
    missing="$missing token-cached-2threads(scaling)"
  clients=gauth
  # With the packages installed above, the comparison must run, not skip.
  [ -f "$node_dir/node_modules/gcp-metadata/package.json" ] &&
    command -v node > /dev/null && clients="gauth gcp-metadata"
  # On Google Cloud a residency hint answers first: nothing to measure.
  grep -q '^detect-offline skipped:' <<< "$out" && clients=
  for client in $clients; do
    for addr in refused silent; do
      grep -qE "^detect-offline $addr $client median_ms=[0-9.]+ max_ms=[0-9.]+ runs=2 " <<< "$out" ||
        missing="$missing detect-offline($addr $client)"
    done
  done
  if [ -z "$missing" ]; then pass "gauth-bench-creds: every case printed"
  else fail "gauth-bench-creds: no line for$missing"; fi
  if "$bench_creds" --callgrind token-cached impl --iterations 2 > /dev/null &&
     "$bench_creds" --callgrind token-cached-2threads floor --iterations 2 > /dev/null; then
    pass "gauth-bench-creds --callgrind mode"
  else
    fail "gauth-bench-creds --callgrind mode"
  fi
else
  echo "$out" 2>/dev/null | tail -n 20
  fail "gauth-bench-creds smoke run"
fi

# ---- 8. fuzzing ----------------------------------------------------------------
if [ -f "$src/tests/scripts/fuzz.sh" ]; then
  stage "fuzz targets (${FUZZ_SECONDS:-5} s each; started during stage 3)"
  start_fuzz
  wait "$fuzz_pid"
  fuzz_rc=$?
  cat "$fuzz_log"
  if [ "$fuzz_rc" -eq 0 ]; then
    pass "fuzz targets"
  else
    fail "fuzz targets"
  fi
fi

# ---- 9. a newcomer's first commands ------------------------------------------------
stage "a fresh clone of HEAD: make demo and every README.md code block, as written"
t0=$(date +%s)
if bash "$src/tests/scripts/check-newcomer.sh" "$work/newcomer"; then
  pass "a newcomer's make demo and README.md blocks ($(( $(date +%s) - t0 )) s)"
else
  fail "a newcomer's make demo and README.md blocks (see above; $work/newcomer)"
fi

echo
echo "==> done in $(( $(date +%s) - started )) s"
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "make test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
