// Worker-level helpers shared by e2e/worker-messaging.test.mjs and bench/messaging.mjs: a local
// testnet (`umbra-node testnet`) and the bundle served by `umbra-node serve --seed`, the
// bundle's real worker started in a same-origin page, and raw ipc JSON in and events out.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openApp } from './harness.mjs';
import { startServer } from './server.mjs';

/** The node binary: `env` if set, else target/release, else target/debug (undefined if none). */
export function nodeBin(env = process.env.UMBRA_NODE_BIN) {
  return env || ['target/release/umbra-node', 'target/debug/umbra-node'].find((p) => existsSync(p));
}

/**
 * Starts a testnet of `nodes` nodes and serves `dist` with /config.json naming its seed.
 * Resolves to { server, seed, close }.
 */
export async function startTestnet(bin, { nodes = 12, dist = process.env.DIST_DIR || 'dist', faithful = false } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'umbra-wmsg-'));
  // Faithful: nodes as Session's (no CORS, self-signed HTTPS) behind the testnet's bridge; the
  // testnet serves the app itself so the bridge knows the page's origin.
  const args = ['testnet', '--nodes', String(nodes), '--data', join(tmp, 'net')];
  if (faithful) args.push('--faithful', '--app-dir', dist, '--app-bind', '127.0.0.1:0');
  const testnet = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let server;
  const close = async () => {
    testnet.kill('SIGTERM');
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const lines = {};
    await new Promise((ok, fail) => {
      const rl = createInterface({ input: testnet.stdout });
      rl.on('line', (l) => {
        const [k, v] = l.split(' ');
        if (['seed', 'bridge', 'app'].includes(k)) lines[k] = v?.trim();
        if (faithful ? lines.app : lines.seed) ok();
      });
      testnet.on('exit', () => fail(new Error('testnet exited')));
    });
    if (faithful) {
      const url = lines.app.endsWith('/') ? lines.app : `${lines.app}/`;
      server = { url, close: async () => {} };
    } else {
      server = await startServer(dist, 0, { seedUrl: lines.seed });
    }
    return { server, seed: lines.seed, bridge: lines.bridge ?? null, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Opens a same-origin page without the app and starts the bundle's worker in it. Events land in
 * `window.events`, each one's arrival time (`Date.now()`) at the same index of `window.eventAt`.
 * `window.views(e)` is the list of message views an event carries: a `messages` event's page or
 * a `messages_changed` event's upserts (new or changed messages), else none.
 */
export async function startWorker(baseUrl) {
  const app = await openApp(`${baseUrl}manifest.json`);
  await app.page.evaluate(() => new Promise((ok, fail) => {
    window.events = [];
    window.eventAt = [];
    window.views = (e) => {
      if (e.event === 'messages') return e.items;
      if (e.event === 'messages_changed') return e.upserts;
      return [];
    };
    const w = new Worker('umbra-worker_loader.js', { type: 'module' });
    w.onmessage = (m) => {
      // An event is its JSON text, or [text, ArrayBuffer] when it carries bytes.
      const ev = JSON.parse(Array.isArray(m.data) ? m.data[0] : m.data);
      if (Array.isArray(m.data)) ev.byteLength = m.data[1].byteLength;
      window.events.push(ev);
      window.eventAt.push(Date.now());
      if (ev.event === 'ready') ok();
    };
    w.onerror = (e) => fail(new Error(`worker error ${e.message}`));
    window.send = (cmd) => w.postMessage(JSON.stringify(cmd));
  }));
  return app;
}

/** Posts one ipc command (an object, sent as JSON) to the page's worker. */
export const send = (page, cmd) => page.evaluate((c) => window.send(c), cmd);

/** The command for `op` (an object with `op` and its fields) in `conversation`. */
export const inConversation = (conversation, op) => ({ cmd: 'conversation', conversation, ...op });

/**
 * Waits until `find` (run in the page with `arg`; it searches `window.events`) returns an
 * event, and returns it. No eval: the page runs under the production CSP.
 */
export async function waitEvent(page, find, arg = null, timeout = 30000) {
  const handle = await page.waitForFunction(find, arg, { timeout, polling: 10 });
  return handle.jsonValue();
}

/** Creates an account in the page's worker, unlocks it and waits for paths. Resolves to its ID. */
export async function createAccount(page, passphrase = 'pw for e2e') {
  await send(page, { cmd: 'account', op: 'create' });
  const created = await waitEvent(page, () => window.events.find((e) => e.event === 'account_created'));
  await send(page, { cmd: 'account', op: 'set_passphrase', passphrase });
  await waitEvent(page, () => window.events.find((e) => e.event === 'unlocked'), null, 60000);
  await waitEvent(page, () => window.events.find((e) => e.event === 'paths' && e.state === 'connected'), null, 60000);
  return created.account_id;
}
