#!/bin/sh
# The end-to-end demo run by `make demo`, against gauth-emulator (Google's auth
# plane on loopback: nothing leaves this machine). It replays the failure
# libgauth exists for: a scheduler calling a Cloud Run job's `:run` endpoint
# with an OIDC ID token gets 401 whatever IAM says, because that endpoint is a
# Google API and wants an OAuth access token; the ID token is right for a
# Cloud Run *service*.
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

# ---- calling Cloud Run as Cloud Scheduler does (examples/scheduler_invoke.c) ------------
invoke() { # invoke EXPECTED_STATUS ARGS...: runs scheduler_invoke, checks its last line
  want=$1
  shift
  say "scheduler_invoke $*"
  "$invoke_bin" "$@" > "$tmp/invoke.out" 2>&1 || true
  sed 's/^/  /' "$tmp/invoke.out"
  grep -q "^status: $want\$" "$tmp/invoke.out" ||
    fail "expected status $want from scheduler_invoke $*"
}

invoke 200 --oidc --service-account=$sa "$service"
echo "(an HTTP target on Cloud Run: the OIDC token, audience = the URL, is right)"

invoke 401 --oidc --service-account=$sa "$job_run"
echo "(the failure: a Cloud Run job's :run is a Google API; no IAM grant makes an"
echo " ID token pass, however long one waits for \"propagation\")"

invoke 200 --oauth --service-account=$sa "$job_run"
echo "(the fix: oauthToken with scope cloud-platform; the job ran)"

# ---- IAM: what does the scheduler hold on the job, and waiting for a grant ----------------
job=projects/demo-project/locations/us-central1/jobs/collect
say "gauth test-permissions $job run.jobs.run run.jobs.get"
"$gauth" test-permissions "$job" run.jobs.run run.jobs.get && fail "expected run.jobs.get to be missing"
echo "(exit status 1: a permission is missing; 0 would mean all granted)"

say "grant roles/viewer on the project to the scheduler, taking effect in 5 s (emulator control API)"
curl -sS --noproxy '*' -o /dev/null -X POST "$base/emulator/v1/policy:add" \
  -d "{\"resource\":\"projects/demo-project\",\"role\":\"roles/viewer\",\"member\":\"serviceAccount:$sa\",\"delay_seconds\":5}"
say "gauth wait-permissions $job run.jobs.get --timeout=60s"
"$gauth" wait-permissions "$job" run.jobs.get --timeout=60s || fail "the grant did not propagate"
echo "(no guessing: it polls with backoff until the grant is visible, and says how long it took)"

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

echo
echo "demo: ok"
