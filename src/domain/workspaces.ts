/**
 * The workspace resource: create, read, update, delete and power actions. Every
 * mutation records its intent (transitional state + `pending`) in the store
 * before any side effect, then runs it through `runPending`. One operation per
 * workspace at a time, across replicas (CoordinationPort.run); creates and start
 * reservations are serialised around the quota check and address allocation
 * (CoordinationPort.reserve) so reservations cannot race.
 */
import { AppError } from '../contract/errors.js';
import { publicMessage } from '../contract/envelope.js';
import type { CreateWorkspaceCommand, UpdateWorkspaceCommand } from '../contract/commands.js';
import type { IdlePolicy } from '../contract/lifecycle.js';
import { defaultConfig, parseConfig } from '../contract/workspace.js';
import type { Store, WorkspaceRecord, WorkspaceFilter, Page, ReservationRow } from '../store/store.js';
import { applyLifecycleChange, RECORD_LOCK_WAIT_MS, workspaceBusy, type LifecycleChange } from './record-changes.js';
import { isLive, planTransition, type PowerAction } from './lifecycle.js';
import { checkReservation, checkStartFits, demandOf, type QuotaPolicy } from './quota.js';
import { runPending, type OperationHooks } from './operations.js';
import type { PlacedDemand, ReadySandbox, WorkspaceBackend } from './backend.js';
import type { CoordinationPort, ImageFacts, NetworkLayout } from './ports.js';
import { withImageDefaults } from './image-defaults.js';
import { newWorkspaceRecord } from './records.js';
import { idleOf } from './deadlines.js';
import { applyLive, checkResourceChange } from './resources.js';
import { intentOf, type TransitionOptions } from './transitions.js';
import type { NamespaceGate } from './namespaces.js';
import { faultPoint } from '../util/fault-points.js';

export interface WorkspaceServiceOptions {
  store: Store;
  /** Per-workspace operations and the reservation section (in-process, or across replicas). */
  coordination: CoordinationPort;
  orchestrator: WorkspaceBackend;
  policy: QuotaPolicy;
  network: NetworkLayout;
  /** Picks a free address of the workspace subnet (src/network/addresses.ts `allocate`). */
  resolveImage: (nameOrRef: string) => Promise<ImageFacts | null>;
  hooks: OperationHooks;
  /** How long POST /workspace waits for the sandbox before answering `creating` (unless wait_for_init). */
  createWaitMs: number;
  /** Namespace status and limits (src/domain/namespaces.ts), checked where workspaces are reserved, started and resized. */
  namespaces?: NamespaceGate;
  /** Checks a create's `config.idle` against the operator's minimums (IdleService.validate). */
  validateIdle?: (mode: WorkspaceRecord['mode'], idle: IdlePolicy | null) => void;
}

export type { LifecycleChange } from './record-changes.js';

export class WorkspaceService {
  private readonly lock: CoordinationPort;
  /** Background operations, so shutdown and tests can await them. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly o: WorkspaceServiceOptions) {
    this.lock = o.coordination;
  }

  async get(idOrSlug: string): Promise<WorkspaceRecord> {
    const rec = await this.o.store.findWorkspace(idOrSlug);
    if (!rec) throw new AppError('not_found', `Workspace ${idOrSlug} not found`, { field: 'id' });
    return rec;
  }

  /** The workspace of that id or slug; null when there is none. */
  find(idOrSlug: string): Promise<WorkspaceRecord | null> {
    return this.o.store.findWorkspace(idOrSlug);
  }

  list(filter: WorkspaceFilter, page: Page) {
    return this.o.store.listWorkspaces(filter, page);
  }

