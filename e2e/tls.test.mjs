// The HTTPS testnet as a browser sees it: a page served by the app server fetches the seed's
// `get_n_service_nodes` and every node's `/storage_rpc/v1` `info` over HTTPS, with Chromium
// trusting the testnet CA through its NSS database (no certificate error ignored). A control
// browser without the CA fails the same fetches with ERR_CERT_AUTHORITY_INVALID.
//
// Run: node --test e2e/tls.test.mjs (after `cargo build --release -p umbra-node`; the app
// bundle in dist/ is served when built, else a one-page stand-in).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startTlsNetwork, launchTrustingBrowser, serviceNodes } from './tls.mjs';

const NODES = 4;
let net;
let standIn;

before(async () => {
  let appDir = process.env.DIST_DIR || join(ROOT, 'dist');
  if (!existsSync(join(appDir, 'index.html'))) {
    standIn = mkdtempSync(join(tmpdir(), 'umbra-tls-site-'));
    writeFileSync(join(standIn, 'index.html'),
      '<!doctype html><html><head><meta charset="utf-8"><title>tls</title></head><body>tls</body></html>\n');
    appDir = standIn;
  }
  net = await startTlsNetwork({ nodes: NODES, appDir });
});

after(async () => {
  await net?.stop();
  if (standIn) rmSync(standIn, { recursive: true, force: true });
});

/** POSTs JSON from inside the page; resolves to { status, body } or { error }. */
function postFromPage(page, url, body) {
  return page.evaluate(async ([url, body]) => {
    try {
      const r = await fetch(url, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      return { status: r.status, body: await r.text() };
    } catch (e) {
      return { error: String(e) };
    }
  }, [url, body]);
}

const SEED_REQUEST = { jsonrpc: '2.0', id: 0, method: 'get_n_service_nodes',
  params: { active_only: true, fields: { public_ip: true, storage_port: true, pubkey_x25519: true,
    pubkey_ed25519: true, swarm_id: true } } };
const INFO_REQUEST = { method: 'info', params: {} };

/** Records the network error text of every failed request, and the TLS details of responses. */
function watchNetwork(page) {
  const failed = [];
  const secure = [];
  page.on('requestfailed', (r) => failed.push({ url: r.url(), error: r.failure()?.errorText ?? '' }));
  page.on('response', (r) => {
    if (r.url().startsWith('https://')) {
      secure.push(r.securityDetails().then((details) => ({ url: r.url(), details })));
    }
  });
  return { failed, secure };
}

test('a browser trusting the testnet CA talks to the seed and the nodes over HTTPS', async () => {
  assert.match(net.seed, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(net.app, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const browser = await launchTrustingBrowser(net.caPem);
  try {
    const { page } = browser;
    const seen = watchNetwork(page);
    await page.goto(net.app);
    assert.equal(await page.evaluate(() => location.origin), net.app.replace(/\/$/, ''));

    const seed = await postFromPage(page, `${net.seed}/json_rpc`, SEED_REQUEST);
    assert.equal(seed.error, undefined, `seed fetch failed: ${seed.error}`);
    assert.equal(seed.status, 200);
    const states = JSON.parse(seed.body).result.service_node_states;
    assert.equal(states.length, NODES);

    const fetched = [`${net.seed}/json_rpc`];
    for (const n of states) {
      assert.match(n.pubkey_ed25519, /^[0-9a-f]{64}$/);
      assert.ok(Number.isInteger(n.storage_port) && n.storage_port > 0);
      const url = `https://${n.public_ip}:${n.storage_port}/storage_rpc/v1`;
      fetched.push(url);
      const info = await postFromPage(page, url, INFO_REQUEST);
      assert.equal(info.error, undefined, `info fetch to ${url} failed: ${info.error}`);
      assert.equal(info.status, 200);
      const body = JSON.parse(info.body);
      assert.ok(Array.isArray(body.version), 'info carries a version');
      assert.ok(Number.isInteger(body.timestamp) && body.timestamp > 0);
    }

    // No HTTPS request failed (the app itself may talk to the nodes too), and every HTTPS
    // answer, ours included, came with a certificate issued by the testnet CA.
    assert.deepEqual(seen.failed.filter((f) => f.url.startsWith('https://')), []);
    const secure = await Promise.all(seen.secure);
    for (const url of fetched) assert.ok(secure.some((r) => r.url === url), `no response seen for ${url}`);
    for (const { url, details } of secure) {
      assert.ok(details, `no TLS details for ${url}`);
      assert.equal(details.issuer, 'Umbra local testnet CA', url);
      assert.match(details.protocol, /^TLS 1\.[23]$/);
    }
  } finally {
    await browser.close();
  }
});

test('a browser without the CA cannot fetch from the HTTPS nodes (the trust is real)', async () => {
  const browser = await launchTrustingBrowser(null);
  try {
    const { page } = browser;
    const seen = watchNetwork(page);
    // The app server itself is plain HTTP on loopback, so the page loads either way.
    await page.goto(net.app);

    const seed = await postFromPage(page, `${net.seed}/json_rpc`, SEED_REQUEST);
    assert.match(seed.error ?? '', /TypeError/);
    assert.equal(seed.status, undefined);

    const [node] = await serviceNodes(net); // Node itself trusts the CA; the browser does not
    const info = await postFromPage(page, `${node.url}/storage_rpc/v1`, INFO_REQUEST);
    assert.match(info.error ?? '', /TypeError/);

    for (const url of [`${net.seed}/json_rpc`, `${node.url}/storage_rpc/v1`]) {
      const f = seen.failed.find((x) => x.url === url);
      assert.ok(f, `no failed request seen for ${url}`);
      assert.equal(f.error, 'net::ERR_CERT_AUTHORITY_INVALID', url);
    }
  } finally {
    await browser.close();
  }
});
