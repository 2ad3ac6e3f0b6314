// Real npm clients against gauth-emulator (the CTest fixture "emulator"),
// in GCE mode: GCE_METADATA_HOST / GCE_METADATA_IP name the emulator.
//
//   gcp-metadata 8.x        isAvailable() is true; project-id and the
//                           default account's email read from it;
//   google-auth-library 10  GoogleAuth finds "GCE" (a Compute client):
//                           access token, project id, an ID token
//                           (getIdTokenClient -> idTokenProvider and the
//                           Authorization header it sends), an authorized
//                           request with the access token, and
//                           OAuth2Client.verifyIdToken against /oauth2/v1/certs;
//   jose 6.x                the ID token verifies against /oauth2/v3/certs
//                           (createRemoteJWKSet) with issuer
//                           https://accounts.google.com and the audience;
//                           another audience is rejected.
// The emulator's request counters show that each client reached it.
//
// Usage: node emulator_clients.mjs BASE_URL NODE_MODULES
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// base: the Google APIs; runBase: the Cloud Run front end (the services).
const [base, nodeModules, runBase] = process.argv.slice(2);
const require = createRequire(join(nodeModules, 'resolve-from-here.js'));
const version = (p) => require(`${p}/package.json`).version;
const jose = await import(pathToFileURL(require.resolve('jose')).href);
const gcpMetadata = require('gcp-metadata');
const { GoogleAuth, Compute, OAuth2Client } = require('google-auth-library');
const galRequire = createRequire(require.resolve('google-auth-library'));
console.log(`google-auth-library ${version('google-auth-library')}` +
  ` (its gcp-metadata ${galRequire('gcp-metadata/package.json').version}),` +
  ` gcp-metadata ${version('gcp-metadata')}, jose ${version('jose')};` +
  ` node ${process.version}; emulator ${base}`);

