#!/usr/bin/env bash
# End-to-end tests of the gauth CLI: every subcommand, its exit codes (0 ok,
# 1 failure or rejection, 2 usage), its messages, and that no token or key
# ever shows in one. Keys come from openssl; key sets are files or are
# served on 127.0.0.1 (python3's http.server), never the network.
#
# Usage: cli-test.sh GAUTH_BINARY WORK_DIR       (exit 77: openssl missing)
set -u
gauth=$1
w=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/keys.sh"

command -v openssl > /dev/null || { echo "SKIP: openssl not installed"; exit 77; }
rm -rf "$w"
mkdir -p "$w"
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() {
  failed=$((failed + 1))
  echo "FAIL: $*"
  echo "  stdout: $(head -c 600 "$w/out")"
  echo "  stderr: $(head -c 600 "$w/err")"
}

# run CODE NAME CMD...: runs CMD (stdin /dev/null), stdout to $w/out, stderr
# to $w/err, and checks the exit status.
run() {
  local want=$1 name=$2
  shift 2
  "$@" < /dev/null > "$w/out" 2> "$w/err"
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok "$name (exit $rc)"; return 0; fi
  bad "$name: exit $rc, expected $want"
  return 1
}
# run_in CODE NAME INPUT CMD...: the same with INPUT on stdin.
run_in() {
  local want=$1 name=$2 input=$3
  shift 3
  printf '%s' "$input" | "$@" > "$w/out" 2> "$w/err"
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok "$name (exit $rc)"; return 0; fi
  bad "$name: exit $rc, expected $want"
  return 1
}
# has FILE TEXT NAME: FILE contains TEXT (fixed string).
has() {
  if grep -qF -- "$2" "$1"; then ok "$3"; else bad "$3: '$2' not in $1"; fi
}
hasnt() {
  if grep -qF -- "$2" "$1"; then bad "$3: '$2' found in $1"; else ok "$3"; fi
}
# rejected REASON NAME: the last run was a rejection with that reason, and
# its message does not show the token.
rejected() {
  has "$w/err" "gauth: token rejected: $1: " "$2: reason $1"
  [ -z "${tok_sig:-}" ] || hasnt "$w/err" "$tok_sig" "$2: token not echoed"
}

# ---- keys, key sets ----------------------------------------------------------
make_keys "$w"
{
  printf '{"keys":['
  rsa_pub_jwk "$w/rsa-pub.pem" r1; printf ','
  rsa_pub_jwk "$w/rsa2-pub.pem" r2; printf ','
  ec_pub_jwk "$w/ec-pub.pem" e1; printf ','
  rsa_pub_jwk "$w/rsa-pub.pem" sa-key-1
  printf ']}\n'
} > "$w/jwks.json"
printf '{"r1":%s}\n' "$(pem_json "$w/rsa.crt")" > "$w/certmap.json"
printf '{"type":"service_account","project_id":"p","private_key_id":"sa-key-1","private_key":%s,"client_email":"svc@p.iam.gserviceaccount.com","client_id":"1","token_uri":"https://oauth2.googleapis.com/token"}\n' \
  "$(pem_json "$w/rsa.pem")" > "$w/sa.json"

T=1700000000
NOW=$((T + 60))
ISS=https://issuer.test
claims() { # claims ISS AUD [EXTRA]
  printf '{"iss":"%s","aud":"%s","sub":"user-1","iat":%d,"exp":%d%s}' \
    "$1" "$2" "$T" $((T + 3600)) "${3:-}"
}
sign() { # sign OUT_VAR ARGS...: signs, stores the token
  local var=$1
  shift
  if "$gauth" sign-jwt "$@" > "$w/tok" 2> "$w/err"; then
    printf -v "$var" '%s' "$(cat "$w/tok")"
  else
    printf -v "$var" '%s' ""
    echo "FAIL: sign-jwt $*: $(cat "$w/err")"
    failed=$((failed + 1))
  fi
}
V=("$gauth" verify "--now=$NOW")

