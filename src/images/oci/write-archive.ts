/**
 * Exporting an image as an oci-archive: a tar of an OCI image layout (`oci-layout`,
 * `index.json` with one manifest named by `org.opencontainers.image.ref.name`,
 * `blobs/sha256/…`) whose layers are the uncompressed tars of packLayer. skopeo reads it
 * (`skopeo inspect oci-archive:<file>`), and `skopeo copy oci-archive:<file>
 * docker-archive:<out>:<name>` turns it into what `docker load` takes.
 *
 * Contracts:
 * - Each layer is packed twice: once to learn its digest and size (a tar header needs the
 *   size first; no temporary copy on disk), once into the archive, hashed again; if the two
 *   differ (the directory changed meanwhile) the export fails.
 * - The same layers and config give the same archive bytes (no time is written unless
 *   `created` is given).
 * - The archive is written next to `outFile` and renamed onto it at the end: a failed export
 *   leaves no file, and an existing `outFile` is replaced only by a complete archive.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { packLayer } from './pack.js';
import { hostPlatform, MEDIA, type OciImageConfig } from './schema.js';

export interface ExportImage {
  /** Layer directories in Warren's layer format, base first. */
  layers: Array<{ dir: string }>;
  config: OciImageConfig;
  /** The name recorded in index.json (`org.opencontainers.image.ref.name`), e.g. `myimage:latest`. */
  refName?: string;
  /** RFC 3339 time recorded as the config's `created`; absent by default (reproducible output). */
  created?: string;
}

export interface ExportResult {
  /** sha256 of each layer tar (= its diff_id, layers are uncompressed), base first. */
  layers: string[];
  config: string;
  manifest: string;
}

interface Blob { digest: string; size: number }

function jsonBlob(value: unknown): Blob & { bytes: Buffer } {
  const bytes = Buffer.from(JSON.stringify(value));
  return { bytes, size: bytes.length, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

/** sha256 and size of a stream, consumed. */
async function measure(stream: Readable): Promise<Blob> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** The OCI config's `config` object: only the fields that have something. */
function runConfig(c: OciImageConfig): Record<string, unknown> {
  return {
    ...(c.User ? { User: c.User } : {}),
    ...(Object.keys(c.ExposedPorts).length ? { ExposedPorts: c.ExposedPorts } : {}),
    ...(c.Env.length ? { Env: c.Env } : {}),
    ...(c.Entrypoint ? { Entrypoint: c.Entrypoint } : {}),
    ...(c.Cmd ? { Cmd: c.Cmd } : {}),
    ...(c.WorkingDir ? { WorkingDir: c.WorkingDir } : {}),
    ...(Object.keys(c.Labels).length ? { Labels: c.Labels } : {}),
  };
}

const ENTRY = { uid: 0, gid: 0, mtime: new Date(0), uname: '', gname: '' };

/** Writes the oci-archive of `image` to `outFile`; see the module contract. */
export async function writeOciArchive(image: ExportImage, outFile: string): Promise<ExportResult> {
  const layers: Blob[] = [];
  for (const l of image.layers) layers.push(await measure(packLayer(l.dir)));
  const { os, architecture } = hostPlatform();
  const config = jsonBlob({
    ...(image.created ? { created: image.created } : {}),
    architecture, os, config: runConfig(image.config),
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
  });
  const manifest = jsonBlob({
    schemaVersion: 2, mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: MEDIA.ociLayerTar, digest: l.digest, size: l.size })),
  });
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.ociIndex,
    manifests: [{
      mediaType: MEDIA.ociManifest, digest: manifest.digest, size: manifest.size,
      ...(image.refName ? { annotations: { 'org.opencontainers.image.ref.name': image.refName } } : {}),
    }],
  }));
  const tmp = join(dirname(outFile), `.${basename(outFile)}.${randomBytes(6).toString('hex')}.partial`);
  try {
    const pack = tar.pack();
    const writing = pipeline(pack, createWriteStream(tmp, { mode: 0o644 }));
    await fillArchive(pack, image, layers, [config, manifest], index);
    await writing;
    await rename(tmp, outFile);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { layers: layers.map((l) => l.digest), config: config.digest, manifest: manifest.digest };
}

async function fillArchive(pack: tar.Pack, image: ExportImage, layers: Blob[], json: Array<Blob & { bytes: Buffer }>, index: Buffer): Promise<void> {
  try {
    await addBuffer(pack, 'oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    await addDir(pack, 'blobs/');
    await addDir(pack, 'blobs/sha256/');
    for (const [i, l] of layers.entries()) await addLayer(pack, image.layers[i]!.dir, l);
    for (const b of json) await addBuffer(pack, `blobs/sha256/${b.digest.slice(7)}`, b.bytes);
    await addBuffer(pack, 'index.json', index);
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    throw err;
  }
}

function addBuffer(pack: tar.Pack, name: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ ...ENTRY, name, type: 'file', mode: 0o644 }, bytes, (err) => (err ? reject(err) : resolve()));
  });
}

function addDir(pack: tar.Pack, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ ...ENTRY, name, type: 'directory', mode: 0o755 }, (err) => (err ? reject(err) : resolve()));
  });
}

/** Streams the layer's tar (packed again) into its blob entry, checking it is the one measured. */
async function addLayer(pack: tar.Pack, dir: string, expected: Blob): Promise<void> {
  const hash = createHash('sha256');
  let sink!: NodeJS.WritableStream & { destroy(err?: Error): void };
  const finished = new Promise<void>((resolve, reject) => {
    sink = pack.entry({ ...ENTRY, name: `blobs/sha256/${expected.digest.slice(7)}`, type: 'file', mode: 0o644, size: expected.size },
      (err) => (err ? reject(err) : resolve()));
  });
  finished.catch(() => undefined); // observed below; an early failure must not go unhandled
  for await (const chunk of packLayer(dir)) {
    hash.update(chunk as Buffer);
    if (!sink.write(chunk as Buffer)) await new Promise((r) => sink.once('drain', r));
  }
  if (`sha256:${hash.digest('hex')}` !== expected.digest) {
    const err = new Error(`layer ${dir} changed while it was exported`);
    sink.destroy(err);
    throw err;
  }
  sink.end();
  await finished;
}
