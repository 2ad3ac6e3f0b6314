#!/bin/sh
# debian/libgauth*.symbols says what lib/exports.txt says: the same symbols,
# the SONAME and package name that CMakeLists.txt's version gives, and
# nothing else. Fix a difference with tools/deb/gen-symbols.sh.
# Usage: tools/deb/check-symbols.sh [SOURCE_DIR]
set -eu
src=${1:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/debian" "$tmp/debian"
mkdir -p "$tmp/lib"
cp "$src/lib/exports.txt" "$tmp/lib/"
cp "$src/CMakeLists.txt" "$tmp/"
want=$(sh "$src/tools/deb/gen-symbols.sh" "$tmp")
name=$(basename "$want")
if [ ! -f "$src/debian/$name" ]; then
  echo "check-symbols: debian/$name is missing (the SONAME's package);" \
       "run tools/deb/gen-symbols.sh"
  exit 1
fi
if ! diff -u "$src/debian/$name" "$want" > "$tmp/diff"; then
  cat "$tmp/diff"
  echo "check-symbols: debian/$name and lib/exports.txt differ;" \
       "run tools/deb/gen-symbols.sh and commit the result"
  exit 1
fi
n=$(grep -c '@Base' "$want")
echo "check-symbols: ok: debian/$name lists the $n symbols of lib/exports.txt"
