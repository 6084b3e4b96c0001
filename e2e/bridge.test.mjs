// Reaching a network that behaves like Session's (`umbra-node testnet --faithful`: self-signed
// HTTPS nodes and seed, no CORS) from Chromium, through blind bridges (issue 11).
//
// The bundle's config.json names three bridges A, B, C (a fourth, D, is added in Settings). Each is a recording relay written
// here in front of the testnet's real bridge (`umbra-node bridge`): it answers CORS for the
// page, forwards every request unchanged and records what it received and sent, and it can be
// killed or made to flip bits. So the test sees exactly what a bridge sees.
//
// Flows: a direct fetch to a node fails from a page (the problem); two browsers exchange
// messages through A; nothing A saw names an account, a message or a swarm member other than
// the guard; A is killed mid-conversation and both move to B (nothing lost, nothing twice);
// B starts corrupting replies and both move to C, the message arriving once; the user's own
// bridge is refused when it is not an address, and used first when it is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNoErrors, openApp, visible } from './support/harness.mjs';
import {
  DELIVERY_MS, newUser, acceptedConversation, send, waitMessages,
} from './support/messaging.mjs';
import { startServer } from './support/server.mjs';
import { startTestnet } from './support/testnet.mjs';

/**
 * A relay in front of the real bridge `upstream`, on a free loopback port. `mode`: 'honest',
 * 'flip' (one bit of every reply body flipped). Records { path, request, status, reply }.
 */
