#!/usr/bin/env bash
# The AWS source reads EC2's instance metadata service at its IPv6 address,
# http://[fd00:ec2::254], as AWS documents it (IMDSv2 session token, region,
# role, role credentials), then signs GetCallerIdentity and exchanges it at
# STS: `gauth print-access-token` with an aws1 external_account file, in a
# network namespace of its own where fd00:ec2::254 is a local address (no
# other network exists there). The emulator plays AWS and Google on
# 127.0.0.1; a byte forwarder (forward.py) puts its AWS side at
# [fd00:ec2::254]:PORT. Needs unshare -n (root or user namespaces) and ip
# (iproute2): without them the test says so and is skipped (exit 77).
#
# Usage: aws-imds-ipv6.sh GAUTH EMULATOR WORKDIR
set -u
gauth=$1 emulator=$2 w=$3
here=$(cd "$(dirname "$0")" && pwd)

if [ "${GAUTH_IN_NETNS:-}" != 1 ]; then
  if ! command -v ip > /dev/null 2>&1; then
    echo "SKIP: no ip command (iproute2) to set up a network namespace"
    exit 77
  fi
  if ! unshare -n true 2> /dev/null; then
    echo "SKIP: unshare -n is not permitted here (needs root or user namespaces)"
    exit 77
  fi
  GAUTH_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi

rm -rf "$w"
mkdir -p "$w"
. "$here/harness.sh"

ip link set lo up || { echo "FAIL: ip link set lo up"; exit 1; }
ip -6 addr add fd00:ec2::254/128 dev lo nodad ||
  { echo "FAIL: could not add fd00:ec2::254 in the namespace"; exit 1; }

akid=AKIDIPV6EXAMPLE00001
secret=CANARY-ipv6-secret-access-key-0001
audience=//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws
sa=scheduler@demo-project.iam.gserviceaccount.com
cat > "$w/world.json" << EOF
{"aws": {"account_id": "123456789012", "role_name": "scheduler-role",
         "access_key_id": "$akid", "secret_access_key": "$secret",
         "region": "us-east-2", "audience": "$audience",
         "service_account": "$sa", "imdsv2_required": true},
 "bindings": [{"resource": "projects/demo-project/serviceAccounts/$sa",
               "role": "roles/iam.serviceAccountTokenCreator",
               "members": ["principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/subject/arn:aws:sts::123456789012:assumed-role/scheduler-role/i-0123456789abcdef0"]}]}
EOF
start_emulator --config="$w/world.json"

# The forwarder: [fd00:ec2::254]:PORT -> the emulator; its first line is
# the port.
python3 "$here/forward.py" fd00:ec2::254 "$host" > "$w/fwd.out" 2> "$w/fwd.log" &
fwd=$!
trap 'kill $emu $fwd 2> /dev/null; wait $emu $fwd 2> /dev/null' EXIT
for _ in $(seq 100); do
  [ -s "$w/fwd.out" ] && break
  sleep 0.1
done
port=$(head -n 1 "$w/fwd.out")
[ -n "$port" ] || { echo "FAIL: the forwarder did not start: $(cat "$w/fwd.log")"; exit 1; }
imds="http://[fd00:ec2::254]:$port"

# An aws1 configuration as `gcloud iam workload-identity-pools
# create-cred-config --aws --enable-imdsv2` writes it, the metadata URLs at
# the IPv6 address; then with impersonation of the scheduler account.
write_config() {
  local imp=$1
  cat << EOF
{"type": "external_account", "audience": "$audience",
 "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
 "token_url": "https://sts.googleapis.com/v1/token",
 $imp
 "credential_source": {"environment_id": "aws1",
   "region_url": "$imds/latest/meta-data/placement/availability-zone",
   "url": "$imds/latest/meta-data/iam/security-credentials",
   "imdsv2_session_token_url": "$imds/latest/api/token",
   "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"}}
EOF
}
write_config "" > "$w/aws.json"
write_config "\"service_account_impersonation_url\": \"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/$sa:generateAccessToken\"," > "$w/aws-imp.json"

export GAUTH_ENDPOINT=$base GAUTH_METADATA_DETECTION=none
unset AWS_REGION AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN

run 0 "federated token through IMDSv2 at [fd00:ec2::254]" \
  env GOOGLE_APPLICATION_CREDENTIALS="$w/aws.json" "$gauth" print-access-token
tok=$(cat "$w/out")
[ "${#tok}" -gt 20 ] && ok "a token was printed (${#tok} bytes)" || bad "no token printed"
for p in "PUT /latest/api/token" "GET /latest/meta-data/placement/availability-zone" \
  "GET /latest/meta-data/iam/security-credentials/scheduler-role"; do
  has "$w/emu.log" "$p" "the emulator's IMDS saw $p through the IPv6 address"
done

run 0 "federated token, then impersonation, through [fd00:ec2::254]" \
  env GOOGLE_APPLICATION_CREDENTIALS="$w/aws-imp.json" "$gauth" print-access-token
tok2=$(cat "$w/out")
[ "${#tok2}" -gt 20 ] && [ "$tok2" != "$tok" ] && ok "an impersonated token, not the federated one" ||
  bad "impersonation printed no new token"

# The same configuration with another IPv6 address is refused before any
# request: plain http goes only to the documented metadata addresses.
sed 's/fd00:ec2::254/fd00:ec2::253/g' "$w/aws.json" > "$w/bad.json"
run 1 "a look-alike address is refused" \
  env GOOGLE_APPLICATION_CREDENTIALS="$w/bad.json" "$gauth" print-access-token
has "$w/err" "[fd00:ec2::254]" "the refusal names the allowed addresses"

# No AWS secret, session token or Google token in anything printed.
hasnt "$w/all-out" "$secret" "no AWS secret on stdout"
hasnt "$w/all-err" "$secret" "no AWS secret on stderr"
for t in "$tok" "$tok2"; do
  [ -n "$t" ] && hasnt "$w/all-err" "$t" "no access token on stderr"
done

echo "aws-imds-ipv6: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
