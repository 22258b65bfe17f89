/**
 * The step cache of Dockerfile builds: step key (src/images/build/cache-key.ts) → the
 * state after that step (layers + config), in one small JSON file of the images dir:
 *
 *   <imagesDir>/build-cache.json   { "version": 1, "entries": { key: { layers, config, at } } }
 *
 * Contracts:
 * - Writes happen under the store lock and replace the file by a rename, so readers (who
 *   read without the lock) see the old or the new file, never half of one.
 * - An entry does not keep its layers: layers belong to images (and to running builds'
 *   holds, src/images/build-holds.ts). `get` answers null when one of the entry's layers is
 *   no longer stored, and every write drops such entries, so the file never grows with
 *   dead states; beyond MAX_ENTRIES the oldest entries go.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerStore } from './layer-store.js';
import type { ImageConfig } from './records.js';

export const CACHE_FILE = 'build-cache.json';
export const MAX_ENTRIES = 4096;

export interface CachedState {
  layers: string[];
  config: ImageConfig;
}

interface Entry extends CachedState {
  /** When the entry was written (ms since the epoch). */
  at: number;
}

interface CacheFile {
  version: 1;
  entries: Record<string, Entry>;
}

export class StepCache {
  constructor(private readonly store: LayerStore) {}

  private get path(): string {
    return join(this.store.imagesDir, CACHE_FILE);
  }

  private async read(): Promise<CacheFile> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as Partial<CacheFile>;
      if (parsed.version === 1 && parsed.entries && typeof parsed.entries === 'object') return parsed as CacheFile;
    } catch {
      // missing or damaged: an empty cache (it only ever saves work)
    }
    return { version: 1, entries: {} };
  }

  /** The state cached under `key` whose layers are all stored; null otherwise. */
  async get(key: string): Promise<CachedState | null> {
    const e = (await this.read()).entries[key];
    if (!e || !Array.isArray(e.layers) || !e.config) return null;
    if (!e.layers.every((d) => this.store.hasLayer(d))) return null;
    return { layers: [...e.layers], config: e.config };
  }

  /** Records `state` under `key`; call under the store lock. */
  async putLocked(key: string, state: CachedState): Promise<void> {
    const file = await this.read();
    file.entries[key] = { layers: [...state.layers], config: state.config, at: Date.now() };
    const live = Object.entries(file.entries).filter(([, e]) => Array.isArray(e.layers) && e.layers.every((d) => this.store.hasLayer(d)));
    live.sort(([, a], [, b]) => b.at - a.at);
    const kept: CacheFile = { version: 1, entries: Object.fromEntries(live.slice(0, MAX_ENTRIES)) };
    const tmp = `${this.path}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(kept), { mode: 0o644 });
    await rename(tmp, this.path);
  }

  async put(key: string, state: CachedState): Promise<void> {
    await this.store.locked(() => this.putLocked(key, state));
  }
}
