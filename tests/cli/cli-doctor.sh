#!/usr/bin/env bash
# End-to-end scenarios of gauth doctor against a gauth-emulator of its own:
# one scenario per root-cause code (and the seed's job, an OIDC token sent
# to a Cloud Run job's :run, in every variation: v2 and v1 :run, another
# Google API, a job read through Cloud Scheduler or from a file, ad hoc,
# a supplied token from a file or stdin, after the "four roles" were granted,
# after an attempt, with --send, together with a missing permission).
#
# Each scenario sets its situation up through the emulator's Cloud Scheduler
# API (jobs created with an owner's access token) and its control API
# (policy:add / policy:remove with delay_seconds, the clock), then checks:
# the exit status (0 ok, 1 a cause, 3 unknown, 2 usage), the human output's
# first line "ROOT CAUSE: <code>: ..." and its FIX lines, the --format=json
# object (valid JSON; root_cause, summary, fix, causes root first, checks
# with name / result / detail), the other causes listed, what the fix names
# (permission, role, resource, job field), that a diagnosis takes a few
# seconds, that without --send nothing reached the target (the emulator's
# request counters and the Cloud Run job's executionCount), and that no
# token minted here appears in any output.
#
# The doctor runs as the person asking (Application Default Credentials):
# developer@example.com (roles/viewer on the project), not the job's
# account; some scenarios run as the job's account (scheduler@, the
# --key-file account) or as nobody@example.com, who may read nothing.
#
# https_proxy points at a closed loopback port: a request to a real Google
# host (the doctor must not make one) fails at once instead of leaving the
# machine.
#
# Usage: cli-doctor.sh GAUTH_BINARY EMULATOR_BINARY WORK_DIR
set -u
gauth=$1
emulator=$2
w=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$w"
mkdir -p "$w/empty-gcloud"
. "$here/harness.sh"

P=demo-project
L=us-central1
sched=scheduler@$P.iam.gserviceaccount.com
runner=runner@$P.iam.gserviceaccount.com
agent=service-123456789012@gcp-sa-cloudscheduler.iam.gserviceaccount.com
dev_rt="1//emulator-refresh-token"

# The default world, with two more people: nobody@ (no role at all) and
# admin@ (owner, who sets the scenarios up), and developer@ a viewer of the
# project. Their bindings are in the config, in effect from the start, so
# that moving the emulator's clock back does not make them pending.
cat > "$w/world.json" << EOF
{"users":[
 {"email":"developer@example.com","client_id":"emulator-client.apps.googleusercontent.com",
  "client_secret":"emulator-client-secret","refresh_token":"$dev_rt"},
 {"email":"nobody@example.com","client_id":"c","client_secret":"s","refresh_token":"1//nobody"},
 {"email":"admin@example.com","client_id":"c","client_secret":"s","refresh_token":"1//admin"}],
 "bindings":[
 {"resource":"projects/$P/locations/$L/services/collector","role":"roles/run.invoker","members":["serviceAccount:$sched"]},
 {"resource":"projects/$P/locations/$L/jobs/collect","role":"roles/run.invoker","members":["serviceAccount:$sched"]},
 {"resource":"projects/$P/serviceAccounts/$sched","role":"roles/iam.serviceAccountTokenCreator","members":["serviceAccount:$runner"]},
 {"resource":"projects/$P","role":"roles/viewer","members":["user:developer@example.com"]},
 {"resource":"projects/$P","role":"roles/owner","members":["user:admin@example.com"]}]}
EOF
start_emulator --key-file="$w/key.json" --config="$w/world.json"
export GAUTH_ENDPOINT=$base GCE_METADATA_HOST=$host GCE_METADATA_IP=$host
export CLOUDSDK_CONFIG=$w/empty-gcloud GAUTH_METADATA_DETECTION=none
export https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
# The project, as a person's shell has it set (a URL of a service alone does
# not name its project).
export GOOGLE_CLOUD_PROJECT=$P

