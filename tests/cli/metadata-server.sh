#!/usr/bin/env bash
# End-to-end tests of `gauth metadata-server`, chained for real: a
# gauth-emulator of its own plays Google (token endpoint, IAM Credentials,
# tokeninfo); `gauth metadata-server --credentials=<the emulator's key file>`
# in front of it holds the credentials; the clients talk only to the front
# (GCE_METADATA_HOST), and every token they get is checked at the emulator's
# tokeninfo for the right account:
#   - libgauth itself (gauth print-access-token / print-identity-token /
#     metadata, by ADC's metadata detection);
#   - npm google-auth-library and gcp-metadata (GAUTH_INTEROP_NODE_MODULES,
#     as the interop tests; skipped visibly without them);
#   - Debian's python3-google-auth under /usr/bin/python3 (skipped visibly
#     without it).
# Then: impersonation through the front, a credential that cannot mint ID
# tokens, the refusals (no Metadata-Flavor, X-Forwarded-For, POST, other
# paths, a non-loopback --listen without its flags, --allow-client), 100
# concurrent clients causing one token request upstream, --attributes with
# a SIGHUP reload waking a wait_for_change, a clean SIGTERM, and no token in
# any of the server's output.
#
# With a fourth argument "clients" it runs the startup and the three
# clients only, and skips (exit 77) when npm's or Debian's clients are
# missing: the interop stage's run, where nothing may be skipped.
#
# Usage: metadata-server.sh GAUTH_BINARY EMULATOR_BINARY WORK_DIR [clients]
set -u
gauth=$1
emulator=$2
w=$3
mode=${4:-all}
nm=${GAUTH_INTEROP_NODE_MODULES:-}
py=/usr/bin/python3
have_node() {
  command -v node > /dev/null 2>&1 && [ -n "$nm" ] &&
    [ -f "$nm/google-auth-library/package.json" ] && [ -f "$nm/gcp-metadata/package.json" ]
}
have_python() {
  [ -x "$py" ] && "$py" -c 'import google.auth.compute_engine, google.auth.transport.requests' 2> /dev/null
}
if [ "$mode" = clients ] && ! { have_node && have_python; }; then
  echo "SKIP: metadata-server clients: needs node with google-auth-library and" \
    "gcp-metadata in GAUTH_INTEROP_NODE_MODULES='$nm' and Debian's" \
    "python3-google-auth (make test installs both)"
  exit 77
fi
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$w"
mkdir -p "$w/gcloud-config"
. "$here/harness.sh"

SCHED=scheduler@demo-project.iam.gserviceaccount.com
RUNNER=runner@demo-project.iam.gserviceaccount.com
CP=https://www.googleapis.com/auth/cloud-platform
# A loopback port nothing listens on: bind one, then let it go.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
dead_port=$(free_port)

# The world: the default one, plus the invoker (the key file's account)
# allowed to act as the runner, for impersonation through the front.
cat > "$w/world.json" << EOF
{"bindings": [
  {"resource": "projects/demo-project/serviceAccounts/$RUNNER",
   "role": "roles/iam.serviceAccountTokenCreator",
   "members": ["serviceAccount:$SCHED"]}]}
EOF
start_emulator --config="$w/world.json" --key-file="$w/key.json"
for _ in $(seq 100); do [ -s "$w/key.json" ] && break; sleep 0.1; done

# Nothing but the emulator (for the front) and the front (for clients) may
# be reached: no user configuration, no ADC file, every other endpoint at a
# closed port.
export CLOUDSDK_CONFIG=$w/gcloud-config
unset GOOGLE_APPLICATION_CREDENTIALS GOOGLE_CLOUD_PROJECT GCLOUD_PROJECT \
  GAUTH_METADATA_DETECTION K_SERVICE CLOUD_RUN_JOB FUNCTION_TARGET \
  METADATA_SERVER_DETECTION GCE_METADATA_ROOT
export no_proxy="127.0.0.1,localhost" NO_PROXY="127.0.0.1,localhost"
export GAUTH_ENDPOINT=http://127.0.0.1:$dead_port
export GCE_METADATA_HOST=127.0.0.1:$dead_port GCE_METADATA_IP=127.0.0.1:$dead_port

