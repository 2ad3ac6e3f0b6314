#!/usr/bin/env bash
# Runs gauth-bench (JWT verification and signing against the OpenSSL
# floor) and gauth-bench-creds (cached access tokens against the
# strdup + OPENSSL_cleanse + free floor; metadata detection off Google
# Cloud, against npm gcp-metadata), then counts instructions per operation
# of each throughput case's two sides under valgrind --tool=callgrind,
# which repeat to within 0.1% where wall-clock numbers on a shared machine
# vary by 40%.
#
# Instructions per operation = (Ir of N iterations - Ir of 0 iterations) / N:
# the 0-iteration run is the set-up alone (keys, verifier or credential,
# one warm-up operation), so it cancels out. The instruction ratio is
# floor / impl, to read like the throughput ratio (above 1: fewer
# instructions than the floor). The verification cases verify-rs256,
# verify-es256 and verify-rs256-2threads have a second floor, the prepared
# one (a verify context made once per key and copied per token, the
# signature decoded per token: see gauth_bench.c; in verify-rs256-2threads
# two threads share that context, as two threads share libgauth's key): for
# it the line gives its instructions, the ratio, and the overhead,
# (impl - prepared) / prepared.
#
# Usage: tests/bench/run-bench.sh [BUILD_DIR]     (default: build)
# Environment: DURATION (seconds per case, default 4), ITERATIONS (default
# 200; sign-rs256 uses a tenth, the token cases 100 times as many), CASES
# (default: all), NO_CALLGRIND=1, RUNS (detect-offline: detections per
# address and client, default 10), NODE_MODULES (a node_modules folder
# holding gcp-metadata for detect-offline's comparison; default:
# $GAUTH_INTEROP_NODE_MODULES, else build-test/interop-node/node_modules of
# this checkout, where `make test` installs it; without one the comparison
# is skipped, saying so).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
bench=$build/tests/bench/gauth-bench
bench_creds=$build/tests/bench/gauth-bench-creds
for b in "$bench" "$bench_creds"; do
  [ -x "$b" ] || { echo "run-bench: no $b (build targets gauth_bench gauth_bench_creds)" >&2; exit 2; }
done
cases=${CASES:-verify-rs256 verify-es256 sign-rs256 verify-rs256-cached verify-rs256-2threads token-cached token-cached-2threads detect-offline}
iters=${ITERATIONS:-200}
nm=${NODE_MODULES:-${GAUTH_INTEROP_NODE_MODULES:-}}
[ -z "$nm" ] && [ -d "$src/build-test/interop-node/node_modules" ] &&
  nm=$src/build-test/interop-node/node_modules

# The program that runs case $1.
program() {
  case $1 in
    token-*|detect-*) echo "$bench_creds" ;;
    *) echo "$bench" ;;
  esac
}

jwt_cases='' creds_cases=''
for c in $cases; do
  if [ "$(program "$c")" = "$bench" ]; then jwt_cases="$jwt_cases $c"
  else creds_cases="$creds_cases $c"; fi
done

echo "== throughput (ops/s), $(nproc) CPUs, $(openssl version 2>/dev/null || echo OpenSSL)"
# shellcheck disable=SC2086
[ -z "$jwt_cases" ] || "$bench" --duration="${DURATION:-4}" $jwt_cases
# shellcheck disable=SC2086
[ -z "$creds_cases" ] || "$bench_creds" --duration="${DURATION:-4}" \
  --runs="${RUNS:-10}" --node-modules="$nm" $creds_cases

[ "${NO_CALLGRIND:-0}" = 1 ] && exit 0
command -v valgrind > /dev/null || { echo "run-bench: valgrind not installed; no instruction counts"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ir CASE SIDE N: total instructions of one run.
ir() {
  local out=$tmp/cg.$1.$2.$3
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$(program "$1")" --callgrind "$1" "$2" --iterations "$3" > /dev/null 2> "$out.log" || {
    echo "run-bench: callgrind run failed: $1 $2 $3" >&2; tail -n 20 "$out.log" >&2; exit 1; }
  sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out" | head -n1
}

echo
echo "== instructions per operation (callgrind; (Ir[N] - Ir[0]) / N)"
for c in $cases; do
  n=$iters
  case $c in
    detect-*) continue ;; # bound by timeouts and the kernel, not instructions
    sign-rs256) n=$(( iters / 10 > 0 ? iters / 10 : 1 )) ;;
    # Set-up varies by ~0.1M instructions (RSA blinding in the one
    # signature): a cached call is ~3000, so N must be large.
    token-*) n=$(( iters * 100 )) ;;
  esac
  impl=$(( ($(ir "$c" impl "$n") - $(ir "$c" impl 0)) / n ))
  floor=$(( ($(ir "$c" floor "$n") - $(ir "$c" floor 0)) / n ))
  prep=0
  case $c in
    verify-rs256|verify-es256|verify-rs256-2threads)
      prep=$(( ($(ir "$c" floor-prepared "$n") - $(ir "$c" floor-prepared 0)) / n )) ;;
  esac
  # The two-thread cases count instructions, not time (valgrind runs one
  # thread at a time): per operation, like the one-thread cases.
  awk -v c="$c" -v i="$impl" -v f="$floor" -v p="$prep" -v n="$n" 'BEGIN {
    printf "%s impl=%d floor=%d instr/op ratio=%.3f", c, i, f, f / i
    if (p > 0)
      printf " prepared=%d ratio_prepared=%.3f overhead=%.1f%%", p, p / i,
        100 * (i - p) / p
    printf " (N=%d)\n", n }'
done
