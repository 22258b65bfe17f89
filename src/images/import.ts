/**
 * Importing an image archive (OCI layout directory or tar, `docker save` tar) into the
 * layer store. The archive is read and every layer verified and unpacked by an
 * ArchiveReader (src/images/oci/); this module decides what is new, and records.
 *
 * Contracts:
 * - Layers already stored (same diff_id, or an export's digest of a stored layer) are not
 *   unpacked again: the disk holds each once, and an exported image imports as itself.
 * - Everything is unpacked in a staging directory; the store changes only at the end,
 *   under its lock (layers, then the image, then its name). A refused archive, a failure
 *   or a kill -9 at any point leaves no image listed and nothing outside staging, which
 *   the next sweep removes.
 */
import { join } from 'node:path';
import type { LayerStore } from './layer-store.js';
import { AppError } from '../contract/errors.js';
import { normalizeRef, resolveImage } from './catalog.js';
import { canonicalConfig, imageIdOf, isImageName, type ImageConfig, type ImageRecord } from './records.js';

export interface ArchiveLimits {
  /** Largest total of unpacked bytes of one layer (a layer bomb beyond it is refused). */
  maxUnpackedBytes: number;
  /** Most entries in one layer. */
  maxEntries: number;
}

export interface ArchiveLayer {
  /** sha256 of the uncompressed layer tar (OCI diff_id), verified while unpacking. */
  diffId: string;
}

export interface OpenedArchive {
  config: ImageConfig;
  layers: ArchiveLayer[];
  /** The name the archive itself gives (OCI ref name annotation, docker RepoTags), if any. */
  refName?: string;
}

/** Reads archives (src/images/oci/); every refusal is an AppError with `details.field`. */
export interface ArchiveReader {
  open(path: string, workDir: string, limits: ArchiveLimits): Promise<OpenedArchive>;
  /** Unpacks `layer` into `destDir` in the layer format, checking its diff_id. */
  unpack(archive: OpenedArchive, index: number, destDir: string, limits: ArchiveLimits): Promise<void>;
}

export interface ImportProgress {
  (message: string): void;
}

export interface ImportInput {
  path: string;
  /** Name to give the image; default: the archive's own reference. */
  name?: string;
  limits: ArchiveLimits;
  onProgress?: ImportProgress;
}

/**
 * The archive's own reference as an image name (`docker.io/library/alpine:3.19` →
 * `alpine:3.19`); null when it has none or it is not a valid name. A catalog name is
 * refused: the catalog image would shadow it.
 */
function ownName(ref: string | undefined): string | null {
  if (!ref) return null;
  const name = normalizeRef(ref);
  if (!isImageName(name)) return null;
  if (resolveImage(name)) {
    throw new AppError('image_name_reserved', `The archive calls itself ${name}, a catalog image's name; give it another name`, { field: 'name' });
  }
  return name;
}

/** Imports the archive at `path`; resolves with the image record and the name it got. */
export async function importArchive(store: LayerStore, reader: ArchiveReader, i: ImportInput): Promise<{ image: ImageRecord; name: string | null; reused: number }> {
  const say = i.onProgress ?? (() => undefined);
  const staging = await store.stage();
  try {
    const archive = await reader.open(i.path, join(staging.path, 'archive'), i.limits);
    const name = i.name ?? ownName(archive.refName);
    const fresh: Array<{ dir: string; diffId: string }> = [];
    const layers: string[] = [];
    let reused = 0;
    for (const [n, layer] of archive.layers.entries()) {
      const stored = await store.findLayer(layer.diffId);
      layers.push(stored ?? layer.diffId);
      if (stored || fresh.some((f) => f.diffId === layer.diffId)) {
        reused++;
        say(`layer ${n + 1}/${archive.layers.length} ${layer.diffId.slice(7, 19)}: already stored`);
        continue;
      }
      const dir = join(staging.path, `layer-${n}`);
      say(`layer ${n + 1}/${archive.layers.length} ${layer.diffId.slice(7, 19)}: unpacking`);
      await reader.unpack(archive, n, dir, i.limits);
      fresh.push({ dir, diffId: layer.diffId });
    }
    const config = canonicalConfig(archive.config);
    const image = await store.locked(async () => {
      const sizes: number[] = [];
      for (const f of fresh) await store.commitLayer(f.dir, f.diffId);
      for (const d of layers) sizes.push((await store.layer(d))?.size_bytes ?? 0);
      const rec: ImageRecord = {
        id: imageIdOf(layers, config), source: 'imported', layers, config, created_at: new Date().toISOString(),
        size_bytes: sizes.reduce((a, b) => a + b, 0), history: [`imported ${archive.layers.length} layers (${reused} already stored)`],
      };
      const existing = await store.image(rec.id);
      await store.putImage(existing ?? rec, name ? [name] : []);
      return existing ?? rec;
    });
    say(`imported ${image.id.slice(7, 19)}${name ? ` as ${name}` : ''}`);
    return { image, name, reused };
  } finally {
    await staging.discard();
  }
}
