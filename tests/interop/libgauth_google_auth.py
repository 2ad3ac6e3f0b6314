"""Tokens minted by libgauth, verified by Debian's python3-google-auth.

Usage: libgauth_google_auth.py MINT KEY_FILE BASE_URL RUN_BASE_URL

BASE_URL is the emulator's Google APIs, RUN_BASE_URL its Cloud Run front end
(the audience is a service URL there).

MINT is the interop_mint program: an ID token from the emulator's token
endpoint through a libgauth service-account credential, and two self-signed
JWTs (libgauth signs them locally). google-auth verifies the ID token with
id_token.verify_token against the emulator's /oauth2/v1/certs, and the
self-signed JWTs with jwt.decode and the service account's public key.
Every check prints "ok: ..." or "FAIL: ..."; exit 1 on any failure.
"""
import json
import subprocess
import sys
import time

import google.auth.transport.requests
import requests
from cryptography.hazmat.primitives import serialization
from google.auth import jwt
from google.oauth2 import id_token

mint, key_file, base, run_base = sys.argv[1:5]
audience = run_base + "/services/collector"
jwt_audience = "https://pubsub.googleapis.com/"
failed = 0


def check(cond, what):
    global failed
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failed += 1


out = subprocess.run([mint, key_file, audience, jwt_audience],
                     capture_output=True, text=True, check=False)
if out.returncode != 0:
    print("FAIL: interop_mint: " + out.stderr.strip())
    sys.exit(1)
idt, self_scope, self_aud = out.stdout.split()
with open(key_file) as f:
    key = json.load(f)
email = key["client_email"]
now = time.time()

session = requests.Session()
session.trust_env = False  # loopback only: no proxy
request = google.auth.transport.requests.Request(session=session)
claims = id_token.verify_token(idt, request, audience=audience,
                               certs_url=base + "/oauth2/v1/certs")
check(claims["aud"] == audience, "ID token: aud is the audience asked for")
check(claims.get("email") == email, "ID token: email is the service account")
check(claims["iss"] in ("accounts.google.com", "https://accounts.google.com"),
      "ID token: Google's issuer")
check(claims["exp"] > now, "ID token: not expired")

private = serialization.load_pem_private_key(
    key["private_key"].encode(), password=None)
public_pem = private.public_key().public_bytes(
    serialization.Encoding.PEM,
    serialization.PublicFormat.SubjectPublicKeyInfo)
certs = {key["private_key_id"]: public_pem}

header = jwt.decode_header(self_scope)
check(header.get("kid") == key["private_key_id"] and header.get("alg") == "RS256",
      "self-signed JWT: RS256 with kid = private_key_id")
c = jwt.decode(self_scope, certs=certs)
check(c["iss"] == email and c["sub"] == email, "self-signed JWT: iss = sub = email")
check(c.get("scope") == "https://www.googleapis.com/auth/cloud-platform",
      "self-signed JWT: scope claim")
check("aud" not in c, "self-signed JWT with scope: no aud")
check(c["exp"] - c["iat"] == 3600 and c["iat"] <= now + 1,
      "self-signed JWT: one hour from iat")

c = jwt.decode(self_aud, certs=certs, audience=jwt_audience)
check(c["aud"] == jwt_audience and "scope" not in c,
      "self-signed JWT with jwt_audience: aud, no scope")

# A tampered token must fail in google-auth too (the check can fail).
tampered = self_aud[:-4] + ("AAAA" if not self_aud.endswith("AAAA") else "BBBB")
try:
    jwt.decode(tampered, certs=certs, audience=jwt_audience)
    check(False, "tampered self-signed JWT rejected")
except ValueError:
    check(True, "tampered self-signed JWT rejected")

print("libgauth -> python3-google-auth: %d failed" % failed)
sys.exit(1 if failed else 0)