# ---- help and usage ------------------------------------------------------------
run 0 "gauth --help" "$gauth" --help && has "$w/out" "sign-jwt" "main help lists sign-jwt"
for c in verify decode sign-jwt version endpoints resolve; do
  run 0 "gauth $c --help" "$gauth" "$c" --help &&
    has "$w/out" "usage: gauth $c" "$c --help prints its usage"
done
run 2 "unknown command" "$gauth" frobnicate
run 2 "a token as the command is not echoed" "$gauth" eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln
hasnt "$w/err" "eyJhbGci" "unknown command: token not echoed"

# ---- sign-jwt ------------------------------------------------------------------
sign rs "--key=$w/rsa.pem" --kid=r1 "--claims=$(claims $ISS aud-1)"
[ "$(printf '%s' "$rs" | tr -cd . | wc -c)" -eq 2 ] && ok "sign-jwt RS256: compact JWS" ||
  bad "sign-jwt RS256: not three segments"
tok_sig=${rs##*.}
claims $ISS aud-1 > "$w/claims.json"
sign rs_file "--key=$w/rsa.pem" --kid=r1 "--claims=@$w/claims.json"
[ "$rs" = "$rs_file" ] && ok "--claims=@FILE equals --claims=JSON (RS256 is deterministic)" ||
  bad "--claims=@FILE gives another token"
sign rs_stdin "--key=$w/rsa.pem" --kid r1 --claims=@- < "$w/claims.json"
[ "$rs" = "$rs_stdin" ] && ok "--claims=@- and '--kid VALUE'" || bad "--claims=@- gives another token"
sign es "--key=$w/ec.pem" --kid=e1 --alg=ES256 "--claims=$(claims $ISS aud-1)"
sign sa "--key=$w/sa.json" "--claims=$(claims $ISS aud-1)"
sign nokid "--key=$w/rsa.pem" "--claims=$(claims $ISS aud-1)"
sign r2_as_r1 "--key=$w/rsa2.pem" --kid=r1 "--claims=$(claims $ISS aud-1)"
sign unknown_kid "--key=$w/rsa.pem" --kid=nope "--claims=$(claims $ISS aud-1)"
sign other "--key=$w/rsa.pem" --kid=r1 "--claims=$(claims $ISS aud-1 ',"x":1')"
sign google "--key=$w/rsa.pem" --kid=r1 \
  "--claims=$(claims https://accounts.google.com aud-1 ',"email":"a@example.com","email_verified":true')"
sign google_bare "--key=$w/rsa.pem" --kid=r1 "--claims=$(claims accounts.google.com aud-1)"
sign nbf "--key=$w/rsa.pem" --kid=r1 "--claims=$(claims $ISS aud-1 ",\"nbf\":$((T + 600))")"

run 2 "sign-jwt without --key" "$gauth" sign-jwt --claims='{}'
run 2 "sign-jwt without --claims" "$gauth" sign-jwt "--key=$w/rsa.pem"
run 2 "sign-jwt --alg=HS256" "$gauth" sign-jwt "--key=$w/rsa.pem" --claims='{}' --alg=HS256
run 2 "sign-jwt stray argument" "$gauth" sign-jwt "--key=$w/rsa.pem" --claims='{}' extra
run 2 "sign-jwt --kid without value" "$gauth" sign-jwt "--key=$w/rsa.pem" --claims='{}' --kid
run 1 "sign-jwt with a public key" "$gauth" sign-jwt "--key=$w/rsa-pub.pem" --claims='{}' &&
  has "$w/err" "public key" "sign-jwt public key: message says so"
