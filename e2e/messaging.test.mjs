// One-to-one messaging between two browsers (Alice and Bob, fresh profiles each) over a real
// local node network that behaves like Session's (`umbra-node testnet --faithful`: self-signed
// HTTPS nodes without CORS, reached through the testnet's blind bridge) and the release bundle. Flows: message request then
// accept, 20 messages both ways arriving once and in order, HTML shown as literal text, Bob
// offline while Alice sends, reload keeps history and unread counts. Tests fail on console
// errors, page errors and CSP violations.
//
// With UMBRA_E2E_TLS=1 the same flows run directly (no bridge) over HTTPS nodes: `umbra-node testnet --tls`
// generates a local CA, and each browser trusts it through an NSS database in its own HOME
// (certificate errors are never ignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, visible } from './support/harness.mjs';
import {
  PASS, DELIVERY_MS, newUser as createUser, startConversation, send, waitMessages, row, shortId,
} from './support/messaging.mjs';
import { startTestnet } from './support/testnet.mjs';
import { startTlsNetwork, makeNssHome } from './tls.mjs';

const TLS = Boolean(process.env.UMBRA_E2E_TLS);

let net;
let server;
let browserEnv;
before(async () => {
  if (TLS) {
    const tls = await startTlsNetwork({ nodes: 12, appDir: process.env.DIST_DIR || 'dist' });
    assert.match(tls.seed, /^https:/);
    net = { seedUrl: tls.seed, close: () => tls.stop() };
    server = { url: tls.app, close: async () => {} };
    // One NSS database trusting the testnet CA, shared by both browsers' HOME.
    const home = makeNssHome(tls.caPem);
    browserEnv = { ...process.env, HOME: home };
  } else {
    // As on Session's network: nodes a browser cannot reach, and a bridge (testnet --faithful).
    net = await startTestnet({ nodes: 12, faithful: true, appDir: process.env.DIST_DIR || 'dist' });
    server = { url: net.appUrl, close: async () => {} };
  }
});
after(async () => {
  await net?.close();
  await server?.close();
});

/** Opens a fresh profile on the app server and creates an account. */
function newUser() {
  return createUser(server.url, browserEnv);
}

