// Voice and video calls between two browsers (Alice and Bob) over a real local node network,
// the release bundle and the testnet's TURN server (Debian's coturn on loopback), issue 19.
// Chromium's fake camera and microphone stand in for devices. One set-up (testnet, accounts,
// an accepted conversation) serves every check of the file, in order: calls off (missed, the
// caller learns nothing), a voice call through a relay (getStats), mute, the callee hanging
// up, a declined call, a video call whose frames arrive, and a lock during a call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, visible } from './support/harness.mjs';
import {
  DELIVERY_MS, newUser, acceptedConversation, setSwitch, row, shortId, until,
} from './support/messaging.mjs';
import { startServer } from './support/server.mjs';
import { startTestnet } from './support/testnet.mjs';

const MEDIA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required'];
/** Signalling goes through the swarms (polling) and ICE through coturn: generous. */
const CALL_MS = 60000;

let net;
let server;
let alice;
let bob;
let a;
let b;
before(async () => {
  net = await startTestnet({ nodes: 12, needTurn: true });
  // The bundle's config.json as the testnet wrote it: seed and TURN server.
  server = await startServer(process.env.DIST_DIR || 'dist', 0, { config: net.configPath });
  alice = await newUser(server.url, undefined, MEDIA);
  bob = await newUser(server.url, undefined, MEDIA);
  [a, b] = [alice.app.page, bob.app.page];
  await acceptedConversation(a, b, alice, bob);
});
after(async () => {
  await alice?.app.close();
  await bob?.app.close();
  await net?.close();
  await server?.close();
});

/** Turns calls on in Settings and opens the conversation with `peer` again. */
async function enableCalls(page, peer) {
  await page.getByRole('button', { name: 'Back to conversations' }).click();
  await setSwitch(page, 'Voice and video calls', true);
  const r = row(page, 'Conversations', shortId(peer.id));
  await visible(r, 30000);
  await r.click();
  await visible(page.getByRole('log', { name: 'Messages' }));
}

const callState = (page) => page.getByRole('status', { name: 'Call state' });
const callStatus = (page) => page.getByRole('status', { name: 'Call status' });
const incoming = (page) => page.getByRole('dialog', { name: 'Incoming call' });

async function waitConnected(page) {
  await until(async () => /Connected · \d+:\d\d/.test(await callState(page).textContent().catch(() => '')),
    'call connected', CALL_MS);
}

/** The selected candidate pair of the page's peer connection, and its byte counters. */
async function selectedPair(page) {
  return page.evaluate(async () => {
    const pc = window.__umbraCall;
    if (!pc) return null;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
    if (!pair) return null;
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    return {
      local: local?.candidateType, remote: remote?.candidateType,
      sent: pair.bytesSent, received: pair.bytesReceived,
      transport: pc.getConfiguration().iceTransportPolicy,
    };
  });
}

test('calls off: an incoming call shows as missed and the caller learns nothing', async () => {
  // With calls off the buttons say why they are disabled.
  const voice = b.getByRole('button', { name: 'Voice call' });
  assert.equal(await voice.isDisabled(), true);
  await visible(b.getByText('Calls are off. Turn on voice and video calls in Settings.'));

  await enableCalls(a, bob);
  await a.getByRole('button', { name: 'Voice call' }).click();
  await visible(callState(a));
  await visible(a.getByRole('note', { name: `You called ${shortId(bob.id)}` }), 15000);
  const missed = b.getByRole('note', { name: `Missed call from ${shortId(alice.id)}` });
  await visible(missed, DELIVERY_MS);
  assert.equal(await incoming(b).count(), 0, 'no incoming-call dialog with calls off');
  // Nothing went back: Alice still rings.
  assert.equal(await callState(a).textContent(), 'Calling…');
  assert.equal(await callStatus(a).count(), 0);
  await a.getByRole('button', { name: 'End call' }).click();
  await visible(callStatus(a));
  assert.equal(await callStatus(a).textContent().then((t) => t.replace('Dismiss', '').trim()), 'Call ended');
  await callStatus(a).getByRole('button', { name: 'Dismiss' }).click();
});

