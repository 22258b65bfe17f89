/**
 * Copies a layer image file, atomically: the copy is written beside `dest` and renamed
 * over it only once complete, so a crash leaves the old file or the new one, never
 * half of one (the `.tmp-` leftover is swept at start).
 *
 * `cow`: a reflink clone (FICLONE; the storage pool guarantees it works). Otherwise a
 * sparse-aware streamed copy at idle I/O and CPU priority, so that workspaces writing
 * while it runs keep their share of the disk.
 */
import { open, rename, rm } from 'node:fs/promises';
import { run } from '../util/exec.js';

export const TMP_MARK = '.tmp-';

/** Time a streamed copy may take (a 200 GiB layer at ~150 MiB/s). */
const COPY_TIMEOUT_MS = 30 * 60_000;

function copyArgs(src: string, tmp: string, cow: boolean): string[] {
  return cow
    ? ['cp', '--reflink=always', '--', src, tmp]
    : ['ionice', '-c', '2', '-n', '7', 'nice', '-n', '10', 'cp', '--reflink=never', '--sparse=always', '--', src, tmp];
}

/**
 * Thaws `frozenMount` after the copy whatever happens to the copy: one shell runs
 * fsfreeze, the copy and the unfreeze, so a freeze costs no more process starts from
 * the server than it must (a crash of the server mid-way is undone at start: recover()).
 */
const FROZEN_COPY = 'm="$1"; shift; fsfreeze --freeze "$m" || exit 97; "$@"; rc=$?; fsfreeze --unfreeze "$m"; exit $rc';

/**
 * With `frozenMount`, the filesystem mounted there is frozen (fsfreeze: every write has
 * reached the device, none starts) for exactly the copy.
 */
export async function cloneFile(src: string, dest: string, cow: boolean, frozenMount?: string): Promise<void> {
  const tmp = `${dest}${TMP_MARK}${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    const argv = copyArgs(src, tmp, cow);
    if (frozenMount) {
      await run('sh', ['-c', FROZEN_COPY, 'sh', frozenMount, ...argv], { timeoutMs: COPY_TIMEOUT_MS });
    } else {
      await run(argv[0]!, argv.slice(1), { timeoutMs: COPY_TIMEOUT_MS });
    }
    // A streamed copy's data must be durable before it shows under its final name. A clone
    // is one journaled metadata operation, which the filesystem's log orders before the rename.
    if (!cow) {
      const fh = await open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await rename(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
}
