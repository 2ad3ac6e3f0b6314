#!/usr/bin/env bash
# The receiver's load benchmark: examples/receiver under wrk on loopback,
# reported as ratios measured in the same run (a benchmark, not a timed
# test: on a shared machine absolute numbers move by tens of per cent).
#
# Cases (one server each, all started at once, loaded one at a time):
#   healthz       GET /healthz of the receiver: HTTP alone (H)
#   no-auth       POST / of `receiver --no-auth`: no verification
#   auth+cache    POST / with a valid ID token, verified-token cache on
#   auth no-cache POST / with --token-cache=0: RS256 verified every request
#   node peer     POST / of tests/bench/receiver_peer.mjs (node:http,
#                 node:cluster, npm google-auth-library verifyIdToken)
# Every POST carries the same ID token, minted by gauth-emulator for the
# benchmark's audience (`gauth print-identity-token`); the emulator serves
# the keys all along. V is `openssl speed -multi 2 rsa2048`'s verify/s.
#
# Ratios and their thresholds:
#   auth+cache / no-auth               >= 0.90  (auth costs <= 10% of req/s)
#   auth no-cache / (1 / (1/H + 1/V))  >= 0.70  (what HTTP alone and raw
#                                               RS256 allow together)
#   auth+cache / node peer             >= 5     (the peer as users run it;
#                                               no-cache / node is printed too)
#
# Sharing the cores: the machine this was written on has 2; wrk and the
# server under test share them. The server runs THREADS (default 2)
# threads (the receiver's --threads; the peer's cluster workers), wrk
# WRK_THREADS (default 2) threads and CONNECTIONS (default 64) connections
# (wrk -t2 -c64): with -t1 wrk alone is the bottleneck of the fast cases.
# Each case gets one warm-up run (WARMUP seconds), then ROUNDS rounds run
# every case once, interleaved, each DURATION seconds; the table shows the
# median of each column over the rounds. openssl speed runs once per round
# too (OPENSSL_SECONDS per operation, -seconds). Peak RSS is VmHWM of
# /proc/PID/status after the last round (the peer: its primary and workers
# added up).
#
# Usage: tests/bench/run-receiver-bench.sh [BUILD_DIR]   (default: build-bench)
# Environment: DURATION (default 10), ROUNDS (default 3), WARMUP (default 2),
# THREADS, WRK_THREADS, CONNECTIONS, OPENSSL_SECONDS (default 2),
# CALLGRIND=1 (instructions per request of the receiver with and without
# auth, under valgrind --tool=callgrind; REQUESTS per count, default 400),
# PROFILE=1 (the server's CPU time per request by binary, kernel included,
# for healthz and auth-no-cache, from perf record -e cpu-clock),
# STRICT=1 (exit 3 when a ratio misses its threshold), NODE_MODULES (a
# node_modules folder holding google-auth-library; default:
# $GAUTH_INTEROP_NODE_MODULES, else build-test/interop-node/node_modules of
# this checkout, where `make test` installs it, else BUILD_DIR/interop-node,
# installed there with npm ci from tests/interop/node's lockfile; without
# node or npm the peer's row is skipped, saying so), RECEIVER (the binary; default
# BUILD_DIR/examples/receiver/receiver).
# Exit status: 0 the benchmark ran (whatever the ratios, unless STRICT=1),
# 1 it could not run or an answer had the wrong status, 2 usage.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build-bench}
receiver=${RECEIVER:-$build/examples/receiver/receiver}
emulator=$build/examples/emulator/gauth-emulator
gauth=$build/examples/gauth/gauth
lua=$src/tests/bench/receiver.lua
peer=$src/tests/bench/receiver_peer.mjs
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
warmup=${WARMUP:-2}
threads=${THREADS:-2}
wrk_threads=${WRK_THREADS:-2}
conns=${CONNECTIONS:-64}
ossl_seconds=${OPENSSL_SECONDS:-2}
aud=https://receiver-bench.example/
for b in "$receiver" "$emulator" "$gauth"; do
  [ -x "$b" ] || { echo "run-receiver-bench: no $b (build targets receiver gauth_emulator gauth_cli)" >&2; exit 2; }
