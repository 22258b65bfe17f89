/**
 * Cutting live flows a policy change no longer allows. nftables rules only see a
 * flow's first packet; later packets ride the `ct state established` accept, so a
 * revoked rule would leave its open connections working. After each change the
 * firewall lists the tracked flows of the workspaces whose elements were removed,
 * judges each original tuple against the new rules (`flowAllowed` mirrors the
 * chains in firewall-ruleset.ts) and deletes exactly the flows now refused: their
 * next packet is then a new flow and meets the new rules.
 */
import { parseAnyCidr, parseIpv4 } from './addresses.js';
import type { Compiled } from './policy.js';
import { WORKSPACE_SSH_PORT } from '../contract/ssh-agent.js';

/** RFC 1918, CGNAT and link-local: destinations `allow_internet` alone does not open. */
export const PRIVATE_RANGES = ['10.0.0.0/8', '100.64.0.0/10', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16'];

export interface Flow {
  proto: string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface FlowContext {
  /** Registered workspace addresses. */
  sandboxes: ReadonlySet<string>;
  /** The bridge address: the host as seen by workspaces (gateway, edge, resolver). */
  gateway: string;
  agentPort: number;
  dnsPort: number;
}

function inBlock(ip: string, block: string): boolean {
  const c = parseAnyCidr(block);
  const v = parseIpv4(ip);
  if (!c || v === null) return false;
  const mask = c.prefixLen === 0 ? 0 : (0xffffffff << (32 - c.prefixLen)) >>> 0;
  return ((v & mask) >>> 0) === c.network;
}

const hasPorts = (f: Flow) => (f.proto === 'tcp' || f.proto === 'udp') && f.dport !== undefined;

/** Elements of `set` whose fields match `want` (a field is a literal or a predicate). */
function someElement(set: ReadonlySet<string>, want: Array<string | ((field: string) => boolean)>): boolean {
  for (const el of set) {
    const fields = el.split(' . ');
    if (fields.length !== want.length) continue;
    if (want.every((w, i) => (typeof w === 'string' ? fields[i] === w : w(fields[i]!)))) return true;
  }
  return false;
}

function egressOk(c: Compiled, f: Flow): boolean {
  const dstIn = (b: string) => inBlock(f.dst, b);
  if (hasPorts(f) && someElement(c.egress_allow, [f.src, dstIn, String(f.dport)])) return true;
  if (someElement(c.egress_any, [f.src, dstIn])) return true;
  if (c.link_egress.has(`${f.src} . ${f.dst}`)) return true;
  if (PRIVATE_RANGES.some((b) => inBlock(f.dst, b))) return false;
  if (c.internet_ok.has(f.src)) return true;
  return hasPorts(f) && c.internet_ports.has(`${f.src} . ${f.dport}`);
}

function ingressOk(c: Compiled, f: Flow): boolean {
  const srcIn = (b: string) => inBlock(f.src, b);
  if (hasPorts(f) && someElement(c.ingress_allow, [srcIn, f.dst, String(f.dport)])) return true;
  return someElement(c.ingress_any, [srcIn, f.dst]);
}

/** Whether the compiled rules admit a new flow with this original tuple. */
export function flowAllowed(c: Compiled, ctx: FlowContext, f: Flow): boolean {
  const fromWs = ctx.sandboxes.has(f.src);
  const toWs = ctx.sandboxes.has(f.dst);
  if (fromWs && f.dst === ctx.gateway) {
    return hasPorts(f) && f.dport === ctx.dnsPort && c.dns_ok.has(f.src);
  }
  if (f.src === ctx.gateway && toWs) {
    if (f.proto === 'tcp' && (f.dport === ctx.agentPort || f.dport === WORKSPACE_SSH_PORT)) return true;
    return c.host_any.has(f.dst) || (hasPorts(f) && c.host_allow.has(`${f.dst} . ${f.dport}`));
  }
  if (fromWs && !egressOk(c, f)) return false;
  if (toWs && !ingressOk(c, f)) return false;
  return true;
}

/** Original tuples of `conntrack -L` lines (first src/dst/sport/dport of each line). */
export function parseConntrack(text: string): Flow[] {
  const flows: Flow[] = [];
  for (const line of text.split('\n')) {
    const proto = /^(\w+)\s/.exec(line)?.[1];
    const src = /\bsrc=(\S+)/.exec(line)?.[1];
    const dst = /\bdst=(\S+)/.exec(line)?.[1];
    if (!proto || !src || !dst) continue;
    const sport = /\bsport=(\d+)/.exec(line)?.[1];
    const dport = /\bdport=(\d+)/.exec(line)?.[1];
    flows.push({
      proto, src, dst,
      ...(sport ? { sport: Number(sport) } : {}),
      ...(dport ? { dport: Number(dport) } : {}),
    });
  }
  return flows;
}

/** Up to this many addresses are listed with filters (two per address); more, with one full dump. */
const FILTERED_MAX_IPS = 4;

/** Runs a host command off the server's event loop (util/command-runner.ts). */
export interface HostCommands {
  run(command: string, args: readonly string[]): Promise<{ stdout: string; code: number }>;
}

async function dump(cmd: HostCommands, filter: string[]): Promise<Flow[]> {
  try {
    const r = await cmd.run('conntrack', ['-L', '-f', 'ipv4', ...filter]);
    return r.code === 0 ? parseConntrack(r.stdout) : [];
  } catch {
    return [];
  }
}

const flowKey = (f: Flow) => `${f.proto} ${f.src} ${f.dst} ${f.sport} ${f.dport}`;

/**
 * The tracked flows whose original source or destination is one of `ips`. A full dump
 * prints every entry of the table (≈ 40 ms of conntrack and parsing at 5,000 entries
 * here, on the CPU the next request needs), so a change touching few workspaces lists
 * each address's flows with `-s` / `-d` filters instead and prints only those.
 */
async function listFlows(cmd: HostCommands, ips: ReadonlySet<string>): Promise<Flow[]> {
  const touching = (f: Flow) => ips.has(f.src) || ips.has(f.dst);
  if (ips.size > FILTERED_MAX_IPS) return (await dump(cmd, [])).filter(touching);
  const parts = await Promise.all([...ips].flatMap((ip) => [dump(cmd, ['-s', ip]), dump(cmd, ['-d', ip])]));
  const unique = new Map<string, Flow>();
  for (const f of parts.flat()) if (touching(f)) unique.set(flowKey(f), f);
  return [...unique.values()];
}

async function deleteFlow(cmd: HostCommands, f: Flow): Promise<void> {
  const args = ['-D', '-f', 'ipv4', '-p', f.proto, '-s', f.src, '-d', f.dst];
  if (hasPorts(f) && f.sport !== undefined) args.push('--sport', String(f.sport), '--dport', String(f.dport));
  // A non-zero exit or a failure: already gone (it ended or another cut removed it), nothing to do.
  await cmd.run('conntrack', args).catch(() => undefined);
}

/**
 * Deletes the tracked flows touching `ips` that `rules` no longer admit. Returns how
 * many were cut. Flows between other endpoints are never listed or touched.
 */
export async function cutRefusedFlows(
  ips: Iterable<string>, rules: () => Compiled, ctx: FlowContext, cmd: HostCommands,
): Promise<number> {
  const wanted = new Set(ips);
  if (wanted.size === 0) return 0;
  const flows = await listFlows(cmd, wanted);
  // Judged against the rules in force now (a later change may have re-allowed a flow).
  const current = rules();
  const refused = flows.filter((f) => !flowAllowed(current, ctx, f));
  await Promise.all(refused.map((f) => deleteFlow(cmd, f)));
  return refused.length;
}
