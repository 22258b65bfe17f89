/**
 * Side effects of the lifecycle: turns a workspace record into a running sandbox
 * and back, through the driver, firewall and image store. It holds no state of its
 * own; callers (WorkspaceService, Reconciler) record intent in the store before
 * calling it and the outcome after. Every method is idempotent so a crash at any
 * point can be finished by calling it again. Writable-layer work (snapshots,
 * archives, restore) is `layers` (src/domain/layer-ops.ts), present when the driver
 * can snapshot.
 */
import { join } from 'node:path';
import { canAdopt, canPause, canSnapshot, type LayerRef, type SandboxSpec } from '../drivers/driver.js';
import { AppError } from '../contract/errors.js';
import type { Store, WorkspaceRecord } from '../store/store.js';
import type { DomainDeps } from './ports.js';
import { AGENT_PORT, AGENT_READY_TIMEOUT_MS } from './ports.js';
import { specFor, workspaceDir, writeControlFiles, writeAgentToken } from './sandbox-spec.js';
import { LayerOps, type ResolvedSource } from './layer-ops.js';
import type { PoolEntry, WarmPool } from './warm-pool.js';
import type { PlacedDemand, PoolOffer, PoolWant, ReadySandbox, WorkspaceBackend } from './backend.js';
import type { AddressAllocator, RelayVia } from './ports.js';
import { faultPoint } from '../util/fault-points.js';


/** The local backend (src/domain/backend.ts): this process owns the host the sandboxes run on. */
export class Orchestrator implements WorkspaceBackend {
  readonly kind = 'local';
  readonly layers: LayerOps | null;
  /** Boots under way (the warm pool refills only when there is none). */
  private booting = 0;

  /** `pool`: where a new workspace's sandbox may come from ready-made (absent: every boot is cold). */
  constructor(
    private readonly deps: DomainDeps,
    store: Store,
    readonly pool: WarmPool | null = null,
    /** Addresses on this host's subnet (absent: placement is refused; tests that never create). */
    private readonly allocator?: AddressAllocator,
  ) {
    const driver = deps.driver;
    this.layers = canSnapshot(driver) ? new LayerOps({ store, driver, archives: deps.archives, spec: (r, b) => this.spec(r, b) }) : null;
  }

  get driver() {
    return this.deps.driver;
  }

  get capabilities() {
    return this.deps.driver.capabilities;
  }

  /** Every workspace of this process runs on this host. */
  async place(_demand: unknown, _batch: readonly PlacedDemand[]): Promise<string | null> {
    return this.localNodeId;
  }

  async allocateAddress(_nodeId: string | null, taken: ReadonlySet<string>): Promise<string> {
    if (!this.allocator) throw new AppError('server_error', 'No address allocator is wired');
    return this.allocator(taken);
  }

  /** This host's pool (src/domain/warm-pool.ts); `take` runs under the caller's reservation. */
  async takeReady(_nodeId: string | null, want: PoolWant | null): Promise<PoolOffer> {
    const pool = this.pool;
    if (!pool) return { ready: null, held: [] };
    if (want) pool.want(want.image, want.imageId);
    const entry = want ? pool.take(want.image, want.imageId) : null;
    return { ready: entry && { ip: entry.ip, shortId: entry.shortId }, held: [...pool.heldAddresses()] };
  }

  /** Idempotent: an entry no longer taken (assigned already, or put back) is left as it is. */
  async assignReady(_nodeId: string | null, workspaceId: string, ready: ReadySandbox): Promise<void> {
    const entry = this.pool?.takenEntry(ready.shortId);
    if (entry && entry.ip === ready.ip) this.pool!.assign(workspaceId, entry);
  }

  async putBackReady(_nodeId: string | null, ready: ReadySandbox): Promise<void> {
    const entry = this.pool?.takenEntry(ready.shortId);
    if (entry && entry.ip === ready.ip) this.pool!.putBack(entry);
  }

  /** Sandboxes of this host are reached directly. */
  async via(_rec: Pick<WorkspaceRecord, 'id' | 'nodeId'>): Promise<RelayVia | undefined> {
    return undefined;
  }