done
for t in wrk openssl curl; do
  command -v "$t" > /dev/null || { echo "run-receiver-bench: $t is not installed (cmake/install-deps.sh bench)" >&2; exit 2; }
done
nm=${NODE_MODULES:-${GAUTH_INTEROP_NODE_MODULES:-}}
[ -z "$nm" ] && [ -d "$src/build-test/interop-node/node_modules" ] &&
  nm=$src/build-test/interop-node/node_modules
# Without one, the lockfile's packages are installed into BUILD_DIR as
# `make test` does (npm ci; the npm registry is the one host reached).
if [ -z "$nm" ] && command -v npm > /dev/null; then
  nd=$build/interop-node
  if ! cmp -s "$src/tests/interop/node/package-lock.json" "$nd/package-lock.json" ||
     [ ! -f "$nd/node_modules/.package-lock.json" ]; then
    rm -rf "$nd"
    mkdir -p "$nd"
    cp "$src/tests/interop/node/package.json" "$src/tests/interop/node/package-lock.json" "$nd/"
    echo "run-receiver-bench: npm ci of tests/interop/node into $nd"
    env -u http_proxy -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
      npm ci --no-audit --no-fund --prefix "$nd" > "$nd.log" 2>&1 ||
      echo "run-receiver-bench: npm ci failed (see $nd.log)" >&2
  fi
  [ -f "$nd/node_modules/.package-lock.json" ] && nm=$nd/node_modules
fi
peer_skip=
if ! command -v node > /dev/null; then
  peer_skip="node is not installed"
elif [ -z "$nm" ] || [ ! -f "$nm/google-auth-library/package.json" ]; then
  peer_skip="no node_modules with google-auth-library (NODE_MODULES, or make test's build-test/interop-node)"
fi

# Loopback only: no proxy for anything started here.
unset http_proxy https_proxy HTTPS_PROXY HTTP_PROXY all_proxy ALL_PROXY
export no_proxy=localhost,127.0.0.0/8,::1 NO_PROXY=localhost,127.0.0.0/8,::1

w=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
  rm -rf "$w"
}
trap cleanup EXIT
die() { echo "run-receiver-bench: $*" >&2; exit 1; }

# wait_line FILE PATTERN WHAT PID: waits up to 30 s for a line in FILE.
wait_line() {
  local i
  for i in $(seq 300); do
    grep -q "$2" "$1" 2> /dev/null && return 0
    kill -0 "$4" 2> /dev/null || die "$3 ended before it listened: $(tail -n 5 "$1.err" 2> /dev/null)"
    sleep 0.1
  done
  die "$3 did not start in 30 s"
}

