#!/bin/sh
# The last step of `make demo` (examples/demo.sh runs it; it also runs on its
# own: sh examples/aws-demo.sh BUILD_DIR): the same Cloud Run job, scheduled
# from AWS. The seed's alternative, the right way round: instead of moving the
# job to AWS, a scheduler on AWS (an EventBridge rule's Lambda, a cron on EC2)
# with AWS credentials only gets a Google access token by workload identity
# federation and runs the job. No Google key file exists anywhere: the
# credentials file is an external_account file with no secret in it.
#
# gauth-emulator plays both clouds on loopback: Google (STS, IAM Credentials,
# the Cloud Run Admin API) and AWS (EC2's instance metadata service, and
# STS's check of the signed GetCallerIdentity request). Its world comes from
# a config file (Google's IAM policy, the AWS account, role and keys), as a
# project would be set up once; examples/aws_scheduler.c knows nothing of it.
set -eu
build=${1:-build}
gauth=$build/examples/gauth/gauth
emulator=$build/examples/emulator/gauth-emulator
aws_scheduler=$build/examples/aws_scheduler

say() { printf '\n$ %s\n' "$*"; }
fail() { echo "aws-demo: $*" >&2; exit 1; }
# Random characters of the given set, as AWS's keys look.
rand() { head -c 4000 /dev/urandom | tr -dc "$1" | cut -c "1-$2"; }

export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

for p in "$gauth" "$emulator" "$aws_scheduler"; do
  [ -x "$p" ] || fail "$p is missing: build the target gauth_demo_programs (make demo does)"
done

echo
echo "==== the same job, scheduled from AWS: workload identity federation, no key file ===="

# ---- the world: a Google project that trusts an AWS account ------------------------
# Fake AWS keys, made up for this run: an assumed role's, as Lambda's runtime
# hands a function (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
# AWS_SESSION_TOKEN). The key id may be shown; the secret and the session
# token never are.
account=111122223333
role=scheduler-role
function=nightly-collect
key_id=ASIA$(rand A-Z0-9 16)
secret=$(rand A-Za-z0-9 40)
session=FwoGZXIvYXdzE$(rand A-Za-z0-9 120)
pool=//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool
audience=$pool/providers/aws
subject=principal:$pool/subject
sa=scheduler@demo-project.iam.gserviceaccount.com
job=projects/demo-project/locations/us-central1/jobs/collect
cat > "$tmp/aws-world.json" << EOF
{"aws": {"account_id": "$account", "role_name": "$role",
         "access_key_id": "$key_id", "secret_access_key": "$secret",
         "session_token": "$session", "user_name": "$function",
         "region": "us-east-2", "imdsv2_required": true,
         "audience": "$audience"},
 "bindings": [
   {"resource": "$job", "role": "roles/run.invoker",
    "members": ["serviceAccount:$sa"]},
   {"resource": "projects/demo-project", "role": "roles/viewer",
    "members": ["serviceAccount:$sa"]},
   {"resource": "projects/demo-project/serviceAccounts/$sa",
    "role": "roles/iam.serviceAccountTokenCreator",
    "members": ["$subject/arn:aws:sts::$account:assumed-role/$role/$function",
                "$subject/arn:aws:sts::$account:assumed-role/$role/i-0123456789abcdef0"]}]}
EOF
say "cat aws-world.json      # the emulator's world (secret and session token not shown)"
sed -e "s|$secret|(40 characters, not shown)|" -e "s|$session|(not shown)|" "$tmp/aws-world.json"
echo "(the pool trusts AWS account $account; the Lambda function's session and the EC2"
echo " instance of role $role may act as $sa, which may run the job)"

say "gauth-emulator --listen=127.0.0.1:0 --config=aws-world.json &"
"$emulator" --listen=127.0.0.1:0 --config="$tmp/aws-world.json" \
  > "$tmp/emulator.out" 2> "$tmp/emulator.log" &
pid=$!
i=0
until grep -q '^export GAUTH_EMULATOR_RUN_URL' "$tmp/emulator.out" 2> /dev/null; do
  i=$((i + 1))
  [ "$i" -le 300 ] || fail "the emulator did not start: $(cat "$tmp/emulator.log")"
  kill -0 "$pid" 2> /dev/null || fail "the emulator exited: $(cat "$tmp/emulator.log")"
  sleep 0.1
