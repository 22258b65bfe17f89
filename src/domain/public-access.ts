/**
 * Public access (control-plane.md §8): exposed ports of a workspace, each reachable
 * through Warren's HTTP edge at `http://<slug>.<public domain>/` and `/p/<slug>/`.
 *
 * Contract:
 * - Changes run under the workspace's lock; slugs are unique across all workspaces
 *   (the store's unique index is the final arbiter → 409 `slug_taken`).
 * - Exposing an already exposed port is idempotent: it updates the label and/or
 *   slug given and keeps `created_at` (answer 200 instead of 201).
 * - After every change `onExposuresChanged(workspaceId)` is awaited (the firewall
 *   opens/closes host → workspace ports); when a slug stops routing (revoke, slug
 *   change) `onRevoked(workspaceId, port)` is called first so the edge cuts the
 *   exposure's connections at once.
 */
import { randomBytes } from 'node:crypto';
import { AppError, isAppError } from '../contract/errors.js';
import {
  MAX_EXPOSURES_PER_WORKSPACE, RESERVED_PORTS, assertNotReserved, type ExposeInput,
} from '../contract/public-access.js';
import type { PublicPortRecord, Store, WorkspaceRecord } from '../store/store.js';
import type { RelayVia } from './ports.js';
import type { WorkspaceBackend } from './backend.js';

export interface PublicPortView {
  port: number;
  /** The slug (the SDK and seeds call it `hash`). */
  hash: string;
  label: string;
  url: string;
  path_url: string;
  domain: string | null;
  created_at: string;
}

/** The entry of a workspace object's `public_ports` (seed 004). */
export type PublicPortSummary = Pick<PublicPortView, 'port' | 'hash' | 'label' | 'url'>;

/** Where an edge request for a slug goes. */
export interface EdgeTarget {
  workspaceId: string;
  ip: string;
  port: number;
  /** The node relay to reach `ip` through (the workspace runs on another node); absent = directly. */
  via?: RelayVia;
}

export interface PublicUrls {
  hostUrl(slug: string): string;
  pathUrl(slug: string): string;
}

export interface PublicAccessDeps {
  store: Store;
  workspaces: {
    get(idOrSlug: string): Promise<WorkspaceRecord>;
    withLock<T>(id: string, fn: () => Promise<T>): Promise<T>;
  };
  urls: PublicUrls;
  /** Awaited after every change (firewall sync). Default: no-op. */
  onExposuresChanged?: (workspaceId: string) => Promise<void>;
  /** Called when a slug of (workspace, port) stops routing (edge cut). Default: no-op. */
  onRevoked?: (workspaceId: string, port: number) => void;
  reservedPorts?: readonly number[];
  maxPerWorkspace?: number;
  /** Wakes a sleeping workspace (idle policy); absent: a sleeping workspace is 409 like a stopped one. */
  wake?: (id: string) => Promise<WorkspaceRecord>;
  /** After a cold wake (the workspace was stopped), waits until its port accepts connections. */
  waitForPort?: (ip: string, port: number, timeoutMs: number) => Promise<boolean>;
  /** Slug generator (tests); default 8 random base36 characters. */
  newSlug?: () => string;
  /** Where the workspace runs (src/domain/backend.ts): its node's relay, or 503 node_lost. Absent: this host. */
  backend?: Pick<WorkspaceBackend, 'via' | 'assertReachable'>;
}

/**
 * URLs handed to clients. `port()` is read lazily because a server started with
 * port 0 learns its real port only after listening.
 */
export function publicUrls(o: { publicDomain: string; baseUrl: () => string; port: () => number }): PublicUrls {
  return {
    hostUrl: (slug) => {
      const port = o.port();
      return `http://${slug}.${o.publicDomain}${port === 80 ? '' : `:${port}`}/`;
    },
    pathUrl: (slug) => `${o.baseUrl().replace(/\/+$/, '')}/p/${slug}/`,
  };
}