const PROJECT = 'demo-project';
const RUNNER = 'runner@demo-project.iam.gserviceaccount.com';
const AUD = `${runBase}/services/collector`;
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
let passed = 0;
let failed = 0;
const ok = (what) => { passed++; console.log(`ok: ${what}`); };
const bad = (what, detail) => {
  failed++;
  console.log(`FAIL: ${what}${detail ? `: ${detail}` : ''}`);
};
const check = (cond, what, detail) => (cond ? ok(what) : bad(what, detail));
async function step(what, fn) {
  try {
    await fn();
  } catch (e) {
    bad(what, `${e?.constructor?.name}: ${e?.message}` +
      (e?.response ? ` (HTTP ${e.response.status}: ` +
        `${JSON.stringify(e.response.data)})` : ''));
  }
}
// The control API (node's fetch uses no proxy).
async function counters() {
  const r = await fetch(`${base}/emulator/v1/counters`);
  return (await r.json()).requests ?? {};
}
const claimsOf = (jwt) => JSON.parse(
  Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

const before = await counters();

await step('gcp-metadata isAvailable()', async () => {
  const avail = await gcpMetadata.isAvailable();
  check(avail === true, 'gcp-metadata isAvailable() is true', `got ${avail}`);
});
await step('gcp-metadata project/instance', async () => {
  const id = await gcpMetadata.project('project-id');
  check(id === PROJECT, `gcp-metadata project('project-id') = ${id}`);
  const email = await gcpMetadata.instance('service-accounts/default/email');
  check(email === RUNNER,
    `gcp-metadata instance('service-accounts/default/email') = ${email}`);
});

const auth = new GoogleAuth({ scopes: [SCOPE] });
let client;
await step('GoogleAuth.getClient()', async () => {
  client = await auth.getClient();
  check(client instanceof Compute,
    'GoogleAuth.getClient() is a Compute client (GCE detected)',
    `got ${client?.constructor?.name}`);
});
let accessToken;
await step('access token', async () => {
  accessToken = await auth.getAccessToken();
  check(typeof accessToken === 'string' && accessToken.startsWith('ya29.'),
    'GoogleAuth.getAccessToken() gives a ya29. token', `got ${accessToken}`);
  const r = await client.getAccessToken();
  check(r.token === accessToken,
    'Compute.getAccessToken() gives the same (cached) token');
  const info = client.credentials;
  check(typeof info.expiry_date === 'number' &&
    info.expiry_date > Date.now() + 3000 * 1000,
  'the token expires in about an hour (expires_in understood)',
  `expiry_date ${info.expiry_date}`);
});
await step('project id', async () => {
  const id = await auth.getProjectId();
  check(id === PROJECT, `GoogleAuth.getProjectId() = ${id}`);
});
await step('authorized request', async () => {
  // testIamPermissions with the access token: the emulator accepts the
  // token the client sends and answers for the runner account.
  const res = await client.request({
    url: `${base}/v1/projects/${PROJECT}:testIamPermissions`,
    method: 'POST',
    data: { permissions: ['resourcemanager.projects.get'] },
  });
  check(res.status === 200 && typeof res.data === 'object',
    'Compute.request() to testIamPermissions: 200 with the access token',
    `${res.status} ${JSON.stringify(res.data)}`);
});

let idToken;
await step('ID token', async () => {
  const idClient = await auth.getIdTokenClient(AUD);
  idToken = await idClient.idTokenProvider.fetchIdToken(AUD);
  const c = claimsOf(idToken);
  check(c.aud === AUD && c.email === RUNNER &&
    c.iss === 'https://accounts.google.com',
  'getIdTokenClient(aud).idTokenProvider.fetchIdToken(aud): ID token for' +
    ' the runner account with that audience', JSON.stringify(c));
  const headers = await idClient.getRequestHeaders();
  const authz = typeof headers.get === 'function' ?
    headers.get('authorization') : headers.Authorization;
  check(authz === `Bearer ${idToken}` ||
      (authz?.startsWith('Bearer ') &&
       claimsOf(authz.slice(7)).aud === AUD),
  'IdTokenClient.getRequestHeaders(): Authorization: Bearer <ID token>',
  `got ${authz}`);
});

if (idToken) {
  const JWKS = jose.createRemoteJWKSet(new URL(`${base}/oauth2/v3/certs`));
  await step('jose verify', async () => {
    const { payload, protectedHeader } = await jose.jwtVerify(idToken, JWKS, {
      issuer: 'https://accounts.google.com', audience: AUD,
      algorithms: ['RS256'],
    });
    check(payload.email === RUNNER && protectedHeader.alg === 'RS256' &&
      typeof protectedHeader.kid === 'string',
    'jose jwtVerify with createRemoteJWKSet(/oauth2/v3/certs): valid' +
      ` (kid ${protectedHeader.kid})`);
  });
  await step('jose rejects another audience', async () => {
    try {
      await jose.jwtVerify(idToken, JWKS, {
        issuer: 'https://accounts.google.com', audience: `${AUD}/other`,
      });
      bad('jose rejects the ID token for another audience', 'accepted');
    } catch (e) {
      check(e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && e.claim === 'aud',
        'jose rejects the ID token for another audience', `${e.code}`);
    }
  });
  await step('OAuth2Client.verifyIdToken', async () => {
    const oc = new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: `${base}/oauth2/v1/certs` },
    });
    const ticket = await oc.verifyIdToken({ idToken, audience: AUD });
    check(ticket.getPayload().email === RUNNER,
      'google-auth-library OAuth2Client.verifyIdToken against /oauth2/v1/certs');
  });
}

// Each client reached the emulator (and nothing else could have answered).
const after = await counters();
const delta = (p) => (after[p] ?? 0) - (before[p] ?? 0);
const md = '/computeMetadata/v1';
for (const [path, what] of [
  [`${md}/instance`, 'isAvailable() ping'],
  [`${md}/project/project-id`, 'project id'],
  [`${md}/instance/service-accounts/default/token`, 'access token'],
  [`${md}/instance/service-accounts/default/identity`, 'ID token'],
  ['/oauth2/v3/certs', 'jose key set'],
  ['/oauth2/v1/certs', 'verifyIdToken certificates'],
]) {
  check(delta(path) >= 1, `the emulator served ${path} (${what}):` +
    ` ${delta(path)} request(s)`);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
