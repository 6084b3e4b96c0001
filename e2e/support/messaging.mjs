// Shared helpers of the two-browser messaging e2e flows: account creation, conversation
// start, sending, reading the open conversation's messages and waiting for them.
import assert from 'node:assert/strict';
import { openApp, visible, shownAccountId } from './harness.mjs';

/** Passphrase of every test account. */
export const PASS = 'correct horse battery staple';
/** Delivery goes through onion paths and polling; generous on a shared 2-core machine. */
export const DELIVERY_MS = 90000;

/** Opens a fresh profile on `url` (extra Chromium `args`, an `init` script run before the
 * page's own), creates an account; resolves to { app, id }. */
export async function newUser(url, env, args = [], init = undefined) {
  const app = await openApp(url, { env, args, init });
  const { page } = app;
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByLabel('I have saved my recovery phrase').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await visible(page.getByRole('heading', { name: 'Choose a passphrase' }));
  await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
  await page.getByLabel('Confirm passphrase').fill(PASS);
  await page.getByRole('button', { name: 'Continue' }).click();
  await visible(page.getByRole('heading', { name: 'Your account' }), 60000);
  const id = await shownAccountId(page);
  return { app, id };
}

/** Starts (or opens) the conversation with `peer` from the list. */
export async function startConversation(page, peer) {
  await page.getByRole('button', { name: 'New conversation' }).click();
  await page.getByLabel('Account ID').fill(peer);
  await page.getByRole('button', { name: 'Start conversation' }).click();
  await visible(page.getByRole('log', { name: 'Messages' }));
}

/** Types `text` in the composer and presses Enter. */
export async function send(page, text) {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
  await page.waitForFunction(() => document.querySelector('textarea[aria-label="Message"]')?.value === '');
}

/** The open conversation's messages: [{ out, body, meta }] in display order. */
export async function messages(page) {
  return page.getByRole('log', { name: 'Messages' }).getByRole('listitem').evaluateAll((items) =>
    items.map((li) => ({
      out: li.textContent.startsWith('You: '),
      // A message of attachments only has no text paragraph.
      body: li.querySelector('p')?.textContent ?? '',
      meta: li.lastElementChild.textContent,
    })));
}

/** Polls until `check(await messages(page))` is true; fails with the last list otherwise. */
export async function waitMessages(page, check, what, timeout = DELIVERY_MS) {
  const end = Date.now() + timeout;
  let last = [];
  while (Date.now() < end) {
    last = await messages(page);
    if (check(last)) return last;
    await page.waitForTimeout(250);
  }
  assert.fail(`${what}: timed out; shown ${JSON.stringify(last.map((m) => m.body))}`);
}

/** The conversation-list row (a button) whose text contains `name`. */
export function row(page, listName, name) {
  return page.getByRole('list', { name: listName }).getByRole('button').filter({ hasText: name });
}

/** The short form of an Account ID shown in lists. */
export function shortId(id) {
  return `${id.slice(0, 6)}…${id.slice(-4)}`;
}

/**
 * Alice writes first, Bob accepts the request; both then have the conversation open.
 * Returns the message Alice sent.
 */
export async function acceptedConversation(a, b, alice, bob, aliceName = shortId(alice.id)) {
  await startConversation(a, bob.id);
  const first = 'hello Bob';
  await send(a, first);
  const request = row(b, 'Message requests', aliceName);
  await visible(request, DELIVERY_MS);
  await request.click();
  const banner = await visible(b.getByRole('region', { name: 'Message request' }));
  await banner.getByRole('button', { name: 'Accept' }).click();
  await visible(b.getByRole('textbox', { name: 'Message' }));
  await banner.waitFor({ state: 'detached' });
  return first;
}

/** Reloads `page` (the account locks), unlocks it and opens the conversation named `name`. */
export async function reloadAndOpen(page, name) {
  await page.reload();
  await visible(page.getByRole('heading', { name: 'Unlock Umbra' }));
  await page.getByLabel('Passphrase').fill(PASS);
  await page.getByRole('button', { name: 'Unlock' }).click();
  const r = row(page, 'Conversations', name);
  await visible(r, 60000);
  await r.click();
  await visible(page.getByRole('log', { name: 'Messages' }));
}

/** The bubble (list item) of the open conversation whose body is exactly `body`. */
export function bubble(page, body) {
  return page.getByRole('log', { name: 'Messages' }).getByRole('listitem')
    .filter({ has: page.locator('p.body', { hasText: body }) });
}

/** Opens the options menu of the message `body` and clicks `item`. */
export async function messageAction(page, body, item) {
  await bubble(page, body).getByRole('button', { name: 'Message options' }).click();
  await page.getByRole('menu', { name: 'Message options' }).getByRole('menuitem', { name: item }).click();
}

/** Opens Settings, sets the checkbox `label` to `on`, and comes back to the list. */
export async function setSwitch(page, label, on) {
  await page.getByRole('button', { name: 'Settings' }).click();
  const box = page.getByRole('checkbox', { name: label });
  await visible(box);
  if (on) await box.check(); else await box.uncheck();
  await page.getByRole('button', { name: 'Back', exact: true }).click();
}

/** Number of records in the app's IndexedDB (database "umbra", store "records"), and whether
 * any record's bytes contain `needle` as UTF-8 (they must not: every record is sealed). */
export async function idbRecords(page, needle) {
  return page.evaluate(async (needle) => {
    const db = await new Promise((ok, err) => {
      const r = indexedDB.open('umbra');
      r.onsuccess = () => ok(r.result);
      r.onerror = () => err(r.error);
    });
    const values = await new Promise((ok, err) => {
      const tx = db.transaction('records', 'readonly');
      const r = tx.objectStore('records').getAll();
      r.onsuccess = () => ok(r.result);
      r.onerror = () => err(r.error);
    });
    db.close();
    const enc = new TextEncoder().encode(needle);
    const contains = (bytes) => {
      outer: for (let i = 0; i + enc.length <= bytes.length; i++) {
        for (let j = 0; j < enc.length; j++) if (bytes[i + j] !== enc[j]) continue outer;
        return true;
      }
      return false;
    };
    const asBytes = (v) => (v instanceof ArrayBuffer ? new Uint8Array(v)
      : ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
        : new TextEncoder().encode(JSON.stringify(v)));
    return { count: values.length, plaintext: values.some((v) => contains(asBytes(v))) };
  }, needle);
}

/**
 * An init script that lets a test hold the worker's answers to the page: while
 * `window.__holdWorker` is true, messages from the worker queue up; `window.__releaseWorker()`
 * delivers them in order. For races between the user and a slow worker.
 */
export function holdableWorker() {
  const desc = Object.getOwnPropertyDescriptor(Worker.prototype, 'onmessage');
  const queue = [];
  window.__holdWorker = false;
  window.__releaseWorker = () => {
    window.__holdWorker = false;
    for (const [h, w, e] of queue.splice(0)) h.call(w, e);
  };
  Object.defineProperty(Worker.prototype, 'onmessage', {
    configurable: true,
    get() { return desc.get.call(this); },
    set(h) {
      desc.set.call(this, h && ((e) => (window.__holdWorker ? queue.push([h, this, e]) : h.call(this, e))));
    },
  });
}

/** Polls `check()` until it holds (no fixed sleeps); fails naming `what` otherwise. */
export async function until(check, what, timeout = DELIVERY_MS) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((ok) => setTimeout(ok, 250));
  }
  assert.fail(`${what}: timed out`);
}
