#!/usr/bin/env bash
# End-to-end tests of gauth test-permissions and wait-permissions against a
# gauth-emulator of their own: granted and missing subsets on jobs, services
# and projects, JSON output, refused calls (404, 403) told apart from
# missing permissions, names refused without a request, credential
# failures, waiting out a propagation delay (with wall-clock bounds), the
# deadline, progress lines (plain and on a terminal), --timeout parsing,
# and that no token shows anywhere.
#
# Usage: cli-iam.sh GAUTH_BINARY EMULATOR_BINARY WORK_DIR
set -u
gauth=$1
emulator=$2
w=$3
py=/usr/bin/python3
rm -rf "$w"
mkdir -p "$w/empty-gcloud"
. "$(dirname "$0")/harness.sh"
now_ms() { date +%s%3N; }

start_emulator --key-file="$w/key.json"
sched=serviceAccount:scheduler@demo-project.iam.gserviceaccount.com
job=projects/demo-project/locations/us-central1/jobs/collect
svc=projects/demo-project/locations/us-central1/services/collector
job_tip=/v2/$job:testIamPermissions
export GAUTH_ENDPOINT=$base GCE_METADATA_HOST=$host GCE_METADATA_IP=$host
export CLOUDSDK_CONFIG=$w/empty-gcloud GAUTH_METADATA_DETECTION=none
export GOOGLE_APPLICATION_CREDENTIALS=$w/key.json
control() { # control METHOD PATH [BODY]
  curl -sS --noproxy '*' -X "$1" "$base/emulator/v1/$2" ${3:+-d "$3"}
}
requests() { # the emulator's request count, all paths but the control API's
  control GET counters | $py -c 'import json,sys; print(sum(n for p, n in json.load(sys.stdin)["requests"].items() if not p.startswith("/emulator/")))'
}
add_binding() { # add_binding RESOURCE ROLE DELAY
  control POST policy:add "{\"resource\":\"$1\",\"role\":\"$2\",\"member\":\"$sched\",\"delay_seconds\":$3}" > /dev/null
}

# ---- granted and missing -------------------------------------------------------------
run 0 "job: all granted" "$gauth" test-permissions "$job" run.jobs.run run.jobs.runWithOverrides
is "$w/out" "run.jobs.run granted
run.jobs.runWithOverrides granted" "job: one line per permission, in order"
run 1 "job: some missing" "$gauth" test-permissions "$job" run.jobs.delete run.jobs.run run.jobs.get
is "$w/out" "run.jobs.delete missing
run.jobs.run granted
run.jobs.get missing" "job: granted and missing lines"
[ ! -s "$w/err" ] && ok "nothing on stderr when the answer is 'missing'" || bad "stderr not empty"
run 1 "service: some missing" "$gauth" test-permissions "$svc" run.routes.invoke run.services.get
is "$w/out" "run.routes.invoke granted
run.services.get missing" "service: granted and missing lines"
run 1 "project: missing" "$gauth" test-permissions projects/demo-project resourcemanager.projects.get
is "$w/out" "resourcemanager.projects.get missing" "project: missing line"
run 0 "options after and before the names, -- ends them" "$gauth" test-permissions \
  --format=text "$job" --credentials="$w/key.json" -- run.jobs.run
is "$w/out" "run.jobs.run granted" "the permission after --"

# ---- JSON -------------------------------------------------------------------------------
if run 1 "json: some missing" "$gauth" test-permissions "$job" run.jobs.run run.jobs.delete --format=json; then
  $py -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d == {"resource": sys.argv[2], "url": sys.argv[3], "access": "ok",
             "permissions": {"run.jobs.run": "granted", "run.jobs.delete": "missing"},
             "all_granted": False}, d
assert list(d["permissions"]) == ["run.jobs.run", "run.jobs.delete"]
' "$w/out" "$job" "$base/v2/$job:testIamPermissions" && ok "json: exact object" || bad "json: object"
fi
if run 0 "json: all granted" "$gauth" test-permissions "$job" run.jobs.run --format json; then
  $py -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["all_granted"] is True and d["access"] == "ok", d
assert d["permissions"] == {"run.jobs.run": "granted"}, d
' "$w/out" && ok "json: all_granted true" || bad "json: all granted"
fi

