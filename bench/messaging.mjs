// One-to-one messaging over a local testnet between two headless Chromium contexts (Alice, Bob),
// directly to the nodes and through the faithful testnet's bridge (ROUTE=direct|bridge|both),
// each running the release bundle's real worker driven by raw ipc JSON (no UI): send-to-display
// latency over N messages sent one at a time, and one-way throughput of N messages sent back to
// back. Prints figures; it is not a test and asserts no timings.
// Usage: node bench/messaging.mjs   (N=100; UMBRA_NODE_BIN or UMBRA_NODE = node binary, default
// target/release/umbra-node; DIST_DIR = bundle, default dist; NODES=12 testnet size)
// Times: the send is stamped with Date.now() in Alice's page right before the command is posted
// to her worker; the display with Date.now() in Bob's page when his worker's `messages` or
// `messages_changed` event carrying the message arrived (same machine clock). Worker CPU per message (wasm vs native) is
// measured by bench/crypto ("real send" line), not here.
// Storage cost: each worker publishes its IndexedDB counters (transactions, records and bytes
// written; counts only) on its global scope as `umbraStoreStats` (worker/src/store.rs); they are
// read with Playwright's worker.evaluate before the burst and once both workers have gone quiet
// after it, and divided by N: transactions per received message (Bob), bytes and transactions
// written per sent message (Alice).
import { existsSync } from 'node:fs';
import {
  nodeBin, startTestnet, startWorker, send, waitEvent, createAccount, inConversation,
} from '../e2e/support/worker.mjs';

const N = Number(process.env.N || 100);
const NODES = Number(process.env.NODES || 12);
const BIN = nodeBin(process.env.UMBRA_NODE_BIN || process.env.UMBRA_NODE);
if (!BIN || !existsSync(BIN)) {
  console.error('no umbra-node binary: cargo build -p umbra-node --release (or set UMBRA_NODE_BIN)');
  process.exit(1);
}
if (!existsSync(`${process.env.DIST_DIR || 'dist'}/index.html`)) {
  console.error('no bundle: trunk build --release (or set DIST_DIR)');
  process.exit(1);
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** Posts `cmd` in `page` and returns the page's Date.now() just before posting. */
const stampedSend = (page, cmd) => page.evaluate((c) => { const t = Date.now(); window.send(c); return t; }, cmd);

/**
 * In Bob's page: the arrival time of the first event (from index `from` on) that shows an
 * incoming message with body `text` (a `messages` page or a `messages_changed` upsert), or null.
 * Returns { at, next } so scans resume.
 */
function arrivedAt([text, from]) {
  for (let i = from; i < window.events.length; i += 1) {
    const e = window.events[i];
    if (window.views(e).some((m) => m.body === text && m.direction === 'incoming')) {
      return { at: window.eventAt[i], next: i };
    }
  }
  return null;
}

/** In Bob's page: the time all `n` incoming bodies `${prefix}${k}` have been seen, or null. */
function allArrived([prefix, n, from]) {
  const st = window.burst ??= { seen: new Set(), i: from };
  for (; st.i < window.events.length; st.i += 1) {
    const e = window.events[st.i];
    for (const m of window.views(e)) {
      if (m.direction === 'incoming' && m.body.startsWith(prefix)) st.seen.add(m.body);
    }
    if (st.seen.size >= n) return { at: window.eventAt[st.i], seen: st.seen.size };
  }
  return null;
}

/** The IndexedDB counters of the worker of `app` (zeros before its first transaction). */
async function ioStats(app) {
  const [w] = app.page.workers();
  const s = w ? await w.evaluate(() => globalThis.umbraStoreStats) : null;
  return s ?? { readTx: 0, writeTx: 0, puts: 0, bytesWritten: 0, deletes: 0 };
}

/** Waits (≤ 30 s) until the counters of `app` have not moved for 2 s; returns them. */
async function quietStats(app) {
  let last = await ioStats(app);
  for (let waited = 0; waited < 30000; waited += 2000) {
    await new Promise((r) => setTimeout(r, 2000));
    const now = await ioStats(app);
    if (now.readTx === last.readTx && now.writeTx === last.writeTx) return now;
    last = now;
  }
  return last;
}

const delta = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));

