/**
 * Keeps the kernel's firewall equal to the stored network policies: every workspace
 * record (running or not — elements of a workspace that is not on the bridge are
 * inert, since the bridge drops its address), its private links, the exposed public
 * ports and the addresses its allowed host names resolved to are compiled
 * (src/network/policy.ts; only workspaces whose inputs changed) and the difference
 * applied. `sync()` resolves once a
 * compile that began after the call is in the kernel, so a caller that changed the
 * store and awaits `sync()` knows its change is enforced. Concurrent calls share one
 * follow-up run.
 */
import type { ApplyResult } from './firewall.js';
import { egressNames, PolicyCompiler, type Compiled, type ElementDiff, type PolicySubject } from './policy.js';
import type { DnsAllowances } from './dns-allowances.js';
import type { PolicySyncPort } from '../domain/ports.js';
import type { NetworkPolicyRow, Store } from '../store/store.js';
import { faultPoint } from '../util/fault-points.js';

export interface NetworkSyncDeps {
  store: Store;
  firewall: { applyRules(rules: Compiled, changes?: ElementDiff): Promise<ApplyResult> };
  allowances: DnsAllowances;
  /** Exposed ports (public access): workspace id and port. */
  exposures: () => Promise<Array<{ workspaceId: string; port: number }>>;
  /** Whether an upstream exists (outbound IPs are only NATed then). */
  outbound: boolean;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** A sync that changed the kernel: seconds of compile + apply (operator metrics). */
  observeApply?: (seconds: number) => void;
  /**
   * The ids of the workspaces whose rules this host enforces (a node daemon: its own, by
   * node id); absent: every stored workspace (a single host). Peers outside it still
   * resolve as link sources.
   */
  scope?: () => Promise<ReadonlySet<string>>;
}

export class NetworkSync implements PolicySyncPort {
  private running: Promise<void> | null = null;
  private followUp: Promise<void> | null = null;
  private last: Compiled | null = null;
  /** Workspace ip → egress name patterns, as of the last compile. */
  private namesByIp = new Map<string, string[]>();
  private expiryTimer: NodeJS.Timeout | null = null;
  private readonly compiler = new PolicyCompiler();
  private readonly names = new WeakMap<object, string[]>();

  constructor(private readonly deps: NetworkSyncDeps) {}

  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.run().finally(() => (this.running = null));
      return this.running;
    }
    this.followUp ??= this.running.catch(() => undefined).then(() => {
      this.followUp = null;
      return this.sync();
    });
    return this.followUp;
  }

  /** The rules as last applied (null before the first sync). */
  get rules(): Compiled | null {
    return this.last;
  }

  /** Egress name patterns of the workspace at `ip` (for the resolver). */
  egressNamesOf(ip: string): string[] {
    return this.namesByIp.get(ip) ?? [];
  }

  close(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
  }

  private async run(): Promise<void> {
    const t0 = performance.now();
    const all = await this.deps.store.allNetworkPolicies();
    const byId = new Map(all.map((r) => [r.id, r]));
    const scope = this.deps.scope ? await this.deps.scope() : null;
    const records = scope ? all.filter((r) => scope.has(r.id)) : all;
    const exposures = (await this.deps.exposures()).flatMap((e) => {
      const ip = scope && !scope.has(e.workspaceId) ? undefined : byId.get(e.workspaceId)?.ip;
      return ip ? [{ ip, port: e.port }] : [];
    });
    this.deps.allowances.sweep();
    this.namesByIp = new Map(records.map((r) => [r.ip, this.namesOf(r.network)]));
    const subjects = records.map((r) => this.subjectOf(r, byId));
    const { rules, changes } = this.compiler.update({ subjects, exposures, outbound: this.deps.outbound });
    const t1 = performance.now();
    const result = await this.deps.firewall.applyRules(rules, changes);
    faultPoint('network.rules-applied');
    this.last = rules;
    if (result.added + result.removed > 0) {
      this.deps.observeApply?.((performance.now() - t0) / 1000);
      const ms = (x: number) => Math.round(x * 10) / 10;
      this.deps.log('info', 'network policy applied', { added: result.added, removed: result.removed, compile_ms: ms(t1 - t0), apply_ms: ms(performance.now() - t1) });
    }
    this.armExpiry();
  }

  /** Egress name patterns of a policy, kept while the store hands back the same policy object. */
  private namesOf(policy: NetworkPolicyRow['network']): string[] {
    let names = this.names.get(policy);
    if (!names) this.names.set(policy, (names = egressNames(policy.egress)));
    return names;
  }

  private subjectOf(rec: NetworkPolicyRow, byId: Map<string, NetworkPolicyRow>): PolicySubject {
    const linkSources = rec.network.private_link_ids.flatMap((id) => {
      const peer = byId.get(id);
      return peer && peer.id !== rec.id ? [peer.ip] : [];
    });
    return {
      id: rec.id,
      ip: rec.ip,
      policy: rec.network,
      linkSources,
      resolved: this.deps.allowances.addressesFor(rec.ip, this.egressNamesOf(rec.ip)),
    };
  }

  /** Re-syncs when the next learnt address expires, so it closes on time. */
  private armExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    const ms = this.deps.allowances.nextExpiryIn();
    if (ms === null) return;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      this.sync().catch((err) => this.deps.log('error', 'network sync failed', { err: String(err) }));
    }, ms + 50);
    this.expiryTimer.unref();
  }
}