# ---- names refused before any request ----------------------------------------------
before=$(requests)
run 2 "malformed permission" "$gauth" test-permissions "$job" run.jobs.run run.jobs
has "$w/err" "run.jobs" "the message names the permission"
run 2 "wildcard permission" "$gauth" test-permissions "$job" 'run.jobs.*'
run 2 "unknown resource form" "$gauth" test-permissions projects/demo-project/widgets/w run.jobs.run
has "$w/err" "projects/demo-project/widgets/w" "the message names the resource"
run 2 "wait: malformed permission" "$gauth" wait-permissions "$job" Run.jobs.run
perms=$(for i in $(seq 101); do printf 'run.jobs.p%d ' "$i"; done)
# shellcheck disable=SC2086
run 2 "101 permissions" "$gauth" test-permissions "$job" $perms
has "$w/err" "at most 100" "the limit is named"
run 2 "no permission" "$gauth" test-permissions "$job"
run 2 "nothing" "$gauth" test-permissions
run 2 "unknown option" "$gauth" test-permissions "$job" run.jobs.run --bogus=ya29.SECRET
hasnt "$w/err" "ya29.SECRET" "an unknown option's value is not echoed"
run 2 "--format=xml" "$gauth" test-permissions "$job" run.jobs.run --format=xml
run 2 "--timeout is wait-permissions'" "$gauth" test-permissions "$job" run.jobs.run --timeout=5s
run 2 "empty impersonation item" "$gauth" test-permissions "$job" run.jobs.run \
  --impersonate-service-account=,x@p.iam.gserviceaccount.com
for t in 0 0s -5 5x 1.5s '' s 5sm ' 5' 4294968s 71583m 1194h 99999999999999999999; do
  run 2 "--timeout='$t'" "$gauth" wait-permissions "$job" run.jobs.run --timeout="$t"
done
run 2 "--timeout without a value" "$gauth" wait-permissions "$job" run.jobs.run --timeout
after=$(requests)
[ "$before" -eq "$after" ] && ok "no request for refused names or usage ($after)" || bad "requests: $before -> $after"
for t in 90s 5m 1h 10 4294967s; do
  run 0 "--timeout=$t accepted" "$gauth" wait-permissions "$job" run.jobs.run --timeout="$t"
done

# ---- refused calls: not a missing permission ------------------------------------------
run 3 "404: no such job" "$gauth" test-permissions projects/demo-project/locations/us-central1/jobs/nope run.jobs.run
is "$w/out" "run.jobs.run unknown" "404: the permission is unknown"
has "$w/err" "HTTP 404" "404: the status is named"
has "$w/err" "does not exist" "404: the server's detail"
has "$w/err" "not a missing permission" "404: not a missing permission"
if run 3 "404 json" "$gauth" test-permissions projects/other-project run.jobs.run --format=json; then
  $py -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["access"] == "not_found" and d["all_granted"] is False, d
assert d["permissions"] == {"run.jobs.run": "unknown"}, d
' "$w/out" && ok "404 json: not_found, unknown" || bad "404 json"
fi
control POST faults "{\"route\":\"$job_tip\",\"kind\":\"status\",\"status\":403,\"body\":\"{\\\"error\\\":{\\\"code\\\":403,\\\"message\\\":\\\"Permission denied on resource (or it may not exist).\\\",\\\"status\\\":\\\"PERMISSION_DENIED\\\"}}\"}" > /dev/null
run 3 "403 on the call" "$gauth" test-permissions "$job" run.jobs.run run.jobs.get
is "$w/out" "run.jobs.run unknown
run.jobs.get unknown" "403: every permission unknown"
has "$w/err" "HTTP 403" "403: the status is named"
has "$w/err" "Permission denied on resource" "403: the server's detail"
has "$w/err" "not a missing permission" "403: not a missing permission"
run 3 "wait: 403 ends the wait" "$gauth" wait-permissions "$job" run.jobs.run --timeout=20s
has "$w/err" "not a missing permission" "wait 403: not a missing permission"
control DELETE faults > /dev/null
control POST faults "{\"route\":\"$job_tip\",\"kind\":\"status\",\"status\":503,\"count\":1}" > /dev/null
run 0 "a 503 on the call is retried" "$gauth" test-permissions "$job" run.jobs.run
control DELETE faults > /dev/null

