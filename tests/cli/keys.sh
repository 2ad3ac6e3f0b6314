# Shell helpers for tests that need keys and key sets (sourced, not run):
# keys from openssl, JWKs and JWKS assembled from their public parts.
# Needs openssl and perl (Debian: essential).

# b64url: standard input to unpadded base64url on one line.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# rsa_pub_jwk PUBLIC_PEM KID [ALG]: a public RSA JWK.
rsa_pub_jwk() {
  n=$(openssl rsa -pubin -in "$1" -noout -modulus | sed 's/^Modulus=//' |
      perl -ne 'chomp; print pack("H*", $_)' | b64url)
  e=$(openssl rsa -pubin -in "$1" -noout -text |
      sed -n 's/^Exponent: \([0-9]*\).*/\1/p' |
      perl -ne 'chomp; my $v = $_; my $s = ""; while ($v > 0) {
                $s = chr($v & 255) . $s; $v >>= 8 } print $s' | b64url)
  printf '{"kty":"RSA","kid":"%s","use":"sig","alg":"%s","n":"%s","e":"%s"}' \
    "$2" "${3:-RS256}" "$n" "$e"
}

# ec_pub_jwk PUBLIC_PEM KID: a public P-256 JWK. The SPKI of a P-256 key
# ends with the uncompressed point 04 || X || Y.
ec_pub_jwk() {
  pt=$(mktemp)
  openssl pkey -pubin -in "$1" -outform DER | tail -c 64 > "$pt"
  x=$(head -c 32 "$pt" | b64url)
  y=$(tail -c 32 "$pt" | b64url)
  rm -f "$pt"
  printf '{"kty":"EC","crv":"P-256","kid":"%s","use":"sig","alg":"ES256","x":"%s","y":"%s"}' \
    "$2" "$x" "$y"
}

# pem_json FILE: the file's text as a JSON string (newlines escaped).
pem_json() {
  printf '"'
  awk '{ printf "%s\\n", $0 }' "$1"
  printf '"'
}

# make_keys DIR: rsa.pem / rsa-pub.pem, rsa2.pem / rsa2-pub.pem, ec.pem /
# ec-pub.pem, rsa.crt (self-signed certificate of rsa.pem).
make_keys() {
  for k in rsa rsa2; do
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
      -out "$1/$k.pem" 2>/dev/null
    openssl pkey -in "$1/$k.pem" -pubout -out "$1/$k-pub.pem"
  done
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$1/ec.pem" 2>/dev/null
  openssl pkey -in "$1/ec.pem" -pubout -out "$1/ec-pub.pem"
  openssl req -x509 -new -key "$1/rsa.pem" -subj /CN=gauth-test -days 2 \
    -out "$1/rsa.crt" 2>/dev/null
}
