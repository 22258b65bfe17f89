/**
 * Network policy compiler (pure): every running workspace's stored policy (seed 000),
 * the exposed public ports and the addresses its allowed host names resolved to
 * become the elements of the firewall's nftables sets. The whole instance is
 * compiled at once (microseconds per workspace), and the firewall applies only the
 * difference to the kernel, so one function defines what the kernel enforces.
 *
 * Semantics (docs/ARCHITECTURE.md "Network policy"):
 * - A new flow passes only if the sender's egress AND the receiver's ingress allow it.
 * - Egress of workspace S: entries of `egress` (IPv4, CIDR, host name, `*.name`)
 *   × `egress_ports` (empty = any port). With `allow_internet` and an empty `egress`
 *   list, every non-private destination is allowed (× `egress_ports`). Private
 *   destinations (RFC 1918, CGNAT, link-local) are reachable only when named.
 * - Ingress of workspace R: sources of `ingress` (IPv4/CIDR) and of private links
 *   (workspace ids resolved to addresses) × `ingress_ports` (empty = any port). A
 *   link S→R also opens S's egress to R; it never opens R→S (one-directional).
 * - The host (Warren's gateway and edge) always reaches the agent port; it reaches
 *   other ports when `public_access` puts the `host` keyword in ingress
 *   (× `ingress_ports`) or when the port is exposed through public access.
 * - `dns_ok`: workspaces with `allow_internet` may query Warren's resolver.
 * - `outbound`: workspace → outbound IP, when one is assigned.
 */
import { formatCidr, formatIpv4, parseAnyCidr, parseIpv4, type Cidr } from './addresses.js';

export interface PolicyView {
  allow_internet: boolean;
  public_access: boolean;
  ingress: string[];
  ingress_ports: number[];
  egress: string[];
  egress_ports: number[];
  outbound_ip: string | null;
}

export interface PolicySubject {
  id: string;
  ip: string;
  policy: PolicyView;
  /** Addresses of workspaces this one lists in `private_link_ids` (sources it admits). */
  linkSources: string[];
  /** Addresses currently allowed for this workspace's egress host names (from DNS). */
  resolved: string[];
}

export interface CompileInput {
  subjects: PolicySubject[];
  exposures: Array<{ ip: string; port: number }>;
  /** Whether outbound traffic can leave the host (an upstream is configured). */
  outbound: boolean;
}

export const SET_NAMES = [
  'internet_ok', 'internet_ports', 'egress_allow', 'egress_any',
  'ingress_allow', 'ingress_any', 'host_allow', 'host_any', 'dns_ok',
] as const;
export type SetName = (typeof SET_NAMES)[number];

/** Set name → canonical nft element texts (`a . b . c`). `outbound` is a map (`ip : ip`). */
export type Compiled = Record<SetName | 'outbound', Set<string>>;

export function emptyCompiled(): Compiled {
  const out = {} as Compiled;
  for (const name of [...SET_NAMES, 'outbound'] as const) out[name] = new Set();
  return out;
}

/** Host names (and `*.` wildcards) in an egress list; the rest are addresses/CIDRs. */
export function egressNames(egress: readonly string[]): string[] {
  return egress.filter((e) => parseAnyCidr(e) === null).map((e) => e.toLowerCase().replace(/\.$/, ''));
}

function cidrsOf(entries: readonly string[]): Cidr[] {
  return entries.flatMap((e) => {
    const c = parseAnyCidr(e);
    return c ? [c] : [];
  });
}

function within(inner: Cidr, outer: Cidr): boolean {
  if (inner.prefixLen < outer.prefixLen) return false;
  const mask = outer.prefixLen === 0 ? 0 : (0xffffffff << (32 - outer.prefixLen)) >>> 0;
  return ((inner.network & mask) >>> 0) === outer.network;
}

/**
 * Drops duplicates and blocks nested inside another block of the list: nft interval
 * sets refuse overlapping elements, and CIDR blocks either nest or are disjoint.
 */
