// Two tabs on one account: the tab holding the account's Web Lock is the only one that runs a
// worker on the database. A second tab of the same profile says Umbra is open in another tab
// and starts nothing; "Use here" takes the account over, and the first tab stops its worker
// (so it writes nothing more) and says so; closing the holding tab frees the lock. One browser
// context (one profile), pages as tabs; fails on any console error, page error or CSP
// violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  appServer, openApp, assertNoErrors, visible, VECTORS, choosePassphrase, shownAccountId,
} from './support/harness.mjs';

let server;
before(async () => { server = await appServer(); });
after(async () => { await server?.close(); });

const PASS = 'correct horse battery staple';
const ELSEWHERE = 'Umbra is open in another tab';
const TAKEN_OVER = 'Umbra was opened in another tab';

/** Resolves when `worker` is terminated (Playwright's `close` event). */
const closed = (worker) => new Promise((ok) => { worker.once('close', ok); });

/** `promise`, or a failure naming `what` after `ms`. */
function within(promise, what, ms = 30000) {
  let timer;
  const late = new Promise((_, fail) => { timer = setTimeout(() => fail(new Error(what)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

test('a second tab waits; "Use here" moves the account and stops the first tab\'s worker', async () => {
  const app = await openApp(server.base);
  const { ctx, page: first } = app;
  try {
    await first.getByRole('button', { name: 'Restore account' }).click();
    await first.getByLabel('Recovery phrase').fill(VECTORS[0][0]);
    await first.getByRole('button', { name: 'Restore' }).click();
    await choosePassphrase(first, PASS);
    assert.equal(await shownAccountId(first), VECTORS[0][1]);
    assert.equal(first.workers().length, 1, 'the first tab runs its worker');
    const firstStopped = closed(first.workers()[0]);

    // A second tab of the same profile: the notice, and no worker on the database.
    const second = await ctx.newPage();
    await second.goto(server.base);
    const notice = await visible(second.getByRole('region', { name: ELSEWHERE }));
    assert.equal(second.workers().length, 0, 'the waiting tab started a worker');
    assert.equal(await shownAccountId(first), VECTORS[0][1], 'the first tab is untouched');

    // "Use here": the second tab gets the account (locked, as after a reload) ...
    await notice.getByRole('button', { name: 'Use here' }).click();
    await visible(second.getByRole('heading', { name: 'Unlock Umbra' }));
    // ... and the first tab's worker is terminated, its screen says why.
    await within(firstStopped, 'the first tab\'s worker still runs');
    assert.equal(first.workers().length, 0);
    await visible(first.getByRole('region', { name: TAKEN_OVER }));
    assert.equal(await first.getByRole('heading', { name: 'Your account' }).count(), 0);

    await second.getByLabel('Passphrase').fill(PASS);
    await second.getByRole('button', { name: 'Unlock' }).click();
    await visible(second.getByRole('heading', { name: 'Your account' }), 60000);
    assert.equal(await shownAccountId(second), VECTORS[0][1]);
    // The first tab stays stopped while the second one works.
    assert.equal(first.workers().length, 0);

    // Closing the tab that holds the account frees it: a new tab starts at once.
    await second.close();
    const third = await ctx.newPage();
    await third.goto(server.base);
    await visible(third.getByRole('heading', { name: 'Unlock Umbra' }));
    assert.equal(await third.getByRole('region', { name: ELSEWHERE }).count(), 0);

    // The taken-over tab can take the account back.
    const thirdStopped = closed(third.workers()[0]);
    await first.getByRole('region', { name: TAKEN_OVER }).getByRole('button', { name: 'Use here' }).click();
    await visible(first.getByRole('heading', { name: 'Unlock Umbra' }));
    await within(thirdStopped, 'the third tab\'s worker still runs');
    await visible(third.getByRole('region', { name: TAKEN_OVER }));
    assertNoErrors(app.errors);
  } finally {
    await app.close();
  }
});
