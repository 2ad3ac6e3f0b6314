#!/usr/bin/env bash
# What a newcomer meets: the commit under test (HEAD) cloned into a fresh
# folder, with nothing built, and README.md followed there as written.
#
#  1. `make demo` in the clone, with the clone's own build folder: it must
#     exit 0 and print every line of tests/scripts/demo-story.txt, in order.
#  2. Every fenced code block of README.md is run or checked (a block this
#     script does not know fails it, so a new snippet cannot go unchecked):
#     - Quick start: exactly the two commands `make demo` and `make test`;
#       as another user than root, with a package missing, each prints the
#       exact apt-get line (and apt-get accepts it) and builds nothing;
#     - Building with CMake: run as written in the clone, installed with
#       DESTDIR into a folder of this check instead of the machine's root;
#     - Using it: the C program, built by every command of the pkg-config
#       block and by the CMake block, each binary run by the emulator block
#       (the installed gauth-emulator) and printing the Bearer line;
#     - Install from the Debian packages: checked, not run (make deb-check
#       does that, as root): `make deb` exists and writes the folder the
#       apt-get line names, and each man page named is installed by the
#       CMake block and opened by tools/deb/deb-check.sh.
# Usage: check-newcomer.sh WORK_DIR     (WORK_DIR is emptied first)
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:?usage: check-newcomer.sh WORK_DIR}
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
clone=$work/clone
root=$work/root             # DESTDIR of the README's install step
fails=0
started=$(date +%s)

