#!/bin/sh
# The end-to-end demo run by `make demo`, against gauth-emulator (Google's auth
# plane on loopback: nothing leaves this machine). It replays the failure
# libgauth exists for, with the emulator's Cloud Scheduler: a job calling a
# Cloud Run job's `:run` endpoint with an OIDC ID token shows UNAUTHENTICATED,
# before and after four roles are granted and have propagated, because that
# endpoint is a Google API and wants an OAuth access token; patched to an
# oauthToken, the job runs. `gauth doctor` names the cause and the fix at
# once, and finds nothing wrong after it; `gauth invoke` replays the fixed
# job, and the ID token is shown to be right for a Cloud Run *service*.
# Last, the same job is run from AWS with AWS credentials only (workload
# identity federation, no key file: examples/aws-demo.sh).
set -eu
build=${1:-build}
gauth=$build/examples/gauth/gauth
emulator=$build/examples/emulator/gauth-emulator
invoke_bin=$build/examples/scheduler_invoke

say() { printf '\n$ %s\n' "$*"; }
fail() { echo "demo: $*" >&2; exit 1; }
# The value of a string member of a one-line JSON reply.
member() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }
short() { printf '%s...(%d bytes)\n' "$(printf '%s' "$1" | cut -c1-20)" "${#1}"; }

# Everything here is on loopback: no proxy may take it elsewhere.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# The programs come from the target gauth_demo_programs (examples/CMakeLists.txt).
for p in "$gauth" "$emulator" "$invoke_bin"; do
  [ -x "$p" ] || fail "$p is missing: build the target gauth_demo_programs (make demo does)"
done

say gauth version
"$gauth" version

# ---- the emulator ---------------------------------------------------------------
say "gauth-emulator --listen=127.0.0.1:0 --key-file=key.json &"
"$emulator" --listen=127.0.0.1:0 --key-file="$tmp/key.json" \
  > "$tmp/emulator.out" 2> "$tmp/emulator.log" &
pid=$!
i=0
until grep -q '^export GOOGLE_APPLICATION_CREDENTIALS' "$tmp/emulator.out" 2> /dev/null; do
  i=$((i + 1))
  [ "$i" -le 300 ] || fail "the emulator did not start: $(cat "$tmp/emulator.log")"
  kill -0 "$pid" 2> /dev/null || fail "the emulator exited: $(cat "$tmp/emulator.log")"
  sleep 0.1
done
cat "$tmp/emulator.out"
# Its lines are made to be eval'ed: GAUTH_ENDPOINT, GCE_METADATA_HOST, ...
eval "$(sed -n 's/^export /export /p' "$tmp/emulator.out")"
base=$(sed -n '1s/^listening //p' "$tmp/emulator.out")
sa=scheduler@demo-project.iam.gserviceaccount.com
# The service is on an origin of its own (GAUTH_EMULATOR_RUN_URL), as a real
# one is on *.run.app: it is not a Google API, whatever GAUTH_ENDPOINT says.
service=$GAUTH_EMULATOR_RUN_URL/services/collector
job_run=$base/v2/projects/demo-project/locations/us-central1/jobs/collect:run

say "gauth endpoints            # every Google URL now goes to the emulator"
"$gauth" endpoints

# ---- tokens for the scheduler account, by Application Default Credentials ------------
# GOOGLE_APPLICATION_CREDENTIALS (from the emulator's lines) names its key file.
now=$(date +%s)
say "gauth print-access-token          # an OAuth access token (cloud-platform)"
access=$("$gauth" print-access-token) || fail "no access token"
short "$access"

say "gauth print-identity-token --audiences=$service   # an OIDC ID token"
id=$("$gauth" print-identity-token --audiences="$service") || fail "no ID token"
short "$id"

say "gauth verify \"\$ID_TOKEN\" --audience=$service   # Google's keys, from the emulator"
"$gauth" verify "$id" --audience="$service"

