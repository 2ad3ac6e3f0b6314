// Interop with npm `jose` 6.x, both directions, RS256 and ES256:
//   jose signs   -> `gauth verify` (libgauth's verifier) accepts, with the
//                   same claims; a token with another token's signature is
//                   rejected as signature_invalid;
//   gauth signs  -> jose's jwtVerify accepts (header and claims as given);
//                   jose rejects a libgauth token with a swapped signature.
// libgauth signs from the private key as jose exported it, as a JWK and as
// PKCS#8 PEM.
//
// Usage: node interop_jose.mjs GAUTH_BINARY WORK_DIR NODE_MODULES
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const [gauth, work, nodeModules] = process.argv.slice(2);
const require = createRequire(join(nodeModules, 'resolve-from-here.js'));
const josePath = require.resolve('jose');
const jose = await import(pathToFileURL(josePath).href);
const version = require('jose/package.json').version;
console.log(`jose ${version} from ${josePath}`);

const ISS = 'https://issuer.interop.test';
const AUD = 'https://service.interop.test/';
let passed = 0;
let failed = 0;
const ok = (what) => { passed++; console.log(`ok: ${what}`); };
const bad = (what, detail) => {
  failed++;
  console.log(`FAIL: ${what}${detail ? `: ${detail}` : ''}`);
};

// Runs gauth; returns {code, stdout, stderr}. The token goes on stdin.
function gauthRun(args, input) {
  try {
    const stdout = execFileSync(gauth, args, {
      input: input ?? '', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
    });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    if (typeof e.status !== 'number') throw e;
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

const swapSig = (a, b) =>
  `${a.split('.').slice(0, 2).join('.')}.${b.split('.')[2]}`;

function claimsFor(alg, dir) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISS, aud: AUD, sub: `${dir}-${alg}`, iat: now, exp: now + 600,
    email: 'svc@p.iam.gserviceaccount.com', email_verified: true,
    name: 'Ünïcødé ✓ "quoted" \\ slash', nested: { a: [1, 2, { b: null }] },
  };
}

