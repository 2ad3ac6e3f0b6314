#!/usr/bin/env bash
# Runs gauth-bench (throughput against the OpenSSL floor, same run), then
# counts instructions per operation of each case's two sides under
# valgrind --tool=callgrind, which repeat to within 0.1% where wall-clock
# numbers on a shared machine vary by 40%.
#
# Instructions per operation = (Ir of N iterations - Ir of 0 iterations) / N:
# the 0-iteration run is the set-up alone (keys, verifier, one warm-up
# operation), so it cancels out. The instruction ratio is floor / impl, to
# read like the throughput ratio (above 1: fewer instructions than the
# floor).
#
# Usage: tests/bench/run-bench.sh [BUILD_DIR]     (default: build)
# Environment: DURATION (seconds per case, default 4), ITERATIONS (default
# 200; sign-rs256 uses a tenth), CASES (default: all), NO_CALLGRIND=1.
set -euo pipefail
build=${1:-build}
bench=$build/tests/bench/gauth-bench
[ -x "$bench" ] || { echo "run-bench: no $bench (build target gauth_bench)" >&2; exit 2; }
cases=${CASES:-verify-rs256 verify-es256 sign-rs256 verify-rs256-cached verify-rs256-2threads}
iters=${ITERATIONS:-200}

echo "== throughput (ops/s), $(nproc) CPUs, $(openssl version 2>/dev/null || echo OpenSSL)"
# shellcheck disable=SC2086
"$bench" --duration="${DURATION:-4}" $cases

[ "${NO_CALLGRIND:-0}" = 1 ] && exit 0
command -v valgrind > /dev/null || { echo "run-bench: valgrind not installed; no instruction counts"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ir CASE SIDE N: total instructions of one run.
ir() {
  local out=$tmp/cg.$1.$2.$3
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$bench" --callgrind "$1" "$2" --iterations "$3" > /dev/null 2> "$out.log" || {
    echo "run-bench: callgrind run failed: $1 $2 $3" >&2; tail -n 20 "$out.log" >&2; exit 1; }
  sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out" | head -n1
}

echo
echo "== instructions per operation (callgrind; (Ir[N] - Ir[0]) / N)"
for c in $cases; do
  n=$iters
  [ "$c" = sign-rs256 ] && n=$(( iters / 10 > 0 ? iters / 10 : 1 ))
  impl=$(( ($(ir "$c" impl "$n") - $(ir "$c" impl 0)) / n ))
  floor=$(( ($(ir "$c" floor "$n") - $(ir "$c" floor 0)) / n ))
  # The two-thread case counts instructions, not time: its floor is one
  # thread's, like its impl's per-operation count.
  awk -v c="$c" -v i="$impl" -v f="$floor" -v n="$n" 'BEGIN {
    printf "%s impl=%d floor=%d instr/op ratio=%.3f (N=%d)\n", c, i, f, f / i, n }'
done
