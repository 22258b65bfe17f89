/**
 * The backup file: a gzip-compressed tar whose first entry is `manifest.json`, then one
 * regular file per manifest entry. Written to a 0600 temp file beside the target, fsynced
 * and renamed, so the target is only ever absent, the old file or the whole new one.
 *
 * Reading is a verdict before anything is written: `readBackup` streams the archive and
 * refuses (BackupError) any entry that is not a regular file with a safe relative name
 * (no `..`, no absolute path, no links or devices: nothing can land outside the data
 * dir), duplicates, entries the manifest does not name, missing entries and digests that
 * do not match. Given a `stageDir`, it also writes each entry there (O_EXCL, O_NOFOLLOW,
 * 0600), re-checking the digests of what it wrote.
 */
import { createHash } from 'node:crypto';
import { constants as FS, createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { BackupError } from './errors.js';
import { isSafeEntryName, MANIFEST_MAX_BYTES, MANIFEST_NAME, parseManifest, type Manifest } from './manifest.js';

export interface SourceFile {
  /** Entry name (relative path in the data dir). */
  path: string;
  /** Where the bytes are read from now. */
  from: string;
  mode: number;
}

/** sha256 (hex) and size of a file. */
export async function digestFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Writes the archive of `manifest` and `files` to `out` atomically (0600). */
export async function writeBackup(out: string, manifest: Manifest, files: readonly SourceFile[]): Promise<void> {
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  try {
    const pack = tar.pack();
    const done = pipeline(pack as unknown as Readable, createGzip({ level: 6 }), createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
    const mtime = new Date(manifest.created_at);
    const addEntries = async () => {
      const text = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      await new Promise<void>((ok, fail) => pack.entry({ name: MANIFEST_NAME, size: text.length, mode: 0o600, mtime }, text, (e) => (e ? fail(e) : ok())));
      for (const f of files) {
        const entry = manifest.files.find((m) => m.path === f.path)!;
        await addFile(pack, { name: f.path, size: entry.size, mode: f.mode, mtime }, f.from);
      }
      pack.finalize();
    };
    await Promise.all([addEntries().catch((err: Error) => { pack.destroy(err); throw err; }), done]);
    await syncPath(tmp, FS.O_WRONLY);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await rename(tmp, out);
  await syncPath(dirname(out), FS.O_RDONLY);
}

/** fsync of a file or directory by path. */
async function syncPath(path: string, flags: number): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Streams the file at `from` into a new entry. tar-stream's entry sink is a streamx stream,
 * which Node's pipe()/pipeline() do not drive to the end: written by hand, with its
 * back-pressure, and done when the entry's callback says so.
 */
async function addFile(pack: tar.Pack, header: { name: string; size: number; mode: number; mtime: Date }, from: string): Promise<void> {
  await new Promise<void>((ok, fail) => {
    const sink = pack.entry(header, (e) => (e ? fail(e) : ok())) as unknown as Writable;
    (async () => {
      for await (const chunk of createReadStream(from) as AsyncIterable<Buffer>) {
        if (!sink.write(chunk)) await new Promise<void>((r) => sink.once('drain', () => r()));
      }
      sink.end();
    })().catch(fail);
  });
}

interface EntryFound {
  sha256: string;
  size: number;
  mode: number;
}

function unsafe(what: string): BackupError {
  return new BackupError('unsafe_entry', `unsafe backup entry: ${what}`);
}

/** Reads one entry into memory (the manifest), refusing one larger than `max`. */
async function readSmall(stream: AsyncIterable<Buffer>, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > max) throw new BackupError('corrupt', 'corrupt backup: manifest.json is too large');
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Hashes an entry's bytes, writing them to `dest` (a new 0600 file) when given. */
async function consume(stream: AsyncIterable<Buffer>, dest: string | null): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const fh = dest === null ? null : await open(dest, FS.O_CREAT | FS.O_EXCL | FS.O_WRONLY | FS.O_NOFOLLOW, 0o600);
  try {
    for await (const chunk of stream) {
      hash.update(chunk);
      size += chunk.length;
      if (fh) await fh.write(chunk);
    }
    if (fh) await fh.sync();
  } finally {
    await fh?.close();
  }
  return { sha256: hash.digest('hex'), size };
}

/** Checks every entry against the manifest: the same names, sizes and digests. */
function checkAgainst(manifest: Manifest, found: Map<string, EntryFound>): void {
  for (const f of manifest.files) {
    const got = found.get(f.path);
    if (!got) throw new BackupError('corrupt', `corrupt backup: ${f.path} is named in the manifest but missing from the archive`);
    if (got.sha256 !== f.sha256 || got.size !== f.size) {
      throw new BackupError('checksum_mismatch', `checksum mismatch in backup: ${f.path} has sha256 ${got.sha256}, the manifest says ${f.sha256}`);
    }
  }
  for (const name of found.keys()) {
    if (!manifest.files.some((f) => f.path === name)) throw unsafe(`${JSON.stringify(name)} is not named in the manifest`);
  }
}

/**
 * Streams the backup at `file` and returns its checked manifest; with `stageDir`, also
 * extracts the entries there. Throws BackupError for anything but a sound backup.
 */
export async function readBackup(file: string, stageDir: string | null = null): Promise<Manifest> {
  const st = await stat(file).catch(() => null);
  if (!st) throw new BackupError('not_found', `backup not found: ${file}`);
  if (!st.isFile()) throw new BackupError('not_found', `backup not found: ${file} is not a regular file`);
  const extract = tar.extract();
  const feeding = pipeline(createReadStream(file), createGunzip(), extract as unknown as Writable);
  let manifest: Manifest | null = null;
  const found = new Map<string, EntryFound>();
  try {
    for await (const entry of extract) {
      const { name, type, mode } = entry.header;
      if (type !== 'file') throw unsafe(`${JSON.stringify(name)} is a ${type}, only regular files are restored`);
      if (manifest === null) {
        if (name !== MANIFEST_NAME) throw new BackupError('corrupt', `corrupt backup: the first entry is ${JSON.stringify(name)}, not manifest.json`);
        manifest = parseManifest((await readSmall(entry as AsyncIterable<Buffer>, MANIFEST_MAX_BYTES)).toString('utf8'));
        continue;
      }
      if (!isSafeEntryName(name)) throw unsafe(`${JSON.stringify(name)} is not a plain path inside the data dir`);
      if (found.has(name) || name === MANIFEST_NAME) throw new BackupError('corrupt', `corrupt backup: ${name} appears twice`);
      if (!manifest.files.some((f) => f.path === name)) throw unsafe(`${JSON.stringify(name)} is not named in the manifest`);
      let dest: string | null = null;
      if (stageDir !== null) {
        dest = join(stageDir, name);
        await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
      }
      found.set(name, { ...(await consume(entry as AsyncIterable<Buffer>, dest)), mode: mode ?? 0o600 });
    }
    await feeding;
  } catch (err) {
    feeding.catch(() => undefined);
    throw asCorrupt(err);
  }
  if (manifest === null) throw new BackupError('corrupt', 'corrupt backup: the archive holds no manifest.json');
  checkAgainst(manifest, found);
  return manifest;
}

/** A zlib or tar failure is a corrupt backup; our own refusals pass through. */
function asCorrupt(err: unknown): unknown {
  if (err instanceof BackupError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EEXIST' || e?.code === 'ELOOP') return unsafe('an entry would replace an existing file or follow a link');
  if (e?.code === 'ENOENT' || e?.code === 'EACCES' || e?.code === 'ENOSPC') return err;
  return new BackupError('corrupt', `corrupt backup: ${String(e?.message ?? err).split('\n')[0]}`);
}
