/**
 * The baseline workspace firewall: two nftables tables owned by one Warren instance.
 *
 * `table inet warren_<id>` (L3, stateful — bridged traffic reaches it via br_netfilter,
 * which `ensureBridge` switches on for the Warren bridge):
 * - forward: traffic not touching the bridge is left alone; established/related
 *   accepted; a registered sender goes through `c_egress`, a registered receiver
 *   through `c_ingress`; everything else touching the bridge is dropped. A flow passes
 *   only if the sender's egress AND the receiver's ingress allow it. The policy sets
 *   are declared but empty until the network-policy issue fills them, so today:
 *   workspace→workspace and workspace→anywhere are dropped (no route off the bridge).
 * - input: from the bridge only established/related is accepted; new connections from
 *   workspaces to the host (Warren's API included) are dropped.
 * - output: no chain; host→workspace (gateway → agent :9990) is allowed.
 *
 * `table bridge warren_l2_<id>` (L2 anti-spoofing; stateless, bridge conntrack is off):
 * a registered port may only send ARP and IPv4 with its registered address; any port
 * not registered that claims an address of the subnet is dropped (so an unregistered
 * workspace cannot even ARP — registration must precede traffic).
 *
 * Changes are atomic `nft -f -` batches; `ensure()` replaces only these two tables.
 * Interface names and addresses are validated before they reach an nft script.
 */
import { AppError } from '../contract/errors.js';
import { run } from '../util/exec.js';
import { formatCidr, isAssignable, parseSubnet } from './addresses.js';
import { assertIfname } from './bridge.js';

export interface FirewallOptions {
  /** 4 lowercase hex chars naming this instance's tables. */
  instanceId: string;
  /** The Warren bridge the workspaces hang off. */
  bridge: string;
  /** The workspace subnet (the bridge holds its gateway). */
  subnet: string;
}

/** One registered workspace: its address and the host side of its veth (a bridge port). */
export interface SandboxPort {
  ip: string;
  hostIf: string;
}

export interface FirewallTables {
  inet: string;
  bridge: string;
}

export function tableNames(instanceId: string): FirewallTables {
  if (!/^[0-9a-f]{4}$/.test(instanceId)) {
    throw new AppError('validation_error', `instanceId must be 4 lowercase hex characters, got "${instanceId}"`,
      { field: 'instanceId' });
  }
  return { inet: `warren_${instanceId}`, bridge: `warren_l2_${instanceId}` };
}

