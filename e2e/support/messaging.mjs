// Shared helpers of the two-browser messaging e2e flows: account creation, conversation
// start, sending, reading the open conversation's messages and waiting for them.
import assert from 'node:assert/strict';
import { openApp, visible, shownAccountId } from './harness.mjs';

/** Passphrase of every test account. */
export const PASS = 'correct horse battery staple';
/** Delivery goes through onion paths and polling; generous on a shared 2-core machine. */
export const DELIVERY_MS = 90000;

/** Opens a fresh profile on `url`, creates an account; resolves to { app, id }. */
export async function newUser(url, env) {
  const app = await openApp(url, { env });
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
      body: li.querySelector('p').textContent,
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
export async function acceptedConversation(a, b, alice, bob) {
  await startConversation(a, bob.id);
  const first = 'hello Bob';
  await send(a, first);
  const request = row(b, 'Message requests', shortId(alice.id));
  await visible(request, DELIVERY_MS);
  await request.click();
  const banner = await visible(b.getByRole('region', { name: 'Message request' }));
  await banner.getByRole('button', { name: 'Accept' }).click();
  await visible(b.getByRole('textbox', { name: 'Message' }));
  await banner.waitFor({ state: 'detached' });
  return first;
}
