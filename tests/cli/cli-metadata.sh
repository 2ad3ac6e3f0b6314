#!/usr/bin/env bash
# End-to-end tests of `gauth metadata` against a gauth-emulator of its own:
# reads (exact values, 404, a reply refused, bad paths), --detect present and
# absent by probe, hint and mode with their exit codes and timings, usage
# errors and --help.
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
