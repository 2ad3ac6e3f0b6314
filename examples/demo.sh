#!/bin/sh
# The end-to-end demo run by `make demo`. It grows as libgauth does; today it
# shows the version and how libgauth decides where every request goes. Nothing
# here opens a connection.
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
echo
echo "demo: ok"
