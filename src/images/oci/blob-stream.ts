/**
 * A layer blob as the stream of its uncompressed tar, hashed on the way: the blob's sha256
 * and size (to compare with the manifest's descriptor) and the tar's sha256 (the diff_id).
 * Compression is sniffed from the first bytes: skopeo labels a `docker save` layer
 * `…tar.gzip` although it is a plain tar, so media types are not trusted for it. gzip is
 * Node's zlib; zstd (Node 20 has none) is zstd(1) as a child process, killed on abort.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants as FS, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { exited } from '../../storage/jail.js';
import { invalid, tooLarge, unsupported } from './refusals.js';

export type Compression = 'none' | 'gzip' | 'zstd';

/**
 * Read size, and the size of what flows between stages. Small on purpose: every chunk is a
 * new Buffer, and blocks of 1 MiB come from fresh pages the kernel must fault in (4× slower
 * to read a layer on the test host), while 64 KiB ones reuse the allocator's memory.
 */
const READ_CHUNK = 64 * 1024;
/** How much each stage may hold before it pushes back. */
const STAGE_BUFFER = 1024 * 1024;

export interface TarSource {
  /** The uncompressed tar. */
  tar: Readable;
  /** Resolves when the whole blob went through (and any decompressor exited cleanly). */
  done: Promise<void>;
  /** Stops reading and kills a decompressor; `done` then rejects. */
  abort(): void;
  /** After `done`: `sha256:…` of the blob, its size, and `sha256:…` of the tar. */
  digests(): { blob: string; blobBytes: number; tar: string };
}

/** Sniffs gzip / zstd / plain from the blob's first bytes; xz and bzip2 are refused. */
export async function compressionOf(path: string): Promise<Compression> {
  const fh = await open(path, FS.O_RDONLY | FS.O_NOFOLLOW);
  try {
    const head = Buffer.alloc(6);
    await fh.read(head, 0, 6, 0);
    if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) || head.subarray(0, 3).toString('latin1') === 'BZh') {
      throw unsupported('A layer is compressed with xz or bzip2; Warren reads plain, gzip and zstd layers');
    }
    return 'none';
  } finally {
    await fh.close();
  }
}

/**
 * The blob read with synchronous reads: this runs in the extraction worker, where a read
 * blocks nothing else and skips the thread-pool round trip an async read costs per chunk.
 */
function syncFileStream(path: string): Readable {
  const fd = openSync(path, FS.O_RDONLY | FS.O_NOFOLLOW);
  let closed = false;
  const close = () => {
    if (!closed) closeSync(fd);
    closed = true;
  };
  return new Readable({
    highWaterMark: STAGE_BUFFER,
    read() {
      try {
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        const n = readSync(fd, buf, 0, READ_CHUNK, null);
        if (n === 0) {
          close();
          this.push(null);
        } else {
          this.push(buf.subarray(0, n));
        }
      } catch (err) {
        this.destroy(err as Error);
      }
    },
    destroy(err, cb) {
      close();
      cb(err);
    },
  });
}

/** A pass-through that hashes what flows and reports the running byte count (which may throw). */
function tap(hash: Hash, onTotal: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    readableHighWaterMark: STAGE_BUFFER,
    writableHighWaterMark: STAGE_BUFFER,
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      try {
        onTotal(total);
      } catch (err) {
        cb(err as Error);
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
}

/**
 * Opens `blobPath` (expected `size` bytes) as its tar; more than `size` blob bytes or more than
 * `maxTar` tar bytes stop the stream with a refusal (a bomb never runs to its end).
 */
export async function openTar(blobPath: string, size: number, maxTar: number): Promise<TarSource> {
  const compression = await compressionOf(blobPath);
  if (compression === 'none' && size > maxTar) throw tooLarge('A layer unpacks to more than its cap allows');
  const blobHash = createHash('sha256');
  const tarHash = compression === 'none' ? blobHash : createHash('sha256');
  let blobBytes = 0;
  const abortCtl = new AbortController();
  const signal = abortCtl.signal;
  const file = syncFileStream(blobPath);
  const blobTap = tap(blobHash, (n) => {
    blobBytes = n;
    if (n > size) throw invalid('A layer is larger than its manifest says');
  });
  const out = new PassThrough({ highWaterMark: STAGE_BUFFER });
  const tarTap = () => tap(tarHash, (n) => { if (n > maxTar) throw tooLarge('A layer unpacks to more than its cap allows'); });
  let done: Promise<unknown>;
  let kill = () => undefined as void;
  if (compression === 'none') {
    done = pipeline(file, blobTap, out, { signal });
  } else if (compression === 'gzip') {
    done = pipeline(file, blobTap, createGunzip({ chunkSize: READ_CHUNK }), tarTap(), out, { signal });
  } else {
    const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } });
    kill = () => { child.kill('SIGKILL'); };
    done = Promise.all([
      pipeline(file, blobTap, child.stdin!, { signal }),
      pipeline(child.stdout!, tarTap(), out, { signal }),
      exited(child, 'zstd').catch((err) => { throw invalid('A zstd layer is corrupt', err); }),
    ]);
  }
  done.catch((err: Error) => out.destroy(err));
  let digests: { blob: string; blobBytes: number; tar: string } | null = null;
  return {
    tar: out,
    done: done.then(() => undefined),
    abort() {
      kill();
      abortCtl.abort();
    },
    digests() {
      if (!digests) {
        const blob = `sha256:${blobHash.digest('hex')}`;
        digests = { blob, blobBytes, tar: compression === 'none' ? blob : `sha256:${tarHash.digest('hex')}` };
      }
      return digests;
    },
  };
}
