#!/usr/bin/env bash
# make deb-check: the packages made by `make deb`, installed with apt into a
# clean Debian 12 root (debootstrap --variant=minbase, as
# tests/scripts/fresh-debian.sh makes it), and used there as a Debian user
# would: the README's consumer program (its app.c and CMakeLists.txt, taken
# from README.md) built with pkg-config and with CMake's find_package against
# libgauth-dev, run against gauth-emulator from gauth-tools as the README
# says; `gauth version`; `man gauth`, `man gauth-emulator`, `man libgauth`,
# `man gauth_verifier_verify` and a .so-linked page; the bash completion of
# `gauth <TAB>` loaded by bash-completion from where the package put it.
# Prints a short report. Not part of `make test` (it downloads packages).
#
# Usage: deb-check.sh [OUT_DIR]   (default build-deb, where `make deb` put
#   debs/; as root). The clean root is cached as OUT_DIR/root.tar; an existing
#   debootstrap tarball can be named with ROOT_TAR=FILE (fresh-debian.sh's
#   build-fresh-debian/root.tar is used when it exists).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$src/build-deb}
out=$(cd "$out" && pwd)
root=$out/check-root
log=$out/deb-check.log
[ "$(id -u)" -eq 0 ] || { echo "deb-check: run as root (debootstrap, chroot)"; exit 1; }
ls "$out"/debs/*.deb > /dev/null 2>&1 || { echo "deb-check: no .deb in $out/debs: run make deb first"; exit 1; }
command -v debootstrap > /dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2> /dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}

cleanup() {
  for m in dev/pts dev proc sys; do umount "$root/$m" 2> /dev/null || true; done
}
trap cleanup EXIT
cleanup
rm -rf "$root"
mkdir -p "$root"

tar_file=${ROOT_TAR:-}
[ -z "$tar_file" ] && [ -f "$out/root.tar" ] && tar_file=$out/root.tar
[ -z "$tar_file" ] && [ -f "$src/build-fresh-debian/root.tar" ] && tar_file=$src/build-fresh-debian/root.tar
if [ -n "$tar_file" ]; then
  echo "deb-check: a clean Debian 12 root from $tar_file"
  tar -C "$root" -xf "$tar_file"
else
  echo "deb-check: debootstrap --variant=minbase bookworm from $mirror (cached in $out/root.tar)"
  debootstrap --variant=minbase bookworm "$root" "$mirror" > "$out/debootstrap.log" 2>&1 || {
    tail -n 20 "$out/debootstrap.log"
    echo "deb-check: FAIL: debootstrap could not make a Debian 12 root from $mirror"
    exit 1
  }
  tar -C "$root" -cf "$out/root.tar" .
fi
grep -q '^12\.' "$root/etc/debian_version" || { echo "deb-check: the root is not Debian 12"; exit 1; }
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"

# What a user of the -dev package brings: a compiler, make, pkg-config,
# CMake; man-db and bash-completion to read the pages and complete.
mkdir -p "$root/tmp/debs" "$root/root/app"
for d in "$out"/debs/*.deb; do
  case $d in *-dbgsym_*) ;; *) cp "$d" "$root/tmp/debs/" ;; esac
done
# The consumer program and its CMakeLists.txt, from the README (one source).
awk '/^## Using it/ {u = 1} u && /^```c$/ {c = 1; next} c && /^```$/ {exit} c' \
  "$src/README.md" > "$root/root/app/app.c"
awk '/^### Build it with CMake/ {u = 1} u && /^```cmake$/ {c = 1; next} c && /^```$/ {exit} c' \
  "$src/README.md" > "$root/root/app/CMakeLists.txt"
awk '/^### Build it with pkg-config/ {u = 1} u && /^```sh$/ {c = 1; next} c && /^```$/ {exit} c' \
  "$src/README.md" | head -n 1 | sed 's/ *#.*//' > "$root/root/app/build-pkg-config.sh"
awk '/^### Run it against the emulator/ {u = 1} u && /^```sh$/ {c = 1; next} c && /^```$/ {exit} c' \
  "$src/README.md" > "$root/root/app/run-emulator.sh"
for f in app.c CMakeLists.txt build-pkg-config.sh run-emulator.sh; do
  [ -s "$root/root/app/$f" ] || { echo "deb-check: README.md has no $f block any more"; exit 1; }
done

cat > "$root/root/check.sh" << 'CHECK'
#!/bin/bash
# Runs inside the clean root. One line per check, "ok" or "FAIL".
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
fails=0
ok() { echo "deb-check: ok: $*"; }
bad() { echo "deb-check: FAIL: $*"; fails=$((fails + 1)); }