test('message request, accept, 20 messages each way once and in order, HTML is text', async () => {
  const alice = await newUser();
  const bob = await newUser();
  const [a, b] = [alice.app.page, bob.app.page];
  let dialogs = 0;
  for (const p of [a, b]) p.on('dialog', (d) => { dialogs += 1; d.dismiss(); });
  try {
    // Network indicator is present and gets connected.
    const status = a.getByRole('status', { name: 'Network status' });
    await visible(status);
    await a.waitForFunction(() => document.querySelector('[aria-label="Network status"]')
      ?.textContent.includes('Connected'), null, { timeout: DELIVERY_MS });

    // An invalid Account ID is refused in the app with the named error.
    await a.getByRole('button', { name: 'New conversation' }).click();
    await a.getByLabel('Account ID').fill(`${bob.id.slice(0, 65)}x`);
    await a.getByRole('button', { name: 'Start conversation' }).click();
    await visible(a.getByRole('alert').filter({ hasText: 'Not an Account ID' }));
    await a.getByRole('button', { name: 'Back' }).click();

    // Alice writes first: Bob sees a message request.
    await startConversation(a, bob.id);
    await send(a, 'hello Bob');
    await waitMessages(a, (m) => m.length === 1 && m[0].meta.includes('Sent'), 'Alice first message sent');
    const request = row(b, 'Message requests', shortId(alice.id));
    await visible(request, DELIVERY_MS);
    assert.match(await request.textContent(), /hello Bob/);
    assert.match(await request.textContent(), /1 unread/);
    await request.click();
    const banner = await visible(b.getByRole('region', { name: 'Message request' }));
    assert.equal(await b.getByRole('textbox', { name: 'Message' }).count(), 0, 'no reply box before accepting');
    await banner.getByRole('button', { name: 'Accept' }).click();
    await visible(b.getByRole('textbox', { name: 'Message' }));
    await banner.waitFor({ state: 'detached' });

    // 20 messages each way, interleaved in time.
    const fromA = Array.from({ length: 20 }, (_, i) => `a${i + 1} from Alice`);
    const fromB = Array.from({ length: 20 }, (_, i) => `b${i + 1} from Bob`);
    for (let i = 0; i < 20; i += 1) {
      await send(a, fromA[i]);
      await send(b, fromB[i]);
    }
    const html = '<img src=x onerror="alert(1)"><script>alert(2)</script><b>bold</b> & text';
    await send(a, html);
    // Shift+Enter makes a new line instead of sending.
    const box = b.getByRole('textbox', { name: 'Message' });
    await box.fill('line one');
    await box.press('Shift+Enter');
    await box.type('line two');
    assert.equal(await box.inputValue(), 'line one\nline two');
    await box.press('Enter');

    const wantB = ['hello Bob', ...fromA, html];
    const seenByB = await waitMessages(b,
      (m) => m.filter((x) => !x.out).length >= wantB.length && m.filter((x) => x.out).length >= 21,
      'Bob receives Alice\'s messages');
    assert.deepEqual(seenByB.filter((x) => !x.out).map((x) => x.body), wantB, 'each once, in order');
    const seenByA = await waitMessages(a,
      (m) => m.filter((x) => !x.out).length >= 21
        && m.filter((x) => x.out).every((x) => x.meta.includes('Sent')),
      'Alice receives Bob\'s messages and hers are sent');
    assert.deepEqual(seenByA.filter((x) => !x.out).map((x) => x.body),
      [...fromB, 'line one\nline two'], 'each once, in order');
    assert.deepEqual(seenByA.filter((x) => x.out).map((x) => x.body), wantB);

    // The HTML body is literal text: no element was created from it and nothing ran.
    const log = b.getByRole('log', { name: 'Messages' });
    assert.equal(await log.locator('img, script, b').count(), 0);
    await visible(log.getByText(html, { exact: true }));
    assert.equal(dialogs, 0);

    // Back on the list, the conversation is accepted and shows the last message.
    await b.getByRole('button', { name: 'Back to conversations' }).click();
    await visible(row(b, 'Conversations', shortId(alice.id)));
    assert.equal(await b.getByRole('list', { name: 'Message requests' }).count(), 0);

    // Phone-sized screen: no horizontal scrolling in the list or the chat.
    assert.ok(await b.evaluate(() => document.documentElement.scrollWidth <= 360));
    assert.ok(await a.evaluate(() => document.documentElement.scrollWidth <= 360));
    assertNoErrors(alice.app.errors);
    assertNoErrors(bob.app.errors);
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});

test('Bob offline while Alice sends; reload keeps history and unread counts', async () => {
  const alice = await newUser();
  const bob = await newUser();
  const [a, b] = [alice.app.page, bob.app.page];
  try {
    // Bob starts the conversation so there is no request step.
    await startConversation(b, alice.id);
    await send(b, 'hi Alice');
    await waitMessages(b, (m) => m.length === 1 && m[0].meta.includes('Sent'), 'Bob first message sent');
    await b.getByRole('button', { name: 'Back to conversations' }).click();

    await bob.app.ctx.setOffline(true);
    await visible(row(a, 'Message requests', shortId(bob.id)), DELIVERY_MS);
    await row(a, 'Message requests', shortId(bob.id)).click();
    await a.getByRole('region', { name: 'Message request' }).getByRole('button', { name: 'Accept' }).click();
    const offlineBatch = Array.from({ length: 5 }, (_, i) => `while you were away ${i + 1}`);
    for (const text of offlineBatch) await send(a, text);
    await waitMessages(a, (m) => m.filter((x) => x.out).length === 5
      && m.filter((x) => x.out).every((x) => x.meta.includes('Sent')), 'Alice stored all 5 in Bob\'s swarm');

    // Bob comes back and receives all five, once and in order; the list counts them unread.
    await bob.app.ctx.setOffline(false);
    const bobRow = row(b, 'Conversations', shortId(alice.id));
    await b.waitForFunction(() => [...document.querySelectorAll('ul.conversations li')]
      .some((li) => li.textContent.includes('5 unread')), null, { timeout: DELIVERY_MS });
    assert.match(await bobRow.textContent(), /while you were away 5/);

    // Reload: locked; after unlock the unread count and the history are still there.
    await b.reload();
    await visible(b.getByRole('heading', { name: 'Unlock Umbra' }));
    await b.getByLabel('Passphrase').fill(PASS);
    await b.getByRole('button', { name: 'Unlock' }).click();
    await visible(bobRow, 60000);
    assert.match(await bobRow.textContent(), /5 unread/);
    await bobRow.click();
    const seen = await waitMessages(b, (m) => m.length >= 6, 'history after reload');
    assert.deepEqual(seen.map((x) => x.body), ['hi Alice', ...offlineBatch]);
    assert.deepEqual(seen.map((x) => x.out), [true, false, false, false, false, false]);
    // Opening the conversation read them: back on the list, no unread badge.
    await b.getByRole('button', { name: 'Back to conversations' }).click();
    await visible(bobRow);
    await b.waitForFunction(() => ![...document.querySelectorAll('ul.conversations li')]
      .some((li) => li.textContent.includes('unread')), null, { timeout: 15000 });
    // Reload again: still read, history still there.
    await b.reload();
    await b.getByLabel('Passphrase').fill(PASS);
    await b.getByRole('button', { name: 'Unlock' }).click();
    await visible(bobRow, 60000);
    assert.doesNotMatch(await bobRow.textContent(), /unread/);

    assertNoErrors(alice.app.errors);
    // While offline, the browser reports the failed requests in the console; nothing else.
    assertNoErrors(bob.app.errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(e)));
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});

test('settings: display name and block list with Unblock', async () => {
  const alice = await newUser();
  const bob = await newUser();
  const [a, b] = [alice.app.page, bob.app.page];
  try {
    await a.getByRole('button', { name: 'Settings' }).click();
    await a.getByLabel('Display name').fill('Alice <i>A</i>');
    await a.getByRole('button', { name: 'Save name' }).click();
    await visible(a.getByRole('status').filter({ hasText: 'Saved' }));
    await a.getByRole('button', { name: 'Back' }).click();
    await startConversation(a, bob.id);
    await send(a, 'from a named account');
    // Bob sees the name (as text) on the request, then blocks.
    const request = row(b, 'Message requests', 'Alice <i>A</i>');
    await visible(request, DELIVERY_MS);
    await request.click();
    await b.getByRole('region', { name: 'Message request' }).getByRole('button', { name: 'Block' }).click();
    await visible(b.getByRole('heading', { name: 'Conversations' }));
    await b.getByRole('button', { name: 'Settings' }).click();
    const blocked = b.getByRole('list', { name: 'Blocked contacts' });
    await visible(blocked.getByRole('listitem').filter({ hasText: shortId(alice.id) }));
    await blocked.getByRole('button', { name: `Unblock ${shortId(alice.id)}` }).click();
    await visible(b.getByText('No one is blocked.'));
    assertNoErrors(alice.app.errors);
    assertNoErrors(bob.app.errors);
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});
