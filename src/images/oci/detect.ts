/**
 * Which kind of archive a path holds, decided from its content (never from its name):
 * - a directory with `oci-layout` and `index.json`: an OCI image layout;
 * - a tar holding `oci-layout` and `index.json`: an oci-archive (Docker 25+ `docker save`
 *   writes these too, alongside manifest.json; the OCI view is preferred);
 * - a tar holding `manifest.json`: a `docker save` archive.
 * Compressed outer archives are refused with a clear message (skopeo 1.9 cannot read a
 * compressed docker-archive). The small JSON files needed to pick the image are read on the
 * way (each at most MAX_JSON_BYTES), so the caller can name the image for skopeo.
 */
import { createReadStream, constants as FS } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { isAppError } from '../../contract/errors.js';
import { invalid, unsupported } from './refusals.js';
import { MAX_JSON_BYTES } from './schema.js';

export type ArchiveFormat = 'oci-layout' | 'oci-archive' | 'docker-archive';

export interface Detected {
  format: ArchiveFormat;
  /** index.json (OCI formats). */
  index?: Buffer;
  /** manifest.json (docker-archive). */
  dockerManifest?: Buffer;
}

const WANTED = ['oci-layout', 'index.json', 'manifest.json'] as const;

export async function detectArchive(path: string): Promise<Detected> {
  const st = await stat(path).catch(() => null);
  if (st?.isDirectory()) return detectDirectory(path);
  if (!st?.isFile()) throw invalid('The archive is neither a file nor an OCI layout directory');
  await refuseCompressed(path);
  const files = await scanTar(path);
  if (files.has('oci-layout') && files.has('index.json')) return { format: 'oci-archive', index: files.get('index.json') };
  if (files.has('manifest.json')) return { format: 'docker-archive', dockerManifest: files.get('manifest.json') };
  throw invalid('The archive is a tar but neither an OCI image layout nor a docker save archive');
}

async function detectDirectory(dir: string): Promise<Detected> {
  const layout = await stat(join(dir, 'oci-layout')).catch(() => null);
  const index = await readBounded(join(dir, 'index.json')).catch(() => null);
  if (!layout?.isFile() || !index) throw invalid('The directory is not an OCI image layout (no oci-layout or index.json)');
  return { format: 'oci-layout', index };
}

async function readBounded(path: string): Promise<Buffer> {
  const fh = await open(path, FS.O_RDONLY | FS.O_NOFOLLOW);
  try {
    const { size } = await fh.stat();
    if (size > MAX_JSON_BYTES) throw invalid('The archive index is too large');
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

async function refuseCompressed(path: string): Promise<void> {
  const fh = await open(path, FS.O_RDONLY);
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    const zstd = head.readUInt32LE(0) === 0xfd2fb528;
    const xz = head[0] === 0xfd && head.subarray(1, 4).toString('latin1') === '7zX';
    const bz = head.subarray(0, 3).toString('latin1') === 'BZh';
    if (gzip || zstd || xz || bz) throw unsupported('The archive is compressed; decompress it first (a plain tar, as docker save writes)');
  } finally {
    await fh.close();
  }
}

/** The wanted top-level files of a tar, by name (`./` prefixes folded); stops once all are known. */
async function scanTar(path: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const extract = tar.extract();
  const input = createReadStream(path, { highWaterMark: 1024 * 1024 });
  const feeding = pipeline(input, extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^(\.\/)+/, '');
      if ((WANTED as readonly string[]).includes(name) && entry.header.type === 'file') {
        if ((entry.header.size ?? 0) > MAX_JSON_BYTES) throw invalid(`The archive's ${name} is too large`);
        found.set(name, await collect(entry as unknown as Readable));
      } else {
        entry.resume();
      }
      if (found.has('oci-layout') && found.has('index.json')) break;
    }
  } catch (err) {
    throw isAppError(err) ? err : invalid('The archive is not a valid tar', err);
  } finally {
    input.destroy();
    await feeding.catch(() => undefined);
  }
  return found;
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
