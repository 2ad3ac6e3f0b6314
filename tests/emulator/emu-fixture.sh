#!/bin/sh
# CTest fixture "emulator": starts gauth-emulator on a free loopback port
# for the tests that need it, and stops it at the end.
#
#   emu-fixture.sh start EMULATOR DIR   -> DIR/url (base URL), DIR/run_url
#                                          (Cloud Run services' base URL),
#                                          DIR/pid
#   emu-fixture.sh stop DIR             -> SIGTERM; fails unless exit 0
#
# GAUTH_EMULATOR_WRAPPER (e.g. "valgrind --log-file=/tmp/v.%p") prefixes
# the command. The emulator's stdout and stderr go to DIR/stdout and
# DIR/stderr, never to CTest's pipes (CTest would wait for them to close).
set -eu

cmd=$1
case "$cmd" in
  start)
    emu=$2
    dir=$3
    mkdir -p "$dir"
    rm -f "$dir/url" "$dir/run_url" "$dir/pid" "$dir/exit-status" "$dir/stdout" \
      "$dir/stderr"
    # A subshell waits for the emulator to record its exit status: the stop
    # step cannot wait() for a process that is not its child.
    (
      # shellcheck disable=SC2086
      ${GAUTH_EMULATOR_WRAPPER:-} "$emu" --listen=127.0.0.1:0 \
        --key-file="$dir/key.json" >"$dir/stdout" 2>"$dir/stderr" &
      echo $! >"$dir/pid.tmp"
      mv "$dir/pid.tmp" "$dir/pid"
      status=0
      wait $! || status=$?
      echo "$status" >"$dir/exit-status"
    ) </dev/null >/dev/null 2>&1 &
    # The first line, "listening http://127.0.0.1:PORT", comes once the
    # server can take requests (up to 60 s: valgrind is slow to start); the
    # line of GAUTH_EMULATOR_RUN_URL is among those that follow it.
    i=0
    while :; do
      if head -n 1 "$dir/stdout" 2>/dev/null | grep -q "^listening " &&
        grep -q "^export GAUTH_EMULATOR_RUN_URL=" "$dir/stdout"; then
        break
      fi
      if [ -f "$dir/exit-status" ] || [ $i -ge 600 ]; then
        st=$(cat "$dir/exit-status" 2>/dev/null || echo none)
        echo "emulator did not start (exit status: $st)" >&2
        cat "$dir/stderr" >&2 || true
        exit 1
      fi
      i=$((i + 1))
      sleep 0.1
    done
    head -n 1 "$dir/stdout" | sed 's/^listening //' >"$dir/url.tmp"
    sed -n "s/^export GAUTH_EMULATOR_RUN_URL='\(.*\)'\$/\1/p" \
      "$dir/stdout" >"$dir/run_url.tmp"
    mv "$dir/run_url.tmp" "$dir/run_url"
    mv "$dir/url.tmp" "$dir/url"
    echo "emulator at $(cat "$dir/url"), services at $(cat "$dir/run_url")," \
      "pid $(cat "$dir/pid")"
    ;;
  stop)
    dir=$2
    if [ ! -f "$dir/pid" ]; then
      echo "no emulator pid in $dir" >&2
      exit 1
    fi
    kill -TERM "$(cat "$dir/pid")" 2>/dev/null || true
    i=0
    while [ ! -f "$dir/exit-status" ] && [ $i -lt 600 ]; do
      i=$((i + 1))
      sleep 0.1
    done
    status=$(cat "$dir/exit-status" 2>/dev/null || echo timeout)
    rm -f "$dir/pid"
    if [ "$status" != 0 ]; then
      echo "emulator exit status after SIGTERM: $status (want 0)" >&2
      tail -n 20 "$dir/stderr" >&2 || true
      exit 1
    fi
    echo "emulator stopped, exit status 0"
    ;;
  *)
    echo "usage: $0 start EMULATOR DIR | stop DIR" >&2
    exit 2
    ;;
esac
