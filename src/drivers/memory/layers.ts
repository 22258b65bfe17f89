/**
 * The memory driver's writable layers as objects: snapshots are copies of a layer's
 * map (path → text), and tar export/import round-trips a layer or some of its paths
 * (regular files only, names without the leading slash), with the SnapshotDriver's
 * failure modes: a missing path, an archive that does not parse, a disk quota exceeded.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { LayerError, type ExportOptions, type LayerRef, type TarExport } from '../driver.js';

export type Layer = Map<string, string>;

export function layerBytes(layer: Layer): number {
  let n = 0;
  for (const text of layer.values()) n += Buffer.byteLength(text);
  return n;
}

/** Snapshots of every sandbox of one driver, by owner and snapshot id. */
export class SnapshotShelf {
  private readonly shelf = new Map<string, Layer>();

  put(ref: LayerRef, layer: Layer): void {
    this.shelf.set(keyOf(ref), new Map(layer));
  }

  /** A copy of the snapshot's layer; throws when there is none. */
  copy(ref: LayerRef): Layer {
    const layer = this.shelf.get(keyOf(ref));
    if (!layer) throw new Error(`no memory snapshot ${ref.shortId}/${ref.snapshotId}`);
    return new Map(layer);
  }

  delete(ref: LayerRef): void {
    this.shelf.delete(keyOf(ref));
  }

  list(): LayerRef[] {
    return [...this.shelf.keys()].map((k) => {
      const [shortId, snapshotId] = k.split('/') as [string, string];
      return { shortId, snapshotId };
    });
  }
}

function keyOf(ref: LayerRef): string {
  return `${ref.shortId}/${ref.snapshotId}`;
}

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** The files of `layer` that `opts` selects; a selected path with nothing under it is a LayerError. */
function select(layer: Layer, opts: ExportOptions): Array<[string, string]> {
  const paths = opts.paths ?? ['/'];
  for (const p of paths) {
    if (p !== '/' && ![...layer.keys()].some((k) => under(k, p))) throw new LayerError('path_missing', `${p} does not exist`, p);
  }
  return [...layer.entries()]
    .filter(([k]) => paths.some((p) => p === '/' || under(k, p)))
    .filter(([k]) => !(opts.exclude ?? []).some((x) => under(k, x)))
    .sort(([a], [b]) => a.localeCompare(b));
}

/** An uncompressed tar of the selected files. */
export function exportLayer(layer: Layer, opts: ExportOptions): TarExport {
  const files = select(layer, opts);
  const pack = tar.pack();
  for (const [path, text] of files) pack.entry({ name: path.slice(1), mode: 0o644 }, text);
  pack.finalize();
  return { stream: pack as unknown as Readable, done: Promise.resolve() };
}

/** The regular files of a tar stream; `bad_archive` when it does not parse. */
export async function readTar(input: Readable): Promise<Layer> {
  const layer: Layer = new Map();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      if (header.type === 'file') layer.set(`/${header.name.replace(/^\.?\/+/, '')}`, Buffer.concat(chunks).toString('utf8'));
      next();
    });
    stream.resume();
  });
  try {
    await pipeline(input, extract as unknown as NodeJS.WritableStream);
  } catch {
    throw new LayerError('bad_archive', 'The archive is not a complete tar stream');
  }
  return layer;
}
