#!/bin/sh
# The man pages made by tools/man/gen-man.py are whole: gauth(1),
# gauth-emulator(1) and libgauth(3) exist, every function of lib/exports.txt
# has a page of its own or a .so link to its group's page, every link points
# to a page, and every page renders without a warning, through groff
# (-ww: all warnings), laid out for an 80-column terminal as man does.
# Usage: check-man.sh MAN_DIR EXPORTS_TXT
set -eu
dir=$1 exports=$2
status=0
fail() { echo "check-man: $*"; status=1; }

for p in man1/gauth.1 man1/gauth-emulator.1 man3/libgauth.3; do
  [ -s "$dir/$p" ] || fail "$p is missing"
done
n=0
for sym in $(grep -E '^gauth_[a-z0-9_]+$' "$exports"); do
  n=$((n + 1))
  [ -s "$dir/man3/$sym.3" ] || fail "$sym (lib/exports.txt) has no page: man3/$sym.3"
done
pages=0 links=0
: > "${TMPDIR:-/tmp}/check-man.$$"
list=${TMPDIR:-/tmp}/check-man.$$
trap 'rm -f "$list"' EXIT
for f in "$dir"/man1/*.1 "$dir"/man3/*.3; do
  [ -e "$f" ] || continue
  if head -n 1 "$f" | grep -q '^\.so '; then
    links=$((links + 1))
    target=$(sed -n '1s/^\.so //p' "$f")
    [ -s "$dir/$target" ] || fail "$f links to $target, which is missing"
    continue
  fi
  pages=$((pages + 1))
  echo "$f" >> "$list"
done
# All pages in one groff run (its warnings name the file), every warning on
# (-ww), tbl first (-t), on a UTF-8 terminal 80 columns wide as man-db lays
# it out (-rLL=78n), and once more as PostScript (the default device).
# shellcheck disable=SC2046
out=$(LC_ALL=C.UTF-8 groff -man -t -ww -z -Tutf8 -rLL=78n -rLT=78n $(cat "$list") 2>&1) ||
  fail "groff failed"
[ -z "$out" ] || fail "groff -Tutf8 warns: $out"
# shellcheck disable=SC2046
out=$(groff -man -t -ww -z $(cat "$list") 2>&1) || fail "groff failed"
[ -z "$out" ] || fail "groff warns: $out"
[ "$pages" -gt 3 ] || fail "only $pages pages in $dir"
[ "$status" -eq 0 ] || exit 1
echo "check-man: ok: $pages pages and $links links; each of the $n exported functions has one; no warning"
