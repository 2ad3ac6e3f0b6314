#!/usr/bin/env bash
# Writes the committed seed corpora of fuzz_jws and fuzz_keyset (this
# folder's fuzz_jws/ and fuzz_keyset/). Run once by hand; the outputs are
# committed, so fuzz.sh needs neither openssl nor a gauth binary.
#
#   bash tests/fuzz/corpus/make-seeds.sh BUILD_DIR   (needs BUILD/examples/gauth/gauth)
#
# Tokens are signed with the fixed keys of tests/bench/bench_keys.h (the
# ones fuzz_jws trusts) by `gauth sign-jwt`, for fuzz_jws's clock
# (now = 1700000600: iat 1700000000, exp 1700003600), issuer
# https://issuer.fuzz.test or https://accounts.google.com, audience
# https://service.fuzz.test. ES256 signatures are random: re-running gives
# other bytes, equally valid.
set -euo pipefail
build=$1
gauth=$build/examples/gauth/gauth
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
. "$src/tests/cli/keys.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The PEM keys out of bench_keys.h, and the kids in the same order.
python3 - "$src/tests/bench/bench_keys.h" "$tmp" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
for name, body in re.findall(r'static const char (bench_\w+)_pem\[\] =\n(.*?);', text, re.S):
    pem = ''.join(re.findall(r'"(.*?)\\n"', body))
    lines = re.findall(r'"(.*?)\\n"', body)
    open(f"{sys.argv[2]}/{name[6:]}.pem", "w").write("\n".join(lines) + "\n")
PY
rsa_kid() { sed -n '/bench_rsa_kids/,/;/p' "$src/tests/bench/bench_keys.h" | grep -o '"[0-9a-f]\{40\}"' | tr -d '"' | sed -n "${1}p"; }
ec_kid() { sed -n '/bench_ec_kids/,/;/p' "$src/tests/bench/bench_keys.h" | grep -o '"[A-Za-z0-9]\{6\}"' | tr -d '"' | sed -n "${1}p"; }
for i in 1 2 3; do
  openssl pkey -in "$tmp/rsa$i.pem" -pubout -out "$tmp/rsa$i-pub.pem"
  openssl pkey -in "$tmp/ec$i.pem" -pubout -out "$tmp/ec$i-pub.pem"
done

J=$here/fuzz_jws
K=$here/fuzz_keyset
rm -rf "$J" "$K"
mkdir -p "$J" "$K"
T=1700000000
AUD=https://service.fuzz.test
c() { # c ISS [AUD_JSON] [EXTRA]
  printf '{"iss":"%s","aud":%s,"sub":"1","iat":%d,"exp":%d%s}' \
    "$1" "${2:-\"$AUD\"}" $T $((T + 3600)) "${3:-}"
}
s() { # s FILE KEY ARGS...
  local f=$1 k=$2
  shift 2
  "$gauth" sign-jwt "--key=$tmp/$k.pem" "$@" | tr -d '\n' > "$J/$f"
}
b64() { printf '%s' "$1" | b64url; }

s rs256_valid rsa2 "--kid=$(rsa_kid 2)" "--claims=$(c https://issuer.fuzz.test)"
s rs256_google rsa1 "--kid=$(rsa_kid 1)" "--claims=$(c https://accounts.google.com '"'$AUD'"' ',"email":"a@b.example","email_verified":true,"azp":"1","hd":"b.example"')"
s es256_valid ec1 "--kid=$(ec_kid 1)" "--claims=$(c https://issuer.fuzz.test)"
s es256_aud_array ec3 "--kid=$(ec_kid 3)" "--claims=$(c https://issuer.fuzz.test '["x","'$AUD'"]')"
s rs256_nokid rsa3 "--claims=$(c https://issuer.fuzz.test)"
s rs256_expired rsa2 "--kid=$(rsa_kid 2)" "--claims={\"iss\":\"https://issuer.fuzz.test\",\"aud\":\"$AUD\",\"iat\":1699990000,\"exp\":1699990100}"
s rs256_nbf rsa2 "--kid=$(rsa_kid 2)" "--claims=$(c https://issuer.fuzz.test '"'$AUD'"' ',"nbf":1700009999')"
s rs256_exp_string rsa2 "--kid=$(rsa_kid 2)" "--claims={\"iss\":\"https://issuer.fuzz.test\",\"aud\":\"$AUD\",\"exp\":\"1700003600\"}"
s rs256_wrong_aud rsa2 "--kid=$(rsa_kid 2)" "--claims=$(c https://issuer.fuzz.test '"https://other.test"')"
s es256_wrong_iss ec2 "--kid=$(ec_kid 2)" "--claims=$(c https://evil.test)"
s rs256_unknown_kid rsa2 --kid=no-such-kid "--claims=$(c https://issuer.fuzz.test)"
s rs256_wrong_key rsa1 "--kid=$(rsa_kid 2)" "--claims=$(c https://issuer.fuzz.test)"
s es256_kid_of_rsa ec1 "--kid=$(rsa_kid 1)" "--claims=$(c https://issuer.fuzz.test)"
v=$(cat "$J/rs256_valid")
printf '%s' "${v%.*}." > "$J/stripped_signature"
printf '%s=' "$v" > "$J/padded"
printf '%s.e30' "$v" > "$J/four_segments"
printf '%s' "${v%%.*}" > "$J/one_segment"
printf ' %s\n' "$v" > "$J/whitespace"
pay=$(printf '%s' "$v" | cut -d. -f2)
printf '%s.%s.' "$(b64 '{"alg":"none","typ":"JWT"}')" "$pay" > "$J/alg_none"
printf '%s.%s.%s' "$(b64 '{"alg":"HS256","typ":"JWT"}')" "$pay" "$(printf 'k' | b64url)" > "$J/alg_hs256"
printf '%s.%s' "$(b64 '{"alg":"RS256","kid":"'"$(rsa_kid 2)"'","crit":["exp"],"exp":1}')" "${v#*.}" > "$J/crit"
printf '%s.%s' "$(b64 '{"alg":"RS256","jku":"https://evil.test/jwks","kid":"../../etc/passwd"}')" "${v#*.}" > "$J/jku_path_kid"
printf '%s.%s' "$(b64 '{"alg":"RS256","alg":"ES256"}')" "${v#*.}" > "$J/dup_alg"
printf '%s.%s.%s' "$(b64 '[1]')" "$pay" "${v##*.}" > "$J/header_array"
# The header's typ (docs/verifying.md): another kind of JWT, validly
# signed (the verifier refuses it as wrong_type, before the signature),
# and the same header on rs256_valid's signature (wrong_type, not
# signature_invalid: the typ is checked first).
h=$(b64 '{"alg":"RS256","typ":"at+jwt","kid":"'"$(rsa_kid 2)"'"}')
printf '%s.%s' "$h" "$pay" > "$tmp/tbs"
openssl dgst -sha256 -sign "$tmp/rsa2.pem" -out "$tmp/sig" "$tmp/tbs"
printf '%s.%s.%s' "$h" "$pay" "$(b64url < "$tmp/sig")" > "$J/typ_at_jwt"
printf '%s.%s.%s' "$(b64 '{"alg":"RS256","typ":"JWU","kid":"'"$(rsa_kid 2)"'"}')" \
  "$pay" "${v##*.}" > "$J/typ_jwu_bad_signature"
