#!/usr/bin/env bash
# The gauth doctor command's own behaviour, against a gauth-emulator of its
# own: usage errors (exit 2, a message naming the problem, never a flag's
# value), --help, --token read from a file and from standard input in its
# three forms (the token alone, "Bearer TOKEN", an "Authorization: Bearer
# TOKEN" line) giving the same diagnosis as each other and another than no
# token, a supplied token never in the output (nor its signature),
# --format=json valid and the same diagnosis as the text, and the exit
# status following the root cause (0 ok, 1 a cause, 3 unknown). Which cause
# each situation has is tests/cli/cli-doctor.sh's business, not this file's.
#
# Usage: cli-doctor-usage.sh GAUTH_BINARY EMULATOR_BINARY WORK_DIR
set -u
gauth=$1
emulator=$2
w=$3
rm -rf "$w"
mkdir -p "$w/empty-gcloud"
. "$(dirname "$0")/harness.sh"

start_emulator --key-file="$w/key.json"
service=$run_base/services/collector
job_run=$base/v2/projects/demo-project/locations/us-central1/jobs/collect:run
export GAUTH_ENDPOINT=$base GCE_METADATA_HOST=$host GCE_METADATA_IP=$host
export CLOUDSDK_CONFIG=$w/empty-gcloud GAUTH_METADATA_DETECTION=none
export GOOGLE_APPLICATION_CREDENTIALS=$w/key.json

# usage CODE NAME TEXT ARGS...: gauth doctor ARGS exits CODE (2) with TEXT on
# standard error and nothing on standard output.
usage() {
  local want=$1 name=$2 text=$3
  shift 3
  if run "$want" "$name" "$gauth" doctor "$@"; then
    has "$w/err" "$text" "$name: says '$text'"
    [ -s "$w/out" ] && bad "$name: standard output is not empty" || ok "$name: nothing on stdout"
  fi
}

# ---- help ------------------------------------------------------------------------
run 0 "doctor --help" "$gauth" doctor --help
has "$w/out" "gauth doctor URL --token=FILE|-" "--help shows the --token form"
has "$w/out" "3 unknown" "--help gives the exit statuses"
run 0 "gauth --help" "$gauth" --help
has "$w/out" "doctor --job=NAME|FILE | URL" "gauth --help lists doctor"

# ---- usage errors: exit 2 --------------------------------------------------------
printf '' > "$w/empty"
printf 'first second\n' > "$w/two-words"
printf 'Bearer \n' > "$w/bearer-only"
printf '{"httpTarget": ' > "$w/bad.json"
printf '{"httpTarget": {"uri": "ftp://x"}}' > "$w/bad-uri.json"
printf '{"pubsubTarget": {"topicName": "projects/p/topics/t"}}' > "$w/pubsub.json"
usage 2 "no job, no URL" "give either --job=NAME|FILE or a URL"
usage 2 "both --job and a URL" "give either --job=NAME|FILE or a URL" --job="$w/x.json" "$service"
usage 2 "two URLs" "(a second URL)" "$service" "$service"
usage 2 "--oidc and --oauth" "--oidc and --oauth exclude each other" "$service" --oidc --oauth
usage 2 "--oidc with --job" "not with --job" --job="$w/bad.json" --oidc
usage 2 "an unknown option, its value not shown" "unexpected argument --bogus" "$service" --bogus=canary-value-1
hasnt "$w/err" "canary-value-1" "the unknown option's value is not echoed"
usage 2 "--token with --oidc" "--token is the token that was sent" "$service" --token="$w/empty" --oidc
usage 2 "--format=xml" "--format takes text or json" "$service" --format=xml
usage 2 "--token without a value" "--token" "$service" --token
usage 2 "--token of a missing file" "cannot read --token" "$service" --token="$w/nope"
usage 2 "--token of an empty file" "holds no token" "$service" --token="$w/empty"
usage 2 "--token of 'Bearer ' alone" "holds no token" "$service" --token="$w/bearer-only"
usage 2 "--token of two words" "holds more than a token" "$service" --token="$w/two-words"
hasnt "$w/err" "first" "the file's words are not echoed"
usage 2 "--token=- with nothing on stdin" "(standard input) holds no token" "$service" --token=-
usage 2 "--job of a missing file" "cannot read --job" --job="$w/nope.json"
usage 2 "--job that is not JSON" "is not a JSON object" --job="$w/bad.json"
usage 2 "--job with a bad uri" "job.httpTarget.uri" --job="$w/bad-uri.json"
usage 2 "--job that is not an HTTP target" "httpTarget" --job="$w/pubsub.json"
usage 2 "--header without a colon" "--header needs NAME:VALUE" "$service" --oidc --header=novalue
usage 2 "--method not Google's" "httpMethod" "$service" --oidc --method=FETCH

