/**
 * The image store on disk: layers once each, images as lists of layers, names.
 *
 *   <imagesDir>/layers/<hex>/        a layer's files in overlayfs lower-layer format
 *                                    (whiteouts are 0:0 char devices, opaque dirs carry
 *                                    trusted.overlay.opaque=y) — mounted as is, never copied
 *   <imagesDir>/layers/<hex>.json    its LayerRecord; written after the directory is in place
 *   <imagesDir>/images/<hex>.json    an ImageRecord (id sha256:<hex>)
 *   <imagesDir>/names.json           { name: image id }
 *   <imagesDir>/layer-aliases.json   { other digest of a stored layer: its id } — an imported layer
 *                                    keeps the archive's diff_id as id; exporting it packs other
 *                                    bytes, recorded here so re-importing the export finds it
 *   <imagesDir>/.staging/<pid>-<n>/  work directories of imports and builds in progress
 *   <imagesDir>/store.lock           held while the records above change
 *
 * Contracts:
 * - Every change is one rename (atomic on one file system) done under the store lock, in
 *   an order that never lets a record point at something missing: a layer's directory,
 *   then its record, then the image record, then the name. A crash at any point leaves
 *   debris that `sweep` removes (staging dirs of dead processes, layer directories with
 *   no record, layers no image uses) and never a listed image with a missing layer.
 * - `sweep` and `remove` delete a layer only when no image record uses it; a layer being
 *   added is in `.staging` (not swept while its process lives) until its commit.
 * - The CLI and the server may use one store at once: they share the lock and re-read
 *   the records on every call (a few small files).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../util/exec.js';
import { acquireLock, ownerAlive, type LockHandle } from './lock.js';
import { digestHex, isDigest, type ImageRecord, type LayerRecord } from './records.js';
import { removeTree } from './rootfs.js';

const STAGING = '.staging';

export interface StagingDir {
  /** A fresh empty directory to fill with a layer's files (or anything else). */
  path: string;
  /** Removes the staging directory and whatever is left in it. */
  discard(): Promise<void>;
}

let stagingSeq = 0;

export class LayerStore {
  constructor(readonly imagesDir: string) {}

  private get layersDir(): string { return join(this.imagesDir, 'layers'); }
  private get imagesRecordsDir(): string { return join(this.imagesDir, 'images'); }
  private get namesFile(): string { return join(this.imagesDir, 'names.json'); }

  /** Host directory of a stored layer (exists iff `hasLayer`). */
  layerDir(digest: string): string {
    return join(this.layersDir, digestHex(digest));
  }

  hasLayer(digest: string): boolean {
    return existsSync(`${this.layerDir(digest)}.json`) && existsSync(this.layerDir(digest));
  }

  /** The stored layer a diff_id stands for: itself, or the layer it is an alias of; null when neither. */
  async findLayer(diffId: string): Promise<string | null> {
    if (this.hasLayer(diffId)) return diffId;
    const target = (await this.aliases())[diffId];
    return target && this.hasLayer(target) ? target : null;
  }

  private async aliases(): Promise<Record<string, string>> {
    return (await readJson<Record<string, string>>(join(this.imagesDir, 'layer-aliases.json'))) ?? {};
  }

  /** Records `alias` as another digest of stored layer `digest` (an export's). Call under `locked`. */
  async addAlias(alias: string, digest: string): Promise<void> {
    if (alias === digest || !isDigest(alias) || !this.hasLayer(digest)) return;
    const table = await this.aliases();
    if (table[alias] === digest) return;
    table[alias] = digest;
    await writeJsonAtomic(join(this.imagesDir, 'layer-aliases.json'), sortObject(table));
  }

  async layer(digest: string): Promise<LayerRecord | null> {
    if (!isDigest(digest)) return null;
    return readJson<LayerRecord>(`${this.layerDir(digest)}.json`);
  }