run 1 "sign-jwt RS256 key with --alg=ES256" "$gauth" sign-jwt "--key=$w/rsa.pem" --claims='{}' --alg=ES256
run 1 "sign-jwt claims not JSON" "$gauth" sign-jwt "--key=$w/rsa.pem" '--claims=not json'
run 1 "sign-jwt claims not an object" "$gauth" sign-jwt "--key=$w/rsa.pem" '--claims=[1]'
run 1 "sign-jwt missing claims file" "$gauth" sign-jwt "--key=$w/rsa.pem" "--claims=@$w/none.json" &&
  has "$w/err" "none.json" "missing claims file: named"
run 1 "sign-jwt missing key file" "$gauth" sign-jwt "--key=$w/none.pem" --claims='{}'
# A corrupted key: the message must not show its contents.
sed '2s/^..../AAAA/' "$w/rsa.pem" > "$w/broken.pem"
run 1 "sign-jwt corrupted key" "$gauth" sign-jwt "--key=$w/broken.pem" --claims='{}' &&
  hasnt "$w/err" "$(sed -n 3p "$w/rsa.pem" | head -c 24)" "corrupted key: not echoed"

# ---- decode --------------------------------------------------------------------
run 0 "decode TOKEN" "$gauth" decode "$rs" && {
  has "$w/out" '{"header":{' "decode: header object"
  has "$w/out" '"kid":"r1"' "decode: kid"
  has "$w/out" ',"payload":{' "decode: payload object"
  has "$w/out" '"sub":"user-1"' "decode: claims"
  has "$w/err" "NOT verified" "decode: warns that nothing was verified"
  [ "$(wc -l < "$w/err")" -eq 1 ] && ok "decode: one-line warning" || bad "decode: warning not one line"
}
run_in 0 "decode - (stdin, trailing newline)" "$rs
" "$gauth" decode - && has "$w/out" '"sub":"user-1"' "decode stdin: claims"
run_in 0 "decode without TOKEN reads stdin (CRLF)" "$rs"$'\r\n' "$gauth" decode &&
  has "$w/out" '"sub":"user-1"' "decode stdin CRLF: claims"
run 0 "decode: service-account kid" "$gauth" decode "$sa" &&
  has "$w/out" '"kid":"sa-key-1"' "sign-jwt from a service-account file: kid = private_key_id"
run 0 "decode: ES256 header" "$gauth" decode "$es" && has "$w/out" '"alg":"ES256"' "decode: ES256 alg"
run 1 "decode garbage" "$gauth" decode not-a-token
run 1 "decode two segments" "$gauth" decode "${rs%.*}"
run 2 "decode two tokens" "$gauth" decode "$rs" "$rs"
hasnt "$w/err" "$tok_sig" "decode usage error: token not echoed"
run 2 "decode unknown option" "$gauth" decode --pretty "$rs"

# ---- verify: accepted ----------------------------------------------------------
run 0 "verify RS256 with a JWKS file" "${V[@]}" "$rs" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" && {
  has "$w/out" '"sub":"user-1"' "verify: claims on stdout"
  [ ! -s "$w/err" ] && ok "verify: nothing on stderr" || bad "verify: stderr not empty"
}
run_in 0 "verify - (stdin)" "$rs
" "${V[@]}" - --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json"
run_in 0 "verify without TOKEN reads stdin" "$rs" "${V[@]}" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json"
run 0 "verify '--audience VALUE' and -- TOKEN" "${V[@]}" --audience aud-1 --issuer $ISS --jwks "$w/jwks.json" -- "$rs"
run 0 "verify ES256" "${V[@]}" "$es" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json"
run 0 "verify service-account-signed token" "${V[@]}" "$sa" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json"
run 0 "verify, one of several audiences" "${V[@]}" "$rs" --audience=x --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json"
run 0 "verify, one of several issuers" "${V[@]}" "$rs" --audience=aud-1 --issuer=https://a.test --issuer=$ISS "--jwks=$w/jwks.json"
run 0 "verify with a PEM public key (token without kid)" "${V[@]}" "$nokid" --audience=aud-1 --issuer=$ISS "--jwks=$w/rsa-pub.pem"
run 0 "verify with a certificate (token without kid)" "${V[@]}" "$nokid" --audience=aud-1 --issuer=$ISS "--jwks=$w/rsa.crt"
run 0 "verify with Google's PEM certificate map" "${V[@]}" "$rs" --audience=aud-1 --issuer=$ISS "--jwks=$w/certmap.json"
run 0 "verify --issuer=google (https://accounts.google.com)" "${V[@]}" "$google" --audience=aud-1 --issuer=google "--jwks=$w/jwks.json" &&
  has "$w/out" '"email_verified":true' "verify google: claims"
