#!/usr/bin/env bash
# examples/aws_scheduler end to end, against a gauth-emulator of its own that
# also plays AWS (its "aws" config): a scheduler on AWS runs the Cloud Run
# job with AWS credentials only, by workload identity federation
# (external_account, aws1, impersonating the job's service account).
# AWS credentials from the environment (an assumed role's key, as Lambda
# gives a function) and from the instance metadata service (IMDSv2, as on
# EC2) both start an execution, which the Cloud Run Admin API then shows
# (executionCount, latestCreatedExecution); a wrong secret is refused by STS
# with AWS's reason; a job the account may not run is Google's 403; bad
# usage and a missing file are clear errors. No output holds the AWS
# secret, a session token or an access token (their actual values, and any
# of the emulator's ya29. tokens).
#
# Usage: aws-scheduler.sh AWS_SCHEDULER_BINARY GAUTH_BINARY EMULATOR_BINARY WORK_DIR
set -u
prog=$1
gauth=$2
emulator=$3
w=$4
rm -rf "$w"
mkdir -p "$w/empty-gcloud"
. "$(dirname "$0")/harness.sh"

account=111122223333
role=scheduler-role
fn=nightly-collect
key_id=ASIAEMULATORTEST0001
secret=CANARYsecret0aws0scheduler0test000000001
session=CANARYsession0token0aws0scheduler0test0001
pool=//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool
audience=$pool/providers/aws
subject=principal:$pool/subject
sa=scheduler@demo-project.iam.gserviceaccount.com
job=projects/demo-project/locations/us-central1/jobs/collect
cat > "$w/world.json" << EOF
{"aws": {"account_id": "$account", "role_name": "$role",
         "access_key_id": "$key_id", "secret_access_key": "$secret",
         "session_token": "$session", "user_name": "$fn",
         "region": "us-east-2", "imdsv2_required": true, "audience": "$audience"},
 "jobs": ["collect", "other"],
 "bindings": [
   {"resource": "$job", "role": "roles/run.invoker", "members": ["serviceAccount:$sa"]},
   {"resource": "projects/demo-project", "role": "roles/viewer", "members": ["serviceAccount:$sa"]},
   {"resource": "projects/demo-project/serviceAccounts/$sa",
    "role": "roles/iam.serviceAccountTokenCreator",
    "members": ["$subject/arn:aws:sts::$account:assumed-role/$role/$fn",
                "$subject/arn:aws:sts::$account:assumed-role/$role/i-0123456789abcdef0"]}]}
EOF
start_emulator --config="$w/world.json"

# Every Google URL at the emulator; no metadata server, no gcloud, no key
# file; a request that escaped loopback would meet a dead proxy.
export GAUTH_ENDPOINT=$base GAUTH_METADATA_DETECTION=none
export CLOUDSDK_CONFIG=$w/empty-gcloud
export https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
export http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
unset GCE_METADATA_HOST GCE_METADATA_IP GOOGLE_CLOUD_PROJECT
unset AWS_REGION AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN

cat > "$w/wif.json" << EOF
{"type": "external_account", "audience": "$audience",
 "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
 "token_url": "https://sts.googleapis.com/v1/token",
 "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/$sa:generateAccessToken",
 "credential_source": {"environment_id": "aws1",
   "region_url": "$base/latest/meta-data/placement/availability-zone",
   "url": "$base/latest/meta-data/iam/security-credentials",
   "imdsv2_session_token_url": "$base/latest/api/token",
   "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"}}
EOF
export GOOGLE_APPLICATION_CREDENTIALS=$w/wif.json
[ "$(grep -c private_key "$w/wif.json")" = 0 ] && ok "no private key in the credentials file" ||
  bad "the credentials file holds a key"
run_url=https://run.googleapis.com/v2/$job:run

# The job as the Admin API shows it, read with an access token of the same
# AWS-side identity (gauth print-access-token, ADC = the external_account
# file, the instance's credentials).
read_job() {
  local t
  t=$(env -u AWS_REGION -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    "$gauth" print-access-token 2>> "$w/all-err") || { echo "{}"; return; }
  echo "$t" >> "$w/tokens"
  curl -sS --noproxy '*' -H "Authorization: Bearer $t" "$base/v2/$job"
}
exec_count() { read_job | sed -n 's/.*"executionCount":\([0-9]*\).*/\1/p'; }
latest() { read_job | sed -n 's/.*"latestCreatedExecution":{"name":"\([^"]*\)".*/\1/p'; }

[ -z "$(exec_count)" ] && ok "no execution before the first run" || bad "the job ran before any run"

# ---- AWS credentials from the environment ---------------------------------------
imds_before=$(counter /latest/api/token)
if AWS_REGION=us-east-2 AWS_ACCESS_KEY_ID=$key_id AWS_SECRET_ACCESS_KEY=$secret \
  AWS_SESSION_TOKEN=$session run 0 "environment: --project/--region/--job" \
  "$prog" --project=demo-project --region=us-central1 --job=collect; then
  has "$w/out" "credentials: external_account, from GOOGLE_APPLICATION_CREDENTIALS=$w/wif.json" "names the external_account file"
  has "$w/out" "access token: for $sa (by impersonation)" "impersonates the job's account"
  has "$w/out" "POST $run_url" "POSTs the job's :run"
  has "$w/out" "status: 200" "status 200"
  has "$w/out" "execution: $job/executions/collect-" "names the execution"
