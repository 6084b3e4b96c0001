// Config sync between browsers restored from one recovery phrase (issue 13), over the
// faithful testnet. First one way: Bob writes to Alice, both of Alice's browsers show his
// message request; Alice accepts it in the first, and the second shows Bob's conversation as
// accepted (the Contacts config pushed into the own swarm's namespace 3 and pulled back); then
// the name and picture, the disappearing setting, a nickname, the unread flag and a block reach
// the other browser. Then every item the other way, read positions both ways, a sent message's
// sync copy and a note to self on the other browser, two edits made at
// once on both browsers, conversations deleted on either (and a deleted contact who writes
// again), and a third browser restored at the end starts with all of it. Tests fail on console
// errors, page errors and CSP violations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, choosePassphrase, openApp, shownAccountId, visible, VECTORS } from './support/harness.mjs';
import {
  DELIVERY_MS, PASS, newUser, row, send, shortId, startConversation, until, waitMessages,
} from './support/messaging.mjs';
import { startTestnet } from './support/testnet.mjs';

const [PHRASE, ALICE_ID] = VECTORS[1];

let net;
before(async () => {
  net = await startTestnet({ nodes: 12, faithful: true, appDir: process.env.DIST_DIR || 'dist' });
});

/** Opens a fresh profile and restores Alice's account there. */
async function restoreAlice() {
  const app = await openApp(net.appUrl);
  const { page } = app;
  await page.getByRole('button', { name: 'Restore account' }).click();
  await page.getByLabel('Recovery phrase').fill(PHRASE);
  await page.getByRole('button', { name: 'Restore' }).click();
  await choosePassphrase(page, PASS);
  assert.equal(await shownAccountId(page), ALICE_ID);
  return app;
}

// Alice's two browsers and Bob's, shared by the tests of this file (in order).
let first;
let second;
let bob;
after(async () => {
  await first?.close();
  await second?.close();
  await bob?.app.close();
  await net?.close();
});

test('a request accepted in one browser shows as accepted in the other', async () => {
  first = await restoreAlice();
  second = await restoreAlice();
  bob = await newUser(net.appUrl);
  const [a1, a2, b] = [first.page, second.page, bob.app.page];
  await startConversation(b, ALICE_ID);
  await send(b, 'hello Alice');
  const name = shortId(bob.id);
  // Both of Alice's browsers get the request.
  await visible(row(a1, 'Message requests', name), DELIVERY_MS);
  await visible(row(a2, 'Message requests', name), DELIVERY_MS);

  // Accepted in the first browser …
  await row(a1, 'Message requests', name).click();
  const banner = await visible(a1.getByRole('region', { name: 'Message request' }));
  await banner.getByRole('button', { name: 'Accept' }).click();
  await banner.waitFor({ state: 'detached' });

  // … becomes accepted in the second through the Contacts config.
  await visible(row(a2, 'Conversations', name), DELIVERY_MS);
  await row(a2, 'Message requests', name).waitFor({ state: 'detached', timeout: 15000 });

  // The first browser sets a name and a picture: the second shows both (UserProfile).
  await a1.getByRole('button', { name: 'Back to conversations' }).click();
  await a1.getByRole('button', { name: 'Settings' }).click();
  await a1.getByLabel('Display name').fill('Alice Synced');
  await a1.getByRole('button', { name: 'Save name' }).click();
  await a1.getByLabel('Choose a profile picture').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: await png(a1) });
  await visible(a1.locator('img.avatar[alt="Your profile picture"]'), DELIVERY_MS);
  await a1.getByRole('button', { name: 'Back', exact: true }).click();
  await a2.getByRole('button', { name: 'Settings' }).click();
  await until(async () => (await a2.getByLabel('Display name').inputValue()) === 'Alice Synced', 'the name reaches the second browser');
  await visible(a2.locator('img.avatar[alt="Your profile picture"]'), DELIVERY_MS);
  await visible(a2.getByRole('status', { name: 'Sync status' }).filter({ hasText: 'Last synced with your other devices at' }));
  await a2.getByRole('button', { name: 'Back', exact: true }).click();

  // The second browser sets disappearing messages and blocks Bob: the first follows.
  await row(a2, 'Conversations', name).click();
  await a2.getByRole('button', { name: 'Disappearing messages' }).click();
  const dialog = await visible(a2.getByRole('dialog', { name: 'Disappearing messages' }));
  await dialog.getByRole('radio', { name: 'Disappear after send' }).check();
  await dialog.getByLabel('Timer').selectOption({ label: '12 hours' });
  await dialog.getByRole('button', { name: 'Save' }).click();
  await row(a1, 'Conversations', name).click();
  const setting = a1.getByRole('status', { name: 'Disappearing messages setting' });
  await until(async () => (await setting.textContent()) === 'Disappear after send: 12 hours', 'the setting reaches the first browser');
  // A nickname given in the first browser names Bob in the second.
  await a1.getByRole('button', { name: 'Nickname' }).click();
  const naming = a1.getByRole('form', { name: 'Nickname' });
  await naming.getByLabel('Nickname').fill('Bobby');
  await naming.getByRole('button', { name: 'Save nickname' }).click();
  await visible(a1.getByRole('heading', { name: 'Bobby' }));
  await visible(a2.getByRole('heading', { name: 'Bobby' }), DELIVERY_MS);

  // Marked unread in the first browser: the second lists it as unread; opened there, it is
  // read in the first again.
  await a2.getByRole('button', { name: 'Back to conversations' }).click();
  await a1.getByRole('button', { name: 'Mark unread' }).click();
  await visible(row(a1, 'Conversations', 'Bobby').filter({ hasText: 'marked unread' }));
  await visible(row(a2, 'Conversations', 'Bobby').filter({ hasText: 'marked unread' }), DELIVERY_MS);
  await row(a2, 'Conversations', 'Bobby').click();
  await row(a1, 'Conversations', 'Bobby').filter({ hasText: 'marked unread' })
    .waitFor({ state: 'detached', timeout: DELIVERY_MS });
  await row(a1, 'Conversations', 'Bobby').click();

  await a2.getByRole('button', { name: 'Block', exact: true }).click();
  await visible(a2.getByRole('region', { name: 'Blocked' }));
  await visible(a1.getByRole('region', { name: 'Blocked' }), DELIVERY_MS);

  assertNoErrors(first.errors);
  assertNoErrors(second.errors);
  assertNoErrors(bob.app.errors);
});

