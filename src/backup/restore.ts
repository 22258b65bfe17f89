/**
 * `warren restore`: puts a backup's database and control-plane files into a data dir.
 *
 * Order, so that a refusal leaves the data dir exactly as it was:
 * 1. no server may be using the data dir (src/backup/live-server.ts);
 * 2. the whole archive is read and checked — safe entry names, regular files only, every
 *    sha256 against the manifest — and its schema version must be one this build knows;
 * 3. a data dir that already holds a database or control files is refused unless `force`;
 * 4. the entries are extracted into a private staging directory inside the data dir and
 *    checked again (what was written is what was verified);
 * 5. with `force`, what is there (database, its WAL companions, control files) is moved
 *    aside to `<dataDir>/restore-<timestamp>/` — never deleted — and the staged files are
 *    renamed into place with the modes the backup recorded.
 * Workspace disks are not in a backup: the next `warren serve` finds the records whose
 * disks are not on this host and marks them failed (src/domain/reconciler.ts).
 */
import { chmod, lstat, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readBackup } from './archive.js';
import { CONTROL_FILES, DATABASE_COMPANIONS, DATABASE_FILE } from './contents.js';
import { buildSchemaVersion, schemaVersionOf } from './create.js';
import { BackupError } from './errors.js';
import { serverUsing } from './live-server.js';
import type { Manifest } from './manifest.js';

export interface RestoreResult {
  manifest: Manifest;
  /** Where the data dir's previous state went, or null when there was none. */
  movedAside: string | null;
}

/** The data dir's state files present now, relative to it. */
async function presentState(dataDir: string): Promise<string[]> {
  const present: string[] = [];
  for (const rel of [DATABASE_FILE, ...DATABASE_COMPANIONS, ...CONTROL_FILES]) {
    if (await lstat(join(dataDir, rel)).catch(() => null)) present.push(rel);
  }
  return present;
}

function refuseNewer(version: number): never {
  throw new BackupError('newer_schema',
    `backup has a newer schema: version ${version}, this Warren's migrations end at ${buildSchemaVersion()}; restore it with a newer Warren`);
}

/** Makes the directories of `rel` under `root`, refusing one that is a link (it could lead out of the data dir). */
async function makeParents(root: string, rel: string): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    const st = await lstat(dir).catch(() => null);
    if (!st) await mkdir(dir, { mode: 0o700 });
    else if (!st.isDirectory()) throw new BackupError('unsafe_entry', `unsafe restore target: ${dir} is not a directory`);
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

export async function restoreBackup(dataDir: string, from: string, force: boolean): Promise<RestoreResult> {
  const pid = await serverUsing(dataDir);
  if (pid !== null) throw new BackupError('server_running', `a Warren server is running on ${dataDir} (pid ${pid}); stop it before restoring`);
  const manifest = await readBackup(from);
  if (!manifest.files.some((f) => f.path === DATABASE_FILE)) throw new BackupError('corrupt', `corrupt backup: it holds no ${DATABASE_FILE}`);
  if (manifest.schema_version > buildSchemaVersion()) refuseNewer(manifest.schema_version);
  const present = await presentState(dataDir);
  if (present.length > 0 && !force) {
    throw new BackupError('not_empty', `data dir not empty: ${dataDir} already holds ${present.join(', ')}; pass --force to move them aside to ${dataDir}/restore-<timestamp>/`);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const stage = await mkdtemp(join(dataDir, '.restore-staging-'));
  try {
    await readBackup(from, stage);
    const actual = schemaVersionOf(join(stage, DATABASE_FILE));
    if (actual > buildSchemaVersion()) refuseNewer(actual);
    let movedAside: string | null = null;
    if (present.length > 0) {
      movedAside = join(dataDir, `restore-${stamp()}`);
      await mkdir(movedAside, { mode: 0o700 });
      for (const rel of present) {
        await makeParents(movedAside, rel);
        await rename(join(dataDir, rel), join(movedAside, rel));
      }
    }
    for (const f of manifest.files) {
      await makeParents(dataDir, f.path);
      await chmod(join(stage, f.path), f.mode);
      await rename(join(stage, f.path), join(dataDir, f.path));
    }
    return { manifest, movedAside };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