fi
exec1=$(sed -n 's/^execution: //p' "$w/out")
[ "$(counter /latest/api/token)" = "$imds_before" ] && ok "no metadata call with environment credentials" ||
  bad "the environment path asked the metadata service"
[ "$(exec_count)" = 1 ] && ok "executionCount 1" || bad "executionCount after the env run: '$(exec_count)'"
[ -n "$exec1" ] && [ "$(latest)" = "$exec1" ] && ok "latestCreatedExecution is the one printed" ||
  bad "latestCreatedExecution '$(latest)', printed '$exec1'"

# ---- the instance's credentials, by IMDSv2 (required by this instance) -----------
imds_before=$(counter /latest/api/token)
if run 0 "IMDSv2: the :run URL" "$prog" "$run_url"; then
  has "$w/out" "access token: for $sa (by impersonation)" "impersonates the job's account"
  has "$w/out" "status: 200" "status 200"
  has "$w/out" "execution: $job/executions/collect-" "names the execution"
fi
exec2=$(sed -n 's/^execution: //p' "$w/out")
[ "$(counter /latest/api/token)" -gt "${imds_before:-0}" ] && ok "an IMDSv2 session token was asked for" ||
  bad "no PUT /latest/api/token"
[ "$(exec_count)" = 2 ] && ok "executionCount 2" || bad "executionCount after the IMDSv2 run: '$(exec_count)'"
[ -n "$exec2" ] && [ "$exec2" != "$exec1" ] && [ "$(latest)" = "$exec2" ] &&
  ok "latestCreatedExecution is the second one" || bad "latestCreatedExecution '$(latest)', printed '$exec2'"
# The instance's temporary credentials, as the program got them: kept to
# check that no output holds them.
imds_tok=$(curl -sS --noproxy '*' -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$base/latest/api/token")
curl -sS --noproxy '*' -H "X-aws-ec2-metadata-token: $imds_tok" \
  "$base/latest/meta-data/iam/security-credentials/$role" > "$w/role-creds"
imds_secret=$(sed -n 's/.*"SecretAccessKey"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$w/role-creds")
imds_session=$(sed -n 's/.*"Token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$w/role-creds")
[ -n "$imds_secret" ] && [ -n "$imds_session" ] && ok "the instance's credentials read back" ||
  bad "no role credentials: $(head -c 300 "$w/role-creds")"

# ---- refusals -------------------------------------------------------------------
before=$(exec_count)
if AWS_REGION=us-east-2 AWS_ACCESS_KEY_ID=$key_id AWS_SECRET_ACCESS_KEY=CANARYwrong0secret0000000000000000000001 \
  AWS_SESSION_TOKEN=$session run 1 "a wrong AWS secret" "$prog" "$run_url"; then
  has "$w/err" "no access token:" "says no token was obtained"
  has "$w/err" "invalid_grant" "names STS's refusal (invalid_grant)"
  has "$w/err" "SignatureDoesNotMatch" "with AWS's reason (SignatureDoesNotMatch)"
  hasnt "$w/err" "CANARYwrong" "the wrong secret is not shown"
  hasnt "$w/out" "status:" "nothing was POSTed"
fi
[ "$(exec_count)" = "$before" ] && ok "no execution without a token" || bad "the job ran with a wrong secret"

if run 1 "a job the account may not run" "$prog" --project=demo-project --region=us-central1 --job=other; then
  has "$w/out" "status: 403" "status 403"
  has "$w/err" "the job did not run: PERMISSION_DENIED: " "Google's status"
  has "$w/err" "run.jobs.run" "names the permission"
fi

run 2 "no URL" "$prog" && has "$w/err" "usage: aws_scheduler" "usage on stderr"
run 2 "a URL and --job" "$prog" "$run_url" --project=demo-project --region=us-central1 --job=collect
run 2 "an unknown flag" "$prog" --frobnicate "$run_url" && has "$w/err" "unexpected argument --frobnicate" "names the flag"
if run 1 "a missing credentials file" "$prog" --credentials="$w/nope.json" "$run_url"; then
  has "$w/err" "$w/nope.json" "names the file"
fi
GOOGLE_APPLICATION_CREDENTIALS= run 1 "no credentials at all" "$prog" "$run_url" &&
  has "$w/err" "no credentials:" "says so"
run 1 "plain http to a remote host" "$prog" http://run.example.com/v2/$job:run &&
  has "$w/err" "http://run.example.com" "names the URL"

# ---- no secret in any output ------------------------------------------------------
for v in "$secret" "$session" "$imds_secret" "$imds_session" $(cat "$w/tokens" 2> /dev/null); do
  [ -n "$v" ] || continue
  if grep -qF -- "$v" "$w/all-out" "$w/all-err" "$w/emu.log"; then
    bad "a secret (${#v} characters, starting ${v:0:4}) is in the output"
  fi
done
ok "no AWS secret, session token or read token in any output"
grep -q 'ya29\.' "$w/all-out" "$w/all-err" "$w/emu.log" && bad "an access token (ya29.) is in the output" ||
  ok "no access token in any output"
[ -s "$w/tokens" ] && ok "tokens were read to check against" || bad "no token read"

finish aws-scheduler
