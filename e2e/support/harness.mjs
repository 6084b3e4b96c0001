// Shared e2e harness: the app under test (BASE_URL, or `umbra-node serve` on ./dist on a
// free port), and a fresh Chromium profile per test that records every console error, page
// error and CSP violation (tests assert the list is empty).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Resolves to { base, close }: BASE_URL if set, else `umbra-node serve` of ./dist on a free port. */
export async function appServer() {
  if (process.env.BASE_URL) {
    const base = process.env.BASE_URL.endsWith('/') ? process.env.BASE_URL : `${process.env.BASE_URL}/`;
    return { base, close: async () => {} };
  }
  const { url, close } = await startServer(process.env.DIST_DIR || 'dist', 0);
  return { base: url, close };
}

/**
 * A fresh persistent profile (own IndexedDB, service worker, caches). Returns
 * { ctx, page, errors, close }. `errors` collects console errors (page and workers), page
 * errors and CSP violations.
 */
export async function openApp(base, { viewport = { width: 360, height: 740 }, env, args = [], init } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-e2e-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, args: [...ARGS, ...args], viewport, ...(env ? { env } : {}),
  });
  const errors = [];
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });
  const watch = (page) => {
    page.on('pageerror', (e) => errors.push(`pageerror: ${e}`));
    // The URL a console error is about (e.g. a failed fetch), so a test can tell the failures
    // it caused on purpose (a stopped node) from any other.
    const where = (m) => (m.location?.()?.url ? ` [${m.location().url}]` : '');
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}${where(m)}`); });
    page.on('worker', (w) => w.on?.('console', (m) => {
      if (m.type() === 'error') errors.push(`worker console: ${m.text()}${where(m)}`);
    }));
  };
  if (init) await ctx.addInitScript(init);
  ctx.on('page', watch);
  const page = ctx.pages()[0] ?? await ctx.newPage();
  watch(page);
  await page.goto(base);
  return {
    ctx, page, errors,
    async close() {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fails the test if anything was recorded in `errors`. */
export function assertNoErrors(errors) {
  assert.deepEqual(errors, [], 'console errors, page errors or CSP violations');
}

/** Waits until `locator` is visible (polling; no fixed sleeps). */
export async function visible(locator, timeout = 15000) {
  await locator.waitFor({ state: 'visible', timeout });
  return locator;
}

/** The §2 vector phrases of docs/protocol.md and their Account IDs. */
export const VECTORS = [
  ['sewage railway names rift wagtail duties rowboat until seismic radar custom gimmick until',
    '0555b969220fbdfa09b6a36e6a57d4bc04ff0047461f0b4710fcb4f0ec43a2884a'],
  ['fuming nearby kennel husband dejected pepper jaded because dads goggles tufts tomorrow dejected',
    '055eebb051ef90cc36eec8b5c5162714497192308c3c89d00149310fb38496e24e'],
];

/** On the passphrase screen: sets `pass` (twice) and waits for the home screen. */
export async function choosePassphrase(page, pass) {
  await visible(page.getByRole('heading', { name: 'Choose a passphrase' }));
  await page.getByLabel('Passphrase', { exact: true }).fill(pass);
  await page.getByLabel('Confirm passphrase').fill(pass);
  await page.getByRole('button', { name: 'Continue' }).click();
  await visible(page.getByRole('heading', { name: 'Your account' }));
}

/** The Account ID text shown on the home screen. */
export async function shownAccountId(page) {
  return (await page.getByLabel('Account ID', { exact: true }).textContent()).trim();
}
