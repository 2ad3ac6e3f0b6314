"""Debian's python3-google-auth (1.5.1) against gauth-emulator (the CTest
fixture "emulator"), with the emulator's service-account key file (its
token_uri is the emulator's /token):

  service_account.Credentials          refresh -> access token (jwt-bearer
                                       grant); AuthorizedSession sends it to
                                       testIamPermissions, which answers for
                                       the key's account;
  service_account.IDTokenCredentials   refresh -> ID token (target_audience);
                                       AuthorizedSession calls the Cloud Run
                                       service it is for;
  google.auth.default()                finds the key file
                                       (GOOGLE_APPLICATION_CREDENTIALS) and
                                       its project;
  id_token.verify_token                verifies the ID token against
                                       /oauth2/v1/certs (certs_url), and
                                       rejects it for another audience.

Usage: /usr/bin/python3 emulator_google_auth.py BASE_URL KEY_FILE
"""
import json
import sys
import urllib.request

import google.auth
import google.auth.transport.requests
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import id_token, service_account

# base: the Google APIs; run_base: the Cloud Run front end (the services).
base, key_file, run_base = sys.argv[1], sys.argv[2], sys.argv[3]
PROJECT = "demo-project"
INVOKER = "scheduler@demo-project.iam.gserviceaccount.com"
AUD = run_base + "/services/collector"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
passed = failed = 0
print("google-auth from %s, requests %s, python %s; emulator %s" % (
    google.auth.__file__, requests.__version__, sys.version.split()[0], base))


def ok(what):
    global passed
    passed += 1
    print("ok: " + what)


def bad(what, detail=""):
    global failed
    failed += 1
    print("FAIL: " + what + (": " + detail if detail else ""))


def check(cond, what, detail=""):
    if cond:
        ok(what)
    else:
        bad(what, detail)


def step(what, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - report and go on
        bad(what, "%s: %s" % (type(e).__name__, e))


def counters():
    # The control API, without any proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(base + "/emulator/v1/counters") as r:
        return json.load(r).get("requests", {})


request = google.auth.transport.requests.Request()
before = counters()
state = {}


def access_token():
    creds = service_account.Credentials.from_service_account_file(
        key_file, scopes=SCOPES)
    check(creds.service_account_email == INVOKER,
          "from_service_account_file: account " + creds.service_account_email)
    creds.refresh(request)
    check(isinstance(creds.token, str) and creds.token.startswith("ya29."),
          "service_account.Credentials.refresh(): a ya29. access token",
          repr(creds.token))
    check(creds.valid and creds.expiry is not None,
          "the credentials are valid, with an expiry (%s)" % creds.expiry)
    # The emulator accepts the token and answers for the key's account.
    session = AuthorizedSession(creds)
    r = session.post(
        base + "/v2/projects/%s/locations/us-central1/jobs/collect"
        ":testIamPermissions" % PROJECT,
        json={"permissions": ["run.jobs.run", "run.jobs.delete"]})
    check(r.status_code == 200 and
          r.json().get("permissions") == ["run.jobs.run"],
          "AuthorizedSession with the access token: testIamPermissions on "
          "the job grants run.jobs.run, not run.jobs.delete",
          "%d %s" % (r.status_code, r.text))


def default_creds():
    creds, project = google.auth.default(scopes=SCOPES)
    check(project == PROJECT and
          getattr(creds, "service_account_email", None) == INVOKER,
          "google.auth.default(): the key file's account and project %s"
          % project)


def id_token_creds():
    creds = service_account.IDTokenCredentials.from_service_account_file(
        key_file, target_audience=AUD)
    creds.refresh(request)
    tok = creds.token
    state["id_token"] = tok
    check(isinstance(tok, str) and tok.count(".") == 2,
          "IDTokenCredentials.refresh(): an ID token (JWT)", repr(tok))
    session = AuthorizedSession(creds)
    r = session.get(AUD + "/")
    check(r.status_code == 200,
          "AuthorizedSession with the ID token: the Cloud Run service "
          "answers 200", "%d %s" % (r.status_code, r.text[:200]))


def verify():
    tok = state.get("id_token")
    if not tok:
        bad("verify_token", "no ID token")
        return
    claims = id_token.verify_token(tok, request, audience=AUD,
                                   certs_url=base + "/oauth2/v1/certs")
    check(claims.get("aud") == AUD and claims.get("email") == INVOKER and
          claims.get("iss") == "https://accounts.google.com",
          "id_token.verify_token(certs_url=/oauth2/v1/certs): valid, aud, "
          "email and iss as expected", json.dumps(claims))
    try:
        id_token.verify_token(tok, request, audience=AUD + "/other",
                              certs_url=base + "/oauth2/v1/certs")
        bad("verify_token rejects another audience", "accepted")
    except ValueError as e:
        check("audience" in str(e).lower(),
              "verify_token rejects another audience (%s)" % e)


step("access token", access_token)
step("google.auth.default()", default_creds)
step("ID token", id_token_creds)
step("verify_token", verify)

after = counters()
for path, what in [("/token", "jwt-bearer grants"),
                   ("/oauth2/v1/certs", "verify_token certificates")]:
    d = after.get(path, 0) - before.get(path, 0)
    check(d >= 2 if path == "/token" else d >= 1,
          "the emulator served %s (%s): %d request(s)" % (path, what, d))

print("%d passed, %d failed" % (passed, failed))
sys.exit(0 if failed == 0 and passed > 0 else 1)
