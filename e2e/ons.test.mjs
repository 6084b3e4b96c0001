// Starting a conversation by name (Session's ONS, issue 18) over the faithful testnet: its
// name service knows "bob" for the account of the §2 vector phrase, which Bob restores. Alice
// types the name in capitals, sees the Account ID it resolves to (every node asked agrees),
// confirms, and her message arrives at Bob. An unknown name and an invalid one are refused
// with clear messages, and nothing is written to anyone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, choosePassphrase, openApp, shownAccountId, visible, VECTORS } from './support/harness.mjs';
import { DELIVERY_MS, PASS, newUser, row, send, waitMessages, shortId } from './support/messaging.mjs';
import { startTestnet } from './support/testnet.mjs';

const [PHRASE, BOB_ID] = VECTORS[0];

let net;
before(async () => {
  net = await startTestnet({
    nodes: 12, faithful: true, appDir: process.env.DIST_DIR || 'dist', ons: [['bob', BOB_ID]],
  });
});
after(async () => { await net?.close(); });

test('a registered name resolves to its account, is confirmed, and the message arrives', async () => {
  const alice = await newUser(net.appUrl);
  const bob = await openApp(net.appUrl);
  const a = alice.app.page;
  const b = bob.page;
  try {
    await b.getByRole('button', { name: 'Restore account' }).click();
    await b.getByLabel('Recovery phrase').fill(PHRASE);
    await b.getByRole('button', { name: 'Restore' }).click();
    await choosePassphrase(b, PASS);
    assert.equal(await shownAccountId(b), BOB_ID);

    await a.getByRole('button', { name: 'New conversation' }).click();
    const field = a.getByLabel('Account ID or ONS name');
    // Not a name at all: refused here, nothing looked up.
    await field.fill('not a name!');
    await a.getByRole('button', { name: 'Start conversation' }).click();
    await visible(a.getByRole('alert').filter({ hasText: 'a name has letters, digits' }));
    // A name nobody registered.
    await field.fill('nobody');
    await a.getByRole('button', { name: 'Start conversation' }).click();
    await visible(a.getByRole('alert').filter({ hasText: 'No account has this name' }), DELIVERY_MS);
    // Bob's name, typed in capitals.
    await field.fill('  BOB ');
    await a.getByRole('button', { name: 'Start conversation' }).click();
    const found = await visible(a.getByRole('region', { name: 'Name found' }), DELIVERY_MS);
    assert.equal((await found.getByLabel('Resolved Account ID').textContent()).trim(), BOB_ID);
    await found.getByRole('button', { name: 'Message this account' }).click();
    await visible(a.getByRole('log', { name: 'Messages' }));
    await send(a, 'hello by name');
    const request = row(b, 'Message requests', shortId(alice.id));
    await visible(request, DELIVERY_MS);
    await request.click();
    await waitMessages(b, (m) => m.some((x) => !x.out && x.body === 'hello by name'), 'Bob gets the message');
    assertNoErrors(alice.app.errors);
    assertNoErrors(bob.errors);
  } finally {
    await alice.app.close();
    await bob.close();
  }
});