fronts=()
# start_front NAME ARGS...: a metadata server in front of the emulator
# (GAUTH_ENDPOINT: the emulator, for its own requests only); sets $front
# (HOST:PORT) and $front_pid. Its stdout and stderr: $w/NAME.out, .err.
start_front() {
  local name=$1
  shift
  GAUTH_ENDPOINT=$base "$gauth" metadata-server "$@" > "$w/$name.out" 2> "$w/$name.err" &
  front_pid=$!
  fronts+=("$front_pid")
  for _ in $(seq 300); do
    grep -q '^export GCE_METADATA_ROOT' "$w/$name.out" 2> /dev/null && break
    kill -0 "$front_pid" 2> /dev/null || break
    sleep 0.05
  done
  front=$(sed -n '1s|^listening http://||p' "$w/$name.out")
  if [ -z "$front" ]; then
    echo "FAIL: metadata-server $name did not start: $(cat "$w/$name.err")"
    failed=$((failed + 1))
    return 1
  fi
}
stop_all() {
  for p in "${fronts[@]}"; do kill "$p" 2> /dev/null; done
  for p in "${fronts[@]}"; do wait "$p" 2> /dev/null; done
  kill "$emu" 2> /dev/null
  wait "$emu" 2> /dev/null
}
trap stop_all EXIT

# md PATH [CURL ARGS...]: GET http://$front/computeMetadata/v1/PATH with the
# flavor header; body in $w/out, headers in $w/hdr, status in $w/status.
md() {
  local path=$1
  shift
  curl -sS --noproxy '*' -D "$w/hdr" -o "$w/out" -w '%{http_code}' \
    -H 'Metadata-Flavor: Google' "$@" "http://$front/computeMetadata/v1/$path" \
    > "$w/status" 2> "$w/err"
}
status_is() {
  if [ "$(cat "$w/status")" = "$1" ]; then ok "$2 (HTTP $1)"; else bad "$2: HTTP $(cat "$w/status"), want $1"; fi
}
# body_is FILE TEXT NAME: FILE is exactly TEXT (a metadata body has no
# final newline).
body_is() {
  if [ "$(cat "$1")" = "$2" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" != '\n' ]; then
    ok "$3"
  else
    bad "$3: got '$(head -c 300 "$1")', expected '$2' without a newline"
  fi
}
# tokens seen anywhere, for the final "never in the server's output" check
keep_token() { [ -n "$1" ] && printf '%s\n' "$1" >> "$w/tokens"; }
# json_get FILE KEY: a string member of a one-line JSON object (tokens and
# ids hold no quotes or backslashes).
json_get() { sed -n "s/.*\"$2\": *\"\([^\"]*\)\".*/\1/p" "$1"; }
# tokeninfo KIND TOKEN: the emulator's tokeninfo for it, in $w/info.
tokeninfo() {
  curl -sS --noproxy '*' -o "$w/info" "$base/tokeninfo?$1=$2"
}

# ---- startup ---------------------------------------------------------------
start_front main --credentials="$w/key.json" || { finish metadata-server; exit 1; }
main_front=$front
main_pid=$front_pid
[ "$(sed -n 1p "$w/main.out")" = "listening http://$front" ] && ok "first line: listening URL" ||
  bad "first line: $(sed -n 1p "$w/main.out")"
has "$w/main.out" "export GCE_METADATA_HOST='$front'" "GCE_METADATA_HOST line"
has "$w/main.out" "export GCE_METADATA_IP='$front'" "GCE_METADATA_IP line"
has "$w/main.out" "export GCE_METADATA_ROOT='$front'" "GCE_METADATA_ROOT line"
case "$front" in 127.0.0.1:*) ok "loopback by default" ;; *) bad "listens on $front" ;; esac

# ---- libgauth as the client --------------------------------------------------
cl() { env GCE_METADATA_HOST="$front" GCE_METADATA_IP="$front" "$@"; }
# cl_probe: cl, tried again (at most twice) only when detection's one probe
# had no reply within its fixed 500 ms: a loaded machine (ASan, two tests
# at a time) can be that slow to schedule the server's first answer.
cl_probe() {
  local i rc
  for i in 1 2 3; do
    cl "$@" > "$w/probe.out" 2> "$w/probe.err"
    rc=$?
    [ "$rc" = 0 ] && break
    grep -q 'no reply within 500 ms' "$w/probe.out" "$w/probe.err" || break
    echo "note: the detection probe timed out (try $i)" >&2
  done
  cat "$w/probe.out"
  cat "$w/probe.err" >&2
  return "$rc"
}
run 0 "libgauth detects the front" cl_probe "$gauth" metadata --detect
has "$w/out" "metadata server: present" "present by probe"
run 0 "libgauth: print-access-token through ADC's metadata source" cl_probe "$gauth" print-access-token
at=$(cat "$w/out")
keep_token "$at"
tokeninfo access_token "$at"
has "$w/info" "\"email\":\"$SCHED\"" "the emulator accepts it as the key's account"
has "$w/info" "\"scope\":\"$CP\"" "default scope cloud-platform"
run 0 "libgauth: print-identity-token" cl_probe "$gauth" print-identity-token --audiences=https://svc.example.com
idt=$(cat "$w/out")
keep_token "$idt"
tokeninfo id_token "$idt"
has "$w/info" "\"aud\":\"https://svc.example.com\"" "ID token audience"
has "$w/info" "\"email\":\"$SCHED\"" "ID token account"
run 0 "libgauth: email" cl "$gauth" metadata instance/service-accounts/default/email
is "$w/out" "$SCHED" "email value"
run 0 "libgauth: project id from the key file" cl "$gauth" metadata project/project-id
is "$w/out" demo-project "project id value"