run 0 "verify, google is the default (iss accounts.google.com)" "${V[@]}" "$google_bare" --audience=aud-1 "--jwks=$w/jwks.json"
run 0 "verify --alg=RS256,ES256" "${V[@]}" "$es" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" --alg=RS256,ES256
run 0 "verify: expired within --leeway" "$gauth" verify "--now=$((T + 3600 + 100))" --leeway=200 "$rs" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json"

# ---- verify: rejected (exit 1, reason) -------------------------------------------
run 1 "verify expired" "$gauth" verify "--now=$((T + 3600 + 100))" "$rs" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" &&
  rejected expired "expired"
run 1 "verify expired, --leeway=0" "$gauth" verify "--now=$((T + 3601))" --leeway=0 "$rs" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" &&
  rejected expired "expired, no leeway"
run 1 "verify not yet valid (nbf)" "${V[@]}" "$nbf" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" &&
  rejected not_yet_valid "nbf"
run 1 "verify issued in the future" "$gauth" verify "--now=$((T - 600))" "$rs" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" &&
  rejected issued_in_future "iat"
run 1 "verify audience mismatch" "${V[@]}" "$rs" --audience=aud-2 --issuer=$ISS "--jwks=$w/jwks.json" &&
  rejected audience_mismatch "aud"
run 1 "verify issuer mismatch" "${V[@]}" "$rs" --audience=aud-1 --issuer=https://other.test "--jwks=$w/jwks.json" &&
  rejected issuer_mismatch "iss"
run 1 "verify google preset, other issuer" "${V[@]}" "$rs" --audience=aud-1 "--jwks=$w/jwks.json" &&
  rejected issuer_mismatch "google iss"
run 1 "verify signature of another token" "${V[@]}" "${rs%.*}.${other##*.}" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" &&
  rejected signature_invalid "swapped signature"
run 1 "verify signed by another key" "${V[@]}" "$r2_as_r1" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" &&
  rejected signature_invalid "wrong key"
run 1 "verify unknown kid" "${V[@]}" "$unknown_kid" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" &&
  rejected unknown_kid "kid"
run 1 "verify ES256 with --alg=RS256" "${V[@]}" "$es" --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" --alg=RS256 &&
  rejected alg_not_allowed "alg"
run 1 "verify ES256 under the google preset" "${V[@]}" "$es" --audience=aud-1 --issuer=google "--jwks=$w/jwks.json" &&
  rejected alg_not_allowed "google alg"
run 1 "verify malformed" "${V[@]}" abc.def --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" &&
  rejected malformed "malformed"
run_in 1 "verify empty stdin" "" "${V[@]}" - --audience=aud-1 --issuer=$ISS "--jwks=$w/jwks.json" &&
  rejected malformed "empty"
run 1 "verify, keys unreachable (closed port)" "${V[@]}" "$rs" --audience=aud-1 --issuer=$ISS --jwks=http://127.0.0.1:9/jwks.json &&
  rejected keys_unavailable "closed port"

