/**
 * Where an archive to import comes from: a server-side path the operator allows, or an
 * upload written into the store's staging directory with a size cap. Paths are compared
 * after resolving symlinks, so a link inside an allowed directory cannot lead outside it.
 */
import { createWriteStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../contract/errors.js';

/** The real path of `path` if it lies under one of `allowedDirs`; else 403 (no hint whether it exists). */
export async function allowedArchivePath(path: string, allowedDirs: readonly string[]): Promise<string> {
  const refuse = () => new AppError('forbidden', 'This path is not in a directory the operator allows imports from (WARREN_IMAGE_IMPORT_DIRS)', { field: 'path' });
  if (!path.startsWith('/') || allowedDirs.length === 0) throw refuse();
  const real = await realpath(path).catch(() => null);
  if (!real) throw refuse();
  for (const dir of allowedDirs) {
    const realDir = await realpath(dir).catch(() => null);
    if (realDir && (real === realDir || real.startsWith(realDir.endsWith(sep) ? realDir : realDir + sep))) return real;
  }
  throw refuse();
}

/** Writes `upload` to `<stagingDir>/upload.tar`, refusing (413) past `maxBytes`. */
export async function saveUpload(upload: Readable, stagingDir: string, maxBytes: number): Promise<string> {
  const file = join(stagingDir, 'upload.tar');
  let seen = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > maxBytes) cb(new AppError('payload_too_large', `The archive is larger than ${Math.round(maxBytes / 1048576)} MiB (WARREN_IMAGE_UPLOAD_MB)`, { field: 'archive' }));
      else cb(null, chunk);
    },
  });
  await pipeline(upload, cap, createWriteStream(file, { mode: 0o600 }));
  return file;
}
