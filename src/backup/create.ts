/**
 * `warren backup`: a consistent copy of a data dir's database, taken while the server may
 * be running, plus its control-plane files (src/backup/contents.ts), in one archive.
 *
 * The database is copied with SQLite's online backup API over a read-only connection: the
 * copy is one committed state of the database (WAL frames included), whatever the server
 * writes meanwhile. A raw copy of a live WAL database could miss or tear committed pages.
 */
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MIGRATIONS } from '../store/migrations.js';
import { projectRoot } from '../util/paths.js';
import { digestFile, writeBackup, type SourceFile } from './archive.js';
import { CONTROL_FILES, DATABASE_FILE } from './contents.js';
import { BackupError } from './errors.js';
import { FORMAT, FORMAT_VERSION, type Manifest } from './manifest.js';

export interface BackupResult {
  out: string;
  manifest: Manifest;
  bytes: number;
}

/** The release in package.json. */
export function warrenVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The newest schema version this build's migrations know. */
export function buildSchemaVersion(): number {
  return MIGRATIONS.at(-1)?.version ?? 0;
}

/** The highest migration applied to the database at `path` (opened read-only). */
export function schemaVersionOf(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null } | undefined;
    return row?.v ?? 0;
  } catch {
    throw new BackupError('corrupt', `corrupt database: ${path} has no schema_migrations table`);
  } finally {
    db.close();
  }
}

/** Copies the live database at `from` to `to` with the online backup API. */
async function copyDatabase(from: string, to: string): Promise<void> {
  const src = new Database(from, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    await src.backup(to);
  } finally {
    src.close();
  }
  await chmod(to, 0o600);
}

export async function createBackup(dataDir: string, out: string): Promise<BackupResult> {
  const dbPath = join(dataDir, DATABASE_FILE);
  if (!(await stat(dbPath).catch(() => null))?.isFile()) {
    throw new BackupError('not_found', `no database to back up: ${dbPath} does not exist (an embedded SQLite data dir is needed)`);
  }
  const work = await mkdtemp(join(dirname(out), '.warren-backup-'));
  try {
    const copy = join(work, DATABASE_FILE);
    await copyDatabase(dbPath, copy);
    const files: SourceFile[] = [{ path: DATABASE_FILE, from: copy, mode: 0o600 }];
    for (const rel of CONTROL_FILES) {
      const st = await stat(join(dataDir, rel)).catch(() => null);
      if (!st?.isFile()) continue;
      // Copied first, so the digest and the archived bytes are of one version of the file.
      const from = join(work, rel);
      await mkdir(dirname(from), { recursive: true, mode: 0o700 });
      await copyFile(join(dataDir, rel), from);
      files.push({ path: rel, from, mode: st.mode & 0o777 });
    }
    const manifest: Manifest = {
      format: FORMAT,
      format_version: FORMAT_VERSION,
      warren_version: warrenVersion(),
      schema_version: schemaVersionOf(copy),
      created_at: new Date().toISOString(),
      files: [],
    };
    for (const f of files) manifest.files.push({ path: f.path, mode: f.mode, ...(await digestFile(f.from)) });
    await writeBackup(out, manifest, files);
    return { out, manifest, bytes: (await stat(out)).size };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
