// Account flows in a real browser against the release bundle: create (a weak passphrase is
// refused), reload + unlock (wrong then right passphrase), lock, copy, QR, the recovery phrase
// and removal behind the passphrase typed again, restore from the docs/protocol.md §2
// vectors, named phrase errors. Every test uses its own fresh Chromium profile and fails on
// any console error, page error or CSP violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  appServer, openApp, assertNoErrors, visible, VECTORS, choosePassphrase, shownAccountId,
} from './support/harness.mjs';

let server;
before(async () => { server = await appServer(); });
after(async () => { await server?.close(); });

const PASS = 'correct horse battery staple';

test('create account, reload, wrong then right passphrase, same Account ID', async () => {
  const app = await openApp(server.base);
  const { page, ctx } = app;
  try {
    await page.getByRole('button', { name: 'Create account' }).click();
    const words = page.getByRole('list', { name: 'Recovery phrase' }).getByRole('listitem');
    await visible(page.getByRole('heading', { name: 'Your recovery phrase' }));
    assert.equal(await words.count(), 13);
    const continueBtn = page.getByRole('button', { name: 'Continue' });
    assert.equal(await continueBtn.isDisabled(), true, 'cannot continue before confirming');
    await page.getByLabel('I have saved my recovery phrase').check();
    await continueBtn.click();

    // A weak passphrase: the hint says why as it is typed, and the worker refuses it.
    await visible(page.getByRole('heading', { name: 'Choose a passphrase' }));
    await page.getByLabel('Passphrase', { exact: true }).fill('Password1');
    assert.match(await page.locator('#pass-hint').textContent(), /too weak.*most common passwords/);
    await page.getByLabel('Confirm passphrase').fill('Password1');
    await page.getByRole('button', { name: 'Continue' }).click();
    await visible(page.getByRole('alert').filter({ hasText: 'This passphrase is too easy to guess' }));
    await visible(page.getByRole('heading', { name: 'Choose a passphrase' }));

    // Mismatched confirmation is refused.
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByLabel('Confirm passphrase').fill(`${PASS}!`);
    await page.getByRole('button', { name: 'Continue' }).click();
    await visible(page.getByRole('alert').filter({ hasText: 'Passphrases do not match' }));
    assert.match(await page.locator('#pass-hint').textContent(), /strong/);

    // Matching: the busy indicator shows while Argon2id runs, then home.
    await page.getByLabel('Confirm passphrase').fill(PASS);
    await page.getByRole('button', { name: 'Continue' }).click();
    await visible(page.getByRole('progressbar', { name: 'Working' }));
    await visible(page.getByRole('heading', { name: 'Your account' }));
    const id = await shownAccountId(page);
    assert.match(id, /^05[0-9a-f]{64}$/);
    await visible(page.getByRole('img', { name: 'QR code of your Account ID' }));
    assert.ok((await page.locator('svg.qr path').getAttribute('d')).length > 100);

    // Copy puts the Account ID on the clipboard.
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.base).origin });
    await page.getByRole('button', { name: 'Copy' }).click();
    await visible(page.getByRole('status').filter({ hasText: 'Copied' }));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), id);

    // Fits a 360px-wide screen: no horizontal scrolling.
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360));

    // The recovery phrase can be shown again after unlock, with the passphrase typed again.
    await page.getByRole('button', { name: 'Show recovery phrase' }).click();
    const ask = await visible(page.getByRole('alertdialog', { name: 'Show the recovery phrase?' }));
    await ask.getByLabel('Passphrase').fill('not my passphrase');
    await ask.getByRole('button', { name: 'Show recovery phrase' }).click();
    await visible(page.getByRole('alert').filter({ hasText: 'Wrong passphrase' }));
    assert.equal(await page.getByRole('list', { name: 'Recovery phrase' }).count(), 0);
    await ask.getByLabel('Passphrase').fill(PASS);
    await ask.getByRole('button', { name: 'Show recovery phrase' }).click();
    await visible(page.getByRole('list', { name: 'Recovery phrase' }));
    await ask.waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('list', { name: 'Recovery phrase' }).getByRole('listitem').count(), 13);
    await page.getByRole('button', { name: 'Hide recovery phrase' }).click();
    await visible(page.getByRole('button', { name: 'Show recovery phrase' }));

    // Reload: locked. Wrong passphrase is named, then the right one works.
    await page.reload();
    await visible(page.getByRole('heading', { name: 'Unlock Umbra' }));
    await page.getByLabel('Passphrase').fill('not my passphrase');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await visible(page.getByRole('alert').filter({ hasText: 'Wrong passphrase' }));
    await page.getByLabel('Passphrase').fill(PASS);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await visible(page.getByRole('heading', { name: 'Your account' }));
    assert.equal(await shownAccountId(page), id);

    // Lock (terminates the worker) goes back to the unlock screen; unlock works again.
    await page.getByRole('button', { name: 'Lock' }).click();
    await visible(page.getByRole('heading', { name: 'Unlock Umbra' }));
    await page.getByLabel('Passphrase').fill(PASS);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await visible(page.getByRole('heading', { name: 'Your account' }));
    assert.equal(await shownAccountId(page), id);
    await page.getByRole('button', { name: 'Lock' }).click();
    await visible(page.getByRole('heading', { name: 'Unlock Umbra' }));

    // Removing from the unlock screen needs the passphrase too: a wrong one deletes nothing.
    await page.getByRole('button', { name: 'Remove this account from this browser' }).click();
    const remove = await visible(page.getByRole('alertdialog', { name: 'Remove this account?' }));
    await remove.getByLabel('Passphrase').fill('not my passphrase');
    await remove.getByRole('button', { name: 'Remove account' }).click();
    await visible(page.getByRole('alert').filter({ hasText: 'Wrong passphrase' }));
    await remove.getByRole('button', { name: 'Cancel' }).click();
    await page.reload();
    await visible(page.getByRole('heading', { name: 'Unlock Umbra' }));
    await page.getByRole('button', { name: 'Remove this account from this browser' }).click();
    await remove.getByLabel('Passphrase').fill(PASS);
    await remove.getByRole('button', { name: 'Remove account' }).click();
    await visible(page.getByRole('heading', { name: 'Welcome to Umbra' }));
    assertNoErrors(app.errors);
  } finally {
    await app.close();
  }
});