user_adc() { # user_adc FILE CLIENT_ID SECRET REFRESH: as gcloud writes it
  printf '{"type":"authorized_user","client_id":"%s","client_secret":"%s","refresh_token":"%s","quota_project_id":"%s"}\n' \
    "$2" "$3" "$4" "$P" > "$1"
}
user_adc "$w/dev.json" emulator-client.apps.googleusercontent.com emulator-client-secret "$dev_rt"
user_adc "$w/nobody.json" c s 1//nobody
user_adc "$w/admin.json" c s 1//admin
as_dev() { export GOOGLE_APPLICATION_CREDENTIALS=$w/dev.json; }
as_sched() { export GOOGLE_APPLICATION_CREDENTIALS=$w/key.json; }
as_nobody() { export GOOGLE_APPLICATION_CREDENTIALS=$w/nobody.json; }

service=$run_base/services/collector
job_res=projects/$P/locations/$L/jobs/collect
job_run=$base/v2/$job_res:run
job_run_v1=$base/apis/run.googleapis.com/v1/namespaces/$P/jobs/collect:run
api=$base/v1/projects/$P/locations/$L/jobs
sched_name() { echo "projects/$P/locations/$L/jobs/$1"; }

# ---- set-up helpers -----------------------------------------------------------------
ctl() { # ctl PATH BODY: the control API; fails the script when refused
  local code
  code=$(curl -sS --noproxy '*' -o "$w/ctl.out" -w '%{http_code}' -X POST "$base/emulator/v1/$1" -d "$2")
  [ "$code" = 200 ] || { echo "FAIL: setup $1 $2: $code $(cat "$w/ctl.out")"; failed=$((failed + 1)); }
}
bind() { ctl policy:add "{\"resource\":\"$1\",\"role\":\"$2\",\"member\":\"$3\"${4:+,\"delay_seconds\":$4}}"; }
unbind() { ctl policy:remove "{\"resource\":\"$1\",\"role\":\"$2\",\"member\":\"$3\"${4:+,\"delay_seconds\":$4}}"; }
clock() { ctl clock "{\"offset_seconds\":$1}"; }


# Every token minted here, for the final "no token in any output" check.
: > "$w/tokens"
mint() { # mint ADC_FILE [print-...-token args]: prints the token, remembers it
  local f=$1 t
  shift
  t=$(GOOGLE_APPLICATION_CREDENTIALS=$f "$gauth" "$@" 2>> "$w/mint.err") || true
  [ -n "$t" ] && printf '%s\n' "$t" >> "$w/tokens"
  printf '%s' "$t"
}
admin_at=$(mint "$w/admin.json" print-access-token)
[ -n "$admin_at" ] || { echo "FAIL: no admin token: $(cat "$w/mint.err")"; exit 1; }

acall() { # acall METHOD URL [BODY]: Google's API as admin@, the reply's body
  curl -sS --noproxy '*' -X "$1" -H "Authorization: Bearer $admin_at" \
    -H 'Content-Type: application/json' ${3:+-d "$3"} "$2"
}
# mkjob NAME URI TOKEN_JSON: creates the Cloud Scheduler job NAME (TOKEN_JSON:
# ',"oidcToken":{...}' or ',"oauthToken":{...}' or ''), method POST.
mkjob() {
  local body="{\"name\":\"$(sched_name "$1")\",\"schedule\":\"0 3 * * *\",\"timeZone\":\"Etc/UTC\",\"httpTarget\":{\"uri\":\"$2\",\"httpMethod\":\"POST\"$3}}"
  printf '%s\n' "$body" > "$w/job-$1.json"
  acall POST "$api" "$body" > "$w/mkjob.out"
  grep -q "\"name\":\"$(sched_name "$1")\"" "$w/mkjob.out" ||
    { echo "FAIL: setup: job $1 not created: $(cat "$w/mkjob.out")"; failed=$((failed + 1)); }
}
oidc() { echo ",\"oidcToken\":{\"serviceAccountEmail\":\"${1:-$sched}\"${2:+,\"audience\":\"$2\"}}"; }
oauth() { echo ",\"oauthToken\":{\"serviceAccountEmail\":\"${1:-$sched}\"${2:+,\"scope\":\"$2\"}}"; }

