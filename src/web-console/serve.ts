/**
 * Serves the web console at /console on the API's own origin (issue 13): the app shell for
 * every console path (the app routes in the browser), hashed assets cached for a year, the
 * smaller pre-compressed form the client accepts, and headers that keep the page to its own
 * origin (CSP: no third-party requests, no framing). The console holds no secrets: it is
 * public, and everything it shows comes from the API with the signed-in caller's headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { loadAssets, type Asset } from './assets.js';

export const CONSOLE_PREFIX = '/console';

/** Where `npm run build` puts the console, relative to this compiled module. */
export const DEFAULT_CONSOLE_ROOT = fileURLToPath(new URL('../console', import.meta.url));

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': [
    "default-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data: blob:",
    // xterm.js and uPlot set styles at run time.
    "style-src 'self' 'unsafe-inline'",
    "script-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

export function isConsolePath(pathname: string): boolean {
  return pathname === CONSOLE_PREFIX || pathname.startsWith(`${CONSOLE_PREFIX}/`);
}

function sendJsonError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ success: false, error: code, code, message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The codings an Accept-Encoding header allows (q=0 means refused). */
export function acceptedEncodings(header: string): Set<string> {
  const out = new Set<string>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name && !(q && Number(q.slice(2)) === 0)) out.add(name);
  }
  return out;
}

/** The encoding to send: brotli, then gzip, when the client accepts it and the form exists. */
function pickEncoding(asset: Asset, header: string): { body: Buffer; encoding: string | null } {
  const accepted = acceptedEncodings(header);
  if (asset.brotli && accepted.has('br')) return { body: asset.brotli, encoding: 'br' };
  if (asset.gzip && accepted.has('gzip')) return { body: asset.gzip, encoding: 'gzip' };
  return { body: asset.body, encoding: null };
}

/** Which asset a console path names: a real file under assets/, else the app shell. */
function resolve(assets: Map<string, Asset>, pathname: string): Asset | null {
  const rest = pathname.slice(CONSOLE_PREFIX.length + 1);
  if (rest.startsWith('assets/')) return assets.get(rest) ?? null;
  return assets.get('index.html') ?? null;
}

export interface ConsoleHandler {
  (req: IncomingMessage, res: ServerResponse, pathname: string): void;
}

export function createConsoleHandler(root: string = DEFAULT_CONSOLE_ROOT): ConsoleHandler {
  let assets: Map<string, Asset> | null = null;
  return (req, res, pathname) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJsonError(res, 405, 'method_not_allowed', `The console answers GET and HEAD, not ${req.method}`);
    }
    if (pathname === CONSOLE_PREFIX) {
      res.writeHead(308, { location: `${CONSOLE_PREFIX}/` });
      return void res.end();
    }
    assets ??= loadAssets(root);
    if (assets.size === 0) {
      assets = null; // built later (npm run build while the server runs): look again next time
      return sendJsonError(res, 404, 'not_found', 'The console is not built; run `npm run build`');
    }
    const asset = resolve(assets, pathname);
    if (!asset) return sendJsonError(res, 404, 'not_found', 'No such console file');
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'content-type': asset.type,
      etag: asset.etag,
      vary: 'accept-encoding',
      'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      return void res.end();
    }
    const { body, encoding } = pickEncoding(asset, String(req.headers['accept-encoding'] ?? ''));
    if (encoding) headers['content-encoding'] = encoding;
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
