// The receiver's peer in tests/bench/run-receiver-bench.sh: the same job as
// examples/receiver (POST / authenticated by a Google ID token, GET /healthz
// open) done the way a Node.js user does it: node's http module, one worker
// per core with node:cluster, and npm google-auth-library's
// OAuth2Client.verifyIdToken.
//
//   node receiver_peer.mjs --node-modules=DIR --listen=127.0.0.1:0
//        --audience=AUD[,AUD] [--threads=N]
//
// Its first line on stdout is `listening http://127.0.0.1:PORT`, printed
// when every worker listens. SIGTERM / SIGINT stop the workers, then it
// exits 0.
//
// Google's keys come from the emulator: google-auth-library (10.x, under
// Node's crypto module) reads the PEM certificate map at
// endpoints.oauth2FederatedSignonPemCertsUrl
// (https://www.googleapis.com/oauth2/v1/certs by default); the client is
// given $GAUTH_ENDPOINT/oauth2/v1/certs instead, which must be a loopback
// URL. The library keeps the certificates for the reply's Cache-Control
// max-age and verifies every token again (no cache of verifications): that
// is the peer as its users run it.
//
// No token is ever printed: google-auth-library's error messages quote the
// token, so a rejection answers with a fixed message and logs nothing.
import cluster from 'node:cluster';
import { createRequire } from 'node:module';
import http from 'node:http';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';

function usage(msg) {
  console.error(`receiver_peer: ${msg}`);
  console.error('usage: node receiver_peer.mjs --node-modules=DIR ' +
    '--listen=127.0.0.1:PORT --audience=AUD[,AUD] [--threads=N]');
  process.exit(2);
}

const opts = { threads: String(availableParallelism()) };
for (const arg of process.argv.slice(2)) {
  const m = /^--(node-modules|listen|audience|threads)=(.*)$/.exec(arg);
  if (!m) usage(`unknown argument ${arg.split('=')[0]}`);
  opts[m[1]] = m[2];
}
if (!opts['node-modules']) usage('--node-modules is required');
if (!opts.audience) usage('--audience is required');
const listen = /^(127\.0\.0\.1):([0-9]{1,5})$/.exec(opts.listen || '');
if (!listen) usage('--listen must be 127.0.0.1:PORT');
const threads = Number(opts.threads);
if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
  usage('--threads must be 1 to 64');
}
const audiences = opts.audience.split(',');
if (audiences.some((a) => a === '')) usage('empty audience');
const endpoint = process.env.GAUTH_ENDPOINT || '';
if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?\/?$/.test(endpoint)) {
  console.error('receiver_peer: GAUTH_ENDPOINT must be the emulator\'s ' +
    'loopback URL (this peer never reaches Google)');
  process.exit(2);
}

if (cluster.isPrimary) {
  // Workers listening on port 0 share the one port the primary picks.
  let listening = 0;
  let port = 0;
  let stopping = false;
  cluster.on('listening', (worker, address) => {
    port = address.port;
    if (++listening === threads) {
      process.stdout.write(`listening http://127.0.0.1:${port}\n`);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.error(`receiver_peer: worker ${worker.process.pid} ended ` +
        `(${signal || code})`);
      process.exitCode = 1;
    }
    if (Object.keys(cluster.workers).length === 0) process.exit();
  });
  const stop = () => {
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (let i = 0; i < threads; i++) cluster.fork();
} else {
  const require = createRequire(
    join(resolve(opts['node-modules']), 'resolve-from-here.js'));
  const { OAuth2Client } = require('google-auth-library');
  const client = new OAuth2Client({
    endpoints: {
      oauth2FederatedSignonPemCertsUrl:
        endpoint.replace(/\/$/, '') + '/oauth2/v1/certs',
    },
  });

  const reply = (res, status, body, headers = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };
  const reject = (res, status, reason, message) => {
    reply(res, status, { error: { code: status, reason, message } }, {
      'WWW-Authenticate': `Bearer error="invalid_token"`,
    });
  };

  const authenticate = async (req, res) => {
    const h = req.headers['x-serverless-authorization'] ??
      req.headers.authorization;
    const m = /^bearer ([^ ]+)$/i.exec(h || '');
    if (!m) {
      reply(res, 401, {
        error: { code: 401, reason: 'no_credentials',
          message: 'no Bearer token' },
      }, { 'WWW-Authenticate': 'Bearer' });
      return;
    }
    let ticket;
    try {
      ticket = await client.verifyIdToken({ idToken: m[1], audience: audiences });
    } catch {
      // The library's messages quote the token: none is repeated here.
      reject(res, 401, 'invalid_token', 'the ID token did not verify');
      return;
    }
    const p = ticket.getPayload();
    reply(res, 200, {
      kind: req.headers['x-cloudscheduler'] === 'true'
        ? 'cloud_scheduler' : 'google',
      email: p.email ?? null,
      subject: p.sub,
      audience: p.aud,
      signature_verified: true,
    });
  };

  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/healthz') {
      req.resume();
      if (req.method === 'GET' || req.method === 'HEAD') {
        reply(res, 200, { status: 'ok' });
      } else {
        reply(res, 405, { error: { code: 405, reason: 'method' } },
          { Allow: 'GET, HEAD' });
      }
      return;
    }
    if (path !== '/') {
      req.resume();
      reply(res, 404, { error: { code: 404, reason: 'not_found' } });
      return;
    }
    // The body is read (and dropped) before the answer, as a target does.
    req.on('data', () => {});
    req.on('end', () => {
      authenticate(req, res).catch(() => {
        if (!res.headersSent) reply(res, 500, { error: { code: 500 } });
      });
    });
  });
  server.keepAliveTimeout = 60000;
  server.listen(Number(listen[2]), listen[1]);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  process.on('SIGINT', () => {});
}
