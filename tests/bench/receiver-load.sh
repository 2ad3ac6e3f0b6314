#!/usr/bin/env bash
# examples/receiver under load, clean: two receivers (verified-token cache
# on, and off: every request verifies RS256) take concurrent wrk runs of
# every kind of request for LOAD_SECONDS (default 2): valid tokens, forged
# and wrong-audience tokens, malformed and missing Authorization headers,
# Pub/Sub pushes with a malformed envelope and with a body over --max-body,
# health checks. Every answer must have its kind's status (wrk counts the
# others, tests/bench/receiver.lua), both receivers must still answer
# afterwards, and SIGTERM must stop them with exit status 0. No token may
# show in the access log.
#
# The receivers run under GAUTH_RECEIVER_WRAPPER when it is set (make test's
# valgrind stage: valgrind --error-exitcode=1 --errors-for-leak-kinds=definite,
# so a definite leak or a memory error is a non-zero exit); in the ASan
# build, a sanitizer report makes the exit status non-zero. The emulator
# (keys, tokens) runs natively.
#
# Usage: receiver-load.sh RECEIVER EMULATOR GAUTH WORK_DIR
set -u
receiver=$1
emulator=$2
gauth=$3
w=$4
lua=$(cd "$(dirname "$0")" && pwd)/receiver.lua
secs=${LOAD_SECONDS:-2}
rm -rf "$w"
mkdir -p "$w/gcloud"
: > "$w/out"
: > "$w/err"
. "$(dirname "$0")/../cli/harness.sh"
command -v wrk > /dev/null ||
  { echo "FAIL: wrk is not installed (cmake/install-deps.sh test installs it)"; exit 1; }

