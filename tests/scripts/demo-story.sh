#!/bin/sh
# Checks that a `make demo` log tells the whole story: every line of
# tests/scripts/demo-story.txt, in order. Prints the first pattern no line
# matched and fails, or prints nothing. Usage: demo-story.sh LOG
set -eu
story=$(dirname "$0")/demo-story.txt
awk -v story="$story" '
  BEGIN {
    while ((getline line < story) > 0)
      if (line !~ /^#/ && line != "") want[n++] = line
  }
  i < n && $0 ~ want[i] { i++ }
  END { if (i < n) { print want[i]; exit 1 } }' "$1"