# ---- the seed's story, with the emulator's Cloud Scheduler ------------------------------
# Cloud Scheduler's REST API (v1), called as one would call Google's, with
# the scheduler account's access token.
api=$base/v1/projects/demo-project/locations/us-central1/jobs
name=projects/demo-project/locations/us-central1/jobs/collect-nightly
call() { # call METHOD URL [BODY]: the API's reply, on one line
  curl -sS --noproxy '*' -X "$1" -H "Authorization: Bearer $access" \
    -H 'Content-Type: application/json' ${3:+-d "$3"} "$2"
}
control() { # control PATH BODY: the emulator's control API (setup only)
  curl -sS --noproxy '*' -o /dev/null -X POST "$base/emulator/v1/$1" -d "$2"
}
# What the console shows of a job: its token, state, last attempt, status.
show_job() {
  printf '%s\n' "$1" | grep -oE '"(oidcToken|oauthToken)":\{"serviceAccountEmail":"[^"]*"' | sed 's/^/  /'
  printf '%s\n' "$1" | grep -oE '"(state|lastAttemptTime)":"[^"]*"|"status":\{[^}]*\}' | sed 's/^/  /'
}
# How many attempts of the job have finished (the emulator's copy of Cloud
# Logging's AttemptFinished entries; GET /emulator/v1/scheduler/logs).
finished() {
  curl -sS --noproxy '*' "$base/emulator/v1/scheduler/logs?job=collect-nightly" |
    grep -o 'logging.AttemptFinished' | wc -l
}
# RUN NOW, then wait (at most 10 s) for the attempt's outcome.
run_now() {
  before=$(finished)
  say "curl -X POST \$API/collect-nightly:run      # RUN NOW"
  call POST "$api/collect-nightly:run" '{}' > /dev/null
  i=0
  until [ "$(finished)" -gt "$before" ]; do
    i=$((i + 1))
    [ "$i" -le 100 ] || fail "the attempt did not finish"
    sleep 0.1
  done
  say "curl \$API/collect-nightly                  # the job, as the console shows it"
  show_job "$(call GET "$api/collect-nightly")"
}
# The job's last AttemptFinished entry.
last_log() {
  say "the job's last AttemptFinished log entry (cloudscheduler.googleapis.com/executions)"
  curl -sS --noproxy '*' "$base/emulator/v1/scheduler/logs?job=collect-nightly" |
    grep -oE '"status":"[A-Z_]+"(,"debugInfo":"[^"]*")?\},"httpRequest":\{"status":[0-9]+\}' |
    tail -n 1 | sed 's/^/  /'
}

# The project as it was: the scheduler account may manage Cloud Scheduler
# jobs, read the project and act as itself (set up through the emulator's
# control API).
control policy:add "{\"resource\":\"projects/demo-project\",\"role\":\"roles/cloudscheduler.admin\",\"member\":\"serviceAccount:$sa\"}"
control policy:add "{\"resource\":\"projects/demo-project\",\"role\":\"roles/viewer\",\"member\":\"serviceAccount:$sa\"}"
control policy:add "{\"resource\":\"projects/demo-project/serviceAccounts/$sa\",\"role\":\"roles/iam.serviceAccountUser\",\"member\":\"serviceAccount:$sa\"}"

printf '%s\n' "{\"name\": \"$name\"," \
  ' "schedule": "0 3 * * *", "timeZone": "Europe/Paris",' \
  " \"httpTarget\": {\"uri\": \"$job_run\", \"httpMethod\": \"POST\"," \
  "   \"oidcToken\": {\"serviceAccountEmail\": \"$sa\", \"audience\": \"$job_run\"}}}" \
  > "$tmp/job.json"
say "cat job.json      # the seed's job: an OIDC token, audience = the URI, for the Cloud Run job's :run"
cat "$tmp/job.json"
say "curl -X POST \$API -d @job.json      # API=\$GAUTH_ENDPOINT/v1/projects/demo-project/locations/us-central1/jobs"
call POST "$api" "$(cat "$tmp/job.json")" | grep -oE '"name":"[^"]*"|"state":"[^"]*"' | sed 's/^/  /'

run_now
last_log
echo "(the console's UNAUTHENTICATED: HTTP 401 from the Cloud Run Admin API)"