# ---- credentials ----------------------------------------------------------------------
GOOGLE_APPLICATION_CREDENTIALS= run 4 "no credentials" "$gauth" test-permissions "$job" run.jobs.run
has "$w/err" "GAUTH_E_NO_CREDENTIALS" "no credentials: the status is named"
GOOGLE_APPLICATION_CREDENTIALS= run 4 "wait: no credentials" "$gauth" wait-permissions "$job" run.jobs.run
run 4 "missing --credentials file" "$gauth" test-permissions "$job" run.jobs.run --credentials="$w/nope.json"
has "$w/err" "$w/nope.json" "the message names the file"
GAUTH_ENDPOINT=http://127.0.0.1:9 run 4 "network failure" "$gauth" test-permissions "$job" run.jobs.run
# The metadata server's account (runner) asks as the scheduler.
GOOGLE_APPLICATION_CREDENTIALS= GAUTH_METADATA_DETECTION=assume-present \
  run 0 "impersonation: asks as the scheduler" "$gauth" test-permissions "$job" run.jobs.run \
  --impersonate-service-account=scheduler@demo-project.iam.gserviceaccount.com
GOOGLE_APPLICATION_CREDENTIALS= GAUTH_METADATA_DETECTION=assume-present \
  run 1 "without impersonation the runner lacks it" "$gauth" test-permissions "$job" run.jobs.run
run 4 "impersonation refused" "$gauth" test-permissions "$job" run.jobs.run \
  --impersonate-service-account=runner@demo-project.iam.gserviceaccount.com
has "$w/err" "iam.serviceAccounts.getAccessToken" "refusal names the permission"

# ---- waiting out propagation -------------------------------------------------------------
run 0 "wait: granted at once" "$gauth" wait-permissions "$job" run.jobs.run
# One check, well under a second (0.0 s on an idle machine; 0.1 s seen
# under load).
if grep -qxE '1 permission granted after 0\.[0-9] s \(1 check\)' "$w/out"; then
  ok "wait: granted at the first check"
else
  bad "wait: granted at the first check: got '$(cat "$w/out")'"
fi
# The emulator judges delays in whole seconds: add the binding just after a
# second begins, so that it takes effect 2.9 to 3 s later, not 2.0 to 3.
while [ $(( $(now_ms) % 1000 )) -gt 100 ]; do sleep 0.02; done
add_binding "$job" roles/run.admin 3
t0=$(now_ms)
run 0 "wait: a binding with a 3 s delay" "$gauth" wait-permissions "$job" run.jobs.delete run.jobs.run
wall=$(( $(now_ms) - t0 ))
if grep -qE '^all 2 permissions granted after [0-9]+\.[0-9] s \([0-9]+ checks\)$' "$w/out"; then
  ok "wait: the summary line"
  took=$(sed -E 's/.* after ([0-9.]+) s .*/\1/' "$w/out")
  checks=$(sed -E 's/.*\(([0-9]+) checks\)/\1/' "$w/out")
  $py -c 'import sys; t=float(sys.argv[1]); sys.exit(not 2.5 <= t <= 10)' "$took" &&
    ok "wait: reported $took s, within [2.5, 10]" || bad "wait: reported $took s"
  [ "$wall" -ge 2500 ] && [ "$wall" -le 11000 ] && ok "wait: wall time $wall ms" || bad "wait: wall time $wall ms"
  # stderr is not a terminal: one plain line per check, no \r.
  n=$(grep -c '^gauth: wait-permissions: check [0-9]* at [0-9.]* s: ' "$w/err")
  [ "$n" -eq "$checks" ] && [ "$n" -ge 2 ] && ok "wait: one progress line per check ($n)" || bad "wait: $n progress lines for $checks checks"
  has "$w/err" "check 1 at " "wait: the first check is logged"
  has "$w/err" ": 1 missing: run.jobs.delete; next check in " "wait: the first check names what is missing"
  tail -n 1 "$w/err" | grep -q ": all granted$" && ok "wait: the last check saw everything" || bad "wait: last line"
  if grep -q $'\r' "$w/err"; then bad "wait: a carriage return in a non-terminal stderr"; else ok "wait: no carriage return when not a terminal"; fi
else
  bad "wait: the summary line"
fi

