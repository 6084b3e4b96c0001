// Worker-level messaging over a real local testnet, in real Chromium, with the release bundle's
// worker (umbra-worker_loader.js) driven by raw ipc JSON — no UI involved. It checks what the
// in-window wasm tests cannot: the worker reads ./config.json, fetches nodes from inside the
// worker under the production CSP, and two accounts exchange messages (request, accept,
// reply) with a measured send-to-display time.
//
// Needs a built ./dist and the node binary (UMBRA_NODE_BIN, default target/release/umbra-node,
// else target/debug/umbra-node). Skips (with a message) when no node binary exists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors } from './support/harness.mjs';
import {
  nodeBin, startTestnet, startWorker as openWorker, send, waitEvent, createAccount, inConversation,
} from './support/worker.mjs';

const NODE_BIN = nodeBin();

let net;

before(async () => {
  if (!NODE_BIN) return;
  net = await startTestnet(NODE_BIN);
});

after(async () => {
  await net?.close();
});

const startWorker = () => openWorker(net.server.url);

test('two accounts message each other through the real worker and testnet', { skip: !NODE_BIN && 'no umbra-node binary' }, async () => {
  const a = await startWorker();
  const b = await startWorker();
  try {
    const ids = [];
    for (const { page } of [a, b]) ids.push(await createAccount(page));
    const [aid, bid] = ids;
    await send(a.page, { cmd: 'account', op: 'set_display_name', name: 'Alice' });
    await send(a.page, inConversation(bid, { op: 'open' }));
    await send(a.page, inConversation(bid, { op: 'send_text', body: 'hello from the worker' }));
    await waitEvent(a.page, () => window.events.find((e) => window.views(e)
      .some((m) => m.body === 'hello from the worker' && m.state === 'sent')));
    const row = await waitEvent(b.page, () => window.events.find((e) => e.event === 'conversations'
      && e.items.some((c) => c.last_preview === 'hello from the worker')));
    const conv = row.items.find((c) => c.conversation === aid);
    assert.equal(conv.kind, 'request');
    assert.equal(conv.display_name, 'Alice');
    assert.equal(conv.unread, 1);

    await send(b.page, inConversation(aid, { op: 'open' }));
    await send(b.page, inConversation(aid, { op: 'accept_request' }));
    await waitEvent(b.page, (peer) => window.events.find((e) => e.event === 'conversations'
      && e.items.some((c) => c.conversation === peer && c.kind === 'accepted' && c.unread === 0)), aid);

    const times = [];
    for (let i = 0; i < 4; i += 1) {
      const [from, to, peer] = i % 2 ? [a, b, bid] : [b, a, aid];
      const body = `ping ${i}`;
      const t0 = Date.now();
      await send(from.page, inConversation(peer, { op: 'send_text', body }));
      await waitEvent(to.page, (text) => window.events.find((e) => window.views(e)
        .some((m) => m.body === text && m.direction === 'incoming')), body, 20000);
      times.push(Date.now() - t0);
    }
    times.sort((x, y) => x - y);
    console.log(`worker e2e send-to-display ms: ${times.join(', ')}`);
    assert.equal(times.length, 4); // every ping arrived; speed itself is for bench/, not asserted
    // The bare JSON page asks for /favicon.ico (404); the worker's own requests must not fail.
    const real = (errors) => errors.filter((e) => !/status of 404/.test(e));
    assertNoErrors(real(a.errors));
    assertNoErrors(real(b.errors));
  } finally {
    await a.close();
    await b.close();
  }
});