/** One run over a fresh testnet: `faithful` (through the bridge) or direct. */
async function run(faithful) {
  const t0 = Date.now();
  const net = await startTestnet(BIN, { nodes: NODES, faithful });
  let alice; let bob;
  try {
    alice = await startWorker(net.server.url);
    bob = await startWorker(net.server.url);
    const aid = await createAccount(alice.page, 'bench alice');
    const bid = await createAccount(bob.page, 'bench bob');
    // An accepted conversation: Alice's request, Bob accepts, both keep it open.
    await send(alice.page, { cmd: 'account', op: 'set_display_name', name: 'Alice' });
    await send(alice.page, inConversation(bid, { op: 'open' }));
    await send(alice.page, inConversation(bid, { op: 'send_text', body: 'hello' }));
    await waitEvent(bob.page, () => window.events.find((e) => e.event === 'conversations'
      && e.items.some((c) => c.last_preview === 'hello')), null, 60000);
    await send(bob.page, inConversation(aid, { op: 'open' }));
    await send(bob.page, inConversation(aid, { op: 'accept_request' }));
    await waitEvent(bob.page, (peer) => window.events.find((e) => e.event === 'conversations'
      && e.items.some((c) => c.conversation === peer && c.kind === 'accepted')), aid, 30000);
    console.log(`setup (testnet, 2 accounts, accepted conversation): ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // Latency: one at a time, the next sent only once Bob shows the previous.
    const lat = [];
    let from = await bob.page.evaluate(() => window.events.length);
    for (let i = 0; i < N; i += 1) {
      const body = `lat ${i}`;
      const sentAt = await stampedSend(alice.page, inConversation(bid, { op: 'send_text', body }));
      const got = await waitEvent(bob.page, arrivedAt, [body, from], 60000);
      lat.push(got.at - sentAt);
      from = got.next;
    }
    const sorted = [...lat].sort((x, y) => x - y);

    // Throughput: N back to back (all posted in one page task), until Bob has all N.
    from = await bob.page.evaluate(() => window.events.length);
    const aliceBefore = await quietStats(alice);
    const bobBefore = await quietStats(bob);
    const burstStart = await alice.page.evaluate(([conversation, n]) => {
      const t = Date.now();
      for (let k = 0; k < n; k += 1) {
        window.send({ cmd: 'conversation', conversation, op: 'send_text', body: `burst ${k}` });
      }
      return t;
    }, [bid, N]);
    const done = await waitEvent(bob.page, allArrived, ['burst ', N, from], 300000);
    const burstMs = done.at - burstStart;
    const aliceIo = delta(aliceBefore, await quietStats(alice));
    const bobIo = delta(bobBefore, await quietStats(bob));
    const per = (v) => (v / N).toFixed(1);

    const line = (k, v) => console.log(`${k.padEnd(34)} ${v}`);
    console.log('');
    console.log(`Messaging Alice -> Bob, ${NODES}-node local testnet, ${faithful ? 'faithful nodes through the bridge' : 'direct to the nodes'}, release bundle worker, headless Chromium`);
    line(`send-to-display latency (n=${N})`, '');
    line('  p50', `${pct(sorted, 50)} ms`);
    line('  p95', `${pct(sorted, 95)} ms`);
    line('  max', `${sorted[sorted.length - 1]} ms`);
    line('  min', `${sorted[0]} ms`);
    line(`throughput (${N} back to back)`, `${(burstMs / 1000).toFixed(2)} s until Bob has all ${N} = ${(N / (burstMs / 1000)).toFixed(1)} msg/s`);
    line('IndexedDB, Bob, per received msg', `${per(bobIo.readTx + bobIo.writeTx)} transactions (${per(bobIo.readTx)} read, ${per(bobIo.writeTx)} write), ${per(bobIo.bytesWritten)} bytes written`);
    line('IndexedDB, Alice, per sent msg', `${per(aliceIo.bytesWritten)} bytes written in ${per(aliceIo.puts)} records, ${per(aliceIo.writeTx)} write transactions`);
    console.log('');
    const tag = faithful ? 'bridge_' : 'direct_';
    console.log(`${tag}n=${N}`);
    console.log(`${tag}p50_ms=${pct(sorted, 50)}`);
    console.log(`${tag}p95_ms=${pct(sorted, 95)}`);
    console.log(`${tag}max_ms=${sorted[sorted.length - 1]}`);
    console.log(`${tag}min_ms=${sorted[0]}`);
    console.log(`${tag}burst_ms=${burstMs}`);
    console.log(`${tag}throughput_msgs_per_s=${(N / (burstMs / 1000)).toFixed(2)}`);
    console.log(`${tag}bob_idb_tx_per_received=${per(bobIo.readTx + bobIo.writeTx)}`);
    console.log(`${tag}bob_idb_write_tx_per_received=${per(bobIo.writeTx)}`);
    console.log(`${tag}bob_bytes_written_per_received=${per(bobIo.bytesWritten)}`);
    console.log(`${tag}alice_bytes_written_per_sent=${per(aliceIo.bytesWritten)}`);
    console.log(`${tag}alice_write_tx_per_sent=${per(aliceIo.writeTx)}`);
    return { p50: pct(sorted, 50), p95: pct(sorted, 95), burstMs };
  } finally {
    await alice?.close();
    await bob?.close();
    await net.close();
  }
}

// ROUTE=bridge|direct|both (default both: direct first, then the bridge, and the ratios).
const ROUTE = process.env.ROUTE || 'both';
const results = {};
if (ROUTE !== 'bridge') results.direct = await run(false);
if (ROUTE !== 'direct') results.bridge = await run(true);
if (results.direct && results.bridge) {
  const r = (a, b) => (a / b).toFixed(2);
  console.log('');
  console.log(`bridge/direct latency p50 ratio=${r(results.bridge.p50, results.direct.p50)}`);
  console.log(`bridge/direct latency p95 ratio=${r(results.bridge.p95, results.direct.p95)}`);
  console.log(`bridge/direct burst time ratio=${r(results.bridge.burstMs, results.direct.burstMs)}`);
}
