#!/usr/bin/env bash
# The bash completion of gauth, called as bash calls it: COMP_LINE,
# COMP_POINT, COMP_WORDS and COMP_CWORD set, _gauth run, COMPREPLY read.
# Usage: test-completion.sh GAUTH_BINARY COMPLETION_FILE
set -uo pipefail
gauth=$1 completion=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The program is found as the user types it: `gauth` on PATH.
mkdir "$tmp/bin"
ln -s "$(cd "$(dirname "$gauth")" && pwd)/$(basename "$gauth")" "$tmp/bin/gauth"
export PATH="$tmp/bin:$PATH"
unset GOOGLE_APPLICATION_CREDENTIALS
# shellcheck source=/dev/null
source "$completion" || { echo "test-completion: cannot source $completion"; exit 1; }
complete -p gauth | grep -q -- '-F _gauth' || { echo "test-completion: no 'complete -F _gauth gauth'"; exit 1; }

failures=0 checks=0
# complete LINE: runs the completion with the cursor at the end of LINE.
complete_line() {
  COMP_LINE=$1
  COMP_POINT=${#1}
  local IFS=$' \t\n'
  # COMP_WORDS as bash makes them: '=' is a word of its own.
  read -r -a COMP_WORDS <<< "${1//=/ = }"
  [[ $1 == *[[:space:]] || $1 == *= ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _gauth gauth "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
}
# offers WORD: WORD is one of the candidates. (A loop, not a pipe into
# `grep -q`: grep may exit at its match while bash's printf, which writes a
# line at a time, still writes, and pipefail then fails the check.)
offers() {
  local c
  for c in "${COMPREPLY[@]}"; do [[ $c == "$1" ]] && return 0; done
  return 1
}
# expect LINE WORD...: every WORD is among the candidates.
expect() {
  local line=$1 w
  shift
  complete_line "$line"
  for w in "$@"; do
    checks=$((checks + 1))
    if ! offers "$w"; then
      echo "test-completion: FAIL: '$line<TAB>' does not offer '$w' (got: ${COMPREPLY[*]})"
      failures=$((failures + 1))
    fi
  done
}
# expect_none LINE WORD...: no WORD is among the candidates.
expect_none() {
  local line=$1 w
  shift
  complete_line "$line"
  for w in "$@"; do
    checks=$((checks + 1))
    if offers "$w"; then
      echo "test-completion: FAIL: '$line<TAB>' offers '$w' (got: ${COMPREPLY[*]})"
      failures=$((failures + 1))
    fi
  done
}
# expect_empty LINE: no candidate.
expect_empty() {
  complete_line "$1"
  checks=$((checks + 1))
  if [[ ${#COMPREPLY[@]} -ne 0 ]]; then
    echo "test-completion: FAIL: '$1<TAB>' should offer nothing (got: ${COMPREPLY[*]})"
    failures=$((failures + 1))
  fi
}
# expect_only LINE WORD: WORD is the one candidate.
expect_only() {
  complete_line "$1"
  checks=$((checks + 1))
  if [[ ${#COMPREPLY[@]} -ne 1 || ${COMPREPLY[0]} != "$2" ]]; then
    echo "test-completion: FAIL: '$1<TAB>' should give only '$2' (got: ${COMPREPLY[*]})"
    failures=$((failures + 1))
  fi
}

# Every subcommand of `gauth help`, and nothing that is not one.
mapfile -t subs < <(gauth help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\).*/\1/p')
[[ ${#subs[@]} -ge 10 ]] || { echo "test-completion: gauth help lists ${#subs[@]} commands"; exit 1; }
expect "gauth " "${subs[@]}"
expect_none "gauth " usage commands options --endpoint
expect_only "gauth print-a" print-access-token
expect_only "gauth veri" verify
expect "gauth v" verify version

# Options per subcommand, from its --help.
expect "gauth verify --" --audience= --issuer= --jwks= --alg= --leeway= --now= --help
expect_none "gauth verify --" --scopes= --credentials=
expect "gauth print-access-token --" --scopes= --credentials= --impersonate-service-account=
expect_only "gauth print-identity-token --inc" --include-email
expect_only "gauth print-access-token --cred" --credentials=

# Values: files, choices, emails from the credentials file.
mkdir "$tmp/creds"
cat > "$tmp/creds/sa.json" << 'JSON'
{"type": "service_account", "project_id": "p",
 "client_email": "runner@p.iam.gserviceaccount.com", "private_key": "not used"}
JSON
touch "$tmp/creds/other.txt"
cd "$tmp/creds" || exit 1
expect "gauth print-access-token --credentials=" sa.json other.txt
expect_only "gauth print-access-token --credentials=s" sa.json
expect_only "gauth print-access-token --credentials s" sa.json
expect_only "gauth test-permissions --format=j" json
expect "gauth test-permissions --format=" text json
expect_only "gauth print-access-token --credentials=sa.json --impersonate-service-account=" \
  runner@p.iam.gserviceaccount.com
expect_only "gauth print-access-token --credentials=sa.json --impersonate-service-account=a@x,r" \
  "a@x,runner@p.iam.gserviceaccount.com"
GOOGLE_APPLICATION_CREDENTIALS=$tmp/creds/sa.json \
  expect_only "gauth invoke https://x.example/ --oidc --service-account=" runner@p.iam.gserviceaccount.com
# No credentials file: no email is made up.
expect_empty "gauth print-access-token --impersonate-service-account="
# A file that is not JSON gives nothing, and no error.
expect_empty "gauth print-access-token --credentials=other.txt --impersonate-service-account="
# An option with an optional value: both spellings.
expect "gauth invoke https://x.example/ --oi" --oidc --oidc=
# A non-option argument after a subcommand: files.
expect "gauth verify " sa.json

# A gauth with a subcommand this file has never heard of, and a subcommand
# with words of its own: both come from the help texts alone.
# (The link to the real program goes first: writing through it would
# overwrite the program.)
rm -f "$tmp/bin/gauth"
cat > "$tmp/bin/gauth" << 'FAKE'
#!/bin/sh
case "$1 $2" in
  "help "*) printf 'usage: gauth COMMAND\n\ncommands:\n  verify [TOKEN]   verify\n  metadata-server  serve\n  metadata         read\n\nmore\n' ;;
  "metadata-server --help") echo "usage: gauth metadata-server [--listen=HOST:PORT] [--config=FILE]" ;;
  "metadata --help") printf 'usage: gauth metadata attribute NAME [--format=text|json]\n       gauth metadata watch PATH\n       gauth metadata PATH\n' ;;
esac
FAKE
chmod +x "$tmp/bin/gauth"
unset "${!_gauth_help_cache_@}"
expect "gauth " verify metadata-server metadata
expect_none "gauth " more
expect "gauth metadata-server --" --listen= --config=
expect "gauth metadata " attribute watch
expect_none "gauth metadata " PATH
expect_only "gauth metadata attribute --format=t" text
expect "gauth metadata attribute " sa.json

if [[ $failures -ne 0 ]]; then
  echo "test-completion: $failures of $checks checks failed"
  exit 1
fi
echo "test-completion: ok: $checks checks (${#subs[@]} subcommands from gauth help)"
