"""Debian's python3-google-auth (1.5.1) against `gauth metadata-server`
(GCE_METADATA_ROOT / GCE_METADATA_IP name it), as on a VM:
compute_engine.Credentials refreshes its access token from the default
account's token path; google.auth.default() finds the metadata server and
its project; the email path read through its _metadata helper. (Its GCE ID
token goes through IAM signBlob at a fixed URL, not the metadata server:
not tried here.) Writes {"access_token","project"} to OUT_JSON for
metadata-server.sh to check at the emulator's tokeninfo; never prints a
token.

Usage: /usr/bin/python3 metadata-server-clients.py OUT_JSON
"""
import json
import sys

import google.auth
import google.auth.transport.requests
from google.auth import compute_engine
from google.auth.compute_engine import _metadata

out_json = sys.argv[1]
SCHED = "scheduler@demo-project.iam.gserviceaccount.com"
failed = 0
out = {}


def check(cond, what, detail=""):
    global failed
    if cond:
        print("ok: " + what)
    else:
        failed += 1
        print("FAIL: " + what + (": " + detail if detail else ""))


request = google.auth.transport.requests.Request()
try:
    check(_metadata.ping(request), "_metadata.ping")
    email = _metadata.get(request, "instance/service-accounts/default/email")
    check(email == SCHED, "default email = %s" % email)
    creds = compute_engine.Credentials()
    creds.refresh(request)
    check(bool(creds.token) and creds.valid, "compute_engine.Credentials refresh")
    out["access_token"] = creds.token
    found, project = google.auth.default()
    check(isinstance(found, compute_engine.Credentials),
          "google.auth.default() finds the metadata server",
          type(found).__name__)
    out["project"] = project
except Exception as e:  # every failure is a FAIL line, never a traceback
    check(False, "python3-google-auth", "%s: %s" % (type(e).__name__, e))
with open(out_json, "w") as f:
    json.dump(out, f)
print("python clients: %s" % ("FAILED" if failed else "passed"))
sys.exit(1 if failed else 0)