  /** Runs `fn` holding the store lock (cross-process). */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    await this.ensureDirs();
    const lock: LockHandle = await acquireLock(join(this.imagesDir, 'store.lock'), { timeoutMs: 10 * 60_000, pollMs: 50 });
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }

  /** A new staging directory on the store's file system (so commits are renames). */
  async stage(): Promise<StagingDir> {
    await this.ensureDirs();
    const path = join(this.imagesDir, STAGING, `${process.pid}-${Date.now().toString(36)}-${stagingSeq++}`);
    await mkdir(path, { recursive: true, mode: 0o755 });
    return { path, discard: () => removeTree(path) };
  }

  /**
   * Moves a filled layer directory in as `digest`, unless that layer is stored already
   * (then `dir` is removed: the disk keeps each layer once). Call under `locked`.
   */
  async commitLayer(dir: string, digest: string): Promise<LayerRecord> {
    const existing = this.hasLayer(digest) ? await this.layer(digest) : null;
    if (existing) {
      await removeTree(dir);
      return existing;
    }
    const target = this.layerDir(digest);
    await removeTree(target); // a directory without its record is debris of a crash
    await rename(dir, target);
    const rec: LayerRecord = { digest, size_bytes: await diskUsage(target), created_at: new Date().toISOString() };
    await writeJsonAtomic(`${target}.json`, rec);
    return rec;
  }

  /** Records an image whose layers are all stored, and points `names` at it. Call under `locked`. */
  async putImage(rec: ImageRecord, names: readonly string[]): Promise<void> {
    for (const d of rec.layers) {
      if (!this.hasLayer(d)) throw new Error(`image ${rec.id} names layer ${d}, which is not stored`);
    }
    await writeJsonAtomic(join(this.imagesRecordsDir, `${digestHex(rec.id)}.json`), rec);
    if (names.length === 0) return;
    const table = await this.names();
    for (const n of names) table[n] = rec.id;
    await writeJsonAtomic(this.namesFile, sortObject(table));
  }

  async image(id: string): Promise<ImageRecord | null> {
    if (!isDigest(id)) return null;
    return readJson<ImageRecord>(join(this.imagesRecordsDir, `${digestHex(id)}.json`));
  }

  /** Every complete image record. */
  async images(): Promise<ImageRecord[]> {
    const files = (await readdir(this.imagesRecordsDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
    const recs = await Promise.all(files.map((f) => readJson<ImageRecord>(join(this.imagesRecordsDir, f))));
    return recs.filter((r): r is ImageRecord => r !== null);
  }

  /** name → image id. */
  async names(): Promise<Record<string, string>> {
    return (await readJson<Record<string, string>>(this.namesFile)) ?? {};
  }

  /** The image a name or id (`sha256:…`, or its first 12+ hex characters) stands for. */
  async resolve(nameOrId: string): Promise<ImageRecord | null> {
    const byName = (await this.names())[nameOrId];
    if (byName) return this.image(byName);
    if (isDigest(nameOrId)) return this.image(nameOrId);
    if (/^(sha256:)?[0-9a-f]{12,64}$/.test(nameOrId)) {
      const hex = nameOrId.replace(/^sha256:/, '');
      const hits = (await this.images()).filter((r) => digestHex(r.id).startsWith(hex));
      return hits.length === 1 ? hits[0]! : null;
    }
    return null;
  }

  /** Drops a name; the image stays (it may have other names or users). Call under `locked`. */
  async untag(name: string): Promise<void> {
    const table = await this.names();
    if (!(name in table)) return;
    delete table[name];
    await writeJsonAtomic(this.namesFile, table);
  }

  /**
   * Removes an image record, its names, and every layer no remaining image uses.
   * Returns the layers removed. Call under `locked`; the caller checks workspaces first.
   */
  async removeImage(id: string): Promise<string[]> {
    const table = await this.names();
    const kept = Object.fromEntries(Object.entries(table).filter(([, v]) => v !== id));
    if (Object.keys(kept).length !== Object.keys(table).length) await writeJsonAtomic(this.namesFile, kept);
    await rm(join(this.imagesRecordsDir, `${digestHex(id)}.json`), { force: true });
    return this.removeUnusedLayers();
  }

  /**
   * Crash recovery, under the lock: staging dirs of dead processes, layer directories
   * without a record, records without a directory, and layers no image uses.
   */
  async sweep(): Promise<{ staging: string[]; layers: string[] }> {
    return this.locked(async () => {
      const staging: string[] = [];
      for (const name of await readdir(join(this.imagesDir, STAGING)).catch(() => [] as string[])) {
        const pid = Number(name.split('-')[0]);
        if (ownerAlive(pid)) continue;
        await removeTree(join(this.imagesDir, STAGING, name));
        staging.push(name);
      }
      return { staging, layers: await this.removeUnusedLayers() };
    });
  }

  private async removeUnusedLayers(): Promise<string[]> {
    const used = new Set((await this.images()).flatMap((r) => r.layers.map(digestHex)));
    const removed: string[] = [];
    const entries = await readdir(this.layersDir).catch(() => [] as string[]);
    const hexes = new Set(entries.map((e) => e.replace(/\.json$/, '')).filter((h) => /^[0-9a-f]{64}$/.test(h)));
    for (const hex of hexes) {
      const complete = entries.includes(hex) && entries.includes(`${hex}.json`);
      if (complete && used.has(hex)) continue;
      // The record goes first: a crash in between leaves a directory without record (debris again).
      await rm(join(this.layersDir, `${hex}.json`), { force: true });
      await removeTree(join(this.layersDir, hex));
      removed.push(`sha256:${hex}`);
    }
    if (removed.length > 0) await this.dropAliasesOf(new Set(removed));
    return removed;
  }

  private async dropAliasesOf(gone: Set<string>): Promise<void> {
    const table = await this.aliases();
    const kept = Object.fromEntries(Object.entries(table).filter(([, d]) => !gone.has(d)));
    if (Object.keys(kept).length !== Object.keys(table).length) {
      await writeJsonAtomic(join(this.imagesDir, 'layer-aliases.json'), kept);
    }
  }

  private async ensureDirs(): Promise<void> {
    for (const d of [this.layersDir, this.imagesRecordsDir, join(this.imagesDir, STAGING)]) {
      await mkdir(d, { recursive: true, mode: 0o755 });
    }
  }
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, path);
}

function sortObject(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

/** Bytes a tree takes on disk (never crossing into another file system). */
export async function diskUsage(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', '--one-file-system', dir], { timeoutMs: 10 * 60_000 });
  return Number(stdout.split(/\s+/)[0]) || 0;
}
