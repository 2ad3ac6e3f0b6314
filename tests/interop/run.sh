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
# need_node WHAT PACKAGE: node and PACKAGE in GAUTH_INTEROP_NODE_MODULES
# (sets nm), or a visible skip naming what is missing.
need_node() {
  if ! command -v node > /dev/null 2>&1; then
    echo "SKIP: $1: node is not installed"
    exit 77
  fi
  nm=${GAUTH_INTEROP_NODE_MODULES:-}
  if [ -z "$nm" ] || [ ! -f "$nm/$2/package.json" ]; then
    echo "SKIP: $1: no $2 package in GAUTH_INTEROP_NODE_MODULES='$nm'" \
      "(npm ci in a copy of tests/interop/node and set the variable to its" \
      "node_modules; make test does)"
    exit 77
  fi
}

case "$impl" in
  jose)
    need_node "interop with npm jose" jose
    exec node "$here/interop_jose.mjs" "$gauth" "$work" "$nm"
    ;;
  aws_sigv4)
    need_node "SigV4 interop with npm aws4" aws4
    exec node "$here/interop_aws_sigv4.mjs" "$gauth" "$nm"
    ;;
  aws_subject_token)
    need_node "AWS subject token against npm google-auth-library" \
      google-auth-library
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
