// npm gcp-metadata's isAvailable() against the two addresses of
// gauth-bench-creds' detect-offline case, printed in its format:
//
//   detect-offline refused|silent gcp-metadata median_ms=M max_ms=M runs=N
//       (gcp-metadata VERSION, node VERSION[; N MetadataLookupWarning])
//
// Usage: node gcp_metadata_detect.mjs NODE_MODULES REFUSED_PORT SILENT_PORT
//            RUNS
// (gauth-bench-creds starts it with the silent port still listening).
//
// The probe address is set as gcp-metadata reads it (GCE_METADATA_IP and
// GCE_METADATA_HOST = 127.0.0.1:PORT; with either set it probes that one
// address, without the fast-fail race against metadata.google.internal),
// METADATA_SERVER_DETECTION unset. Each measurement starts from fresh
// module state: resetIsAvailableCache() forgets the previous answer, and
// setGCPResidency() redoes, inside the timed part, the residency check a
// fresh module makes on its first isAvailable() (it decides the request's
// timeout: 3000 ms off Google Cloud).
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const [nodeModules, refusedPort, silentPort, runsArg] = process.argv.slice(2);
const runs = Number(runsArg);
if (!nodeModules || !refusedPort || !silentPort || !(runs >= 1)) {
  console.error('usage: node gcp_metadata_detect.mjs NODE_MODULES ' +
    'REFUSED_PORT SILENT_PORT RUNS');
  process.exit(2);
}
const require = createRequire(
  join(resolve(nodeModules), 'resolve-from-here.js'));
const gcpMetadata = require('gcp-metadata');
const version = require('gcp-metadata/package.json').version;
for (const fn of ['isAvailable', 'resetIsAvailableCache', 'setGCPResidency']) {
  if (typeof gcpMetadata[fn] !== 'function') {
    console.error(`gcp-metadata ${version} has no ${fn}() ` +
      '(6.x or later needed)');
    process.exit(1);
  }
}
// gcp-metadata warns (MetadataLookupWarning) on errors it did not expect,
// its own timeout among them: counted and shown on the line, not printed.
let warnings = 0;
process.removeAllListeners('warning');
process.on('warning', () => { warnings++; });
for (const name of ['METADATA_SERVER_DETECTION', 'DETECT_GCP_RETRIES',
  'K_SERVICE', 'CLOUD_RUN_JOB', 'FUNCTION_NAME', 'FUNCTION_TARGET']) {
  delete process.env[name];
}

async function measure(label, port) {
  const addr = `127.0.0.1:${port}`;
  process.env.GCE_METADATA_IP = addr;
  process.env.GCE_METADATA_HOST = addr;
  const ms = [];
  warnings = 0;
  for (let i = 0; i < runs; i++) {
    gcpMetadata.resetIsAvailableCache();
    const t0 = performance.now();
    gcpMetadata.setGCPResidency();
    const available = await gcpMetadata.isAvailable();
    ms.push(performance.now() - t0);
    if (available !== false) {
      console.error(`gcp-metadata isAvailable() against ${addr}: ` +
        `${available}, expected false`);
      process.exit(1);
    }
  }
  await new Promise((resolve) => setImmediate(resolve)); // late warnings
  ms.sort((a, b) => a - b);
  const mid = Math.floor(runs / 2);
  const median = runs % 2 ? ms[mid] : (ms[mid - 1] + ms[mid]) / 2;
  console.log(`detect-offline ${label} gcp-metadata ` +
    `median_ms=${median.toFixed(2)} max_ms=${ms[runs - 1].toFixed(2)} ` +
    `runs=${runs} (gcp-metadata ${version}, node ${process.version}` +
    `${warnings ? `; ${warnings} MetadataLookupWarning` : ''})`);
}

await measure('refused', refusedPort);
await measure('silent', silentPort);
