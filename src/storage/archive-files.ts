/**
 * Archive files in the data dir: `<dataDir>/archives/<workspace id>/<version>.tar.zst`
 * (or `.tar.gz`). The domain reaches them through its `ArchiveFilesPort` only.
 *
 * Contract:
 * - `write` compresses a tar stream into a file beside its final name, fsyncs it and
 *   renames it into place; it returns the size and sha256 of the file as stored. A
 *   failure or a crash leaves no final file (leftovers carry TMP_MARK; `sweep` removes them).
 * - `read` streams the decompressed tar and re-hashes the file as it goes: a file whose
 *   sha256 is not the one recorded makes the stream fail (ArchiveIntegrityError) — at the
 *   latest at its end, before the last bytes are delivered — so a consumer that commits
 *   only on a clean end never commits a corrupt archive. `checksum` lets callers refuse
 *   a damaged file before they touch anything.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Duplex, PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { ArchiveFormat } from '../contract/layers.js';
export { archiveFileName } from '../contract/layers.js';
import { TMP_MARK } from './clone.js';

export class ArchiveIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveIntegrityError';
  }
}

export interface StoredArchive {
  bytes: number;
  sha256: string;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function safe(name: string, what: string): string {
  if (!SAFE_NAME.test(name) || name.includes('..')) throw new Error(`unsafe archive ${what}: ${JSON.stringify(name)}`);
  return name;
}

/** Hashes what passes through; on a mismatch with `expected` the stream fails at its end. */
class Hasher extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly expected?: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    if (this.expected !== undefined && this.digest !== this.expected) {
      cb(new ArchiveIntegrityError('The archive file does not match its recorded sha256'));
    } else cb();
  }

  digest = '';
}

/** zstd runs as a child process at a lower CPU priority; gzip is zlib in-process. */
function compressor(format: ArchiveFormat): { stream: Duplex; done: Promise<void> } {
  if (format === 'tar.gz') return { stream: createGzip({ level: 6 }), done: Promise.resolve() };
  return child(['nice', '-n', '10', 'zstd', '-q', '-3', '-T0', '-c'], 'zstd');
}

function decompressor(format: ArchiveFormat): { stream: Duplex; done: Promise<void> } {
  if (format === 'tar.gz') return { stream: createGunzip(), done: Promise.resolve() };
  return child(['zstd', '-q', '-d', '-c'], 'zstd -d');
}

/** A filter process as a Duplex (stdin → stdout) and the promise of its clean exit. */
function child(argv: string[], what: string): { stream: Duplex; done: Promise<void> } {
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });
  const done = new Promise<void>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${what} exited with ${code}`))));
  });
  done.catch(() => undefined);
  const stream = Duplex.from({ writable: proc.stdin!, readable: proc.stdout! });
  // An aborted pipeline must not leave the filter running; a clean one lets it exit by itself.
  stream.once('close', () => {
    if (stream.errored && proc.exitCode === null) proc.kill('SIGKILL');
  });
  return { stream, done };
}

/** Implements the domain's ArchiveFilesPort (src/domain/ports.ts). */
export class ArchiveFiles {
  constructor(private readonly root: string) {}

  private dir(workspaceId: string): string {
    return join(this.root, safe(workspaceId, 'workspace id'));
  }

  private path(workspaceId: string, file: string): string {
    return join(this.dir(workspaceId), safe(file, 'file name'));
  }

  async write(workspaceId: string, file: string, format: ArchiveFormat, tar: Readable): Promise<StoredArchive> {
    const dest = this.path(workspaceId, file);
    await mkdir(this.dir(workspaceId), { recursive: true, mode: 0o700 });
    const tmp = `${dest}${TMP_MARK}${process.pid}-${Date.now()}`;
    const hasher = new Hasher();
    const z = compressor(format);
    try {
      await pipeline(tar, z.stream, hasher, createWriteStream(tmp, { mode: 0o600 }));
      await z.done;
      const fh = await open(tmp, 'r');
      await fh.sync().finally(() => fh.close());
      await rename(tmp, dest);
      return { bytes: hasher.bytes, sha256: hasher.digest };
    } catch (err) {
      tar.destroy();
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async checksum(workspaceId: string, file: string): Promise<string | null> {
    const hash = createHash('sha256');
    try {
      await pipeline(createReadStream(this.path(workspaceId, file)), hash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return hash.digest('hex');
  }

  read(workspaceId: string, file: string, format: ArchiveFormat, sha256: string): Readable {
    const out = new PassThrough();
    const z = decompressor(format);
    const source = createReadStream(this.path(workspaceId, file));
    // The hash is checked before the decompressor sees the end of its input, so `out` ends cleanly only on a good file.
    pipeline(source, new Hasher(sha256), z.stream, out).then(() => z.done).catch((err: unknown) => {
      out.destroy(err instanceof ArchiveIntegrityError ? err
        : new ArchiveIntegrityError(`The archive could not be read: ${String((err as Error)?.message ?? err)}`));
    });
    return out;
  }

  async remove(workspaceId: string, file: string): Promise<void> {
    await rm(this.path(workspaceId, file), { force: true });
  }

  async removeAll(workspaceId: string): Promise<void> {
    await rm(this.dir(workspaceId), { recursive: true, force: true });
  }

  async sweep(): Promise<Array<{ workspaceId: string; file: string }>> {
    const found: Array<{ workspaceId: string; file: string }> = [];
    for (const workspaceId of await readdir(this.root).catch(() => [] as string[])) {
      const dir = join(this.root, workspaceId);
      if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) continue;
      for (const file of await readdir(dir)) {
        if (file.includes(TMP_MARK)) await rm(join(dir, file), { force: true });
        else found.push({ workspaceId, file });
      }
    }
    return found;
  }
}