# ---- checks on a diagnosis -----------------------------------------------------------
# rc_of CODE: the exit status the code means.
rc_of() { case $1 in ok) echo 0 ;; unknown) echo 3 ;; *) echo 1 ;; esac; }
# doc CODE NAME ARGS...: gauth doctor ARGS, human then --format=json (stdin
# from $doc_in, default /dev/null): the exit status, the first line, FIX
# lines, the time, the JSON object and its root cause. Leaves $w/human and
# $w/json.
doc_in=/dev/null
doc() {
  local want=$1 name=$2 rc t0 t1 secs
  shift 2
  t0=$(date +%s%N)
  "$gauth" doctor "$@" < "$doc_in" > "$w/out" 2> "$w/err"
  rc=$?
  t1=$(date +%s%N)
  cat "$w/out" >> "$w/all-out"
  cat "$w/err" >> "$w/all-err"
  cp "$w/out" "$w/human"
  secs=$(((t1 - t0) / 1000000))
  echo "  [$name: ${secs} ms]" >> "$w/times"
  if [ "$rc" -eq "$(rc_of "$want")" ]; then ok "$name: exit $rc"; else bad "$name: exit $rc, expected $(rc_of "$want")"; fi
  if head -n 1 "$w/out" | grep -q "^ROOT CAUSE: $want: ."; then
    ok "$name: ROOT CAUSE: $want"
  else
    bad "$name: first line is not 'ROOT CAUSE: $want: ...'"
  fi
  case $want in
    ok | unknown) ;;
    *) if grep -q '^FIX:' "$w/out"; then ok "$name: FIX lines"; else bad "$name: no FIX: line"; fi ;;
  esac
  if [ "$secs" -le 8000 ]; then ok "$name: ${secs} ms"; else bad "$name: took ${secs} ms"; fi
  "$gauth" doctor "$@" --format=json < "$doc_in" > "$w/out" 2> "$w/err"
  rc=$?
  cat "$w/out" >> "$w/all-out"
  cat "$w/err" >> "$w/all-err"
  cp "$w/out" "$w/json"
  [ "$rc" -eq "$(rc_of "$want")" ] || bad "$name (json): exit $rc"
  if python3 -m json.tool "$w/json" > /dev/null 2>&1; then
    python3 - "$w/json" "$want" > "$w/py.out" 2>&1 << 'PY'
import json, sys
o = json.load(open(sys.argv[1]))
want = sys.argv[2]
for m in ("root_cause", "summary", "fix", "causes", "checks"):
    assert m in o, "no member " + m
assert o["root_cause"] == want, "root_cause %r" % o["root_cause"]
assert isinstance(o["summary"], str) and o["summary"], "summary"
assert isinstance(o["fix"], list) and all(isinstance(f, str) for f in o["fix"]), "fix"
assert isinstance(o["checks"], list) and o["checks"], "checks"
for c in o["checks"]:
    assert isinstance(c.get("name"), str) and c["name"], "check name"
    assert c.get("result") in ("ok", "fail", "skipped", "unknown"), "check result %r" % c.get("result")
    assert isinstance(c.get("detail"), str), "check detail"
codes = [c if isinstance(c, str) else c.get("code") for c in o["causes"]]
if want in ("ok", "unknown"):
    assert not [c for c in codes if c not in ("ok", "unknown")], "causes %r" % codes
else:
    assert codes and codes[0] == want, "causes %r, root first" % codes
    assert o["fix"], "an empty fix"
if want == "ok":
    assert all(c["result"] != "fail" for c in o["checks"]), "a failed check with ok"
