// HTTPS testnet for the e2e suite: starts `umbra-node testnet --tls` (seed and nodes over
// HTTPS with a freshly generated local CA, plus the app server over HTTP on loopback) and
// launches Chromium trusting that CA through its NSS database in a temporary HOME. No
// certificate error is ever ignored: no `ignoreHTTPSErrors`, no `--ignore-certificate-errors`.
//
//   const net = await startTlsNetwork({ nodes: 4 });       // net.seed, net.app, net.caPem
//   const browser = await launchTrustingBrowser(net.caPem); // browser.ctx, browser.page
//   ...
//   await browser.close(); await net.stop();
//
// Environment: UMBRA_NODE_BIN (default target/release/umbra-node, else target/debug/umbra-node),
// CHROMIUM_PATH (default /usr/bin/chromium). Needs `certutil` (Debian libnss3-tools).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** The repository root (this file lives in e2e/). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/**
 * Chromium flags as in docs/engineering.md T1. Deliberately nothing that relaxes certificate
 * checks.
 */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** The nickname the testnet CA gets in the NSS database. */
export const CA_NICKNAME = 'umbra testnet CA';

/** The umbra-node binary: UMBRA_NODE_BIN, else the release build, else the debug build. */
export function nodeBinary() {
  if (process.env.UMBRA_NODE_BIN) return resolve(process.env.UMBRA_NODE_BIN);
  const release = join(ROOT, 'target', 'release', 'umbra-node');
  const debug = join(ROOT, 'target', 'debug', 'umbra-node');
  return existsSync(release) || !existsSync(debug) ? release : debug;
}

/**
 * Starts `umbra-node testnet --tls` and resolves once it printed its `seed https://...` line
 * (and, with an app dir, its `app http://...` line).
 *
 * Options: `nodes` (4), `swarmSize` (4), `appDir` (`dist` under the repository; `null` for no
 * app server), `bin` (see nodeBinary), `timeoutMs` (60000).
 *
 * Resolves to { seed, app, dataDir, caPem, process, stop() }: `seed` is the seed URL without a
 * trailing slash, `app` the app server URL with one, `caPem` the path of the CA certificate.
 * `stop()` sends SIGTERM, waits for a clean exit (SIGKILL after 10 s) and removes the data dir.
 */
