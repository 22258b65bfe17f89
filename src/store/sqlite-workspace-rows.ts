/**
 * One `workspaces` row ↔ one WorkspaceRecord for the SQLite store: queried and unique
 * fields are columns, nested structures JSON text (JSON.stringify/parse round-trip the
 * records exactly). A record written before a field existed gets its default on read.
 */
import { emptyLifecycleInfo } from './store.js';
import { tokenHashOf } from './token-hash.js';
import type { LifecycleInfo, LifecycleState, WorkspaceRecord } from './store.js';
import { AppError } from '../contract/errors.js';

/** One `workspaces` row as SQLite hands it back. */
export interface WorkspaceRow {
  id: string;
  short_id: string;
  name: string;
  slug: string | null;
  namespace: string | null;
  mode: string;
  image: string;
  image_id: string | null;
  state: string;
  pending: string | null;
  user_requested_stop: number;
  config: string;
  network: string;
  ip: string;
  api_access: string;
  metadata: string;
  lifecycle: string;
  idempotency_key: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  node_id: string | null;
  version: number;
  /** Derived, never read back: sha256 of the raw runtime token while access is enabled (token-hash.ts). */
  token_hash: string | null;
}

export const COLUMNS: ReadonlyArray<keyof WorkspaceRow> = [
  'id', 'short_id', 'name', 'slug', 'namespace', 'mode', 'image', 'image_id', 'state', 'pending',
  'user_requested_stop', 'config', 'network', 'ip', 'api_access', 'metadata', 'lifecycle',
  'idempotency_key', 'error', 'created_at', 'updated_at', 'started_at', 'node_id', 'version', 'token_hash',
];

/** Unique columns whose violation is a client-visible conflict, with the message to show. */
export const UNIQUE_FIELDS: Record<string, string> = {
  id: 'A workspace with this id already exists',
  short_id: 'A workspace with this short id already exists',
  slug: 'A workspace with this slug already exists',
  ip: 'This IP address is already assigned to another workspace',
  idempotency_key: 'A workspace with this idempotency key already exists',
};

/** Filter keys → column names; the only identifiers ever spliced into SQL. */
export const FILTER_COLUMNS = { mode: 'mode', state: 'state', namespace: 'namespace' } as const;

function toJson(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function recordToRow(rec: WorkspaceRecord): WorkspaceRow {
  return {
    id: rec.id,
    short_id: rec.shortId,
    name: rec.name,
    slug: rec.slug,
    namespace: rec.namespace,
    mode: rec.mode,
    image: rec.image,
    image_id: rec.imageId,
    state: rec.state,
    pending: toJson(rec.pending),
    user_requested_stop: rec.userRequestedStop ? 1 : 0,
    config: JSON.stringify(rec.config),
    network: JSON.stringify(rec.network),
    ip: rec.ip,
    api_access: JSON.stringify(rec.apiAccess),
    metadata: JSON.stringify(rec.metadata),
    lifecycle: JSON.stringify(rec.lifecycle),
    idempotency_key: rec.idempotencyKey,
    error: toJson(rec.error),
    created_at: rec.createdAt,
    updated_at: rec.updatedAt,
    started_at: rec.startedAt,
    node_id: rec.nodeId,
    version: rec.version,
    token_hash: tokenHashOf(rec.apiAccess),
  };
}

export function rowToRecord(row: WorkspaceRow): WorkspaceRecord {
  return {
    id: row.id,
    shortId: row.short_id,
    name: row.name,
    slug: row.slug,
    namespace: row.namespace,
    mode: row.mode as WorkspaceRecord['mode'],
    image: row.image,
    imageId: row.image_id ?? null,
    state: row.state as LifecycleState,
    pending: fromJson<WorkspaceRecord['pending']>(row.pending),
    userRequestedStop: row.user_requested_stop !== 0,
    config: JSON.parse(row.config) as WorkspaceRecord['config'],
    network: JSON.parse(row.network) as WorkspaceRecord['network'],
    ip: row.ip,
    apiAccess: JSON.parse(row.api_access) as WorkspaceRecord['apiAccess'],
    metadata: JSON.parse(row.metadata) as WorkspaceRecord['metadata'],
    lifecycle: { ...emptyLifecycleInfo(), ...(JSON.parse(row.lifecycle) as Partial<LifecycleInfo>) },
    idempotencyKey: row.idempotency_key,
    error: fromJson<WorkspaceRecord['error']>(row.error),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    nodeId: row.node_id ?? null,
    version: row.version,
  } satisfies WorkspaceRecord;
}

/** Refuses a page that is not a positive integer page number and size (both stores' listWorkspaces). */
export function checkPage(page: { page: number; limit: number }): void {
  if (!Number.isInteger(page.page) || page.page < 1) {
    throw new AppError('validation_error', 'page must be an integer ≥ 1', { field: 'page' });
  }
  if (!Number.isInteger(page.limit) || page.limit < 1) {
    throw new AppError('validation_error', 'limit must be an integer ≥ 1', { field: 'limit' });
  }
}
