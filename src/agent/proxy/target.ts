/**
 * Which loopback service a `/proxy…` request is for, and what the service is asked
 * for (runtime.md §11.1). Three equivalent selections, checked in this order:
 *   1. header `X-Oblien-Proxy-Target: <port>|<host>:<port>` — upstream path is all after `/proxy`;
 *   2. query `x_oblien_target=<port>|<host>:<port>`         — same;
 *   3. path `/proxy/<port>/<rest>`                           — upstream path is `/<rest>`.
 * Only loopback hosts are accepted: the proxy must never become a way out of the
 * workspace. The reserved query parameters `token` and `x_oblien_target` are removed;
 * every other parameter is kept byte for byte (order and encoding).
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { AppError } from '../../contract/errors.js';

export interface ProxyTarget {
  /** Address to connect to (`127.0.0.1`, `::1`, …); `localhost` maps to 127.0.0.1. */
  host: string;
  port: number;
  /** Value for the upstream Host header (`127.0.0.1:3000`, `[::1]:3000`). */
  hostHeader: string;
  /** Upstream request target: path plus the kept query. */
  path: string;
}

const TARGET_PREFIX = /^\/runtimes\/[^/?]+(?=\/|$)/;
const RESERVED_PARAMS = new Set(['token', 'x_oblien_target']);

/** The raw URL without any `/runtimes/:target` prefix (validated earlier by the server). */
function unprefixed(rawUrl: string): string {
  return rawUrl.replace(TARGET_PREFIX, '');
}

/** True for `/proxy`, `/proxy/…` and `/proxy?…`, with or without a target prefix. */
export function isProxyUrl(rawUrl: string): boolean {
  return /^\/proxy(?:[/?]|$)/.test(unprefixed(rawUrl));
}

/** Resolves the target of a proxy request or throws a 400/403 AppError. */
export function resolveProxyTarget(req: IncomingMessage): ProxyTarget {
  const url = unprefixed(req.url ?? '/');
  const q = url.indexOf('?');
  const pathPart = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  const after = pathPart.slice('/proxy'.length); // '' | '/…'
  const query = keptQuery(rawQuery);

  const header = req.headers['x-oblien-proxy-target'];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  const fromQuery = new URLSearchParams(rawQuery).get('x_oblien_target');
  const selected = nonEmpty(fromHeader) ?? nonEmpty(fromQuery);
  if (selected !== null) return build(selected, (after || '/') + query);

  const m = /^\/([^/]+)(\/.*)?$/.exec(after);
  if (!m) {
    throw new AppError('bad_request', 'No proxy target: send X-Oblien-Proxy-Target, ?x_oblien_target= or /proxy/<port>/…', {
      field: 'x_oblien_target',
    });
  }
  return build(m[1] as string, (m[2] ?? '/') + query);
}

function nonEmpty(v: string | null | undefined): string | null {
  const t = v?.trim();
  return t ? t : null;
}

/** `3000`, `localhost:3000`, `127.0.0.1:3000`, `::1:3000` or `[::1]:3000`. */
export function parseTargetSpec(spec: string): { host: string; port: number } {
  let host = '127.0.0.1';
  let portText = spec;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(spec);
  if (bracketed) {
    host = bracketed[1] as string;
    portText = bracketed[2] as string;
  } else if (spec.includes(':')) {
    const i = spec.lastIndexOf(':');
    host = spec.slice(0, i);
    portText = spec.slice(i + 1);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new AppError('bad_request', `Invalid proxy port: ${portText.slice(0, 16)} (must be 1-65535)`, {
      field: 'x_oblien_target',
    });
  }
  return { host: loopbackAddress(host), port: Number(portText) };
}

/** The address to dial for a loopback host name, or 403 for anything else. */
export function loopbackAddress(host: string): string {
  const h = host.toLowerCase();
  if (h === 'localhost') return '127.0.0.1';
  if (isIP(h) === 4 && h.startsWith('127.')) return h;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return '::1';
  throw new AppError('forbidden', `Proxy target host must be loopback (127.0.0.1, localhost, ::1), got ${host.slice(0, 64)}`, {
    field: 'x_oblien_target',
  });
}

function build(spec: string, path: string): ProxyTarget {
  const { host, port } = parseTargetSpec(spec);
  const hostHeader = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, hostHeader, path };
}

/** `?a=1&b=2` without the reserved parameters, or '' when nothing is left. */
function keptQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const kept = rawQuery.split('&').filter((pair) => pair.length > 0 && !RESERVED_PARAMS.has(decodeKey(pair)));
  return kept.length > 0 ? `?${kept.join('&')}` : '';
}

function decodeKey(pair: string): string {
  const key = pair.split('=', 1)[0] as string;
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}
