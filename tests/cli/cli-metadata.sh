#!/usr/bin/env bash
# End-to-end tests of `gauth metadata` against a gauth-emulator of its own:
# reads (exact values, 404, a reply refused, bad paths), --detect present and
# absent by probe, hint and mode with their exit codes and timings, custom
# metadata (attribute), watches (values and ETags as they change, --count,
# SIGINT and SIGTERM), usage errors and --help.
#
# Usage: cli-metadata.sh GAUTH_BINARY EMULATOR_BINARY WORK_DIR
set -u
gauth=$1
emulator=$2
w=$3
rm -rf "$w"
mkdir -p "$w"
. "$(dirname "$0")/harness.sh"
# took FILE MAX_MS NAME: the "took: X ms" line of --detect is under MAX_MS.
took() {
  local ms
  ms=$(sed -n 's/^took: \([0-9]*\)\..*/\1/p' "$1")
  if [ -n "$ms" ] && [ "$ms" -lt "$2" ]; then ok "$3 ($ms ms)"; else bad "$3: took '$ms' ms"; fi
}

start_emulator
export GAUTH_ENDPOINT=$base GCE_METADATA_HOST=$host GCE_METADATA_IP=$host
unset GAUTH_METADATA_DETECTION K_SERVICE CLOUD_RUN_JOB FUNCTION_TARGET
# A loopback port nothing listens on: bind one, then let it go.
dead_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2> /dev/null || echo 9)

# ---- reads -------------------------------------------------------------------------
run 0 "project id" "$gauth" metadata project/project-id && is "$w/out" demo-project "project id value"
run 0 "numeric project id, prefixed path" "$gauth" metadata /computeMetadata/v1/project/numeric-project-id &&
  is "$w/out" 123456789012 "numeric project id value"
run 0 "zone" "$gauth" metadata instance/zone &&
  is "$w/out" projects/123456789012/zones/us-central1-a "zone value"
run 0 "email" "$gauth" metadata instance/service-accounts/default/email &&
  is "$w/out" runner@demo-project.iam.gserviceaccount.com "email value"
run 0 "universe domain" "$gauth" metadata universe/universe-domain && is "$w/out" googleapis.com "universe value"
run 0 "directory with a query" "$gauth" metadata 'instance/service-accounts/default/?recursive=true' &&
  has "$w/out" '"email":"runner@demo-project.iam.gserviceaccount.com"' "recursive JSON"
run 0 "--metadata-host wins over GCE_METADATA_HOST" env GCE_METADATA_HOST=127.0.0.1:$dead_port \
  "$gauth" metadata --metadata-host="$host" project/project-id && is "$w/out" demo-project "value via --metadata-host"
run 1 "no such entry" "$gauth" metadata instance/no-such-entry
has "$w/err" "HTTP 404: the metadata server has no such entry (GAUTH_E_NOT_FOUND)" "404 message"
run 1 "path with .." "$gauth" metadata instance/../project/project-id
has "$w/err" "GAUTH_E_INVALID_ARG" "bad path refused"
[ "$(counter /computeMetadata/v1/project/project-id)" = 2 ] && ok "the bad path was never sent" ||
  bad "project-id requests: $(counter /computeMetadata/v1/project/project-id), want 2"
# Something else answering on the metadata address (python3's http.server
# serving a file where the entry would be): no Metadata-Flavor in its reply.
mkdir -p "$w/www/computeMetadata/v1/instance"
echo 12345 > "$w/www/computeMetadata/v1/instance/id"
py=$(command -v python3)
(cd "$w/www" && exec "$py" -u -m http.server --bind 127.0.0.1 0 > "$w/www.log" 2>&1) &
www_pid=$!
www_port=
for _ in $(seq 1 100); do
  www_port=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$w/www.log" | head -n1)
  [ -n "$www_port" ] && break
  sleep 0.05
done
GCE_METADATA_HOST=127.0.0.1:$www_port run 1 "a reply without Metadata-Flavor" "$gauth" metadata instance/id
kill "$www_pid" 2> /dev/null
wait "$www_pid" 2> /dev/null
has "$w/err" "without Metadata-Flavor: Google: something other than the metadata server answered" "flavor refusal message"
has "$w/err" "GAUTH_E_BAD_RESPONSE" "flavor refusal code"
run 1 "no server" env GCE_METADATA_HOST=127.0.0.1:$dead_port "$gauth" metadata project/project-id
has "$w/err" "connection refused" "no server message"

