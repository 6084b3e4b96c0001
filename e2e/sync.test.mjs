// Config sync between two browsers restored from one recovery phrase (issue 13), over the
// faithful testnet: Bob writes to Alice, both of Alice's browsers show his message request;
// Alice accepts it in the first, and the second shows Bob's conversation as accepted (the
// Contacts config pushed into the own swarm's namespace 3 and pulled back). Tests fail on
// console errors, page errors and CSP violations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, choosePassphrase, openApp, shownAccountId, visible, VECTORS } from './support/harness.mjs';
import {
  DELIVERY_MS, PASS, newUser, row, send, shortId, startConversation,
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

    assertNoErrors(first.errors);
    assertNoErrors(second.errors);
    assertNoErrors(bob.app.errors);
  } finally {
    await first.close();
    await second.close();
    await bob.app.close();
  }
});
