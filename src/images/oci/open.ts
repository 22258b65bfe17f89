/**
 * Opening an image archive: an OCI image layout directory, an oci-archive tar or a `docker
 * save` tar (detected from content, src/images/oci/detect.ts), normalised by skopeo into an
 * OCI layout under the caller's work directory (src/images/oci/skopeo.ts) — a layout directory
 * with real blob directories is read in place — then read here:
 * index.json → manifest → config, each blob checked against its descriptor's sha256 and
 * size; from a multi-platform index the image for linux/<host arch> is chosen.
 *
 * Contracts:
 * - Every refusal is an AppError on field `archive`: IMAGE_ARCHIVE_INVALID (not an archive,
 *   broken JSON, a digest or size mismatch), IMAGE_ARCHIVE_UNSUPPORTED (several images,
 *   another platform, a layer media type or compression Warren does not read), IMAGE_TOO_LARGE.
 * - Layer blobs are checked for presence and size here; their digests are checked while
 *   they are unpacked (extractLayer), so each blob is read once.
 * - Everything written goes under one new directory in `workDir`, removed on failure and by
 *   `dispose()`. The archive itself is only read.
 */
import { createHash } from 'node:crypto';
import { constants as FS } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { detectArchive, type ArchiveFormat, type Detected } from './detect.js';
import { normalise } from './skopeo.js';
import { maxTarBytes, type LayerLimits, type OciLayer } from './extract.js';
import { invalid, tooLarge, unsupported } from './refusals.js';
import {
  descriptorSchema, dockerManifestSchema, hostPlatform, imageConfigSchema, indexSchema, INDEX_TYPES, LAYER_TYPE_RE,
  manifestSchema, MAX_JSON_BYTES, normaliseRunConfig, type Descriptor, type OciImageConfig,
} from './schema.js';

export interface OpenOptions {
  /** A directory this call may write into (created if missing); the layout goes in a new subdirectory. */
  workDir: string;
  limits: LayerLimits;
}

export interface OciSource {
  format: ArchiveFormat;
  /** The name the archive gives its image (containerd/OCI ref annotation, docker RepoTags), if any. */
  refName?: string;
  config: OciImageConfig;
  /** Base first; blobs in the normalised layout. */
  layers: OciLayer[];
  /** The normalised OCI layout directory (under workDir). */
  layoutDir: string;
  /** Removes the normalised layout. */
  dispose(): Promise<void>;
}

const INDEX_DEPTH = 4;
const REF_ANNOTATION = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

/** Opens the archive at `path`; see the module contract. */
export async function openArchive(path: string, opts: OpenOptions): Promise<OciSource> {
  const detected = await detectArchive(path);
  const choice = chooseImage(detected);
  await mkdir(opts.workDir, { recursive: true, mode: 0o700 });
  const own = await mkdtemp(join(opts.workDir, 'oci-'));
  try {
    const layoutDir = await readableInPlace(path, detected.format)
      ? path
      : await normalise({ path, format: detected.format, ref: choice.ref }, own);
    await rm(join(own, 'tmp'), { recursive: true, force: true });
    const { config, layers } = await readLayout(layoutDir, opts.limits);
    return {
      format: detected.format, config, layers, layoutDir,
      ...(choice.refName ? { refName: choice.refName } : {}),
      dispose: () => rm(own, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(own, { recursive: true, force: true });
    throw err;
  }
}

/**
 * An OCI layout directory is read where it is, without skopeo's copy of every blob, when its
 * blob directories are real directories (not links): every file is then opened with
 * O_NOFOLLOW inside it and checked by size and sha256 like a normalised layout's.
 */
async function readableInPlace(path: string, format: ArchiveFormat): Promise<boolean> {
  if (format !== 'oci-layout') return false;
  for (const dir of [join(path, 'blobs'), join(path, 'blobs', 'sha256')]) {
    const st = await lstat(dir).catch(() => null);
    if (!st?.isDirectory()) return false;
  }
  return true;
}

function parseJson<S extends z.ZodType>(schema: S, bytes: Buffer, what: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(`The archive's ${what} is not valid JSON`, err);
  }
  const r = schema.safeParse(value);
  if (!r.success) throw invalid(`The archive's ${what} is not valid: ${r.error.issues[0]?.message ?? 'bad shape'}`);
  return r.data;
}

function platformMatches(d: Descriptor): boolean {
  const host = hostPlatform();
  return d.platform?.os === host.os && d.platform.architecture === host.architecture;
}

/** The one entry of an index Warren takes: the host platform's, or the only one. */
function pickEntry(entries: Descriptor[]): Descriptor {
  if (entries.length === 0) throw invalid('The archive holds no image');
  if (entries.length === 1) return entries[0]!;
  const matching = entries.filter(platformMatches);
  const pool = matching.length > 0 ? matching : entries.filter((d) => !d.platform);
  if (pool.length === 1) return pool[0]!;
  const { os, architecture } = hostPlatform();
  if (pool.length === 0) throw unsupported(`The archive has no image for ${os}/${architecture}`);
  throw unsupported('The archive holds several images; Warren imports archives of one image');
}

/** Which image skopeo must copy (a ref when the archive has several) and the name it gives itself. */
function chooseImage(d: Detected): { ref?: string; refName?: string } {
  if (d.format === 'docker-archive') {
    const images = parseJson(dockerManifestSchema, d.dockerManifest!, 'manifest.json');
    if (images.length > 1) throw unsupported(`The archive holds ${images.length} images; save one image per archive`);
    const tag = images[0]!.RepoTags?.[0];
    return tag ? { refName: tag } : {};
  }
  const index = parseJson(indexSchema, d.index!, 'index.json');
  const entry = pickEntry(index.manifests);
  const ref = entry.annotations?.[REF_ANNOTATION];
  const refName = entry.annotations?.[CONTAINERD_NAME] ?? ref;
  if (index.manifests.length > 1 && !ref) throw unsupported('The archive holds several images and the one to import has no name');
  return { ...(index.manifests.length > 1 ? { ref } : {}), ...(refName ? { refName } : {}) };
}

/** Reads a blob of the layout, checking its size and sha256 against `d`. */
async function readBlob(layout: string, d: Descriptor, max: number): Promise<Buffer> {
  if (d.size > max) throw invalid('An index, manifest or config of the archive is too large');
  const bytes = await readLayoutFile(blobPath(layout, d.digest), max);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (bytes.length !== d.size || digest !== d.digest) throw invalid('A blob of the archive does not match its digest');
  return bytes;
}

function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)); // digest is schema-checked hex
}

