/**
 * `warren backup --data-dir D --out FILE` and `warren restore --data-dir D --from FILE [--force]`
 * for single-host (SQLite) installations; the work is in src/backup/. Every refusal is a
 * BackupError with a one-line message (the CLI prints it and exits 1).
 */
import { resolve } from 'node:path';
import { DEFAULTS } from '../config/load.js';
import type { Flags } from '../config/load.js';
import { BACKUP_HOLDS, BACKUP_OMITS } from '../backup/contents.js';
import { createBackup } from '../backup/create.js';
import { restoreBackup } from '../backup/restore.js';

export const BACKUP_USAGE = `  warren backup --data-dir D --out FILE          (a consistent copy, also while the server runs)
      holds: ${BACKUP_HOLDS}
      not:   ${BACKUP_OMITS}
  warren restore --data-dir D --from FILE [--force]
      (server stopped; every sha256 checked first; --force moves the current database and files to D/restore-<timestamp>/)`;

function dataDirOf(flags: Flags): string {
  const raw = flags['data-dir'] ?? process.env.WARREN_DATA_DIR ?? DEFAULTS.dataDir;
  return resolve(String(raw));
}

function requiredPath(flags: Flags, name: string, cmd: string): string {
  const v = flags[name];
  if (typeof v !== 'string' || v === '') throw new Error(`${cmd} needs --${name} FILE`);
  return resolve(v);
}

export async function backupCommand(flags: Flags): Promise<void> {
  const r = await createBackup(dataDirOf(flags), requiredPath(flags, 'out', 'backup'));
  process.stdout.write(`backup written to ${r.out}: ${r.manifest.files.length} file(s), database schema ${r.manifest.schema_version}, `
    + `${r.bytes} bytes (workspace disks, layers, archives and images are not included)\n`);
}

export async function restoreCommand(flags: Flags): Promise<void> {
  const dataDir = dataDirOf(flags);
  const r = await restoreBackup(dataDir, requiredPath(flags, 'from', 'restore'), flags.force === true);
  const aside = r.movedAside ? `; the previous database and files are in ${r.movedAside}` : '';
  process.stdout.write(`restored ${r.manifest.files.length} file(s) from the backup of ${r.manifest.created_at} `
    + `(Warren ${r.manifest.warren_version}, schema ${r.manifest.schema_version}) into ${dataDir}${aside}\n`
    + `start it with: warren serve --data-dir ${dataDir} (workspaces whose disks are not on this host become failed)\n`);
}