# ---- --detect ----------------------------------------------------------------------
run 0 "detect: probe finds the emulator" "$gauth" metadata --detect
has "$w/out" "metadata server: present" "present"
has "$w/out" "decided by: probe: probe of $host: reply with Metadata-Flavor: Google" "probe detail"
took "$w/out" 500 "probe time"
run 1 "detect: refused port" env GCE_METADATA_IP=127.0.0.1:$dead_port "$gauth" metadata --detect
has "$w/out" "metadata server: absent" "absent"
has "$w/out" "decided by: probe: probe of 127.0.0.1:$dead_port: connection refused" "refused detail"
# At once: well under the 500 ms probe timeout it would otherwise wait out
# (a few ms when idle; 94 ms seen under ASan on a loaded machine).
took "$w/out" 250 "refused answers at once"
run 0 "detect: K_SERVICE hint" env K_SERVICE=collector GCE_METADATA_IP=127.0.0.1:$dead_port "$gauth" metadata --detect
has "$w/out" "decided by: hint: K_SERVICE is set" "hint detail"
run 1 "detect: mode none" env GAUTH_METADATA_DETECTION=none "$gauth" metadata --detect
has "$w/out" "decided by: mode: GAUTH_METADATA_DETECTION=none" "mode none detail"
run 0 "detect: mode assume-present" env GAUTH_METADATA_DETECTION=assume-present \
  GCE_METADATA_IP=127.0.0.1:$dead_port "$gauth" metadata --detect
has "$w/out" "decided by: mode: GAUTH_METADATA_DETECTION=assume-present" "mode assume-present detail"
run 1 "detect: bad mode" env GAUTH_METADATA_DETECTION=sometimes "$gauth" metadata --detect
has "$w/err" "GAUTH_METADATA_DETECTION \"sometimes\" is not a detection mode" "bad mode message"
fault '{"route":"/","kind":"delay","delay_ms":2000,"count":1}'
run 1 "detect: a probe that gets no reply" "$gauth" metadata --detect
has "$w/out" "no reply within 500 ms" "timeout detail"
took "$w/out" 700 "the probe limit holds"