  /** This host is up as long as this process is. */
  async assertReachable(_rec: Pick<WorkspaceRecord, 'id' | 'nodeId'>): Promise<void> {}

  /** The node id this host's workspaces carry in the store (null: a single host). */
  get localNodeId(): string | null {
    return this.deps.localNodeId ?? null;
  }

  /**
   * Whether this host runs `rec`'s sandbox. Host-local work (reconciling, exit checks and
   * watches) acts only on such records: with replicas sharing one database, another
   * server's workspaces are not absent here, they live elsewhere.
   */
  owns(rec: Pick<WorkspaceRecord, 'nodeId'>): boolean {
    return (rec.nodeId ?? null) === this.localNodeId;
  }

  /** Whether a workspace is being booted now. */
  get busy(): boolean {
    return this.booting > 0;
  }

  /**
   * Spec for a record. The image's layers are only looked up (a catalog image built) when
   * `withImage`; the record is then pinned to that image (`rec.imageId`, stored by the
   * caller with the operation's outcome), so a later rebuild of a name never changes
   * the layers under an existing workspace.
   */
  async spec(rec: WorkspaceRecord, withImage: boolean, seed?: LayerRef): Promise<SandboxSpec> {
    const image = withImage ? await this.deps.images.materialize(rec.image, rec.imageId) : { layers: [] };
    if (withImage && 'imageId' in image && image.imageId) rec.imageId = image.imageId;
    const spec = specFor(rec, image, this.deps);
    if (seed) spec.seed = seed;
    return spec;
  }

  private sandboxRef(rec: WorkspaceRecord) {
    return { ip: rec.ip, hostIf: this.deps.hostIfName(rec.shortId) };
  }

  /**
   * Creates (if needed) and boots the sandbox, then waits for its agent. With a
   * `source`, a sandbox that has no layer yet starts from it (a fork's seed, or the
   * archive an archived workspace comes back from).
   */
  async bringUp(rec: WorkspaceRecord, source?: ResolvedSource): Promise<void> {
    const log = this.deps.bootLog;
    await log?.begin(rec.id, rec.config.keep_logs);
    const t0 = performance.now();
    const ms = () => `${Math.round(performance.now() - t0)} ms`;
    const step = (m: string) => log?.step(rec.id, `${m} (${ms()})`);
    log?.step(rec.id, `Boot of ${rec.id}: image ${rec.image}, ${rec.config.cpus} CPU, ${rec.config.memory_mb} MB memory, `
      + `${rec.config.disk_size_mb} MB disk, address ${rec.ip}`);
    this.booting++;
    try {
      const entry = source ? undefined : this.pool?.claim(rec.id, rec);
      if (entry) await this.adopt(rec, entry, step);
      else await this.bringUpSteps(rec, source, step);
      step('Boot complete');
    } catch (err) {
      log?.step(rec.id, `Boot failed after ${ms()}: ${err instanceof AppError ? err.code : 'internal error'}`, 'error');
      throw err;
    } finally {
      this.booting--;
      log?.end(rec.id);
    }
  }

  /**
   * Gives a warm-pool sandbox (src/domain/warm-pool.ts) to `rec`: its directories move under
   * the workspace's (mounts and binds follow), its control files become the workspace's,
   * the driver sets limits, quota and hostname, the firewall takes the workspace's policy,
   * and the agent boots the workspace. Until the move, a failure destroys the entry and the
   * boot goes on cold; after it, the sandbox is the workspace's and a retry finishes it.
   */
  private async adopt(rec: WorkspaceRecord, entry: PoolEntry, step: (m: string) => void): Promise<void> {
    const driver = this.deps.driver;
    const spec = await this.spec(rec, true).catch(async (err: unknown) => {
      await this.pool?.destroy(entry);
      throw err;
    });
    if (!canAdopt(driver) || rec.imageId !== entry.imageId) {
      await this.pool?.destroy(entry);
      return this.bringUpSteps(rec, undefined, step);
    }
    const dir = workspaceDir(this.deps.paths.workspacesDir, rec.id);
    const dirs = this.deps.dirs;
    await dirs.make(dir, 0o700);
    await dirs.move(join(entry.dir, 'control'), spec.agent.controlDir);
    await dirs.move(join(entry.dir, 'sandbox'), spec.stateDir);
    await dirs.remove(entry.dir);
    faultPoint('adopt.moved');
    step(`Ready sandbox ${entry.shortId} taken from the warm pool`);
    // Independent of each other; every one settles before the agent is told to boot.
    await settleAll([
      writeControlFiles(this.deps, spec, rec).then(() => this.deps.bootFiles?.(rec, spec.agent.controlDir)),
      driver.adopt(spec),
      this.deps.syncNetwork?.(),
    ]);
    step('Limits, hostname and network policy in force');
    faultPoint('adopt.configured');
    await this.bootAgent(rec, spec);
    step(`Runtime agent booted the workspace on port ${AGENT_PORT}`);
    faultPoint('adopt.claimed');
  }