# Everything but the clients (not in the "clients" run).
if [ "$mode" = all ]; then

# ---- the paths, as Google formats them ---------------------------------------
md "instance/service-accounts/default/token?scopes=https://www.googleapis.com/auth/userinfo.email,$CP"
status_is 200 "token with scopes="
has "$w/hdr" "Metadata-Flavor: Google" "reply names the flavor"
has "$w/hdr" "Content-Type: application/json" "token is JSON"
tok=$(json_get "$w/out" access_token)
keep_token "$tok"
has "$w/out" '"token_type":"Bearer"' "token_type"
has "$w/out" '"expires_in":' "expires_in"
tokeninfo access_token "$tok"
has "$w/info" "userinfo.email" "the asked scopes reach the token endpoint"
md "instance/service-accounts/$SCHED/token"
status_is 200 "token by the account's email"
keep_token "$(json_get "$w/out" access_token)"
md "instance/service-accounts/other@demo-project.iam.gserviceaccount.com/token"
status_is 404 "token of another account"
md "instance/service-accounts/default/identity"
status_is 400 "identity without audience"
has "$w/out" "non-empty audience parameter required" "audience message"
md "instance/service-accounts/default/identity?audience=https://a.example&format=bogus"
status_is 400 "identity with a bad format"
md "instance/service-accounts/default/identity?audience=https://a.example&format=full&licenses=TRUE"
status_is 200 "identity format=full&licenses=TRUE"
keep_token "$(cat "$w/out")"
md "instance/service-accounts/default/email"
status_is 200 "email" && body_is "$w/out" "$SCHED" "email body"
md "instance/service-accounts/default/scopes"
status_is 200 "scopes" && has "$w/out" "$CP" "scopes body"
md "instance/service-accounts/default/aliases"
status_is 200 "aliases"
md "instance/service-accounts/"
status_is 200 "service-accounts listing" && has "$w/out" "default/" "lists default/"
has "$w/out" "$SCHED/" "lists the account"
md "instance/service-accounts/default/"
status_is 200 "account directory" && has "$w/out" "token" "lists token"
md "instance/service-accounts/default/?recursive=true"
status_is 200 "account recursive" && has "$w/out" "\"email\":\"$SCHED\"" "recursive JSON email"
hasnt "$w/out" "ya29." "a recursive read carries no token"
md "project/project-id"
status_is 200 "project-id" && body_is "$w/out" demo-project "project-id body"
has "$w/hdr" "ETag: " "ETag header"
md "project/numeric-project-id"
status_is 404 "numeric-project-id without --project-number"
md "universe/universe-domain"
status_is 200 "universe-domain" && body_is "$w/out" googleapis.com "universe body"
md "instance/zone"
status_is 200 "zone" && body_is "$w/out" "projects/demo-project/zones/us-central1-a" "zone body"
md "instance/hostname"
status_is 200 "hostname"
md "instance/id"
status_is 200 "id" && [ -n "$(tr -d '0-9' < "$w/out")" ] && bad "id not digits" || ok "id digits"
md "instance/name"
status_is 200 "name"
md "?recursive=true"
status_is 200 "root recursive" && has "$w/out" '"projectId":"demo-project"' "root JSON"
md "instance/no-such-thing"
status_is 404 "unknown path"

