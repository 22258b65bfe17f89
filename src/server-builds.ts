/**
 * Dockerfile builds at the composition root (issue 12, item 3): the executor's BuildPorts
 * (src/images/build/types.ts) over the real image store, step cache and sandboxes, and the
 * service `POST /images/build` uses.
 *
 * - resolveBase: ImageStore.ensure (catalog — built on first use — imported, built,
 *   committed); the key is the image's id.
 * - cacheGet/cachePut: the file-backed step cache (src/images/build-cache.ts).
 * - run: a temporary workspace over the parent state (src/domain/build-steps.ts, host side
 *   src/server-build-host.ts); its writable layer becomes the step's layer (build-layers.ts).
 * - addFiles: a layer written on the host (build-files.ts).
 * Every state the build reaches is held (src/images/build-holds.ts) until it ends; the
 * image is named only at the very end, in one locked section, so a build that fails or is
 * killed lists nothing. `recover` (start-up) removes what a killed build left: its
 * temporary workspaces, then its holds.
 */
import type { Readable } from 'node:stream';
import { AppError, isAppError } from './contract/errors.js';
import type { BuildEvent, BuildRequest } from './contract/image-build.js';
import { BuildSteps } from './domain/build-steps.js';
import type { LayerOps } from './domain/layer-ops.js';
import type { DomainDeps } from './domain/ports.js';
import type { WorkspaceService } from './domain/workspaces.js';
import { runBuild, type BuildPorts, type BuildResult, type BuildState } from './images/build/index.js';
import { StepCache } from './images/build-cache.js';
import { BuildHolds, holderAlive, sweepHolds } from './images/build-holds.js';
import { filesLayer, runLayer } from './images/build-layers.js';
import { readDockerfile, receiveContext, type ReceivedContext } from './images/build-upload.js';
import type { ImageStore } from './images/image-store.js';
import { EMPTY_CONFIG, imageIdOf, shortDigest, type ImageRecord } from './images/records.js';
import { buildStepHost } from './server-build-host.js';
import type { Store } from './store/store.js';

/** Default cap of an uploaded build context (WARREN_BUILD_CONTEXT_MAX_MB overrides). */
export const DEFAULT_CONTEXT_MAX_BYTES = 1024 * 1024 * 1024;

/**
 * A RUN step's workspace: WARREN_BUILD_DISK_MB (default 4096: package installs need room),
 * WARREN_BUILD_MEMORY_MB (default 1024), WARREN_BUILD_CPUS (default: a workspace's).
 */
export function stepResourcesFromEnv(): { memory_mb?: number; disk_size_mb?: number; cpus?: number } {
  const num = (name: string, dflt?: number) => {
    const raw = process.env[name];
    const n = raw === undefined || raw === '' ? NaN : Number(raw);
    return Number.isFinite(n) && n > 0 ? n : dflt;
  };
  const out: { memory_mb?: number; disk_size_mb?: number; cpus?: number } = {};
  const disk = num('WARREN_BUILD_DISK_MB', 4096);
  const memory = num('WARREN_BUILD_MEMORY_MB', 1024);
  const cpus = num('WARREN_BUILD_CPUS');
  if (disk) out.disk_size_mb = disk;
  if (memory) out.memory_mb = memory;
  if (cpus) out.cpus = cpus;
  return out;
}

/** WARREN_BUILD_CONTEXT_MAX_MB, else the default. */
export function contextMaxFromEnv(): number {
  const raw = process.env.WARREN_BUILD_CONTEXT_MAX_MB;
  const mb = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(mb) && mb > 0 ? mb * 1024 * 1024 : DEFAULT_CONTEXT_MAX_BYTES;
}

export interface PreparedBuild {
  /** Runs the build, emitting its events (ending with `done` or `error`; neither when aborted). */
  run(onEvent: (e: BuildEvent) => void, signal: AbortSignal): Promise<void>;
  /** Drops the context without building (the request went away first). */
  discard(): Promise<void>;
}

export interface ImageBuilds {
  /** Checks the request, unpacks the context and reads the Dockerfile; AppErrors answer as JSON. */
  prepare(req: BuildRequest, context: Readable): Promise<PreparedBuild>;
}

export interface BuildPlaneInput {
  images: ImageStore;
  workspaces: WorkspaceService;
  store: Store;
  layers: () => LayerOps;
  workspacesDir: string;
  hostIfName: (shortId: string) => string;
  log: DomainDeps['log'];
  maxContextBytes?: number;
}

export function createBuildPlane(i: BuildPlaneInput): { builds: ImageBuilds; recover(): Promise<void> } {
  const layerStore = i.images.layers;
  const cache = new StepCache(layerStore);
  const steps = new BuildSteps({
    workspaces: i.workspaces, store: i.store, layers: i.layers, log: i.log,
    host: buildStepHost({ workspacesDir: i.workspacesDir, hostIfName: i.hostIfName }),
    resources: stepResourcesFromEnv(),
  });
  const maxBytes = i.maxContextBytes ?? contextMaxFromEnv();

  const builds: ImageBuilds = {
    async prepare(req, body) {
      if (i.images.catalogEntry(req.name)) {
        throw new AppError('image_name_reserved', `${req.name} is a catalog image's name`, { field: 'name' });
      }
      const context = await receiveContext(layerStore, body, maxBytes);
      try {
        const dockerfile = await readDockerfile(context.dir, req.dockerfile);
        return {
          run: (onEvent, signal) => runNamed({ ...i, cache, steps }, req, dockerfile, context, onEvent, signal),
          discard: () => context.discard(),
        };
      } catch (err) {
        await context.discard();
        throw err;
      }
    },
  };
  return {
    builds,
    async recover() {
      const workspaces = await steps.removeLeftovers(holderAlive);
      const holds = await sweepHolds(layerStore);
      if (workspaces || holds) i.log('info', 'removed what interrupted image builds left', { workspaces, holds });
    },
  };
}

