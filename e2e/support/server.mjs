// Serves the built app (./dist) for the e2e tests with the real static server users run:
// `umbra-node serve` (binary from UMBRA_NODE_BIN, default target/release/umbra-node), which sends
// the production Content-Security-Policy (trunk's inline boot script allowed by its sha256 hash)
// and security headers, and answers /config.json with the given seed URL.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const NODE_BIN = process.env.UMBRA_NODE_BIN
  || ['target/release/umbra-node', 'target/debug/umbra-node'].find((p) => existsSync(p))
  || 'target/release/umbra-node';

/**
 * Starts `umbra-node serve` on a free loopback port. Resolves to { url, close }. With
 * `seedUrl`, /config.json answers {"seed_url": seedUrl}; with `config` (a file), that file;
 * `connectSrc`: extra CSP connect-src sources (`serve --connect-src`).
 */
export async function startServer(dist = 'dist', port = 0, { seedUrl, config, connectSrc = [] } = {}) {
  const args = ['serve', '--dir', resolve(dist), '--bind', `127.0.0.1:${port}`];
  if (seedUrl) args.push('--seed', seedUrl);
  if (config) args.push('--config', config);
  for (const src of connectSrc) args.push('--connect-src', src);
  const child = spawn(NODE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`umbra-node serve did not start:\n${output}`)), 30000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const m = output.match(/^app (\S+)$/m);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    child.stderr.on('data', (c) => { output += c; });
    child.on('error', (e) => { clearTimeout(timer); fail(e); });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`umbra-node serve exited ${code}:\n${output}`)); });
  });
  child.removeAllListeners('exit');
  return {
    url,
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
