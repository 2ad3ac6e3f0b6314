#!/bin/sh
# The exported symbols are the pinned list lib/exports.txt, no more, no less,
# and so are the GAUTH_API functions the public headers declare.
# Usage: check-exports.sh LIBGAUTH_SO SOURCE_DIR BUILD_INCLUDE_DIR CC
set -eu
so=$1 src=$2 binc=$3 cc=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

grep -E '^gauth_[a-z0-9_]+$' "$src/lib/exports.txt" > "$tmp/pinned"
LC_ALL=C sort -c "$tmp/pinned" 2> /dev/null ||
  { echo "check-exports: lib/exports.txt is not sorted (LC_ALL=C sort)"; status=1; }

nm -D --defined-only "$so" | awk '{print $3}' | LC_ALL=C sort > "$tmp/exported"
[ -s "$tmp/exported" ] || { echo "check-exports: $so exports nothing"; exit 1; }

# The declarations, read by the preprocessor (no comment can fool it): every
# GAUTH_API becomes a marker, and the name before the '(' that follows it is
# the function's.
printf '#include <gauth/gauth.h>\n' > "$tmp/all.c"
"$cc" -E -P -DGAUTH_EXPORT_H -DGAUTH_API=GAUTH__MARK_API -DGAUTH_NODISCARD= \
  '-DGAUTH_PRINTF(a,b)=' -DGAUTH_BEGIN_DECLS= -DGAUTH_END_DECLS= \
  -I"$src/include" -I"$binc" "$tmp/all.c" | tr '\n' ' ' |
  grep -oE 'GAUTH__MARK_API[^;(]*\(' | grep -oE 'gauth_[a-z0-9_]+ *\($' |
  tr -d ' (' | LC_ALL=C sort -u > "$tmp/declared"
[ -s "$tmp/declared" ] || { echo "check-exports: found no GAUTH_API declaration"; exit 1; }

report() { # report FILE_A FILE_B WHAT
  d=$(LC_ALL=C comm -23 "$1" "$2")
  if [ -n "$d" ]; then
    echo "check-exports: $3:"
    echo "$d" | sed 's/^/  /'
    status=1
  fi
}
report "$tmp/exported" "$tmp/pinned" "exported by $so but not in lib/exports.txt"
report "$tmp/pinned" "$tmp/exported" "in lib/exports.txt but not exported by $so"
report "$tmp/declared" "$tmp/pinned" "declared GAUTH_API in include/gauth/ but not in lib/exports.txt"
report "$tmp/pinned" "$tmp/declared" "in lib/exports.txt but declared by no public header"
if [ "$status" -ne 0 ]; then
  echo "check-exports: a change to the exported symbols must be deliberate:" \
       "update lib/exports.txt and say so in CHANGELOG.md (docs/abi.md)"
  exit 1
fi
echo "check-exports: ok: $(wc -l < "$tmp/pinned") symbols, exported and declared as pinned"
