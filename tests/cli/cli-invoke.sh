#!/usr/bin/env bash
# End-to-end tests of gauth invoke: against a gauth-emulator of its own (an
# OIDC token to a Cloud Run job's :run is refused with UNAUTHENTICATED, an
# OAuth token runs it; a job read through the emulator's Cloud Scheduler
# API: PERMISSION_DENIED without the permission, NOT_FOUND, and a job created
# there, invoked as it is and after its patch to an OAuth token), --dry-run (nothing minted or
# sent, no token printed), --format=json (valid JSON), usage errors (exit 2),
# and against tests/cli/invoke-server.py, a loopback target that answers 503
# a number of times before 200: the attempts, their spacing against the
# retry policy, exit 1 when the retries run out, SIGINT during a wait, and
# that the token the target received is nowhere in gauth's output.
#
# Usage: cli-invoke.sh GAUTH_BINARY EMULATOR_BINARY WORK_DIR
set -u
gauth=$1
emulator=$2
w=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$w"
mkdir -p "$w/empty-gcloud"
. "$here/harness.sh"

start_emulator --key-file="$w/key.json"
sched=scheduler@demo-project.iam.gserviceaccount.com
job_run=$base/v2/projects/demo-project/locations/us-central1/jobs/collect:run
export GAUTH_ENDPOINT=$base GCE_METADATA_HOST=$host GCE_METADATA_IP=$host
export CLOUDSDK_CONFIG=$w/empty-gcloud GAUTH_METADATA_DETECTION=none
export GOOGLE_APPLICATION_CREDENTIALS=$w/key.json

# server FAIL: starts invoke-server.py answering 503 FAIL times; sets $target
# (its URL) and $slog (its request log). Stops the previous one.
srv=
server() {
  [ -n "$srv" ] && { kill "$srv" 2> /dev/null; wait "$srv" 2> /dev/null; }
  slog=$w/server-$1-$RANDOM.log
  rm -f "$w/port"
  python3 "$here/invoke-server.py" "$1" "$w/port" "$slog" 2>> "$w/server.err" &
  srv=$!
  trap 'kill $emu $srv 2> /dev/null; wait 2> /dev/null' EXIT
  for _ in $(seq 100); do [ -s "$w/port" ] && break; sleep 0.05; done
  [ -s "$w/port" ] || { echo "FAIL: the test server did not start: $(cat "$w/server.err")"; exit 1; }
  target=http://127.0.0.1:$(cat "$w/port")/hook
}
requests() { if [ -f "$slog" ]; then wc -l < "$slog"; else echo 0; fi; }
# gaps_ok EXPECTED...: the gaps between the logged requests are the expected
# seconds each, within -0.03 / +0.45 s (a loaded machine is slow, never early).
gaps_ok() {
  python3 - "$slog" "$@" << 'PY'
import sys
t = [float(l.split()[0]) for l in open(sys.argv[1])]
want = [float(x) for x in sys.argv[2:]]
gaps = [b - a for a, b in zip(t, t[1:])]
ok = len(gaps) == len(want) and all(w - 0.03 <= g <= w + 0.45 for g, w in zip(gaps, want))
print("gaps %s, expected %s" % (["%.3f" % g for g in gaps], want))
sys.exit(0 if ok else 1)
PY
}

# ---- the emulator's Cloud Run job :run ---------------------------------------------
run 1 "OIDC token to :run" "$gauth" invoke "$job_run" --oidc
has "$w/out" "HTTP 401 UNAUTHENTICATED" "the attempt is UNAUTHENTICATED"
has "$w/out" "Expected OAuth 2 access token" "Google's message is shown"
has "$w/out" "failed after 1 attempt" "one attempt, no retry by default"
run 0 "OAuth token to :run" "$gauth" invoke "$job_run" --oauth
has "$w/out" "HTTP 200 OK" "the job ran"
has "$w/out" "OAuth access token of $sched" "the token's kind and account"

# ---- --format=json -----------------------------------------------------------------
if run 1 "OIDC to :run, --format=json" "$gauth" invoke "$job_run" --oidc --format=json; then
  python3 -m json.tool "$w/out" > /dev/null && ok "valid JSON" || bad "not JSON"
  python3 - "$w/out" << 'PY' && ok "JSON: one attempt, 401, UNAUTHENTICATED" || bad "JSON content"
