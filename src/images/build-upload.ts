/**
 * A build context sent as a tar body (`POST /images/build`): untrusted, so it is unpacked
 * by the jailed tar (src/storage/jail.ts) into a fresh staging directory of the layer store
 * (swept after a crash), never owned as the archive says, into a directory only root may
 * enter. Caps: the bytes received (`maxBytes`; beyond, 413 and nothing kept) and the
 * apparent size of what was unpacked (a sparse member cannot make COPY read terabytes).
 * Device files, fifos and sockets are removed (COPY skips them anyway).
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rm } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { AppError } from '../contract/errors.js';
import { untarJailed } from '../storage/jail.js';
import { tarVerdict } from './tar-verdict.js';
import { MAX_DOCKERFILE_BYTES } from './build/index.js';
import type { LayerStore, StagingDir } from './layer-store.js';

export interface ReceivedContext {
  dir: string;
  discard(): Promise<void>;
}

function tooLarge(maxBytes: number): AppError {
  return new AppError('payload_too_large', `The build context is larger than ${Math.round(maxBytes / 1048576)} MiB`, { field: 'context' });
}

/** Unpacks the tar `body` into a new staging directory; its `dir` is the context. */
export async function receiveContext(store: LayerStore, body: Readable, maxBytes: number): Promise<ReceivedContext> {
  const staging: StagingDir = await store.stage();
  try {
    const dir = join(staging.path, 'context');
    await mkdir(dir, { mode: 0o700 });
    let received = 0;
    let over = false;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        if (received > maxBytes) {
          over = true;
          cb(tooLarge(maxBytes));
          return;
        }
        cb(null, chunk);
      },
    });
    body.on('error', (err) => counter.destroy(err));
    await untarJailed(dir, body.pipe(counter), ['--no-same-owner', '--no-xattrs'], 'build context extraction').catch((err: unknown) => {
      if (over) throw tooLarge(maxBytes);
      throw new AppError('validation_error', `The build context is not a readable tar archive${tarVerdict(err)}`, { field: 'context' });
    });
    if (over) throw tooLarge(maxBytes);
    if ((await tidy(dir)) > maxBytes) throw tooLarge(maxBytes);
    return { dir, discard: () => staging.discard() };
  } catch (err) {
    await staging.discard();
    throw err;
  }
}


/** Removes what is not a file, directory or symlink; returns the apparent size of the files. */
async function tidy(dir: string): Promise<number> {
  let bytes = 0;
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    const st = await lstat(p);
    if (st.isDirectory()) bytes += await tidy(p);
    else if (st.isFile()) bytes += st.size;
    else if (!st.isSymbolicLink()) await rm(p, { force: true });
  }
  return bytes;
}

/** The Dockerfile at `rel` inside the context (no way out of it), as text. */
export async function readDockerfile(contextDir: string, rel: string): Promise<string> {
  const missing = () => new AppError('validation_error', `There is no Dockerfile at ${JSON.stringify(rel)} in the build context`, { field: 'dockerfile' });
  const n = posix.normalize(rel.replace(/^\/+/, ''));
  if (n === '..' || n.startsWith('../') || n === '.' || n === '') throw missing();
  const root = await realpath(contextDir);
  const real = await realpath(join(root, n)).catch(() => null);
  if (real === null || !real.startsWith(root + sep)) throw missing();
  const fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (!fh) throw missing();
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw missing();
    if (st.size > MAX_DOCKERFILE_BYTES) {
      throw new AppError('DOCKERFILE_INVALID', `The Dockerfile is larger than ${MAX_DOCKERFILE_BYTES} bytes`, { field: 'dockerfile' });
    }
    return (await fh.readFile()).toString('utf8');
  } finally {
    await fh.close();
  }
}
