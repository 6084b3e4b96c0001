// Attachments between two browsers over the faithful testnet and its file server (issue 12):
// a photo carrying EXIF/GPS data arrives re-encoded, with none of it; a PDF arrives byte for
// byte and is only offered for saving (never rendered: its blob is typed
// application/octet-stream); a voice message recorded from Chromium's fake microphone
// arrives as MP3 and plays; all travel as onion requests to the file server, are stored
// sealed in IndexedDB, and an unsend removes the photo from both browsers and their stores;
// a profile picture set by Alice is shown by Bob.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNoErrors, visible } from './support/harness.mjs';
import { DELIVERY_MS, acceptedConversation, idbRecords, newUser, send } from './support/messaging.mjs';
import { startTestnet } from './support/testnet.mjs';

const GPS = 'GPS-CANARY-48.8584N-2.2945E';
const PDF_CANARY = 'canary-pdf-7731';

/** A 3 s 440 Hz tone, 48 kHz mono 16-bit WAV: what Chromium's fake microphone plays. */
function toneWav() {
  const rate = 48000;
  const n = rate * 3;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 12000), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8);
  h.write('fmt ', 12); h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24); h.writeUInt32LE(rate * 2, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34);
  h.write('data', 36); h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

let net;
let dir;
let mic;
before(async () => {
  net = await startTestnet({ nodes: 12, faithful: true, appDir: process.env.DIST_DIR || 'dist' });
  assert.match(net.output(), /^fileserver http:\/\/127\.0\.0\.1:\d+ [0-9a-f]{64}$/m);
  dir = mkdtempSync(join(tmpdir(), 'umbra-mic-'));
  const wav = join(dir, 'tone.wav');
  writeFileSync(wav, toneWav());
  mic = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`];
});
after(async () => {
  await net?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A 64×48 JPEG drawn in `page`, with an APP1 "Exif" segment carrying a GPS canary. */
async function jpegWithExif(page) {
  const bytes = await page.evaluate(async (gps) => {
    const c = new OffscreenCanvas(64, 48);
    const g = c.getContext('2d');
    g.fillStyle = '#c33';
    g.fillRect(0, 0, 64, 48);
    g.fillStyle = '#3c3';
    g.fillRect(10, 10, 20, 20);
    const jpg = new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer());
    const payload = new TextEncoder().encode(`Exif\0\0${gps}`);
    const len = payload.length + 2;
    const seg = new Uint8Array([0xff, 0xe1, len >> 8, len & 255, ...payload]);
    const out = new Uint8Array(jpg.length + seg.length);
    out.set(jpg.subarray(0, 2));
    out.set(seg, 2);
    out.set(jpg.subarray(2), 2 + seg.length);
    return Array.from(out);
  }, GPS);
  return Buffer.from(bytes);
}

/** Test hook (run before the app): remembers the Blob behind every object URL the page makes,
 * so the test reads what the app shows without a fetch (the app's CSP allows none). */
function rememberBlobs() {
  const make = URL.createObjectURL;
  window.__blobs = new Map();
  URL.createObjectURL = (b) => {
    const u = make.call(URL, b);
    window.__blobs.set(u, b);
    return u;
  };
}

/** The bytes and type behind a `blob:` URL shown in `page`. */
async function blobAt(page, url) {
  return page.evaluate(async (u) => {
    const blob = window.__blobs.get(u);
    return { type: blob.type, bytes: Array.from(new Uint8Array(await blob.arrayBuffer())) };
  }, url);
}

const has = (bytes, text) => Buffer.from(bytes).includes(Buffer.from(text));

test('a photo loses its EXIF, a PDF arrives byte for byte, a voice note plays, unsend removes the photo everywhere, an avatar reaches the peer', async () => {
  const alice = await newUser(net.appUrl, undefined, mic);
  const bob = await newUser(net.appUrl, undefined, [], rememberBlobs);
  const a = alice.app.page;
  const b = bob.app.page;
  try {
    await acceptedConversation(a, b, alice, bob);
    const attach = a.getByLabel('Attach a file');

    // The photo.
    const jpeg = await jpegWithExif(a);
    assert.ok(has(jpeg, GPS) && has(jpeg, 'Exif'), 'the test photo carries EXIF');
    await attach.setInputFiles({ name: 'photo.jpg', mimeType: 'image/jpeg', buffer: jpeg });
    // The tray shows progress, then the message is in the conversation.
    const mine = a.getByRole('log', { name: 'Messages' }).getByRole('figure', { name: /^Photo: photo\.jpg/ });
    await visible(mine.getByRole('img'), DELIVERY_MS);
    await a.getByRole('list', { name: 'Files being sent' }).getByRole('listitem').waitFor({ state: 'detached' });
    const theirs = b.getByRole('log', { name: 'Messages' }).getByRole('figure', { name: /^Photo: photo\.jpg/ });
    const img = await visible(theirs.getByRole('img'), DELIVERY_MS);
    const got = await blobAt(b, await img.getAttribute('src'));
    assert.equal(got.type, 'image/jpeg');
    assert.deepEqual(got.bytes.slice(0, 2), [0xff, 0xd8], 'a JPEG');
    assert.ok(!has(got.bytes, 'Exif') && !has(got.bytes, GPS), 'no EXIF, no GPS reached Bob');
    const size = await b.evaluate(async (u) => {
      const bmp = await createImageBitmap(window.__blobs.get(u));
      return [bmp.width, bmp.height];
    }, await img.getAttribute('src'));
    assert.deepEqual(size, [64, 48]);
    // The full view opens and closes.
    await theirs.getByRole('button', { name: /^View Photo/ }).click();
    const viewer = await visible(b.getByRole('dialog', { name: 'Photo' }));
    await viewer.getByRole('button', { name: 'Close' }).click();
    // Bob replies to the photo: the quote names it and shows its thumbnail, on both sides.
    const photoAtBob = b.getByRole('log', { name: 'Messages' }).getByRole('listitem')
      .filter({ has: b.getByRole('figure', { name: /^Photo: photo\.jpg/ }) });
    await photoAtBob.getByRole('button', { name: 'Message options' }).click();
    await b.getByRole('menu', { name: 'Message options' }).getByRole('menuitem', { name: 'Reply' }).click();
    await send(b, 'nice photo');
    for (const page of [a, b]) {
      const reply = page.getByRole('log', { name: 'Messages' }).getByRole('listitem').filter({ hasText: 'nice photo' });
      const quoted = await visible(reply.getByLabel('Quoted message'), DELIVERY_MS);
      assert.match(await quoted.textContent(), /Photo/);
      await visible(quoted.getByRole('img', { name: 'Quoted photo' }), DELIVERY_MS);
    }

    // The PDF: saved only, with the same bytes.
    const pdf = Buffer.concat([
      Buffer.from(`%PDF-1.4\n% ${PDF_CANARY}\n`),
      Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 255)),
      Buffer.from('\n%%EOF\n'),
    ]);
    await attach.setInputFiles({ name: 'report.pdf', mimeType: 'application/pdf', buffer: pdf });
    const file = b.getByRole('log', { name: 'Messages' }).getByRole('figure', { name: /^File: report\.pdf/ });
    const save = await visible(file.getByRole('link', { name: 'Save report.pdf' }), DELIVERY_MS);
    assert.equal(await save.getAttribute('download'), 'report.pdf');
    const saved = await blobAt(b, await save.getAttribute('href'));
    assert.equal(saved.type, 'application/octet-stream', 'never typed as something a browser renders');
    assert.ok(Buffer.from(saved.bytes).equals(pdf), 'the same bytes');
    assert.equal((await idbRecords(b, PDF_CANARY)).plaintext, false, 'stored sealed');

    // A voice message from the (fake) microphone: sent as MP3 with the voice flag, plays.
    await a.getByRole('button', { name: 'Record voice message' }).click();
    await visible(a.getByRole('timer', { name: /^Recording/ }));
    await a.waitForTimeout(2000);
    await a.getByRole('button', { name: 'Send voice message' }).click();
    const voice = b.getByRole('log', { name: 'Messages' }).getByRole('figure', { name: /^Voice message: voice-message\.mp3/ });
    const audio = await visible(voice.locator('audio'), DELIVERY_MS);
    const mp3 = await blobAt(b, await audio.getAttribute('src'));
    assert.equal(mp3.type, 'audio/mpeg');
    // An MPEG audio frame sync (the Info tag frame comes first).
    assert.equal(mp3.bytes[0], 0xff);
    assert.equal(mp3.bytes[1] & 0xe0, 0xe0);
    const duration = await audio.evaluate((el) => new Promise((ok) => {
      if (Number.isFinite(el.duration) && el.duration > 0) ok(el.duration);
      el.addEventListener('loadedmetadata', () => ok(el.duration), { once: true });
      el.load();
    }));
    assert.ok(duration > 1 && duration < 10, `duration ${duration}`);
    const decoded = await b.evaluate(async (u) => {
      const ctx = new OfflineAudioContext(1, 48000, 48000);
      const buf = await ctx.decodeAudioData(await window.__blobs.get(u).arrayBuffer());
      const d = buf.getChannelData(0);
      let energy = 0;
      for (let i = 0; i < d.length; i++) energy += d[i] * d[i];
      return { seconds: buf.duration, rms: Math.sqrt(energy / d.length) };
    }, await audio.getAttribute('src'));
    assert.ok(decoded.rms > 0.01, `the tone is heard (rms ${decoded.rms})`);

    // Unsend the photo: gone from both browsers, and its chunks from Bob's store.
    const before = (await idbRecords(b, GPS)).count;
    await mine.getByRole('img').waitFor();
    const photoBubble = a.getByRole('log', { name: 'Messages' }).getByRole('listitem')
      .filter({ has: a.getByRole('figure', { name: /^Photo: photo\.jpg/ }) });
    await photoBubble.getByRole('button', { name: 'Message options' }).click();
    await a.getByRole('menu', { name: 'Message options' }).getByRole('menuitem', { name: 'Delete for everyone' }).click();
    await a.getByRole('dialog', { name: 'Delete message' }).getByRole('button', { name: 'Delete' }).click();
    await theirs.waitFor({ state: 'detached', timeout: DELIVERY_MS });
    await mine.waitFor({ state: 'detached', timeout: DELIVERY_MS });
    const after = (await idbRecords(b, GPS)).count;
    assert.ok(after < before, `Bob's store lost the photo's records (${before} → ${after})`);
    assert.ok(await file.isVisible(), 'the PDF stays');
    // Alice sets a profile picture (800×600: cropped to 600×600); her next message carries
    // it, and Bob shows it in the conversation's header.
    await a.getByRole('button', { name: 'Back to conversations' }).click();
    await a.getByRole('button', { name: 'Settings' }).click();
    // Session shares a picture only in a profile with a name.
    await a.getByLabel('Display name').fill('Alice');
    await a.getByRole('button', { name: 'Save name' }).click();
    const png = Buffer.from(await a.evaluate(async () => {
      const c = new OffscreenCanvas(800, 600);
      const g = c.getContext('2d');
      g.fillStyle = '#36c';
      g.fillRect(0, 0, 800, 600);
      return Array.from(new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer()));
    }));
    await a.getByLabel('Choose a profile picture').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
    await visible(a.locator('img.avatar[alt="Your profile picture"]'), DELIVERY_MS);
    await a.getByRole('button', { name: 'Back', exact: true }).click();
    await a.getByRole('list', { name: 'Conversations' }).getByRole('button').first().click();
    await send(a, 'with my new picture');
    await visible(b.getByRole('log', { name: 'Messages' }).getByText('with my new picture'), DELIVERY_MS);
    const head = await visible(b.locator('.chat-head img.avatar'), DELIVERY_MS);
    const pic = await blobAt(b, await head.getAttribute('src'));
    assert.equal(pic.type, 'image/jpeg');
    const side = await b.evaluate(async (u) => {
      const bmp = await createImageBitmap(window.__blobs.get(u));
      return [bmp.width, bmp.height];
    }, await head.getAttribute('src'));
    assert.deepEqual(side, [600, 600]);
    assertNoErrors(alice.app.errors);
    assertNoErrors(bob.app.errors);
  } finally {
    await alice.app.close();
    await bob.app.close();
  }
});
