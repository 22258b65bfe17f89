/**
 * Records of exposed ports, snapshots and archives (the Store's rows for src/domain/public-access.ts
 * and src/domain/layer-ops.ts); re-exported by store.ts.
 */
import type { ArchiveFormat } from '../contract/layers.js';

export interface PublicPortRecord {
  workspace_id: string;
  port: number;
  /** Unique across all workspaces; the edge routes `<slug>.<public domain>` by it. */
  slug: string;
  label: string;
  /** Custom domain; always null until domain ownership checks exist. */
  domain: string | null;
  created_at: string;
}

/**
 * A point-in-time copy of a writable layer held by the driver. `purpose`: the user's
 * snapshot (restore), a fork's seed, or the source of an archive being written.
 * Written `pending` before the copy and `ready` after, so a crash is recognisable.
 */
export interface SnapshotRecord {
  id: string;
  /** The workspace it was taken of. */
  workspace_id: string;
  /** The driver's owner id of the file: the shortId of the workspace it was taken of. */
  short_id: string;
  purpose: 'snapshot' | 'fork' | 'archive';
  state: 'pending' | 'ready';
  bytes: number;
  copy_on_write: boolean;
  frozen_ms: number;
  created_at: string;
}

/** A versioned, compressed, checksummed archive of a workspace's files in the data dir. */
export interface ArchiveRecord {
  workspace_id: string;
  version: string;
  /** `writing` until the file is complete and renamed into place. */
  state: 'writing' | 'ready';
  format: ArchiveFormat;
  /** `layer`: the whole writable layer; `files`: `vm_paths` of the workspace's filesystem. */
  kind: 'layer' | 'files';
  vm_paths: string[];
  exclude_vm_paths: string[];
  size_bytes: number;
  /** sha256 of the file (hex), checked on every read; null while writing. */
  sha256: string | null;
  /** File name inside the workspace's archive directory. */
  file: string;
  created_at: string;
  completed_at: string | null;
}

export interface SnapshotFilter {
  workspaceId?: string;
  purpose?: SnapshotRecord['purpose'];
  state?: SnapshotRecord['state'];
}