/** How long a request to a cold-woken workspace waits for its application's port. */
export const WAKE_PORT_WAIT_MS = 10_000;

export function randomSlug(): string {
  const bytes = randomBytes(8);
  let out = '';
  for (const b of bytes) out += (b % 36).toString(36);
  return out;
}

export class PublicAccess {
  private readonly reserved: readonly number[];
  private readonly max: number;

  constructor(private readonly d: PublicAccessDeps) {
    this.reserved = d.reservedPorts ?? RESERVED_PORTS;
    this.max = d.maxPerWorkspace ?? MAX_EXPOSURES_PER_WORKSPACE;
  }

  view(rec: PublicPortRecord): PublicPortView {
    return {
      port: rec.port,
      hash: rec.slug,
      label: rec.label,
      url: this.d.urls.hostUrl(rec.slug),
      path_url: this.d.urls.pathUrl(rec.slug),
      domain: rec.domain,
      created_at: rec.created_at,
    };
  }

  summary(rec: PublicPortRecord): PublicPortSummary {
    const { port, hash, label, url } = this.view(rec);
    return { port, hash, label, url };
  }

  async list(workspaceId: string): Promise<PublicPortView[]> {
    return (await this.d.store.listPublicPorts(workspaceId)).map((r) => this.view(r));
  }

  /** The workspace object's `public_ports`. */
  async summaries(workspaceId: string): Promise<PublicPortSummary[]> {
    return (await this.d.store.listPublicPorts(workspaceId)).map((r) => this.summary(r));
  }

  /** `public_ports` of many workspaces at once (workspace lists). */
  async summariesByWorkspace(): Promise<Map<string, PublicPortSummary[]>> {
    const out = new Map<string, PublicPortSummary[]>();
    for (const rec of await this.d.store.allPublicPorts()) {
      const list = out.get(rec.workspace_id) ?? [];
      list.push(this.summary(rec));
      out.set(rec.workspace_id, list);
    }
    return out;
  }

  /** Every exposure as the firewall compiler wants it. */
  async exposures(): Promise<Array<{ workspaceId: string; port: number }>> {
    return (await this.d.store.allPublicPorts()).map((r) => ({ workspaceId: r.workspace_id, port: r.port }));
  }

  /** `input` is the parsed body (contract `parseExpose`); the agent's reserved ports are refused here. */
  async expose(workspaceId: string, input: ExposeInput): Promise<{ port: PublicPortView; created: boolean }> {
    assertNotReserved(input.port, this.reserved);
    const result = await this.d.workspaces.withLock(workspaceId, async () => {
      await this.d.workspaces.get(workspaceId); // still there under the lock
      const current = await this.d.store.listPublicPorts(workspaceId);
      const existing = current.find((r) => r.port === input.port);
      if (!existing && current.length >= this.max) {
        throw new AppError('public_port_limit_reached', `A workspace can expose at most ${this.max} ports`, {
          field: 'port', limit: this.max,
        });
      }
      const slug = input.slug ?? existing?.slug ?? (await this.freshSlug());
      const rec: PublicPortRecord = {
        workspace_id: workspaceId,
        port: input.port,
        slug,
        label: input.label ?? existing?.label ?? '',
        domain: null,
        created_at: existing?.created_at ?? new Date().toISOString(),
      };
      await this.save(rec);
      if (existing && existing.slug !== slug) this.d.onRevoked?.(workspaceId, input.port);
      return { rec, created: !existing };
    });
    await this.changed(workspaceId);
    return { port: this.view(result.rec), created: result.created };
  }

  /** `port` and `slug` come parsed from the edge (contract `parsePort`, `parseSlugUpdate`). */
  async updateSlug(workspaceId: string, port: number, slug: string): Promise<PublicPortView> {
    const rec = await this.d.workspaces.withLock(workspaceId, async () => {
      const existing = await this.find(workspaceId, port);
      if (existing.slug === slug) return existing;
      const next = { ...existing, slug };
      await this.save(next);
      this.d.onRevoked?.(workspaceId, port); // the old slug stops routing now
      return next;
    });
    await this.changed(workspaceId);
    return this.view(rec);
  }

