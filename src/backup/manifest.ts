/**
 * `manifest.json`, the first entry of a backup archive: the format and its version, the
 * Warren release and database schema version that wrote it, when, and every other entry
 * with its size, permission bits and sha256. A restore trusts no entry the manifest does
 * not name with a matching digest.
 */
import { z } from 'zod';
import { BackupError } from './errors.js';

export const MANIFEST_NAME = 'manifest.json';
export const FORMAT = 'warren-backup';
export const FORMAT_VERSION = 1;
/** A manifest larger than this is not one of ours. */
export const MANIFEST_MAX_BYTES = 1024 * 1024;

/**
 * An entry name a restore may write: relative, `/`-separated components of letters, digits,
 * `.`, `_` and `-`, none of them `.` or `..` — so it can only name a place inside the data dir.
 */
export function isSafeEntryName(name: string): boolean {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(name)) return false;
  return name.split('/').every((part) => part !== '.' && part !== '..');
}

const fileSchema = z.object({
  path: z.string(),
  size: z.number().int().nonnegative(),
  mode: z.number().int().min(0).max(0o777),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const manifestSchema = z.object({
  format: z.literal(FORMAT),
  format_version: z.number().int().positive(),
  warren_version: z.string(),
  schema_version: z.number().int().nonnegative(),
  created_at: z.string(),
  files: z.array(fileSchema),
});

export type ManifestFile = z.infer<typeof fileSchema>;
export type Manifest = z.infer<typeof manifestSchema>;

/** Parses and checks `text`; a manifest of a newer format version is refused, not guessed at. */
export function parseManifest(text: string): Manifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new BackupError('corrupt', 'corrupt backup: manifest.json is not JSON');
  }
  const parsed = manifestSchema.safeParse(doc);
  if (!parsed.success) throw new BackupError('corrupt', `corrupt backup: manifest.json is malformed (${parsed.error.issues[0]?.path.join('.') || 'document'})`);
  const m = parsed.data;
  if (m.format_version > FORMAT_VERSION) {
    throw new BackupError('unsupported', `unsupported backup: format version ${m.format_version} is newer than this Warren reads (${FORMAT_VERSION})`);
  }
  const seen = new Set<string>();
  for (const f of m.files) {
    if (!isSafeEntryName(f.path) || f.path === MANIFEST_NAME) {
      throw new BackupError('unsafe_entry', `unsafe backup entry: the manifest names ${JSON.stringify(f.path)}, which is not a plain path inside the data dir`);
    }
    if (seen.has(f.path)) throw new BackupError('corrupt', `corrupt backup: the manifest names ${f.path} twice`);
    seen.add(f.path);
  }
  return m;
}