add_binding "$svc" roles/run.admin 30
t0=$(now_ms)
run 1 "wait: the deadline before a 30 s delay" "$gauth" wait-permissions "$svc" run.routes.invoke run.services.delete --timeout=2s
wall=$(( $(now_ms) - t0 ))
grep -qE '^1 of 2 permissions still missing after [0-9.]+ s \([0-9]+ checks?\): run.services.delete$' "$w/out" &&
  ok "wait: the missing permission is listed" || bad "wait: deadline summary"
has "$w/err" "GAUTH_E_TIMEOUT" "wait: the deadline is named on stderr"
[ "$wall" -ge 1800 ] && [ "$wall" -le 4500 ] && ok "wait: returned after $wall ms" || bad "wait: returned after $wall ms"

# On a terminal: one live line, rewritten in place, cleared at the end.
add_binding projects/demo-project roles/viewer 3
script -qec "stty cols 150; '$gauth' wait-permissions projects/demo-project resourcemanager.projects.get --timeout=20s" \
  /dev/null < /dev/null > "$w/tty" 2>&1
rc=$?
cat "$w/tty" >> "$w/all-err"
[ "$rc" -eq 0 ] && ok "tty: exit 0" || bad "tty: exit $rc: $(cat -v "$w/tty")"
grep -qF $'\r\033[Kwaiting ' "$w/tty" && ok "tty: a line rewritten in place" || bad "tty: no live line: $(cat -v "$w/tty")"
grep -qE 'waiting [0-9]+ s, check 1: 1 missing: resourcemanager\.projects\.get; next check in [0-9]+ s'$'\r' "$w/tty" &&
  ok "tty: elapsed, attempt, missing and next check shown" || bad "tty: line content: $(cat -v "$w/tty")"
grep -qF $'\r\033[K1 permission granted after ' "$w/tty" && ok "tty: the line is cleared before the result" || bad "tty: not cleared: $(cat -v "$w/tty")"
if grep -q '^gauth: wait-permissions: check' "$w/tty"; then bad "tty: plain lines on a terminal"; else ok "tty: no plain lines"; fi
# A narrow terminal: the names are shortened, the countdown stays, no line
# is wider than the terminal.
add_binding projects/demo-project roles/owner 3
script -qec "stty cols 60; '$gauth' wait-permissions projects/demo-project resourcemanager.projects.update iam.roles.create --timeout=20s" \
  /dev/null < /dev/null > "$w/tty" 2>&1
rc=$?
cat "$w/tty" >> "$w/all-err"
[ "$rc" -eq 0 ] && ok "narrow tty: exit 0" || bad "narrow tty: exit $rc: $(cat -v "$w/tty")"
grep -qE 'check 1: 2 missing: [a-z.]*\.\.\.; next check in [0-9]+ s'$'\r' "$w/tty" &&
  ok "narrow tty: names shortened, countdown kept" || bad "narrow tty: $(cat -v "$w/tty")"
widest=$(tr '\r' '\n' < "$w/tty" | sed 's/\x1b\[K//g' | awk '{ if (length > m) m = length } END { print m }')
[ "$widest" -le 59 ] && ok "narrow tty: lines fit ($widest columns)" || bad "narrow tty: a line of $widest columns"

# ---- help --------------------------------------------------------------------------------
run 0 "test-permissions --help" "$gauth" test-permissions --help
has "$w/out" "usage: gauth test-permissions RESOURCE PERMISSION..." "help: usage line"
has "$w/out" "  3  the call was refused" "help: exit status table"
run 0 "wait-permissions --help" "$gauth" wait-permissions x --help
has "$w/out" "usage: gauth wait-permissions RESOURCE PERMISSION..." "help: usage line"
has "$w/out" "--timeout=DURATION" "help: --timeout"
has "$w/out" "  1  some are missing at the deadline" "help: exit 1 at the deadline"
run 0 "gauth help lists both" "$gauth" help
has "$w/out" "test-permissions RESOURCE PERMISSION..." "help lists test-permissions"
has "$w/out" "wait-permissions RESOURCE PERMISSION..." "help lists wait-permissions"

# No token in any output of any run.
cat "$w/all-out" "$w/all-err" > "$w/all-output"
hasnt "$w/all-output" "ya29." "no access token in any output"
hasnt "$w/all-output" "BEGIN PRIVATE KEY" "no private key in any output"

finish cli-iam
