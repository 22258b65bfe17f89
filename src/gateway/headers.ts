/**
 * Header rules shared by the runtime gateway and the public-access edge: hop-by-hop
 * headers (RFC 9110 §7.6.1, plus those named in `Connection:`) never cross a hop;
 * X-Forwarded-For (appended), -Proto and -Host are always Warren's own; the
 * WebSocket handshake is re-serialised from the raw header lines (case and order
 * kept) because after it the connection is a plain byte pipe.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer',
  'transfer-encoding', 'upgrade',
]);

/** Names listed in `Connection:` are hop-by-hop too. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const v = headers.connection;
  return new Set((typeof v === 'string' ? v : '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

/** X-Forwarded-For (appended), -Proto and -Host as Warren saw the request. */
export function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const prior = req.headers['x-forwarded-for'];
  const client = req.socket.remoteAddress ?? '';
  const chain = [typeof prior === 'string' ? prior : '', client].filter(Boolean).join(', ');
  const proto = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  const out: Record<string, string> = { 'x-forwarded-for': chain, 'x-forwarded-proto': proto };
  if (req.headers.host) out['x-forwarded-host'] = req.headers.host;
  return out;
}

export interface HeaderRules {
  /** Replace any X-Forwarded-* by these (requests going up). */
  forwarded?: Record<string, string>;
  /** More names to drop (lowercase), e.g. `authorization`, `expect`. */
  drop?: readonly string[];
}

/** End-to-end headers of one hop, filtered by `rules`. */
export function endToEndHeaders(headers: IncomingHttpHeaders, rules: HeaderRules = {}): OutgoingHttpHeaders {
  const extra = connectionTokens(headers);
  const drop = new Set(rules.drop ?? []);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || extra.has(name) || drop.has(name)) continue;
    if (rules.forwarded && name.startsWith('x-forwarded-')) continue;
    out[name] = value;
  }
  if (rules.forwarded) Object.assign(out, rules.forwarded);
  return out;
}

/**
 * The upgrade request as the upstream must see it: request line with `path`, the raw
 * header lines except X-Forwarded-* and `drop`, Warren's X-Forwarded-*, then
 * `extra` lines. Node's parser has already rejected CR/LF inside names and values.
 */
export function serializeHandshake(req: IncomingMessage, path: string, drop: readonly string[] = [], extra: string[] = []): string {
  const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (lower.startsWith('x-forwarded-') || drop.includes(lower)) continue;
    lines.push(`${name}: ${raw[i + 1] as string}`);
  }
  for (const [name, value] of Object.entries(forwardedHeaders(req))) lines.push(`${name}: ${value}`);
  lines.push(...extra);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
