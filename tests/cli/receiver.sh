#!/usr/bin/env bash
# End-to-end tests of examples/receiver (a libmicrohttpd service that
# authenticates Google's callers with gauth_receiver) against a
# gauth-emulator of its own, over real HTTP on 127.0.0.1:
#
# - the emulator's Cloud Scheduler calls it: a job created through the
#   Cloud Scheduler API (an OIDC token of an allowed account, audience = the
#   receiver's URL) is run with :run; the receiver logs 200 cloud_scheduler
#   with the job's account, the attempt log and the job's status say 200 /
#   OK; a job of an account not in --allow: 403 at the receiver, the job's
#   status PERMISSION_DENIED;
# - gauth invoke calls it: 200;
# - curl: no token (401, WWW-Authenticate: Bearer), Basic, a forged token
#   (re-signed with a key made by openssl), an expired one (minted while the
#   emulator's clock was two hours behind), another audience, the signature
#   replaced with SIGNATURE_REMOVED_BY_GOOGLE (401; 200 unverified with
#   --trust-cloud-run on Cloud Run's $PORT, 401 on another port), a Pub/Sub
#   push (an ID token of the push account by impersonation, the envelope
#   built here): 200 with the data decoded, a malformed envelope 400, an
#   oversized one 413, an account not allowed or without an email 403;
# - the caller's kind from X-CloudScheduler / X-CloudTasks-QueueName;
#   --allow-domain (200 inside the domain, 403 outside), --token-cache=0;
# - IAP: an assertion minted by the emulator (200), another audience (401),
#   a user not allowed (403), none (401);
# - Google's keys out of reach (503, Retry-After), --no-auth, IPv6, bad
#   input (huge headers, garbage, a half request), usage errors;
# - the access log never holds a token.
#
# Usage: receiver.sh RECEIVER_BINARY GAUTH_BINARY EMULATOR_BINARY WORK_DIR
#   [DOCS_RECEIVE_BINARY] (docs/receiving.md's program: run as the page says)
# GAUTH_RECEIVER_WRAPPER, when set, is a command line the receivers run
# under, e.g. "valgrind -q --leak-check=full --errors-for-leak-kinds=definite
# --error-exitcode=9": every receiver must then still exit 0 on SIGTERM.
set -u
receiver=$1
gauth=$2
emulator=$3
w=$4
docs_receive=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$w"
mkdir -p "$w/empty-gcloud"
. "$here/harness.sh"
command -v openssl > /dev/null || { echo "SKIP: no openssl"; exit 77; }

P=demo-project
D=$P.iam.gserviceaccount.com
sched=scheduler@$D   # the job's account, allowed
pusher=pusher@$D     # the push subscription's account, allowed
intruder=intruder@$D # a valid Google account the receiver does not allow
agent=service-123456789012@gcp-sa-cloudscheduler.iam.gserviceaccount.com
# scheduler@ (the key file's account) creates jobs, acts as every account
# of the project and mints their tokens; the service agent runs the jobs.
cat > "$w/world.json" << JSON
{"service_accounts": [{"email": "$sched"}, {"email": "runner@$D"},
                      {"email": "$pusher"}, {"email": "$intruder"}],
 "invoker": "$sched", "metadata_account": "runner@$D",
 "bindings": [
   {"resource": "projects/$P", "role": "roles/cloudscheduler.admin", "members": ["serviceAccount:$sched"]},
   {"resource": "projects/$P", "role": "roles/iam.serviceAccountUser", "members": ["serviceAccount:$sched"]},
   {"resource": "projects/$P", "role": "roles/iam.serviceAccountTokenCreator", "members": ["serviceAccount:$sched"]},
   {"resource": "projects/$P", "role": "roles/cloudscheduler.serviceAgent", "members": ["serviceAccount:$agent"]}]}