/** RFC 1918, CGNAT and link-local: destinations `allow_internet` alone does not open. */
const PRIVATE_RANGES = ['10.0.0.0/8', '100.64.0.0/10', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16'];

function elements(items: readonly string[]): string {
  return items.length === 0 ? '' : ` elements = { ${items.join(', ')} };`;
}

/**
 * The full ruleset for `nft -f -`, with `registered` pre-loaded. Each table is first
 * declared (no-op if present), then deleted and re-created, all in one transaction:
 * either both tables are replaced or nothing changes. Other tables are never named.
 */
export function renderRuleset(opts: FirewallOptions, registered: readonly SandboxPort[]): string {
  const t = tableNames(opts.instanceId);
  const br = `"${opts.bridge}"`;
  const subnet = formatCidr(parseSubnet(opts.subnet));
  const ips = registered.map((s) => s.ip);
  const ports = registered.map((s) => `"${s.hostIf}"`);
  const pairs = registered.map((s) => `"${s.hostIf}" . ${s.ip}`);
  return `table inet ${t.inet}
delete table inet ${t.inet}
table inet ${t.inet} {
  counter blocked_forward { }
  counter blocked_input { }
  set sandboxes { type ipv4_addr;${elements(ips)} }
  set internet_ok { type ipv4_addr; }
  set private { type ipv4_addr; flags interval;${elements(PRIVATE_RANGES)} }
  set egress_allow { type ipv4_addr . ipv4_addr . inet_service; flags interval; }
  set egress_any { type ipv4_addr . ipv4_addr; flags interval; }
  set ingress_allow { type ipv4_addr . ipv4_addr . inet_service; flags interval; }
  set ingress_any { type ipv4_addr . ipv4_addr; flags interval; }
  chain c_egress {
    meta l4proto { tcp, udp } ip saddr . ip daddr . th dport @egress_allow return
    ip saddr . ip daddr @egress_any return
    counter name "blocked_forward" drop
  }
  chain c_ingress {
    meta l4proto { tcp, udp } ip saddr . ip daddr . th dport @ingress_allow accept
    ip saddr . ip daddr @ingress_any accept
    counter name "blocked_forward" drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname != ${br} oifname != ${br} accept
    ct state established,related accept
    ip saddr @sandboxes jump c_egress
    ip daddr @sandboxes jump c_ingress
    counter name "blocked_forward" drop
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname != ${br} accept
    ct state established,related accept
    counter name "blocked_input" drop
  }
}
table bridge ${t.bridge}
delete table bridge ${t.bridge}
table bridge ${t.bridge} {
  counter spoofed { }
  set sb_ports { type ifname;${elements(ports)} }
  set port_ip { type ifname . ipv4_addr;${elements(pairs)} }
  chain sandbox_port {
    ether type arp iifname . arp saddr ip @port_ip accept
    ether type ip iifname . ip saddr @port_ip accept
    counter name "spoofed" drop
  }
  chain prerouting {
    type filter hook prerouting priority filter; policy accept;
    iifname @sb_ports jump sandbox_port
    ether type arp arp saddr ip ${subnet} counter name "spoofed" drop
    ether type ip ip saddr ${subnet} counter name "spoofed" drop
  }
}
`;
}

/** The element batch that adds (`add`) or removes (`delete`) one registration. */
export function renderElements(verb: 'add' | 'delete', t: FirewallTables, sb: SandboxPort): string {
  return `${verb} element inet ${t.inet} sandboxes { ${sb.ip} }
${verb} element bridge ${t.bridge} sb_ports { "${sb.hostIf}" }
${verb} element bridge ${t.bridge} port_ip { "${sb.hostIf}" . ${sb.ip} }
`;
}

interface KernelState {
  ips: Set<string>;
  ports: Set<string>;
  pairs: SandboxPort[];
}

/** Reads one set's elements; [] when the set (or its table) does not exist. */
async function readSet(family: string, table: string, set: string): Promise<unknown[]> {
  try {
    const { stdout } = await run('nft', ['-j', 'list', 'set', family, table, set]);
    const doc = JSON.parse(stdout) as { nftables?: Array<{ set?: { elem?: unknown[] } }> };
    return doc.nftables?.find((o) => o.set)?.set?.elem ?? [];
  } catch {
    return [];
  }
}

function nftQuote(name: string): string {
  return `"${name}"`;
}

export class Firewall {
  readonly tables: FirewallTables;
  private readonly opts: FirewallOptions;
  /** Registrations known to be in the kernel, by host interface. */
  private readonly byIf = new Map<string, string>();

  constructor(opts: FirewallOptions) {
    this.tables = tableNames(opts.instanceId);
    assertIfname(opts.bridge);
    parseSubnet(opts.subnet);
    this.opts = { ...opts };
  }

  /**
   * Installs (or re-installs) both tables in one atomic batch. Registrations already in
   * the kernel that still fit the subnet are carried over, so calling `ensure()` on a
   * live system never blackholes running workspaces; the caller reconciles the rest
   * with `list()` / `register()` / `unregister()`. Idempotent.
   */
  async ensure(): Promise<void> {
    const current = await this.readKernel();
    const keep = current.pairs.filter((p) => this.fits(p));
    await this.apply(renderRuleset(this.opts, keep));
    this.byIf.clear();
    for (const p of keep) this.byIf.set(p.hostIf, p.ip);
  }

  /**
   * Lets workspace `ip` behind bridge port `hostIf` use its address (one atomic batch).
   * Idempotent for the same pair; throws AppError('conflict') if the port or the address
   * is registered with a different partner (unregister that one first).
   */
  async register(sb: SandboxPort): Promise<void> {
    this.validate(sb);
    if (this.byIf.get(sb.hostIf) === sb.ip) return;
    const holder = [...this.byIf].find(([, ip]) => ip === sb.ip)?.[0];
    if (this.byIf.has(sb.hostIf) || holder !== undefined) {
      throw new AppError('conflict',
        `cannot register ${sb.ip} on ${sb.hostIf}: ` + (holder !== undefined
          ? `${sb.ip} is registered on ${holder}` : `${sb.hostIf} is registered with ${this.byIf.get(sb.hostIf)}`),
        { field: 'ip' });
    }
    await this.apply(renderElements('add', this.tables, sb));
    this.byIf.set(sb.hostIf, sb.ip);
  }

  /** Removes a registration; a no-op for parts that are already gone. */
  async unregister(sb: SandboxPort): Promise<void> {
    this.validate(sb);
    try {
      await this.apply(renderElements('delete', this.tables, sb));
    } catch {
      // Part of it was already gone (nft 1.0.6 has no `destroy element`): delete what exists.
      const k = await this.readKernel();
      const lines: string[] = [];
      if (k.ips.has(sb.ip)) lines.push(`delete element inet ${this.tables.inet} sandboxes { ${sb.ip} }`);
      if (k.ports.has(sb.hostIf)) lines.push(`delete element bridge ${this.tables.bridge} sb_ports { ${nftQuote(sb.hostIf)} }`);
      if (k.pairs.some((p) => p.ip === sb.ip && p.hostIf === sb.hostIf)) {
        lines.push(`delete element bridge ${this.tables.bridge} port_ip { ${nftQuote(sb.hostIf)} . ${sb.ip} }`);
      }
      if (lines.length > 0) await this.apply(lines.join('\n') + '\n');
    }
    if (this.byIf.get(sb.hostIf) === sb.ip) this.byIf.delete(sb.hostIf);
  }

  /** Registrations as the kernel has them (port/address pairs), for reconciliation. */
  async list(): Promise<SandboxPort[]> {
    return (await this.readKernel()).pairs;
  }

  /** Deletes both tables (if present). Workspaces on the bridge lose all connectivity to each other. */
  async destroy(): Promise<void> {
    const t = this.tables;
    await this.apply(`table inet ${t.inet}\ndelete table inet ${t.inet}\ntable bridge ${t.bridge}\ndelete table bridge ${t.bridge}\n`);
    this.byIf.clear();
  }

  private fits(p: SandboxPort): boolean {
    try {
      assertIfname(p.hostIf, 'hostIf');
      return isAssignable(this.opts.subnet, p.ip);
    } catch {
      return false;
    }
  }

  private validate(sb: SandboxPort): void {
    assertIfname(sb.hostIf, 'hostIf');
    if (!isAssignable(this.opts.subnet, sb.ip)) {
      throw new AppError('validation_error', `${sb.ip} is not a workspace address of ${this.opts.subnet}`, { field: 'ip' });
    }
  }

  private async readKernel(): Promise<KernelState> {
    const t = this.tables;
    const [ips, ports, pairs] = await Promise.all([
      readSet('inet', t.inet, 'sandboxes'),
      readSet('bridge', t.bridge, 'sb_ports'),
      readSet('bridge', t.bridge, 'port_ip'),
    ]);
    return {
      ips: new Set(ips.filter((e): e is string => typeof e === 'string')),
      ports: new Set(ports.filter((e): e is string => typeof e === 'string')),
      pairs: pairs.flatMap((e) => {
        const parts = (e as { concat?: unknown[] }).concat;
        const [hostIf, ip] = parts ?? [];
        return typeof hostIf === 'string' && typeof ip === 'string' ? [{ hostIf, ip }] : [];
      }),
    };
  }

  private async apply(script: string): Promise<void> {
    await run('nft', ['-f', '-'], { input: script });
  }
}
