/**
 * Networking options (issue 5): where workspace traffic leaves the host, which
 * resolver Warren's DNS proxy forwards to, and the operator's pool of outbound IPs.
 *
 * - `--upstream` / WARREN_UPSTREAM: `auto` (default: the device and gateway of the
 *   host's default route), `none` (workspaces never leave the bridge), or
 *   `<device>` / `<device>@<gateway>` (e.g. a test's fake internet).
 * - `--dns-upstream` / WARREN_DNS_UPSTREAM: `auto` (default: the first nameserver
 *   of /etc/resolv.conf), `none` (no resolver for workspaces), or `<ip>[:<port>]`.
 * - `--outbound-ips` / WARREN_OUTBOUND_IPS: `ip[=CC],…` — host addresses a
 *   workspace's outbound traffic may be SNATed to (GET /zone/mine), with an
 *   optional ISO country code each.
 * - WARREN_DNS_MIN_TTL (seconds, default 30): how long at least an address learnt
 *   from an allowed name stays open after the answer.
 */
import type { Flags } from './load.js';

export interface OutboundIp {
  ip: string;
  country_code: string | null;
}

export interface NetworkOptions {
  upstream: string;
  dnsUpstream: string;
  outboundIps: OutboundIp[];
  dnsMinTtlS: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function parseOutboundIps(text: string): OutboundIp[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((item) => {
    const [ip, cc, extra] = item.split('=');
    if (!ip || !IPV4.test(ip) || extra !== undefined || (cc !== undefined && !/^[A-Za-z]{2}$/.test(cc))) {
      throw new Error(`--outbound-ips: "${item}" is not ip[=CC] (an IPv4 address, optionally = a two-letter country code)`);
    }
    return { ip, country_code: cc ? cc.toUpperCase() : null };
  });
}

function checkUpstream(v: string): string {
  if (v === 'auto' || v === 'none') return v;
  const [dev, via, extra] = v.split('@');
  if (!dev || !/^[a-zA-Z0-9_.-]{1,15}$/.test(dev) || extra !== undefined || (via !== undefined && !IPV4.test(via))) {
    throw new Error(`--upstream must be auto, none, <device> or <device>@<gateway IPv4>, got "${v}"`);
  }
  return v;
}

function checkDns(v: string): string {
  if (v === 'auto' || v === 'none') return v;
  const [ip, port, extra] = v.split(':');
  const n = Number(port ?? 53);
  if (!ip || !IPV4.test(ip) || extra !== undefined || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new Error(`--dns-upstream must be auto, none or <IPv4>[:<port>], got "${v}"`);
  }
  return v;
}

export function loadNetworkOptions(flags: Flags, pick: (flags: Flags, flag: string, env: string) => string | undefined): NetworkOptions {
  const ttl = Number(process.env.WARREN_DNS_MIN_TTL ?? 30);
  if (!Number.isFinite(ttl) || ttl < 0 || ttl > 86_400) throw new Error('WARREN_DNS_MIN_TTL must be 0–86400 seconds');
  return {
    upstream: checkUpstream(pick(flags, 'upstream', 'WARREN_UPSTREAM') ?? 'auto'),
    dnsUpstream: checkDns(pick(flags, 'dns-upstream', 'WARREN_DNS_UPSTREAM') ?? 'auto'),
    outboundIps: parseOutboundIps(pick(flags, 'outbound-ips', 'WARREN_OUTBOUND_IPS') ?? ''),
    dnsMinTtlS: ttl,
  };
}
