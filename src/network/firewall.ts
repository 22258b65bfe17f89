/**
 * The workspace firewall of one Warren instance (rules: firewall-ruleset.ts).
 * Registrations (which bridge port holds which address) are added and removed one
 * workspace at a time; the policy sets are kept equal to the compiled policy of
 * the whole instance (src/network/policy.ts) by applying only the difference (the
 * compiler's own report of it when the kernel holds the previous rules), in one
 * atomic batch, then cutting the live flows the new rules refuse (conntrack.ts). Changes are serialised; interface names and addresses are
 * validated before they reach an nft script.
 */
import { AppError } from '../contract/errors.js';
import { run } from '../util/exec.js';
import { gatewayOf, isAssignable, parseSubnet } from './addresses.js';
import { assertIfname } from './bridge.js';
import { cutRefusedFlows } from './conntrack.js';
import { NftSession } from './nft-session.js';
import { CommandRunner } from '../util/command-runner.js';
import { faultPoint } from '../util/fault-points.js';
import {
  DEFAULT_AGENT_PORT, DEFAULT_DNS_PORT, physicalSets, renderElements, renderPolicyDiff, renderRuleset, tableNames,
  type FirewallOptions, type FirewallTables, type SandboxPort,
} from './firewall-ruleset.js';
import { diff, emptyCompiled, SET_NAMES, type Compiled, type ElementDiff } from './policy.js';

export * from './firewall-ruleset.js';

/** Scripts longer than this (a full refill) go through `nft -f -` instead of the session. */
const SESSION_MAX_SCRIPT = 64 * 1024;

/** What one policy application did. */
export interface ApplyResult {
  added: number;
  removed: number;
  /**
   * Live flows cut because the new rules refuse them. The cut runs right after the
   * rules are in (conntrack listings of the touched addresses, conntrack.ts), outside
   * the apply path: new flows are refused when `applyRules` resolves, live ones when this does.
   */
  flowsCut: Promise<number>;
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

/** The firewall's own copy of rules (the compiler's view changes under it). */
function copyOf(rules: Compiled): Compiled {
  const out = emptyCompiled();
  for (const set of Object.keys(out) as Array<keyof Compiled>) out[set] = new Set(rules[set]);
  return out;
}

/** `current` with `changes` applied in place (cost follows the change, not the sets). */
function patched(current: Compiled, changes: ElementDiff): Compiled {
  for (const [set, els] of Object.entries(changes.remove)) for (const el of els) current[set as keyof Compiled].delete(el);
  for (const [set, els] of Object.entries(changes.add)) for (const el of els) current[set as keyof Compiled].add(el);
  return current;
}

function nftQuote(name: string): string {
  return `"${name}"`;
}

export class Firewall {
  readonly tables: FirewallTables;
  private readonly opts: FirewallOptions;
  /** Registrations known to be in the kernel, by host interface. */
  private readonly byIf = new Map<string, string>();
  /** The policy elements in the kernel (as last applied). */
  private current: Compiled = emptyCompiled();
  /** Whether `current` is what the previous `applyRules` call was given (its `changes` then apply). */
  private currentIsPrevious = false;
  /** Serialises kernel changes: each batch is computed against the state it follows. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Addresses whose flows the next cut examines; the queued cut; the chain of cuts. */
  private readonly pendingCut = new Set<string>();
  private nextCut: Promise<number> | null = null;
  private cutChain: Promise<number> = Promise.resolve(0);

  private readonly session: NftSession;
  /** Runs the flow cut's conntrack commands: a spawn from Node would block the event loop 10–20 ms. */
  private readonly commands = new CommandRunner();