# ---- the emulator and the token ----------------------------------------------------
mkdir -p "$w/gcloud"
"$emulator" --listen=127.0.0.1:0 --key-file="$w/key.json" > "$w/emu" 2> "$w/emu.err" &
pids+=($!)
wait_line "$w/emu" '^export GOOGLE_APPLICATION_CREDENTIALS' gauth-emulator "$!"
GAUTH_ENDPOINT=$(sed -n "s/^export GAUTH_ENDPOINT='\(.*\)'\$/\1/p" "$w/emu")
export GAUTH_ENDPOINT
export GCE_METADATA_HOST=${GAUTH_ENDPOINT#http://} GCE_METADATA_IP=${GAUTH_ENDPOINT#http://}
export GAUTH_METADATA_DETECTION=none CLOUDSDK_CONFIG=$w/gcloud
unset GOOGLE_APPLICATION_CREDENTIALS
GOOGLE_APPLICATION_CREDENTIALS=$w/key.json "$gauth" print-identity-token \
  --audiences="$aud" > "$w/token" 2> "$w/token.err" ||
  die "gauth print-identity-token failed: $(cat "$w/token.err")"
WRK_TOKEN=$(cat "$w/token")
# The token must outlive the run (Google's ID tokens live one hour).
"$gauth" verify "$WRK_TOKEN" --audience="$aud" > "$w/claims" 2> "$w/claims.err" ||
  die "the minted token does not verify: $(cat "$w/claims.err")"
exp=$(sed -n 's/.*"exp":\([0-9]*\).*/\1/p' "$w/claims")
need=$(( (warmup + duration * rounds) * 5 + 2 * ossl_seconds * rounds + 120 ))
[ -n "$exp" ] && [ $(( exp - $(date +%s) )) -gt "$need" ] ||
  die "the token expires in $(( ${exp:-0} - $(date +%s) )) s; this run takes ~$need s (lower DURATION or ROUNDS)"

# ---- the servers -----------------------------------------------------------------
declare -A url pid
cases="healthz no-auth auth+cache auth-no-cache"
[ -z "$peer_skip" ] && cases="$cases node-peer"

start_server() { # start_server CASE CMD...
  local name=$1
  shift
  "$@" > "$w/srv.$name" 2> "$w/srv.$name.err" &
  pid[$name]=$!
  pids+=($!)
}
common=(--listen=127.0.0.1:0 --audience="$aud" --threads="$threads" --quiet)
start_server healthz "$receiver" "${common[@]}"
start_server no-auth "$receiver" "${common[@]}" --no-auth
start_server auth+cache "$receiver" "${common[@]}"
start_server auth-no-cache "$receiver" "${common[@]}" --token-cache=0
[ -z "$peer_skip" ] && start_server node-peer node "$peer" --node-modules="$nm" \
  --listen=127.0.0.1:0 --audience="$aud" --threads="$threads"
for c in $cases; do
  wait_line "$w/srv.$c" '^listening http://' "$c" "${pid[$c]}"
  url[$c]=$(sed -n '1s/^listening //p' "$w/srv.$c")/
done
url[healthz]=${url[healthz]}healthz

# Each server answers as its case expects before it is measured.
status() { # status METHOD URL [TOKEN]
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  curl -sS -o /dev/null -w '%{http_code}' -X "$1" "${auth[@]}" "$2" || true
}
expect_status() { # expect_status WANT WHAT METHOD URL [TOKEN]
  local got
  got=$(status "$3" "$4" "${5:-}")
  [ "$got" = "$1" ] || die "$2: HTTP $got, expected $1"
}
expect_status 200 "healthz" GET "${url[healthz]}"
expect_status 200 "no-auth POST / without a token" POST "${url[no-auth]}"
expect_status 401 "auth+cache POST / without a token" POST "${url[auth+cache]}"
expect_status 200 "auth+cache POST / with the token" POST "${url[auth+cache]}" "$WRK_TOKEN"
expect_status 401 "auth-no-cache POST / without a token" POST "${url[auth-no-cache]}"
expect_status 200 "auth-no-cache POST / with the token" POST "${url[auth-no-cache]}" "$WRK_TOKEN"
if [ -z "$peer_skip" ]; then
  expect_status 401 "node-peer POST / without a token" POST "${url[node-peer]}"
  expect_status 200 "node-peer POST / with the token" POST "${url[node-peer]}" "$WRK_TOKEN"
fi

# ---- the runs --------------------------------------------------------------------
# load CASE SECONDS OUT: one wrk run of CASE; its output in OUT.
# The server's CPU time (user + system) during the run goes to OUT.cpu, in
# clock ticks.
load() {
  local method=POST token=$WRK_TOKEN t0
  # no-auth gets the token too: the same request bytes as auth+cache.
  [ "$1" = healthz ] && method=GET token=
  t0=$(cpu_ticks "${pid[$1]}")
  WRK_METHOD=$method WRK_TOKEN=$token wrk -t"$wrk_threads" -c"$conns" -d"$2"s \
    --latency -s "$lua" "${url[$1]}" > "$3" 2>&1 || die "wrk failed on $1: $(tail -n 5 "$3")"
  echo $(( $(cpu_ticks "${pid[$1]}") - t0 )) > "$3.cpu"
  if grep -q '^ *Non-2xx or 3xx responses' "$3"; then
    die "$1: answers other than 2xx: $(grep 'Non-2xx' "$3")"
  fi
}
# cpu_ticks PID: utime + stime of the process and its children (the peer's
# workers), in clock ticks.
cpu_ticks() {
  local total=0 p v
  for p in "$1" $(pgrep -P "$1" || true); do
    # Fields 14 and 15; the command before them is in parentheses.
    v=$(sed 's/^.*) //' "/proc/$p/stat" 2> /dev/null | awk '{ print $12 + $13 }')
    total=$(( total + ${v:-0} ))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)
# ms VALUE: a wrk latency (12.3us, 4.5ms, 1.2s, 2m) in milliseconds.
ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f < 0) { print "?"; exit 1 }
    printf "%.3f", n * f }'
}
# parse CASE ROUND OUT: appends req/s, p50, p99 (ms) to the case's results.
parse() {
  local rps p50 p99 n cpu
  rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$3")
  p50=$(ms "$(awk '$1 == "50%" { print $2 }' "$3")")
  p99=$(ms "$(awk '$1 == "99%" { print $2 }' "$3")")
  n=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$3")
  [ -n "$rps" ] && [ -n "$n" ] || die "no Requests/sec in wrk's output for $1"
  # The server's CPU microseconds per request.
  cpu=$(awk -v t="$(cat "$3.cpu")" -v hz="$hz" -v n="$n" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
  echo "$rps $p50 $p99 $cpu" >> "$w/res.$1"
  grep -h '^ *Socket errors' "$3" | sed "s/^ */  $1 round $2: /" >> "$w/socket-errors" || true
}
# rsa_verify [-multi 2]: openssl speed's verify/s for rsa2048. With -multi
# the rate is the processes' sum, in wall-clock time (it falls with the
# machine's other load); without, one process's rate per second of its own
# CPU time (openssl speed's default divisor), which does not.
rsa_verify() {
  local out
  out=$(openssl speed "$@" -seconds "$ossl_seconds" rsa2048 2> /dev/null) ||
    die "openssl speed failed"
  awk '$1 == "rsa" && $2 == "2048" && $3 == "bits" { print $NF }' <<< "$out" | tail -n 1
}

echo "== receiver load benchmark: $(nproc) CPUs, $(openssl version | cut -d' ' -f1-2), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
echo "   wrk -t$wrk_threads -c$conns -d${duration}s --latency; server threads $threads; $rounds rounds (median), warm-up ${warmup}s"
[ -n "$peer_skip" ] && echo "   node peer skipped: $peer_skip"
[ -z "$peer_skip" ] && echo "   node $(node --version), google-auth-library $(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$nm/google-auth-library/package.json" | head -n 1)"
for c in $cases; do load "$c" "$warmup" "$w/warmup.$c"; done
for r in $(seq "$rounds"); do
  for c in $cases; do
    load "$c" "$duration" "$w/wrk.$c.$r"
    parse "$c" "$r" "$w/wrk.$c.$r"
  done
  v=$(rsa_verify -multi 2)
  vcpu=$(rsa_verify)
  [ -n "$v" ] && [ -n "$vcpu" ] || die "no verify/s in openssl speed's output"
  echo "$v $vcpu" >> "$w/res.openssl"
  printf '   round %d:' "$r"
  for c in $cases; do printf ' %s %.0f' "$c" "$(tail -n 1 "$w/res.$c" | cut -d' ' -f1)"; done
  printf ' openssl-verify %.0f\n' "$v"
