#!/usr/bin/env bash
# End-to-end tests of gauth print-access-token and print-identity-token
# against a gauth-emulator of their own: ADC (key file, metadata server,
# nothing found), --credentials, impersonation, usage errors, and that no
# token shows in a message. The tokens are used for real: the access token
# runs the emulator's Cloud Run job, the ID token verifies and opens the
# service.
#
# Usage: cli-tokens.sh GAUTH_BINARY EMULATOR_BINARY WORK_DIR
set -u
gauth=$1
emulator=$2
w=$3
rm -rf "$w"
mkdir -p "$w/empty-gcloud"
. "$(dirname "$0")/harness.sh"

start_emulator --key-file="$w/key.json"
sched=scheduler@demo-project.iam.gserviceaccount.com
runner=runner@demo-project.iam.gserviceaccount.com
service=$run_base/services/collector   # the Cloud Run front end, not a Google API
job_run=$base/v2/projects/demo-project/locations/us-central1/jobs/collect:run
export GAUTH_ENDPOINT=$base GCE_METADATA_HOST=$host GCE_METADATA_IP=$host
export CLOUDSDK_CONFIG=$w/empty-gcloud GAUTH_METADATA_DETECTION=none
unset GOOGLE_APPLICATION_CREDENTIALS
curl_status() { # curl_status METHOD URL TOKEN
  curl -sS --noproxy '*' -o "$w/body" -w '%{http_code}' -X "$1" \
    -H "Authorization: Bearer $3" "$2"
}

# ---- a key file, by ADC and by --credentials ---------------------------------------
if GOOGLE_APPLICATION_CREDENTIALS=$w/key.json run 0 "access token (ADC key file)" \
    "$gauth" print-access-token; then
  tok=$(cat "$w/out")
  [ "$(wc -l < "$w/out")" -eq 1 ] && [ -n "$tok" ] && ok "one line on stdout" || bad "stdout is not one token line"
  [ "$(curl_status POST "$job_run" "$tok")" = 200 ] && ok "the access token runs the job" || bad "the job refused the access token"
  [ "$(curl_status GET "$service" "$tok")" = 401 ] && ok "the service refuses an access token" || bad "the service took an access token"
fi
if run 0 "ID token (--credentials)" "$gauth" print-identity-token \
    --credentials="$w/key.json" --audiences="$service"; then
  idt=$(cat "$w/out")
  run 0 "the ID token verifies (Google preset, emulator keys)" "$gauth" verify \
    "$idt" --audience="$service" &&
    has "$w/out" "\"email\":\"$sched\"" "the ID token names the scheduler"
  [ "$(curl_status GET "$service" "$idt")" = 200 ] && ok "the service takes the ID token" || bad "the service refused the ID token"
  [ "$(curl_status POST "$job_run" "$idt")" = 401 ] && ok ":run refuses the ID token (401)" || bad ":run took an ID token"
fi
before=$(counter /token)
GOOGLE_APPLICATION_CREDENTIALS=$w/key.json run 0 "custom scopes" "$gauth" print-access-token \
  --scopes=https://www.googleapis.com/auth/userinfo.email,openid
after=$(counter /token)
[ "$((after - before))" -eq 1 ] && ok "one token request per run" || bad "token requests: $before -> $after"

# ---- the metadata server by ADC, and impersonation ---------------------------------
GAUTH_METADATA_DETECTION=assume-present run 0 "access token (ADC metadata)" \
  "$gauth" print-access-token
GAUTH_METADATA_DETECTION=assume-present run 0 "ID token (ADC metadata)" \
  "$gauth" print-identity-token --audiences="$service" &&
  "$gauth" verify "$(cat "$w/out")" --audience="$service" > "$w/out" 2> "$w/err" &&
  has "$w/out" "\"email\":\"$runner\"" "metadata ID token names the runner"
before=$(counter "/v1/projects/-/serviceAccounts/$sched:generateIdToken")
GAUTH_METADATA_DETECTION=assume-present run 0 "impersonation (runner -> scheduler) ID token" \
  "$gauth" print-identity-token --audiences="$service" --include-email \
  --impersonate-service-account="$sched" &&
  "$gauth" verify "$(cat "$w/out")" --audience="$service" > "$w/out" 2> "$w/err" &&
  has "$w/out" "\"email\":\"$sched\"" "impersonated ID token names the scheduler"
after=$(counter "/v1/projects/-/serviceAccounts/$sched:generateIdToken")
[ "${after:-0}" -eq "$(( ${before:-0} + 1 ))" ] && ok "generateIdToken was called" || bad "generateIdToken calls: ${before:-0} -> ${after:-0}"
if GAUTH_METADATA_DETECTION=assume-present run 0 "impersonation access token" \
    "$gauth" print-access-token --impersonate-service-account="$sched"; then
  st=$(curl_status POST "$job_run" "$(cat "$w/out")")
  if [ "$st" = 200 ]; then ok "impersonated access token runs the job"
  else bad "impersonated access token: :run answered $st"; fi
fi
# The scheduler may not impersonate the runner: the error names the permission.
GOOGLE_APPLICATION_CREDENTIALS=$w/key.json run 1 "impersonation refused" \
  "$gauth" print-access-token --impersonate-service-account="$runner"
has "$w/err" "iam.serviceAccounts.getAccessToken" "refusal names the permission"
has "$w/err" "$sched" "refusal names the principal"

# ---- nothing found, bad files, usage ---------------------------------------------
run 1 "no credentials anywhere" "$gauth" print-access-token
has "$w/err" "GOOGLE_APPLICATION_CREDENTIALS" "the message says what was tried"
has "$w/err" "GAUTH_E_NO_CREDENTIALS" "the status is named"
run 1 "missing --credentials file" "$gauth" print-access-token --credentials="$w/nope.json"
has "$w/err" "$w/nope.json" "the message names the file"
printf '{"type":"service_account","client_email":"x@p.iam.gserviceaccount.com","private_key":"SECRETKEYMATERIAL"}' > "$w/bad.json"
run 1 "bad key file" "$gauth" print-access-token --credentials="$w/bad.json"
hasnt "$w/err" "SECRETKEYMATERIAL" "no key material in the message"
run 2 "print-identity-token needs --audiences" "$gauth" print-identity-token
run 2 "empty scope item" "$gauth" print-access-token --scopes=a,,b
run 2 "empty impersonation item" "$gauth" print-access-token --impersonate-service-account=,x@p.iam.gserviceaccount.com
run 2 "unknown option" "$gauth" print-access-token --bogus=ya29.SECRET
hasnt "$w/err" "ya29.SECRET" "an unknown option's value is not echoed"
run 0 "print-access-token --help" "$gauth" print-access-token --help
has "$w/out" "usage: gauth print-access-token" "help text"
run 0 "print-identity-token --help" "$gauth" print-identity-token --help
has "$w/out" "print-access-token" "help points Google APIs to access tokens"

# No token of this run shows in any message of any run.
[ -n "${tok:-}" ] && hasnt "$w/all-err" "$tok" "no access token in any message"
[ -n "${idt:-}" ] && hasnt "$w/all-err" "${idt##*.}" "no ID token in any message"
hasnt "$w/all-err" "BEGIN PRIVATE KEY" "no private key in any message"

finish cli-tokens
