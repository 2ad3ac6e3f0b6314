#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang with ASan + UBSan) and
# runs each one on its seeds: the committed corpus tests/fuzz/corpus/TARGET,
# the seeds written below and the working corpus BUILD/fuzz/corpus/TARGET
# (which persists between runs and receives what the fuzzer finds), with
# the dictionary tests/fuzz/dict/NAME.dict. Prints a table: executions,
# coverage (cov, ft), working corpus size and units added, crash / leak /
# timeout / oom reproducers, seconds. Exits non-zero if any target finds a
# crash, a leak, a failed property, a timeout or runs out of memory; the
# reproducers are kept under BUILD/fuzz/artifacts/TARGET/ (replay one with
# BUILD/tests/fuzz/TARGET FILE).
#
#   FUZZ_SECONDS=15 bash tests/scripts/fuzz.sh          (short run: make test)
#   FUZZ_RUNS=10000000 FUZZ_MAX_SECONDS=3600 FUZZ_PARALLEL=2 \
#     bash tests/scripts/fuzz.sh                         (make fuzz)
#
# Environment:
#   FUZZ_SECONDS      seconds per target when FUZZ_RUNS is unset (default 20)
#   FUZZ_RUNS         executions per target (libFuzzer -runs)
#   FUZZ_MAX_SECONDS  time cap per target with FUZZ_RUNS (default 3600)
#   FUZZ_PARALLEL     targets run at once, one process each (default 1)
#   FUZZ_TARGETS      the targets to run (default: all)
#   FUZZ_BUILD        build dir (default build-fuzz); JOBS: build jobs
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${FUZZ_BUILD:-build-fuzz}
SECS=${FUZZ_SECONDS:-20}
RUNS=${FUZZ_RUNS:-}
MAX_SECS=${FUZZ_MAX_SECONDS:-3600}
PARALLEL=${FUZZ_PARALLEL:-1}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
ALL="fuzz_base64 fuzz_json fuzz_jws fuzz_keyset fuzz_credentials \
fuzz_token_reply fuzz_sts fuzz_iamcredentials fuzz_error_body fuzz_url \
fuzz_scheduler_job fuzz_pubsub fuzz_aws fuzz_exec"
TARGETS=${FUZZ_TARGETS:-$ALL}

CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGAUTH_FUZZ=ON -DGAUTH_BUILD_TESTS=OFF -DGAUTH_BUILD_EXAMPLES=OFF
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "$JOBS" --target $TARGETS

FUZZ="$BUILD/fuzz"
rm -rf "$FUZZ/seeds" "$FUZZ/artifacts"
for t in $ALL; do
  mkdir -p "$FUZZ/seeds/$t" "$FUZZ/corpus/$t" "$FUZZ/artifacts/$t"
done

# seed TARGET NAME TEXT: one seed file, written byte for byte.
seed() {
  printf '%s' "$3" > "$FUZZ/seeds/$1/$2"
}

# base64: RFC 4648 vectors in both alphabets, a JWT-like segment, and
# near-misses (padding in base64url, non-canonical bits, whitespace).
seed fuzz_base64 empty ''
seed fuzz_base64 std1 'Zm9vYg=='
seed fuzz_base64 std2 'Zm9vYmE='
seed fuzz_base64 std3 'Zm9vYmFy'
seed fuzz_base64 url1 'Zm9vYg'
seed fuzz_base64 url2 'Zm9vYmE'
seed fuzz_base64 special_std '+/8=++++'
seed fuzz_base64 special_url '-_8'
seed fuzz_base64 jwt 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9'
seed fuzz_base64 noncanonical 'Zh'
seed fuzz_base64 padded_url 'Zg=='
seed fuzz_base64 crlf 'Zm9v
YmFy'

