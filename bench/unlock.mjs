// Argon2id unlock time (KdfParams::DEFAULT: 64 MiB, t=3, p=1) in the worker of the release
// bundle in headless Chromium, against the same unlock natively (worker/examples/unlock_native.rs,
// same release profile), and the ratio. Prints figures; it is not a test.
// Usage: node bench/unlock.mjs   (BASE_URL=... to use a running server; NATIVE_MS=... to skip
// the native build; RUNS=5)
import { execFileSync } from 'node:child_process';
import {
  appServer, openApp, visible, VECTORS, choosePassphrase,
} from '../e2e/support/harness.mjs';

const RUNS = Number(process.env.RUNS || 5);
const PASS = 'bench passphrase';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const server = await appServer();
const app = await openApp(server.base, { viewport: { width: 1024, height: 768 } });
const { page } = app;
const times = [];
try {
  await page.getByRole('button', { name: 'Restore account' }).click();
  await page.getByLabel('Recovery phrase').fill(VECTORS[0][0]);
  await page.getByRole('button', { name: 'Restore' }).click();
  await choosePassphrase(page, PASS);
  for (let i = 0; i < RUNS; i++) {
    await page.reload();
    await visible(page.getByRole('heading', { name: 'Unlock Umbra' }));
    await page.getByLabel('Passphrase').fill(PASS);
    const start = await page.evaluate(() => performance.now());
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('heading', { name: 'Your account' }).waitFor({ state: 'visible', timeout: 60000 });
    times.push((await page.evaluate(() => performance.now())) - start);
  }
} finally {
  await app.close();
  await server.close();
}
const browserMs = median(times);
console.log(`browser_unlock_ms=${browserMs.toFixed(1)} (median of ${RUNS}: ${times.map((t) => t.toFixed(0)).join(', ')})`);

let nativeMs = Number(process.env.NATIVE_MS || NaN);
if (Number.isNaN(nativeMs)) {
  const out = execFileSync('cargo', ['run', '--quiet', '--release', '-p', 'umbra-worker', '--example', 'unlock_native'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  nativeMs = Number(/native_unlock_ms=([\d.]+)/.exec(out)?.[1]);
}
console.log(`native_unlock_ms=${nativeMs.toFixed(1)}`);
console.log(`ratio_browser_over_native=${(browserMs / nativeMs).toFixed(2)}`);