test('every item the other way, read positions, edits at once, deletions, and a restore', async () => {
  assert.ok(first && second && bob, 'the first test opened the browsers');
  const [a1, a2, b] = [first.page, second.page, bob.app.page];
  const name = shortId(bob.id);
  // Both browsers have Bob's (blocked) conversation open. Unblocked in the first: the second
  // follows.
  await a1.getByRole('region', { name: 'Blocked' }).getByRole('button', { name: 'Unblock' }).click();
  await a2.getByRole('region', { name: 'Blocked' }).waitFor({ state: 'detached', timeout: DELIVERY_MS });

  // Disappearing messages turned off in the first browser: off in the second.
  await a1.getByRole('button', { name: 'Disappearing messages' }).click();
  const dialog = await visible(a1.getByRole('dialog', { name: 'Disappearing messages' }));
  await dialog.getByRole('radio', { name: 'Off' }).check();
  await dialog.getByRole('button', { name: 'Save' }).click();
  const setting = a2.getByRole('status', { name: 'Disappearing messages setting' });
  await until(async () => (await setting.textContent()) === 'Messages do not disappear', 'the setting reaches the second browser');

  // The nickname removed in the second browser: the first names Bob as before.
  await a2.getByRole('button', { name: 'Nickname' }).click();
  await a2.getByRole('form', { name: 'Nickname' }).getByRole('button', { name: 'Remove nickname' }).click();
  await visible(a2.getByRole('heading', { name }));
  await visible(a1.getByRole('heading', { name }), DELIVERY_MS);

  // Marked unread in the second browser: unread in the first; opened there, read in both.
  await a1.getByRole('button', { name: 'Back to conversations' }).click();
  await a2.getByRole('button', { name: 'Mark unread' }).click();
  await visible(row(a1, 'Conversations', name).filter({ hasText: 'marked unread' }), DELIVERY_MS);
  await row(a1, 'Conversations', name).click();
  await row(a2, 'Conversations', name).filter({ hasText: 'marked unread' })
    .waitFor({ state: 'detached', timeout: DELIVERY_MS });
  await a1.getByRole('button', { name: 'Back to conversations' }).click();

  // Read positions: a new message from Bob is unread in both; read in the first, it is read
  // in the second, and the other way round.
  for (const [reader, other, text] of [[a1, a2, 'one more'], [a2, a1, 'and another']]) {
    await send(b, text);
    await visible(row(reader, 'Conversations', name).filter({ hasText: '1 unread' }), DELIVERY_MS);
    await visible(row(other, 'Conversations', name).filter({ hasText: '1 unread' }), DELIVERY_MS);
    await row(reader, 'Conversations', name).click();
    await row(other, 'Conversations', name).filter({ hasText: 'unread' })
      .waitFor({ state: 'detached', timeout: DELIVERY_MS });
    await reader.getByRole('button', { name: 'Back to conversations' }).click();
  }

  // A message sent in the first browser is in Bob's conversation in the second (the sync
  // copy in the own swarm), and a note to self written in the second is in the first.
  await row(a1, 'Conversations', name).click();
  await send(a1, 'sent from the first browser');
  await row(a2, 'Conversations', name).click();
  await waitMessages(a2, (m) => m.some((x) => x.out && x.body === 'sent from the first browser'), 'the sync copy');
  await a1.getByRole('button', { name: 'Back to conversations' }).click();
  await a2.getByRole('button', { name: 'Back to conversations' }).click();
  await startConversation(a2, ALICE_ID);
  await send(a2, 'a note to myself');
  await a2.getByRole('button', { name: 'Back to conversations' }).click();
  await (await visible(row(a1, 'Conversations', shortId(ALICE_ID)), DELIVERY_MS)).click();
  await waitMessages(a1, (m) => m.some((x) => x.out && x.body === 'a note to myself'), 'the note to self');
  await a1.getByRole('button', { name: 'Back to conversations' }).click();

  // A new name and no picture, set in the second browser: the first shows both.
  await a2.getByRole('button', { name: 'Settings' }).click();
  await a2.getByLabel('Display name').fill('Alice Again');
  await a2.getByRole('button', { name: 'Save name' }).click();
  await a2.getByRole('button', { name: 'Remove picture' }).click();
  await a2.locator('img.avatar[alt="Your profile picture"]').waitFor({ state: 'detached' });
  await a2.getByRole('button', { name: 'Back', exact: true }).click();
  await a1.getByRole('button', { name: 'Settings' }).click();
  await until(async () => (await a1.getByLabel('Display name').inputValue()) === 'Alice Again', 'the name reaches the first browser');
  await a1.locator('img.avatar[alt="Your profile picture"]').waitFor({ state: 'detached', timeout: DELIVERY_MS });
  await a1.getByRole('button', { name: 'Back', exact: true }).click();

  // Carol's request, accepted in the second browser: accepted in the first.
  const carol = await newUser(net.appUrl);
  const dave = await newUser(net.appUrl);
  try {
    const carolName = shortId(carol.id);
    const daveName = shortId(dave.id);
    await startConversation(carol.app.page, ALICE_ID);
    await send(carol.app.page, 'hello from Carol');
    await startConversation(dave.app.page, ALICE_ID);
    await send(dave.app.page, 'hello from Dave');
    await visible(row(a2, 'Message requests', carolName), DELIVERY_MS);
    await row(a2, 'Message requests', carolName).click();
    const banner = await visible(a2.getByRole('region', { name: 'Message request' }));
    await banner.getByRole('button', { name: 'Accept' }).click();
    await banner.waitFor({ state: 'detached' });
    await visible(row(a1, 'Conversations', carolName), DELIVERY_MS);
    await row(a1, 'Message requests', carolName).waitFor({ state: 'detached', timeout: DELIVERY_MS });

    // Two edits at once: the first browser blocks Bob while the second names Carol. Both
    // survive, in both.
    await row(a1, 'Conversations', name).click();
    await a1.getByRole('button', { name: 'Block', exact: true }).click();
    await a2.getByRole('button', { name: 'Nickname' }).click();
    const naming = a2.getByRole('form', { name: 'Nickname' });
    await naming.getByLabel('Nickname').fill('Caz');
    await naming.getByRole('button', { name: 'Save nickname' }).click();
    await visible(a1.getByRole('region', { name: 'Blocked' }));
    await visible(a2.getByRole('heading', { name: 'Caz' }));
    await a1.getByRole('button', { name: 'Back to conversations' }).click();
    await visible(row(a1, 'Conversations', 'Caz'), DELIVERY_MS);
    await a2.getByRole('button', { name: 'Back to conversations' }).click();
    await a2.getByRole('button', { name: 'Settings' }).click();
    await visible(a2.getByRole('button', { name: `Unblock ${name}` }), DELIVERY_MS);
    await a2.getByRole('button', { name: 'Back', exact: true }).click();
    await visible(row(a1, 'Conversations', 'Caz'));
    await visible(row(a2, 'Conversations', 'Caz'));

    // Dave accepted in the first browser; then Carol's conversation deleted in the first and
    // Dave's in the second: each goes from the other browser too.
    await visible(row(a1, 'Message requests', daveName), DELIVERY_MS);
    await row(a1, 'Message requests', daveName).click();
    await a1.getByRole('region', { name: 'Message request' }).getByRole('button', { name: 'Accept' }).click();
    await visible(row(a2, 'Conversations', daveName), DELIVERY_MS);
    await a1.getByRole('button', { name: 'Back to conversations' }).click();
    await deleteConversation(a1, 'Caz');
    await row(a2, 'Conversations', 'Caz').waitFor({ state: 'detached', timeout: DELIVERY_MS });
    await deleteConversation(a2, daveName);
    await row(a1, 'Conversations', daveName).waitFor({ state: 'detached', timeout: DELIVERY_MS });

    // Carol writes again: her conversation is back in both browsers, as a conversation (she
    // is still an accepted contact), not as a request, and under her nickname.
    await send(carol.app.page, 'me again');
    await visible(row(a1, 'Conversations', 'Caz'), DELIVERY_MS);
    await visible(row(a2, 'Conversations', 'Caz'), DELIVERY_MS);
    assert.equal(await row(a1, 'Message requests', carolName).count(), 0);
    assert.equal(await row(a2, 'Message requests', carolName).count(), 0);
    assertNoErrors(carol.app.errors);
    assertNoErrors(dave.app.errors);

    // A third browser restored now starts with the name, no picture, Bob blocked, Carol
    // under her nickname and no Dave.
    const third = await restoreAlice();
    try {
      const a3 = third.page;
      await visible(row(a3, 'Conversations', 'Caz'), DELIVERY_MS).catch(async (e) => {
        const lists = await a3.getByRole('list').allTextContents();
        throw new Error(`${e.message}\nshown: ${JSON.stringify(lists)}`);
      });
      await a3.getByRole('button', { name: 'Settings' }).click();
      await until(async () => (await a3.getByLabel('Display name').inputValue()) === 'Alice Again', 'the name in a restored browser');
      await visible(a3.getByRole('button', { name: `Unblock ${name}` }), DELIVERY_MS);
      assert.equal(await a3.locator('img.avatar[alt="Your profile picture"]').count(), 0, 'no picture');
      await a3.getByRole('button', { name: 'Back', exact: true }).click();
      assert.equal(await row(a3, 'Conversations', daveName).count(), 0, 'Dave\'s conversation was deleted');
      assert.equal(await row(a3, 'Message requests', daveName).count(), 0, 'and his old message is no request');
      assertNoErrors(third.errors);
    } finally {
      await third.close();
    }
  } finally {
    await carol.app.close();
    await dave.app.close();
  }
  assertNoErrors(first.errors);
  assertNoErrors(second.errors);
  assertNoErrors(bob.app.errors);
});

/** Deletes the conversation named `name` from `page`'s list, through its header. */
async function deleteConversation(page, name) {
  await row(page, 'Conversations', name).click();
  await page.getByRole('button', { name: 'Delete conversation' }).click();
  await page.getByRole('dialog', { name: 'Delete conversation' }).getByRole('button', { name: 'Delete' }).click();
  await row(page, 'Conversations', name).waitFor({ state: 'detached' });
}

/** A 640×480 PNG drawn in `page`. */
async function png(page) {
  return Buffer.from(await page.evaluate(async () => {
    const c = new OffscreenCanvas(640, 480);
    const g = c.getContext('2d');
    g.fillStyle = '#c63';
    g.fillRect(0, 0, 640, 480);
    return Array.from(new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer()));
  }));
}