import json, sys
o = json.load(open(sys.argv[1]))
a = o["attempts"]
assert len(a) == 1 and a[0]["http_status"] == 401 and a[0]["rpc_code_name"] == "UNAUTHENTICATED"
assert o["succeeded"] is False and o["token"] == "oidc"
PY
fi

# ---- --dry-run: nothing minted, nothing sent, no token ------------------------------
server 0
tokens_before=$(counter /token)
if run 0 "--dry-run" "$gauth" invoke "$target" --oidc --header=X-Api-Key:hunter2 \
    --header=X-Trace:abc --data=hello --retry-count=3 --min-backoff=0.2s \
    --max-doublings=1 --dry-run; then
  has "$w/out" "POST $target" "the request line"
  has "$w/out" "X-CloudScheduler: true" "Scheduler's header"
  has "$w/out" "Authorization: Bearer [OIDC ID token of $sched, not minted]" "the token is described, not shown"
  has "$w/out" "X-Trace: abc" "a job header"
  hasnt "$w/out" "hunter2" "a secret-looking header value is redacted"
  has "$w/out" "body: 5 bytes" "the body's size"
  has "$w/out" "retry 3 after 0.8 s" "the retry schedule"
  hasnt "$w/out" "eyJ" "no JWT in the dry run"
  hasnt "$w/out" "ya29" "no access token in the dry run"
fi
[ "$(requests)" -eq 0 ] && ok "the dry run sent nothing" || bad "the dry run sent a request"
[ "$(counter /token)" = "$tokens_before" ] && ok "the dry run minted nothing" || bad "the dry run minted a token"
if run 0 "--dry-run --format=json" "$gauth" invoke "$target" --oauth --dry-run \
    --format=json --retry-count=2 --min-backoff=1s; then
  python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["retry_delays_ms"]==[1000,2000], o' \
    "$w/out" && ok "dry-run JSON: the schedule" || bad "dry-run JSON"
fi

# ---- retries against the test server ----------------------------------------------
server 2
if run 0 "503, 503, then 200" "$gauth" invoke "$target" --oidc --retry-count=3 \
    --min-backoff=0.2s --max-doublings=1; then
  has "$w/out" "attempt 1: HTTP 503 UNAVAILABLE" "attempt 1 failed"
  has "$w/out" "next retry in 0.2 s" "the first wait"
  has "$w/out" "attempt 3: HTTP 200 OK" "attempt 3 succeeded"
  has "$w/out" "succeeded after 3 attempts" "the summary"
fi
[ "$(requests)" -eq 3 ] && ok "3 requests arrived" || bad "$(requests) requests arrived, expected 3"
gaps_ok 0.2 0.4 && ok "spaced 0.2 s, 0.4 s" || bad "the retries were not spaced as the policy says"
has "$slog.headers" "X-CloudScheduler: true" "the target saw X-CloudScheduler"
has "$slog.headers" "User-Agent: Google-Cloud-Scheduler" "the target saw Scheduler's User-Agent"
has "$slog.headers" "X-CloudScheduler-ScheduleTime: 20" "the target saw the schedule time"
tok=$(sed -n 's/^Authorization: Bearer //p' "$slog.headers")
[ -n "$tok" ] && ok "the target got a bearer token" || bad "no bearer token at the target"
run 0 "the token is the scheduler's, for the target" "$gauth" verify "$tok" --audience="$target"
has "$w/out" "\"email\":\"$sched\"" "the token names the job's account"

server 100
run 1 "always 503: the retries run out" "$gauth" invoke "$target" --oidc --retry-count=3 \
  --min-backoff=0.2s --max-doublings=1
has "$w/out" "failed after 4 attempts" "4 attempts"
[ "$(requests)" -eq 4 ] && ok "4 requests arrived" || bad "$(requests) requests arrived, expected 4"
# Google's rule: doubling max_doublings times, then growing linearly by
# min_backoff * 2^max_doublings: 0.2, 0.4, then 0.8.
gaps_ok 0.2 0.4 0.8 && ok "spaced 0.2, 0.4, 0.8 s" || bad "the retries were not spaced as the policy says"

