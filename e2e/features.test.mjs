// Conversation features between two browsers (Alice and Bob, fresh profiles each) over a real
// local node network and the release bundle (issue 5): replies and reactions, links that ask
// first, search, unsend and delete for me; read receipts and typing indicators with their off
// switches; display names and blocking; notifications and the unread count in the tab title.
// Each flow reloads one browser in the middle (the account locks; it is unlocked again) and
// checks nothing was lost. Tests fail on console errors, page errors and CSP violations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, visible } from './support/harness.mjs';
import {
  DELIVERY_MS, holdableWorker, newUser as createUser, startConversation, send, waitMessages, row, shortId,
  acceptedConversation, reloadAndOpen, bubble, messageAction, setSwitch, messages, until,
} from './support/messaging.mjs';
import { startServer } from './support/server.mjs';
import { startTestnet } from './support/testnet.mjs';

let net;
let server;
before(async () => {
  net = await startTestnet({ nodes: 12 });
  server = await startServer(process.env.DIST_DIR || 'dist', 0, { seedUrl: net.seedUrl });
});
after(async () => {
  await net?.close();
  await server?.close();
});

const newUser = () => createUser(server.url, undefined, [], holdableWorker);

const bodies = async (page) => (await messages(page)).map((m) => m.body);

test('replies, reactions, links, search, delete for everyone and for me', async () => {
  const alice = await newUser();
  const bob = await newUser();
  const [a, b] = [alice.app.page, bob.app.page];
  try {
    await acceptedConversation(a, b, alice, bob);
    await waitMessages(b, (m) => m.some((x) => x.body === 'hello Bob'), 'Bob sees the first message');

    // Bob replies quoting Alice's message.
    await messageAction(b, 'hello Bob', 'Reply');
    const replying = await visible(b.getByRole('region', { name: 'Reply' }));
    assert.match(await replying.textContent(), /hello Bob/);
    await send(b, 'hi Alice, replying');
    await replying.waitFor({ state: 'detached' });
    const reply = bubble(a, 'hi Alice, replying');
    await visible(reply, DELIVERY_MS);
    const quote = reply.getByLabel('Quoted message');
    await visible(quote);
    assert.match(await quote.textContent(), /hello Bob/);
    assert.equal(await reply.locator('p').count(), 1, 'the quote holds no paragraph');

    // Alice reacts; Bob sees it, also after a reload.
    await messageAction(a, 'hi Alice, replying', 'React with 👍');
    const mine = bubble(a, 'hi Alice, replying').getByRole('group', { name: 'Reactions' })
      .getByRole('button', { name: '👍 1' });
    await visible(mine);
    assert.equal(await mine.getAttribute('aria-pressed'), 'true');
    const theirs = bubble(b, 'hi Alice, replying').getByRole('group', { name: 'Reactions' })
      .getByRole('button', { name: '👍 1' });
    await visible(theirs, DELIVERY_MS);
    assert.equal(await theirs.getAttribute('aria-pressed'), 'false');
    await reloadAndOpen(b, shortId(alice.id));
    await visible(theirs, DELIVERY_MS);
    // Alice takes it back: gone on both sides.
    await mine.click();
    await until(async () => (await bubble(b, 'hi Alice, replying').getByRole('group', { name: 'Reactions' }).count()) === 0,
      'reaction removed at Bob');
    assert.equal(await bubble(a, 'hi Alice, replying').getByRole('group', { name: 'Reactions' }).count(), 0);

    // A link is a button that asks first; nothing is fetched from the site.
    const fetched = [];
    b.on('request', (r) => { if (r.url().includes('example.com')) fetched.push(r.url()); });
    await send(a, 'look at https://example.com/x.');
    const link = bubble(b, 'look at').getByRole('button', { name: 'https://example.com/x' });
    await visible(link, DELIVERY_MS);
    assert.equal(await bubble(b, 'look at').locator('a').count(), 0, 'no anchor for untrusted URLs');
    await link.click();
    const ask = await visible(b.getByRole('dialog', { name: 'Open link?' }));
    assert.match(await ask.textContent(), /https:\/\/example\.com\/x/);
    assert.match(await ask.textContent(), /IP address/);
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ask.waitFor({ state: 'detached' });
    assert.deepEqual(fetched, [], 'no request to the linked site, no preview');

    // Search works offline: it reads only the local store.
    await bob.app.ctx.setOffline(true);
    await b.getByRole('button', { name: 'Search', exact: true }).click();
    await b.getByRole('searchbox', { name: 'Search this conversation' }).fill('REPLYING');
    const hits = b.getByRole('list', { name: 'Search results' });
    await visible(hits.getByRole('button').filter({ hasText: 'hi Alice, replying' }));
    assert.equal(await hits.getByRole('button').count(), 1);
    await b.getByRole('button', { name: 'Back to conversations' }).click();
    await b.getByRole('searchbox', { name: 'Search messages' }).fill('hello');
    await visible(b.getByRole('list', { name: 'Search results' }).getByRole('button').filter({ hasText: 'hello Bob' }));
    await b.getByRole('list', { name: 'Search results' }).getByRole('button').first().click();
    await visible(b.getByRole('log', { name: 'Messages' }));
    await bob.app.ctx.setOffline(false);

    // Alice deletes her link message for everyone: gone at both, also after Bob reloads.
    await messageAction(a, 'look at', 'Delete for everyone');
    const confirm = await visible(a.getByRole('dialog', { name: 'Delete message' }));
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await until(async () => !(await bodies(a)).some((x) => x.startsWith('look at')), 'gone at Alice', 15000);
    await until(async () => !(await bodies(b)).some((x) => x.startsWith('look at')), 'gone at Bob');
    await reloadAndOpen(b, shortId(alice.id));
    await waitMessages(b, (m) => m.some((x) => x.body === 'hi Alice, replying'), 'history after reload');
    assert.ok(!(await bodies(b)).some((x) => x.startsWith('look at')), 'unsent message stays gone');

    // Bob deletes Alice's first message for himself only.
    await messageAction(b, 'hello Bob', 'Delete for me');
    await (await visible(b.getByRole('dialog', { name: 'Delete message' }))).getByRole('button', { name: 'Delete' }).click();
    await until(async () => !(await bodies(b)).includes('hello Bob'), 'gone at Bob', 15000);
    assert.equal(await bubble(b, 'hello Bob').getByRole('menuitem', { name: 'Delete for everyone' }).count(), 0);
    assert.ok((await bodies(a)).includes('hello Bob'), 'Alice keeps her copy');
    await reloadAndOpen(b, shortId(alice.id));
    await waitMessages(b, (m) => m.some((x) => x.body === 'hi Alice, replying'), 'history after reload');
    assert.ok(!(await bodies(b)).includes('hello Bob'));
    assertNoErrors(alice.app.errors);
    assertNoErrors(bob.app.errors);
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});

test('read receipts and typing indicators, and their off switches', async () => {
  const alice = await newUser();
  const bob = await newUser();
  const [a, b] = [alice.app.page, bob.app.page];
  try {
    for (const p of [a, b]) {
      await setSwitch(p, 'Send read receipts', true);
      await setSwitch(p, 'Send typing indicators', true);
    }
    await acceptedConversation(a, b, alice, bob);
    // Bob has the conversation open: Alice's message is read at once, and Alice sees it.
    await send(a, 'are you there?');
    await waitMessages(b, (m) => m.some((x) => x.body === 'are you there?'), 'Bob receives');
    await waitMessages(a, (m) => m.some((x) => x.body === 'are you there?' && x.meta.includes('Read')),
      'Alice sees Read');

    // Alice types: Bob sees it.
    await a.getByRole('textbox', { name: 'Message' }).fill('typing something');
    const typing = b.getByRole('status', { name: 'Typing' });
    await until(async () => /is typing/.test(await typing.textContent()), 'typing shown at Bob');
    await send(a, 'typing something');
    await until(async () => (await typing.textContent()).trim() === '', 'typing ends with the message');

    // A reload in the middle: the switches are still on.
    await reloadAndOpen(b, shortId(alice.id));
    await b.getByRole('button', { name: 'Back to conversations' }).click();
    await b.getByRole('button', { name: 'Settings' }).click();
    await until(() => b.getByRole('checkbox', { name: 'Send read receipts' }).isChecked(),
      'read receipts still on after the reload', 15000);
    // Bob switches read receipts off: Alice's next message, read by Bob, stays "Sent".
    await b.getByRole('checkbox', { name: 'Send read receipts' }).uncheck();
    await b.getByRole('checkbox', { name: 'Send typing indicators' }).uncheck();
    await b.getByRole('button', { name: 'Back', exact: true }).click();
    await row(b, 'Conversations', shortId(alice.id)).click();
    await send(a, 'no receipt for this');
    await waitMessages(b, (m) => m.some((x) => x.body === 'no receipt for this'), 'Bob receives');
    await b.waitForTimeout(15000);
    const last = (await messages(a)).find((x) => x.body === 'no receipt for this');
    assert.match(last.meta, /Sent/);
    assert.doesNotMatch(last.meta, /Read/);
    // Bob types with typing indicators off: Alice sees nothing.
    await b.getByRole('textbox', { name: 'Message' }).fill('quiet typing');
    await a.waitForTimeout(10000);
    assert.equal((await a.getByRole('status', { name: 'Typing' }).textContent()).trim(), '');
    assertNoErrors(alice.app.errors);
    assertNoErrors(bob.app.errors);
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});

test('display name updates; blocking drops messages unseen; unblocking lets them in', async () => {
  const alice = await newUser();
  const bob = await newUser();
  const [a, b] = [alice.app.page, bob.app.page];
  const setName = async (name) => {
    await a.getByRole('button', { name: 'Settings' }).click();
    await a.getByLabel('Display name').fill(name);
    await a.getByRole('button', { name: 'Save name' }).click();
    await visible(a.getByRole('status').filter({ hasText: 'Saved' }));
    await a.getByRole('button', { name: 'Back', exact: true }).click();
  };
  try {
    await setName('Alice Liddell');
    await acceptedConversation(a, b, alice, bob, 'Alice Liddell');
    await visible(b.getByRole('heading', { name: 'Alice Liddell' }), DELIVERY_MS);
    await a.getByRole('button', { name: 'Back to conversations' }).click();
    await setName('Alice Pleasance');
    // What Alice types before the conversation has loaded is still there once it has.
    await a.evaluate(() => { window.__holdWorker = true; });
    await row(a, 'Conversations', shortId(bob.id)).click();
    const box = a.getByRole('textbox', { name: 'Message' });
    await box.fill('new name');
    await a.evaluate(() => window.__releaseWorker());
    await waitMessages(a, (m) => m.length > 0, 'the conversation loads');
    assert.equal(await box.inputValue(), 'new name', 'the typed text survives the load');
    await send(a, 'new name');
    await visible(b.getByRole('heading', { name: 'Alice Pleasance' }), DELIVERY_MS);

    // Bob blocks Alice from the conversation header.
    await b.getByRole('button', { name: 'Block', exact: true }).click();
    await visible(b.getByRole('region', { name: 'Blocked' }));
    await b.getByRole('button', { name: 'Back to conversations' }).click();
    await reloadAndOpenList(b);
    await send(a, 'you will not see this');
    await waitMessages(a, (m) => m.some((x) => x.body === 'you will not see this' && x.meta.includes('Sent')), 'sent');
    await b.waitForTimeout(8000);
    assert.equal(await row(b, 'Conversations', 'Alice').count(), 0, 'no row for a blocked peer');
    assert.equal(await b.getByRole('list', { name: 'Message requests' }).count(), 0, 'not a request either');
    // Unblock in Settings; Alice's next message shows, the blocked one never does.
    await b.getByRole('button', { name: 'Settings' }).click();
    await b.getByRole('button', { name: `Unblock ${shortId(alice.id)}` }).click();
    await visible(b.getByText('No one is blocked.'));
    await b.getByRole('button', { name: 'Back', exact: true }).click();
    await send(a, 'after unblock');
    const r = row(b, 'Conversations', 'Alice Pleasance');
    await visible(r, DELIVERY_MS);
    await r.click();
    const shown = await waitMessages(b, (m) => m.some((x) => x.body === 'after unblock'), 'after unblock');
    assert.ok(!shown.some((x) => x.body === 'you will not see this'), 'blocked message dropped unseen');
    assertNoErrors(alice.app.errors);
    assertNoErrors(bob.app.errors);
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});

/** Reloads and unlocks `page`, staying on the conversation list. */
async function reloadAndOpenList(page) {
  await page.reload();
  await visible(page.getByRole('heading', { name: 'Unlock Umbra' }));
  await page.getByLabel('Passphrase').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await visible(page.getByRole('heading', { name: 'Conversations' }), 60000);
}

test('notifications while hidden (text only when chosen) and the unread count in the title', async () => {
  const alice = await newUser();
  const bob = await newUser();
  const [a, b] = [alice.app.page, bob.app.page];
  try {
    // Record the notifications the page creates (the real ones are still shown), and let the
    // test hide the page: headless Chromium keeps every tab visible, so visibilityState is
    // driven by the test here — everything else is the real browser.
    await bob.app.ctx.grantPermissions(['notifications']);
    await bob.app.ctx.addInitScript(() => {
      const Real = window.Notification;
      window.__notes = [];
      window.Notification = class extends Real {
        constructor(title, options) {
          super(title, options);
          window.__notes.push({ title, body: options?.body ?? '' });
        }
      };
      let hidden = false;
      Object.defineProperty(Document.prototype, 'visibilityState', { get: () => (hidden ? 'hidden' : 'visible') });
      Object.defineProperty(Document.prototype, 'hidden', { get: () => hidden });
      window.__setHidden = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
    });
    await reloadAndOpenList(b);
    await b.getByRole('button', { name: 'Settings' }).click();
    await b.getByRole('checkbox', { name: 'Notifications for new messages' }).check();
    assert.ok(await b.getByRole('checkbox', { name: 'Notifications for new messages' }).isChecked());
    await b.getByRole('button', { name: 'Back', exact: true }).click();

    await startConversation(a, bob.id);
    await send(a, 'first secret');
    await visible(row(b, 'Message requests', shortId(alice.id)), DELIVERY_MS);
    await until(async () => (await b.title()) === '(1) Umbra', 'unread count in the title');
    await row(b, 'Message requests', shortId(alice.id)).click();
    await (await visible(b.getByRole('region', { name: 'Message request' }))).getByRole('button', { name: 'Accept' }).click();
    await b.getByRole('button', { name: 'Back to conversations' }).click();
    await until(async () => (await b.title()) === 'Umbra', 'title after reading');

    await b.evaluate(() => window.__setHidden(true));
    await send(a, 'second secret');
    await until(async () => (await b.evaluate(() => window.__notes.length)) >= 1, 'a notification', DELIVERY_MS);
    let notes = await b.evaluate(() => window.__notes);
    assert.deepEqual(notes[0], { title: 'Umbra', body: 'New message' }, 'content hidden by default');
    await until(async () => (await b.title()) === '(1) Umbra', 'unread count while hidden');

    // A reload in the middle: the switches are kept (sealed in the worker's store).
    await reloadAndOpenList(b);
    await b.getByRole('button', { name: 'Settings' }).click();
    await until(() => b.getByRole('checkbox', { name: 'Notifications for new messages' }).isChecked(),
      'notifications still on after the reload', 15000);
    await b.getByRole('checkbox', { name: 'Show name and text in notifications' }).check();
    await b.getByRole('button', { name: 'Back', exact: true }).click();
    await b.evaluate(() => window.__setHidden(true));
    await send(a, 'third words');
    await until(async () => (await b.evaluate(() => window.__notes.length)) >= 1, 'second notification', DELIVERY_MS);
    notes = await b.evaluate(() => window.__notes);
    assert.equal(notes.at(-1).body, `${shortId(alice.id)}: third words`);
    // Visible again: no more notifications for what arrives.
    await b.evaluate(() => window.__setHidden(false));
    const count = notes.length;
    await send(a, 'while visible');
    await visible(row(b, 'Conversations', shortId(alice.id)).filter({ hasText: 'while visible' }), DELIVERY_MS);
    assert.equal(await b.evaluate(() => window.__notes.length), count);
    assertNoErrors(alice.app.errors);
    assertNoErrors(bob.app.errors);
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});
