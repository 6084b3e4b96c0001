// Fault flows of one-to-one messaging between two browsers over a local node network:
// junk stored in Bob's public inbox (random bytes and a well-formed WebSocketMessage with
// garbage inside) is ignored while Alice's next message arrives exactly once; and a member of
// Bob's swarm stops mid-conversation (testnet `--control`) without any message being lost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { assertNoErrors } from './support/harness.mjs';
import { startServer } from './support/server.mjs';
import { startTestnet } from './support/testnet.mjs';
import {
  newUser, send, waitMessages, acceptedConversation,
} from './support/messaging.mjs';

let net;
let server;
before(async () => {
  net = await startTestnet({ nodes: 12, control: true });
  server = await startServer(process.env.DIST_DIR || 'dist', 0, { seedUrl: net.seedUrl });
});
after(async () => {
  await net?.close();
  await server?.close();
});

/** POSTs a storage RPC to `base` (http://ip:port); resolves to { status, body }. */
async function rpc(base, method, params) {
  const r = await fetch(`${base}/storage_rpc/v1`, {
    method: 'POST', body: JSON.stringify({ method, params }),
  });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body };
}

/** Bob's swarm members as [{ url, ed25519 }], asked of a node the seed lists. */
async function swarmOf(pubkey) {
  const r = await fetch(`${net.seedUrl}/json_rpc`, {
    method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'get_n_service_nodes', params: {} }),
  });
  const states = (await r.json()).result.service_node_states;
  const any = states[0];
  const { status, body } = await rpc(`http://${any.public_ip}:${any.storage_port}`, 'get_swarm', { pubkey });
  assert.equal(status, 200);
  assert.ok(body.snodes.length > 0);
  return body.snodes.map((s) => ({ url: `http://${s.ip}:${s.port}`, ed25519: s.pubkey_ed25519 }));
}

/** Protobuf length-delimited field. */
function field(tag, bytes) {
  return Buffer.concat([Buffer.from([(tag << 3) | 2, bytes.length]), bytes]);
}

/** A well-formed WebSocketMessage (type REQUEST, request PUT /api/v1/message) with a garbage body. */
function junkEnvelope() {
  const request = Buffer.concat([
    field(1, Buffer.from('PUT')), field(2, Buffer.from('/api/v1/message')), field(3, randomBytes(96)),
    Buffer.from([5 << 3, 7]),
  ]);
  return Buffer.concat([Buffer.from([1 << 3, 1]), field(2, request)]);
}

test('junk in Bob\'s public inbox is ignored; Alice\'s next message shows exactly once', async () => {
  const alice = await newUser(server.url);
  const bob = await newUser(server.url);
  const [a, b] = [alice.app.page, bob.app.page];
  try {
    const first = await acceptedConversation(a, b, alice, bob);
    await waitMessages(b, (m) => m.length === 1, 'Bob sees the accepted request');

    const swarm = await swarmOf(bob.id);
    for (const data of [randomBytes(200), junkEnvelope()]) {
      const { status } = await rpc(swarm[0].url, 'store', {
        pubkey: bob.id, namespace: 0, data: data.toString('base64'), timestamp: Date.now(), ttl: 3600000,
      });
      assert.equal(status, 200, 'the junk is stored');
    }
    // Give Bob a few polls over the junk before the real message.
    await b.waitForTimeout(5000);
    await send(a, 'after the junk');
    const seen = await waitMessages(b, (m) => m.some((x) => x.body === 'after the junk'), 'Bob receives');
    await b.waitForTimeout(5000);
    const final = await waitMessages(b, () => true, 'final');
    assert.deepEqual(final.map((x) => x.body), [first, 'after the junk'], 'once, and nothing else new');
    assert.deepEqual(seen.map((x) => x.body), [first, 'after the junk']);
    assertNoErrors(alice.app.errors);
    assertNoErrors(bob.app.errors);
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});

/** Stops or starts testnet node `ed25519` through the seed's loopback control. */
async function control(op, ed25519) {
  const r = await fetch(`${net.seedUrl}/testnet/v1/${op}_node`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${net.controlToken}` },
    body: JSON.stringify({ ed25519 }),
  });
  assert.equal(r.status, 200, `${op} ${await r.text()}`);
}

// Stops one member of Bob's swarm through the testnet's loopback control, mid-conversation.
test('a member of Bob\'s swarm stops mid-conversation; nothing is lost', async () => {
  const alice = await newUser(server.url);
  const bob = await newUser(server.url);
  const [a, b] = [alice.app.page, bob.app.page];
  // A timed trace of every request and failure of both browsers, printed if the flow fails
  // (this flow failed once, in 2026-11, under load; the cause was not captured).
  const t0 = Date.now();
  const trace = [];
  const note = (who, what) => trace.push(`${((Date.now() - t0) / 1000).toFixed(2)} ${who} ${what}`);
  for (const [who, u] of [['alice', alice], ['bob', bob]]) {
    u.app.ctx.on('requestfailed', (r) => note(who, `FAIL ${r.url()} ${r.failure()?.errorText}`));
    u.app.ctx.on('requestfinished', async (r) => {
      const resp = await r.response().catch(() => null);
      note(who, `${resp?.status()} ${r.url()}`);
    });
  }
  let victim;
  try {
    const first = await acceptedConversation(a, b, alice, bob);
    const early = ['one', 'two', 'three'];
    for (const t of early) await send(a, t);
    await waitMessages(b, (m) => m.length === 4, 'first messages');

    const swarm = await swarmOf(bob.id);
    victim = swarm[0];
    note('test', `stopping ${victim.url}`);
    await control('stop', victim.ed25519);
    note('test', 'stopped');
    const down = await fetch(`${victim.url}/storage_rpc/v1`, { method: 'POST', body: '{}' }).then(() => false, () => true);
    assert.ok(down, 'the stopped node no longer answers');

    const during = Array.from({ length: 5 }, (_, i) => `while a node is down ${i + 1}`);
    for (const t of during) await send(a, t);
    const seen = await waitMessages(b, (m) => m.length >= 9, 'all five arrive');
    assert.deepEqual(seen.map((x) => x.body), [first, ...early, ...during], 'once, in order');

    note('test', 'all five seen; starting the node again');
    await control('start', victim.ed25519);
    note('test', 'started');
    await send(a, 'after the restart');
    const after2 = await waitMessages(b, (m) => m.length >= 10, 'one more after restart');
    assert.deepEqual(after2.map((x) => x.body), [first, ...early, ...during, 'after the restart']);
    // Only a failed request to the stopped node may show in either console (it can be a
    // member of Bob's swarm and a guard or relay of either browser's paths); nothing else.
    const expected = (e) => e.includes(victim.url) && /ERR_CONNECTION_REFUSED|Failed to fetch/.test(e);
    assertNoErrors(alice.app.errors.filter((e) => !expected(e)));
    assertNoErrors(bob.app.errors.filter((e) => !expected(e)));
  } catch (e) {
    console.error(`node-stop flow failed; request trace:\n${trace.join('\n')}`);
    throw e;
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});
