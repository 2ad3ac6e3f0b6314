# Sourced by the CLI test scripts that run against an emulator of their own
# (cli-tokens.sh, cli-metadata.sh, cli-iam.sh): result counting, running a
# command with its exit status checked, checks on its output, the emulator.
#
# The script sets $w (its work directory, created empty) first. Every run
# appends its stdout to $w/all-out and its stderr to $w/all-err, for the
# final "no secret anywhere" checks.

passed=0
failed=0
# The JSON checks' Python: the system's when there (Debian's
# /usr/bin/python3 starts in 40 ms; a version manager's shim first on PATH
# takes 400 ms a call, minutes over a script); else whatever PATH gives.
# bash's command hash, not a function: a background python3 must be the
# process itself, so that killing $! stops it.
if [ -x /usr/bin/python3 ]; then hash -p /usr/bin/python3 python3; fi
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() {
  failed=$((failed + 1))
  echo "FAIL: $*"
  echo "  stdout: $(head -c 800 "$w/out")"
  echo "  stderr: $(head -c 800 "$w/err")"
}
# run CODE NAME CMD...: runs CMD (stdin /dev/null), stdout to $w/out,
# stderr to $w/err, and checks the exit status.
run() {
  local want=$1 name=$2
  shift 2
  "$@" < /dev/null > "$w/out" 2> "$w/err"
  local rc=$?
  cat "$w/out" >> "$w/all-out"
  cat "$w/err" >> "$w/all-err"
  if [ "$rc" -eq "$want" ]; then ok "$name (exit $rc)"; return 0; fi
  bad "$name: exit $rc, expected $want"
  return 1
}
# has / hasnt FILE TEXT NAME: FILE holds (does not hold) TEXT, fixed string.
has() { if grep -qF -- "$2" "$1"; then ok "$3"; else bad "$3: '$2' not in $1"; fi; }
hasnt() { if grep -qF -- "$2" "$1"; then bad "$3: '$2' found in $1"; else ok "$3"; fi; }
# is FILE TEXT NAME: FILE is exactly TEXT and a final newline.
is() {
  if [ "$(cat "$1")" = "$2" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]; then
    ok "$3"
  else
    bad "$3: got '$(cat "$1")', expected '$2' and a newline"
  fi
}

# start_emulator [ARGS...]: starts gauth-emulator ($emulator) on a free
# loopback port with ARGS, stops it on exit; sets $base (http://127.0.0.1:PORT,
# the Google APIs), $host (127.0.0.1:PORT) and $run_base (the Cloud Run
# services' http://127.0.0.1:RUNPORT). Exits the script when it does not start.
start_emulator() {
  "$emulator" --listen=127.0.0.1:0 "$@" > "$w/emu.out" 2> "$w/emu.log" &
  emu=$!
  trap 'kill $emu 2> /dev/null; wait $emu 2> /dev/null' EXIT
  for _ in $(seq 300); do
    grep -q '^export GAUTH_EMULATOR_RUN_URL' "$w/emu.out" 2> /dev/null && break
    sleep 0.1
  done
  base=$(sed -n '1s/^listening //p' "$w/emu.out")
  [ -n "$base" ] || { echo "FAIL: the emulator did not start: $(cat "$w/emu.log")"; exit 1; }
  host=${base#http://}
  run_base=$(sed -n "s/^export GAUTH_EMULATOR_RUN_URL='\(.*\)'\$/\1/p" "$w/emu.out")
  [ -n "$run_base" ] || { echo "FAIL: no GAUTH_EMULATOR_RUN_URL line: $(cat "$w/emu.out")"; exit 1; }
}

# counter PATH: the emulator's request count for PATH (empty: never asked).
counter() {
  curl -sS --noproxy '*' "$base/emulator/v1/counters" |
    sed -n "s|.*\"$1\":\\([0-9]*\\).*|\\1|p"
}
# fault JSON: injects a fault through the control API.
fault() { curl -sS --noproxy '*' -o /dev/null -X POST "$base/emulator/v1/faults" -d "$1"; }

# finish NAME: the summary line; the script's exit status.
finish() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
