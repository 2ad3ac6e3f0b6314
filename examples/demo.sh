#!/bin/sh
# The end-to-end demo run by `make demo`. It grows as libgauth does; today it
# shows the version, how libgauth decides where every request goes, and a JWT
# signed, decoded, verified and rejected with a key made for the demo
# (openssl). Nothing here opens a connection.
set -eu
build=${1:-build}
gauth=$build/examples/gauth/gauth

say() { printf '\n$ %s\n' "$*"; }

say gauth version
"$gauth" version

say "gauth endpoints            # Google's defaults"
env -u GAUTH_ENDPOINT -u GCE_METADATA_HOST "$gauth" endpoints

say "GAUTH_ENDPOINT=http://127.0.0.1:8080 GCE_METADATA_HOST=127.0.0.1:8080 gauth endpoints"
GAUTH_ENDPOINT=http://127.0.0.1:8080 GCE_METADATA_HOST=127.0.0.1:8080 "$gauth" endpoints

url='https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/scheduler@demo-project.iam.gserviceaccount.com:generateAccessToken'
say "gauth resolve --endpoint=http://127.0.0.1:8080 '$url'"
"$gauth" resolve --endpoint=http://127.0.0.1:8080 "$url"

say "gauth resolve http://example.com/token   # plain http to a remote host"
if "$gauth" resolve http://example.com/token; then
  echo "demo: expected a refusal" >&2
  exit 1
fi
# ---- JWTs: sign, decode, verify, reject ---------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem; openssl pkey -in key.pem -pubout -out pub.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/key.pem" 2>/dev/null
openssl pkey -in "$tmp/key.pem" -pubout -out "$tmp/pub.pem"
echo "(a key pair made for this demo)"

now=$(date +%s)
aud=https://invoker-demo.a.run.app
claims="{\"iss\":\"https://issuer.demo\",\"aud\":\"$aud\",\"sub\":\"scheduler@demo-project.iam.gserviceaccount.com\",\"iat\":$now,\"exp\":$((now + 600))}"
say "gauth sign-jwt --key=key.pem --claims='$claims'"
token=$("$gauth" sign-jwt --key="$tmp/key.pem" --claims="$claims")
printf '%s...%s (%d bytes)\n' "$(printf '%s' "$token" | cut -c1-24)" \
  "${token#"${token%????????}"}" "${#token}"

say 'gauth decode "$TOKEN"            # shows it, verifies nothing'
"$gauth" decode "$token"

say "echo \"\$TOKEN\" | gauth verify - --issuer=https://issuer.demo --audience=$aud --jwks=pub.pem"
echo "$token" | "$gauth" verify - --issuer=https://issuer.demo --audience="$aud" --jwks="$tmp/pub.pem"

say "echo \"\$TOKEN\" | gauth verify - --issuer=https://issuer.demo --audience=https://other.a.run.app --jwks=pub.pem"
if echo "$token" | "$gauth" verify - --issuer=https://issuer.demo \
     --audience=https://other.a.run.app --jwks="$tmp/pub.pem"; then
  echo "demo: expected a rejection" >&2
  exit 1
fi
echo "(exit status 1: rejected, with the reason)"

say "echo \"\$TOKEN\" | gauth verify - --now=$((now + 3600)) ...   # an hour later"
if echo "$token" | "$gauth" verify - --now=$((now + 3600)) --issuer=https://issuer.demo \
     --audience="$aud" --jwks="$tmp/pub.pem"; then
  echo "demo: expected a rejection" >&2
  exit 1
fi

echo
echo "demo: ok"
