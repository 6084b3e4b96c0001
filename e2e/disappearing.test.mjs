// Disappearing messages, both Session modes, between two browsers over a real local node
// network (issue 5). Alice sets "after send, 12 hours" (Session's shortest after-send timer,
// session-desktop timerOptions.ts) and Bob's browser follows the setting; a message sent then
// carries a countdown on both sides and is stored in the swarm for 12 hours. Alice switches to
// "after read, 5 minutes": Bob's copy keeps its 14-day swarm expiry until Bob opens the
// conversation, then his browser shortens it with a signed `expire` (read from the nodes' own
// databases). After the five minutes that message is gone from both screens, from both
// browsers' IndexedDB (record counts back to where they were, no plaintext) and from every
// node's database (~6 minutes); the after-send one stays; a reload in the middle loses nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, visible } from './support/harness.mjs';
import {
  DELIVERY_MS, newUser as createUser, send, waitMessages, row, shortId, acceptedConversation,
  reloadAndOpen, bubble, idbRecords, messages, until,
} from './support/messaging.mjs';
import { startServer } from './support/server.mjs';
import { startTestnet, storedMessages } from './support/testnet.mjs';

const TIMER_MS = 5 * 60 * 1000;
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

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

/** Sets the open conversation's disappearing messages to `mode` ("Off", "Disappear after
 * read", "Disappear after send") with the timer labelled `timer`. */
async function setDisappearing(page, mode, timer) {
  await page.getByRole('button', { name: 'Disappearing messages' }).click();
  const dialog = await visible(page.getByRole('dialog', { name: 'Disappearing messages' }));
  await dialog.getByRole('radio', { name: mode }).check();
  await dialog.getByLabel('Timer').selectOption({ label: timer });
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
}

const settingText = (page) => page.getByRole('status', { name: 'Disappearing messages setting' }).textContent();
const bodies = async (page) => (await messages(page)).map((m) => m.body);

