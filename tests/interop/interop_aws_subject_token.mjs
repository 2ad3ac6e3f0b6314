// The AWS subject token libgauth sends to Google's STS against the one
// Google's own library makes from the same inputs: npm google-auth-library
// 10.x's AwsClient.retrieveSubjectToken() (the same algorithm as
// google-auth-library-python's aws.Credentials; Debian's python3-google-auth
// 1.5.1 has no AWS source). Same region, keys, session token, audience and
// time on both sides:
//
// - libgauth's token is caught where it goes: this script plays STS on
//   127.0.0.1 and the aws_subject_token helper asks libgauth's public API
//   for an access token there (an external_account file, aws1, with the
//   AWS_* variables and a fixed clock);
// - Google's is made in this process with Date frozen at the same second.
//
// Decoded (percent-encoding, then JSON), the two must agree on the url, the
// method, every header but Authorization (host, x-amz-date,
// x-amz-security-token, x-goog-cloud-target-resource) and the Authorization's
// Credential. They differ where libgauth chose to (docs/credentials.md,
// "From AWS"): libgauth signs x-goog-cloud-target-resource, as Go and Java
// do, while Python and Node add it after signing; so SignedHeaders differ by
// exactly that name. Byte for byte: libgauth's SigV4 signer (the
// aws_sigv4_sign helper), given the headers Google's library signed, must
// produce Google's Authorization value exactly; and libgauth's token lists
// its headers in Python's order (sorted keys: Authorization first).
//
// Usage: node interop_aws_subject_token.mjs SUBJECT_HELPER SIGN_HELPER
//        NODE_MODULES
import { execFile, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";

const [helper, signer, nodeModules] = process.argv.slice(2);
const require = createRequire(path.join(nodeModules, "noop.js"));
const { AwsClient } = require("google-auth-library");

const VERIFY =
  "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15";

// Keys made up for the test; the times are fixed.
const cases = [
  {
    name: "session token, us-east-1",
    region: "us-east-1",
    key: "ASIAINTEROPSUBJECT1",
    secret: "interop/subject+secret=1",
    session: "IQoJb3JpZ2luX2VjEIn//////////session+token/1=",
    time: 1704164645,
    audience:
      "//iam.googleapis.com/projects/123456789012/locations/global/" +
      "workloadIdentityPools/aws-pool/providers/aws",
  },
  {
    name: "no session token, ap-southeast-2",
    region: "ap-southeast-2",
    key: "AKIAINTEROPSUBJECT2",
    secret: "wJalrXUtnFEMI/subject/two",
    time: 1893456000,
    audience:
      "//iam.googleapis.com/projects/987654321098/locations/global/" +
      "workloadIdentityPools/p-2/providers/aws-2",
  },
  {
    name: "session token, eu-west-3, an audience with https:",
    region: "eu-west-3",
    key: "ASIAINTEROPSUBJECT3",
    secret: "three 3",
    session: "tok3",
    time: 1767225599,
    audience:
      "https://iam.googleapis.com/projects/1/locations/global/" +
      "workloadIdentityPools/three/providers/aws",
  },
];

const RealDate = Date;
function freezeDate(seconds) {
  globalThis.Date = class extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(seconds * 1000);
      else super(...args);
    }
    static now() {
      return seconds * 1000;
    }
  };
}

function setEnv(c) {
  process.env.AWS_REGION = c.region;
  delete process.env.AWS_DEFAULT_REGION;
  process.env.AWS_ACCESS_KEY_ID = c.key;
  process.env.AWS_SECRET_ACCESS_KEY = c.secret;
  if (c.session) process.env.AWS_SESSION_TOKEN = c.session;
  else delete process.env.AWS_SESSION_TOKEN;
}

// STS on loopback: keeps each subject token, answers as Google's STS does.
const received = [];
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const form = new URLSearchParams(body);
    received.push(form.get("subject_token"));
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({
      access_token: "ya29.interop-subject",
      issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
      token_type: "Bearer",
      expires_in: 3600,
    }));
  });
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const tokenUrl = `http://127.0.0.1:${server.address().port}/v1/token`;

function libgauthToken(c, secret) {
  setEnv({ ...c, secret });
  const before = received.length;
  return new Promise((resolve, reject) => {
    execFile(helper, [tokenUrl, String(c.time), c.audience],
      { env: { ...process.env, http_proxy: "http://127.0.0.1:9",
        https_proxy: "http://127.0.0.1:9", no_proxy: "" } },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`aws_subject_token: ${stderr.trim() || err.message}`));
        if (received.length !== before + 1) return reject(new Error("STS saw no request"));
        resolve(received[received.length - 1]);
      });
  });
}

