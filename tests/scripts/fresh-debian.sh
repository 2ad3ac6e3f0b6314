#!/usr/bin/env bash
# The README's first command on a Debian 12 that has never seen this project:
# a minimal Debian 12 root (debootstrap --variant=minbase) with only what the
# README asks for first (git to clone, make to run make), the commit under
# test cloned into it, and `make demo` run there as root. The story must be
# whole (tests/scripts/demo-story.txt). Not part of `make test` (it downloads
# some 200 MB of Debian packages); run by `make fresh-debian`.
#
# Usage: fresh-debian.sh [WORK_DIR]    (default build-fresh-debian; as root)
# The root is kept in WORK_DIR/root.tar between runs: delete it to start over.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$src/build-fresh-debian}
mkdir -p "$work"
work=$(cd "$work" && pwd)
root=$work/root
[ "$(id -u)" -eq 0 ] || { echo "fresh-debian: run as root (debootstrap, chroot)"; exit 1; }
command -v debootstrap > /dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2> /dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}

cleanup() {
  for m in dev/pts dev proc sys; do umount "$root/$m" 2> /dev/null || true; done
}
trap cleanup EXIT

rm -rf "$root"
if [ -f "$work/root.tar" ]; then
  mkdir -p "$root" && tar -C "$root" -xf "$work/root.tar"
else
  debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log"; exit 1; }
  tar -C "$root" -cf "$work/root.tar" .
fi
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"

# What the README asks for before its commands: git and make.
chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git make' \
  > "$work/prereq.log" 2>&1 || { tail -n 20 "$work/prereq.log"; exit 1; }
commit=$(git -C "$src" rev-parse HEAD)
git clone -q --no-hardlinks "$src" "$root/root/libgauth"
git -C "$root/root/libgauth" checkout -q --detach "$commit"

t0=$(date +%s)
set +e
chroot "$root" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  sh -c 'cd /root/libgauth && make demo' > "$work/demo.log" 2>&1
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  tail -n 30 "$work/demo.log"
  echo "fresh-debian: FAIL: make demo exited $rc on a fresh Debian 12 (log: $work/demo.log)"
  exit 1
fi
missing=$(sh "$src/tests/scripts/demo-story.sh" "$work/demo.log" || true)
if [ -n "$missing" ]; then
  echo "fresh-debian: FAIL: the demo did not print a line matching: $missing (log: $work/demo.log)"
  exit 1
fi
echo "fresh-debian: ok: make demo on a fresh Debian 12 ($commit), the whole story, in $(( $(date +%s) - t0 )) s with its package installs"
