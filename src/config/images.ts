/**
 * Image import settings (environment only; documented in README and SPECIFICATION):
 *   WARREN_IMAGE_IMPORT_DIRS   colon-separated directories whose archives `POST /images {path}` may read
 *                              (default none: only uploads). Paths are compared after resolving symlinks.
 *   WARREN_IMAGE_UPLOAD_MB     largest archive `POST /images` accepts as an upload (default 10240)
 *   WARREN_IMAGE_LAYER_MB      largest unpacked size of one layer; a bigger one is refused (default 16384)
 *   WARREN_IMAGE_LAYER_FILES   most entries in one layer (default 2,000,000)
 */
import { resolve } from 'node:path';

export interface ImageImportConfig {
  allowedDirs: string[];
  uploadMaxBytes: number;
  limits: { maxUnpackedBytes: number; maxEntries: number };
}

const MiB = 1024 * 1024;

function positive(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a number > 0, got ${JSON.stringify(v)}`);
  return n;
}

export function loadImageImportConfig(env: NodeJS.ProcessEnv = process.env): ImageImportConfig {
  const dirs = (env.WARREN_IMAGE_IMPORT_DIRS ?? '').split(':').map((d) => d.trim()).filter(Boolean).map((d) => resolve(d));
  return {
    allowedDirs: dirs,
    uploadMaxBytes: positive(env, 'WARREN_IMAGE_UPLOAD_MB', 10_240) * MiB,
    limits: {
      maxUnpackedBytes: positive(env, 'WARREN_IMAGE_LAYER_MB', 16_384) * MiB,
      maxEntries: positive(env, 'WARREN_IMAGE_LAYER_FILES', 2_000_000),
    },
  };
}