async function googleToken(c) {
  setEnv(c);
  freezeDate(c.time);
  try {
    const client = new AwsClient({
      type: "external_account",
      audience: c.audience,
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      token_url: "https://sts.googleapis.com/v1/token",
      credential_source: {
        environment_id: "aws1",
        regional_cred_verification_url: VERIFY,
      },
    });
    return await client.retrieveSubjectToken();
  } finally {
    globalThis.Date = RealDate;
  }
}

function decode(token) {
  const o = JSON.parse(decodeURIComponent(token));
  const headers = new Map();
  for (const h of o.headers) headers.set(h.key.toLowerCase(), h.value);
  return { url: o.url, method: o.method, order: o.headers.map((h) => h.key), headers };
}

function authParts(v) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(v ?? "");
  return m ? { credential: m[1], signed: m[2].split(";"), signature: m[3] } : null;
}

let failed = 0;
function check(c, what, ok, detail) {
  if (ok) {
    console.log(`ok   ${c.name}: ${what}`);
  } else {
    failed++;
    console.log(`FAIL ${c.name}: ${what}${detail ? `\n  ${detail}` : ""}`);
  }
}

for (const c of cases) {
  const ours = decode(await libgauthToken(c, c.secret));
  const theirs = decode(await googleToken(c));
  check(c, "url", ours.url === theirs.url, `libgauth ${ours.url}, Google ${theirs.url}`);
  check(c, "method", ours.method === "POST" && theirs.method === "POST");
  const keys = (m) => [...m.keys()].sort().join(",");
  check(c, "the same header names", keys(ours.headers) === keys(theirs.headers),
    `libgauth ${keys(ours.headers)}, Google ${keys(theirs.headers)}`);
  for (const k of ["host", "x-amz-date", "x-amz-security-token", "x-goog-cloud-target-resource"]) {
    check(c, `header ${k}`, ours.headers.get(k) === theirs.headers.get(k),
      `libgauth ${ours.headers.get(k)}, Google ${theirs.headers.get(k)}`);
  }
  check(c, "x-amz-security-token only with a session token",
    ours.headers.has("x-amz-security-token") === Boolean(c.session));
  const a = authParts(ours.headers.get("authorization"));
  const b = authParts(theirs.headers.get("authorization"));
  check(c, "both Authorization values are SigV4", a !== null && b !== null);
  if (a === null || b === null) continue;
  check(c, "Credential", a.credential === b.credential, `libgauth ${a.credential}, Google ${b.credential}`);
  const expected = [...b.signed, "x-goog-cloud-target-resource"].sort().join(";");
  check(c, "SignedHeaders: Google's plus x-goog-cloud-target-resource",
    a.signed.join(";") === expected && !b.signed.includes("x-goog-cloud-target-resource"),
    `libgauth ${a.signed.join(";")}, Google ${b.signed.join(";")}`);
  check(c, "headers in Python's order (sorted keys)",
    ours.order.join(",") === [...ours.order].sort().join(",") && ours.order[0] === "Authorization",
    ours.order.join(","));

  // libgauth's signer on the headers Google's library signed: Google's value,
  // byte for byte.
  const url = theirs.url;
  const extra = b.signed.filter((h) => !["host", "x-amz-date", "x-amz-security-token"].includes(h))
    .map((h) => `${h}:${theirs.headers.get(h)}`);
  const out = execFileSync(signer, ["POST", url, c.region, "sts", String(c.time), c.key,
    c.secret, c.session ?? "-", "-", ...extra], { encoding: "utf8" }).split("\n--\n");
  check(c, "libgauth's signer gives Google's Authorization byte for byte",
    out[0] === theirs.headers.get("authorization"),
    `libgauth ${out[0]}\n  Google   ${theirs.headers.get("authorization")}`);
  // and, with the target header signed too, libgauth's own value.
  const own = execFileSync(signer, ["POST", url, c.region, "sts", String(c.time), c.key,
    c.secret, c.session ?? "-", "-", `x-goog-cloud-target-resource:${c.audience}`],
  { encoding: "utf8" }).split("\n--\n");
  check(c, "the subject token's Authorization is the signer's", own[0] === ours.headers.get("authorization"));
}

// The comparison can fail: another secret must change libgauth's signature.
{
  const c = cases[0];
  const other = decode(await libgauthToken(c, c.secret + "x"));
  const theirs = decode(await googleToken(c));
  const a = authParts(other.headers.get("authorization"));
  const out = execFileSync(signer, ["POST", theirs.url, c.region, "sts", String(c.time), c.key,
    c.secret, c.session, "-", `x-goog-cloud-target-resource:${c.audience}`], { encoding: "utf8" });
  if (a === null || out.split("\n--\n")[0] === other.headers.get("authorization")) {
    failed++;
    console.log("FAIL another secret gave the same signature");
  } else {
    console.log("ok   another secret gives another signature");
  }
}

server.close();
console.log(`${cases.length} cases, ${failed} failed`);
process.exit(failed ? 1 : 0);
