"""Interop with Debian's python3-jwt (PyJWT 2.6), both directions, RS256
and ES256:

  PyJWT signs  -> `gauth verify` (libgauth's verifier) accepts, with the
                  same claims, from a JWKS (PyJWT's to_jwk) and from a PEM
                  public key; another token's signature is rejected;
  gauth signs  -> PyJWT's jwt.decode accepts (header and claims as given),
                  from PKCS#8 and from traditional PEM private keys (PKCS#1
                  "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY"); PyJWT rejects a
                  swapped signature.

Usage: /usr/bin/python3 interop_pyjwt.py GAUTH_BINARY WORK_DIR
"""
import base64
import json
import os
import subprocess
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

gauth, work = sys.argv[1], sys.argv[2]
ISS = "https://issuer.interop.test"
AUD = "https://service.interop.test/"
passed = failed = 0
print(f"PyJWT {jwt.__version__} from {jwt.__file__}")


def ok(what):
    global passed
    passed += 1
    print(f"ok: {what}")


def bad(what, detail=""):
    global failed
    failed += 1
    print(f"FAIL: {what}{': ' + detail if detail else ''}")


def gauth_run(args, stdin=""):
    p = subprocess.run([gauth] + args, input=stdin, capture_output=True,
                       text=True, check=False)
    return p.returncode, p.stdout, p.stderr


def swap_sig(a, b):
    return ".".join(a.split(".")[:2] + [b.split(".")[2]])


def claims_for(alg, direction):
    now = int(time.time())
    return {"iss": ISS, "aud": AUD, "sub": f"{direction}-{alg}", "iat": now,
            "exp": now + 600, "email": "svc@p.iam.gserviceaccount.com",
            "email_verified": True, "name": "Ünïcødé ✓ \"q\" \\",
            "nested": {"a": [1, 2, {"b": None}]}}


def coordinate_lengths(jwk):
    return [len(base64.urlsafe_b64decode(jwk[c] + "=" * (-len(jwk[c]) % 4)))
            for c in ("x", "y")]


def full_size_ec_key(to_jwk, want_short):
    """A P-256 key whose PyJWT JWK has both coordinates at 32 bytes, or (with
    want_short) one with a shorter coordinate; at most 20000 tries (one key
    in about 128 has a short one)."""
    for _ in range(20000):
        priv = ec.generate_private_key(ec.SECP256R1())
        short = min(coordinate_lengths(json.loads(to_jwk(priv.public_key())))) < 32
        if short == want_short:
            return priv
    sys.exit("interop_pyjwt: no P-256 key of the kind wanted in 20000 tries")


def check_short_coordinate_refused(priv, to_jwk, d):
    jwk = json.loads(to_jwk(priv.public_key()))
    jwk.update({"kid": "short", "alg": "ES256"})
    path = os.path.join(d, "short-jwks.json")
    with open(path, "w") as f:
        json.dump({"keys": [jwk]}, f)
    pem = priv.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    token = jwt.encode(claims_for("ES256", "short"), pem, algorithm="ES256",
                       headers={"kid": "short"})
    rc, out, err = gauth_run(["verify", "-", f"--audience={AUD}",
                              f"--issuer={ISS}", f"--jwks={path}",
                              "--alg=ES256"], token + "\n")
    if rc == 1 and 'bytes; P-256 needs exactly 32' in err:
        ok("ES256 PyJWT JWK with a short coordinate: refused, the size named")
    else:
        bad("ES256 PyJWT JWK with a short coordinate", f"exit {rc} {err.strip()}")


