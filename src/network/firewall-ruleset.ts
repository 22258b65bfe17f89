/**
 * The nftables text of a Warren instance's firewall: two tables, both in the root
 * network namespace, where no workspace process can reach them (workspaces have
 * their own netns and no capabilities).
 *
 * `table inet warren_<id>` (L3, stateful — bridged traffic reaches it through
 * br_netfilter, which `ensureBridge` switches on for the Warren bridge):
 * - forward: traffic not touching the bridge is left alone; established/related
 *   accepted; a registered sender goes through `c_egress`, a registered receiver
 *   through `c_ingress` (a flow passes only if both allow it); a sender whose egress
 *   allowed a destination outside the workspaces is accepted; the rest is dropped.
 * - input (workspace → host): established/related, and DNS to Warren's resolver on
 *   the bridge address for workspaces in `dns_ok`; everything else dropped.
 * - output (host → workspace): the agent port always (the gateway's channel), port 22
 *   always (the SSH jump host's channel to a workspace's sshd; src/ssh/jump-host.ts), other
 *   ports per `host_allow` / `host_any` (public_access, exposed ports); the rest dropped.
 * - postrouting (only with an upstream device): SNAT to the workspace's outbound IP
 *   when it has one, masquerade otherwise.
 * The policy sets are filled by `Firewall.applyRules` from src/network/policy.ts.
 *
 * `table bridge warren_l2_<id>` (L2 anti-spoofing; stateless, bridge conntrack is off):
 * a registered port may only send ARP and IPv4 with its registered address; any port
 * not registered that claims an address of the subnet is dropped.
 */
import { AppError } from '../contract/errors.js';
import { formatCidr, gatewayOf, parseSubnet } from './addresses.js';
import { PRIVATE_RANGES } from './conntrack.js';
import { WORKSPACE_SSH_PORT } from '../contract/ssh-agent.js';