# --job=FILE, with a flag overriding its retry settings.
server 100
cat > "$w/job.json" << JSON
{"name": "projects/demo-project/locations/us-central1/jobs/nightly",
 "attemptDeadline": "20s",
 "retryConfig": {"retryCount": 5, "minBackoffDuration": "0.1s"},
 "httpTarget": {"uri": "$target", "httpMethod": "PUT", "body": "aGVsbG8=",
                "headers": {"Content-Type": "text/plain"},
                "oidcToken": {"serviceAccountEmail": "$sched"}}}
JSON
run 1 "--job=FILE, --retry-count=1" "$gauth" invoke --job="$w/job.json" --retry-count=1
has "$w/out" "job projects/demo-project/locations/us-central1/jobs/nightly: PUT" "the job's name and method"
[ "$(requests)" -eq 2 ] && ok "--retry-count overrides the file's" || bad "$(requests) requests, expected 2"
has "$slog" " PUT /hook" "the job's method"
has "$slog.headers" "X-CloudScheduler-JobName: nightly" "the job's short name"
has "$slog.headers" "Content-Type: text/plain" "the job's content type"
has "$slog.headers" "body-bytes: 5" "the job's body"

# SIGINT while waiting for a retry: stops at once, exit 1.
server 100
"$gauth" invoke "$target" --oidc --retry-count=5 --min-backoff=30s > "$w/out" 2> "$w/err" &
inv=$!
for _ in $(seq 100); do [ "$(requests)" -ge 1 ] && break; sleep 0.05; done
sleep 0.2
kill -INT "$inv"
t0=$(date +%s)
wait "$inv"
rc=$?
cat "$w/out" >> "$w/all-out"; cat "$w/err" >> "$w/all-err"
[ "$rc" -eq 1 ] && ok "SIGINT in a wait: exit 1" || bad "SIGINT in a wait: exit $rc"
[ $(($(date +%s) - t0)) -le 3 ] && ok "stopped at once" || bad "SIGINT did not stop the wait"
has "$w/out" "(interrupted)" "the summary says so"
[ "$(requests)" -eq 1 ] && ok "no attempt after SIGINT" || bad "$(requests) requests after SIGINT"

# Connection refused: UNAVAILABLE, exit 1.
kill "$srv" 2> /dev/null; wait "$srv" 2> /dev/null
run 1 "connection refused" "$gauth" invoke "$target" --oidc
has "$w/out" "no reply (UNAVAILABLE)" "UNAVAILABLE"

# ---- the Cloud Scheduler API ------------------------------------------------------
# The emulator's Cloud Scheduler, through GAUTH_ENDPOINT; the grants and the
# clock are set through its control API (test setup only).
control() { curl -sS --noproxy '*' -o /dev/null -X POST "$base/emulator/v1/$1" -d "$2"; }
jobs_api=$base/v1/projects/demo-project/locations/us-central1/jobs
run 1 "--job=NAME without cloudscheduler.jobs.get" "$gauth" invoke \
  --job=projects/demo-project/locations/us-central1/jobs/nope
has "$w/err" "reading job projects/demo-project/locations/us-central1/jobs/nope" "the message names the job"
has "$w/err" "GAUTH_E_PERMISSION_DENIED" "PERMISSION_DENIED"
has "$w/err" "cloudscheduler.jobs.get" "the permission is named"
control policy:add "{\"resource\":\"projects/demo-project\",\"role\":\"roles/cloudscheduler.admin\",\"member\":\"serviceAccount:$sched\"}"
control policy:add "{\"resource\":\"projects/demo-project/serviceAccounts/$sched\",\"role\":\"roles/iam.serviceAccountUser\",\"member\":\"serviceAccount:$sched\"}"
run 1 "--job=NAME the API does not have" "$gauth" invoke \
  --job=projects/demo-project/locations/us-central1/jobs/nope
