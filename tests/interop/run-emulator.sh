#!/bin/sh
# Runs real third-party clients against gauth-emulator (the CTest fixture
# "emulator": its base URL in the file GAUTH_EMULATOR_URL_FILE names, its
# Cloud Run services' base URL beside it in run_url, its invoker key file
# beside it as key.json), or skips (exit 77) saying what is missing.
#
#   run-emulator.sh node WORK_DIR     npm google-auth-library 10.x and
#                                     gcp-metadata 8.x in GCE mode, npm jose
#                                     (emulator_clients.mjs); reads
#                                     GAUTH_INTEROP_NODE_MODULES
#   run-emulator.sh python WORK_DIR   Debian python3-google-auth with the key
#                                     file (emulator_google_auth.py)
#   run-emulator.sh libgauth-python WORK_DIR MINT
#                                     tokens libgauth mints (MINT: the
#                                     interop_mint program) verified by
#                                     python3-google-auth
#                                     (libgauth_google_auth.py)
#
# No client may reach Google: the metadata host is the emulator, the key
# file's token_uri is the emulator's, verifiers get the key-set URL; every
# proxy variable stays pointed at the closed port of tests/test-env.list, and
# 127.0.0.1 is added to NO_PROXY literally (gaxios, google-auth-library's
# HTTP client, matches NO_PROXY entries by exact host name: the
# "127.0.0.0/8" there does not exempt 127.0.0.1 for it).
set -u
client=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work/gcloud-config"

case "$client" in
  node)
    if ! command -v node > /dev/null 2>&1; then
      echo "SKIP: emulator interop with npm google-auth-library:" \
        "node is not installed"
      exit 77
    fi
    nm=${GAUTH_INTEROP_NODE_MODULES:-}
    for p in google-auth-library gcp-metadata jose; do
      if [ -z "$nm" ] || [ ! -f "$nm/$p/package.json" ]; then
        echo "SKIP: emulator interop with npm google-auth-library:" \
          "no $p package in GAUTH_INTEROP_NODE_MODULES='$nm' (install" \
          "tests/interop/node's lockfile with 'npm ci' in a copy of that" \
          "folder and set the variable to its node_modules; make test does)"
        exit 77
      fi
    done
    ;;
  python|libgauth-python)
    py=/usr/bin/python3
    if [ ! -x "$py" ] || ! "$py" -c \
        'import google.auth.transport.requests, google.oauth2.id_token' \
        > /dev/null 2>&1; then
      echo "SKIP: emulator interop with python3-google-auth: Debian's" \
        "python3-google-auth and python3-requests are not installed" \
        "(apt-get install python3-google-auth python3-requests; make test" \
        "does)"
      exit 77
    fi
    ;;
  *)
    echo "usage: run-emulator.sh node|python|libgauth-python WORK_DIR [MINT]" >&2
    exit 2
    ;;
esac

# The fixture is required: without it this is a failure, not a skip.
url_file=${GAUTH_EMULATOR_URL_FILE:-}
if [ -z "$url_file" ] || [ ! -s "$url_file" ]; then
  echo "no emulator URL in GAUTH_EMULATOR_URL_FILE='$url_file'" \
    "(the CTest fixture 'emulator' did not start)" >&2
  exit 1
fi
base=$(head -n 1 "$url_file")
key=$(dirname "$url_file")/key.json
run_base=$(head -n 1 "$(dirname "$url_file")/run_url" 2> /dev/null)
hostport=${base#http://}
if [ ! -f "$key" ]; then
  echo "no emulator key file at $key" >&2
  exit 1
fi
if [ -z "$run_base" ]; then
  echo "no Cloud Run base URL in $(dirname "$url_file")/run_url" >&2
  exit 1
fi

no_proxy="127.0.0.1,${no_proxy:-localhost}"
NO_PROXY="127.0.0.1,${NO_PROXY:-localhost}"
export no_proxy NO_PROXY
# No gcloud configuration or credentials from the user; no shelling out to
# gcloud for a project id.
CLOUDSDK_CONFIG=$work/gcloud-config
export CLOUDSDK_CONFIG
unset GOOGLE_CLOUD_PROJECT GCLOUD_PROJECT METADATA_SERVER_DETECTION

case "$client" in
  node)
    # GCE mode: the metadata server is the emulator.
    unset GOOGLE_APPLICATION_CREDENTIALS
    GCE_METADATA_HOST=$hostport GCE_METADATA_IP=$hostport \
      exec node "$here/emulator_clients.mjs" "$base" "$nm" "$run_base"
    ;;
  python)
    # The key file; the metadata server stays at the closed port.
    GOOGLE_APPLICATION_CREDENTIALS=$key \
      exec "$py" "$here/emulator_google_auth.py" "$base" "$key" "$run_base"
    ;;
  libgauth-python)
    # libgauth mints through the key file (its token_uri is the emulator);
    # GAUTH_ENDPOINT stays at the closed port: nothing else may be asked.
    exec "$py" "$here/libgauth_google_auth.py" "$3" "$key" "$base" "$run_base"
    ;;
esac