# JSON: a token response, JWT claims, a JWKS, a Google error body, and
# near-misses (duplicates, escapes, trailing data, depth).
seed fuzz_json token '{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}'
seed fuzz_json claims '{"iss":"https://accounts.google.com","aud":"https://svc.example","sub":"1","iat":1700000000,"exp":1700003600,"email_verified":true}'
seed fuzz_json jwks '{"keys":[{"kty":"RSA","kid":"k1","n":"sXch","e":"AQAB","alg":"RS256","use":"sig"}]}'
seed fuzz_json error '{"error":{"code":401,"status":"UNAUTHENTICATED","message":"m","details":[]}}'
seed fuzz_json dup '{"a":1,"\u0061":2}'
seed fuzz_json escapes '["\u00e9\ud83d\ude00\\\/\b\f\n\r\t", -0, 1.5e300, null, false]'
seed fuzz_json trailing '{} x'
seed fuzz_json deep '[[[[[[[{"a":[1]}]]]]]]]'
seed fuzz_json scalar '"str"'

# credentials files (every type, and the refused sources; more in the
# committed corpus), token replies, RFC 3339 times. Secret values carry the canary the target looks for.
seed fuzz_credentials sa '{"type":"service_account","client_email":"a@p.iam.gserviceaccount.com","private_key_id":"k","private_key":"-----BEGIN PRIVATE KEY-----\nFUZZCANARY\n-----END PRIVATE KEY-----\n","token_uri":"http://127.0.0.1:9/token","project_id":"p"}'
seed fuzz_credentials user '{"type":"authorized_user","client_id":"c","client_secret":"FUZZCANARY","refresh_token":"1//FUZZCANARY","quota_project_id":"q"}'
seed fuzz_credentials impersonated '{"type":"impersonated_service_account","service_account_impersonation_url":"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/t@p.iam.gserviceaccount.com:generateAccessToken","delegates":["d@p.iam.gserviceaccount.com"],"source_credentials":{"type":"authorized_user","client_id":"c","client_secret":"FUZZCANARY","refresh_token":"FUZZCANARY"}}'
seed fuzz_credentials external_file '{"type":"external_account","audience":"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x","subject_token_type":"urn:ietf:params:oauth:token-type:jwt","token_url":"https://sts.googleapis.com/v1/token","credential_source":{"file":"/nonexistent","format":{"type":"json","subject_token_field_name":"t"}}}'
seed fuzz_credentials external_url '{"type":"external_account","audience":"//iam.googleapis.com/locations/global/workforcePools/p/providers/x","subject_token_type":"urn:ietf:params:oauth:token-type:id_token","workforce_pool_user_project":"u","credential_source":{"url":"http://127.0.0.1:9/t","headers":{"Metadata":"True"}},"service_account_impersonation_url":"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/t@p.iam.gserviceaccount.com:generateAccessToken","service_account_impersonation":{"token_lifetime_seconds":600}}'
seed fuzz_credentials external_exec '{"type":"external_account","audience":"a","subject_token_type":"t","credential_source":{"executable":{"command":"/bin/true"}}}'
seed fuzz_token_reply access_canary '{"access_token":"ya29.FUZZCANARY","expires_in":3599,"token_type":"Bearer","id_token":"a.b.c"}'
seed fuzz_token_reply id_none '{"id_token":"eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDAsImF1ZCI6IngifQ.c2ln"}'
seed fuzz_credentials time '2026-11-27T07:30:00.123+01:30'


# The longest input per target, and its dictionary (tests/fuzz/dict/).
max_len() {
  case $1 in
    # base64: past 1024 characters, the decoder's internal chunk size.
    fuzz_base64) echo 4200 ;;
    # Key sets: a JWKS of three RSA keys or a certificate map is 2-5 KB;
    # credentials files 2-3 KB (a PEM RSA key).
    fuzz_keyset | fuzz_credentials) echo 8192 ;;
    # A URL (and an endpoint), an AWS text reply, a header value.
    fuzz_url | fuzz_aws) echo 2048 ;;
    # A Google ID token is about 1 KB; replies, envelopes and jobs leave
    # room for big headers, attributes and bodies.
    *) echo 4096 ;;
  esac
}
dict_of() {
  case $1 in
    fuzz_base64) ;;
    fuzz_json | fuzz_jws | fuzz_keyset) echo tests/fuzz/dict/json.dict ;;
    *) echo "tests/fuzz/dict/${1#fuzz_}.dict" ;;
  esac
}