apt-get update -qq > /tmp/apt.log 2>&1
if apt-get install -y -qq --no-install-recommends /tmp/debs/*.deb \
     gcc libc6-dev make pkgconf cmake man-db bash-completion >> /tmp/apt.log 2>&1; then
  ok "apt installed $(cd /tmp/debs && ls *.deb | tr '\n' ' ')with their dependencies"
else
  tail -n 20 /tmp/apt.log; bad "apt-get install of the packages"; exit 1
fi
dpkg -s libgauth0.1 libgauth-dev gauth-tools 2> /dev/null | sed -n 's/^Package: /  installed: /p'

cd /root/app
if sh build-pkg-config.sh > /tmp/pc.log 2>&1 && [ -x app ]; then
  mv app app-pkg-config
  ok "README's app.c built with pkg-config: $(cat build-pkg-config.sh)"
else
  cat /tmp/pc.log; bad "README's app.c with pkg-config"
fi
if cmake -S . -B build > /tmp/cmake.log 2>&1 && cmake --build build >> /tmp/cmake.log 2>&1; then
  ok "README's app.c built with CMake find_package(gauth 0.1 CONFIG) ($(sed -n 's/.*Found gauth.*//p' /tmp/cmake.log)build/app)"
else
  tail -n 20 /tmp/cmake.log; bad "README's app.c with CMake"
fi
for prog in ./app-pkg-config ./build/app; do
  [ -x "$prog" ] || continue
  # (ldd's output in a file: grep -q leaving early would fail the pipe.)
  ldd "$prog" > /tmp/ldd.txt 2>&1
  grep -qE 'libgauth\.so\.0\.1 => (/usr)?/lib/' /tmp/ldd.txt ||
    { cat /tmp/ldd.txt; bad "$prog does not load the system's libgauth.so.0.1"; }
  cp "$prog" ./app
  out=$(timeout 60 bash run-emulator.sh 2> /tmp/emu.err)
  if printf '%s\n' "$out" | grep -qE '^Authorization: Bearer <[0-9]+ bytes>$'; then
    ok "$prog against gauth-emulator (README's commands): $out"
  else
    echo "$out"; tail -n 5 /tmp/emu.err; bad "$prog against gauth-emulator"
  fi
done

if v=$(gauth version 2>&1) && printf '%s\n' "$v" | grep -q '^gauth [0-9.]* (libgauth [0-9.]*)$'; then
  ok "gauth version: $v"
else
  bad "gauth version: $v"
fi

export MANPAGER=cat MANWIDTH=80
checkman() { # checkman ARGS... -- TEXT: man ARGS shows a page containing TEXT
  local args=() text
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  text=$2
  local page
  page=$(man "${args[@]}" 2> /tmp/man.err)
  if printf '%s\n' "$page" | grep -qF -- "$text"; then
    ok "man ${args[*]}: $(printf '%s\n' "$page" | sed -n '/^NAME/{n;p;q}' | sed 's/^ *//') ($(printf '%s\n' "$page" | wc -l) lines)"
  else
    cat /tmp/man.err; bad "man ${args[*]} (no '$text')"
  fi
}
checkman gauth -- "gauth verify"
checkman gauth-emulator -- "CONTROL API"
checkman 3 libgauth -- "THREAD SAFETY"
checkman gauth_verifier_verify -- "gauth_status gauth_verifier_verify("
checkman gauth_verifier_free -- "void gauth_verifier_free("
n=$(ls /usr/share/man/man3/gauth_*.3.gz | wc -l)
ok "$n pages in /usr/share/man/man3 for gauth_* functions"

# bash-completion finds gauth's completion where the package put it, loaded
# on demand as at the first TAB, then completes `gauth <TAB>`.
comp=$(bash -c '
  source /usr/share/bash-completion/bash_completion
  __load_completion gauth || exit 3
  complete -p gauth
  COMP_LINE="gauth "; COMP_POINT=6; COMP_WORDS=(gauth ""); COMP_CWORD=1
  spec=$(complete -p gauth); fn=${spec#*-F }; fn=${fn%% *}
  "$fn" gauth "" gauth
  echo "gauth <TAB>: ${COMPREPLY[*]}"
  COMP_LINE="gauth print-access-token --cr"; COMP_POINT=${#COMP_LINE}
  COMP_WORDS=(gauth print-access-token --cr); COMP_CWORD=2
  "$fn" gauth --cr print-access-token
  echo "gauth print-access-token --cr<TAB>: ${COMPREPLY[*]}"' 2>&1)
echo "$comp" | sed 's/^/  /'
if echo "$comp" | grep -q '^complete -F' &&
   echo "$comp" | grep -q '^gauth <TAB>:.* verify .*version' &&
   echo "$comp" | grep -q -- '--cr<TAB>: --credentials=$'; then
  ok "bash completion from $(pkg-config --variable=completionsdir bash-completion)/gauth"
else
  bad "bash completion"
fi
[ "$fails" -eq 0 ] && echo "deb-check: all checks passed" || echo "deb-check: $fails checks failed"
exit "$fails"
CHECK

t0=$(date +%s)
set +e
chroot "$root" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  TERM=dumb bash /root/check.sh 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "deb-check: FAIL: $rc checks failed in the clean Debian 12 root (log: $log)"
  exit 1
fi
echo "deb-check: ok: the packages install and work in a clean Debian 12 root, in $(($(date +%s) - t0)) s"