test('restore from the §2 vectors gives their Account IDs; remove account', async () => {
  const app = await openApp(server.base);
  const { page } = app;
  try {
    for (const [phrase, expected] of VECTORS) {
      await page.getByRole('button', { name: 'Restore account' }).click();
      await page.getByLabel('Recovery phrase').fill(phrase);
      await page.getByRole('button', { name: 'Restore' }).click();
      await choosePassphrase(page, PASS);
      assert.equal(await shownAccountId(page), expected);

      // Remove asks first; Cancel keeps the account.
      await page.getByRole('button', { name: 'Remove this account from this browser' }).click();
      const dialog = await visible(page.getByRole('alertdialog', { name: 'Remove this account?' }));
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal(await shownAccountId(page), expected);
      await page.getByRole('button', { name: 'Remove this account from this browser' }).click();
      await dialog.getByLabel('Passphrase').fill(PASS);
      await dialog.getByRole('button', { name: 'Remove account' }).click();
      await visible(page.getByRole('heading', { name: 'Welcome to Umbra' }));
    }
    // Removed means removed: a reload still shows the welcome screen.
    await page.reload();
    await visible(page.getByRole('heading', { name: 'Welcome to Umbra' }));
    assertNoErrors(app.errors);
  } finally {
    await app.close();
  }
});

test('bad recovery phrases are refused with the named error', async () => {
  const app = await openApp(server.base);
  const { page } = app;
  try {
    await page.getByRole('button', { name: 'Restore account' }).click();
    const field = page.getByLabel('Recovery phrase');
    const cases = [
      ['dotted bikini vexed vane orbit dabbing diet amidst geek goldfish ceiling organism orbit',
        /Checksum mismatch/],
      ['sewage railway names qqqzz wagtail duties rowboat until seismic radar custom gimmick until',
        /Unknown word: word 4 /],
      ['sewage railway names rift wagtail duties rowboat until seismic radar custom gimmick',
        /Wrong word count.* not 12$/],
    ];
    for (const [phrase, message] of cases) {
      await field.fill(phrase);
      await page.getByRole('button', { name: 'Restore' }).click();
      const alert = await visible(page.getByRole('alert').filter({ hasText: message }));
      assert.match(await alert.textContent(), message);
      await visible(page.getByRole('heading', { name: 'Restore account' }));
    }
    assertNoErrors(app.errors);
  } finally {
    await app.close();
  }
});
