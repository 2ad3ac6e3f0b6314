#!/bin/sh
# Every tracked C source and header is formatted as .clang-format says.
# Files under tests/abi/v1-*/ are frozen copies of old headers and are left
# as they were. Usage: check-format.sh [SOURCE_DIR]
set -eu
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$src"
fmt=$(command -v clang-format-14 || command -v clang-format || true)
[ -n "$fmt" ] || { echo "check-format: clang-format is not installed"; exit 1; }
files=$(git ls-files '*.c' '*.h' '*.cpp' | grep -v '^tests/abi/v1-' || true)
[ -n "$files" ] || { echo "check-format: no files"; exit 1; }
bad=
for f in $files; do
  "$fmt" --style=file "$f" | cmp -s - "$f" || bad="$bad $f"
done
if [ -n "$bad" ]; then
  echo "check-format: not formatted as .clang-format says:"
  for f in $bad; do echo "  $f"; done
  echo "check-format: run: clang-format -i$bad"
  exit 1
fi
echo "check-format: ok: $(echo "$files" | wc -w) files as .clang-format says ($("$fmt" --version | sed 's/.*version //'))"
