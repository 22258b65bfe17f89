/**
 * Snapshots of writable layers: `<snapshotsDir>/<shortId>/<snapshotId>.img`, each a
 * copy of a sandbox's `disk.img` — a reflink clone on copy-on-write storage (the
 * data is shared until either side writes), a sparse streamed copy otherwise.
 *
 * Consistency: a live sandbox's processes are frozen (cgroup freezer) and its ext4 is
 * fsfreeze'd — every write reaches the image file — for exactly the copy. Atomicity:
 * copies are written beside their final name and renamed (src/storage/clone.ts), so a
 * crash leaves no file a reader could take for a snapshot; `sweep` removes leftovers.
 * Process memory is not captured: CRIU fails on this kernel (host-facts §5).
 */
import { mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerRef, SnapshotCapabilities, SnapshotResult } from '../driver.js';
import { cloneFile, TMP_MARK } from '../../storage/clone.js';
import type { SandboxCgroups } from './cgroups.js';
import { isShortId, statePaths } from './names.js';
import { mountedHere } from './storage.js';

export interface LayerStoreOptions {
  snapshotsDir: string;
  copyOnWrite: boolean;
}

const SNAPSHOT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const IMG = '.img';

export const MEMORY_UNAVAILABLE_REASON =
  'The namespace driver captures the filesystem only: process memory cannot be checkpointed on this host '
  + '(CRIU does not support its kernel), so restored workspaces boot fresh from the captured files.';

function assertRef(ref: LayerRef): void {
  if (!isShortId(ref.shortId) || !SNAPSHOT_ID.test(ref.snapshotId)) {
    throw new Error(`invalid snapshot reference ${JSON.stringify(ref)}`);
  }
}

export class LayerStore {
  readonly capabilities: SnapshotCapabilities;

  constructor(private readonly o: LayerStoreOptions) {
    this.capabilities = {
      filesystem: true,
      memory: false,
      memoryUnavailableReason: MEMORY_UNAVAILABLE_REASON,
      copyOnWrite: o.copyOnWrite,
    };
  }

  fileOf(ref: LayerRef): string {
    assertRef(ref);
    return join(this.o.snapshotsDir, ref.shortId, `${ref.snapshotId}${IMG}`);
  }

  /** Copies the layer of the sandbox in `stateDir` to `ref`, freezing a live sandbox for the copy. */
  async snapshot(stateDir: string, cg: SandboxCgroups, ref: LayerRef, keepFrozen = false): Promise<SnapshotResult> {
    const p = statePaths(stateDir);
    const dest = this.fileOf(ref);
    await stat(p.disk); // a readable error when there is no layer
    await mkdir(join(this.o.snapshotsDir, ref.shortId), { recursive: true, mode: 0o700 });
    let frozenMs = 0;
    if (!mountedHere(p.upperFs)) {
      await cloneFile(p.disk, dest, this.o.copyOnWrite);
    } else {
      const t0 = performance.now();
      const wasFrozen = (await cg.freezerState()) === 'FROZEN';
      if (!wasFrozen && cg.exists()) await cg.setFrozen(true);
      try {
        await cloneFile(p.disk, dest, this.o.copyOnWrite, p.upperFs);
      } finally {
        if (!wasFrozen && !keepFrozen && cg.exists()) await cg.setFrozen(false);
        frozenMs = performance.now() - t0;
      }
    }
    return { bytes: (await stat(dest)).blocks * 512, copyOnWrite: this.o.copyOnWrite, frozenMs };
  }

  /** Replaces the (unmounted) layer in `stateDir` with the snapshot's. */
  async restore(stateDir: string, ref: LayerRef): Promise<void> {
    const p = statePaths(stateDir);
    if (mountedHere(p.upperFs) || mountedHere(p.rootfs)) {
      throw new Error('cannot restore the writable layer of a running sandbox; stop it first');
    }
    const src = this.fileOf(ref);
    await stat(src);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await cloneFile(src, p.disk, this.o.copyOnWrite);
  }

  async delete(ref: LayerRef): Promise<void> {
    await rm(this.fileOf(ref), { force: true });
    await rmdir(join(this.o.snapshotsDir, ref.shortId)).catch(() => undefined); // only when empty
  }

  /** Every complete snapshot on disk. */
  async list(): Promise<LayerRef[]> {
    const out: LayerRef[] = [];
    for (const shortId of await readdir(this.o.snapshotsDir).catch(() => [] as string[])) {
      if (!isShortId(shortId)) continue;
      for (const name of await readdir(join(this.o.snapshotsDir, shortId)).catch(() => [] as string[])) {
        const snapshotId = name.slice(0, -IMG.length);
        if (name.endsWith(IMG) && SNAPSHOT_ID.test(snapshotId)) out.push({ shortId, snapshotId });
      }
    }
    return out;
  }

  /** Removes copies a crash interrupted (they never got their final name). */
  async sweep(): Promise<void> {
    for (const shortId of await readdir(this.o.snapshotsDir).catch(() => [] as string[])) {
      const dir = join(this.o.snapshotsDir, shortId);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (name.includes(TMP_MARK)) await rm(join(dir, name), { force: true });
      }
    }
  }

  /** Deletes every snapshot of one sandbox (its record is gone). */
  async deleteAll(shortId: string): Promise<void> {
    if (!isShortId(shortId)) return;
    await rm(join(this.o.snapshotsDir, shortId), { recursive: true, force: true });
  }
}
