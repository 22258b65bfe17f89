/**
 * The built console (dist/console, made by `npm run build`) as an immutable set of assets in
 * memory: each file with its type, ETag and the gzip/brotli forms post-build made beside it.
 * Read once, on first use; the set is small (a few hundred KB).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';

export interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  brotli: Buffer | null;
  type: string;
  etag: string;
  /** Content-hashed file names never change, so they may be cached for a year. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

function maybeRead(path: string): Buffer | null {
  return existsSync(path) ? readFileSync(path) : null;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (!name.endsWith('.gz') && !name.endsWith('.br')) out.push(full);
  }
  return out;
}

/** Every asset under `root`, keyed by its path below it (`index.html`, `assets/index-abc.js`). */
export function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(join(root, 'index.html'))) return assets;
  for (const file of walk(root)) {
    const key = relative(root, file).split('\\').join('/');
    const body = readFileSync(file);
    assets.set(key, {
      body,
      gzip: maybeRead(`${file}.gz`),
      brotli: maybeRead(`${file}.br`),
      type: TYPES[extname(file)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      immutable: key.startsWith('assets/'),
    });
  }
  return assets;
}