  /** Tells the agent to start the workspace (cmd, workloads, sshd); a no-op for an agent that did already. */
  private async bootAgent(rec: WorkspaceRecord, spec: SandboxSpec): Promise<void> {
    const control = this.deps.agentControl;
    if (!control) return;
    try {
      await control.call({ ip: rec.ip, port: AGENT_PORT, controlDir: spec.agent.controlDir }, 'POST', '/_warren/claim');
    } catch {
      throw new AppError('VM_UNAVAILABLE', 'The workspace started but its runtime agent did not answer');
    }
  }

  private async bringUpSteps(rec: WorkspaceRecord, source: ResolvedSource | undefined, step: (m: string) => void): Promise<void> {
    const spec = await this.spec(rec, true, source?.kind === 'snapshot' ? source.ref : undefined);
    step(`Image ${rec.image} ready`);
    faultPoint('boot.image-ready');
    await writeControlFiles(this.deps, spec, rec);
    await this.deps.bootFiles?.(rec, spec.agent.controlDir);
    const workloads = rec.config.workloads.filter((w) => w.enabled).length;
    step(`Control files written (${workloads} workload${workloads === 1 ? '' : 's'} to start)`);
    faultPoint('boot.control-files-written');
    if (source?.kind === 'archive' && (await this.deps.driver.inspect(spec)).state === 'absent') {
      await this.requireLayers().importArchive(spec, source.archive);
      step(`Writable layer restored from archive ${source.archive.version}`);
      faultPoint('boot.archive-imported');
    }
    if (source?.kind === 'snapshot') step('Writable layer seeded from a snapshot');
    await this.deps.driver.create(spec);
    faultPoint('boot.sandbox-created');
    step('Sandbox resources ready: writable layer, cgroups, network namespace');
    await this.deps.firewall.register(this.sandboxRef(rec));
    faultPoint('boot.firewall-registered');
    await this.deps.syncNetwork?.();
    step('Network policy in force');
    faultPoint('boot.network-synced');
    const driver = this.deps.driver;
    const status = await driver.inspect(spec);
    if (status.state === 'paused' && canPause(driver)) await driver.resume(spec);
    if (status.state !== 'running') await driver.start(spec);
    // A sandbox found running may be a pool entry moved here by an adoption a crash cut short.
    else if (canAdopt(driver)) await driver.adopt(spec);
    step(`Sandbox ${status.state === 'running' ? 'already running' : 'started'} (${driver.name} driver)`);
    faultPoint('boot.sandbox-started');
    await this.waitForAgent(rec);
    if (status.state === 'running') await this.bootAgent(rec, spec);
    step(`Runtime agent answered on port ${AGENT_PORT}`);
    faultPoint('boot.agent-answered');
  }

  private async waitForAgent(rec: WorkspaceRecord): Promise<void> {
    try {
      await this.deps.probe(rec.ip, AGENT_PORT, AGENT_READY_TIMEOUT_MS);
    } catch {
      throw new AppError('VM_UNAVAILABLE', 'The workspace started but its runtime agent did not answer');
    }
  }