  /** `opts.metadata`: the new record's metadata (a build's temporary workspace is marked so). */
  async create(cmd: CreateWorkspaceCommand, opts: { metadata?: Record<string, string> } = {}): Promise<{ rec: WorkspaceRecord; created: boolean }> {
    if (cmd.idempotencyKey) {
      const existing = await this.o.store.findWorkspaceByIdempotencyKey(cmd.idempotencyKey);
      if (existing) return { rec: existing, created: false };
    }
    const facts = await this.o.resolveImage(cmd.image);
    if (!facts) throw new AppError('INVALID_IMAGE', `Unknown image ${cmd.image}`, { field: 'image' });
    const image = facts.name;
    const limits = this.o.policy.limits;
    const config = withImageDefaults(parseConfig(cmd.rawConfig, defaultConfig(limits), limits, cmd.mode), facts);
    this.o.validateIdle?.(cmd.mode, idleOf(config));
    const [rec] = await this.reserve((all) => {
      if (cmd.slug && all.some((r) => r.slug === cmd.slug)) {
        throw new AppError('conflict', `Slug ${cmd.slug} is taken`, { field: 'slug' });
      }
      return [{
        image, imageId: facts.imageId, name: cmd.name, slug: cmd.slug, namespace: cmd.namespace, mode: cmd.mode, config,
        idempotencyKey: cmd.idempotencyKey, ...(opts.metadata ? { metadata: { ...opts.metadata } } : {}),
      }];
    });
    const op = this.background(rec!.id);
    // wait_for_init: answer only once provisioning ended, however long it takes.
    await (config.wait_for_init ? op : Promise.race([op, delay(this.o.createWaitMs)]));
    return { rec: await this.get(rec!.id), created: true };
  }

  /**
   * Quota check, address allocation and the intent records of one or more new
   * workspaces, atomically (all or none): `build` sees every workspace's reservation
   * row (a few columns, not the full records: the cost per create must not grow with
   * the number of workspaces) and returns the new workspaces' fields.
   */
  async reserve(build: (all: ReservationRow[]) => Array<Omit<Parameters<typeof newWorkspaceRecord>[0], 'ip'>>): Promise<WorkspaceRecord[]> {
    return this.lock.reserve(async () => {
      const all = await this.o.store.allReservations();
      const inputs = build(all);
      for (const input of inputs) await this.o.namespaces?.admit(input.namespace, demandOf(input), inputs.filter((i) => i.namespace === input.namespace).length, all);
      checkReservation(this.o.policy, all, inputs);
      const backend = this.o.orchestrator;
      const taken = addressesInUse(all);
      // A single plain create may take a ready sandbox of its node's pool: the record gets its address and name.
      const want = inputs.length === 1 && !inputs[0]!.source ? { image: inputs[0]!.image, imageId: inputs[0]!.imageId ?? null } : null;
      let pooled: { nodeId: string | null; ready: ReadySandbox } | null = null;
      const asked = new Set<string | null>();
      const recs: WorkspaceRecord[] = [];
      const batch: PlacedDemand[] = [];
      for (const input of inputs) {
        // Placement inside the reservation: free capacity counts what is stored and this batch.
        const demand = demandOf(input);
        const nodeId = await backend.place(demand, batch);
        batch.push({ nodeId, demand });
        if (!asked.has(nodeId)) { // each node's pool once: what it holds, and a ready sandbox for a plain create
          asked.add(nodeId);
          const offer = await backend.takeReady(nodeId, want);
          for (const ip of offer.held) taken.add(ip);
          if (offer.ready) {
            pooled = { nodeId, ready: offer.ready };
            recs.push(newWorkspaceRecord({ ...input, ip: offer.ready.ip, shortId: offer.ready.shortId, nodeId }));
            continue;
          }
        }
        const ip = await backend.allocateAddress(nodeId, taken);
        taken.add(ip);
        recs.push(newWorkspaceRecord({ ...input, ip, nodeId }));
      }
      try {
        await this.o.store.insertWorkspaces(recs); // one transaction: all reserved or none
        faultPoint('create.reserved');
      } catch (err) {
        if (pooled) await backend.putBackReady(pooled.nodeId, pooled.ready).catch((e: unknown) => this.poolCallFailed('put back', e));
        throw err;
      }
      // A failed assignment leaves the sandbox taken: the node's bringUp of this record still adopts it.
      if (pooled) await backend.assignReady(pooled.nodeId, recs[0]!.id, pooled.ready).catch((e: unknown) => this.poolCallFailed('assign', e));
      return recs;
    });
  }