JSON
start_emulator --config="$w/world.json" --key-file="$w/key.json"
export GAUTH_ENDPOINT=$base GCE_METADATA_HOST=$host GCE_METADATA_IP=$host
export CLOUDSDK_CONFIG=$w/empty-gcloud GAUTH_METADATA_DETECTION=none
export GOOGLE_APPLICATION_CREDENTIALS=$w/key.json
# A request to a real Google host (none may be made) fails at once.
export https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
unset K_SERVICE PORT

# ---- receivers -----------------------------------------------------------------
# start_receiver NAME [ENV=VALUE...] -- ARGS...: starts a receiver (stderr,
# its access log, to $w/NAME.log; every log is kept for the final checks);
# sets $url (its base URL, no trailing slash) and $rpid.
pids=
trap 'kill $emu $pids 2> /dev/null; wait 2> /dev/null' EXIT
start_receiver() {
  local name=$1 envs=()
  shift
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  rm -f "$w/$name.out"
  # shellcheck disable=SC2086 # the wrapper is a command line
  env "${envs[@]}" ${GAUTH_RECEIVER_WRAPPER:-} "$receiver" "$@" > "$w/$name.out" 2> "$w/$name.log" &
  rpid=$!
  pids="$pids $rpid"
  for _ in $(seq 400); do grep -q "^listening " "$w/$name.out" 2> /dev/null && break; sleep 0.05; done
  url=$(sed -n '1s/^listening //p' "$w/$name.out")
  [ -n "$url" ] || { echo "FAIL: receiver $name did not start: $(cat "$w/$name.log")"; exit 1; }
}
# stop_receiver [NAME]: SIGTERM to the last receiver started; NAME given:
# its exit status must be 0 (under a wrapper such as valgrind
# --error-exitcode, that is also "no error, no leak").
stop_receiver() {
  local rc
  kill -TERM "$rpid" 2> /dev/null
  wait "$rpid"
  rc=$?
  [ -z "${1:-}" ] && return 0
  [ "$rc" = 0 ] && ok "$1: SIGTERM, exit 0" || bad "$1: exit $rc after SIGTERM: $(tail -5 "$w/$1.log")"
}
# A free loopback port (bound and released: nothing else binds here).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# req NAME STATUS URL CURL_ARGS...: one request; the body to $w/body, the
# headers to $w/hdr; checks the status.
req() {
  local name=$1 want=$2 target=$3
  shift 3
  local st
  case $target in "$main_url"*) nmain=$((nmain + 1)) ;; esac
  st=$(curl -sS --noproxy '*' -o "$w/body" -D "$w/hdr" -w '%{http_code}' "$@" "$target" 2> "$w/err")
  echo "$name: $st $(head -c 300 "$w/body")" >> "$w/all-out"
  if [ "$st" = "$want" ]; then ok "$name: HTTP $st"; return 0; fi
  failed=$((failed + 1))
  echo "FAIL: $name: HTTP $st, expected $want"
  echo "  body: $(head -c 600 "$w/body")"
  echo "  curl: $(head -c 300 "$w/err")"
  return 1
}
# jq_ok NAME PYTHON_EXPR: the expression holds for o, the JSON body.
jq_ok() {
  if python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
    "$w/body" "$2" 2> /dev/null; then
    ok "$1"
  else
    bad "$1: not $2 in $(head -c 400 "$w/body")"
  fi
}
reason_is() { jq_ok "reason $1" "o['error']['reason'] == '$1'"; }
www_has() {
  if grep -qi "^WWW-Authenticate: $1" "$w/hdr"; then ok "WWW-Authenticate: $1"; else
    bad "no 'WWW-Authenticate: $1' in $(tr '\r\n' '  ' < "$w/hdr")"
  fi
}
# waitlog LOG TEXT: waits up to 10 s for TEXT in LOG.
waitlog() {
  for _ in $(seq 200); do grep -qF -- "$2" "$1" && return 0; sleep 0.05; done
  return 1
}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

toks=() # every token sent, for the final "no token in a log" check

# ---- the main receiver -----------------------------------------------------------
start_receiver main -- --listen=127.0.0.1:0 --threads=2 --max-body=4096 \
  --audience=PLACEHOLDER --allow="$sched,$pusher"