async function startRelay(upstream) {
  const relay = { mode: 'honest', log: [], url: null };
  const server = http.createServer((req, res) => {
    const cors = {
      'access-control-allow-origin': req.headers.origin || '*',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'content-type',
      vary: 'origin',
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'access-control-max-age': '600' });
      res.end();
      return;
    }
    if (req.method === 'GET') {
      // A page without Umbra's CSP, for the direct-fetch check.
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>blank</title>');
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const request = Buffer.concat(chunks);
      const entry = { path: req.url, request, status: 0, reply: Buffer.alloc(0) };
      relay.log.push(entry);
      try {
        const r = await fetch(upstream + req.url, {
          method: 'POST', body: request, headers: { 'content-type': 'application/octet-stream' },
        });
        let reply = Buffer.from(await r.arrayBuffer());
        if (relay.mode === 'flip' && reply.length > 20) {
          reply = Buffer.from(reply);
          reply[20] ^= 0x01;
        }
        entry.status = r.status;
        entry.reply = reply;
        res.writeHead(r.status, { ...cors, 'content-type': 'application/octet-stream' });
        res.end(reply);
      } catch {
        res.writeHead(502, cors);
        res.end();
      }
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  relay.url = `http://127.0.0.1:${server.address().port}`;
  relay.port = server.address().port;
  relay.kill = () => new Promise((ok) => {
    server.closeAllConnections();
    server.close(() => ok());
  });
  return relay;
}

let net;
let relays;
let server;
let dir;
before(async () => {
  net = await startTestnet({ nodes: 12, faithful: true });
  assert.match(net.seedUrl, /^https:/);
  assert.ok(net.bridgeUrl, 'the faithful testnet prints its bridge');
  relays = [];
  for (let i = 0; i < 4; i += 1) relays.push(await startRelay(net.bridgeUrl));
  const config = JSON.parse(readFileSync(net.configPath, 'utf8'));
  assert.deepEqual(config.bridges, [net.bridgeUrl]);
  assert.equal(config.bootstrap.length, 12);
  // A, B, C are the bundle's bridges; D is a user's own (Settings). Own bridges are HTTPS
  // anywhere (the served CSP allows https:); this loopback one is allowed by the operator's
  // --connect-src, as a self-hoster would for a bridge on their own machine.
  config.bridges = relays.slice(0, 3).map((r) => r.url);
  dir = mkdtempSync(join(tmpdir(), 'umbra-bridge-e2e-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  server = await startServer(process.env.DIST_DIR || 'dist', 0, {
    config: join(dir, 'config.json'), connectSrc: [relays[3].url],
  });
});
after(async () => {
  for (const r of relays ?? []) await r.kill();
  await server?.close();
  await net?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The bootstrap nodes of the testnet: [{ public_ip, storage_port, pubkey_ed25519, ... }]. */
function nodes() {
  return JSON.parse(readFileSync(net.configPath, 'utf8')).bootstrap;
}

test('a page cannot reach a faithful node or seed directly; the bridge answers only onion requests', async () => {
  const app = await openApp(`${relays[2].url}/blank`);
  try {
    const node = nodes()[0];
    const outcome = await app.page.evaluate(async (urls) => Promise.all(urls.map(async (u) => {
      try {
        const r = await fetch(u, { method: 'POST', body: '{"method":"info","params":{}}' });
        return `status ${r.status}`;
      } catch (e) {
        return `failed: ${e.name}`;
      }
    })), [`https://${node.public_ip}:${node.storage_port}/storage_rpc/v1`, `${net.seedUrl}/json_rpc`]);
    assert.deepEqual(outcome, ['failed: TypeError', 'failed: TypeError']);
  } finally {
    await app.close();
  }
  // The real bridge refuses what is not an onion request for a guard of its pool.
  const unknown = await fetch(`${net.bridgeUrl}/v1/onion/${'ab'.repeat(32)}`, { method: 'POST', body: 'x' });
  assert.equal(unknown.status, 404);
  assert.equal(await unknown.text(), 'unknown guard');
  for (const path of ['/v1/onion/127.0.0.1:22', `/v1/onion/${nodes()[0].pubkey_ed25519}/../x`, '/storage_rpc/v1']) {
    const r = await fetch(net.bridgeUrl + path, { method: 'POST', body: 'x' });
    assert.ok([400, 404].includes(r.status), `${path}: ${r.status}`);
  }
});

/** The route shown in the connection indicator contains `text`. */
async function routeShown(page, text) {
  await visible(page.getByRole('status', { name: 'Network status' }).filter({ hasText: text }), DELIVERY_MS);
}

test('two browsers talk through bridges that see nothing, survive a killed bridge and a corrupting one', async () => {
  const alice = await newUser(server.url);
  const bob = await newUser(server.url);
  const a = alice.app.page;
  const b = bob.app.page;
  const [A, B, C] = relays;
  try {
    await routeShown(a, `via bridge 127.0.0.1:${A.port}`);
    await routeShown(b, `via bridge 127.0.0.1:${A.port}`);
    const first = await acceptedConversation(a, b, alice, bob);
    const texts = [first];
    for (const t of ['through the bridge 1', 'through the bridge 2']) {
      await send(a, t);
      texts.push(t);
    }
    await send(b, 'reply through the bridge');
    await waitMessages(b, (m) => m.filter((x) => !x.out).length === 3, 'Bob gets 3');
    await waitMessages(a, (m) => m.some((x) => !x.out && x.body === 'reply through the bridge'), 'Alice gets the reply');
    texts.push('reply through the bridge');

    // Blindness: nothing A received or sent names either account, any text, or a node other
    // than the guard of the request (in its path). Bodies are checked as bytes and as text.
    assert.ok(A.log.length > 20, `A relayed ${A.log.length} requests`);
    const ids = [alice.id, bob.id];
    const needles = [
      ...ids.flatMap((id) => [Buffer.from(id), Buffer.from(id, 'hex'), Buffer.from(id.slice(2), 'hex')]),
      ...texts.map((t) => Buffer.from(t)),
    ];
    const all = nodes();
    for (const e of A.log) {
      for (const body of [e.request, e.reply]) {
        for (const n of needles) assert.equal(body.indexOf(n), -1, `a bridge saw ${n.toString('hex')}`);
      }
      const guard = e.path.replace('/v1/onion/', '');
      assert.match(guard, /^[0-9a-f]{64}$/);
      for (const n of all.filter((x) => x.pubkey_ed25519 !== guard)) {
        for (const key of [n.pubkey_ed25519, n.pubkey_x25519]) {
          for (const body of [e.request, e.reply]) {
            assert.equal(body.indexOf(Buffer.from(key, 'hex')), -1, 'a bridge saw another node');
            assert.equal(body.indexOf(Buffer.from(key)), -1, 'a bridge saw another node');
          }
        }
        assert.equal(e.request.indexOf(Buffer.from(`"${n.storage_port}"`)), -1);
      }
    }
    // The real bridge logs nothing of the conversation either.
    for (const id of ids) assert.ok(!net.output().includes(id), 'the bridge logged an Account ID');
    for (const t of texts) assert.ok(!net.output().includes(t), 'the bridge logged a message');

    // Failover: A dies right after Alice sends; both move to B; the message arrives once.
    const beforeB = B.log.length;
    await send(a, 'while A dies');
    await A.kill();
    await send(a, 'after A died');
    await waitMessages(b, (m) => m.filter((x) => x.body === 'after A died').length === 1
      && m.filter((x) => x.body === 'while A dies').length === 1, 'Bob gets both once', DELIVERY_MS);
    await routeShown(a, `via bridge 127.0.0.1:${B.port}`);
    await send(b, 'reply via B');
    await waitMessages(a, (m) => m.filter((x) => x.body === 'reply via B').length === 1, 'Alice gets the reply via B');
    await routeShown(b, `via bridge 127.0.0.1:${B.port}`);
    assert.ok(B.log.length > beforeB);

    // Tampering: B flips a bit of every reply. Nothing corrupted is shown; both move to C.
    B.mode = 'flip';
    await send(a, 'B lies now');
    await waitMessages(b, (m) => m.filter((x) => x.body === 'B lies now').length === 1, 'Bob gets it once');
    await routeShown(a, `via bridge 127.0.0.1:${C.port}`);
    await send(b, 'last reply');
    await waitMessages(a, (m) => m.filter((x) => x.body === 'last reply').length === 1, 'Alice gets the last reply');
    // Nothing was shown twice anywhere.
    for (const page of [a, b]) {
      const shown = (await waitMessages(page, () => true, 'list')).map((m) => m.body);
      assert.equal(new Set(shown).size, shown.length, `shown twice: ${shown}`);
    }

    // The user's own bridge: a bad address is refused with a message; a good one is used first.
    const D = relays[3];
    await a.getByRole('button', { name: 'Back to conversations' }).click();
    await a.getByRole('button', { name: 'Settings' }).click();
    const box = a.getByLabel('Your own bridges (one address per line)');
    await box.fill('http://bridge.example.org');
    await a.getByRole('button', { name: 'Save bridges' }).click();
    await visible(a.getByRole('alert').filter({ hasText: 'Not a bridge address' }));
    await box.fill(D.url);
    await a.getByRole('button', { name: 'Save bridges' }).click();
    await visible(a.getByRole('status', { name: 'Route' }).filter({ hasText: `Through the bridge ${D.url}` }));
    await routeShown(a, `via bridge 127.0.0.1:${D.port}`);
    await a.getByRole('button', { name: 'Back', exact: true }).click();
    await send(b, 'to the own bridge');
    await a.getByRole('list', { name: 'Conversations' }).getByRole('button').first().click();
    await waitMessages(a, (m) => m.filter((x) => x.body === 'to the own bridge').length === 1, 'Alice polls through her bridge');
    assert.ok(D.log.length > 0, 'the own bridge was used');
    assertNoErrors(alice.app.errors.filter((e) => !/Failed to fetch|ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE/.test(e)));
    assertNoErrors(bob.app.errors.filter((e) => !/Failed to fetch|ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE/.test(e)));
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});