# run TARGET: one libFuzzer process; its log is $FUZZ/TARGET.log, its
# wall time $FUZZ/TARGET.secs, its status $FUZZ/TARGET.rc.
run() {
  local t=$1 log="$FUZZ/$1.log" committed= dict start rc=0
  local -a limit
  [ -d "tests/fuzz/corpus/$t" ] && committed="tests/fuzz/corpus/$t"
  dict=$(dict_of "$t")
  if [ -n "$RUNS" ]; then
    limit=(-runs="$RUNS" -max_total_time="$MAX_SECS")
  else
    limit=(-max_total_time="$SECS")
  fi
  ls "$FUZZ/corpus/$t" | wc -l > "$FUZZ/$t.before"
  start=$(date +%s)
  "$BUILD/tests/fuzz/$t" "${limit[@]}" -max_len="$(max_len "$t")" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    ${dict:+-dict="$dict"} -artifact_prefix="$FUZZ/artifacts/$t/" \
    "$FUZZ/corpus/$t" "$FUZZ/seeds/$t" $committed > "$log" 2>&1 || rc=$?
  echo $(($(date +%s) - start)) > "$FUZZ/$t.secs"
  echo "$rc" > "$FUZZ/$t.rc"
}

if [ -n "$RUNS" ]; then
  echo "fuzz: $RUNS executions or ${MAX_SECS}s per target, $PARALLEL at a time"
else
  echo "fuzz: ${SECS}s per target, $PARALLEL at a time"
fi
for t in $TARGETS; do
  while [ "$(jobs -rp | wc -l)" -ge "$PARALLEL" ]; do wait -n || true; done
  echo "fuzz: $t"
  run "$t" &
done
wait

status=0
printf '%-20s %12s %6s %7s %7s %5s %7s %5s %5s %7s\n' target execs cov ft \
  corpus new crashes leaks tmouts seconds
for t in $TARGETS; do
  log="$FUZZ/$t.log"
  a="$FUZZ/artifacts/$t"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  ft=$(grep -aoE 'ft: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  size=$(ls "$FUZZ/corpus/$t" | wc -l)
  crashes=$(find "$a" -name 'crash-*' -o -name 'deadly-*' | wc -l)
  leaks=$(find "$a" -name 'leak-*' | wc -l)
  tmouts=$(find "$a" -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-*' | wc -l)
  printf '%-20s %12s %6s %7s %7s %5s %7s %5s %5s %7s\n' "$t" "${execs:-?}" \
    "${cov:-?}" "${ft:-?}" "$size" "$((size - $(cat "$FUZZ/$t.before")))" \
    "$crashes" "$leaks" "$tmouts" "$(cat "$FUZZ/$t.secs")"
  if [ "$(cat "$FUZZ/$t.rc")" -ne 0 ] || [ -n "$(ls -A "$a")" ]; then
    status=1
  fi
done
for t in $TARGETS; do
  a="$FUZZ/artifacts/$t"
  if [ "$(cat "$FUZZ/$t.rc")" -ne 0 ] || [ -n "$(ls -A "$a")" ]; then
    echo "fuzz: $t FAILED; log $FUZZ/$t.log, reproducer(s):" >&2
    ls -l "$a" >&2 || true
    grep -aE 'ERROR|property failed|shows a secret|SUMMARY' "$FUZZ/$t.log" \
      | head -n 20 >&2 || true
  fi
done
exit $status