export function collapse(blocks: readonly Cidr[]): string[] {
  const sorted = [...blocks].sort((a, b) => a.prefixLen - b.prefixLen);
  const kept: Cidr[] = [];
  for (const b of sorted) if (!kept.some((k) => within(b, k))) kept.push(b);
  return kept.map((c) => (c.prefixLen === 32 ? formatIpv4(c.network) : formatCidr(c)));
}

function hostCidr(ip: string): Cidr | null {
  const v = parseIpv4(ip);
  return v === null ? null : { network: v, prefixLen: 32 };
}

function compileEgress(s: PolicySubject, out: Compiled): void {
  const p = s.policy;
  if (p.allow_internet) out.dns_ok.add(s.ip);
  if (p.allow_internet && p.egress.length === 0) {
    if (p.egress_ports.length === 0) out.internet_ok.add(s.ip);
    for (const port of p.egress_ports) out.internet_ports.add(`${s.ip} . ${port}`);
    return;
  }
  const resolved = s.resolved.flatMap((ip) => hostCidr(ip) ?? []);
  for (const dest of collapse([...cidrsOf(p.egress), ...resolved])) {
    if (p.egress_ports.length === 0) out.egress_any.add(`${s.ip} . ${dest}`);
    for (const port of p.egress_ports) out.egress_allow.add(`${s.ip} . ${dest} . ${port}`);
  }
}

function compileIngress(r: PolicySubject, out: Compiled): void {
  const p = r.policy;
  const sources = [...cidrsOf(p.ingress), ...r.linkSources.flatMap((ip) => hostCidr(ip) ?? [])];
  for (const src of collapse(sources)) {
    if (p.ingress_ports.length === 0) out.ingress_any.add(`${src} . ${r.ip}`);
    for (const port of p.ingress_ports) out.ingress_allow.add(`${src} . ${r.ip} . ${port}`);
  }
  // A link opens the caller's egress towards this workspace (only this direction).
  for (const src of new Set(r.linkSources)) out.egress_any.add(`${src} . ${r.ip}`);
  if (p.public_access) {
    if (p.ingress_ports.length === 0) out.host_any.add(r.ip);
    for (const port of p.ingress_ports) out.host_allow.add(`${r.ip} . ${port}`);
  }
}

export function compile(input: CompileInput): Compiled {
  const out = emptyCompiled();
  for (const s of input.subjects) {
    compileEgress(s, out);
    compileIngress(s, out);
    if (input.outbound && s.policy.outbound_ip) out.outbound.add(`${s.ip} : ${s.policy.outbound_ip}`);
  }
  for (const e of input.exposures) out.host_allow.add(`${e.ip} . ${e.port}`);
  dropEgressOverlaps(out);
  return out;
}

/**
 * A link may add `S . R` to egress_any where S's own egress list already holds a
 * block containing R; the interval set would refuse the pair, and the wider block
 * already allows it, so the narrower element is dropped.
 */
function dropEgressOverlaps(out: Compiled): void {
  const bySource = new Map<string, Cidr[]>();
  for (const el of out.egress_any) {
    const [src, dst] = el.split(' . ');
    const c = parseAnyCidr(dst!);
    if (c) bySource.set(src!, [...(bySource.get(src!) ?? []), c]);
  }
  for (const [src, blocks] of bySource) {
    const keep = new Set(collapse(blocks));
    for (const b of blocks) {
      const text = b.prefixLen === 32 ? formatIpv4(b.network) : formatCidr(b);
      if (!keep.has(text)) out.egress_any.delete(`${src} . ${text}`);
    }
  }
}

export interface ElementDiff {
  add: Record<string, string[]>;
  remove: Record<string, string[]>;
  /** Number of elements added plus removed. */
  size: number;
}

/** What to delete from and add to the kernel to go from `from` to `to`. */
export function diff(from: Compiled, to: Compiled): ElementDiff {
  const out: ElementDiff = { add: {}, remove: {}, size: 0 };
  for (const name of [...SET_NAMES, 'outbound'] as const) {
    const add = [...to[name]].filter((e) => !from[name].has(e));
    const remove = [...from[name]].filter((e) => !to[name].has(e));
    if (add.length) out.add[name] = add;
    if (remove.length) out.remove[name] = remove;
    out.size += add.length + remove.length;
  }
  return out;
}