# ES256 with the DER signature OpenSSL makes, instead of JOSE r||s.
e=$(cat "$J/es256_valid")
printf '%s' "${e%.*}" > "$tmp/tbs"
openssl dgst -sha256 -sign "$tmp/ec1.pem" -out "$tmp/der" "$tmp/tbs"
printf '%s.%s' "${e%.*}" "$(b64url < "$tmp/der")" > "$J/es256_der_signature"

# ---- key sets ----
{
  printf '{"keys":['
  rsa_pub_jwk "$tmp/rsa1-pub.pem" "$(rsa_kid 1)"; printf ','
  rsa_pub_jwk "$tmp/rsa2-pub.pem" "$(rsa_kid 2)"; printf ','
  ec_pub_jwk "$tmp/ec1-pub.pem" "$(ec_kid 1)"
  printf ']}'
} > "$K/jwks"
ec_pub_jwk "$tmp/ec2-pub.pem" one > "$K/jwk_single"
openssl req -x509 -new -key "$tmp/rsa1.pem" -subj /CN=fuzz -days 1 \
  -set_serial 1 -out "$tmp/rsa1.crt" 2> /dev/null
printf '{"%s":%s,"%s":%s}' "$(rsa_kid 1)" "$(pem_json "$tmp/rsa1.crt")" \
  "$(rsa_kid 2)" "$(pem_json "$tmp/rsa1.crt")" > "$K/certmap"
cp "$tmp/rsa2-pub.pem" "$K/pem_spki"
cp "$tmp/rsa1.crt" "$K/pem_certificate"
openssl rsa -in "$tmp/rsa3.pem" -RSAPublicKey_out -out "$K/pem_pkcs1_public" 2> /dev/null
cp "$tmp/ec3-pub.pem" "$K/pem_ec"
r=$(rsa_pub_jwk "$tmp/rsa1-pub.pem" dup)
printf '{"keys":[%s,%s]}' "$r" "$r" > "$K/duplicate_kids"
printf '{"keys":[]}' > "$K/empty"
printf '{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"},%s]}' "$(ec_pub_jwk "$tmp/ec1-pub.pem" e)" > "$K/oct_and_ec"
ec_pub_jwk "$tmp/ec1-pub.pem" enc | sed 's/"use":"sig"/"use":"enc"/' > "$K/use_enc"
ec_pub_jwk "$tmp/ec1-pub.pem" off | sed 's/"y":"./"y":"A/' > "$K/ec_off_curve"
rsa_pub_jwk "$tmp/rsa1-pub.pem" es ES256 > "$K/rsa_alg_es256"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$tmp/small.pem" 2> /dev/null
openssl pkey -in "$tmp/small.pem" -pubout -out "$tmp/small-pub.pem"
rsa_pub_jwk "$tmp/small-pub.pem" small > "$K/rsa_1024"
rsa_pub_jwk "$tmp/rsa1-pub.pem" noe | sed 's/,"e":"[^"]*"//' > "$K/rsa_missing_e"
printf '{"keys":{"kty":"RSA"}}' > "$K/keys_not_array"
echo "seeds: $(ls "$J" | wc -l) for fuzz_jws, $(ls "$K" | wc -l) for fuzz_keyset"