# ---- attribute ---------------------------------------------------------------------
attrs() { curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' -X POST "$base/emulator/v1/metadata" -d "$1"; }
[ "$(attrs '{"project_attributes":{"team":"storage"},"instance_attributes":{"mode":"blue"}}')" = 200 ] &&
  ok "attributes set through the control API" || bad "attributes not set"
run 0 "instance attribute (the default scope)" "$gauth" metadata attribute mode && is "$w/out" blue "instance value"
run 0 "--instance" "$gauth" metadata attribute --instance mode && is "$w/out" blue "--instance value"
run 0 "--project" "$gauth" metadata attribute --project team && is "$w/out" storage "project value"
run 1 "not set" "$gauth" metadata attribute --project mode
has "$w/err" "GAUTH_E_NOT_FOUND" "not set is GAUTH_E_NOT_FOUND"
run 1 "a key Google would refuse" "$gauth" metadata attribute '../project/project-id'
has "$w/err" "GAUTH_E_INVALID_ARG" "bad key refused"
has "$w/err" "only letters, digits, '-' and '_'" "bad key message"
run 0 "every instance attribute as JSON" "$gauth" metadata attribute --instance && is "$w/out" '{"mode":"blue"}' "instance JSON"
run 0 "every project attribute as JSON" "$gauth" metadata attribute --project && is "$w/out" '{"team":"storage"}' "project JSON"
run 2 "--instance and --project" "$gauth" metadata attribute --instance --project mode
run 2 "two keys" "$gauth" metadata attribute a b

# ---- watch -------------------------------------------------------------------------
run 0 "watch --count=1: the value at once" "$gauth" metadata watch instance/attributes/mode --count=1 &&
  is "$w/out" blue "first value"
has "$w/err" "etag: " "its ETag on stderr"
hasnt "$w/out" "etag" "stdout holds the value only"
# wait_for FILE TEXT: up to 10 s for TEXT to appear in FILE.
wait_for() {
  for _ in $(seq 200); do grep -qF -- "$2" "$1" 2> /dev/null && return 0; sleep 0.05; done
  return 1
}
"$gauth" metadata watch instance/attributes/mode --count=3 --timeout=30 > "$w/watch.out" 2> "$w/watch.err" &
wpid=$!
wait_for "$w/watch.out" blue && ok "watch: first value" || bad "watch: no first value"
attrs '{"instance_attributes":{"mode":"green"}}' > /dev/null
wait_for "$w/watch.out" green && ok "watch: a change is printed" || bad "watch: change not printed"
attrs '{"instance_attributes":{"mode":"red"}}' > /dev/null
wait "$wpid"
rc=$?
[ "$rc" = 0 ] && ok "watch --count=3 exits 0 after three values" || bad "watch --count=3: exit $rc"
[ "$(cat "$w/watch.out")" = "$(printf 'blue\ngreen\nred')" ] && ok "watch: one block per value" ||
  bad "watch output: '$(cat "$w/watch.out")'"
[ "$(grep -c '^etag: ' "$w/watch.err")" = 3 ] && ok "watch: one ETag line per value" ||
  bad "watch ETag lines: $(cat "$w/watch.err")"
[ "$(sed -n 2p "$w/watch.err")" != "$(sed -n 3p "$w/watch.err")" ] && ok "watch: ETags differ" || bad "watch: same ETags"
cat "$w/watch.out" >> "$w/all-out"
cat "$w/watch.err" >> "$w/all-err"
# A signal ends a watch the emulator is holding, at once and cleanly.
for sig in INT TERM; do
  want=130
  [ "$sig" = TERM ] && want=143
  "$gauth" metadata watch instance/attributes/mode --timeout=60 > "$w/sig.out" 2> "$w/sig.err" &
  wpid=$!
  wait_for "$w/sig.out" red || bad "SIG$sig: no first value"
  sleep 0.3 # into the long-poll
  t0=$(date +%s%N)
  kill -"$sig" "$wpid"
  wait "$wpid"
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$rc" = "$want" ] && ok "SIG$sig stops the watch (exit $rc)" || bad "SIG$sig: exit $rc, want $want: $(cat "$w/sig.err")"
  [ "$ms" -lt 1000 ] && ok "SIG$sig: stopped in $ms ms" || bad "SIG$sig: took $ms ms"
done
attrs '{"instance_attributes":{"mode":null}}' > /dev/null
run 1 "watch of a missing entry" "$gauth" metadata watch instance/attributes/mode --count=1
has "$w/err" "GAUTH_E_NOT_FOUND" "missing entry named"
run 2 "watch without PATH" "$gauth" metadata watch
run 2 "watch --timeout=0" "$gauth" metadata watch instance/attributes/mode --timeout=0
has "$w/err" "--timeout must be 1 to 3600 seconds" "timeout range named"
run 2 "watch --timeout=3601" "$gauth" metadata watch instance/attributes/mode --timeout=3601
run 2 "watch --count=0" "$gauth" metadata watch instance/attributes/mode --count=0
run 2 "watch --count=x" "$gauth" metadata watch instance/attributes/mode --count=x
run 1 "watch path setting wait_for_change" "$gauth" metadata watch 'instance/attributes/mode?wait_for_change=true'
has "$w/err" "the watch sets it" "reserved query refused"
run 0 "metadata --help names attribute and watch" "$gauth" metadata --help
has "$w/out" "gauth metadata attribute [--instance|--project] [KEY]" "help: attribute"
has "$w/out" "gauth metadata watch PATH [--timeout=SEC] [--count=N]" "help: watch"

# ---- usage -------------------------------------------------------------------------
run 2 "no PATH" "$gauth" metadata
run 2 "PATH and --detect" "$gauth" metadata --detect project/project-id
run 2 "two PATHs" "$gauth" metadata a b
run 2 "unknown option" "$gauth" metadata --bogus=ya29.SECRET
hasnt "$w/err" "ya29.SECRET" "an unknown option's value is not echoed"
run 2 "bad --metadata-host" "$gauth" metadata --metadata-host=http://x/ project/project-id
has "$w/err" "metadata_host" "bad host named"
run 0 "--help" "$gauth" metadata --help
has "$w/out" "usage: gauth metadata PATH" "help text"
has "$w/out" "--detect" "help mentions --detect"
run 0 "gauth help lists metadata" "$gauth" help
has "$w/out" "metadata [PATH|--detect]" "listed in gauth help"

finish cli-metadata
