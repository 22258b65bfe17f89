/**
 * What keeps a build's intermediate layers alive while it runs (a build can take many
 * minutes; meanwhile an image delete elsewhere sweeps every layer no image record names).
 *
 * A hold is an unnamed image record (source `built`) of one state the build reached —
 * its base, each cached or executed step — whose config carries the label
 * `warren.build.hold=<pid>:<start time>-<build id>`. The label makes the record's id
 * unique to this build (ids hash layers + config), so no two builds, and no named image,
 * ever share a hold; a RUN step's temporary workspace is pinned to the hold of its parent
 * state. Every hold is written under the store lock, in the same locked section that
 * checks its layers are stored (or commits the new one), so a layer is never without a
 * record between a step and the next.
 *
 * `release` removes the build's holds (and the layers nothing else uses); `sweepHolds`
 * removes the holds of processes that are gone (a server killed mid-build). Holds are
 * never listed: they have no name.
 */
import { randomBytes } from 'node:crypto';
import type { LayerStore } from './layer-store.js';
import { ownerAlive, processStartTime } from './lock.js';
import { imageIdOf, type ImageConfig, type ImageRecord } from './records.js';

export const HOLD_LABEL = 'warren.build.hold';

export interface HeldState {
  layers: string[];
  config: ImageConfig;
}

export class BuildHolds {
  /** `<pid>:<start time>-<random>`: whose holds these are. */
  readonly owner: string;
  private readonly ids = new Set<string>();
  /** Released: a step still finishing after its build was cancelled holds nothing more. */
  private released = false;

  constructor(private readonly store: LayerStore) {
    this.owner = `${process.pid}:${processStartTime(process.pid) ?? '0'}-${randomBytes(6).toString('hex')}`;
  }

  /** The hold record of `state` (not written: see `hold`). */
  recordOf(state: HeldState): ImageRecord {
    const config = { ...state.config, labels: { ...state.config.labels, [HOLD_LABEL]: this.owner } };
    return {
      id: imageIdOf(state.layers, config), source: 'built', layers: [...state.layers], config,
      created_at: new Date().toISOString(), size_bytes: 0, history: ['build hold'],
    };
  }

  /**
   * Holds `state`; false (nothing written) when one of its layers is no longer stored.
   * Call under the store lock. Returns the hold's image id through `recordOf`.
   */
  async holdLocked(state: HeldState): Promise<boolean> {
    if (this.released || !state.layers.every((d) => this.store.hasLayer(d))) return false;
    const rec = this.recordOf(state);
    if (!this.ids.has(rec.id)) {
      await this.store.putImage(rec, []);
      this.ids.add(rec.id);
    }
    return true;
  }

  /** `holdLocked` under the lock; resolves with the hold's image id, or null. */
  async hold(state: HeldState): Promise<string | null> {
    return this.store.locked(async () => ((await this.holdLocked(state)) ? this.recordOf(state).id : null));
  }

  /** Removes every hold of this build, then the layers no image uses any more. */
  async release(): Promise<void> {
    await this.store.locked(async () => {
      this.released = true;
      for (const id of this.ids) await this.store.removeImage(id);
    });
    this.ids.clear();
  }
}

function ownerOf(rec: ImageRecord): string | null {
  const label = rec.config.labels?.[HOLD_LABEL];
  return rec.source === 'built' && typeof label === 'string' ? label : null;
}

/** Whether the process that wrote a hold (`<pid>:<start>-…`) still runs. */
export function holderAlive(owner: string): boolean {
  const m = /^(\d+):(\d+)-/.exec(owner);
  return m !== null && ownerAlive(Number(m[1]), m[2] === '0' ? undefined : m[2]);
}

/** Removes the holds of dead processes (crash debris); returns how many. */
export async function sweepHolds(store: LayerStore): Promise<number> {
  return store.locked(async () => {
    let n = 0;
    for (const rec of await store.images()) {
      const owner = ownerOf(rec);
      if (owner === null || holderAlive(owner)) continue;
      await store.removeImage(rec.id);
      n++;
    }
    return n;
  });
}