PY
    if [ $? -eq 0 ]; then ok "$name: JSON root_cause $want"; else bad "$name: JSON: $(cat "$w/py.out")"; fi
  else
    bad "$name: --format=json is not JSON"
  fi
}
# causes_has CODE NAME: the last JSON diagnosis lists CODE among its causes.
causes_has() {
  if python3 - "$w/json" "$1" << 'PY'; then ok "$2"; else bad "$2: causes lack $1: $(head -c 600 "$w/json")"; fi
import json, sys
o = json.load(open(sys.argv[1]))
codes = [c if isinstance(c, str) else c.get("code") for c in o["causes"]]
sys.exit(0 if sys.argv[2] in codes else 1)
PY
}
# fix_has TEXT NAME: the last diagnosis's fix names TEXT (JSON fix list and
# the human FIX lines).
fix_has() {
  if python3 - "$w/json" "$1" << 'PY'; then ok "$2"; else bad "$2: fix lacks '$1': $(head -c 600 "$w/json")"; fi
import json, sys
o = json.load(open(sys.argv[1]))
sys.exit(0 if sys.argv[2] in "\n".join(o["fix"]) else 1)
PY
  grep -F -- "$1" "$w/human" > /dev/null || bad "$2: the human output does not name '$1'"
}
# says TEXT NAME: the human output holds TEXT.
says() { if grep -qF -- "$1" "$w/human"; then ok "$2"; else bad "$2: '$1' not in the output: $(head -c 600 "$w/human")"; fi; }
# check_result NAME_PART RESULT NAME: a JSON check whose name contains
# NAME_PART has RESULT.
check_result() {
  if python3 - "$w/json" "$1" "$2" << 'PY'; then ok "$3"; else bad "$3: no check '$1' with result $2: $(head -c 800 "$w/json")"; fi
import json, sys
o = json.load(open(sys.argv[1]))
sys.exit(0 if any(sys.argv[2] in c["name"] and c["result"] == sys.argv[3] for c in o["checks"]) else 1)
PY
}
# sent PATH: the emulator's request count for PATH (0 when never asked).
sent() { local n; n=$(counter "$1"); echo "${n:-0}"; }
executions() { # the Cloud Run job's executionCount
  acall GET "$base/v2/$job_res" | sed -n 's/.*"executionCount":\([0-9]*\).*/\1/p'
}
# untouched NAME: nothing reached the job's :run, v1 :run or the service
# since the last mark.
mark() { m_run=$(sent "/v2/$job_res:run"); m_v1=$(sent "/apis/run.googleapis.com/v1/namespaces/$P/jobs/collect:run"); m_svc=$(sent /services/collector); m_ex=$(executions); }
untouched() {
  if [ "$(sent "/v2/$job_res:run")" = "$m_run" ] && [ "$(sent "/apis/run.googleapis.com/v1/namespaces/$P/jobs/collect:run")" = "$m_v1" ] &&
    [ "$(sent /services/collector)" = "$m_svc" ] && [ "$(executions)" = "$m_ex" ]; then
    ok "$1: nothing sent to the target"
  else
    bad "$1: a request reached the target without --send"
  fi
}

as_dev

# ---- usage ---------------------------------------------------------------------------
run 2 "usage: no target" "$gauth" doctor
run 2 "usage: --oidc and --oauth" "$gauth" doctor "$job_run" --oidc --oauth
run 2 "usage: --format=xml" "$gauth" doctor "$job_run" --oauth --format=xml
run 2 "usage: unknown option" "$gauth" doctor "$job_run" --frobnicate
run 2 "usage: --job and a URL" "$gauth" doctor --job="$(sched_name x)" "$job_run"
run 2 "usage: --token and --oidc" "$gauth" doctor "$job_run" --token=- --oidc
run 0 "--help" "$gauth" doctor --help

# ---- oidc_token_to_google_api: the seed's job, every variation -------------------------
mkjob seed "$job_run" "$(oidc "$sched" "$job_run")"
mark
doc oidc_token_to_google_api "seed job (v2 :run, OIDC aud = uri)" --job="$(sched_name seed)"
fix_has oauthToken "seed: the fix is the job's oauthToken"
says "oidcToken" "seed: names the job's oidcToken field"
untouched "seed"
grep -q '^FIX:' "$w/human" && [ "$(grep -n '^FIX:' "$w/human" | head -1 | cut -d: -f1)" -gt 1 ] &&
  ok "seed: FIX after the root cause" || bad "seed: FIX placement"

mkjob seed-noaud "$job_run" "$(oidc "$sched")"
doc oidc_token_to_google_api "seed job without an audience" --job="$(sched_name seed-noaud)"
fix_has oauthToken "seed without audience: oauthToken"