start_emulator --key-file="$w/key.json"
export GAUTH_ENDPOINT=$base GCE_METADATA_HOST=$host GCE_METADATA_IP=$host
export CLOUDSDK_CONFIG=$w/gcloud GAUTH_METADATA_DETECTION=none
unset GOOGLE_APPLICATION_CREDENTIALS
aud=https://receiver-load.example/
mint() { # mint AUDIENCE: an ID token of the key file's account
  GOOGLE_APPLICATION_CREDENTIALS=$w/key.json "$gauth" print-identity-token \
    --audiences="$1" 2> "$w/err"
}
tok=$(mint "$aud")
other=$(mint https://another-service.example/)
[ -n "$tok" ] && [ -n "$other" ] || { echo "FAIL: no ID token: $(cat "$w/err")"; exit 1; }
# The same token with its signature's first character changed.
sig=${tok##*.}
if [ "${sig:0:1}" = A ]; then c=B; else c=A; fi
forged=${tok%.*}.$c${sig:1}

# ---- the receivers -------------------------------------------------------------
rpids=()
stop_all() {
  local p
  for p in "${rpids[@]}"; do kill "$p" 2> /dev/null; done
  for p in "${rpids[@]}"; do wait "$p" 2> /dev/null; done
  kill "$emu" 2> /dev/null
  wait "$emu" 2> /dev/null
}
trap stop_all EXIT
# start_receiver NAME ARGS...: sets url_NAME and pid_NAME.
start_receiver() {
  local name=$1
  shift
  # shellcheck disable=SC2086 # the wrapper is a command line
  ${GAUTH_RECEIVER_WRAPPER:-} "$receiver" --listen=127.0.0.1:0 --audience="$aud" \
    --threads=2 --max-body=4096 "$@" > "$w/$name.out" 2> "$w/$name.log" &
  local p=$!
  rpids+=("$p")
  printf -v "pid_$name" %s "$p"
  for _ in $(seq 1200); do # 120 s: valgrind's start-up
    grep -q '^listening http://' "$w/$name.out" 2> /dev/null && break
    kill -0 "$p" 2> /dev/null || break
    sleep 0.1
  done
  local u
  u=$(sed -n '1s/^listening //p' "$w/$name.out")
  [ -n "$u" ] || { echo "FAIL: receiver $name did not start: $(tail -n 20 "$w/$name.log")"; exit 1; }
  printf -v "url_$name" %s "$u"
}
start_receiver cached
start_receiver uncached --token-cache=0 --quiet
# shellcheck disable=SC2154 # set by start_receiver
echo "receivers: cached $url_cached (pid $pid_cached), uncached $url_uncached (pid $pid_uncached)"

# ---- the load ----------------------------------------------------------------------
# load NAME EXPECT URL [VAR=VALUE...]: one wrk run in the background, one
# connection per kind and receiver thread; its output in $w/wrk.NAME.
wrk_pids=()
load() {
  local name=$1 want=$2 url=$3
  shift 3
  env WRK_EXPECT="$want" WRK_TOKEN= WRK_METHOD=POST "$@" \
    wrk -t1 -c2 -d"${secs}s" --timeout 30s -s "$lua" "$url" > "$w/wrk.$name" 2>&1 &
  wrk_pids+=($!)
  kinds+=("$name")
}
kinds=()
envelope_bad='{"message":{"data":"aGVsbG8=","messageId":"1"'  # cut short
load valid-cached 200 "$url_cached/" WRK_TOKEN="$tok"
load valid-uncached 200 "$url_uncached/" WRK_TOKEN="$tok"
load forged-cached 401 "$url_cached/" WRK_TOKEN="$forged"
load forged-uncached 401 "$url_uncached/" WRK_TOKEN="$forged"
load wrong-audience 401 "$url_cached/" WRK_TOKEN="$other"
load not-a-jwt 401 "$url_cached/" WRK_TOKEN=not-a-jwt
load no-token 401 "$url_uncached/"
load bad-envelope 400 "$url_cached/pubsub" WRK_TOKEN="$tok" WRK_BODY="$envelope_bad"
load oversized 413 "$url_uncached/pubsub" WRK_TOKEN="$tok" WRK_BODY=0123456789abcdef WRK_BODY_REPEAT=1024
load healthz 200 "$url_cached/healthz" WRK_METHOD=GET
for p in "${wrk_pids[@]}"; do wait "$p"; done
for k in "${kinds[@]}"; do
  line=$(grep '^unexpected: ' "$w/wrk.$k")
  n=$(sed -n 's/^unexpected: [0-9]* of \([0-9]*\).*/\1/p' <<< "$line")
  if [ -z "$line" ]; then
    bad "$k: no count from wrk: $(tail -n 5 "$w/wrk.$k")"
  elif [[ $line != 'unexpected: 0 of '* ]]; then
    bad "$k: $line"
  elif [ "${n:-0}" -lt 1 ]; then
    bad "$k: no answer in ${secs} s: $(grep -i 'errors' "$w/wrk.$k")"
  else
    ok "$k: ${line#unexpected: }"
  fi
done

# ---- still up, then a clean stop ------------------------------------------------------
for name in cached uncached; do
  u=url_$name
  st=$(curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $tok" "${!u}/")
  [ "$st" = 200 ] && ok "$name answers after the load" || bad "$name after the load: HTTP $st"
done
for name in cached uncached; do
  p=pid_$name
  kill -TERM "${!p}"
  rc=
  for _ in $(seq 1200); do # 120 s: valgrind's leak check
    kill -0 "${!p}" 2> /dev/null || { wait "${!p}"; rc=$?; break; }
    sleep 0.1
  done
  if [ -z "$rc" ]; then
    kill -KILL "${!p}" 2> /dev/null
    bad "$name did not stop within 120 s of SIGTERM"
  elif [ "$rc" -eq 0 ]; then
    ok "$name: SIGTERM, exit 0"
  else
    bad "$name: exit status $rc after SIGTERM: $(tail -n 30 "$w/$name.log")"
  fi
done
rpids=()

hasnt "$w/cached.log" "${tok##*.}" "no token in the access log"
hasnt "$w/cached.log" "${forged##*.}" "no forged token in the access log"
grep -q ' 200 ' "$w/cached.log" && grep -q ' 401 ' "$w/cached.log" &&
  ok "the access log has the answers" || bad "the access log lacks 200 or 401 lines: $(head -n 3 "$w/cached.log")"
finish receiver-load
