// Umbra service worker: keeps the app shell working offline.
// - index.html (navigations), sw.js, the manifest and the unhashed worker files are fetched
//   network-first (a stale worker must never be served while online), falling back to cache.
// - Hashed assets (trunk's app-<hash>.js / _bg.wasm) are cache-first: their URL changes with
//   their content.
// On install the shell is precached: index.html, then every local script/wasm it references.
'use strict';

const CACHE = 'umbra-shell-v1';
const SHELL = ['./', 'manifest.json', 'style.css', 'icons/icon-192.png', 'icons/icon-512.png',
  'umbra-worker_loader.js', 'umbra-worker.js', 'umbra-worker_bg.wasm'];
const HASHED = /-[0-9a-f]{16}(_bg)?\.(js|wasm)$/;

async function precache() {
  const cache = await caches.open(CACHE);
  await cache.addAll(SHELL);
  const index = await (await cache.match('./')).text();
  const refs = new Set();
  for (const m of index.matchAll(/(?:href|src|from|import)\s*\(?\s*=?\s*["'](\.?\/?[^"']+\.(?:js|wasm))["']/g)) {
    refs.add(new URL(m[1], self.registration.scope).href);
  }
  await cache.addAll([...refs]);
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

async function networkFirst(request, cacheKey) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(cacheKey, response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(cacheKey, { ignoreSearch: true });
    if (cached) return cached;
    throw err;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(networkFirst(request, './'));
  } else if (HASHED.test(url.pathname)) {
    event.respondWith(cacheFirst(request));
  } else {
    event.respondWith(networkFirst(request, request));
  }
});