  /** `port` comes parsed from the edge (contract `parsePort`). */
  async revoke(workspaceId: string, port: number): Promise<void> {
    await this.d.workspaces.withLock(workspaceId, async () => {
      await this.find(workspaceId, port);
      await this.d.store.deletePublicPort(workspaceId, port);
      this.d.onRevoked?.(workspaceId, port);
    });
    await this.changed(workspaceId);
  }

  /**
   * The edge's lookup: null for an unknown slug; throws `workspace_not_running`
   * (409) when the exposure exists but its workspace is not running.
   */
  async resolve(slug: string): Promise<EdgeTarget | null> {
    const rec = await this.d.store.findPublicPortBySlug(slug);
    if (!rec) return null;
    let ws = await this.d.store.getWorkspace(rec.workspace_id);
    if (!ws) return null;
    if (ws.state !== 'running' && ws.lifecycle.asleep && this.d.wake) ws = await this.wakeFor(ws, rec.port);
    if (ws.state !== 'running') {
      throw new AppError('workspace_not_running', `The workspace behind this address is ${ws.state}`, {
        workspace_id: ws.id, state: ws.state,
      });
    }
    await this.d.backend?.assertReachable(ws);
    const via = await this.d.backend?.via(ws);
    return { workspaceId: ws.id, ip: ws.ip, port: rec.port, ...(via ? { via } : {}) };
  }

  /**
   * Wakes the workspace behind an exposure. A frozen one answers at once; a stopped one
   * boots, and its application gets WAKE_PORT_WAIT_MS to listen, else 503
   * `workspace_waking` (retry; the boot goes on).
   */
  private async wakeFor(ws: WorkspaceRecord, port: number): Promise<WorkspaceRecord> {
    const cold = ws.lifecycle.asleep?.state === 'stopped';
    const woken = await this.d.wake!(ws.id);
    if (cold && woken.state === 'running' && this.d.waitForPort && !(await this.d.waitForPort(woken.ip, port, WAKE_PORT_WAIT_MS))) {
      throw new AppError('workspace_waking', 'The workspace is starting; retry in a moment', { retry_after: 1, workspace_id: ws.id });
    }
    return woken;
  }

  private async find(workspaceId: string, port: number): Promise<PublicPortRecord> {
    const rec = (await this.d.store.listPublicPorts(workspaceId)).find((r) => r.port === port);
    if (!rec) throw new AppError('not_found', `Port ${port} is not exposed`, { field: 'port' });
    return rec;
  }

  /** Writes, turning a slug held by another exposure into 409 `slug_taken`. */
  private async save(rec: PublicPortRecord): Promise<void> {
    const holder = await this.d.store.findPublicPortBySlug(rec.slug);
    if (holder && (holder.workspace_id !== rec.workspace_id || holder.port !== rec.port)) throw slugTaken(rec.slug);
    try {
      await this.d.store.putPublicPort(rec);
    } catch (err) {
      if (isAppError(err) && err.code === 'conflict' && err.details?.field === 'slug') throw slugTaken(rec.slug);
      throw err;
    }
  }

  private async freshSlug(): Promise<string> {
    const make = this.d.newSlug ?? randomSlug;
    for (let i = 0; i < 10; i++) {
      const slug = make();
      if (!(await this.d.store.findPublicPortBySlug(slug))) return slug;
    }
    throw new AppError('server_error', 'Could not generate a free slug');
  }

  private async changed(workspaceId: string): Promise<void> {
    await this.d.onExposuresChanged?.(workspaceId);
  }
}

function slugTaken(slug: string): AppError {
  return new AppError('slug_taken', `The slug ${slug} is already in use`, { field: 'slug' });
}