# The audience is the receiver's own URL, which only a started receiver
# knows: start once for a port, then again on that port.
port=${url##*:}
stop_receiver
start_receiver main -- --listen=127.0.0.1:$port --threads=2 --max-body=4096 \
  --audience="$url/,$url/pubsub" --allow="$sched,$pusher" --realm=receiver-test
main_url=$url
nmain=3 # the two jobs' attempts and gauth invoke's
aud=$url/
mlog=$w/main.log

req "GET /healthz" 200 "$url/healthz"
jq_ok "healthz says ok" "o['status'] == 'ok'"
req "POST /iap without --iap-audience" 404 "$url/iap" -X POST
req "an unknown path" 404 "$url/nope"

# ---- Cloud Scheduler ---------------------------------------------------------------
at=$("$gauth" print-access-token)
jobs_api=$base/v1/projects/$P/locations/us-central1/jobs
toks+=("$at")
# job NAME ACCOUNT: creates a job that POSTs to the receiver with ACCOUNT's
# ID token, no retry; then runs it.
job() {
  local st
  st=$(curl -sS --noproxy '*' -o "$w/job-$1" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $at" -H 'Content-Type: application/json' "$jobs_api" \
    -d "{\"name\":\"projects/$P/locations/us-central1/jobs/$1\",\"schedule\":\"0 3 * * *\",
         \"httpTarget\":{\"uri\":\"$aud\",\"httpMethod\":\"POST\",\"body\":\"aGVsbG8=\",
           \"oidcToken\":{\"serviceAccountEmail\":\"$2\",\"audience\":\"$aud\"}},
         \"retryConfig\":{\"retryCount\":0}}")
  [ "$st" = 200 ] && ok "job $1 created" || bad "creating job $1: HTTP $st $(cat "$w/job-$1")"
  st=$(curl -sS --noproxy '*' -o "$w/run-$1" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $at" "$jobs_api/$1:run")
  [ "$st" = 200 ] && ok "job $1 :run" || bad "running job $1: HTTP $st $(cat "$w/run-$1")"
}
# job_status NAME: waits for the attempt to be recorded, then the job's
# status code ("0" when OK) in $w/body.
job_status() {
  local code=
  for _ in $(seq 100); do
    curl -sS --noproxy '*' -o "$w/body" -H "Authorization: Bearer $at" "$jobs_api/$1"
    code=$(python3 -c 'import json,sys; o=json.load(open(sys.argv[1]))
print(o["status"].get("code", 0) if "lastAttemptTime" in o and "status" in o else "")' "$w/body" 2> /dev/null)
    [ -n "$code" ] && break
    sleep 0.1
  done
  echo "$code"
}
attempt_status() {
  curl -sS --noproxy '*' "$base/emulator/v1/scheduler/logs?job=$1" |
    python3 -c 'import json,sys
e=[x for x in json.load(sys.stdin)["entries"] if x["jsonPayload"]["@type"].endswith("AttemptFinished")]
print(e[-1]["httpRequest"]["status"] if e else "")'
}

job allowed "$sched"
if waitlog "$mlog" "POST / 200 cloud_scheduler $sched"; then
  ok "the receiver logged 200 cloud_scheduler $sched"
else
  bad "no 200 cloud_scheduler line: $(tail -3 "$mlog")"
fi
[ "$(job_status allowed)" = 0 ] && ok "the job's status is OK" || bad "the job's status: $(cat "$w/body")"
[ "$(attempt_status allowed)" = 200 ] && ok "the attempt log says 200" || bad "attempt log: $(attempt_status allowed)"

job intruder "$intruder"
if waitlog "$mlog" "POST / 403 - - caller_not_allowed"; then
  ok "the receiver answered the intruder's job 403 caller_not_allowed"
else
  bad "no 403 caller_not_allowed line: $(tail -3 "$mlog")"
fi
[ "$(job_status intruder)" = 7 ] && ok "the job's status is PERMISSION_DENIED (7)" ||
  bad "the intruder job's status: $(cat "$w/body")"
[ "$(attempt_status intruder)" = 403 ] && ok "the attempt log says 403" || bad "attempt log: $(attempt_status intruder)"

# ---- gauth invoke ----------------------------------------------------------------
run 0 "gauth invoke (OIDC)" "$gauth" invoke "$aud" --oidc
has "$w/out" "HTTP 200" "gauth invoke: 200"
[ "$(grep -c "POST / 200 cloud_scheduler $sched" "$mlog")" = 2 ] &&
  ok "the receiver saw gauth invoke as Cloud Scheduler" || bad "no second cloud_scheduler line: $(tail -2 "$mlog")"

# ---- tokens and curl --------------------------------------------------------------
tok=$("$gauth" print-identity-token --audiences="$aud")
[ -n "$tok" ] && ok "an ID token for the receiver" || bad "no ID token"
toks+=("$tok")
IFS=. read -r th tp _ <<< "$tok"

req "a valid token" 200 "$aud" -X POST -H "Authorization: Bearer $tok"
jq_ok "kind google, the caller's email" "o['kind'] == 'google' and o['email'] == '$sched'"
jq_ok "the audience and a verified signature" "o['audience'] == '$aud' and o['signature_verified'] is True"
req "GET with a valid token" 200 "$aud" -H "Authorization: Bearer $tok"
req "PUT, X-Serverless-Authorization" 200 "$aud" -X PUT -H "X-Serverless-Authorization: Bearer $tok"
req "Cloud Scheduler's header" 200 "$aud" -X POST -H "Authorization: Bearer $tok" -H 'X-CloudScheduler: true'
jq_ok "kind cloud_scheduler" "o['kind'] == 'cloud_scheduler'"
req "Cloud Tasks' header" 200 "$aud" -X POST -H "Authorization: Bearer $tok" -H 'X-CloudTasks-QueueName: q1'
jq_ok "kind cloud_tasks" "o['kind'] == 'cloud_tasks'"
req "the same token again (cached)" 200 "$aud" -X POST -H "Authorization: Bearer $tok"

req "no token" 401 "$aud" -X POST
reason_is no_credentials
www_has 'Bearer'
if grep -qi '^WWW-Authenticate: .*error=' "$w/hdr"; then bad "no credentials: an error in the challenge"; else ok "no credentials: no error in the challenge (RFC 6750 3.1)"; fi
req "Basic credentials" 401 "$aud" -X POST -H 'Authorization: Basic dXNlcjpwYXNz'
reason_is bad_auth_header
www_has 'Bearer.*invalid_token'
req "garbage" 401 "$aud" -X POST -H 'Authorization: Bearer not-a-jwt'
www_has 'Bearer.*realm="receiver-test"'

# Forged: the same header and claims, signed with a key of our own.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$w/forger.pem" 2> /dev/null
fs=$(printf '%s' "$th.$tp" | openssl dgst -sha256 -sign "$w/forger.pem" | b64url)
forged=$th.$tp.$fs
toks+=("$forged")
req "a forged token" 401 "$aud" -X POST -H "Authorization: Bearer $forged"
reason_is signature_invalid
www_has 'Bearer.*invalid_token'

# Expired: minted while the emulator's clock is two hours behind (an ID
# token lives one hour), through IAM Credentials with an access token minted
# before the move.
curl -sS --noproxy '*' -o /dev/null -X POST "$base/emulator/v1/clock" -d '{"offset_seconds":-7200}'
old=$(curl -sS --noproxy '*' -X POST -H "Authorization: Bearer $at" -H 'Content-Type: application/json' \
  "$base/v1/projects/-/serviceAccounts/$sched:generateIdToken" \
  -d "{\"audience\":\"$aud\",\"includeEmail\":true}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin).get("token",""))')
curl -sS --noproxy '*' -o /dev/null -X POST "$base/emulator/v1/clock" -d '{"offset_seconds":0}'
[ -n "$old" ] && ok "a token minted two hours ago" || bad "no token from generateIdToken"
toks+=("$old")
req "an expired token" 401 "$aud" -X POST -H "Authorization: Bearer $old"
reason_is expired

other=$("$gauth" print-identity-token --audiences=https://elsewhere.example/)
toks+=("$other")
req "a token for another audience" 401 "$aud" -X POST -H "Authorization: Bearer $other"
reason_is audience_mismatch

# Cloud Run's IAM check replaces the signature of the token it checked.
removed=$th.$tp.SIGNATURE_REMOVED_BY_GOOGLE
req "signature removed, not trusted" 401 "$aud" -X POST -H "Authorization: Bearer $removed"
reason_is signature_removed

# ---- Pub/Sub push ------------------------------------------------------------------
ptok=$("$gauth" print-identity-token --audiences="$url/pubsub" --include-email \
  --impersonate-service-account="$pusher")
[ -n "$ptok" ] && ok "the push account's ID token (impersonated)" || bad "no push token"
toks+=("$ptok")
data=$(printf 'ship it: caf\xc3\xa9' | openssl base64 -A)
cat > "$w/push.json" << JSON
{"message": {"data": "$data", "attributes": {"origin": "receiver.sh"},
             "messageId": "1234567890", "message_id": "1234567890",
             "publishTime": "2026-12-07T05:00:00.000Z", "publish_time": "2026-12-07T05:00:00.000Z"},
 "subscription": "projects/$P/subscriptions/receiver-push"}
JSON
req "a push" 200 "$url/pubsub" -H "Authorization: Bearer $ptok" -H 'Content-Type: application/json' \
  --data-binary @"$w/push.json"
jq_ok "kind pubsub_push, the push account" "o['kind'] == 'pubsub_push' and o['email'] == '$pusher'"
jq_ok "the message: id, subscription, attribute" \
  "o['message']['id'] == '1234567890' and o['message']['subscription'] == 'projects/$P/subscriptions/receiver-push' and o['message']['attributes'] == {'origin': 'receiver.sh'}"
jq_ok "the data, decoded" "o['message']['data'] == 'ship it: caf\u00e9' and o['message']['data_bytes'] == 14"
printf '{"message": {"data": "%s", "messageId": "2"}, "subscription": "projects/%s/subscriptions/s"}' \
  "$(printf '\x00\x01\xff' | openssl base64 -A)" "$P" > "$w/binary.json"
req "a push of binary data" 200 "$url/pubsub" -H "Authorization: Bearer $ptok" --data-binary @"$w/binary.json"
jq_ok "binary data: its size, not its bytes" "o['message']['data_bytes'] == 3 and 'data' not in o['message']"
req "a malformed envelope" 400 "$url/pubsub" -H "Authorization: Bearer $ptok" --data-binary '{"message": '
reason_is bad_envelope
req "not an envelope" 400 "$url/pubsub" -H "Authorization: Bearer $ptok" --data-binary '{"hello": 1}'
head -c 6000 /dev/zero | tr '\0' a > "$w/big"
req "an oversized body (Content-Length)" 413 "$url/pubsub" -H "Authorization: Bearer $ptok" --data-binary @"$w/big"
reason_is body_too_large
req "an oversized body (chunked)" 413 "$url/pubsub" -H "Authorization: Bearer $ptok" \
  -H 'Transfer-Encoding: chunked' --data-binary @"$w/big"
itok=$("$gauth" print-identity-token --audiences="$url/pubsub" --include-email \
  --impersonate-service-account="$intruder")
toks+=("$itok")
req "a push from an account not allowed" 403 "$url/pubsub" -H "Authorization: Bearer $itok" \
  --data-binary @"$w/push.json"
reason_is caller_not_allowed
www_has 'Bearer.*insufficient_scope'
ntok=$("$gauth" print-identity-token --audiences="$url/pubsub" --impersonate-service-account="$pusher")
toks+=("$ntok")
req "a push whose token has no email" 403 "$url/pubsub" -H "Authorization: Bearer $ntok" \
  --data-binary @"$w/push.json"
req "a push without a token" 401 "$url/pubsub" --data-binary @"$w/push.json"
req "GET /pubsub" 405 "$url/pubsub" -H "Authorization: Bearer $ptok"
req "the healthz still answers" 200 "$url/healthz"

# ---- bad input never crashes it -----------------------------------------------------
python3 - "${url##*:}" << 'PY' && ok "huge headers, garbage, a half request: the receiver stays up" || bad "bad input"
import socket, sys
port = int(sys.argv[1])
def send(data, read=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    r = s.recv(100) if read else b""
    s.close()
    return r
r = send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300000 + b"\r\n\r\n")
assert r.startswith(b"HTTP/1.1 4"), r
send(b"\x00\xff\xfe garbage\r\n\r\n", read=False)
send(b"POST /pubsub HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", read=False)
PY
req "alive after bad input" 200 "$url/healthz"
# The documented header limit: 24 KiB of headers fit the 32 KiB per
# connection, 40 KiB do not (431).
pad=$(head -c 24576 /dev/zero | tr '\0' a)
req "24 KiB of request headers" 200 "$url/healthz" -H "X-Pad: $pad"
# libmicrohttpd answers that one before the handler, so it has no access-log
# line and is not counted by req.
pad=$(head -c 40960 /dev/zero | tr '\0' a)
st=$(curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' -H "X-Pad: $pad" "$url/healthz" 2>&1)
[ "$st" = 431 ] && ok "40 KiB of request headers: HTTP 431" || bad "40 KiB of request headers: HTTP $st, expected 431"
# 16 threads of 40 keep-alive requests each, with 200 idle connections open.
python3 - "${url##*:}" "$tok" << 'PY' && ok "640 concurrent keep-alive requests: all 200" || bad "concurrent requests"
import http.client, socket, sys, threading
port, tok = int(sys.argv[1]), sys.argv[2]
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
bad = []
def worker():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    for _ in range(40):
        c.request("POST", "/", body=b"", headers={"Authorization": "Bearer " + tok})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            bad.append(r.status)
    c.close()
ts = [threading.Thread(target=worker) for _ in range(16)]
for t in ts: t.start()
for t in ts: t.join()
for s in idle: s.close()
print("non-200:", bad[:5])
sys.exit(1 if bad else 0)
PY
nmain=$((nmain + 640))

# ---- --trust-cloud-run ------------------------------------------------------------
stop_receiver main
cr=$(free_port)
start_receiver cloudrun K_SERVICE=x PORT="$cr" -- --listen=127.0.0.1:"$cr" \
  --audience="$aud" --allow="$sched" --trust-cloud-run --quiet
req "signature removed, on Cloud Run's port" 200 "$url/" -X POST -H "Authorization: Bearer $removed"
jq_ok "the caller, signature_verified false" "o['email'] == '$sched' and o['signature_verified'] is False"
req "signature removed, from X-Serverless-Authorization" 200 "$url/" -X POST \
  -H "X-Serverless-Authorization: Bearer $removed" -H 'Authorization: Bearer unrelated'
removed_old=$(echo "$old" | cut -d. -f1,2).SIGNATURE_REMOVED_BY_GOOGLE
req "signature removed, expired" 401 "$url/" -X POST -H "Authorization: Bearer $removed_old"
reason_is expired
req "a signed token, still verified" 200 "$url/" -X POST -H "Authorization: Bearer $tok"
jq_ok "signature_verified true" "o['signature_verified'] is True"
[ -s "$w/cloudrun.log" ] && bad "--quiet: a log line $(head -1 "$w/cloudrun.log")" || ok "--quiet: no access log"
stop_receiver cloudrun
start_receiver cloudrun2 K_SERVICE=x PORT="$(free_port)" -- --listen=127.0.0.1:0 \
  --audience="$url/" --allow="$sched" --trust-cloud-run
removed2=$("$gauth" print-identity-token --audiences="$url/" | cut -d. -f1,2).SIGNATURE_REMOVED_BY_GOOGLE
req "signature removed, on another port than \$PORT" 401 "$url/" -X POST -H "Authorization: Bearer $removed2"
reason_is signature_removed
stop_receiver cloudrun2

# ---- --allow-domain, --token-cache=0 ---------------------------------------------
start_receiver domain -- --listen=127.0.0.1:0 --audience="$aud" --allow-domain=other.example,$D \
  --token-cache=0
req "--allow-domain: an account of the domain" 200 "$url/" -X POST -H "Authorization: Bearer $tok"
req "--token-cache=0: verified again" 200 "$url/" -X POST -H "Authorization: Bearer $tok"
req "--token-cache=0: a forged token still refused" 401 "$url/" -X POST -H "Authorization: Bearer $forged"
stop_receiver domain
start_receiver domain2 -- --listen=127.0.0.1:0 --audience="$aud" --allow-domain=example.com
req "--allow-domain: an account of another domain" 403 "$url/" -X POST -H "Authorization: Bearer $tok"
reason_is caller_not_allowed
stop_receiver domain2

# ---- IAP ---------------------------------------------------------------------------
iap_aud=/projects/123456789012/apps/$P
# iap EMAIL AUDIENCE: an assertion IAP would send, minted by the emulator.
iap() {
  curl -sS --noproxy '*' -X POST "$base/emulator/v1/iap/assertion" \
    -d "{\"audience\":\"$2\",\"email\":\"$1\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("assertion", ""))'
}
start_receiver iap -- --listen=127.0.0.1:0 --iap-audience="$iap_aud" \
  --allow=alice@example.com
assertion=$(iap alice@example.com "$iap_aud")
[ -n "$assertion" ] && ok "an IAP assertion from the emulator" || bad "no IAP assertion"
toks+=("$assertion")
req "an IAP assertion" 200 "$url/iap" -H "x-goog-iap-jwt-assertion: $assertion"
jq_ok "kind iap, the user" "o['kind'] == 'iap' and o['email'] == 'alice@example.com' and o['audience'] == '$iap_aud'"
a2=$(iap alice@example.com /projects/123456789012/apps/other)
toks+=("$a2")
req "an IAP assertion for another audience" 401 "$url/iap" -H "x-goog-iap-jwt-assertion: $a2"
reason_is audience_mismatch
a3=$(iap bob@example.com "$iap_aud")
toks+=("$a3")
req "an IAP assertion of a user not allowed" 403 "$url/iap" -H "x-goog-iap-jwt-assertion: $a3"
reason_is caller_not_allowed
req "no IAP assertion (a bearer token instead)" 401 "$url/iap" -H "Authorization: Bearer $tok"
reason_is no_credentials
req "an ID token as the IAP assertion" 401 "$url/iap" -H "x-goog-iap-jwt-assertion: $tok"
req "IAP only: / is not served" 404 "$url/" -X POST -H "Authorization: Bearer $tok"
req "IAP only: /pubsub is not served" 404 "$url/pubsub" -X POST -H "Authorization: Bearer $tok"
stop_receiver iap

# ---- Google's keys out of reach: 503, Retry-After --------------------------------------
start_receiver nokeys GAUTH_ENDPOINT=http://127.0.0.1:9 -- --listen=127.0.0.1:0 --audience="$aud"
has "$w/nokeys.log" "warning: cannot fetch the keys yet" "it starts, and says the keys are out of reach"
req "keys unavailable" 503 "$url/" -X POST -H "Authorization: Bearer $tok"
reason_is keys_unavailable
if grep -qi '^Retry-After: [0-9]' "$w/hdr"; then ok "503 with Retry-After"; else bad "503 without Retry-After"; fi
if grep -qi '^WWW-Authenticate' "$w/hdr"; then bad "503 with a challenge"; else ok "503 without a challenge"; fi
stop_receiver nokeys

# ---- --no-auth (a benchmark's baseline), IPv6 ------------------------------------------
start_receiver noauth -- --listen=127.0.0.1:0 --no-auth --threads=1
req "--no-auth: POST / without a token" 200 "$url/" -X POST
jq_ok "--no-auth: kind none, nothing verified" "o['kind'] == 'none' and o['signature_verified'] is False"
req "--no-auth: /pubsub is not served" 404 "$url/pubsub" -X POST
has "$w/noauth.log" "WARNING: --no-auth" "--no-auth warns on stderr"
stop_receiver noauth
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2> /dev/null; then
  start_receiver v6 -- --listen='[::1]:0' --audience="$aud" --allow="$sched"
  case $url in "http://[::1]:"*) ok "IPv6: listening $url" ;; *) bad "IPv6: listening $url" ;; esac
  req "IPv6: a valid token" 200 "$url/" -g -X POST -H "Authorization: Bearer $tok"
  stop_receiver v6
else
  echo "skipped: IPv6 (no ::1 here)"
fi

# ---- docs/receiving.md's program, as the page shows it ------------------------------
# (the 5th argument: built by examples/receiver/CMakeLists.txt from the page)
if [ -n "$docs_receive" ]; then
  dport=$(free_port)
  # shellcheck disable=SC2086 # the wrapper is a command line
  PORT=$dport ${GAUTH_RECEIVER_WRAPPER:-} "$docs_receive" "http://127.0.0.1:$dport/" "$sched" \
    > "$w/docs.out" 2> "$w/docs.log" &
  rpid=$!
  pids="$pids $rpid"
  for _ in $(seq 400); do grep -q "^listening " "$w/docs.out" 2> /dev/null && break; sleep 0.05; done
  has "$w/docs.out" "listening on port $dport" "docs program: listening on \$PORT"
  durl=http://127.0.0.1:$dport
  dtok=$("$gauth" print-identity-token --audiences="$durl/" --include-email)
  toks+=("$dtok")
  req "docs program: the job's token" 200 "$durl/" -X POST -d x -H "Authorization: Bearer $dtok"
  has "$w/body" "hello $sched" "docs program: answers with the caller's email"
  req "docs program: no token" 401 "$durl/"
  www_has 'Bearer'
  req "docs program: another audience" 401 "$durl/" -H "Authorization: Bearer $tok"
  has "$w/body" "audience_mismatch" "docs program: says why"
  itok=$("$gauth" print-identity-token --audiences="$durl/" --include-email \
    --impersonate-service-account="$intruder")
  toks+=("$itok")
  req "docs program: an account not allowed" 403 "$durl/" -H "Authorization: Bearer $itok"
  www_has 'Bearer error="insufficient_scope"'
  stop_receiver docs
else
  echo "skipped: docs/receiving.md's program (not built)"
fi

# ---- usage -------------------------------------------------------------------------
run 2 "no --audience" "$receiver"
run 2 "an unknown flag" "$receiver" --audience=x --frobnicate
run 2 "--threads=0" "$receiver" --audience=x --threads=0
run 2 "--listen without a port" "$receiver" --audience=x --listen=127.0.0.1
run 2 "an empty list item" "$receiver" --audience=a,,b
run 0 "--help" "$receiver" --help
has "$w/out" "--trust-cloud-run" "--help lists the options"

# ---- no token in any log ------------------------------------------------------------
cat "$w"/*.log > "$w/logs"
leaked=0
for t in "${toks[@]}"; do
  sig=${t##*.}
  [ ${#sig} -ge 16 ] || sig=$t
  if grep -qF -- "$sig" "$w/logs" "$w/all-err"; then leaked=1; echo "  leaked: a token ending ...${sig: -8}"; fi
done
[ "$leaked" = 0 ] && ok "no token (nor its signature) in any receiver log" || bad "a token in a log"
if grep -qE 'eyJ[A-Za-z0-9_-]{10,}\.' "$w"/main.log "$w"/cloudrun2.log; then
  bad "a JWT in the access log"
else
  ok "no JWT in the access log"
fi
[ "$(grep -c '^receiver: [A-Z]* /' "$mlog")" = "$nmain" ] && ok "one access-log line per request ($nmain)" ||
  bad "$(grep -c '^receiver: [A-Z]* /' "$mlog") access-log lines, $nmain requests"

finish receiver