doctor() { # gauth doctor --job=NAME, its time, and its first lines
  say "gauth doctor --job=$name"
  t0=$(date +%s%N)
  "$gauth" doctor --job="$name" > "$tmp/doctor.out" 2>&1 && rc=0 || rc=$?
  t1=$(date +%s%N)
  sed -n '1,/^EVIDENCE:/p' "$tmp/doctor.out" | sed '$d'
  echo "(exit status $rc, $(((t1 - t0) / 1000000)) ms)"
}
doctor

job=projects/demo-project/locations/us-central1/jobs/collect
say "gauth test-permissions $job run.jobs.run      # as the job's account"
"$gauth" test-permissions "$job" run.jobs.run || fail "expected run.jobs.run to be granted"
echo "(IAM already let the job's account run the Cloud Run job)"

say "grant four roles on the project to the job's account, as the seed did (5 s to propagate)"
for role in roles/run.invoker roles/run.admin roles/iam.serviceAccountUser roles/iam.serviceAccountTokenCreator; do
  echo "  $role"
  control policy:add "{\"resource\":\"projects/demo-project\",\"role\":\"$role\",\"member\":\"serviceAccount:$sa\",\"delay_seconds\":5}"
done
say "gauth wait-permissions $job run.jobs.update --timeout=60s      # wait out \"IAM propagation\""
"$gauth" wait-permissions "$job" run.jobs.update --timeout=60s || fail "the grant did not propagate"

run_now
last_log
echo "(still UNAUTHENTICATED: :run is a Google API, it wants an OAuth access token;"
echo " no IAM grant makes an ID token pass there, however long one waits)"

say "curl -X PATCH \$API/collect-nightly?updateMask=httpTarget      # the fix: oauthToken"
call PATCH "$api/collect-nightly?updateMask=httpTarget" \
  "{\"httpTarget\":{\"uri\":\"$job_run\",\"httpMethod\":\"POST\",\"oauthToken\":{\"serviceAccountEmail\":\"$sa\"}}}" |
  grep -oE '"oauthToken":\{[^}]*\}' | sed 's/^/  /'
run_now
last_log
say "curl \$GAUTH_ENDPOINT/v2/projects/demo-project/locations/us-central1/jobs/collect      # Cloud Run Admin API"
call GET "$base/v2/projects/demo-project/locations/us-central1/jobs/collect" |
  grep -oE '"executionCount":[0-9]+' | sed 's/^/  /'
echo "(the Cloud Run job ran)"
doctor

# ---- the fixed job, replayed from here as Cloud Scheduler would -----------------------------
say "gauth invoke --job=$name"
"$gauth" invoke --job="$name" || fail "gauth invoke failed"

# ---- a Cloud Run service takes the OIDC token (examples/scheduler_invoke.c) -----------------
say "scheduler_invoke --oidc --service-account=$sa $service"
"$invoke_bin" --oidc --service-account="$sa" "$service" > "$tmp/invoke.out" 2>&1 || true
sed 's/^/  /' "$tmp/invoke.out"
grep -q '^status: 200$' "$tmp/invoke.out" || fail "expected status 200 from scheduler_invoke"
echo "(a Cloud Run service is not a Google API: there the OIDC token, audience = its URL, is right)"

# ---- a rejected token says why ----------------------------------------------------------
say "gauth verify \"\$ID_TOKEN\" --audience=https://other.a.run.app"
if "$gauth" verify "$id" --audience=https://other.a.run.app; then
  fail "expected a rejection"
fi
say "gauth verify \"\$ID_TOKEN\" --audience=$service --now=$((now + 7200))   # two hours later"
if "$gauth" verify "$id" --audience="$service" --now=$((now + 7200)); then
  fail "expected a rejection"
fi
echo "(exit status 1: rejected, with a reason and the numbers)"

# ---- the same job, scheduled from AWS (examples/aws-demo.sh) --------------------------
# A scheduler on AWS with AWS credentials only runs the Cloud Run job by
# workload identity federation (examples/aws_scheduler.c), against an
# emulator of its own that also plays AWS.
sh "$(dirname "$0")/aws-demo.sh" "$build" || fail "the AWS step failed"

echo
echo "demo: ok"
