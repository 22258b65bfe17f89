/**
 * The workspace resource: create, read, update, delete and power actions. Every
 * mutation records its intent (transitional state + `pending`) in the store
 * before any side effect, then runs it through `runPending`. One operation per
 * workspace at a time (KeyedLock); creates are serialised around the quota check
 * and address allocation so reservations cannot race.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../contract/errors.js';
import type { CreateWorkspaceCommand, UpdateWorkspaceCommand } from '../contract/commands.js';
import { defaultConfig, defaultNetworkPolicy, parseConfig } from '../contract/workspace.js';
import type { Store, WorkspaceRecord, WorkspaceFilter, Page } from '../store/store.js';
import { allocate } from '../network/addresses.js';
import { KeyedLock } from './locks.js';
import { planTransition, type PowerAction } from './lifecycle.js';
import { checkCreate, checkRunning, demandOf, usageOf, type QuotaPolicy } from './quota.js';
import { runPending, type OperationHooks } from './operations.js';
import type { Orchestrator } from './orchestrator.js';
import type { NetworkLayout } from './ports.js';
import { newRawToken } from './tokens.js';

export interface WorkspaceServiceOptions {
  store: Store;
  orchestrator: Orchestrator;
  policy: QuotaPolicy;
  network: NetworkLayout;
  resolveImage: (idOrRef: string) => string | null;
  hooks: OperationHooks;
  /** How long POST /workspace waits for the sandbox before answering `creating`. */
  createWaitMs: number;
}

export interface LifecycleChange {
  mode?: 'permanent' | 'temporary';
  ttl?: number | null;
  ttl_action?: WorkspaceRecord['config']['ttl_action'];
  remove_on_exit?: unknown;
  restart_policy?: unknown;
  renew?: boolean;
}

const CREATE_LOCK = '__create__';

export class WorkspaceService {
  private readonly lock = new KeyedLock();
  /** Background operations, so shutdown and tests can await them. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly o: WorkspaceServiceOptions) {}

  async get(idOrSlug: string): Promise<WorkspaceRecord> {
    const rec = await this.o.store.findWorkspace(idOrSlug);
    if (!rec) throw new AppError('not_found', `Workspace ${idOrSlug} not found`, { field: 'id' });
    return rec;
  }

  list(filter: WorkspaceFilter, page: Page) {
    return this.o.store.listWorkspaces(filter, page);
  }

  async create(cmd: CreateWorkspaceCommand): Promise<{ rec: WorkspaceRecord; created: boolean }> {
    if (cmd.idempotencyKey) {
      const existing = await this.o.store.findWorkspaceByIdempotencyKey(cmd.idempotencyKey);
      if (existing) return { rec: existing, created: false };
    }
    const image = this.o.resolveImage(cmd.image);
    if (!image) throw new AppError('INVALID_IMAGE', `Unknown image ${cmd.image}`, { field: 'image' });
    const limits = this.o.policy.limits;
    const config = parseConfig(cmd.rawConfig, defaultConfig(limits), limits, cmd.mode);
    const rec = await this.lock.run(CREATE_LOCK, () => this.reserve(cmd, image, config));
    const op = this.background(rec.id);
    await Promise.race([op, delay(this.o.createWaitMs)]);
    return { rec: await this.get(rec.id), created: true };
  }

  /** Quota check, address allocation and the intent record, atomically. */
  private async reserve(cmd: CreateWorkspaceCommand, image: string, config: WorkspaceRecord['config']) {
    const all = await this.o.store.allWorkspaces();
    checkCreate(this.o.policy, usageOf(all), demandOf({ config }));
    if (cmd.slug && all.some((r) => r.slug === cmd.slug)) {
      throw new AppError('conflict', `Slug ${cmd.slug} is taken`, { field: 'slug' });
    }
    const ip = allocate(this.o.network.subnet, new Set(all.map((r) => r.ip)));
    const now = new Date().toISOString();
    const shortId = randomBytes(4).toString('hex');
    const network = defaultNetworkPolicy();
    network.allow_internet = config.network_config.allow_internet;
    network.public_access = config.network_config.public_ingress;
    const rec: WorkspaceRecord = {
      id: `ws_${randomBytes(6).toString('hex')}`,
      shortId,
      name: cmd.name ?? `${image}-${shortId}`,
      slug: cmd.slug,
      namespace: cmd.namespace,
      mode: cmd.mode,
      image,
      state: 'creating',
      pending: { op: 'create', startedAt: now },
      userRequestedStop: false,
      config,
      network,
      ip,
      apiAccess: { enabled: false, rawToken: newRawToken(), generation: 1 },
      metadata: {},
      idempotencyKey: cmd.idempotencyKey,
      error: null,
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      version: 0,
    };
    await this.o.store.insertWorkspace(rec);
    return rec;
  }

