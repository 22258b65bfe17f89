/**
 * URL facts of the runtime API as seen by the gateway (spec README §1.1, §2.2;
 * runtime.md §0.1): which paths are runtime paths, where the caller's token is, and
 * how to remove it from the URL before forwarding.
 */
import type { IncomingMessage } from 'node:http';

/** First path segments owned by the runtime API; none exists on the control plane. */
const RUNTIME_ROOTS = new Set([
  'files', 'exec', 'terminals', 'watchers', 'ws', 'runtime', 'runtimes', 'health', 'desktop', 'proxy',
]);

/** The path part of a request target, without the query. */
export function pathnameOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

/** `/files…`, `/exec…`, `/ws`, `/runtimes/<t>/…`, `/proxy…`, … */
export function isRuntimePath(pathname: string): boolean {
  const first = /^\/([^/?#]*)/.exec(pathname)?.[1];
  return first !== undefined && RUNTIME_ROOTS.has(first);
}

/** `GET /health` or `/runtimes/<target>/health`: answerable without a workspace. */
export function isHealthPath(pathname: string): boolean {
  return /^\/(runtimes\/[^/]+\/)?health\/?$/.test(pathname);
}

/** The caller's token: `Authorization: Bearer …`, else the `token` query parameter. */
export function callerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
    if (m?.[1]) return m[1];
  }
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q === -1) return null;
  const value = new URLSearchParams(url.slice(q + 1)).get('token');
  return value && value.length > 0 ? value : null;
}

/**
 * The request target without any `token` query parameter; every other parameter is
 * kept byte for byte (order and encoding). The caller's token never reaches a workspace.
 */
export function stripTokenParam(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const kept = url
    .slice(q + 1)
    .split('&')
    .filter((pair) => pair.length > 0 && decodeKey(pair.split('=', 1)[0] as string) !== 'token');
  return kept.length > 0 ? `${url.slice(0, q)}?${kept.join('&')}` : url.slice(0, q);
}

function decodeKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}