mkjob seed-v1 "$job_run_v1" "$(oidc "$sched" "$job_run_v1")"
doc oidc_token_to_google_api "seed job, Cloud Run Admin v1 :run" --job="$(sched_name seed-v1)"
untouched "seed v1"

mkjob seed-other-api "$base/v1/projects/$P/locations/$L/jobs/seed:pause" "$(oidc "$sched")"
doc oidc_token_to_google_api "OIDC to another Google API (Cloud Scheduler :pause)" --job="$(sched_name seed-other-api)"

cp "$w/job-seed.json" "$w/seed-file.json"
doc oidc_token_to_google_api "seed job from a file" --job="$w/seed-file.json"
fix_has oauthToken "seed file: oauthToken"

acall GET "$api/seed" > "$w/seed-read.json"
doc oidc_token_to_google_api "seed job as the API returned it, from a file" --job="$w/seed-read.json"

doc oidc_token_to_google_api "ad hoc: :run --oidc" "$job_run" --oidc
doc oidc_token_to_google_api "ad hoc: :run --oidc=AUD" "$job_run" --oidc="$job_run"
doc oidc_token_to_google_api "ad hoc: v1 :run --oidc" "$job_run_v1" --oidc
doc oidc_token_to_google_api "ad hoc: a googleapis.com URL --oidc" \
  "https://pubsub.googleapis.com/v1/projects/$P/topics/t:publish" --oidc
doc oidc_token_to_google_api "ad hoc: run.googleapis.com v2 :run --oidc" \
  "https://run.googleapis.com/v2/$job_res:run" --oidc
untouched "ad hoc seed"

id_run=$(mint "$w/dev.json" print-identity-token --audiences="$job_run")
[ -n "$id_run" ] || id_run=$(mint "$w/key.json" print-identity-token --audiences="$job_run")
printf '%s\n' "$id_run" > "$w/id-run.tok"
doc oidc_token_to_google_api "supplied ID token to :run (--token=FILE)" "$job_run" --token="$w/id-run.tok"
doc_in=$w/id-run.tok
doc oidc_token_to_google_api "supplied ID token to :run (--token=-)" "$job_run" --token=-
doc_in=/dev/null
untouched "supplied token"

# The seed's "four roles", granted and propagated: still the token type.
bind "$job_res" roles/run.admin "serviceAccount:$sched"
bind "projects/$P" roles/run.invoker "serviceAccount:$sched"
bind "projects/$P/serviceAccounts/$sched" roles/iam.serviceAccountTokenCreator "serviceAccount:$sched"
bind "projects/$P" roles/iam.serviceAccountUser "serviceAccount:$sched"
doc oidc_token_to_google_api "seed after four roles granted" --job="$(sched_name seed)"
says "IAM" "after four roles: says no IAM change fixes it"
unbind "$job_res" roles/run.admin "serviceAccount:$sched"
unbind "projects/$P" roles/run.invoker "serviceAccount:$sched"
unbind "projects/$P/serviceAccounts/$sched" roles/iam.serviceAccountTokenCreator "serviceAccount:$sched"
unbind "projects/$P" roles/iam.serviceAccountUser "serviceAccount:$sched"

# As the job's own account (it may test its permissions itself).
as_sched
doc oidc_token_to_google_api "seed job (file), as the job's account" --job="$w/job-seed.json"
as_dev

# After an attempt: the job's status says UNAUTHENTICATED (16).
acall POST "$api/seed:run" '{}' > /dev/null
for _ in $(seq 50); do acall GET "$api/seed" | grep -q '"status"' && break; sleep 0.1; done
acall GET "$api/seed" | grep -q '"code":16' && ok "seed: the attempt failed UNAUTHENTICATED" || bad "seed: no status 16 after :run"
mark
doc oidc_token_to_google_api "seed job after a failed attempt" --job="$(sched_name seed)"
untouched "seed after attempt"

# From here to cannot_mint_token, developer@ may mint the scheduler account's
# tokens (Token Creator on it): --send can make the attempt, and the
# permission check is testIamPermissions as the account, which sees
# propagation.
bind "projects/$P/serviceAccounts/$sched" roles/iam.serviceAccountTokenCreator user:developer@example.com

