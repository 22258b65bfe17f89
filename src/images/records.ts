/**
 * What the image store records about layers and images (pure types and helpers).
 *
 * An image is an ordered list of layers, base first, plus the part of an OCI image
 * config Warren honours. Layers are identified by `sha256:<hex>`: the digest of the
 * layer's uncompressed OCI tar (its diff_id), so the same layer imported twice, or
 * imported and built, is stored once. An image's id is the digest of its canonical
 * record (layers + config), so identical images share one id.
 */
import { createHash } from 'node:crypto';
import { IMAGE_NAME, IMAGE_NAME_MAX } from '../contract/images.js';

export type ImageSource = 'catalog' | 'imported' | 'built' | 'committed';

/** The OCI image config fields Warren honours at create, normalised. */
export interface ImageConfig {
  /** `KEY=value` entries, as in OCI `Env`. */
  env: string[];
  workingDir?: string;
  entrypoint?: string[];
  cmd?: string[];
  /** `user`, `uid`, `user:group` or `uid:gid`, as in OCI `User`. */
  user?: string;
  /** `port/proto` entries (recorded; never opened by themselves). */
  exposedPorts: string[];
  labels: Record<string, string>;
}

export interface LayerRecord {
  digest: string;
  /** Bytes the layer's files take on disk (du). */
  size_bytes: number;
  created_at: string;
}

export interface ImageRecord {
  /** `sha256:<hex>` of the canonical {layers, config}. */
  id: string;
  source: ImageSource;
  /** Layer digests, base first. */
  layers: string[];
  config: ImageConfig;
  created_at: string;
  /** Sum of the layers' sizes (shared layers counted in each image that has them). */
  size_bytes: number;
  /** The catalog entry it was built from (source `catalog`). */
  catalog_id?: string;
  /** One line per build step or import note, shown by `warren images history`. */
  history?: string[];
}

export const EMPTY_CONFIG: ImageConfig = { env: [], exposedPorts: [], labels: {} };

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

/** The hex part of a digest: the name of the layer's directory. */
export function digestHex(digest: string): string {
  if (!isDigest(digest)) throw new Error(`not a sha256 digest: ${digest}`);
  return digest.slice('sha256:'.length);
}

/** Short form shown to people (Docker's 12 hex characters). */
export function shortDigest(digest: string): string {
  return digestHex(digest).slice(0, 12);
}

function sortedKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

/** Canonical JSON of a config: absent fields dropped, maps sorted, so equal configs hash equal. */
export function canonicalConfig(c: ImageConfig): ImageConfig {
  return {
    env: [...c.env],
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    ...(c.entrypoint?.length ? { entrypoint: [...c.entrypoint] } : {}),
    ...(c.cmd?.length ? { cmd: [...c.cmd] } : {}),
    ...(c.user ? { user: c.user } : {}),
    exposedPorts: [...new Set(c.exposedPorts)].sort(),
    labels: sortedKeys(c.labels),
  };
}

/** The id an image with these layers and this config has. */
export function imageIdOf(layers: readonly string[], config: ImageConfig): string {
  const text = JSON.stringify({ layers, config: canonicalConfig(config) });
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Image names: the contract's rule (src/contract/images.ts), not a digest. */
export function isImageName(s: string): boolean {
  return s.length <= IMAGE_NAME_MAX && IMAGE_NAME.test(s) && !isDigest(s);
}

/** OCI semantics: Entrypoint followed by Cmd; either may be absent. Empty: no command. */
export function startCommand(c: ImageConfig): string[] {
  return [...(c.entrypoint ?? []), ...(c.cmd ?? [])];
}