test('after send 12 hours, after read 5 minutes: gone from both browsers and from the swarm', async () => {
  const alice = await (createUser(server.url));
  const bob = await (createUser(server.url));
  const [a, b] = [alice.app.page, bob.app.page];
  try {
    await acceptedConversation(a, b, alice, bob);
    await waitMessages(b, (m) => m.some((x) => x.body === 'hello Bob'), 'first message');

    // Delete after send: the setting reaches Bob and survives his reload.
    await setDisappearing(a, 'Disappear after send', '12 hours');
    await until(async () => (await settingText(a)) === 'Disappear after send: 12 hours', 'Alice sees her setting', 15000);
    await until(async () => (await settingText(b)) === 'Disappear after send: 12 hours', 'Bob follows the setting');
    await reloadAndOpen(b, shortId(alice.id));
    await until(async () => (await settingText(b)) === 'Disappear after send: 12 hours', 'kept after reload', 15000);

    const baseA = await idbRecords(a, 'vanishing');
    const baseB = await idbRecords(b, 'vanishing');
    const sentAt = Date.now();
    await send(a, 'staying after send');
    await waitMessages(b, (m) => m.some((x) => x.body === 'staying after send'), 'after-send message');
    for (const p of [a, b]) {
      const timer = bubble(p, 'staying after send').getByRole('timer');
      await visible(timer);
      assert.match(await timer.getAttribute('aria-label'), /^Disappears in 1[12]h \d+m$/);
    }
    // Stored in Bob's swarm for the 12 hours (never more than the 14-day maximum).
    const sendRows = storedMessages(net.data, bob.id);
    const sendCopy = sendRows.filter((r) => r.node === sendRows[0].node).at(-1);
    assert.ok(sendCopy.expiry <= sentAt + 12 * HOUR_MS + 120000, 'after-send copy lives 12 hours');
    assert.ok(sendCopy.expiry >= sentAt + 12 * HOUR_MS - 120000, 'after-send copy lives 12 hours');

    // Delete after read: Bob is on the list when it arrives, so his copy waits unread.
    await setDisappearing(a, 'Disappear after read', '5 minutes');
    await until(async () => (await settingText(b)) === 'Disappear after read: 5 minutes', 'Bob follows the new setting');
    await b.getByRole('button', { name: 'Back to conversations' }).click();
    await send(a, 'vanishing after read');
    await visible(row(b, 'Conversations', shortId(alice.id)).filter({ hasText: 'vanishing after read' }), DELIVERY_MS);
    await visible(bubble(a, 'vanishing after read').getByRole('timer'));
    // Unread, Bob's copy keeps the default 14-day expiry in his swarm: the newest row.
    const bobRows = storedMessages(net.data, bob.id);
    const newest = bobRows.filter((r) => r.node === bobRows[0].node).at(-1);
    assert.ok(newest.expiry > Date.now() + 13 * DAY_MS, 'unread after-read copy keeps 14 days');
    // Bob reads it: the countdown starts and his swarm copy is shortened to about now + 5 min.
    const readAt = Date.now();
    await row(b, 'Conversations', shortId(alice.id)).click();
    await visible(bubble(b, 'vanishing after read').getByRole('timer'));
    await until(() => storedMessages(net.data, bob.id)
      .filter((r) => r.hash === newest.hash)
      .every((r) => r.expiry <= Date.now() + TIMER_MS + 1000), 'expire shortened the swarm copy', 60000);
    const shortened = storedMessages(net.data, bob.id).filter((r) => r.hash === newest.hash);
    assert.ok(shortened.length >= 3, 'replicated to the swarm');
    for (const r of shortened) assert.ok(r.expiry >= readAt + TIMER_MS - 120000, 'expires about 5 minutes after reading');

    const afterA = await idbRecords(a, 'vanishing');
    const afterB = await idbRecords(b, 'vanishing');
    assert.equal(afterA.count, baseA.count + 2, 'two message records at Alice');
    assert.equal(afterB.count, baseB.count + 2, 'two message records at Bob');
    assert.ok(!afterA.plaintext && !afterB.plaintext, 'records are sealed');

    // Every copy that expires within the timer: the messages, in both swarms.
    const soon = (id) => storedMessages(net.data, id)
      .filter((r) => r.expiry < Date.now() + TIMER_MS + 60000).map((r) => r.hash);
    const doomed = new Set([...soon(alice.id), ...soon(bob.id)]);
    assert.ok(soon(bob.id).includes(newest.hash));
    assert.ok(!soon(bob.id).includes(sendCopy.hash), 'the 12-hour copy is not among them');
    assert.ok(new Set(soon(alice.id)).size >= 1, "Alice's own copy of the after-read message");

    // The wait: both messages disappear from both screens by themselves.
    const gone = async (p) => !(await bodies(p)).some((x) => x.startsWith('vanishing'));
    await until(async () => (await gone(a)) && (await gone(b)), 'message disappears on screen', TIMER_MS + 90000);
    assert.ok((await bodies(b)).includes('hello Bob'), 'other messages stay');
    assert.ok((await bodies(b)).includes('staying after send'), 'the 12-hour message stays');
    // …from IndexedDB…
    const endA = await idbRecords(a, 'vanishing');
    const endB = await idbRecords(b, 'vanishing');
    assert.equal(endA.count, baseA.count + 1, 'Alice: only the 12-hour record is left');
    assert.equal(endB.count, baseB.count + 1, 'Bob: only the 12-hour record is left');
    // …and from every node's database (nodes sweep expired rows every 10 s).
    await until(() => [...storedMessages(net.data, alice.id), ...storedMessages(net.data, bob.id)]
      .every((r) => !doomed.has(r.hash)), 'gone from the swarm', 60000);
    // After a reload they stay gone.
    await reloadAndOpen(b, shortId(alice.id));
    await waitMessages(b, (m) => m.some((x) => x.body === 'hello Bob'), 'history after reload');
    assert.ok(await gone(b));
    assertNoErrors(alice.app.errors);
    assertNoErrors(bob.app.errors);
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});