# --send: exactly one attempt, its 401 read.
before=$(sent "/v2/$job_res:run")
doc oidc_token_to_google_api "seed job --send" --job="$(sched_name seed)" --send
after=$(sent "/v2/$job_res:run")
[ "$after" = $((before + 2)) ] && ok "--send: one attempt per run (2 runs)" || bad "--send: $before -> $after requests to :run, expected 2 more"
says 401 "--send: the reply's 401 is shown"

# Several causes: the token type, then the permission.
unbind "$job_res" roles/run.invoker "serviceAccount:$sched"
doc oidc_token_to_google_api "seed without run.invoker: root is the token type" --job="$(sched_name seed)"
causes_has missing_permission "seed without run.invoker: missing_permission listed after"
fix_has oauthToken "seed without run.invoker: fix the token first"

# ---- missing_permission ----------------------------------------------------------------
mkjob fixed "$job_run" "$(oauth "$sched")"
mark
doc missing_permission "job :run without run.jobs.run" --job="$(sched_name fixed)"
says run.jobs.run "missing_permission: names run.jobs.run"
fix_has roles/run.invoker "missing_permission: names roles/run.invoker"
fix_has collect "missing_permission: names the job"
fix_has "$sched" "missing_permission: names the account"
untouched "missing_permission"
as_sched
doc missing_permission "job (file) :run without run.jobs.run, as the job's account" --job="$w/job-fixed.json"
as_dev
as_sched
doc missing_permission "ad hoc: :run --oauth as an account without run.jobs.run" "$job_run" --oauth
as_dev

# ---- permission_not_propagated --------------------------------------------------------------
bind "$job_res" roles/run.invoker "serviceAccount:$sched" 600
doc permission_not_propagated "run.invoker added, not yet in effect" --job="$(sched_name fixed)"
fix_has wait-permissions "not propagated: suggests gauth wait-permissions"
says "run.jobs.run" "not propagated: names the permission"

# ---- ok ------------------------------------------------------------------------------------
# The pending binding replaced by one in effect at once.
unbind "$job_res" roles/run.invoker "serviceAccount:$sched"
bind "$job_res" roles/run.invoker "serviceAccount:$sched"
mark
doc ok "the fixed job (oauthToken to :run)" --job="$(sched_name fixed)"
untouched "ok"
# The job's account may test its own permissions but read nothing else
# (not the project's number, so not the service agent's grant): unknown,
# saying what could not be checked.
as_sched
doc unknown "the fixed job (file), as the job's account (no read permissions)" --job="$w/job-fixed.json"
says "mint" "unknown as the job's account: names the check not made"
as_dev
mkjob svc-ok "$service" "$(oidc "$sched" "$service")"
doc ok "a job calling the service with its OIDC token" --job="$(sched_name svc-ok)"
mkjob svc-ok-noaud "$service" "$(oidc "$sched")"
doc ok "a job calling the service, OIDC without audience" --job="$(sched_name svc-ok-noaud)"
# The job's account may not list Cloud Run services: whether the loopback
# URL is a service (and which audiences it takes) is not known, so the
# doctor says unknown and names the check, rather than guess.
as_sched
doc unknown "ad hoc: the service --oidc, as an account that cannot list services" "$service" --oidc
says "target_kind" "ad hoc as the job's account: names target_kind"
doc ok "ad hoc: :run --oauth" "$job_run" --oauth
as_dev
before=$(sent /services/collector)
doc ok "the service job --send" --job="$(sched_name svc-ok)" --send
[ "$(sent /services/collector)" = $((before + 2)) ] && ok "--send: one request per run" || bad "--send: requests to the service $before -> $(sent /services/collector)"
# A service URL the Cloud Run lists do not show: only the attempt's 404
# (Cloud Run's front end) proves it missing.
mkjob svc-nosvc "$run_base/services/nope" "$(oidc "$sched")"
doc target_not_found "job: no such service, --send" --job="$(sched_name svc-nosvc)" --send