test('a voice call connects through the TURN relay; mute; the callee hangs up', async () => {
  await enableCalls(b, alice);
  await a.getByRole('button', { name: 'Voice call' }).click();
  const dialog = incoming(b);
  await visible(dialog, CALL_MS);
  assert.match(await dialog.textContent(), /is calling you/);
  await dialog.getByRole('button', { name: 'Accept' }).click();
  await waitConnected(b);
  await waitConnected(a);
  await visible(b.getByRole('note', { name: `${shortId(alice.id)} called you` }));

  // Relay only, both ways, and media flows both ways.
  for (const page of [a, b]) {
    let pair = null;
    await until(async () => {
      pair = await selectedPair(page);
      return pair && pair.sent > 1000 && pair.received > 1000;
    }, 'media flows', CALL_MS);
    assert.equal(pair.transport, 'relay');
    assert.equal(pair.local, 'relay', JSON.stringify(pair));
  }

  // Mute turns the microphone track off, unmute on again.
  const track = () => a.evaluate(() => window.__umbraCall.getSenders()
    .find((s) => s.track && s.track.kind === 'audio').track.enabled);
  assert.equal(await track(), true);
  await a.getByRole('button', { name: 'Mute' }).click();
  assert.equal(await track(), false);
  await a.getByRole('button', { name: 'Unmute' }).click();
  assert.equal(await track(), true);

  // Bob hangs up: Alice's call ends too.
  await b.getByRole('button', { name: 'End call' }).click();
  await visible(callStatus(b));
  await visible(callStatus(a), CALL_MS);
  assert.match(await callStatus(a).textContent(), /Call ended by the other side/);
  await until(() => a.evaluate(() => window.__umbraCall === undefined), 'peer connection closed', 10000);
  for (const p of [a, b]) await callStatus(p).getByRole('button', { name: 'Dismiss' }).click();
});

test('a declined call ends at the caller', async () => {
  await a.getByRole('button', { name: 'Voice call' }).click();
  const dialog = incoming(b);
  await visible(dialog, CALL_MS);
  await dialog.getByRole('button', { name: 'Decline' }).click();
  await dialog.waitFor({ state: 'detached' });
  await visible(callStatus(b));
  assert.match(await callStatus(b).textContent(), /Call declined/);
  await visible(callStatus(a), CALL_MS);
  assert.match(await callStatus(a).textContent(), /Call ended/);
  for (const p of [a, b]) await callStatus(p).getByRole('button', { name: 'Dismiss' }).click();
});

test('a video call shows the caller\'s camera at the callee', async () => {
  await a.getByRole('button', { name: 'Video call' }).click();
  const dialog = incoming(b);
  await visible(dialog, CALL_MS);
  await dialog.getByRole('button', { name: 'Accept' }).click();
  await waitConnected(b);
  let seen = null;
  const frames = () => b.evaluate(() => {
    const v = document.getElementById('call-remote-video');
    return {
      width: v?.videoWidth ?? 0,
      hidden: !v || v.classList.contains('hidden'),
      tracks: v?.srcObject?.getTracks().map((t) => `${t.kind}:${t.readyState}:${t.muted}`) ?? [],
    };
  });
  await until(async () => {
    seen = await frames();
    return seen.width > 0 && !seen.hidden;
  }, 'remote video frames at Bob', CALL_MS).catch((e) => {
    throw new Error(`${e.message}: ${JSON.stringify(seen)}`);
  });
  assert.equal(await a.getByRole('button', { name: 'Camera off' }).isVisible(), true);
  await a.getByRole('button', { name: 'End call' }).click();
  await visible(callStatus(b), CALL_MS);
  assertNoErrors(alice.app.errors);
  assertNoErrors(bob.app.errors);
});

test('locking the account during a call ends it at both ends', async () => {
  for (const p of [a, b]) {
    const s = callStatus(p);
    if (await s.count()) await s.getByRole('button', { name: 'Dismiss' }).click();
  }
  await a.getByRole('button', { name: 'Voice call' }).click();
  const dialog = incoming(b);
  await visible(dialog, CALL_MS);
  await dialog.getByRole('button', { name: 'Accept' }).click();
  await waitConnected(a);
  await waitConnected(b);
  // Alice locks (the worker stops): her page closes the call and tells Bob's over the data
  // channel, so his call ends too instead of running on without her.
  await a.getByRole('button', { name: 'Back to conversations' }).click();
  await a.getByRole('button', { name: 'Lock' }).click();
  await visible(a.getByRole('heading', { name: 'Unlock Umbra' }));
  assert.equal(await a.evaluate(() => window.__umbraCall === undefined), true, 'closed at Alice');
  await visible(callStatus(b), CALL_MS);
  assert.match(await callStatus(b).textContent(), /Call ended by the other side/);
  await until(() => b.evaluate(() => window.__umbraCall === undefined), 'closed at Bob', 10000);
  assertNoErrors(alice.app.errors);
  assertNoErrors(bob.app.errors);
});