  /** Runs the pending operation of `id` under its lock, tracked for shutdown. */
  private background(id: string): Promise<unknown> {
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

  async power(idOrSlug: string, action: PowerAction): Promise<WorkspaceRecord | null> {
    const { id } = await this.get(idOrSlug);
    return this.lock.run(id, async () => {
      const rec = await this.get(id);
      const plan = planTransition(rec.state, action);
      if (plan.kind === 'noop') return rec;
      if (['start', 'restart'].includes(action) && rec.state === 'stopped') {
        checkRunning(this.o.policy, usageOf(await this.o.store.allWorkspaces(), rec.id), demandOf(rec));
      }
      const intent = await this.o.store.updateWorkspace({
        ...rec,
        state: plan.via,
        pending: { op: action, startedAt: new Date().toISOString() },
        userRequestedStop: action === 'stop' ? true : action === 'start' || action === 'restart' ? false : rec.userRequestedStop,
      });
      return runPending(this.o.store, this.o.orchestrator, intent, this.o.hooks);
    });
  }

  async update(idOrSlug: string, cmd: UpdateWorkspaceCommand): Promise<WorkspaceRecord> {
    const { id } = await this.get(idOrSlug);
    return this.lock.run(id, async () => {
      const rec = await this.get(id);
      const next: WorkspaceRecord = { ...rec };
      if (cmd.name !== undefined) next.name = cmd.name;
      if (cmd.slug !== undefined) next.slug = cmd.slug;
      if (cmd.rawConfig) next.config = parseConfig(cmd.rawConfig, rec.config, this.o.policy.limits, rec.mode);
      if (cmd.rawConfig?.disk_size_mb !== undefined || cmd.rawConfig?.writable_size_mb !== undefined) {
        if (next.config.disk_size_mb !== rec.config.disk_size_mb) {
          throw new AppError('conflict', 'The writable disk size cannot be changed after creation', {
            field: 'config.disk_size_mb',
          });
        }
      }
      const usage = usageOf(await this.o.store.allWorkspaces(), rec.id);
      checkCreate({ ...this.o.policy, maxSandboxes: Number.POSITIVE_INFINITY }, usage, demandOf(next));
      const saved = await this.o.store.updateWorkspace(next, rec.version);
      if (rec.state === 'running' || rec.state === 'paused') await this.o.orchestrator.updateResources(saved);
      return saved;
    });
  }

  /**
   * Changes mode / TTL / restart policy (lifecycle routes). `renew` restarts the
   * TTL clock (ping). Validation of the loose fields happens here.
   */
  async updateLifecycle(idOrSlug: string, change: (rec: WorkspaceRecord) => LifecycleChange): Promise<WorkspaceRecord> {
    const { id } = await this.get(idOrSlug);
    return this.lock.run(id, async () => {
      const rec = await this.get(id);
      const ch = change(rec);
      const config = { ...rec.config, extra: { ...rec.config.extra } };
      if (ch.restart_policy !== undefined) {
        config.restart_policy = parseConfig({ restart_policy: ch.restart_policy }, config, this.o.policy.limits, rec.mode).restart_policy;
      }
      if (ch.remove_on_exit !== undefined) {
        if (typeof ch.remove_on_exit !== 'boolean') throw new AppError('validation_error', 'remove_on_exit must be a boolean', { field: 'remove_on_exit' });
        config.remove_on_exit = ch.remove_on_exit;
      }
      if (ch.ttl !== undefined) config.ttl = ch.ttl;
      if (ch.ttl_action !== undefined) config.ttl_action = ch.ttl_action;
      if (ch.renew || ch.ttl !== undefined) config.extra.ttl_renewed_at = new Date().toISOString();
      const mode = ch.mode ?? rec.mode;
      if (mode === 'permanent') config.ttl = null;
      return this.o.store.updateWorkspace({ ...rec, mode, config }, rec.version);
    });
  }

  /** Waits for every background operation (graceful shutdown, tests). */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Runs `fn` under the workspace's lock (used by the reconciler and access control). */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(id, fn);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
