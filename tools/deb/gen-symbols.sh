#!/bin/sh
# Writes debian/libgauth0.1.symbols from lib/exports.txt, the pinned export
# list: one line per symbol, with the version that first exported it. A
# symbol already in the symbols file keeps its version; a new one gets the
# project's version (CMakeLists.txt). The package name and the SONAME follow
# the SONAME rule of lib/CMakeLists.txt (docs/packaging.md).
# Usage: tools/deb/gen-symbols.sh [SOURCE_DIR]   (writes the file; prints its name)
set -eu
src=${1:-.}
version=$(sed -n 's/^project(gauth VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || { echo "gen-symbols: no VERSION in $src/CMakeLists.txt" >&2; exit 1; }
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
if [ "$major" = 0 ]; then soversion=$major.$minor; else soversion=$major; fi
package=libgauth$soversion
out=$src/debian/$package.symbols
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
  echo "libgauth.so.$soversion $package #MINVER#"
  echo "* Build-Depends-Package: libgauth-dev"
  grep -E '^gauth_[a-z0-9_]+$' "$src/lib/exports.txt" | while read -r sym; do
    old=""
    [ -f "$out" ] && old=$(sed -n "s/^ $sym@Base \(.*\)$/\1/p" "$out")
    echo " $sym@Base ${old:-$version}"
  done
} > "$tmp"
# Other symbols files (an older SONAME's package) are stale.
for f in "$src"/debian/libgauth*.symbols; do
  [ -e "$f" ] && [ "$f" != "$out" ] && rm -f "$f"
done
cp "$tmp" "$out"
echo "$out"