# ---- refusals -----------------------------------------------------------------
code() { curl -sS --noproxy '*' -o "$w/out" -D "$w/hdr" -w '%{http_code}' "$@" 2> "$w/err"; }
c=$(code "http://$front/computeMetadata/v1/instance/service-accounts/default/token")
[ "$c" = 403 ] && ok "no Metadata-Flavor: 403" || bad "no flavor: HTTP $c"
has "$w/out" "Missing Metadata-Flavor:Google header." "no-flavor message"
has "$w/hdr" "Metadata-Flavor: Google" "403 names the flavor"
hasnt "$w/out" "access_token" "no token without the flavor"
c=$(code -H 'Metadata-Flavor: google' "http://$front/computeMetadata/v1/project/project-id")
[ "$c" = 403 ] && ok "flavor value is exact: 403" || bad "flavor 'google': HTTP $c"
c=$(code -H 'Metadata-Flavor: Google' -H 'X-Forwarded-For: 10.1.2.3' \
  "http://$front/computeMetadata/v1/instance/service-accounts/default/token")
[ "$c" = 403 ] && ok "X-Forwarded-For: 403" || bad "X-Forwarded-For: HTTP $c"
has "$w/out" "X-Forwarded-For" "X-Forwarded-For message"
c=$(code -X POST -H 'Metadata-Flavor: Google' -d x=1 \
  "http://$front/computeMetadata/v1/instance/service-accounts/default/token")
[ "$c" = 405 ] && ok "POST: 405" || bad "POST: HTTP $c"
has "$w/hdr" "Allow: GET, HEAD" "Allow header"
c=$(code -X DELETE -H 'Metadata-Flavor: Google' "http://$front/computeMetadata/v1/project/project-id")
[ "$c" = 405 ] && ok "DELETE: 405" || bad "DELETE: HTTP $c"
c=$(code -I -H 'Metadata-Flavor: Google' "http://$front/computeMetadata/v1/project/project-id")
[ "$c" = 200 ] && ok "HEAD: 200" || bad "HEAD: HTTP $c"
for p in /emulator/v1/counters /token /v1/projects/-/serviceAccounts/$SCHED:generateAccessToken \
  /computeMetadata/v2/instance /computeMetadataX; do
  c=$(code -H 'Metadata-Flavor: Google' "http://$front$p")
  [ "$c" = 404 ] && ok "not forwarded: $p (404)" || bad "$p: HTTP $c"
