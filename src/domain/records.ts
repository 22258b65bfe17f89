/**
 * A new workspace record with every field in its starting state (create, fork).
 * Pure: ids and timestamps come from the caller's randomness and clock.
 */
import { randomBytes } from 'node:crypto';
import { defaultNetworkPolicy, type WorkspaceConfig } from '../contract/workspace.js';
import { emptyLifecycleInfo, type PendingOperation, type WorkspaceRecord } from '../store/store.js';
import { newRawToken } from './tokens.js';

export interface NewRecordInput {
  image: string;
  /** The stored image when known at create (a catalog image not built yet has none). */
  imageId?: string | null;
  name: string | null;
  slug: string | null;
  namespace: string | null;
  mode: WorkspaceRecord['mode'];
  config: WorkspaceConfig;
  ip: string;
  /** The kernel objects' name; given when the sandbox exists already (a warm-pool one). */
  shortId?: string;
  idempotencyKey: string | null;
  metadata?: Record<string, string>;
  /** The create's layer source (a fork's seed). */
  source?: PendingOperation['source'];
  /** The node whose host runs it (null: this process's own host, a single-host server). */
  nodeId?: string | null;
}

/** `team/tool:1.2` → `tool`: the part of an image name fit for a default workspace name. */
function nameStem(image: string): string {
  const last = image.split('/').pop() ?? image;
  return last.split(/[:@]/)[0] || 'workspace';
}

/** State `creating` with a pending create: the intent, recorded before any side effect. */
export function newWorkspaceRecord(i: NewRecordInput, now = new Date().toISOString()): WorkspaceRecord {
  const shortId = i.shortId ?? randomBytes(4).toString('hex');
  const network = defaultNetworkPolicy();
  network.allow_internet = i.config.network_config.allow_internet;
  network.public_access = i.config.network_config.public_ingress;
  const pending: PendingOperation = { op: 'create', startedAt: now };
  if (i.source) pending.source = i.source;
  return {
    id: `ws_${randomBytes(6).toString('hex')}`,
    shortId,
    name: i.name ?? `${nameStem(i.image)}-${shortId}`,
    slug: i.slug,
    namespace: i.namespace,
    mode: i.mode,
    image: i.image,
    imageId: i.imageId ?? null,
    state: 'creating',
    pending,
    userRequestedStop: false,
    config: i.config,
    network,
    ip: i.ip,
    apiAccess: { enabled: false, rawToken: newRawToken(), generation: 1 },
    metadata: i.metadata ?? {},
    lifecycle: emptyLifecycleInfo(),
    idempotencyKey: i.idempotencyKey,
    error: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    // Placement (src/domain/nodes.ts) sets it on a fleet; a server sharing a database stamps its own
    // instance (DomainDeps.localNodeId); null: a single host.
    nodeId: i.nodeId ?? null,
    version: 0,
  };
}