async function readLayoutFile(path: string, max: number): Promise<Buffer> {
  const fh = await open(path, FS.O_RDONLY | FS.O_NOFOLLOW).catch((err) => {
    throw invalid('The archive lacks a blob its manifest names', err);
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw invalid('A blob of the archive is not a file');
    if (st.size > max) throw invalid('An index, manifest or config of the archive is too large');
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** index.json → (nested indexes) → manifest → config and layer list. */
async function readLayout(layout: string, limits: LayerLimits): Promise<{ config: OciImageConfig; layers: OciLayer[] }> {
  let entry = pickEntry(parseJson(indexSchema, await readLayoutFile(join(layout, 'index.json'), MAX_JSON_BYTES), 'index.json').manifests);
  for (let depth = 0; INDEX_TYPES.includes(entry.mediaType); depth++) {
    if (depth >= INDEX_DEPTH) throw invalid('The archive nests image indexes too deeply');
    entry = pickEntry(parseJson(indexSchema, await readBlob(layout, entry, MAX_JSON_BYTES), 'image index').manifests);
  }
  const manifest = parseJson(manifestSchema, await readBlob(layout, entry, MAX_JSON_BYTES), 'manifest');
  const image = parseJson(imageConfigSchema, await readBlob(layout, manifest.config, MAX_JSON_BYTES), 'image config');
  const host = hostPlatform();
  if ((image.os && image.os !== host.os) || (image.architecture && image.architecture !== host.architecture)) {
    throw unsupported(`The image is built for ${image.os}/${image.architecture}; this host runs ${host.os}/${host.architecture}`);
  }
  const diffIds = image.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) throw invalid("The image config's diff_ids do not match the manifest's layers");
  const layers: OciLayer[] = [];
  for (const [i, d] of manifest.layers.entries()) layers.push(await layerOf(layout, d, diffIds[i]!, limits));
  return { config: normaliseRunConfig(image.config), layers };
}

async function layerOf(layout: string, d: z.infer<typeof descriptorSchema>, diffId: string, limits: LayerLimits): Promise<OciLayer> {
  if (!LAYER_TYPE_RE.test(d.mediaType)) throw unsupported(`A layer has a media type Warren does not unpack (${d.mediaType.slice(0, 100)})`);
  // gzip and zstd never grow data by more than a fraction of a percent: a bigger blob cannot fit the caps
  const cap = maxTarBytes(limits);
  if (d.size > cap + cap / 100 + 65536) throw tooLarge('A layer is larger than the unpacked-size cap allows');
  const path = blobPath(layout, d.digest);
  const fh = await open(path, FS.O_RDONLY | FS.O_NOFOLLOW).catch((err) => { throw invalid('The archive lacks a layer its manifest names', err); });
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size !== d.size) throw invalid('A layer of the archive does not have the size its manifest says');
  } finally {
    await fh.close();
  }
  return { digest: d.digest, mediaType: d.mediaType, size: d.size, diffId, blobPath: path };
}
