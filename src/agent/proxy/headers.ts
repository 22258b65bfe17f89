/**
 * Header rules of the reverse proxy (runtime.md §11.2–11.3). Never forwarded to the
 * service: hop-by-hop headers (RFC 9110 §7.6.1, plus any named in `Connection`), the
 * runtime credential (`Authorization`), and the proxy's own selector header. `Host`
 * names the loopback service, as if the client had called it directly; the client's
 * original host is kept in `X-Forwarded-Host`.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'expect',
]);

/** Request headers only the runtime may see. */
const RUNTIME_ONLY = new Set(['authorization', 'x-oblien-proxy-target', 'host']);

/** Names listed in the `Connection` header (they describe this hop too). */
function connectionListed(headers: IncomingHttpHeaders): Set<string> {
  const raw = headers.connection;
  const listed = new Set<string>();
  for (const v of (Array.isArray(raw) ? raw : [raw ?? '']).join(',').split(',')) {
    const name = v.trim().toLowerCase();
    if (name) listed.add(name);
  }
  return listed;
}

function copyExcept(headers: IncomingHttpHeaders, drop: (name: string) => boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || drop(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Headers of a plain HTTP request as sent to the service. */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders, hostHeader: string): OutgoingHttpHeaders {
  const listed = connectionListed(headers);
  const out = copyExcept(headers, (n) => HOP_BY_HOP.has(n) || RUNTIME_ONLY.has(n) || listed.has(n));
  out.host = hostHeader;
  if (headers.host && !out['x-forwarded-host']) out['x-forwarded-host'] = headers.host;
  return out;
}

/**
 * Headers of a WebSocket upgrade as sent to the service: like HTTP, except that
 * `Connection: Upgrade` and `Upgrade` are this hop's purpose and are re-sent.
 */
export function upstreamUpgradeHeaders(headers: IncomingHttpHeaders, hostHeader: string): OutgoingHttpHeaders {
  const out = upstreamRequestHeaders(headers, hostHeader);
  out.connection = 'Upgrade';
  out.upgrade = headers.upgrade ?? 'websocket';
  return out;
}

/** Service response headers as returned to the client (hop-by-hop removed). */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionListed(headers);
  return copyExcept(headers, (n) => HOP_BY_HOP.has(n) || listed.has(n));
}