done
base=$(sed -n '1s/^listening //p' "$tmp/emulator.out")
echo "listening $base"
# Google's APIs are at the emulator; nothing else of Google's is here: no
# metadata server, no key file.
say "export GAUTH_ENDPOINT=$base      # every Google URL goes to the emulator"
export GAUTH_ENDPOINT="$base"
unset GCE_METADATA_HOST GCE_METADATA_IP GOOGLE_CLOUD_PROJECT
export GAUTH_METADATA_DETECTION=none

# ---- the credentials file: what gcloud iam workload-identity-pools create-cred-config --aws writes
# On AWS the metadata service is http://169.254.169.254; here it is the
# emulator's /latest/ routes.
cat > "$tmp/aws-wif.json" << EOF
{
  "type": "external_account",
  "audience": "$audience",
  "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
  "token_url": "https://sts.googleapis.com/v1/token",
  "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/$sa:generateAccessToken",
  "credential_source": {
    "environment_id": "aws1",
    "region_url": "$base/latest/meta-data/placement/availability-zone",
    "url": "$base/latest/meta-data/iam/security-credentials",
    "imdsv2_session_token_url": "$base/latest/api/token",
    "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"
  }
}
EOF
say "export GOOGLE_APPLICATION_CREDENTIALS=aws-wif.json; cat aws-wif.json"
export GOOGLE_APPLICATION_CREDENTIALS="$tmp/aws-wif.json"
cat "$tmp/aws-wif.json"
say "grep -c private_key aws-wif.json      # 0: no private key; it says where the AWS credentials are and whom to ask"
grep -c private_key "$tmp/aws-wif.json" || true

run_url=https://run.googleapis.com/v2/$job:run

# ---- 1. a Lambda function: AWS credentials in the environment ----------------------
say "export AWS_REGION=us-east-2 AWS_ACCESS_KEY_ID=$key_id AWS_SECRET_ACCESS_KEY=… AWS_SESSION_TOKEN=…"
echo "(what Lambda's runtime gives a function running as role $role; secret and token not shown)"
export AWS_REGION=us-east-2 AWS_ACCESS_KEY_ID="$key_id" \
  AWS_SECRET_ACCESS_KEY="$secret" AWS_SESSION_TOKEN="$session"
say "aws_scheduler --project=demo-project --region=us-central1 --job=collect"
"$aws_scheduler" --project=demo-project --region=us-central1 --job=collect \
  > "$tmp/run1.out" 2>&1 || { cat "$tmp/run1.out"; fail "aws_scheduler failed (AWS credentials from the environment)"; }
sed 's/^/  /' "$tmp/run1.out"

# ---- 2. a cron on EC2: the instance role's credentials, by IMDSv2 ------------------
say "unset AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN"
unset AWS_REGION AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
echo "(an EC2 instance of role $role: region and credentials from the instance metadata service)"
lines=$(wc -l < "$tmp/emulator.log")
say "aws_scheduler $run_url"
"$aws_scheduler" "$run_url" > "$tmp/run2.out" 2>&1 ||
  { cat "$tmp/run2.out"; fail "aws_scheduler failed (AWS credentials from IMDSv2)"; }
sed 's/^/  /' "$tmp/run2.out"
say "the emulator's log of that run: AWS's metadata, Google's STS, IAM Credentials, Cloud Run"
tail -n "+$((lines + 1))" "$tmp/emulator.log" | sed 's/^/  /'

# ---- the job ran twice --------------------------------------------------------------
say "curl -H \"Authorization: Bearer \$(gauth print-access-token)\" \$GAUTH_ENDPOINT/v2/$job"
token=$("$gauth" print-access-token) || fail "gauth print-access-token failed"
curl -sS --noproxy '*' -H "Authorization: Bearer $token" "$base/v2/$job" > "$tmp/job.json"
grep -oE '"executionCount":[0-9]+|"latestCreatedExecution":\{"name":"[^"]*"' "$tmp/job.json" |
  sed 's/^/  /'
grep -q '"executionCount":2' "$tmp/job.json" || fail "expected executionCount 2: $(cat "$tmp/job.json")"
echo "(the Cloud Run job ran twice, scheduled from AWS, with no Google key file anywhere)"

# No secret went to the screen.
for s in "$secret" "$session" "$token"; do
  if grep -qF -- "$s" "$tmp/run1.out" "$tmp/run2.out" "$tmp/emulator.log"; then
    fail "a secret was printed"
  fi
done
echo
echo "aws-demo: ok"
