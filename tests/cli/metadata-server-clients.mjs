// npm gcp-metadata and google-auth-library against `gauth metadata-server`
// (GCE_METADATA_HOST / GCE_METADATA_IP name it), as on a VM:
//   gcp-metadata          isAvailable(), project('project-id'),
//                         instance('service-accounts/default/email');
//   google-auth-library   GoogleAuth finds a Compute client; its access
//                         token, its project id, and an ID token
//                         (getIdTokenClient -> idTokenProvider).
// Writes {"access_token","id_token"} to OUT_JSON for metadata-server.sh to
// check at the emulator's tokeninfo; prints ok/FAIL lines, never a token.
//
// Usage: node metadata-server-clients.mjs NODE_MODULES OUT_JSON
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [nodeModules, outJson] = process.argv.slice(2);
const require = createRequire(join(nodeModules, 'resolve-from-here.js'));
const version = (p) => require(`${p}/package.json`).version;
const gcpMetadata = require('gcp-metadata');
const { GoogleAuth, Compute } = require('google-auth-library');
console.log(`google-auth-library ${version('google-auth-library')},` +
  ` gcp-metadata ${version('gcp-metadata')}; node ${process.version};` +
  ` metadata server ${process.env.GCE_METADATA_HOST}`);

const SCHED = 'scheduler@demo-project.iam.gserviceaccount.com';
const AUD = 'https://node.example';
let failed = 0;
const ok = (what) => console.log(`ok: ${what}`);
const bad = (what, detail) => {
  failed++;
  console.log(`FAIL: ${what}${detail ? `: ${detail}` : ''}`);
};
const check = (cond, what, detail) => (cond ? ok(what) : bad(what, detail));
async function step(what, fn) {
  try {
    await fn();
  } catch (e) {
    bad(what, `${e?.constructor?.name}: ${e?.message}`);
  }
}
const out = {};

await step('gcp-metadata', async () => {
  check(await gcpMetadata.isAvailable() === true, 'gcp-metadata isAvailable()');
  const id = await gcpMetadata.project('project-id');
  check(id === 'demo-project', `gcp-metadata project('project-id') = ${id}`);
  const email = await gcpMetadata.instance('service-accounts/default/email');
  check(email === SCHED, `gcp-metadata default email = ${email}`);
});
await step('google-auth-library', async () => {
  const auth = new GoogleAuth({
    scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  const client = await auth.getClient();
  check(client instanceof Compute, 'GoogleAuth found a Compute client',
    client?.constructor?.name);
  const { token } = await client.getAccessToken();
  check(typeof token === 'string' && token.length > 10,
    'Compute access token');
  out.access_token = token;
  const project = await auth.getProjectId();
  check(project === 'demo-project', `GoogleAuth project = ${project}`);
  const idClient = await auth.getIdTokenClient(AUD);
  const idt = await idClient.idTokenProvider.fetchIdToken(AUD);
  check(typeof idt === 'string' && idt.split('.').length === 3,
    'ID token through getIdTokenClient');
  out.id_token = idt;
});
writeFileSync(outJson, JSON.stringify(out));
console.log(`node clients: ${failed ? 'FAILED' : 'passed'}`);
process.exit(failed ? 1 : 0);