export interface FirewallOptions {
  /** 4 lowercase hex chars naming this instance's tables. */
  instanceId: string;
  /** The Warren bridge the workspaces hang off. */
  bridge: string;
  /** The workspace subnet (the bridge holds its gateway). */
  subnet: string;
  /** Host device workspace traffic leaves through (NAT); none: no way off the bridge. */
  upstream?: string | null;
  /** Forward from the upstream device only to the bridge (its forwarding is Warren's doing). */
  guardUpstream?: boolean;
  /** TCP port of the agent inside every workspace; the host may always reach it. */
  agentPort?: number;
  /** Port of Warren's resolver on the bridge address. */
  dnsPort?: number;
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

export const DEFAULT_AGENT_PORT = 9990;
export const DEFAULT_DNS_PORT = 53;

export function tableNames(instanceId: string): FirewallTables {
  if (!/^[0-9a-f]{4}$/.test(instanceId)) {
    throw new AppError('validation_error', `instanceId must be 4 lowercase hex characters, got "${instanceId}"`,
      { field: 'instanceId' });
  }
  return { inet: `warren_${instanceId}`, bridge: `warren_l2_${instanceId}` };
}

function elements(items: readonly string[]): string {
  return items.length === 0 ? '' : ` elements = { ${items.join(', ')} };`;
}

/**
 * The interval sets (egress and ingress lists) are split into SHARDS sets by the
 * workspace address's low bits (the sender's for egress, the receiver's for
 * ingress). Deleting an interval element makes nft read the whole target set first
 * (≈ 5 µs per element: 17 ms at 3,500), so a change touches one small shard instead;
 * a packet of a new flow reaches its shard through one verdict-map lookup.
 */
export const SHARDS = 32;
const SHARDED: Record<string, 'src' | 'dst'> = { egress_allow: 'src', egress_any: 'src', ingress_allow: 'dst', ingress_any: 'dst' };
const SHARD_TYPES: Record<string, string> = {
  egress_allow: 'ipv4_addr . ipv4_addr . inet_service', egress_any: 'ipv4_addr . ipv4_addr',
  ingress_allow: 'ipv4_addr . ipv4_addr . inet_service', ingress_any: 'ipv4_addr . ipv4_addr',
};
const shardSuffix = (n: number) => String(n).padStart(2, '0');

/** The kernel set holding `element` of the logical set `set` (itself unless sharded). */
export function physicalSet(set: string, element: string): string {
  const side = SHARDED[set];
  if (!side) return set;
  const fields = element.split(' . ');
  const ip = side === 'src' ? fields[0]! : fields[1]!;
  return `${set}_${shardSuffix(Number(ip.split('.')[3]) % SHARDS)}`;
}

/** Every kernel set of a logical set (the shards, or itself). */
export function physicalSets(set: string): string[] {
  return SHARDED[set] ? Array.from({ length: SHARDS }, (_, n) => `${set}_${shardSuffix(n)}`) : [set];
}

function shardDeclarations(): string {
  return Object.keys(SHARDED).flatMap((set) => physicalSets(set).map((name) =>
    `  set ${name} { type ${SHARD_TYPES[set]}; flags interval; }`)).join('\n');
}

/** Declarations of the policy sets (filled later, element by element). */
const POLICY_SETS = `  set internet_ok { type ipv4_addr; }
  set internet_ports { type ipv4_addr . inet_service; }
${shardDeclarations()}
  set link_egress { type ipv4_addr . ipv4_addr; }
  set host_allow { type ipv4_addr . inet_service; }
  set host_any { type ipv4_addr; }
  set dns_ok { type ipv4_addr; }
  map outbound { type ipv4_addr : ipv4_addr; }`;

const shardMap = (prefix: string) =>
  Array.from({ length: SHARDS }, (_, n) => `0.0.0.${n} : goto ${prefix}_${shardSuffix(n)}`).join(', ');

/**
 * Egress: c_egress → (by sender shard) eg_NN → explicit lists `return` (allowed,
 * back in forward) → c_egress_tail (links, private drop, allow_internet). `goto`
 * replaces the frame, so every `return` lands in the forward chain.
 */
function shardChains(): string {
  const out: string[] = [];
  for (let n = 0; n < SHARDS; n++) {
    const s = shardSuffix(n);
    out.push(`  chain eg_${s} {
    meta l4proto { tcp, udp } ip saddr . ip daddr . th dport @egress_allow_${s} return
    ip saddr . ip daddr @egress_any_${s} return
    goto c_egress_tail
  }
  chain ig_${s} {
    meta l4proto { tcp, udp } ip saddr . ip daddr . th dport @ingress_allow_${s} accept
    ip saddr . ip daddr @ingress_any_${s} accept
    counter name "blocked_forward" drop
  }`);
  }
  return out.join('\n');
}

function policyChains(agentPort: number): string {
  return `  chain c_egress_tail {
    ip saddr . ip daddr @link_egress return
    ip daddr @private counter name "blocked_forward" drop
    ip saddr @internet_ok return
    meta l4proto { tcp, udp } ip saddr . th dport @internet_ports return
    counter name "blocked_forward" drop
  }
${shardChains()}
  chain c_egress {
    ip saddr & 0.0.0.${SHARDS - 1} vmap { ${shardMap('eg')} }
  }
  chain c_ingress {
    ip daddr & 0.0.0.${SHARDS - 1} vmap { ${shardMap('ig')} }
  }
  chain c_host {
    tcp dport ${agentPort} accept
    tcp dport ${WORKSPACE_SSH_PORT} accept
    meta l4proto { tcp, udp } ip daddr . th dport @host_allow accept
    ip daddr @host_any accept
    counter name "blocked_output" drop
  }`;
}

/** Keeps the host from routing upstream traffic anywhere but to the workspaces. */
function guard(opts: FirewallOptions, br: string): string {
  if (!opts.upstream || !opts.guardUpstream) return '';
  return `    iifname "${opts.upstream}" oifname != ${br} counter name "blocked_forward" drop\n`;
}

function natChain(upstream: string | null | undefined): string {
  if (!upstream) return '';
  const up = `"${upstream}"`;
  return `
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname ${up} ip saddr @sandboxes snat ip to ip saddr map @outbound
    oifname ${up} ip saddr @sandboxes masquerade
  }`;
}

/**
 * The full ruleset for `nft -f -`, with `registered` pre-loaded and the policy sets
 * empty. Each table is first declared (no-op if present), then deleted and re-created,
 * all in one transaction: either both tables are replaced or nothing changes. Other
 * tables are never named.
 */
export function renderRuleset(opts: FirewallOptions, registered: readonly SandboxPort[]): string {
  const t = tableNames(opts.instanceId);
  const br = `"${opts.bridge}"`;
  const cidr = parseSubnet(opts.subnet);
  const subnet = formatCidr(cidr);
  const gw = gatewayOf(cidr);
  const dnsPort = opts.dnsPort ?? DEFAULT_DNS_PORT;
  const ips = registered.map((s) => s.ip);
  const ports = registered.map((s) => `"${s.hostIf}"`);
  const pairs = registered.map((s) => `"${s.hostIf}" . ${s.ip}`);
  return `table inet ${t.inet}
delete table inet ${t.inet}
table inet ${t.inet} {
  counter blocked_forward { }
  counter blocked_input { }
  counter blocked_output { }
  set sandboxes { type ipv4_addr;${elements(ips)} }
  set private { type ipv4_addr; flags interval;${elements(PRIVATE_RANGES)} }
${POLICY_SETS}
${policyChains(opts.agentPort ?? DEFAULT_AGENT_PORT)}
  chain forward {
    type filter hook forward priority filter; policy accept;
${guard(opts, br)}    iifname != ${br} oifname != ${br} accept
    ct state established,related accept
    ip saddr @sandboxes jump c_egress
    ip daddr @sandboxes jump c_ingress
    ip saddr @sandboxes accept
    counter name "blocked_forward" drop
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname != ${br} accept
    ct state established,related accept
    ip saddr @dns_ok ip daddr ${gw} meta l4proto { tcp, udp } th dport ${dnsPort} accept
    counter name "blocked_input" drop
  }
  chain output {
    type filter hook output priority filter; policy accept;
    oifname != ${br} accept
    ct state established,related accept
    ip daddr @sandboxes jump c_host
  }${natChain(opts.upstream)}
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

/** `delete` / `add` element lines for a policy diff (deletes first: no transient overlap). */
export function renderPolicyDiff(t: FirewallTables, remove: Record<string, string[]>, add: Record<string, string[]>): string {
  const lines: string[] = [];
  for (const [set, els] of byPhysicalSet(remove)) {
    // A map element is deleted by its key alone.
    const keys = set === 'outbound' ? els.map((e) => e.split(' : ')[0]!) : els;
    lines.push(`delete element inet ${t.inet} ${set} { ${keys.join(', ')} }`);
  }
  for (const [set, els] of byPhysicalSet(add)) lines.push(`add element inet ${t.inet} ${set} { ${els.join(', ')} }`);
  return lines.length ? lines.join('\n') + '\n' : '';
}

function byPhysicalSet(bySet: Record<string, string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [set, els] of Object.entries(bySet)) {
    for (const el of els) {
      const name = physicalSet(set, el);
      const list = out.get(name);
      if (list) list.push(el);
      else out.set(name, [el]);
    }
  }
  return out;
}
