// libgauth's SigV4 signer against npm aws4: the same requests (with and
// without a session token, several regions and services, query strings
// with characters to encode, repeated names, a body, extra headers) signed
// by both; the Authorization values must be equal byte for byte.
//
// Usage: node interop_aws_sigv4.mjs SIGNER NODE_MODULES
// (SIGNER: the aws_sigv4_sign helper; NODE_MODULES holds aws4).
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

const [signer, nodeModules] = process.argv.slice(2);
const require = createRequire(path.join(nodeModules, "noop.js"));
const aws4 = require("aws4");

const AUD =
  "//iam.googleapis.com/projects/123456789012/locations/global/" +
  "workloadIdentityPools/pool/providers/aws";

// Secrets made up for the test; the times are fixed.
const cases = [
  {
    name: "GetCallerIdentity, session token",
    method: "POST",
    url: "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
    region: "us-east-1",
    service: "sts",
    time: 1704164645,
    key: "ASIAINTEROP1",
    secret: "interop/secret+key=1",
    session: "IQoJb3JpZ2luX2VjEIn//////////session+token=",
    headers: { "x-goog-cloud-target-resource": AUD },
  },
  {
    name: "GetCallerIdentity, no session token, another region",
    method: "POST",
    url: "https://sts.ap-southeast-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
    region: "ap-southeast-2",
    service: "sts",
    time: 1893456000,
    key: "AKIAINTEROP2",
    secret: "wJalrXUtnFEMI/interop/two",
    headers: { "x-goog-cloud-target-resource": AUD },
  },
  {
    name: "query with characters to encode and repeated names",
    method: "GET",
    url: "https://iam.amazonaws.com/?Version=2010-05-08&Action=ListUsers&PathPrefix=%2Fdivision_abc%2F&b=x+y&b=%2A&tilde=~a&sp=a%20b&utf8=%E2%82%AC&empty=",
    region: "us-east-1",
    service: "iam",
    time: 1440938160,
    key: "AKIDINTEROP3",
    secret: "secret three",
    headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
  },
  {
    name: "a path with an encoded space, a port, header spaces",
    method: "GET",
    url: "https://example.amazonaws.com:8443/a%20b/c-d_e.f~g/",
    region: "eu-central-1",
    service: "execute-api",
    time: 1600000000,
    key: "AKIDINTEROP4",
    secret: "4444",
    session: "tok4",
    headers: { "My-Header": "  a   b  c ", "X-Custom": "v" },
  },
  {
    name: "a body",
    method: "POST",
    url: "https://sts.eu-west-3.amazonaws.com/",
    region: "eu-west-3",
    service: "sts",
    time: 1704164645,
    key: "AKIDINTEROP5",
    secret: "five",
    body: "Action=GetCallerIdentity&Version=2011-06-15",
    headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
  },
];

function amzDate(t) {
  return new Date(t * 1000).toISOString().replace(/[:-]|\.\d{3}/g, "");
}

let failed = 0;
for (const c of cases) {
  const u = new URL(c.url);
  const headers = { ...c.headers, "X-Amz-Date": amzDate(c.time) };
  const opts = {
    host: u.hostname,
    port: u.port || undefined,
    path: u.pathname + u.search,
    method: c.method,
    service: c.service,
    region: c.region,
    headers,
  };
  if (c.body) opts.body = c.body;
  aws4.sign(opts, {
    accessKeyId: c.key,
    secretAccessKey: c.secret,
    sessionToken: c.session,
  });
  const theirs = opts.headers.Authorization;
  const args = [c.method, c.url, c.region, c.service, String(c.time), c.key,
    c.secret, c.session ?? "-", c.body ?? "-"];
  // The headers aws4 signed besides the ones each signer sets itself
  // (aws4 adds Content-Length for a body): the helper gets the same.
  const own = new Set(["authorization", "host", "x-amz-date",
    "x-amz-security-token"]);
  for (const [k, v] of Object.entries(opts.headers)) {
    if (!own.has(k.toLowerCase())) args.push(`${k}:${v}`);
  }
  const out = execFileSync(signer, args, { encoding: "utf8" }).split("\n--\n");
  const ours = out[0];
  if (ours !== theirs || out[1] !== headers["X-Amz-Date"]) {
    failed++;
    console.log(`FAIL ${c.name}\n  aws4:    ${theirs}\n  libgauth: ${ours}`);
    console.log(`  libgauth canonical request:\n${out[2]}`);
  } else {
    console.log(`ok   ${c.name}`);
  }
}
// The comparison can fail: a changed secret must change libgauth's value.
{
  const c = cases[0];
  const out = execFileSync(signer, [c.method, c.url, c.region, c.service,
    String(c.time), c.key, c.secret + "x", c.session, "-",
    `x-goog-cloud-target-resource:${AUD}`], { encoding: "utf8" });
  const opts = { host: new URL(c.url).hostname, path: "/?Action=GetCallerIdentity&Version=2011-06-15",
    method: "POST", service: "sts", region: c.region,
    headers: { "x-goog-cloud-target-resource": AUD, "X-Amz-Date": amzDate(c.time) } };
  aws4.sign(opts, { accessKeyId: c.key, secretAccessKey: c.secret, sessionToken: c.session });
  if (out.split("\n--\n")[0] === opts.headers.Authorization) {
    failed++;
    console.log("FAIL another secret gave the same signature");
  }
}
console.log(`${cases.length} cases, ${failed} failed`);
process.exit(failed ? 1 : 0);
