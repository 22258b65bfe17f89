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
import type { NetworkPolicy } from '../contract/workspace.js';
import { formatCidr, formatIpv4, parseAnyCidr, parseIpv4, type Cidr } from './addresses.js';

/** The stored policy (seed 000) without the link ids, which arrive resolved (`linkSources`). */
export type PolicyView = Omit<NetworkPolicy, 'private_link_ids'>;

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
  'internet_ok', 'internet_ports', 'egress_allow', 'egress_any', 'link_egress',
  'ingress_allow', 'ingress_any', 'host_allow', 'host_any', 'dns_ok',
] as const;
export type SetName = (typeof SET_NAMES)[number];

/** Set name → canonical nft element texts (`a . b . c`). `outbound` is a map (`ip : ip`). */
export type Compiled = Record<SetName | 'outbound', Set<string>>;

const ALL_SETS = [...SET_NAMES, 'outbound'] as const;

export function emptyCompiled(): Compiled {
  const out = {} as Compiled;
  for (const name of ALL_SETS) out[name] = new Set();
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
  // Few wide blocks (≤ 50 list entries) against possibly many host addresses (links,
  // DNS answers): blocks are compared pairwise, hosts only against the blocks.
  const wide = blocks.filter((b) => b.prefixLen < 32).sort((a, b) => a.prefixLen - b.prefixLen);
  const kept: Cidr[] = [];
  for (const b of wide) if (!kept.some((k) => within(b, k))) kept.push(b);
  const hosts = new Set(blocks.filter((b) => b.prefixLen === 32).map((b) => b.network));
  const keptHosts = [...hosts].filter((h) => !kept.some((k) => within({ network: h, prefixLen: 32 }, k)));
  return [...kept.map(formatCidr), ...keptHosts.map(formatIpv4)];
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
  // A link opens the caller's egress towards this workspace (only this direction). Its
  // own exact-match set: it never overlaps the caller's interval elements.
  for (const src of new Set(r.linkSources)) out.link_egress.add(`${src} . ${r.ip}`);
  if (p.public_access) {
    if (p.ingress_ports.length === 0) out.host_any.add(r.ip);
    for (const port of p.ingress_ports) out.host_allow.add(`${r.ip} . ${port}`);
  }
}

/** The elements one workspace's policy contributes (its egress, its ingress, its links in). */
export function compileSubject(s: PolicySubject, outbound: boolean): Compiled {
  const out = emptyCompiled();
  compileEgress(s, out);
  compileIngress(s, out);
  if (outbound && s.policy.outbound_ip) out.outbound.add(`${s.ip} : ${s.policy.outbound_ip}`);
  return out;
}

function union(parts: Iterable<Compiled>, exposures: CompileInput['exposures']): Compiled {
  const out = emptyCompiled();
  for (const part of parts) for (const name of ALL_SETS) for (const el of part[name]) out[name].add(el);
  for (const e of exposures) out.host_allow.add(`${e.ip} . ${e.port}`);
  return out;
}

export function compile(input: CompileInput): Compiled {
  return union(input.subjects.map((s) => compileSubject(s, input.outbound)), input.exposures);
}

/**
 * `compile` with a per-workspace memo: a workspace whose inputs did not change is
 * not compiled again, so a change of one policy among 500 costs one compile plus
 * the union (measured: bench/network.ts → policy_apply_500).
 */
export class PolicyCompiler {
  private readonly memo = new Map<string, { key: string; out: Compiled }>();

  compile(input: CompileInput): Compiled {
    const seen = new Set<string>();
    const parts = input.subjects.map((s) => {
      seen.add(s.id);
      const key = JSON.stringify([s.ip, s.policy, s.linkSources, s.resolved, input.outbound]);
      const hit = this.memo.get(s.id);
      if (hit?.key === key) return hit.out;
      const out = compileSubject(s, input.outbound);
      this.memo.set(s.id, { key, out });
      return out;
    });
    for (const id of this.memo.keys()) if (!seen.has(id)) this.memo.delete(id);
    return union(parts, input.exposures);
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
  for (const name of ALL_SETS) {
    const add = [...to[name]].filter((e) => !from[name].has(e));
    const remove = [...from[name]].filter((e) => !to[name].has(e));
    if (add.length) out.add[name] = add;
    if (remove.length) out.remove[name] = remove;
    out.size += add.length + remove.length;
  }
  return out;
}
