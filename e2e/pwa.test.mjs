// PWA: the service worker keeps the app shell working offline, and the app is installable
// (manifest without errors, no installability errors). Fails on any console error, page
// error or CSP violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appServer, openApp, assertNoErrors, visible } from './support/harness.mjs';

let server;
before(async () => { server = await appServer(); });
after(async () => { await server?.close(); });

async function controlled(page) {
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

test('offline reload still shows the app shell (and the worker answers)', async () => {
  const app = await openApp(server.base);
  const { page, ctx } = app;
  try {
    await visible(page.getByRole('heading', { name: 'Welcome to Umbra' }));
    await controlled(page);
    await ctx.setOffline(true);
    await page.reload();
    await visible(page.getByRole('heading', { name: 'Welcome to Umbra' }));
    assert.equal(await page.evaluate(() => navigator.onLine), false);
    await ctx.setOffline(false);
    assertNoErrors(app.errors);
  } finally {
    await app.close();
  }
});

test('installable: manifest has no errors, no installability errors', async () => {
  const app = await openApp(server.base);
  const { page, ctx } = app;
  try {
    await visible(page.getByRole('heading', { name: 'Welcome to Umbra' }));
    await controlled(page);
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    assert.equal(scope, server.base);
    const cdp = await ctx.newCDPSession(page);
    const manifest = await cdp.send('Page.getAppManifest');
    assert.deepEqual(manifest.errors, []);
    assert.match(manifest.url, /manifest\.json$/);
    assert.deepEqual((await cdp.send('Page.getInstallabilityErrors')).installabilityErrors, []);
    assertNoErrors(app.errors);
  } finally {
    await app.close();
  }
});

test('the served CSP forbids inline and eval script', async () => {
  const res = await fetch(server.base);
  const policy = res.headers.get('content-security-policy');
  assert.ok(policy, 'a CSP header is sent');
  const scriptSrc = policy.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src'));
  assert.ok(scriptSrc.includes("'wasm-unsafe-eval'"));
  for (const bad of ["'unsafe-inline'", "'unsafe-eval'", 'data:', 'blob:', 'http:', 'https:']) {
    assert.ok(!scriptSrc.split(/\s+/).includes(bad), `script-src must not allow ${bad}`);
  }
  for (const d of ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "style-src 'self'"]) {
    assert.ok(policy.includes(d), `CSP has ${d}`);
  }
});

test('the harness catches CSP violations (inline script is blocked and reported)', async () => {
  const app = await openApp(server.base);
  const { page } = app;
  try {
    await visible(page.getByRole('heading', { name: 'Welcome to Umbra' }));
    const reported = page.waitForEvent('console', {
      predicate: (m) => m.text().includes('CSP violation'), timeout: 5000,
    });
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true;';
      document.head.append(s);
    });
    await reported;
    assert.ok(app.errors.some((e) => e.includes('CSP violation: script-src')), String(app.errors));
    assert.equal(await page.evaluate(() => window.__inlineRan === true), false);
  } finally {
    await app.close();
  }
});
