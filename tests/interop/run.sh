#!/bin/sh
# Runs one interop test, or skips it (exit 77) saying what is missing.
# Usage: run.sh jose|pyjwt GAUTH_BINARY WORK_DIR
#        run.sh aws_sigv4 AWS_SIGV4_SIGN_HELPER WORK_DIR
#        run.sh aws_subject_token AWS_SUBJECT_TOKEN_HELPER WORK_DIR
#               AWS_SIGV4_SIGN_HELPER
set -u
impl=$1
gauth=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
case "$impl" in
  jose)
    if ! command -v node > /dev/null 2>&1; then
      echo "SKIP: interop with npm jose: node is not installed"
      exit 77
    fi
    nm=${GAUTH_INTEROP_NODE_MODULES:-}
    if [ -z "$nm" ] || [ ! -f "$nm/jose/package.json" ]; then
      echo "SKIP: interop with npm jose: no jose package in" \
        "GAUTH_INTEROP_NODE_MODULES='$nm' (install it with" \
        "'npm install --prefix DIR jose@6' and set the variable to" \
        "DIR/node_modules; make test does)"
      exit 77
    fi
    exec node "$here/interop_jose.mjs" "$gauth" "$work" "$nm"
    ;;
  aws_sigv4)
    if ! command -v node > /dev/null 2>&1; then
      echo "SKIP: SigV4 interop with npm aws4: node is not installed"
      exit 77
    fi
    nm=${GAUTH_INTEROP_NODE_MODULES:-}
    if [ -z "$nm" ] || [ ! -f "$nm/aws4/package.json" ]; then
      echo "SKIP: SigV4 interop with npm aws4: no aws4 package in" \
        "GAUTH_INTEROP_NODE_MODULES='$nm' (npm ci in tests/interop/node" \
        "and set the variable to its node_modules; make test does)"
      exit 77
    fi
    exec node "$here/interop_aws_sigv4.mjs" "$gauth" "$nm"
    ;;
  aws_subject_token)
    if ! command -v node > /dev/null 2>&1; then
      echo "SKIP: AWS subject token against npm google-auth-library: node" \
        "is not installed"
      exit 77
    fi
    nm=${GAUTH_INTEROP_NODE_MODULES:-}
    if [ -z "$nm" ] || [ ! -f "$nm/google-auth-library/package.json" ]; then
      echo "SKIP: AWS subject token against npm google-auth-library: no" \
        "google-auth-library package in GAUTH_INTEROP_NODE_MODULES='$nm'" \
        "(npm ci in tests/interop/node and set the variable to its" \
        "node_modules; make test does)"
      exit 77
    fi
    exec node "$here/interop_aws_subject_token.mjs" "$gauth" "${4:?signer}" "$nm"
    ;;
  pyjwt)
    py=/usr/bin/python3
    if [ ! -x "$py" ] ||
       ! "$py" -c 'import jwt, cryptography' > /dev/null 2>&1; then
      echo "SKIP: interop with PyJWT: Debian's python3-jwt and" \
        "python3-cryptography are not installed (apt-get install" \
        "python3-jwt python3-cryptography; make test does)"
      exit 77
    fi
    exec "$py" "$here/interop_pyjwt.py" "$gauth" "$work"
    ;;
  *)
    echo "usage: run.sh jose|pyjwt|aws_sigv4|aws_subject_token HELPER WORK_DIR [SIGNER]" >&2
    exit 2
    ;;
esac