has "$w/err" "GAUTH_E_NOT_FOUND" "NOT_FOUND"
tok=$("$gauth" print-access-token)
st=$(curl -sS --noproxy '*' -o "$w/created" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' "$jobs_api" \
  -d "{\"name\":\"projects/demo-project/locations/us-central1/jobs/nightly\",\"schedule\":\"0 3 * * *\",
       \"httpTarget\":{\"uri\":\"$job_run\",\"oidcToken\":{\"serviceAccountEmail\":\"$sched\"}},
       \"retryConfig\":{\"retryCount\":2,\"minBackoffDuration\":\"0.1s\"}}")
[ "$st" = 200 ] && ok "a job created through the API" || bad "creating the job: HTTP $st $(cat "$w/created")"
run 1 "--job=NAME: the seed's job (OIDC to :run)" "$gauth" invoke \
  --job=projects/demo-project/locations/us-central1/jobs/nightly --retry-count=0
has "$w/out" "OIDC ID token of $sched" "the job's token, as the API describes it"
has "$w/out" "HTTP 401 UNAUTHENTICATED" "UNAUTHENTICATED"
has "$w/out" "failed after 1 attempt" "--retry-count overrides the job's 2"
st=$(curl -sS --noproxy '*' -o "$w/patched" -w '%{http_code}' -X PATCH \
  -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  "$jobs_api/nightly?updateMask=httpTarget" \
  -d "{\"httpTarget\":{\"uri\":\"$job_run\",\"oauthToken\":{\"serviceAccountEmail\":\"$sched\"}}}")
[ "$st" = 200 ] && ok "the job patched to an OAuth token" || bad "patching the job: HTTP $st $(cat "$w/patched")"
run 0 "--job=NAME: the fixed job (OAuth to :run)" "$gauth" invoke \
  --job=projects/demo-project/locations/us-central1/jobs/nightly
has "$w/out" "OAuth access token of $sched" "the job's new token"
has "$w/out" "HTTP 200 OK" "the job ran"
hasnt "$w/out" "$tok" "the caller's token is not printed"

# ---- usage errors -----------------------------------------------------------------
run 2 "no job, no URL" "$gauth" invoke
run 2 "a job and a URL" "$gauth" invoke --job="$w/job.json" "$target"
run 2 "--oidc and --oauth" "$gauth" invoke "$target" --oidc --oauth
run 2 "--retry-count=9" "$gauth" invoke "$target" --retry-count=9
has "$w/err" "retryCount is 9: at most 5" "the library's message"
run 2 "--attempt-deadline=5s" "$gauth" invoke "$target" --attempt-deadline=5s
has "$w/err" "attemptDeadline" "the library names the member"
run 2 "--min-backoff=abc" "$gauth" invoke "$target" --min-backoff=abc
run 2 "--method=FETCH" "$gauth" invoke "$target" --method=FETCH
run 2 "--header without a colon" "$gauth" invoke "$target" --header=X-Bad
run 2 "an unknown flag" "$gauth" invoke "$target" --frobnicate
run 2 "--job and --oidc" "$gauth" invoke --job="$w/job.json" --oidc
run 2 "--job=FILE missing" "$gauth" invoke --job="$w/missing.json"
echo '{"httpTarget": ' > "$w/bad.json"
run 2 "--job=FILE not JSON" "$gauth" invoke --job="$w/bad.json"
echo '{"httpTarget": {"uri": "ftp://x"}}' > "$w/bad.json"
run 2 "--job=FILE with a bad uri" "$gauth" invoke --job="$w/bad.json"
has "$w/err" "job.httpTarget.uri" "the library's message names the member"
run 2 "--job=NAME malformed" "$gauth" invoke --job=projects/p/jobs/j
run 0 "--help" "$gauth" invoke --help

# ---- no token anywhere ------------------------------------------------------------
hasnt "$w/all-out" "$tok" "the target's token is not in any output"
hasnt "$w/all-err" "$tok" "the target's token is not in any message"
if grep -qE 'eyJ[A-Za-z0-9_-]{10,}\.' "$w/all-out" "$w/all-err"; then
  bad "a JWT in gauth's output"
else
  ok "no JWT in gauth's output"
fi

finish cli-invoke
