/**
 * Whether a Warren server is using a data dir now, for `warren restore` (which must
 * never swap a database under a running server). Two independent signs, either enough:
 * - an owner record of a bridge (src/host/owner-records.ts) names the data dir and its
 *   pid is a live `warren … serve` process (as `warren status` reports it);
 * - some process holds the data dir's database open (its /proc/<pid>/fd links), which
 *   also catches a server whose records live under another WARREN_RUN_DIR.
 */
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { warrenProcessAlive } from '../host/host-objects.js';
import { listRecords } from '../host/owner-records.js';
import { DATABASE_COMPANIONS, DATABASE_FILE } from './contents.js';

/** The pid of a server using `dataDir` (absolute), or null when none is. */
export async function serverUsing(dataDir: string): Promise<number | null> {
  for (const rec of await listRecords()) {
    if (rec.dataDir === dataDir && (await warrenProcessAlive(rec.pid))) return rec.pid;
  }
  return databaseHolder(dataDir);
}

async function databaseHolder(dataDir: string): Promise<number | null> {
  const targets = new Set([DATABASE_FILE, ...DATABASE_COMPANIONS].map((f) => join(dataDir, f)));
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (targets.has(target)) return Number(pid);
    }
  }
  return null;
}
