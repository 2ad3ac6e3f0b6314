#!/bin/sh
# The man pages made by tools/man/gen-man.py are whole: gauth(1),
# gauth-emulator(1) and libgauth(3) exist, every function of lib/exports.txt
# has a page of its own or a .so link to its group's page, every link points
# to a page, and every page renders without a warning, through groff
# (-ww: all warnings) and through man as lintian runs it.
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
for f in "$dir"/man1/*.1 "$dir"/man3/*.3; do
  [ -e "$f" ] || continue
  if head -n 1 "$f" | grep -q '^\.so '; then
    links=$((links + 1))
    target=$(sed -n '1s/^\.so //p' "$f")
    [ -s "$dir/$target" ] || fail "$f links to $target, which is missing"
    continue
  fi
  pages=$((pages + 1))
  out=$(groff -man -t -ww -z "$f" 2>&1) || fail "$f: groff failed"
  [ -z "$out" ] || fail "$f: groff warns: $out"
  out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 > /dev/null) ||
    fail "$f: man failed"
  [ -z "$out" ] || fail "$f: man warns: $out"
done
[ "$pages" -gt 3 ] || fail "only $pages pages in $dir"
[ "$status" -eq 0 ] || exit 1
echo "check-man: ok: $pages pages and $links links; each of the $n exported functions has one; no warning"