done

# median FILE COLUMN: the median of a column (the lower middle for an even count).
median() {
  awk -v c="$2" '{ print $c }' "$1" | sort -g |
    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
# rss_kb PID: VmHWM of the process and its children, in kB.
rss_kb() {
  local total=0 p v
  for p in "$1" $(pgrep -P "$1" || true); do
    v=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$p/status" 2> /dev/null || true)
    total=$(( total + ${v:-0} ))
  done
  echo "$total"
}

echo
printf '%-14s %10s %9s %9s %10s %11s\n' case 'req/s' 'p50 ms' 'p99 ms' 'peak RSS' 'CPU us/req'
for c in $cases; do
  printf '%-14s %10.0f %9.3f %9.3f %7.1f MB %11.2f\n' "$c" "$(median "$w/res.$c" 1)" \
    "$(median "$w/res.$c" 2)" "$(median "$w/res.$c" 3)" \
    "$(awk -v k="$(rss_kb "${pid[$c]}")" 'BEGIN { print k / 1024 }')" \
    "$(median "$w/res.$c" 4)"
done
V=$(median "$w/res.openssl" 1)
printf '%-14s %10.0f   (openssl speed -multi 2 -seconds %s rsa2048, verify/s)\n' V "$V" "$ossl_seconds"
printf '%-14s %10.0f   (the same, one process, per CPU second: %.2f CPU us per verification)\n' \
  "V (CPU)" "$(median "$w/res.openssl" 2)" "$(awk -v v="$(median "$w/res.openssl" 2)" 'BEGIN { print 1e6 / v }')"
[ -s "$w/socket-errors" ] && { echo "socket errors:"; cat "$w/socket-errors"; }
# Key fetches over the whole run: the receivers read the JWKS, the peer's
# workers the PEM map; a handful each shows that both kept their keys (the
# peer's workers fetch once per request that arrives before the first
# answer: google-auth-library has no single flight; measured: 14 for 2
# workers).
counters=$(curl -sS "$GAUTH_ENDPOINT/emulator/v1/counters" 2> /dev/null || true)
echo "key fetches from the emulator: /oauth2/v3/certs (receivers) $(sed -n 's|.*"/oauth2/v3/certs":\([0-9]*\).*|\1|p' <<< "$counters"), /oauth2/v1/certs (node peer) $(sed -n 's|.*"/oauth2/v1/certs":\([0-9]*\).*|\1|p' <<< "$counters")"

echo
# The ratios pair the rows of one round (measured within a minute of each
# other, so they share the machine's load of that minute) and take the
# median over the rounds: on a shared machine the load moves between
# rounds more than between a round's rows.
fails=0
# per_round EXPR: EXPR (awk, over the round's requests/s a = auth+cache,
# n = no-auth, x = auth-no-cache, h = healthz, p = node-peer, v = openssl
# verify/s; the server's CPU microseconds per request ac = auth+cache,
# nc = no-auth, xc = auth-no-cache, hc = healthz, and openssl's CPU
# microseconds per verification vc), one line per round.
per_round() {
  local peer=$w/res.openssl
  [ -z "$peer_skip" ] && peer=$w/res.node-peer
  paste -d' ' <(cut -d' ' -f1,4 "$w/res.auth+cache") <(cut -d' ' -f1,4 "$w/res.no-auth") \
    <(cut -d' ' -f1,4 "$w/res.auth-no-cache") <(cut -d' ' -f1,4 "$w/res.healthz") \
    <(cut -d' ' -f1,2 "$w/res.openssl") <(cut -d' ' -f1 "$peer") | awk "{
    a = \$1; ac = \$2; n = \$3; nc = \$4; x = \$5; xc = \$6; h = \$7; hc = \$8
    v = \$9; vc = 1e6 / \$10; p = \$11
    printf \"%.4f\\n\", $1 }"
}
ratio() { # ratio NAME EXPR THRESHOLD
  local values med verdict
  values=$(per_round "$2")
  med=$(median <(echo "$values") 1)
  if [ -n "$3" ]; then
    verdict=$(awk -v v="$med" -v t="$3" 'BEGIN { print (v >= t) ? "PASS" : "FAIL" }')
    [ "$verdict" = PASS ] || fails=$((fails + 1))
    printf '%-36s %7.3f  (>= %s)  %s   rounds: %s\n' "$1" "$med" "$3" "$verdict" \
      "${values//$'\n'/ }"
  else
    printf '%-36s %7.3f  (no threshold)  rounds: %s\n' "$1" "$med" "${values//$'\n'/ }"
  fi
}
echo "ratios (median of the rounds' ratios):"
ratio "auth+cache / no-auth" "a / n" 0.90
ratio "auth-no-cache / (1/(1/H + 1/V))" "x * (1 / h + 1 / v)" 0.70
if [ -z "$peer_skip" ]; then
  ratio "auth+cache / node-peer" "a / p" 5
  ratio "auth-no-cache / node-peer" "x / p" ""
else
  echo "auth+cache / node-peer: skipped ($peer_skip)"
fi
# The first two ratios by CPU time per request instead of by requests/s:
# what authentication costs the server, whatever else ran on the machine.
echo "the same by CPU time per request (server: /proc/PID/stat; RS256: openssl speed, one process):"
ratio "no-auth / auth+cache" "nc / ac" ""
ratio "(healthz + RS256) / auth-no-cache" "(hc + vc) / xc" ""

# ---- instructions per request (callgrind) ----------------------------------------------
if [ "${CALLGRIND:-0}" = 1 ]; then
  if ! command -v valgrind > /dev/null; then
    echo "callgrind: valgrind is not installed; skipped"
  else
    n=${REQUESTS:-400}
    # ir FLAGS... : instructions of a receiver that answers $count POSTs on
    # one connection (curl reuses it for every URL), then gets SIGTERM:
    # "TOTAL HANDLER VERIFY", the whole process, the request handler
    # (receiver.c's on_request, inclusive) and gauth_receiver_verify
    # (inclusive); 0 for a function callgrind did not see.
    ir() {
      local out=$w/cg.$count.$*
      out=${out// /_}
      valgrind --tool=callgrind --callgrind-out-file="$out" "$receiver" \
        --listen=127.0.0.1:0 --audience="$aud" --threads=1 --quiet "$@" \
        > "$out.srv" 2> "$out.log" &
      local vp=$!
      wait_line "$out.srv" '^listening http://' "receiver under callgrind" "$vp"
      local u
      u=$(sed -n '1s/^listening //p' "$out.srv")/
      if [ "$count" -gt 0 ]; then
        local args=() i
        for ((i = 0; i < count; i++)); do args+=("$u"); done
        curl -sS -X POST -H "Authorization: Bearer $WRK_TOKEN" "${args[@]}" > /dev/null ||
          echo "run-receiver-bench: curl failed against the receiver under callgrind" >&2
      fi
      kill -TERM "$vp"
      wait "$vp" || echo "run-receiver-bench: the receiver under callgrind exited $?" >&2
      callgrind_annotate --inclusive=yes --threshold=100 "$out" 2> /dev/null |
        awk -v total="$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out" | head -n 1)" '
          function ir(s) { gsub(",", "", s); return s + 0 }
          /:on_request \[/ && !h { h = ir($1) }
          /:gauth_receiver_verify \[/ && !v { v = ir($1) }
          END { printf "%d %d %d\n", total, h, v }'
    }
    echo
    echo "== instructions per request (callgrind, one server thread; (Ir[N] - Ir[0]) / N, N=$n)"
    printf '%-16s %12s %12s %12s\n' case process handler verify
    for c in no-auth auth+cache auth-no-cache; do
      case $c in
        no-auth) mode=--no-auth ;;
        auth+cache) mode= ;;
        *) mode=--token-cache=0 ;;
      esac
      # shellcheck disable=SC2086 # no flag for auth+cache
      count=0; r0=$(ir $mode)
      # shellcheck disable=SC2086
      count=$n; r1=$(ir $mode)
      read -r t0 h0 v0 <<< "$r0"
      read -r t1 h1 v1 <<< "$r1"
      if [ -z "${t0:-}" ] || [ -z "${t1:-}" ] || [ "$t0" -eq 0 ] || [ "$t1" -eq 0 ]; then
        echo "$c: no callgrind count"
        continue
      fi
      printf '%-16s %12d %12d %12d\n' "$c" $(( (t1 - t0) / n )) \
        $(( (h1 - h0) / n )) $(( (v1 - v0) / n ))
    done
    echo "(process: all of the receiver's user-space instructions; handler: on_request"
    echo " and what it calls; verify: gauth_receiver_verify; rep stosb counts one per byte)"
  fi
