#!/bin/sh
# make deb: builds libgauth's Debian packages from a copy of the tree (git
# archive of HEAD, plus the working tree's uncommitted changes to tracked
# files), so that the checkout gets no build files, with
# dpkg-buildpackage -us -uc -b; then lintian on the result.
# The .debs, the .changes and the source package land in OUT_DIR/debs
# (default build-deb/debs).
# Usage: tools/deb/build-deb.sh [OUT_DIR]
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$src/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/src" "$out/debs"
mkdir -p "$out/src/libgauth" "$out/debs"
tree=$out/src/libgauth
# The tracked files as they are in the working tree (committed or not).
git -C "$src" ls-files -z | (cd "$src" && xargs -0 tar -cf - --no-recursion) | tar -C "$tree" -xf -

t0=$(date +%s)
# The source package too (native: a .dsc and a .tar.xz of the clean tree),
# for lintian's checks of debian/ itself.
(cd "$out/src" && dpkg-source -b libgauth) > "$out/source.log" 2>&1 ||
  { cat "$out/source.log"; echo "build-deb: FAIL: dpkg-source -b"; exit 1; }
(cd "$tree" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}" dpkg-buildpackage -us -uc -b) > "$out/build.log" 2>&1 ||
  { tail -n 40 "$out/build.log"; echo "build-deb: FAIL: dpkg-buildpackage (log: $out/build.log)"; exit 1; }
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/src/*.dsc \
  "$out"/src/*.tar.xz "$out/debs/"
changes=$(ls "$out"/debs/*.changes)
dsc=$(ls "$out"/debs/*.dsc)
echo "build-deb: built in $(( $(date +%s) - t0 )) s:"
ls -1 "$out"/debs/*.deb | sed 's|.*/|  |'

# lintian (Debian's), on the source package and on the .changes (so every
# .deb): no error, no warning that debian/*.lintian-overrides does not
# justify; info and pedantic tags shown.
rc=0
lintian --info --display-info --pedantic --show-overrides --fail-on error,warning "$dsc" "$changes" > "$out/lintian.log" 2>&1 || rc=$?
cat "$out/lintian.log"
if [ "$rc" -ne 0 ]; then
  echo "build-deb: FAIL: lintian (exit $rc; log: $out/lintian.log)"
  exit 1
fi
tags=$(grep -cE "^[EWIP]: " "$out/lintian.log" || true)
echo "build-deb: ok: lintian on $(basename "$dsc") and $(basename "$changes"): no error, no warning ($tags info/pedantic tags)"
