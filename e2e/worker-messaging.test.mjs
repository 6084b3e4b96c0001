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
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openApp, assertNoErrors } from './support/harness.mjs';
import { startServer } from './support/server.mjs';

const NODE_BIN = process.env.UMBRA_NODE_BIN
  || ['target/release/umbra-node', 'target/debug/umbra-node'].find((p) => existsSync(p));

let testnet; let server; let tmp;

before(async () => {
  if (!NODE_BIN) return;
  tmp = mkdtempSync(join(tmpdir(), 'umbra-wmsg-'));
  testnet = spawn(NODE_BIN, ['testnet', '--nodes', '12', '--data', join(tmp, 'net')],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const seed = await new Promise((ok, fail) => {
    const rl = createInterface({ input: testnet.stdout });
    rl.on('line', (l) => { if (l.startsWith('seed ')) ok(l.slice(5).trim()); });
    testnet.on('exit', () => fail(new Error('testnet exited')));
  });
  // The bundle with config.json naming this testnet's seed.
  const dist = join(tmp, 'dist');
  cpSync(process.env.DIST_DIR || 'dist', dist, { recursive: true });
  writeFileSync(join(dist, 'config.json'), JSON.stringify({ seed_url: seed }));
  server = await startServer(dist, 0);
});

after(async () => {
  await server?.close();
  testnet?.kill('SIGTERM');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Opens a same-origin page without the app and starts the bundle's worker in it. */
async function startWorker() {
  const app = await openApp(`${server.url}manifest.json`);
  await app.page.evaluate(() => new Promise((ok, fail) => {
    window.events = [];
    const w = new Worker('umbra-worker_loader.js', { type: 'module' });
    w.onmessage = (m) => {
      const ev = JSON.parse(m.data);
      window.events.push(ev);
      if (ev.event === 'ready') ok();
    };
    w.onerror = (e) => fail(new Error(`worker error ${e.message}`));
    window.send = (cmd) => w.postMessage(JSON.stringify(cmd));
  }));
  return app;
}

const send = (page, cmd) => page.evaluate((c) => window.send(c), cmd);

/**
 * Waits until `find` (run in the page with `arg`; it searches `window.events`) returns an
 * event, and returns it. No eval: the page runs under the production CSP.
 */
async function waitEvent(page, find, arg = null, timeout = 30000) {
  const handle = await page.waitForFunction(find, arg, { timeout, polling: 10 });
  return handle.jsonValue();
}

test('two accounts message each other through the real worker and testnet', { skip: !NODE_BIN && 'no umbra-node binary' }, async () => {
  const a = await startWorker();
  const b = await startWorker();
  try {
    const ids = [];
    for (const { page } of [a, b]) {
      await send(page, { cmd: 'create_account' });
      const created = await waitEvent(page, () => window.events.find((e) => e.event === 'account_created'));
      ids.push(created.account_id);
      await send(page, { cmd: 'set_passphrase', passphrase: 'pw for e2e' });
      await waitEvent(page, () => window.events.find((e) => e.event === 'unlocked'), null, 60000);
      await waitEvent(page, () => window.events.find((e) => e.event === 'paths' && e.state === 'connected'), null, 60000);
    }
    const [aid, bid] = ids;
    await send(a.page, { cmd: 'set_display_name', name: 'Alice' });
    await send(a.page, { cmd: 'open_conversation', peer: bid });
    await send(a.page, { cmd: 'send_text', peer: bid, body: 'hello from the worker' });
    await waitEvent(a.page, () => window.events.find((e) => e.event === 'messages'
      && e.items.some((m) => m.body === 'hello from the worker' && m.state === 'sent')));
    const row = await waitEvent(b.page, () => window.events.find((e) => e.event === 'conversations'
      && e.items.some((c) => c.last_preview === 'hello from the worker')));
    const conv = row.items.find((c) => c.peer === aid);
    assert.equal(conv.kind, 'request');
    assert.equal(conv.display_name, 'Alice');
    assert.equal(conv.unread, 1);

    await send(b.page, { cmd: 'open_conversation', peer: aid });
    await send(b.page, { cmd: 'accept_request', peer: aid });
    await waitEvent(b.page, (peer) => window.events.find((e) => e.event === 'conversations'
      && e.items.some((c) => c.peer === peer && c.kind === 'accepted' && c.unread === 0)), aid);

    const times = [];
    for (let i = 0; i < 4; i += 1) {
      const [from, to, peer] = i % 2 ? [a, b, bid] : [b, a, aid];
      const body = `ping ${i}`;
      const t0 = Date.now();
      await send(from.page, { cmd: 'send_text', peer, body });
      await waitEvent(to.page, (text) => window.events.find((e) => e.event === 'messages'
        && e.items.some((m) => m.body === text && m.direction === 'incoming')), body, 20000);
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