export async function startTlsNetwork({
  nodes = 4, swarmSize = 4, appDir = join(ROOT, 'dist'), bin = nodeBinary(), timeoutMs = 60000,
} = {}) {
  if (!existsSync(bin)) {
    throw new Error(`umbra-node binary not found at ${bin} (cargo build --release -p umbra-node, or set UMBRA_NODE_BIN)`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'umbra-tls-net-'));
  const args = ['testnet', '--tls', '--nodes', String(nodes), '--swarm-size', String(swarmSize),
    '--data', dataDir];
  if (appDir) args.push('--app-dir', resolve(appDir), '--app-bind', '127.0.0.1:0');
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));

  let seed = null;
  let app = null;
  try {
    await new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`testnet did not start within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      const done = (err) => { clearTimeout(timer); if (err) rej(err); else res(); };
      exited.then(({ code, signal }) => done(new Error(`testnet exited early (code ${code}, signal ${signal}); stderr: ${stderr}`)));
      child.once('error', done);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const [word, url] = line.trim().split(/\s+/);
        if (word === 'seed') seed = url.replace(/\/+$/, '');
        if (word === 'app') app = url.endsWith('/') ? url : `${url}/`;
        if (seed && (app || !appDir)) done();
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    process.removeListener('exit', killOnExit);
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const caPem = join(dataDir, 'ca.pem');
  const problem = !seed.startsWith('https://') ? `seed is not HTTPS: ${seed}`
    : !existsSync(caPem) ? `no CA certificate at ${caPem}` : null;
  if (problem) {
    child.kill('SIGKILL');
    await exited;
    process.removeListener('exit', killOnExit);
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(problem);
  }

  let stopped = null;
  return {
    seed, app, dataDir, caPem, process: child,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
          await exited;
          clearTimeout(timer);
        }
        process.removeListener('exit', killOnExit);
        rmSync(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/**
 * Creates an NSS database in a fresh HOME and, when `caPem` is given, adds that certificate
 * as a trusted CA (`-t "C,,"`). Returns the HOME directory.
 */
export function makeNssHome(caPem) {
  const home = mkdtempSync(join(tmpdir(), 'umbra-tls-home-'));
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true });
  try {
    execFileSync('certutil', ['-d', `sql:${db}`, '-N', '--empty-password'], { stdio: 'pipe' });
  } catch (e) {
    rmSync(home, { recursive: true, force: true });
    if (e.code === 'ENOENT') throw new Error('certutil not found: install libnss3-tools (scripts/setup.sh does)');
    throw e;
  }
  if (caPem) {
    execFileSync('certutil', ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', CA_NICKNAME, '-i', caPem],
      { stdio: 'pipe' });
    const listed = execFileSync('certutil', ['-d', `sql:${db}`, '-L'], { encoding: 'utf8' });
    if (!listed.includes(CA_NICKNAME)) throw new Error('CA missing from the NSS database after import');
  }
  return home;
}

/**
 * Launches headless Chromium with a fresh profile whose HOME holds an NSS database trusting
 * `caPem` (pass `null` for a control browser that trusts no testnet CA). Certificate errors
 * are never ignored.
 *
 * Options: `viewport`, `extraArgs`. Resolves to { ctx, page, home, profile, close() }.
 */
export async function launchTrustingBrowser(caPem, { viewport = { width: 360, height: 740 }, extraArgs = [] } = {}) {
  if (extraArgs.some((a) => /ignore-certificate|allow-insecure|unsafely-treat/i.test(a))) {
    throw new Error('certificate checks must not be relaxed in the HTTPS e2e');
  }
  const home = makeNssHome(caPem);
  const profile = mkdtempSync(join(tmpdir(), 'umbra-tls-profile-'));
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport,
      args: [...CHROMIUM_ARGS, ...extraArgs],
      env: { ...process.env, HOME: home },
    });
  } catch (e) {
    rmSync(home, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  const page = ctx.pages()[0] ?? await ctx.newPage();
  return {
    ctx, page, home, profile,
    async close() {
      await ctx.close();
      rmSync(home, { recursive: true, force: true });
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * POSTs JSON to an HTTPS URL from Node, trusting only the CA in `caPem` (a path). Resolves to
 * { status, body } (body parsed as JSON when possible).
 */
export function postJson(url, body, caPem) {
  const ca = readFileSync(caPem);
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((res, rej) => {
    const req = httpsRequest(url, {
      method: 'POST', ca, headers: { 'content-type': 'application/json', 'content-length': data.length },
    }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        try { parsed = JSON.parse(text); } catch { /* plain-text answer */ }
        res({ status: r.statusCode, body: parsed });
      });
      r.on('error', rej);
    });
    req.on('error', rej);
    req.end(data);
  });
}

/**
 * The network's nodes as the seed lists them: [{ url, ed25519, x25519, swarmId }], `url` being
 * the node's HTTPS base (`https://ip:port`).
 */
export async function serviceNodes(net) {
  const { status, body } = await postJson(`${net.seed}/json_rpc`, {
    jsonrpc: '2.0', id: 0, method: 'get_n_service_nodes', params: { active_only: true },
  }, net.caPem);
  if (status !== 200) throw new Error(`seed answered ${status}`);
  return body.result.service_node_states.map((n) => ({
    url: `https://${n.public_ip}:${n.storage_port}`,
    ed25519: n.pubkey_ed25519, x25519: n.pubkey_x25519, swarmId: n.swarm_id,
  }));
}