# ---- access_token_to_run_service -------------------------------------------------------------
mkjob svc-oauth "$service" "$(oauth "$sched")"
mark
doc access_token_to_run_service "job: OAuth token to a Cloud Run service" --job="$(sched_name svc-oauth)"
fix_has oidcToken "access to service: the fix is oidcToken"
as_sched
doc unknown "ad hoc: the service --oauth, as an account that cannot list services" "$service" --oauth
says "target_kind" "ad hoc --oauth as the job's account: names target_kind"
at_sched=$(mint "$w/key.json" print-access-token)
printf '%s\n' "$at_sched" > "$w/at.tok"
as_dev
doc access_token_to_run_service "supplied access token to the service" "$service" --token="$w/at.tok"
as_dev
untouched "access_token_to_run_service"

# ---- no_token ------------------------------------------------------------------------------
mkjob svc-none "$service" ""
doc no_token "job: no token to the service" --job="$(sched_name svc-none)"
fix_has oidcToken "no_token to a service: add oidcToken"
mkjob run-none "$job_run" ""
doc no_token "job: no token to :run" --job="$(sched_name run-none)"
fix_has oauthToken "no_token to :run: add oauthToken"
doc no_token "ad hoc: the service without a token" "$service"
untouched "no_token"

# ---- audience_mismatch --------------------------------------------------------------------------
mkjob svc-aud "$service" "$(oidc "$sched" https://other.example.com)"
doc audience_mismatch "job: OIDC audience not the service's" --job="$(sched_name svc-aud)"
fix_has "$service" "audience_mismatch: names the service's URL"
mkjob svc-aud-path "$service" "$(oidc "$sched" "$service/hello")"
doc audience_mismatch "job: OIDC audience with the path (not the service URL)" --job="$(sched_name svc-aud-path)"
as_sched
id_other=$(mint "$w/key.json" print-identity-token --audiences=https://other.example.com)
printf '%s\n' "$id_other" > "$w/id-other.tok"
as_dev
doc audience_mismatch "supplied ID token with the wrong aud" "$service" --token="$w/id-other.tok"
as_sched
doc unknown "ad hoc: --oidc=wrong audience, as an account that cannot list services" "$service" --oidc=https://other.example.com
as_dev

# ---- wrong_scope ------------------------------------------------------------------------------
mkjob run-scope "$job_run" "$(oauth "$sched" https://www.googleapis.com/auth/userinfo.email)"
doc wrong_scope "job: OAuth scope the API does not accept" --job="$(sched_name run-scope)"
fix_has cloud-platform "wrong_scope: names cloud-platform"
as_sched
at_narrow=$(mint "$w/key.json" print-access-token --scopes=https://www.googleapis.com/auth/userinfo.email)
printf '%s\n' "$at_narrow" > "$w/narrow.tok"
as_dev
doc wrong_scope "supplied access token with a narrow scope" "$job_run" --token="$w/narrow.tok"
as_sched
doc wrong_scope "ad hoc: --oauth=narrow scope" "$job_run" --oauth=https://www.googleapis.com/auth/userinfo.email
as_dev

# ---- target_not_found ----------------------------------------------------------------------------
mkjob run-nojob "$base/v2/projects/$P/locations/$L/jobs/nope:run" "$(oauth "$sched")"
doc target_not_found "job: no such Cloud Run job" --job="$(sched_name run-nojob)"
mkjob run-region "$base/v2/projects/$P/locations/europe-west1/jobs/collect:run" "$(oauth "$sched")"
doc target_not_found "job: wrong region" --job="$(sched_name run-region)"
mkjob run-project "$base/v2/projects/other-project/locations/$L/jobs/collect:run" "$(oauth "$sched")"
doc target_not_found "job: wrong project" --job="$(sched_name run-project)"
mkjob run-v1-wrong "$base/apis/run.googleapis.com/v1/namespaces/$P/jobs/nope:run" "$(oauth "$sched")"
doc target_not_found "job: v1 :run of no job" --job="$(sched_name run-v1-wrong)"
doc target_not_found "--job naming no Cloud Scheduler job" --job="$(sched_name does-not-exist)"

unbind "projects/$P/serviceAccounts/$sched" roles/iam.serviceAccountTokenCreator user:developer@example.com

# ---- cannot_mint_token ------------------------------------------------------------------------------
unbind "projects/$P" roles/cloudscheduler.serviceAgent "serviceAccount:$agent"
doc cannot_mint_token "the service agent lacks roles/cloudscheduler.serviceAgent" --job="$(sched_name fixed)"
fix_has roles/cloudscheduler.serviceAgent "cannot_mint: names the role"
fix_has "$agent" "cannot_mint: names the service agent"
bind "projects/$P" roles/cloudscheduler.serviceAgent "serviceAccount:$agent"
doc cannot_mint_token "ad hoc: the caller lacks TokenCreator on the account" \
  "$service" --oidc --service-account="$sched"
fix_has roles/iam.serviceAccountTokenCreator "cannot_mint ad hoc: names TokenCreator"

# ---- service_account_not_found ------------------------------------------------------------------------
sed "s/$sched/ghost@$P.iam.gserviceaccount.com/" "$w/job-fixed.json" > "$w/ghost.json"
doc service_account_not_found "job file naming no account" --job="$w/ghost.json"
fix_has ghost "not_found: names the account"
mkjob dis "$job_run" "$(oauth "$runner")"
bind "$job_res" roles/run.invoker "serviceAccount:$runner"
acall POST "$base/v1/projects/$P/serviceAccounts/$runner:disable" '{}' > "$w/disable.out"
grep -q '^{}' "$w/disable.out" || bad "setup: :disable answered $(cat "$w/disable.out")"
doc service_account_not_found "job of a disabled account" --job="$(sched_name dis)"
says disabled "disabled: says so"
acall POST "$base/v1/projects/$P/serviceAccounts/$runner:enable" '{}' > /dev/null
doc ok "job of the account enabled again" --job="$(sched_name dis)"

# ---- token_expired ------------------------------------------------------------------------------------
# Minted by the metadata server (no assertion to date) on an emulator clock
# two hours back, so expired an hour ago by both clocks once the clock is
# back (no skew to blame).
md() { curl -sS --noproxy '*' -H 'Metadata-Flavor: Google' "$base/computeMetadata/v1/instance/service-accounts/default/$1"; }
clock -7200
id_old=$(md "identity?format=full&audience=$service")
at_old=$(md token | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
clock 0
printf '%s\n%s\n' "$id_old" "$at_old" >> "$w/tokens"
[ -n "$id_old" ] && [ -n "$at_old" ] || bad "setup: no expired tokens from the metadata server"
printf '%s\n' "$id_old" > "$w/id-old.tok"
printf '%s\n' "$at_old" > "$w/at-old.tok"
doc token_expired "supplied ID token, expired" "$service" --token="$w/id-old.tok"
doc token_expired "supplied access token, expired" "$job_run" --token="$w/at-old.tok"
as_dev

# ---- clock_skew ---------------------------------------------------------------------------------------
clock 3600
doc clock_skew "Google's clock an hour ahead" --job="$(sched_name fixed)"
says "Date" "clock_skew: names the Date header as evidence"
clock -3600
doc clock_skew "Google's clock an hour behind" --job="$(sched_name fixed)"
clock 0
doc ok "the clock back: ok again" --job="$(sched_name fixed)"

# ---- unknown: a caller who may read nothing ------------------------------------------------------------
as_nobody
doc unknown "caller without read permissions (job file)" --job="$w/job-fixed.json"
says "permission" "unknown: says which permission the caller lacks"
as_dev

# ---- no token anywhere --------------------------------------------------------------------------------
leak=0
while read -r t; do
  [ -n "$t" ] || continue
  if grep -qF -- "$t" "$w/all-out" "$w/all-err" || grep -qF -- "${t:0:40}" "$w/all-out" "$w/all-err"; then leak=1; fi
done < "$w/tokens"
[ "$leak" = 0 ] && ok "no minted token in any output" || bad "a token appears in the doctor's output"
grep -qE 'ya29\.|eyJ[A-Za-z0-9_-]{20,}\.' "$w/all-out" "$w/all-err" && bad "a token-like string in the output" || ok "no token-like string"

cat "$w/times"
finish cli-doctor