fi

# ---- where the server's CPU time goes (perf) ------------------------------------------
# One more run of healthz and of auth-no-cache with `perf record -e
# cpu-clock` on the server (software sampling: it needs no hardware
# counter), its samples' shares by binary times the server's CPU time in
# that run (/proc/PID/stat), over the requests wrk counted: microseconds per
# request spent in the kernel, OpenSSL, libc, libmicrohttpd, libgauth,
# cJSON and the rest. The difference between the two rows is what a
# verified request costs beyond HTTP, to set beside openssl speed's CPU
# microseconds per RS256 verification.
if [ "${PROFILE:-0}" = 1 ]; then
  if ! command -v perf > /dev/null ||
     ! perf record -q -e cpu-clock -o "$w/perf.probe" true > /dev/null 2>&1; then
    echo "profile: perf is not installed or may not sample here; skipped"
  else
    echo
    echo "== the server's CPU microseconds per request, by binary (perf record -e cpu-clock, one ${duration}s run each)"
    printf '%-16s %8s %8s %8s %8s %8s %8s %8s %8s\n' case total kernel OpenSSL libc \
      libmhd libgauth cJSON other
    for c in healthz auth-no-cache; do
      perf record -q -e cpu-clock -F 4000 -o "$w/perf.$c" -p "${pid[$c]}" \
        > "$w/perf.$c.log" 2>&1 &
      pp=$!
      sleep 0.3
      load "$c" "$duration" "$w/prof.$c"
      kill -INT "$pp" 2> /dev/null || true
      wait "$pp" 2> /dev/null || true
      n=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$w/prof.$c")
      perf report -i "$w/perf.$c" --no-children --sort dso -g none --stdio 2> /dev/null |
        awk -v t="$(cat "$w/prof.$c.cpu")" -v hz="$hz" -v n="$n" -v c="$c" '
          $1 ~ /%$/ {
            p = $1; sub(/%/, "", p); d = $2
            k = "other"
            if (d ~ /kernel/) k = "kernel"
            else if (d ~ /^libcrypto/) k = "openssl"
            else if (d ~ /^libc\.so/) k = "libc"
            else if (d ~ /^libmicrohttpd/) k = "mhd"
            else if (d ~ /^libgauth/) k = "gauth"
            else if (d ~ /^libcjson/) k = "cjson"
            s[k] += p
          }
          END {
            us = t * 1e6 / hz / n
            printf "%-16s %8.2f", c, us
            split("kernel openssl libc mhd gauth cjson other", ks, " ")
            for (i = 1; i <= 7; i++) printf " %8.2f", us * s[ks[i]] / 100
            printf "\n"
          }' | tee -a "$w/profile"
    done
    awk 'NR == 1 { for (i = 2; i <= NF; i++) h[i] = $i }
         NR == 2 { printf "%-16s", "difference"
                   for (i = 2; i <= NF; i++) printf " %8.2f", $i - h[i]; printf "\n" }' "$w/profile"
    printf '(openssl speed rsa2048, one process: %.2f CPU us per verification)\n' \
      "$(awk -v v="$(median "$w/res.openssl" 2)" 'BEGIN { print 1e6 / v }')"
  fi
fi

if [ "$fails" -gt 0 ] && [ "${STRICT:-0}" = 1 ]; then exit 3; fi
exit 0
