// Starts a local Session-compatible network: `umbra-node testnet --nodes N --data <tmp>` (binary
// from UMBRA_NODE_BIN, default target/release/umbra-node), resolving once it prints its
// `seed <URL>` line. Everything listens on loopback only.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NODE_BIN = process.env.UMBRA_NODE_BIN || 'target/release/umbra-node';

/**
 * Resolves to { seedUrl, bridgeUrl, appUrl, configPath, controlToken, turn, community, close, output } once the
 * testnet answers. `faithful`: nodes and seed behave like Session's (self-signed HTTPS, no
 * CORS) and a bridge is started (`bridgeUrl`); `appDir`: the testnet also serves the app with
 * its config.json (`appUrl`; the bridge then allows that origin); `ons`: [[name, Account ID]]
 * registered in the testnet's name service. `control`: the
 * seed also answers POST /testnet/v1/{stop,start}_node with {"ed25519": hex} and
 * `authorization: Bearer <controlToken>` (the random token the testnet prints as
 * `control token <hex>` before its seed line; null without `control`). `turn`: the testnet's
 * TURN server as an RTCIceServer ({ urls, username, credential }, from its
 * `turn turn:127.0.0.1:P <user> <password>` line, which follows the seed and fileserver lines;
 * null without coturn). Pass `needTurn` to wait for that line and fail without it. `community`:
 * the testnet's community room ({ url, room, x25519 }, from its
 * `community http://127.0.0.1:P/lobby?public_key=<hex>` line, printed after the seed, fileserver,
 * turn and bridge lines and before the app line; null when not printed yet). Pass
 * `needCommunity` to wait for that line.
 */
export async function startTestnet({ nodes = 12, timeoutMs = 60000, control = false, faithful = false, appDir = null, ons = [], needTurn = false, needCommunity = false } = {}) {
  const data = mkdtempSync(join(tmpdir(), 'umbra-testnet-'));
  const args = ['testnet', '--nodes', String(nodes), '--data', data];
  if (control) args.push('--control');
  if (faithful) args.push('--faithful');
  if (appDir) args.push('--app-dir', appDir, '--app-bind', '127.0.0.1:0');
  for (const [name, id] of ons) args.push('--ons', `${name}=${id}`);
  const child = spawn(NODE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // The last line to wait for: `app <URL>` with an app, else `bridge <URL>` (faithful) or
  // `seed <URL>`.
  const last = appDir ? /^app (\S+)$/m : faithful ? /^bridge (\S+)$/m : /^seed (\S+)$/m;
  const turnLine = /^turn (turn:\S+) (\S+) (\S+)$/m;
  const communityLine = /^community (http:\/\/\S+)\/([A-Za-z0-9_-]+)\?public_key=([0-9a-f]{64})$/m;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`testnet did not start:\n${output}`)), timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      if (last.test(output) && (!needTurn || turnLine.test(output)) && (!needCommunity || communityLine.test(output))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => {
      output += c;
      if (needTurn && /turnserver not found/.test(output)) {
        clearTimeout(timer);
        reject(new Error(`testnet has no TURN server (install coturn: scripts/setup.sh):\n${output}`));
      }
    });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`testnet exited ${code}:\n${output}`)); });
  });
  child.removeAllListeners('exit');
  const seedUrl = output.match(/^seed (\S+)$/m)[1];
  const bridgeUrl = output.match(/^bridge (\S+)$/m)?.[1] ?? null;
  const appUrl = output.match(/^app (\S+)$/m)?.[1] ?? null;
  const token = output.match(/^control token ([0-9a-f]{64})$/m);
  const turnMatch = output.match(turnLine);
  const turn = turnMatch ? { urls: [turnMatch[1]], username: turnMatch[2], credential: turnMatch[3] } : null;
  const communityMatch = output.match(communityLine);
  const community = communityMatch ? { url: communityMatch[1], room: communityMatch[2], x25519: communityMatch[3] } : null;
  if (control && !token) throw new Error(`testnet printed no control token:\n${output}`);
  return {
    seedUrl,
    bridgeUrl,
    appUrl,
    configPath: join(data, 'config.json'),
    controlToken: token ? token[1] : null,
    turn,
    community,
    data,
    output: () => output,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.once('exit', ok));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/**
 * What every node of the testnet in `data` stores for `account`, read from the nodes' SQLite
 * databases (`umbra-node inspect`): [{ node, hash, namespace, expiry }].
 */
export function storedMessages(data, account) {
  const out = execFileSync(NODE_BIN, ['inspect', '--data', data, '--account', account], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}
