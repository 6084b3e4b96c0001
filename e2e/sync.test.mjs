// Config sync between browsers restored from one recovery phrase (issue 13), over the
// faithful testnet: Bob writes to Alice, both of Alice's browsers show his message request;
// Alice accepts it in the first, and the second shows Bob's conversation as accepted (the
// Contacts config pushed into the own swarm's namespace 3 and pulled back). Then the name and
// picture set in one browser, the disappearing setting, a nickname, the unread flag and a block, reach
// the other one, and a third browser restored later starts with all of it. Tests fail on
// console errors, page errors and CSP violations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, choosePassphrase, openApp, shownAccountId, visible, VECTORS } from './support/harness.mjs';
import {
  DELIVERY_MS, PASS, newUser, row, send, shortId, startConversation, until,
} from './support/messaging.mjs';
import { startTestnet } from './support/testnet.mjs';

const [PHRASE, ALICE_ID] = VECTORS[1];

let net;
before(async () => {
  net = await startTestnet({ nodes: 12, faithful: true, appDir: process.env.DIST_DIR || 'dist' });
});
after(async () => { await net?.close(); });

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

test('a request accepted in one browser shows as accepted in the other', async () => {
  const first = await restoreAlice();
  const second = await restoreAlice();
  const bob = await newUser(net.appUrl);
  const [a1, a2, b] = [first.page, second.page, bob.app.page];
  try {
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

    // A third browser restored now starts with the name, the picture and the block.
    const third = await restoreAlice();
    try {
      const a3 = third.page;
      await a3.getByRole('button', { name: 'Settings' }).click();
      await until(async () => (await a3.getByLabel('Display name').inputValue()) === 'Alice Synced', 'the name in a restored browser');
      await visible(a3.locator('img.avatar[alt="Your profile picture"]'), DELIVERY_MS);
      await visible(a3.getByRole('button', { name: `Unblock ${name}` }), DELIVERY_MS);
      assertNoErrors(third.errors);
    } finally {
      await third.close();
    }

    assertNoErrors(first.errors);
    assertNoErrors(second.errors);
    assertNoErrors(bob.app.errors);
  } finally {
    await first.close();
    await second.close();
    await bob.app.close();
  }
});

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