# ---- tokens: the forms, file and stdin -------------------------------------------
# An ID token for the service, minted by the emulator (a real RS256 JWT).
# Minted outside run(): all-out and all-err are for gauth doctor's output.
tok=$("$gauth" print-identity-token --audiences="$service" 2> "$w/err")
if [ -n "$tok" ]; then
  sig=${tok##*.}
  printf '%s\n' "$tok" > "$w/tok-plain"
  printf '  Bearer %s  \r\n' "$tok" > "$w/tok-bearer"
  printf 'authorization: bearer %s\n' "$tok" > "$w/tok-header"
  printf 'Authorization:Bearer\t%s' "$tok" > "$w/tok-header2"

  # diag NAME STDIN ARGS...: gauth doctor ARGS (stdin from STDIN); stdout to
  # $w/NAME.out; exit status checked against the root cause of a --format=json run.
  diag() {
    local name=$1 in=$2
    shift 2
    "$gauth" doctor "$@" < "$in" > "$w/$name.out" 2> "$w/$name.err"
    echo $? > "$w/$name.rc"
    cat "$w/$name.out" >> "$w/all-out"
    cat "$w/$name.err" >> "$w/all-err"
  }
  diag plain /dev/null "$service" --token="$w/tok-plain"
  diag bearer /dev/null "$service" --token "$w/tok-bearer"
  diag header /dev/null "$service" --token="$w/tok-header"
  diag header2 /dev/null "$service" --token="$w/tok-header2"
  diag stdin "$w/tok-plain" "$service" --token=-
  diag stdin-bearer "$w/tok-bearer" "$service" --token -
  diag stdin-header "$w/tok-header" "$service" --token=-
  diag none /dev/null "$service"
  diag none-json /dev/null "$service" --format=json
  diag plain-json /dev/null "$service" --token="$w/tok-plain" --format=json

  rc=$(cat "$w/plain.rc")
  case $rc in
    0 | 1 | 3) ok "a diagnosis with a token from a file (exit $rc)" ;;
    *) bad "a diagnosis with a token from a file: exit $rc: $(cat "$w/plain.err")" ;;
  esac
  grep -q '^ROOT CAUSE: [a-z_]*: ' "$w/plain.out" && ok "text starts with ROOT CAUSE" ||
    bad "no ROOT CAUSE line: $(head -c 400 "$w/plain.out")"
  # same A B: the two outputs are the same diagnosis (the clock check's
  # measured seconds may differ from run to run).
  same() {
    cmp -s <(sed -E 's/[0-9]+ s /N s /g' "$w/$1.out") <(sed -E 's/[0-9]+ s /N s /g' "$w/$2.out")
  }
  for f in bearer header header2 stdin stdin-bearer stdin-header; do
    if same plain "$f" && [ "$(cat "$w/$f.rc")" = "$rc" ]; then
      ok "--token ($f) gives the diagnosis of the token alone"
    else
      bad "--token ($f): exit $(cat "$w/$f.rc"), output differs: $(diff "$w/plain.out" "$w/$f.out" | head -5) $(head -c 300 "$w/$f.err")"
    fi
  done
  # The token reached the diagnosis: with it, it is not a call without a token.
  if ! same plain none; then
    ok "a supplied token changes the diagnosis"
  else
    bad "the same diagnosis with and without --token"
  fi

  # ---- --format=json ------------------------------------------------------------
  for f in none-json plain-json; do
    python3 -m json.tool "$w/$f.out" > /dev/null 2>&1 && ok "$f: valid JSON" ||
      bad "$f: not JSON: $(head -c 300 "$w/$f.out")"
    python3 - "$w/$f.out" "$(cat "$w/$f.rc")" << 'PY' && ok "$f: the members, and the exit status follows root_cause" || bad "$f: members or exit status"
import json, sys
o = json.load(open(sys.argv[1]))
rc = int(sys.argv[2])
for k in ("root_cause", "summary", "fix", "causes", "checks"):
    assert k in o, k
assert isinstance(o["fix"], list) and isinstance(o["causes"], list)
for c in o["checks"]:
    assert c["result"] in ("ok", "fail", "skipped", "unknown"), c
    assert "name" in c and "detail" in c