# ---- verify: usage and other failures ---------------------------------------------
run 2 "verify without --audience" "${V[@]}" "$rs" "--jwks=$w/jwks.json"
hasnt "$w/err" "$tok_sig" "usage error: token not echoed"
run 2 "verify unknown option (value not echoed)" "${V[@]}" "$rs" --audience=a "--tok=$rs"
hasnt "$w/err" "$tok_sig" "unknown option: value not echoed"
run 2 "verify two tokens" "${V[@]}" "$rs" "$rs" --audience=a
run 2 "verify --alg=HS256" "${V[@]}" "$rs" --audience=a --alg=HS256
run 2 "verify --alg=none" "${V[@]}" "$rs" --audience=a --alg=RS256,none
run 2 "verify --leeway=abc" "${V[@]}" "$rs" --audience=a --leeway=abc
run 2 "verify --leeway=-1" "${V[@]}" "$rs" --audience=a --leeway=-1
run 2 "verify --now=soon" "$gauth" verify --now=soon "$rs" --audience=a
run 2 "verify --issuer=google --issuer=iap" "${V[@]}" "$rs" --audience=a --issuer=google --issuer=iap
run 2 "verify --issuer=google with an issuer URL" "${V[@]}" "$rs" --audience=a --issuer=google --issuer=$ISS
run 2 "verify two issuers without --jwks" "${V[@]}" "$rs" --audience=a --issuer=https://a.test --issuer=$ISS
run 2 "verify --audience without value" "${V[@]}" "$rs" --audience
run 1 "verify --jwks=missing file" "${V[@]}" "$rs" --audience=aud-1 "--jwks=$w/none.json" &&
  has "$w/err" "none.json" "missing key set: file named"
printf 'not a key set' > "$w/junk.json"
run 1 "verify --jwks=junk" "${V[@]}" "$rs" --audience=aud-1 "--jwks=$w/junk.json"

# ---- verify: keys and discovery over HTTP on 127.0.0.1 ---------------------------
py=/usr/bin/python3
if [ -x "$py" ]; then
  srv=$w/srv
  mkdir -p "$srv/oauth2/v3" "$srv/.well-known"
  cp "$w/jwks.json" "$srv/jwks.json"
  cp "$w/jwks.json" "$srv/oauth2/v3/certs"
  (cd "$srv" && exec "$py" -u -m http.server --bind 127.0.0.1 0 > "$w/srv.log" 2>&1) &
  srv_pid=$!
  port=
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$w/srv.log" | head -n1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  if [ -n "$port" ]; then
    base=http://127.0.0.1:$port
    printf '{"issuer":"%s","jwks_uri":"%s/jwks.json"}' "$base" "$base" \
      > "$srv/.well-known/openid-configuration"
    sign oidc "--key=$w/rsa.pem" --kid=r1 "--claims=$(claims "$base" aud-1)"
    run 0 "verify --jwks=URL (127.0.0.1)" "${V[@]}" "$rs" --audience=aud-1 --issuer=$ISS "--jwks=$base/jwks.json"
    run 0 "verify google preset, keys via GAUTH_ENDPOINT" env "GAUTH_ENDPOINT=$base" "${V[@]}" "$google" --audience=aud-1
    run 0 "verify --issuer=URL: OpenID discovery" "${V[@]}" "$oidc" --audience=aud-1 "--issuer=$base"
    run 1 "verify --issuer=URL: discovery, wrong audience" "${V[@]}" "$oidc" --audience=aud-2 "--issuer=$base" &&
      rejected audience_mismatch "discovery aud"
    run 1 "verify --jwks=URL not found" "${V[@]}" "$rs" --audience=aud-1 --issuer=$ISS "--jwks=$base/missing.json" &&
      rejected keys_unavailable "404 keys"
  else
    bad "http.server on 127.0.0.1 did not start: $(cat "$w/srv.log")"
  fi
  kill "$srv_pid" 2>/dev/null
  wait "$srv_pid" 2>/dev/null
else
  echo "SKIP: key sets over HTTP (no /usr/bin/python3 for a local server)"
fi

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