fail() { echo "check-newcomer: FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "check-newcomer: ok: $* ($(( $(date +%s) - started )) s)"; }
# Runs a shell block with set -e and a time limit, in a process group of its
# own that is stopped afterwards: the emulator block starts a server in the
# background, and a block that fails half-way must not leave it running.
run_block() { # run_block SECONDS FILE
  local pgid_file rc
  pgid_file=$(mktemp)
  timeout --kill-after=5 "$1" setsid --wait sh -c 'echo $$ > "$0"; exec sh -e "$1"' "$pgid_file" "$2"
  rc=$?
  [ -s "$pgid_file" ] && kill -- "-$(cat "$pgid_file")" 2> /dev/null
  rm -f "$pgid_file"
  return "$rc"
}

commit=$(git -C "$src" rev-parse HEAD) || { echo "check-newcomer: $src is not a git checkout"; exit 1; }
if ! git -C "$src" diff --quiet HEAD -- 2> /dev/null; then
  echo "check-newcomer: note: uncommitted changes in $src are not checked here (the clone is of $commit)"
fi
if ! git clone -q --no-hardlinks "$src" "$clone" ||
   ! git -C "$clone" checkout -q --detach "$commit"; then
  echo "check-newcomer: FAIL: cannot clone $src at $commit"
  exit 1
fi
ok "cloned $commit into $clone"

# ---- 1. make demo ----------------------------------------------------------------
# Nothing of the caller's make or build settings leaks in: the defaults, as a
# newcomer gets them.
t0=$(date +%s)
(cd "$clone" && env -u BUILD -u JOBS -u CMAKE_FLAGS -u MAKEFLAGS -u MFLAGS \
   timeout --kill-after=5 900 make demo) > "$work/demo.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
  tail -n 30 "$work/demo.log"
  fail "make demo in a fresh clone exited with $rc (log: $work/demo.log)"
else
  # Every line of the story, in order.
  missing=$(sh "$src/tests/scripts/demo-story.sh" "$work/demo.log")
  if [ -n "$missing" ]; then
    fail "make demo did not print, in order, a line matching: $missing (log: $work/demo.log)"
  else
    ok "make demo in a fresh clone, the whole story in $(( $(date +%s) - t0 )) s"
  fi
fi

# ---- 2. README.md's code blocks ---------------------------------------------------
# Each block goes to $blocks/N.LANG, listed in $blocks/index as
# "N<TAB>LANG<TAB>the heading (## or ###) it stands under".
blocks=$work/readme-blocks
mkdir -p "$blocks"
awk -v dir="$blocks" '
  /^##+ / { heading = $0; sub(/^#+ /, "", heading) }
  /^```/ {
    if (!inside) {
      inside = 1; n++; lang = substr($0, 4)
      if (lang == "") lang = "text"
      file = dir "/" n "." lang
      printf "" > file
      printf "%d\t%s\t%s\n", n, lang, heading > (dir "/index")
    } else {
      inside = 0; close(file)
    }
    next
  }
  inside { print > file }' "$clone/README.md"

block_of() { # block_of LANG HEADING: the one block there, or empty
  awk -F '\t' -v l="$1" -v h="$2" '$2 == l && $3 == h { print $1 }' "$blocks/index" |
    { read -r n && [ -n "$n" ] && echo "$blocks/$n.$1"; }
}
# Commands of a shell block, continuation lines joined, comments and blank
# lines dropped: one command a line.
commands_of() {
  sed -e 's/[[:space:]]*#.*$//' "$1" | awk '
    /\\$/ { sub(/\\$/, ""); cmd = cmd $0; next }
    { cmd = cmd $0; if (cmd ~ /[^[:space:]]/) print cmd; cmd = "" }'
}

checked=()
quick=$(block_of sh "Quick start")
build_block=$(block_of sh "Building with CMake")
app_c=$(block_of c "Using it")
pc_block=$(block_of sh "Build it with pkg-config")
cmake_lists=$(block_of cmake "Build it with CMake")
cmake_build=$(block_of sh "Build it with CMake")
emu_block=$(block_of sh "Run it against the emulator")
deb_block=$(block_of sh "Install from the Debian packages")
for b in "$quick" "$build_block" "$app_c" "$pc_block" "$cmake_lists" "$cmake_build" "$emu_block" "$deb_block"; do
  [ -n "$b" ] && checked+=("$(basename "$b")")
done
while IFS=$'\t' read -r n lang heading; do
  case " ${checked[*]} " in
    *" $n.$lang "*) ;;
    *) fail "README.md block $n ($lang, under '$heading') is not checked by $0" ;;
  esac
done < "$blocks/index"
[ ${#checked[@]} -eq 8 ] ||
  fail "README.md: expected the blocks Quick start (sh), Install from the Debian packages (sh), Building with CMake (sh), Using it (c), Build it with pkg-config (sh), Build it with CMake (cmake, sh), Run it against the emulator (sh); found ${checked[*]}"

# -- Quick start: exactly `make demo` and `make test`.
if [ -n "$quick" ]; then
  got=$(commands_of "$quick" | sed 's/[[:space:]]*$//' | tr '\n' ';')
  if [ "$got" = "make demo;make test;" ]; then
    ok "Quick start is the two commands make demo, make test"
  else
    fail "Quick start block is '$got', want exactly 'make demo' and 'make test'"
  fi
fi

# -- As another user than root, missing packages give the exact apt-get line.
# dpkg-query is what cmake/install-deps.sh asks; a stand-in first on PATH
# reports every package as not installed. The line printed must be one that
# apt-get accepts (checked as root, simulated), and nothing may be built.
if [ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null; then
  shim=$work/shim
  mkdir -p "$shim"
  printf '%s\n' '#!/bin/sh' \
    '# A stand-in for dpkg-query -W: every package is missing.' \
    'for a; do pkg=$a; done' \
    'echo "dpkg-query: no packages found matching $pkg" >&2' \
    'exit 1' > "$shim/dpkg-query"
  chmod 755 "$shim/dpkg-query"
  chmod -R a+rX "$work"
  for target in demo test; do
    out=$(cd "$clone" && env PATH="$shim:$PATH" HOME=/nonexistent \
      setpriv --reuid=nobody --regid=nogroup --clear-groups make "$target" 2>&1)
    rc=$?
    line=$(printf '%s\n' "$out" |
      grep -xE '  apt-get update && apt-get install -y --no-install-recommends( [a-z0-9][a-z0-9.+-]*)+')
    pkgs=${line#*--no-install-recommends }
    if [ "$rc" -eq 0 ]; then
      fail "make $target as nobody with every package missing exited 0"
    elif [ -z "$line" ]; then
      printf '%s\n' "$out" | head -n 10
      fail "make $target as nobody with packages missing printed no apt-get line"
    elif grep -q -e '^cmake ' -e '==> ' <<< "$out"; then
      fail "make $target as nobody went on past the missing packages"
    elif ! apt-get install -s -y --no-install-recommends $pkgs > "$work/apt-sim-$target.log" 2>&1; then
      tail -n 5 "$work/apt-sim-$target.log"
      fail "make $target as nobody printed an apt-get line that apt-get refuses: ${line#  }"
    else
      ok "make $target as nobody, packages missing: prints an apt-get line that apt-get accepts ($(echo $pkgs | wc -w) packages)"
    fi
  done
else
  echo "check-newcomer: note: not root (or no setpriv): the non-root apt-get line is not checked"
fi

# -- Building with CMake, as written; the install goes under DESTDIR.
prefix_env=()
if [ -n "$build_block" ]; then
  if (cd "$clone" && export DESTDIR=$root && run_block 900 "$build_block") > "$work/build-block.log" 2>&1; then
    ok "README 'Building with CMake' as written (installed under DESTDIR=$root)"
  else
    tail -n 20 "$work/build-block.log"
    fail "README 'Building with CMake' block failed (log: $work/build-block.log)"
  fi
fi

# -- Install from the Debian packages: building the packages and installing
# them into a clean Debian root is `make deb-check` (root, debootstrap,
# minutes), not run here. Checked here: the block is `make deb`, an apt-get
# install of the folder build-deb.sh writes, and man pages; the make target
# exists; its output folder is that one; every page it names was installed
# by the CMake block above and is one deb-check.sh opens with man.
if [ -n "$deb_block" ]; then
  deb_ok=1
  mapfile -t deb_cmds < <(commands_of "$deb_block" | sed 's/[[:space:]]*$//')
  deb_dir=$(make -C "$clone" -s -n -p deb 2> /dev/null | sed -n 's/^DEB_BUILD *[:?]*= *//p' | head -n 1)
  if [ "${#deb_cmds[@]}" -ne 3 ] || [ "${deb_cmds[0]}" != "make deb" ]; then
    deb_ok=0; fail "README 'Install from the Debian packages': want 'make deb', 'apt-get install ...', 'man ...'; got ${deb_cmds[*]}"
  elif ! make -C "$clone" -n deb > /dev/null 2>&1; then
    deb_ok=0; fail "README 'Install from the Debian packages': make has no target deb"
  elif [ "${deb_cmds[1]}" != "apt-get install ./$deb_dir/debs/*.deb" ] ||
       ! grep -q '"\$out"/debs/\*\.changes' "$clone/tools/deb/build-deb.sh"; then
    deb_ok=0; fail "README 'Install from the Debian packages': '${deb_cmds[1]}' is not where make deb writes (DEB_BUILD=$deb_dir, tools/deb/build-deb.sh: OUT/debs)"
  else
    pages=$(printf '%s\n' "${deb_cmds[2]}" | tr ';' '\n' | sed -n 's/^ *man  *\([A-Za-z0-9_.-]*\) *$/\1/p')
    [ -n "$pages" ] || { deb_ok=0; fail "README 'Install from the Debian packages': no 'man PAGE' in '${deb_cmds[2]}'"; }
    for page in $pages; do
      if [ -z "$(find "$root" -path '*/share/man/*' -name "$page.[0-9]*" 2> /dev/null | head -n 1)" ]; then
        deb_ok=0; fail "README 'Install from the Debian packages': man $page: no such page installed by the CMake block under $root"
      elif ! grep -qE "^checkman( [0-9])? $page " "$clone/tools/deb/deb-check.sh"; then
        deb_ok=0; fail "README 'Install from the Debian packages': man $page is not checked by tools/deb/deb-check.sh"
      fi
    done
  fi
  [ "$deb_ok" -eq 1 ] &&
    ok "README 'Install from the Debian packages': make deb exists, writes $deb_dir/debs, and man $(echo $pages | sed 's/ /, man /g') are installed and opened by make deb-check (which installs the packages; not run here)"
fi

# What an install into the machine's prefix gives through the loader's and
# the tools' default search paths, given here through their variables.
libdir=$(find "$root" -name libgauth.so -printf '%h\n' 2> /dev/null | head -n 1)
if [ -z "$libdir" ]; then
  fail "the README's install step installed no libgauth.so under $root"
  libdir=$root/usr/local/lib
fi
prefix=$(dirname "$libdir")
prefix_env=(PATH="$prefix/bin:$PATH" LD_LIBRARY_PATH="$libdir"
  PKG_CONFIG_PATH="$libdir/pkgconfig" CMAKE_PREFIX_PATH="$prefix")

# -- Using it: build the program each way, run each through the emulator block.
app_dir=$work/app
mkdir -p "$app_dir"
[ -n "$app_c" ] && cp "$app_c" "$app_dir/app.c"
run_app() { # run_app DIR WHAT: runs the emulator block in DIR, checks the Bearer line
  local dir=$1 what=$2 log
  log=$work/run-$(echo "$what" | tr -c 'a-z0-9\n' '-').log
  (cd "$dir" && export "${prefix_env[@]}" && run_block 60 "$emu_block") > "$log" 2>&1
  local rc=$?
  if [ "$rc" -eq 0 ] && grep -qE '^Authorization: Bearer <[1-9][0-9]* bytes>$' "$log"; then
    ok "$what: $(grep -E '^Authorization: Bearer' "$log")"
  else
    cat "$log"
    fail "$what: the emulator block exited $rc or printed no 'Authorization: Bearer <N bytes>' line"
  fi
}
if [ -n "$app_c" ] && [ -n "$pc_block" ] && [ -n "$emu_block" ]; then
  i=0
  while IFS= read -r cmd; do
    i=$((i + 1))
    rm -f "$app_dir/app"
    if (cd "$app_dir" && export "${prefix_env[@]}" && sh -ec "$cmd") > "$work/pc-$i.log" 2>&1 &&
       [ -x "$app_dir/app" ]; then
      run_app "$app_dir" "pkg-config build $i ($cmd)"
    else
      cat "$work/pc-$i.log"
      fail "pkg-config build $i failed: $cmd"
    fi
  done < <(commands_of "$pc_block")
  [ "$i" -ge 2 ] || fail "the pkg-config block has $i commands, expected a shared and a static build"
fi
if [ -n "$app_c" ] && [ -n "$cmake_lists" ] && [ -n "$cmake_build" ] && [ -n "$emu_block" ]; then
  cmake_dir=$work/app-cmake
  mkdir -p "$cmake_dir"
  cp "$app_c" "$cmake_dir/app.c"
  cp "$cmake_lists" "$cmake_dir/CMakeLists.txt"
  if (cd "$cmake_dir" && export "${prefix_env[@]}" && run_block 300 "$cmake_build") > "$work/cmake-app.log" 2>&1; then
    exe=$(find "$cmake_dir" -type f -name app -perm -u+x | head -n 1)
    if [ -n "$exe" ]; then
      run_app "$(dirname "$exe")" "find_package build"
    else
      fail "the CMake block built no program named app"
    fi
  else
    cat "$work/cmake-app.log"
    fail "the CMake block of 'Using it' failed"
  fi
fi

echo "check-newcomer: $fails failed, in $(( $(date +%s) - started )) s"
[ "$fails" -eq 0 ]