interface Parts extends BuildPlaneInput {
  cache: StepCache;
  steps: BuildSteps;
}

/** Runs one build and names its image; always releases its holds and context. */
async function runNamed(p: Parts, req: BuildRequest, dockerfile: string, context: ReceivedContext,
  onEvent: (e: BuildEvent) => void, signal: AbortSignal): Promise<void> {
  const holds = new BuildHolds(p.images.layers);
  const seen: { done: Extract<BuildEvent, { type: 'done' }> | null } = { done: null };
  try {
    const result = await runBuild(
      { dockerfile, contextDir: context.dir, buildArgs: req.options.buildArgs, network: req.options.network, noCache: req.options.noCache, signal },
      buildPorts(p, holds),
      (e) => {
        if (e.type === 'done') seen.done = e;
        else onEvent(e);
      },
    );
    const image = await nameImage(p, result, req.name);
    if (!signal.aborted && seen.done) onEvent({ ...seen.done, image: { id: image.id, name: req.name } });
  } catch (err) {
    if (signal.aborted) return;
    const cause = (err as { cause?: unknown }).cause ?? err;
    if (!isAppError(err) || err.code === 'server_error') p.log('error', 'image build failed', { name: req.name, err: String(cause) });
    // The executor reported its own failures; a failure after it finished (naming) is reported here.
    if (seen.done) {
      const e = isAppError(err) ? err : new AppError('server_error', 'the image could not be stored');
      onEvent({ type: 'error', code: e.code, message: e.message });
    }
  } finally {
    await holds.release().catch((err: unknown) => p.log('error', 'releasing a build\'s layers failed', { err: String(err) }));
    await context.discard().catch(() => undefined);
  }
}

function buildPorts(p: Parts, holds: BuildHolds): BuildPorts {
  const store = p.images.layers;
  const ctx = { store, holds };
  return {
    async resolveBase(name) {
      let rec: ImageRecord;
      try {
        rec = await p.images.ensure(name);
      } catch (err) {
        if (isAppError(err) && err.code === 'INVALID_IMAGE') return null;
        throw err;
      }
      const state: BuildState = { layers: rec.layers, config: { ...EMPTY_CONFIG, ...rec.config } };
      return (await holds.hold(state)) ? { key: rec.id, state } : null;
    },
    async cacheGet(key) {
      const hit = await p.cache.get(key);
      return hit && (await holds.hold(hit)) ? hit : null;
    },
    cachePut: (key, state) => p.cache.put(key, state),
    async run(state, argv, opts) {
      // The wrapper starts as root (the agent's node is root's only) and becomes the image's User itself.
      const { user, ...config } = state.config;
      const imageId = await holds.hold({ layers: state.layers, config });
      if (!imageId) throw new Error('a layer of the build is no longer stored');
      return p.steps.run({
        imageId, argv, ...(user ? { user } : {}), env: opts.env, network: opts.network, owner: holds.owner, onLog: opts.onLog, signal: opts.signal,
        toLayer: (tar) => runLayer(ctx, state, tar),
      });
    },
    addFiles: (state, entries, opts) => filesLayer(ctx, state, entries, opts),
  };
}

/**
 * Records the build's image (or finds the identical one) and points `name` at it, in one
 * locked section (under the create lock too, as image removals are). The image the name
 * pointed at before is removed when that leaves it without a name and no workspace uses
 * it (it could not be reached any more).
 */
async function nameImage(p: Parts, result: BuildResult, name: string): Promise<ImageRecord> {
  const store = p.images.layers;
  const { layers, config } = result.state;
  return p.workspaces.underCreateLock(() => store.locked(async () => {
    const before = (await store.names())[name];
    const id = imageIdOf(layers, config);
    const existing = await store.image(id);
    const sizes = await Promise.all(layers.map(async (d) => (await store.layer(d))?.size_bytes ?? 0));
    const rec: ImageRecord = existing ?? {
      id, source: 'built', layers: [...layers], config, created_at: new Date().toISOString(),
      size_bytes: sizes.reduce((a, b) => a + b, 0), history: historyLines(result),
    };
    await store.putImage(rec, [name]);
    if (before && before !== id) await dropUnreachable(p, before);
    return rec;
  }));
}

/** Removes image `id` when nothing names it, it is not a catalog image and no workspace uses it. Under both locks. */
async function dropUnreachable(p: Parts, id: string): Promise<void> {
  const store = p.images.layers;
  const old = await store.image(id);
  if (!old || old.source === 'catalog' || Object.values(await store.names()).includes(id)) return;
  if ((await p.store.allWorkspaces()).some((w) => w.imageId === id)) return;
  await store.removeImage(id);
}

function historyLines(r: BuildResult): string[] {
  return r.metadata.history.map((h) => {
    const layer = h.layer ? ` → ${shortDigest(h.layer)}` : '';
    return `step ${h.step}/${r.totalSteps} (line ${h.line}): ${h.instruction}${h.cached ? ' (cached)' : ''}${layer}`;
  });
}