want = {"ok": 0, "unknown": 3}.get(o["root_cause"], 1)
assert rc == want, (rc, o["root_cause"])
PY
  done
  code=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["root_cause"])' "$w/plain-json.out" 2> /dev/null)
  has "$w/plain.out" "ROOT CAUSE: $code: " "text and JSON name the same root cause"
  [ "$(cat "$w/plain-json.rc")" = "$rc" ] && ok "text and JSON exit alike" || bad "text exit $rc, JSON exit $(cat "$w/plain-json.rc")"

  # ---- an access token to the job's :run, from stdin --------------------------------
  at=$("$gauth" print-access-token 2> "$w/err")
  if [ -n "$at" ]; then
    printf 'Authorization: Bearer %s\n' "$at" > "$w/at-header"
    diag at /dev/null "$job_run" --token="$w/at-header" --verbose
    case $(cat "$w/at.rc") in
      0 | 1 | 3) ok "an access token from a header line (exit $(cat "$w/at.rc"))" ;;
      *) bad "an access token from a header line: exit $(cat "$w/at.rc"): $(cat "$w/at.err")" ;;
    esac
    has "$w/at.err" "gauth: doctor: diagnosed in" "--verbose prints the time taken on stderr"
    hasnt "$w/all-out" "$at" "the access token is not in any output"
    hasnt "$w/all-err" "$at" "the access token is not in any error"
  else
    bad "no access token minted: $(cat "$w/err")"
  fi

  # ---- never the token ---------------------------------------------------------------
  hasnt "$w/all-out" "$tok" "the ID token is not in any output"
  hasnt "$w/all-err" "$tok" "the ID token is not in any error"
  hasnt "$w/all-out" "$sig" "its signature is not in any output"
  hasnt "$w/all-err" "$sig" "its signature is not in any error"
else
  bad "no ID token minted: $(cat "$w/err")"
fi

# ---- no diagnosis possible: still a ROOT CAUSE (unknown), exit 3 ----------------------
nojob=projects/demo-project/locations/us-central1/jobs/no-such-job
if run 3 "--job=NAME that cannot be read" "$gauth" doctor --job=$nojob; then
  grep -q '^ROOT CAUSE: unknown: No diagnosis could be made: the job could not be read: ' "$w/out" &&
    ok "ROOT CAUSE: unknown, saying why" || bad "no unknown root cause: $(head -c 300 "$w/out")"
  has "$w/out" "[unknown] job: " "the job check is unknown"
  has "$w/err" "$nojob" "standard error names the job"
fi
if run 3 "--job=NAME that cannot be read, --format=json" "$gauth" doctor --job=$nojob --format=json; then
  python3 - "$w/out" << 'PY' && ok "JSON: root_cause unknown, the job check unknown" || bad "JSON of an unread job: $(head -c 300 "$w/out")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["root_cause"] == "unknown" and o["fix"] == [] and o["causes"] == []
assert o["checks"][0]["name"] == "job" and o["checks"][0]["result"] == "unknown"
assert "no-such-job" in o["summary"]
PY
fi
# A caller who may read jobs is told the named one does not exist.
curl -sS --noproxy '*' -o /dev/null -X POST "$base/emulator/v1/policy:add" \
  -d '{"resource":"projects/demo-project","role":"roles/viewer","member":"serviceAccount:scheduler@demo-project.iam.gserviceaccount.com"}'
if run 1 "--job=NAME that does not exist (the caller may read jobs)" "$gauth" doctor --job=$nojob; then
  has "$w/out" "ROOT CAUSE: target_not_found: The Cloud Scheduler job $nojob does not exist" "target_not_found, naming the job"
  has "$w/out" "gcloud scheduler jobs list --project=demo-project --location=us-central1" "the fix lists the jobs there"
fi
if run 1 "the same, --format=json" "$gauth" doctor --job=$nojob --format=json; then
  python3 - "$w/out" << 'PY' && ok "JSON: target_not_found, the job check failed" || bad "JSON of a missing job: $(head -c 300 "$w/out")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["root_cause"] == "target_not_found" and len(o["fix"]) == 1
assert o["causes"][0]["code"] == "target_not_found"
assert o["checks"][0] == {"name": "job", "result": "fail", "detail": o["checks"][0]["detail"]}
PY
fi
GOOGLE_APPLICATION_CREDENTIALS=$w/nope.json run 3 "no credentials" "$gauth" doctor "$service" --format=json
python3 - "$w/out" << 'PY' && ok "JSON: the caller check unknown" || bad "JSON without credentials: $(head -c 300 "$w/out")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["root_cause"] == "unknown" and o["checks"][0]["name"] == "caller"
PY

finish cli-doctor-usage