  constructor(opts: FirewallOptions) {
    this.tables = tableNames(opts.instanceId);
    this.session = new NftSession();
    assertIfname(opts.bridge);
    parseSubnet(opts.subnet);
    if (opts.upstream) assertIfname(opts.upstream, 'upstream');
    this.opts = { ...opts };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Makes the kernel's policy sets equal to `rules`: one atomic batch of the element
   * differences, then the live flows touching changed workspaces that `rules` refuse
   * are cut. If the kernel drifted from what Warren last applied (the batch fails),
   * every policy set is flushed and refilled in one batch instead.
   *
   * `changes`, when given, must be exactly `diff(rules of the previous call, rules)`
   * (PolicyCompiler.update gives it); the firewall then skips comparing whole sets.
   * It is ignored (the full difference is used) when the previous call failed or
   * `ensure()` ran since, i.e. whenever the kernel may not hold the previous rules.
   */
  applyRules(rules: Compiled, changes?: ElementDiff): Promise<ApplyResult> {
    return this.serial(async () => {
      const incremental = changes !== undefined && this.currentIsPrevious;
      this.currentIsPrevious = false;
      const d = incremental ? changes : diff(this.current, rules);
      if (d.size === 0) {
        this.currentIsPrevious = true;
        return { added: 0, removed: 0, flowsCut: Promise.resolve(0) };
      }
      try {
        await this.apply(renderPolicyDiff(this.tables, d.remove, d.add));
      } catch {
        await this.apply(this.refillScript(rules));
      }
      this.current = incremental ? patched(this.current, d) : copyOf(rules);
      this.currentIsPrevious = true;
      const registered = new Set(this.byIf.values());
      const touched = Object.values(d.remove).flat().flatMap((el) => el.split(/ [.:] /))
        .filter((ip) => registered.has(ip));
      const flowsCut = touched.length === 0 ? Promise.resolve(0) : this.requestCut(touched);
      const count = (r: Record<string, string[]>) => Object.values(r).reduce((n, l) => n + l.length, 0);
      return { added: count(d.add), removed: count(d.remove), flowsCut };
    });
  }

  /**
   * Queues a flow cut for `ips`. Requests arriving while a cut runs are merged into
   * the next one; cuts never overlap and always judge against the current rules.
   */
  private requestCut(ips: string[]): Promise<number> {
    for (const ip of ips) this.pendingCut.add(ip);
    if (!this.nextCut) {
      const next = this.cutChain.then(() => {
        this.nextCut = null;
        const batch = [...this.pendingCut];
        this.pendingCut.clear();
        return cutRefusedFlows(batch, () => this.current, {
          sandboxes: new Set(this.byIf.values()),
          gateway: gatewayOf(this.opts.subnet),
          agentPort: this.opts.agentPort ?? DEFAULT_AGENT_PORT,
          dnsPort: this.opts.dnsPort ?? DEFAULT_DNS_PORT,
        }, this.commands);
      });
      this.nextCut = next;
      this.cutChain = next.catch(() => 0);
    }
    return this.nextCut;
  }

  private refillScript(rules: Compiled): string {
    const lines = [...SET_NAMES, 'outbound'].flatMap((set) => physicalSets(set))
      .map((set) => `flush ${set === 'outbound' ? 'map' : 'set'} inet ${this.tables.inet} ${set}`);
    const add: Record<string, string[]> = {};
    for (const set of [...SET_NAMES, 'outbound'] as const) if (rules[set].size) add[set] = [...rules[set]];
    return lines.join('\n') + '\n' + renderPolicyDiff(this.tables, {}, add);
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
    await this.serial(() => this.apply(renderRuleset(this.opts, keep)));
    this.current = emptyCompiled();
    this.currentIsPrevious = false;
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
    return this.serial(() => this.registerNow(sb));
  }

  private async registerNow(sb: SandboxPort): Promise<void> {
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
    faultPoint('firewall.registered');
  }

  /** Removes a registration; a no-op for parts that are already gone. */
  async unregister(sb: SandboxPort): Promise<void> {
    this.validate(sb);
    return this.serial(() => this.unregisterNow(sb));
  }

  private async unregisterNow(sb: SandboxPort): Promise<void> {
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
    faultPoint('firewall.unregistered');
  }

  /** Registrations as the kernel has them (port/address pairs), for reconciliation. */
  async list(): Promise<SandboxPort[]> {
    return (await this.readKernel()).pairs;
  }

  /** Deletes both tables (if present). Workspaces on the bridge lose all connectivity to each other. */
  async destroy(): Promise<void> {
    const t = this.tables;
    await this.serial(() => this.apply(`table inet ${t.inet}\ndelete table inet ${t.inet}\ntable bridge ${t.bridge}\ndelete table bridge ${t.bridge}\n`));
    this.current = emptyCompiled();
    this.currentIsPrevious = false;
    this.byIf.clear();
    this.close();
  }

  /** Ends the long-lived nft session and command shell (the tables stay). */
  close(): void {
    this.session.close();
    this.commands.close();
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

  /** Small batches go through the long-lived session (ms instead of tens of ms). */
  private async apply(script: string): Promise<void> {
    if (script.length <= SESSION_MAX_SCRIPT && !script.includes('table ')) return this.session.apply(script);
    await run('nft', ['-f', '-'], { input: script });
  }
}