for alg in ("RS256", "ES256"):
    kid = f"pyjwt-{alg.lower()}"
    d = os.path.join(work, alg)
    os.makedirs(d, exist_ok=True)
    if alg == "RS256":
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        to_jwk = jwt.algorithms.RSAAlgorithm.to_jwk
    else:
        # PyJWT 2.6 writes EC coordinates as minimal big-endian integers: in
        # about one key in 128, x or y loses a leading zero byte, and RFC 7518
        # 6.2.1.2 says the coordinate MUST have the curve's full size (32
        # bytes). libgauth refuses such a JWK (checked once below, on a key
        # made so); the interop runs on a key PyJWT writes correctly.
        to_jwk = jwt.algorithms.ECAlgorithm.to_jwk
        priv = full_size_ec_key(to_jwk, want_short=False)
        check_short_coordinate_refused(
            full_size_ec_key(to_jwk, want_short=True), to_jwk, d)
    pub = priv.public_key()
    jwk = json.loads(to_jwk(pub))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    files = {
        "jwks.json": json.dumps({"keys": [jwk]}).encode(),
        "public.pem": pub.public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo),
        "pkcs8.pem": priv.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()),
        "traditional.pem": priv.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()),
    }
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    pem = files["pkcs8.pem"]

    # ---- PyJWT signs, libgauth verifies ----
    for keys, header in (("jwks.json", {"kid": kid}), ("public.pem", None)):
        c = claims_for(alg, f"pyjwt-to-gauth-{keys}")
        token = jwt.encode(c, pem, algorithm=alg, headers=header)
        args = ["verify", "-", f"--audience={AUD}", f"--issuer={ISS}",
                f"--jwks={os.path.join(d, keys)}", f"--alg={alg}"]
        rc, out, err = gauth_run(args, token + "\n")
        if rc != 0:
            bad(f"{alg} PyJWT -> libgauth ({keys}): exit {rc}", err.strip())
        else:
            try:
                got = json.loads(out)
            except ValueError:
                got = None
            if got == c:
                ok(f"{alg} PyJWT -> libgauth ({keys}): verified, same claims")
            else:
                bad(f"{alg} PyJWT -> libgauth ({keys}): claims differ",
                    out.strip())
        other = jwt.encode(dict(c, sub="someone-else"), pem, algorithm=alg,
                           headers=header)
        rc, out, err = gauth_run(args, swap_sig(token, other))
        if rc == 1 and "token rejected: signature_invalid" in err:
            ok(f"{alg} PyJWT -> libgauth ({keys}): swapped signature rejected")
        else:
            bad(f"{alg} PyJWT -> libgauth ({keys}): swapped signature",
                f"exit {rc} {err.strip()}")

    # ---- libgauth signs, PyJWT verifies ----
    for key_file in ("pkcs8.pem", "traditional.pem"):
        c = claims_for(alg, f"gauth-to-pyjwt-{key_file}")
        rc, out, err = gauth_run([
            "sign-jwt", f"--key={os.path.join(d, key_file)}",
            f"--claims={json.dumps(c)}", f"--kid={kid}", f"--alg={alg}"])
        if rc != 0:
            bad(f"{alg} libgauth ({key_file}) -> PyJWT: sign-jwt exit {rc}",
                err.strip())
            continue
        token = out.rstrip("\n")
        try:
            header = jwt.get_unverified_header(token)
            got = jwt.decode(token, files["public.pem"], algorithms=[alg],
                             audience=AUD, issuer=ISS)
            if header != {"alg": alg, "typ": "JWT", "kid": kid}:
                bad(f"{alg} libgauth ({key_file}) -> PyJWT: header",
                    json.dumps(header))
            elif got != c:
                bad(f"{alg} libgauth ({key_file}) -> PyJWT: claims differ",
                    json.dumps(got))
            else:
                ok(f"{alg} libgauth ({key_file}) -> PyJWT: verified, header "
                   "and claims as signed")
        except jwt.PyJWTError as e:
            bad(f"{alg} libgauth ({key_file}) -> PyJWT: rejected",
                f"{type(e).__name__}: {e}")
            continue
        rc, out2, err = gauth_run([
            "sign-jwt", f"--key={os.path.join(d, key_file)}",
            f"--claims={json.dumps(dict(c, sub='someone-else'))}",
            f"--alg={alg}"])
        try:
            jwt.decode(swap_sig(token, out2.strip()), files["public.pem"],
                       algorithms=[alg], audience=AUD, issuer=ISS)
            bad(f"{alg} libgauth ({key_file}) -> PyJWT: swapped signature "
                "accepted")
        except jwt.InvalidSignatureError:
            ok(f"{alg} libgauth ({key_file}) -> PyJWT: swapped signature "
               "rejected")
        except jwt.PyJWTError as e:
            bad(f"{alg} libgauth ({key_file}) -> PyJWT: swapped signature",
                f"{type(e).__name__}: {e}")

print(f"interop pyjwt: {passed} passed, {failed} failed")
sys.exit(0 if failed == 0 and passed > 0 else 1)
