#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each one for
# FUZZ_SECONDS (default 20) seconds on a seed corpus written here. Exits
# non-zero if any target finds a crash, a leak, a failed property, a timeout
# or runs out of memory; the reproducer is kept under BUILD/fuzz/artifacts/.
# Targets with a committed corpus (tests/fuzz/corpus/TARGET: valid tokens and
# key sets, and near misses) read it as seeds too.
#
#   FUZZ_SECONDS=60 sh tests/scripts/fuzz.sh
#
# Environment: FUZZ_SECONDS, FUZZ_BUILD (default build-fuzz), JOBS.
# The working corpora (BUILD/fuzz/corpus/TARGET) persist between runs.
set -eu

cd "$(dirname "$0")/../.."
BUILD=${FUZZ_BUILD:-build-fuzz}
SECS=${FUZZ_SECONDS:-20}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGAUTH_FUZZ=ON -DGAUTH_BUILD_TESTS=OFF -DGAUTH_BUILD_EXAMPLES=OFF
cmake --build "$BUILD" -j "$JOBS" --target fuzz_base64 fuzz_json fuzz_jws fuzz_keyset fuzz_credentials

FUZZ="$BUILD/fuzz"
rm -rf "$FUZZ/seeds" "$FUZZ/artifacts"
for t in fuzz_base64 fuzz_json fuzz_jws fuzz_keyset fuzz_credentials; do
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

# credentials files (every type, and the refused sources), token replies,
# RFC 3339 times. Secret values carry the canary the target looks for.
seed fuzz_credentials sa '{"type":"service_account","client_email":"a@p.iam.gserviceaccount.com","private_key_id":"k","private_key":"-----BEGIN PRIVATE KEY-----\nFUZZCANARY\n-----END PRIVATE KEY-----\n","token_uri":"http://127.0.0.1:9/token","project_id":"p"}'
seed fuzz_credentials user '{"type":"authorized_user","client_id":"c","client_secret":"FUZZCANARY","refresh_token":"1//FUZZCANARY","quota_project_id":"q"}'
seed fuzz_credentials impersonated '{"type":"impersonated_service_account","service_account_impersonation_url":"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/t@p.iam.gserviceaccount.com:generateAccessToken","delegates":["d@p.iam.gserviceaccount.com"],"source_credentials":{"type":"authorized_user","client_id":"c","client_secret":"FUZZCANARY","refresh_token":"FUZZCANARY"}}'
seed fuzz_credentials external_file '{"type":"external_account","audience":"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x","subject_token_type":"urn:ietf:params:oauth:token-type:jwt","token_url":"https://sts.googleapis.com/v1/token","credential_source":{"file":"/nonexistent","format":{"type":"json","subject_token_field_name":"t"}}}'
seed fuzz_credentials external_url '{"type":"external_account","audience":"//iam.googleapis.com/locations/global/workforcePools/p/providers/x","subject_token_type":"urn:ietf:params:oauth:token-type:id_token","workforce_pool_user_project":"u","credential_source":{"url":"http://127.0.0.1:9/t","headers":{"Metadata":"True"}},"service_account_impersonation_url":"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/t@p.iam.gserviceaccount.com:generateAccessToken","service_account_impersonation":{"token_lifetime_seconds":600}}'
seed fuzz_credentials external_exec '{"type":"external_account","audience":"a","subject_token_type":"t","credential_source":{"executable":{"command":"/bin/true"}}}'
seed fuzz_credentials access '{"access_token":"ya29.FUZZCANARY","expires_in":3599,"token_type":"Bearer","id_token":"a.b.c"}'
seed fuzz_credentials id '{"id_token":"eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDAsImF1ZCI6IngifQ.c2ln"}'
seed fuzz_credentials time '2026-11-27T07:30:00.123+01:30'

printf '%s\n' '"{"' '"}"' '"["' '"]"' '":"' '","' '"\""' '"true"' \
  '"false"' '"null"' '"\\u0000"' '"\\u0061"' '"\\ud83d\\ude00"' '"-0"' \
  '"1e308"' '"9007199254740993"' '"\xef\xbb\xbf"' > "$FUZZ/json.dict"

status=0
# run TARGET MAX_LEN [EXTRA_FLAGS...]
run() {
  target=$1
  max_len=$2
  shift 2
  log="$FUZZ/$target.log"
  committed=
  [ -d "tests/fuzz/corpus/$target" ] && committed="tests/fuzz/corpus/$target"
  echo "fuzz: $target for ${SECS}s (max_len $max_len)"
  if "$BUILD/tests/fuzz/$target" -max_total_time="$SECS" \
      -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 \
      -artifact_prefix="$FUZZ/artifacts/$target/" "$@" \
      "$FUZZ/corpus/$target" "$FUZZ/seeds/$target" $committed > "$log" 2>&1 &&
      [ -z "$(ls -A "$FUZZ/artifacts/$target")" ]; then
    grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' "$log" || true
  else
    echo "fuzz: $target FAILED; log $log, reproducer(s):" >&2
    ls -l "$FUZZ/artifacts/$target" >&2 || true
    tail -n 40 "$log" >&2
    status=1
  fi
}

# base64: past 1024 characters, the decoder's internal chunk size.
run fuzz_base64 4200
run fuzz_json 4096 -dict="$FUZZ/json.dict"
# JWS: a Google ID token is about 1 KB; 4096 leaves room for big headers.
run fuzz_jws 4096 -dict="$FUZZ/json.dict"
# Key sets: a JWKS of three RSA keys or a certificate map is 2-5 KB.
run fuzz_keyset 8192 -dict="$FUZZ/json.dict"
# Credentials files are 2-3 KB (a PEM RSA key); token replies under 2 KB.
run fuzz_credentials 8192 -dict="$FUZZ/json.dict"

exit $status