for (const alg of ['RS256', 'ES256']) {
  const kid = `jose-${alg.toLowerCase()}`;
  const { publicKey, privateKey } =
    await jose.generateKeyPair(alg, { extractable: true });
  const pubJwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  const privJwk = { ...(await jose.exportJWK(privateKey)), kid, alg };
  const jwks = { keys: [pubJwk] };
  const dir = join(work, alg);
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
  writeFileSync(join(dir, 'private.jwk'), JSON.stringify(privJwk));
  writeFileSync(join(dir, 'private.pem'), await jose.exportPKCS8(privateKey));
  const verifyArgs = ['verify', '-', `--audience=${AUD}`, `--issuer=${ISS}`,
    `--jwks=${join(dir, 'jwks.json')}`, `--alg=${alg}`];

  // ---- jose signs, libgauth verifies ----
  const claims = claimsFor(alg, 'jose-to-gauth');
  const token = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(privateKey);
  let r = gauthRun(verifyArgs, `${token}\n`);
  if (r.code !== 0) {
    bad(`${alg} jose -> libgauth: gauth verify exit ${r.code}`, r.stderr.trim());
  } else {
    let got = null;
    try { got = JSON.parse(r.stdout); } catch (e) { /* reported below */ }
    if (isDeepStrictEqual(got, claims)) ok(`${alg} jose -> libgauth: verified, same claims`);
    else bad(`${alg} jose -> libgauth: claims differ`, r.stdout.trim());
  }
  // aud as an array, one of them ours: accepted with azp naming ours
  // (docs/verifying.md), refused without azp.
  const token2 = await new jose.SignJWT({ ...claims, aud: ['other', AUD], azp: AUD })
    .setProtectedHeader({ alg, kid }).sign(privateKey);
  r = gauthRun(verifyArgs, token2);
  if (r.code === 0) ok(`${alg} jose -> libgauth: aud array with azp, no typ`);
  else bad(`${alg} jose -> libgauth: aud array with azp`, r.stderr.trim());
  const token3 = await new jose.SignJWT({ ...claims, aud: ['other', AUD] })
    .setProtectedHeader({ alg, kid }).sign(privateKey);
  r = gauthRun(verifyArgs, token3);
  if (r.code === 1 && r.stderr.includes('token rejected: missing_claim'))
    ok(`${alg} jose -> libgauth: aud array without azp rejected`);
  else bad(`${alg} jose -> libgauth: aud array without azp`, `exit ${r.code} ${r.stderr.trim()}`);
  // Another token's signature: rejected.
  r = gauthRun(verifyArgs, swapSig(token, token2));
  if (r.code === 1 && r.stderr.includes('token rejected: signature_invalid'))
    ok(`${alg} jose -> libgauth: swapped signature rejected`);
  else bad(`${alg} jose -> libgauth: swapped signature`, `exit ${r.code} ${r.stderr.trim()}`);
  // Expired by jose's clock and ours.
  const expired = await new jose.SignJWT({ ...claims, iat: claims.iat - 7200, exp: claims.iat - 3600 })
    .setProtectedHeader({ alg, kid }).sign(privateKey);
  r = gauthRun(verifyArgs, expired);
  if (r.code === 1 && r.stderr.includes('token rejected: expired'))
    ok(`${alg} jose -> libgauth: expired token rejected`);
  else bad(`${alg} jose -> libgauth: expired`, `exit ${r.code} ${r.stderr.trim()}`);

  // ---- libgauth signs, jose verifies ----
  const keySet = jose.createLocalJWKSet(jwks);
  for (const keyFile of ['private.jwk', 'private.pem']) {
    const c = claimsFor(alg, `gauth-to-jose-${keyFile}`);
    const args = ['sign-jwt', `--key=${join(dir, keyFile)}`,
      `--claims=${JSON.stringify(c)}`];
    if (keyFile === 'private.pem') args.push(`--kid=${kid}`, `--alg=${alg}`);
    r = gauthRun(args);
    if (r.code !== 0) {
      bad(`${alg} libgauth (${keyFile}) -> jose: sign-jwt exit ${r.code}`, r.stderr.trim());
      continue;
    }
    const signed = r.stdout.replace(/\n$/, '');
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(signed, keySet, {
        issuer: ISS, audience: AUD, algorithms: [alg],
      });
      const wantHeader = { alg, typ: 'JWT', kid };
      if (!isDeepStrictEqual(protectedHeader, wantHeader))
        bad(`${alg} libgauth (${keyFile}) -> jose: header`, JSON.stringify(protectedHeader));
      else if (!isDeepStrictEqual(payload, c))
        bad(`${alg} libgauth (${keyFile}) -> jose: claims differ`, JSON.stringify(payload));
      else ok(`${alg} libgauth (${keyFile}) -> jose: verified, header and claims as signed`);
    } catch (e) {
      bad(`${alg} libgauth (${keyFile}) -> jose: rejected`, `${e.code} ${e.message}`);
    }
    if (alg === 'ES256') {
      const sigLen = Buffer.from(signed.split('.')[2], 'base64url').length;
      if (sigLen === 64) ok(`${alg} libgauth: signature in JOSE r||s form (64 bytes)`);
      else bad(`${alg} libgauth: signature is ${sigLen} bytes, not 64`);
    }
    // A libgauth token with another libgauth token's signature: jose says no.
    const r2 = gauthRun(['sign-jwt', `--key=${join(dir, 'private.jwk')}`,
      `--claims=${JSON.stringify({ ...c, sub: 'someone-else' })}`]);
    try {
      await jose.jwtVerify(swapSig(signed, r2.stdout.trim()), keySet,
        { issuer: ISS, audience: AUD, algorithms: [alg] });
      bad(`${alg} libgauth (${keyFile}) -> jose: swapped signature accepted`);
    } catch (e) {
      if (e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED')
        ok(`${alg} libgauth (${keyFile}) -> jose: swapped signature rejected`);
      else bad(`${alg} libgauth (${keyFile}) -> jose: swapped signature`, `${e.code}`);
    }
  }
}

console.log(`interop jose: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
