/**
 * Snapshots and archives → wire objects (control-plane.md §10). Pure. Archives carry
 * `version` at the top level (SDK ArchiveInfo) and their checksum.
 */
import type { SnapshotCapabilities } from '../drivers/driver.js';
import type { ArchiveRecord, SnapshotRecord } from '../store/store.js';

export function snapshotView(s: SnapshotRecord, caps: SnapshotCapabilities): Record<string, unknown> {
  return {
    id: s.id,
    workspace_id: s.workspace_id,
    created_at: s.created_at,
    mode: 'filesystem',
    memory: caps.memory,
    memory_unavailable_reason: caps.memoryUnavailableReason,
    copy_on_write: s.copy_on_write,
    bytes: s.bytes,
    frozen_ms: Math.round(s.frozen_ms * 10) / 10,
  };
}

export function archiveView(a: ArchiveRecord): Record<string, unknown> {
  return {
    version: a.version,
    status: a.state === 'ready' ? 'ready' : 'writing',
    format: a.format,
    kind: a.kind,
    vm_paths: a.vm_paths,
    exclude_vm_paths: a.exclude_vm_paths,
    size_bytes: a.size_bytes,
    sha256: a.sha256,
    created_at: a.created_at,
    completed_at: a.completed_at,
  };
}
