// A tiny static server for the built app (./dist) that sends the production CSP and headers.
// Trunk's inline module script is allowed by its sha256 hash, computed from the served
// index.html (as `umbra-node serve` does). Usage: node e2e/support/server.mjs [dist] [port]
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.ico': 'image/x-icon', '.webmanifest': 'application/manifest+json',
};

/** sha256 CSP sources of every inline <script> in `html`. */
export function inlineScriptHashes(html) {
  const out = [];
  for (const m of html.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)) {
    out.push(`'sha256-${createHash('sha256').update(m[1], 'utf8').digest('base64')}'`);
  }
  return out;
}

/** The Content-Security-Policy for a given index.html. */
export function csp(html) {
  return [
    "default-src 'none'",
    `script-src 'self' 'wasm-unsafe-eval' ${inlineScriptHashes(html).join(' ')}`.trim(),
    "worker-src 'self'",
    "connect-src 'self' http://127.0.0.1:* https://127.0.0.1:* http://localhost:* https://localhost:*",
    "img-src 'self' blob: data:",
    "style-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/**
 * Starts the server on 127.0.0.1:`port` (0 = a free port). Resolves to { url, close }. With
 * `seedUrl`, /config.json answers {"seed_url": seedUrl} (as `umbra-node serve --seed` does).
 */
export async function startServer(dist = 'dist', port = 0, { seedUrl } = {}) {
  const root = resolve(dist);
  const index = await readFile(join(root, 'index.html'), 'utf8');
  const policy = csp(index);
  const server = createServer(async (req, res) => {
    const base = {
      'Content-Security-Policy': policy,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'X-Frame-Options': 'DENY',
    };
    try {
      let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      if (path.endsWith('/')) path += 'index.html';
      if (seedUrl && path === '/config.json') {
        res.writeHead(200, { ...base, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ seed_url: seedUrl }));
        return;
      }
      const file = normalize(join(root, path));
      if (file !== root && !file.startsWith(root + sep)) throw new Error('outside');
      const body = await readFile(file);
      const hashed = /-[0-9a-f]{16}(_bg)?\.(js|wasm)$/.test(file);
      res.writeHead(200, {
        ...base,
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { ...base, 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/`;
  // Closing also drops idle keep-alive connections, so a test process never hangs on them.
  return { url, close: () => new Promise((ok) => { server.close(ok); server.closeAllConnections(); }) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { url } = await startServer(process.argv[2] ?? 'dist', Number(process.argv[3] ?? 8080));
  console.log(`serving on ${url}`);
}