  /** Ends every process; the writable layer stays. */
  async bringDown(rec: WorkspaceRecord): Promise<void> {
    const spec = await this.spec(rec, false);
    await this.deps.driver.stop(spec);
    faultPoint('bringdown.stopped');
    await this.deps.firewall.unregister(this.sandboxRef(rec));
  }

  async pause(rec: WorkspaceRecord): Promise<void> {
    const driver = this.deps.driver;
    if (!canPause(driver)) throw new AppError('not_implemented', `Driver ${driver.name} cannot pause`);
    await driver.pause(await this.spec(rec, false));
  }

  async resume(rec: WorkspaceRecord): Promise<void> {
    const driver = this.deps.driver;
    if (!canPause(driver)) throw new AppError('not_implemented', `Driver ${driver.name} cannot resume`);
    await driver.resume(await this.spec(rec, false));
  }

  /** Removes the sandbox and every file of the workspace. */
  async destroy(rec: WorkspaceRecord): Promise<void> {
    await this.destroySandbox(rec); // drops its snapshots; what is left are archive-purpose ones
    faultPoint('destroy.sandbox-destroyed');
    await this.layers?.dropAllOf(rec.id, 'archive');
    await this.deps.archives.removeAll(rec.id);
    faultPoint('destroy.archives-removed');
    await this.deps.dirs.remove(workspaceDir(this.deps.paths.workspacesDir, rec.id));
    faultPoint('destroy.files-removed');
  }

  /** Removes the sandbox, its writable layer and snapshots; the record and its archives stay (archived). */
  async destroySandbox(rec: WorkspaceRecord): Promise<void> {
    const spec = await this.spec(rec, false);
    await this.deps.driver.destroy(spec);
    await this.deps.firewall.unregister(this.sandboxRef(rec));
    await this.layers?.dropAllOf(rec.id, 'snapshot');
  }

  async inspect(rec: WorkspaceRecord) {
    return this.deps.driver.inspect(await this.spec(rec, false));
  }

  async stats(rec: WorkspaceRecord) {
    return this.deps.driver.stats(await this.spec(rec, false));
  }

  async updateResources(rec: WorkspaceRecord): Promise<void> {
    await this.deps.driver.updateResources(await this.spec(rec, false));
  }

  /** Pushes the current raw token (or none when disabled) to the agent. */
  async syncAgentToken(rec: WorkspaceRecord): Promise<void> {
    await writeAgentToken(this.deps, await this.spec(rec, false), rec);
  }

  /**
   * Ids of the workspaces that have a directory on this host (control files, and with the
   * ns driver their disk). A settled record without one lost its host state: its data dir
   * was restored from a backup (src/backup/), which holds no disks, or the directory was removed.
   */
  async workspacesOnHost(): Promise<Set<string>> {
    return new Set(await this.deps.dirs.list(this.deps.paths.workspacesDir));
  }

  async residue(): Promise<string[]> {
    return this.deps.driver.listResidue();
  }

  async destroyResidue(shortId: string): Promise<void> {
    await this.deps.driver.destroyResidue(shortId);
  }

  /** A live sandbox found at start: firewall registration, and what a crashed snapshot may have left frozen. */
  async reattach(rec: WorkspaceRecord): Promise<void> {
    if (canSnapshot(this.deps.driver)) await this.deps.driver.recover(await this.spec(rec, false));
    await this.deps.firewall.register(this.sandboxRef(rec));
    await this.deps.syncNetwork?.();
  }

  /** Calls `onExit` when the running sandbox ends by itself; null when the driver cannot tell. */
  async watchExit(rec: WorkspaceRecord, onExit: () => void): Promise<(() => void) | null> {
    const driver = this.deps.driver;
    return driver.watchExit ? driver.watchExit(await this.spec(rec, false), onExit) : null;
  }

  requireLayers(): LayerOps {
    if (!this.layers) {
      throw new AppError('not_implemented', `The ${this.deps.driver.name} driver cannot snapshot or archive`, { field: 'driver' });
    }
    return this.layers;
  }
}

/** Waits for every promise; then throws the first rejection, if any (none is left running). */
async function settleAll(work: Array<Promise<unknown> | undefined>): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