done
c=$(code -H 'Metadata-Flavor: Google' -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' a)" \
  "http://$front/computeMetadata/v1/project/project-id")
[ "$c" = 431 ] && ok "an oversized request is refused (HTTP 431)" || bad "oversized headers: HTTP $c, want 431"
md project/project-id
status_is 200 "still serving after the oversized request"

run 2 "non-loopback --listen without --allow-remote" "$gauth" metadata-server --listen=0.0.0.0:0
has "$w/err" "not a loopback address" "refusal names the reason"
has "$w/err" "--allow-remote" "refusal names the flag"
run 2 "--allow-remote without --allow-client" "$gauth" metadata-server --listen=0.0.0.0:0 --allow-remote
run 2 "bad --allow-client" "$gauth" metadata-server --allow-client=10.0.0.0/33
run 2 "bad --listen" "$gauth" metadata-server --listen=nowhere
run 2 "unknown option (value not echoed)" "$gauth" metadata-server --bogus=ya29.SECRET
hasnt "$w/err" "ya29.SECRET" "an unknown option's value is not echoed"
run 0 "--help" "$gauth" metadata-server --help
has "$w/out" "usage: gauth metadata-server" "help text"
run 0 "gauth help lists metadata-server" "$gauth" help
has "$w/out" "metadata-server" "listed in gauth help"

# --allow-client: only the listed addresses, loopback included.
start_front allow --credentials="$w/key.json" --allow-client=127.0.0.2/32 && {
  c=$(code -H 'Metadata-Flavor: Google' "http://$front/computeMetadata/v1/project/project-id")
  [ "$c" = 000 ] && ok "a client outside --allow-client is cut off" || bad "127.0.0.1 outside the list: HTTP $c"
  has "$w/allow.err" "127.0.0.1 refused: not in --allow-client" "the refusal is logged"
  c=$(code --interface 127.0.0.2 -H 'Metadata-Flavor: Google' "http://$front/computeMetadata/v1/project/project-id")
  [ "$c" = 200 ] && ok "a listed client is served" || bad "127.0.0.2 in the list: HTTP $c"
}

# A metadata credential that would ask this very server.
p=$(free_port)
run 2 "a credential that is this server" env GCE_METADATA_HOST=127.0.0.1:$p GCE_METADATA_IP=127.0.0.1:$p \
  GAUTH_METADATA_DETECTION=assume-present "$gauth" metadata-server --listen=127.0.0.1:$p
has "$w/err" "which is this server" "self-loop message"

# ---- one refresh for a hundred clients --------------------------------------
start_front hundred --credentials="$w/key.json" && {
  curl -sS --noproxy '*' -o /dev/null -X POST "$base/emulator/v1/counters:reset"
  # The first token request takes a second upstream: the others arrive
  # while it is in flight.
  fault '{"route":"/token","kind":"delay","delay_ms":1500,"count":1}'
  mkdir -p "$w/hundred"
  # One curl, a hundred connections at once (--parallel).
  args=()
  for i in $(seq 100); do
    args+=(-o "$w/hundred/$i" "http://$front/computeMetadata/v1/instance/service-accounts/default/token")
  done
  curl -sS --noproxy '*' --parallel --parallel-immediate --parallel-max 100 -w '%{http_code} %{time_total}\n' \
    -H 'Metadata-Flavor: Google' "${args[@]}" > "$w/hundred/codes" 2> "$w/hundred/err"
  n200=$(grep -c '^200 ' "$w/hundred/codes")
  [ "$n200" = 100 ] && ok "100 concurrent clients: all 200" || bad "100 concurrent clients: $n200 got 200"
  # They waited together on the one slow refresh (1.5 s upstream).
  nslow=$(awk '$2 >= 1.0' "$w/hundred/codes" | wc -l)
  [ "$nslow" -ge 50 ] && ok "$nslow clients waited on the same refresh" ||
    bad "only $nslow clients waited over 1 s: not concurrent"
  # The front logged every one of them.
  n=$(grep -c 'default/token 200' "$w/hundred.err")
  [ "$n" = 100 ] && ok "the front served 100 token requests" || bad "the front logged $n"
  ntok=$(for i in $(seq 100); do json_get "$w/hundred/$i" access_token | grep . || echo "none $i"; done |
    sort -u | tee -a "$w/tokens" | wc -l)
  [ "$ntok" = 1 ] && ok "all got the same token" || bad "$ntok distinct tokens"
  [ "$(counter /token)" = 1 ] && ok "the emulator saw exactly one token request" ||
    bad "token requests upstream: $(counter /token), want 1"
}

# ---- impersonation through the front ------------------------------------------
start_front imp --credentials="$w/key.json" --impersonate-service-account=$RUNNER && {
  md instance/service-accounts/default/email
  body_is "$w/out" "$RUNNER" "impersonation: email is the target"
  md instance/service-accounts/default/token
  status_is 200 "impersonation: token"
  t=$(json_get "$w/out" access_token)
  keep_token "$t"
  tokeninfo access_token "$t"
  has "$w/info" "\"email\":\"$RUNNER\"" "the emulator accepts it as the target"
  md "instance/service-accounts/default/identity?audience=https://imp.example&format=full"
  status_is 200 "impersonation: identity format=full"
  t=$(cat "$w/out")
  keep_token "$t"
  tokeninfo id_token "$t"
  has "$w/info" "\"email\":\"$RUNNER\"" "generateIdToken with includeEmail"
  has "$w/info" "\"aud\":\"https://imp.example\"" "impersonated ID token audience"
  env GCE_METADATA_HOST="$front" GCE_METADATA_IP="$front" "$gauth" print-access-token > "$w/out" 2> "$w/err" < /dev/null
  tokeninfo access_token "$(cat "$w/out")"
  keep_token "$(cat "$w/out")"
  has "$w/info" "\"email\":\"$RUNNER\"" "libgauth through the impersonating front"
  [ "$(counter /v1/projects/-/serviceAccounts/$RUNNER:generateIdToken)" -ge 1 ] 2> /dev/null &&
    ok "the ID token came from generateIdToken" || bad "no generateIdToken request upstream"
}

# ---- a credential that cannot mint ID tokens -----------------------------------
echo "subject" > "$w/subject.txt"
cat > "$w/external.json" << EOF
{"type": "external_account",
 "audience": "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/p/providers/x",
 "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
 "token_url": "$base/v1/token",
 "credential_source": {"file": "$w/subject.txt"}}
EOF
run 2 "an external account without --email" "$gauth" metadata-server --credentials="$w/external.json" --project=demo-project
has "$w/err" "--email=EMAIL" "the message asks for --email"
start_front ext --credentials="$w/external.json" --email=fed@demo-project.iam.gserviceaccount.com \
  --project=demo-project && {
  md "instance/service-accounts/default/identity?audience=https://x.example"
  status_is 404 "identity from a credential that cannot mint ID tokens"
  has "$w/out" "external_account" "the message names the credential"
  has "$w/out" "GAUTH_E_UNSUPPORTED" "the message names the reason"
  md instance/service-accounts/default/email
  body_is "$w/out" fed@demo-project.iam.gserviceaccount.com "--email is served"
}

# ---- gcloud's user login (authorized_user) --------------------------------------
cat > "$w/user.json" << 'EOF'
{"type": "authorized_user", "client_id": "emulator-client.apps.googleusercontent.com",
 "client_secret": "emulator-client-secret", "refresh_token": "1//emulator-refresh-token"}
EOF
run 2 "a user login without --email" "$gauth" metadata-server --credentials="$w/user.json" --project=demo-project
has "$w/err" "(authorized_user) has no service-account email" "the message names the credential"
start_front user --credentials="$w/user.json" --email=developer@example.com --project=demo-project && {
  md instance/service-accounts/default/token
  status_is 200 "a user login's token"
  t=$(json_get "$w/out" access_token)
  keep_token "$t"
  tokeninfo access_token "$t"
  has "$w/info" '"email":"developer@example.com"' "the emulator accepts it as the user"
  md instance/service-accounts/developer@example.com/email
  body_is "$w/out" developer@example.com "--email names the account directory"
}

# ---- attributes, SIGHUP, wait_for_change ------------------------------------------
cat > "$w/attrs.json" << 'EOF'
{"project_attributes": {"env": "test", "ssh-keys": "a b"},
 "instance_attributes": {"role": "worker"}}
EOF
run 2 "a bad attributes file" "$gauth" metadata-server --credentials="$w/key.json" --attributes="$w/world.json"
has "$w/err" "unknown member" "bad attributes message"
start_front attrs --credentials="$w/key.json" --attributes="$w/attrs.json" --project-number=123456789012 \
  --zone=europe-west1-b --instance-name=devbox && {
  md project/attributes/env
  status_is 200 "project attribute" && body_is "$w/out" test "project attribute value"
  etag=$(sed -n 's/^ETag: \([0-9a-f]*\).*/\1/p' "$w/hdr")
  [ -n "$etag" ] && ok "attribute ETag $etag" || bad "no ETag on the attribute"
  md instance/attributes/role
  status_is 200 "instance attribute" && body_is "$w/out" worker "instance attribute value"
  md project/attributes/
  status_is 200 "attributes listing" && has "$w/out" "ssh-keys" "listing names the keys"
  md "instance/attributes/?recursive=true"
  has "$w/out" '"role":"worker"' "recursive attributes"
  md "project/attributes/?recursive=true&alt=text"
  has "$w/out" "env test" "recursive alt=text"
  md "project/attributes/env?alt=json"
  body_is "$w/out" '"test"' "a leaf with alt=json"
  md project/numeric-project-id
  status_is 200 "--project-number" && body_is "$w/out" 123456789012 "numeric project id"
  md instance/zone
  body_is "$w/out" projects/123456789012/zones/europe-west1-b "--zone"
  md instance/name
  body_is "$w/out" devbox "--instance-name"
  # A watcher of env, then the file changes and SIGHUP: the watcher wakes.
  curl -sS --noproxy '*' -o "$w/waited" -w '%{http_code} %{time_total}' -H 'Metadata-Flavor: Google' \
    "http://$front/computeMetadata/v1/project/attributes/env?wait_for_change=true&last_etag=$etag&timeout_sec=30" \
    > "$w/waited.code" 2>&1 &
  waiter=$!
  sleep 1
  sed 's/"test"/"prod"/' "$w/attrs.json" > "$w/attrs.new" && mv "$w/attrs.new" "$w/attrs.json"
  kill -HUP "$front_pid"
  wait "$waiter"
  read -r wcode wtime < "$w/waited.code"
  [ "$wcode" = 200 ] && ok "the waiter was answered" || bad "waiter: $(cat "$w/waited.code")"
  body_is "$w/waited" prod "the waiter got the new value"
  awk -v t="$wtime" 'BEGIN { exit !(t < 10) }' && ok "woken by the reload (${wtime}s)" || bad "waited ${wtime}s"
  has "$w/attrs.err" "SIGHUP: reloaded" "the reload is logged"
  md project/attributes/env
  body_is "$w/out" prod "reloaded value"
  echo '{"project_attributes": {"env": 7}}' > "$w/attrs.json"
  kill -HUP "$front_pid"
  sleep 0.5
  has "$w/attrs.err" "keeping the current attributes" "a bad reload keeps the attributes"
  md project/attributes/env
  body_is "$w/out" prod "the value survives a bad reload"
  # A second metadata server whose credential is this one (ADC's metadata
  # source at GCE_METADATA_HOST; detection by mode, not by the probe's
  # 500 ms, which a loaded machine can miss): tokens, email and the project
  # number come from upstream.
  attrs_front=$front
  attrs_pid=$front_pid
  GCE_METADATA_HOST=$attrs_front GCE_METADATA_IP=$attrs_front GAUTH_METADATA_DETECTION=assume-present \
    start_front chain && {
    has "$w/chain.err" "(metadata," "the chained server's credential is the metadata server"
    md instance/service-accounts/default/email
    body_is "$w/out" "$SCHED" "chained: email from upstream"
    md project/numeric-project-id
    body_is "$w/out" 123456789012 "chained: project number from upstream"
    md instance/service-accounts/default/token
    t=$(json_get "$w/out" access_token)
    keep_token "$t"
    tokeninfo access_token "$t"
    has "$w/info" "\"email\":\"$SCHED\"" "chained: the token is upstream's account"
  }
  front=$attrs_front
  front_pid=$attrs_pid
  # SIGTERM with a waiter in flight: the waiter is answered, exit 0.
  curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' -H 'Metadata-Flavor: Google' \
    "http://$front/computeMetadata/v1/project/attributes/env?wait_for_change=true&timeout_sec=60" \
    > "$w/term.code" 2>&1 &
  waiter=$!
  sleep 0.5
  kill -TERM "$front_pid"
  wait "$front_pid"
  rc=$?
  wait "$waiter"
  [ "$rc" = 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $rc"
  [ "$(cat "$w/term.code")" = 200 ] && ok "the waiter is answered at shutdown" ||
    bad "waiter at shutdown: $(cat "$w/term.code")"
}

# ---- a thousand waiters, one SIGHUP ------------------------------------------------
# 1,000 wait_for_change requests held at once (four curls of 250
# connections), then a reload: every one answered with the new value, the
# server's memory bounded, tokens still served while they wait, and the
# 1,001st waiter refused with 503 (--max-waiters=1000).
echo '{"project_attributes": {"mode": "a"}}' > "$w/many.json"
start_front many --credentials="$w/key.json" --attributes="$w/many.json" --max-waiters=1000 && {
  many_pid=$front_pid
  md project/attributes/mode
  etag=$(sed -n 's/^ETag: \([0-9a-f]*\).*/\1/p' "$w/hdr")
  threads() { sed -n 's/^Threads:[[:space:]]*//p' "/proc/$many_pid/status"; }
  kb() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$many_pid/status"; }
  base_threads=$(threads)
  rss_before=$(kb VmRSS)
  mkdir -p "$w/many"
  wpids=()
  for k in 1 2 3 4; do
    args=()
    for i in $(seq 250); do
      args+=(-o "$w/many/$k-$i" "http://$front/computeMetadata/v1/project/attributes/mode?wait_for_change=true&last_etag=$etag&timeout_sec=120")
    done
    curl -sS --noproxy '*' --parallel --parallel-immediate --parallel-max 250 -w '%{http_code}\n' \
      -H 'Metadata-Flavor: Google' "${args[@]}" > "$w/many/codes$k" 2> "$w/many/err$k" &
    wpids+=("$!")
  done
  for _ in $(seq 600); do
    kill -0 "$many_pid" 2> /dev/null || break
    [ "$(threads)" -ge $((base_threads + 1000)) ] && break
    sleep 0.1
  done
  sleep 1 # the last connections reach their wait
  t=$(threads)
  t=${t:-0}
  [ "$t" -ge $((base_threads + 1000)) ] && ok "1,000 waiters held ($t threads)" || bad "only $((t - base_threads)) waiters"
  md "project/attributes/mode?wait_for_change=true&last_etag=$etag&timeout_sec=5"
  status_is 503 "the 1,001st waiter is refused"
  md instance/service-accounts/default/token
  status_is 200 "a token while 1,000 wait"
  keep_token "$(json_get "$w/out" access_token)"
  echo '{"project_attributes": {"mode": "b"}}' > "$w/many.json"
  kill -HUP "$many_pid"
  for p in "${wpids[@]}"; do wait "$p"; done
  n=$(cat "$w"/many/codes* | grep -c '^200$')
  [ "$n" = 1000 ] && ok "1,000 waiters answered 200" || bad "$n of 1,000 waiters answered 200"
  nb=$(grep -lx b "$w"/many/[0-9]-* 2> /dev/null | wc -l)
  [ "$nb" = 1000 ] && ok "every waiter got the new value" || bad "$nb of 1,000 got the new value"
  hwm=$(kb VmHWM)
  grow=$(( (${hwm:-999999999} - rss_before) / 1024 ))
  # Measured: about 40 MiB for 1,000 waiters (gcc build); ASan's shadow
  # memory and thread stacks take more.
  [ "$grow" -lt 400 ] && ok "memory bounded: +$grow MiB peak for 1,000 waiters" ||
    bad "memory grew $grow MiB for 1,000 waiters"
}

fi

# ---- npm google-auth-library and gcp-metadata ------------------------------------
front=$main_front
if ! have_node; then
  echo "SKIP: npm clients: no google-auth-library and gcp-metadata in" \
    "GAUTH_INTEROP_NODE_MODULES='$nm' or no node (npm ci of tests/interop/node; make test does)"
else
  env GCE_METADATA_HOST="$front" GCE_METADATA_IP="$front" \
    node "$here/metadata-server-clients.mjs" "$nm" "$w/node.json" > "$w/out" 2> "$w/err" < /dev/null
  rc=$?
  cat "$w/out"
  [ "$rc" = 0 ] && ok "npm clients ran" || bad "npm clients: exit $rc"
  if [ -s "$w/node.json" ]; then
    t=$(json_get "$w/node.json" access_token)
    keep_token "$t"
    tokeninfo access_token "$t"
    has "$w/info" "\"email\":\"$SCHED\"" "google-auth-library's access token is the key's account"
    t=$(json_get "$w/node.json" id_token)
    keep_token "$t"
    tokeninfo id_token "$t"
    has "$w/info" "\"email\":\"$SCHED\"" "google-auth-library's ID token is the key's account"
    has "$w/info" '"aud":"https://node.example"' "google-auth-library's ID token audience"
  fi
fi

# ---- Debian python3-google-auth -------------------------------------------------
if ! have_python; then
  echo "SKIP: python3-google-auth: Debian's python3-google-auth and python3-requests are not installed"
else
  env GCE_METADATA_HOST="$front" GCE_METADATA_IP="$front" GCE_METADATA_ROOT="$front" \
    "$py" "$here/metadata-server-clients.py" "$w/python.json" > "$w/out" 2> "$w/err" < /dev/null
  rc=$?
  cat "$w/out"
  [ "$rc" = 0 ] && ok "python3-google-auth ran" || bad "python3-google-auth: exit $rc"
  if [ -s "$w/python.json" ]; then
    t=$(json_get "$w/python.json" access_token)
    keep_token "$t"
    tokeninfo access_token "$t"
    has "$w/info" "\"email\":\"$SCHED\"" "python3-google-auth's token is the key's account"
    [ "$(json_get "$w/python.json" project)" = demo-project ] && ok "python3-google-auth: project" ||
      bad "python3-google-auth: project $(json_get "$w/python.json" project)"
  fi
fi

# ---- no token in the server's output ---------------------------------------------
kill "$main_pid" 2> /dev/null
wait "$main_pid" 2> /dev/null
n=$(sort -u "$w/tokens" | grep -c .)
want=8
[ "$mode" = all ] || want=3 # one access token (cached) and two ID tokens
[ "$n" -ge "$want" ] && ok "$n tokens collected" || bad "only $n tokens collected"
leaked=0
while read -r t; do
  [ -z "$t" ] && continue
  for f in "$w"/main.* "$w"/allow.* "$w"/hundred.* "$w"/imp.* "$w"/ext.* "$w"/user.* "$w"/attrs.* "$w"/chain.* "$w"/many.out "$w"/many.err; do
    [ -f "$f" ] && grep -qF -- "$t" "$f" && { leaked=1; echo "token found in $f"; }
  done
  sig=${t##*.}
  [ ${#sig} -gt 20 ] && grep -lF -- "$sig" "$w"/*.err 2> /dev/null | grep -v '^$' && leaked=1
done < <(sort -u "$w/tokens")
[ "$leaked" = 0 ] && ok "no token in any server output" || bad "a token leaked"
grep -h 'gauth metadata-server: 127' "$w"/main.err | head -n 3

finish metadata-server