  private poolCallFailed(what: string, err: unknown): void {
    this.o.hooks.log('warn', `a warm-pool sandbox could not be ${what === 'assign' ? 'assigned' : 'put back'}`, { err: String(err) });
  }

  /** A free address for a warm-pool sandbox: no record's and none in `held`, under the create lock. */
  reserveAddress(held: ReadonlySet<string>): Promise<string> {
    return this.lock.reserve(async () => {
      const taken = addressesInUse(await this.o.store.allReservations(), held);
      return this.o.orchestrator.allocateAddress(this.o.orchestrator.localNodeId, taken);
    });
  }

  /** Runs the pending operation of `id` under its lock, tracked for shutdown. */
  background(id: string): Promise<unknown> {
    const p = this.lock
      .run(id, async () => {
        const rec = await this.o.store.getWorkspace(id);
        if (rec?.pending) await runPending(this.o.store, this.o.orchestrator, rec, this.o.hooks);
      })
      .catch((err) => this.o.hooks.log('error', 'background operation failed', { id, err: String(err) }));
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  /**
   * Retries a failed creation with the same id and config (SDK retryCreation).
   * Only a workspace whose create failed qualifies; anything else is 409.
   */
  async retryCreate(idOrSlug: string): Promise<WorkspaceRecord> {
    const { id } = await this.get(idOrSlug);
    await this.lock.run(id, async () => {
      const rec = await this.get(id);
      if (rec.state !== 'failed' || rec.error?.code === undefined || rec.startedAt !== null) {
        throw new AppError('invalid_state', `Only a workspace whose creation failed can be retried; this one is ${rec.state}`, {
          field: 'status', current_state: rec.state, action: 'retry',
        });
      }
      await this.o.store.updateWorkspace({ ...rec, state: 'creating', error: null, pending: { op: 'create', startedAt: new Date().toISOString() } });
    });
    await Promise.race([this.background(id), delay(this.o.createWaitMs)]);
    return this.get(id);
  }

  async power(idOrSlug: string, action: PowerAction, opts: TransitionOptions = {}): Promise<WorkspaceRecord | null> {
    const { id } = await this.get(idOrSlug);
    return this.lock.run(id, () => this.transitionLocked(id, action, opts));
  }

  /**
   * `action` on a workspace whose lock the caller holds. A stop of a workspace with
   * `remove_on_exit` deletes it (it exited); starting an archived workspace brings its
   * latest whole-layer archive back.
   */
  async transitionLocked(id: string, action: PowerAction, opts: TransitionOptions = {}): Promise<WorkspaceRecord | null> {
    const rec = await this.get(id);
    const plan = planTransition(rec.state, action);
    if (plan.kind === 'noop') return rec;
    if (action === 'start' || action === 'resume' || action === 'restart') await this.o.namespaces?.checkStart(rec);
    if (action === 'start' && rec.state === 'archived' && !opts.source) {
      const archive = (await this.o.store.listArchives(id)).filter((a) => a.state === 'ready' && a.kind === 'layer').at(-1);
      if (archive) opts = { ...opts, source: { kind: 'archive', version: archive.version } };
    }
    const now = new Date().toISOString();
    const intent = (action === 'start' || action === 'restart') && !isLive(rec.state)
      // The `starting` intent is the running-pool reservation: checked and written under the create lock.
      ? await this.lock.reserve(async () => {
        checkStartFits(this.o.policy, await this.o.store.allReservations(), rec);
        return this.o.store.updateWorkspace(intentOf(rec, action, opts, plan.via, now));
      })
      : await this.o.store.updateWorkspace(intentOf(rec, action, opts, plan.via, now));
    const after = await runPending(this.o.store, this.o.orchestrator, intent, this.o.hooks);
    if (after && action === 'stop' && after.config.remove_on_exit) {
      return this.transitionLocked(id, 'delete', { by: opts.by ?? 'user' });
    }
    return after;
  }

  async update(idOrSlug: string, cmd: UpdateWorkspaceCommand): Promise<WorkspaceRecord> {
    const { id } = await this.get(idOrSlug);
    return this.lock.run(id, async () => {
      const rec = await this.get(id);
      const next: WorkspaceRecord = { ...rec };
      if (cmd.name !== undefined) next.name = cmd.name;
      if (cmd.slug !== undefined) next.slug = cmd.slug;
      if (cmd.rawConfig) next.config = parseConfig(cmd.rawConfig, rec.config, this.o.policy.limits, rec.mode);
      await checkResourceChange(this.o.store, this.o.policy, rec, next, this.o.namespaces);
      if (isLive(rec.state)) await applyLive(this.o.orchestrator, next);
      return this.o.store.updateWorkspace(next, rec.version);
    });
  }

  /**
   * Changes mode / TTL / restart policy / idle policy (lifecycle routes), parsed at the edge.
   * `renew` restarts the TTL clock (ping).
   */
  async updateLifecycle(idOrSlug: string, change: (rec: WorkspaceRecord) => LifecycleChange): Promise<WorkspaceRecord> {
    const first = await this.get(idOrSlug);
    const ch = change(first);
    return this.lock.runWithin(first.id, RECORD_LOCK_WAIT_MS, () => workspaceBusy(first.id), async () => {
      const rec = await this.get(first.id);
      return this.o.store.updateWorkspace(applyLifecycleChange(rec, ch), rec.version);
    });
  }

  /** Replaces the metadata map with what `change` makes of it (PUT replaces, PATCH merges). */
  async updateMetadata(idOrSlug: string, change: (current: Record<string, string>) => Record<string, string>): Promise<WorkspaceRecord> {
    const { id } = await this.get(idOrSlug);
    return this.lock.runWithin(id, RECORD_LOCK_WAIT_MS, () => workspaceBusy(id), async () => {
      const rec = await this.get(id);
      return this.o.store.updateWorkspace({ ...rec, metadata: change({ ...rec.metadata }) }, rec.version);
    });
  }

  /** A scheduled action failed: a due restart is given up (or it would be retried forever) and the reason kept. */
  async recordScheduleFailure(id: string, kind: string, err: unknown): Promise<void> {
    if (kind !== 'restart') return;
    await this.lock.run(id, async () => {
      const rec = await this.o.store.getWorkspace(id);
      if (!rec || !rec.lifecycle.restart.next_restart_at || rec.state !== 'stopped') return;
      const error = err instanceof AppError && err.code !== 'server_error'
        ? { code: err.code, message: publicMessage(err) } : { code: 'server_error', message: 'Restart failed' };
      await this.o.store.updateWorkspace({
        ...rec, error, lifecycle: { ...rec.lifecycle, restart: { ...rec.lifecycle.restart, next_restart_at: null } },
      });
    });
  }

  /** Waits for every background operation (graceful shutdown, tests). */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Runs `fn` under the create lock: no workspace is reserved meanwhile (image removal). */
  underCreateLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.reserve(fn);
  }

  /** Runs `fn` under the workspace's lock (used by the reconciler and access control). */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(id, fn);
  }
}

/** Addresses no new record or pooled sandbox may get: the records' and those the warm pool holds. */
function addressesInUse(rows: ReservationRow[], held: ReadonlySet<string> = new Set()): Set<string> {
  return new Set([...rows.map((r) => r.ip), ...held]);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
