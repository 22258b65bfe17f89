/**
 * A Dockerfile RUN step, executed in a real, temporary Warren workspace (issue 12, item 3).
 *
 * The workspace is made through WorkspaceService like any other — quotas, address,
 * firewall and isolation are the normal ones — over the image (an unnamed hold record,
 * src/images/build-holds.ts) of the step's parent state, so the image's WorkingDir
 * applies to the step's command as it applies to any workspace's command; its User is
 * left out of that image and handed to the step wrapper (src/agent/build-step.ts), the
 * workspace's command, which runs as root, waits to be released, runs argv as that user
 * with stdout and stderr in one stream, and marks the end of the output with a nonce.
 *
 *   create (metadata warren.build = owner, restart_policy no, allow_internet per network)
 *   → network none: the host takes the interface away (only lo is left)
 *   → release → output read line by line until the marker → acknowledge
 *   → the workspace ends with the step's exit code (recorded host-side by the exit handler)
 *   → non-zero: StepFailed; else snapshot → export of the writable layer → `toLayer`
 *   → finally: the workspace is deleted, whatever happened (failure, abort).
 *
 * A server killed mid-step leaves a marked workspace: `removeLeftovers` deletes those at
 * start-up. Host specifics (files, interfaces, the wrapper's path) are the StepHostPort's.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../contract/errors.js';
import type { Store, WorkspaceRecord } from '../store/store.js';
import { refOf, type LayerOps } from './layer-ops.js';
import type { WorkspaceService } from './workspaces.js';

/** Metadata key marking a build's temporary workspace; the value names the build (its owner). */
export const BUILD_METADATA_KEY = 'warren.build';
const POLL_MS = 50;
/** A line longer than this is passed on in pieces (the output is untrusted). */
const MAX_LINE = 64 * 1024;

export interface OutputReader {
  /** Output the step wrote since the last call; '' when there is nothing new or it cannot be read. */
  read(): Promise<string>;
}

export interface StepHostPort {
  /**
   * The workspace command (run as root) that runs `argv` as `user` (an OCI User; absent:
   * root) once released, and ends its output with `<nonce> <code>`.
   */
  command(argv: string[], nonce: string, user: string | undefined): string[];
  /** Takes the workspace's network interface away: the step sees lo only. */
  isolate(rec: WorkspaceRecord): Promise<void>;
  release(rec: WorkspaceRecord): Promise<void>;
  output(rec: WorkspaceRecord): OutputReader;
  /** The output was read: the step may end. */
  acknowledge(rec: WorkspaceRecord): Promise<void>;
}

export interface StepRequest {
  /** The stored image the step runs over (its parent state, without its User: see `user`). */
  imageId: string;
  argv: string[];
  /** The image's User, whom argv runs as. */
  user?: string;
  /** The step's whole environment, `KEY=value`. */
  env: string[];
  network: 'default' | 'none';
  /** Written to the workspace's metadata (BUILD_METADATA_KEY). */
  owner: string;
  onLog: (line: string) => void;
  signal: AbortSignal;
  /** Turns a tar of the step's writable layer (an overlay upper) into a layer; null: nothing changed. */
  toLayer: (upperTar: Readable) => Promise<string | null>;
}

/** A step that exited non-zero (the executor turns it into BUILD_STEP_FAILED). */
export class StepFailed extends Error {
  constructor(readonly exitCode: number) {
    super(`exited with code ${exitCode}`);
    this.name = 'StepFailed';
  }
}

export interface BuildStepsDeps {
  workspaces: WorkspaceService;
  store: Store;
  layers: () => LayerOps;
  host: StepHostPort;
  /** Resources of a step's workspace (`memory_mb`, `disk_size_mb`, `cpus`), within the operator's limits. */
  resources?: { memory_mb?: number; disk_size_mb?: number; cpus?: number };
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export class BuildSteps {
  constructor(private readonly d: BuildStepsDeps) {}

  async run(r: StepRequest): Promise<string | null> {
    const nonce = randomBytes(12).toString('hex');
    let id: string | null = null;
    try {
      const { rec } = await this.d.workspaces.create({
        image: r.imageId, name: 'image-build', slug: null, namespace: null, mode: 'permanent', idempotencyKey: null,
        rawConfig: {
          cmd: this.d.host.command(r.argv, nonce, r.user), env: r.env, restart_policy: 'no', wait_for_init: true,
          network_config: { allow_internet: r.network !== 'none' }, ...this.d.resources,
        },
      }, { metadata: { [BUILD_METADATA_KEY]: r.owner } });
      id = rec.id;
      r.signal.throwIfAborted();
      if (rec.state !== 'running') throw new Error(`the build step's workspace did not start (${rec.state}: ${rec.error?.code ?? ''})`);
      if (r.network === 'none') await this.d.host.isolate(rec);
      const exitCode = await this.execute(rec, nonce, r);
      if (exitCode !== 0) throw new StepFailed(exitCode);
      return await this.layerOf(rec.id, r);
    } finally {
      if (id) await this.remove(id);
    }
  }

  /** Releases the step, relays its output, and resolves with its exit code once its workspace ended. */
  private async execute(rec: WorkspaceRecord, nonce: string, r: StepRequest): Promise<number> {
    const reader = this.d.host.output(rec);
    const lines = new OutputLines(nonce, r.onLog);
    await this.d.host.release(rec);
    for (;;) {
      r.signal.throwIfAborted();
      if (lines.feed(await reader.read())) {
        await this.d.host.acknowledge(rec);
        break;
      }
      if (!(await this.stillRunning(rec.id))) {
        lines.feed(await reader.read());
        lines.flush();
        break;
      }
      await sleep(POLL_MS, undefined, { signal: r.signal });
    }
    const ended = await this.waitEnded(rec.id, r.signal);
    if (ended.state !== 'stopped') throw new Error(`the build step's workspace ended ${ended.state}`);
    if (ended.error?.code === 'oom_killed') {
      r.onLog('[warren: the step ran out of memory]');
      return ended.lifecycle.restart.last_exit_code || 137;
    }
    return ended.lifecycle.restart.last_exit_code ?? lines.exitCode ?? 1;
  }

  private async stillRunning(id: string): Promise<boolean> {
    const rec = await this.d.store.getWorkspace(id);
    return rec !== null && rec.state === 'running';
  }

  private async waitEnded(id: string, signal: AbortSignal): Promise<WorkspaceRecord> {
    for (;;) {
      const rec = await this.d.store.getWorkspace(id);
      if (!rec) throw new Error('the build step\'s workspace disappeared');
      if (rec.state !== 'running' && !rec.pending) return rec;
      await sleep(POLL_MS, undefined, { signal });
    }
  }

  /** The stopped workspace's writable layer as a layer (snapshot → export → toLayer), like a commit. */
  private async layerOf(id: string, r: StepRequest): Promise<string | null> {
    const layers = this.d.layers();
    const { rec, snapshot } = await this.d.workspaces.withLock(id, async () => {
      const fresh = await this.d.workspaces.get(id);
      return { rec: fresh, snapshot: await layers.take(fresh, 'archive') };
    });
    try {
      r.signal.throwIfAborted();
      const exp = await layers.exportSnapshot(rec, refOf(snapshot));
      const [digest] = await Promise.all([r.toLayer(exp.stream), exp.done]);
      return digest;
    } finally {
      await layers.drop(snapshot).catch(() => undefined); // the reconciler drops it otherwise
    }
  }

  private async remove(id: string): Promise<void> {
    try {
      await this.d.workspaces.power(id, 'delete', { by: 'user' });
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return;
      this.d.log('error', 'removing a build step\'s workspace failed; it is removed at the next start', { id, err: String(err) });
    }
  }

  /** Deletes the temporary workspaces of builds whose owner is gone (a server killed mid-build). */
  async removeLeftovers(ownerAlive: (owner: string) => boolean): Promise<number> {
    let n = 0;
    for (const rec of await this.d.store.allWorkspaces()) {
      const owner = rec.metadata[BUILD_METADATA_KEY];
      if (owner === undefined || ownerAlive(owner)) continue;
      await this.remove(rec.id);
      n++;
    }
    return n;
  }
}

/**
 * The step's output as lines, up to the end marker `<nonce> <code>` (on a line of its own,
 * after the newline the wrapper writes first — one empty line before the marker is that
 * newline, not output).
 */
export class OutputLines {
  private partial = '';
  private pendingEmpty = false;
  exitCode: number | null = null;
  private done = false;

  constructor(private readonly nonce: string, private readonly onLine: (line: string) => void) {}

  /** Takes more output; true once the marker was seen (what follows it is ignored). */
  feed(text: string): boolean {
    if (this.done || text === '') return this.done;
    this.partial += text;
    let nl = this.partial.indexOf('\n');
    while (nl >= 0 && !this.done) {
      this.line(this.partial.slice(0, nl));
      this.partial = this.partial.slice(nl + 1);
      nl = this.partial.indexOf('\n');
    }
    while (!this.done && this.partial.length > MAX_LINE) {
      this.emit(this.partial.slice(0, MAX_LINE));
      this.partial = this.partial.slice(MAX_LINE);
    }
    return this.done;
  }

  /** The output ended without a marker: pass on what is left. */
  flush(): void {
    if (this.done) return;
    if (this.pendingEmpty) this.onLine('');
    this.pendingEmpty = false;
    if (this.partial !== '') this.onLine(this.partial);
    this.partial = '';
  }

  private line(l: string): void {
    const m = l.startsWith(`${this.nonce} `) ? /^[0-9a-f]+ (\d+)$/.exec(l) : null;
    if (m) {
      this.exitCode = Number(m[1]);
      this.done = true;
      return;
    }
    this.emit(l);
  }

  /** An empty line is held back one line: it may be the wrapper's newline before the marker. */
  private emit(l: string): void {
    if (this.pendingEmpty) this.onLine('');
    this.pendingEmpty = l === '';
    if (l !== '') this.onLine(l);
  }
}
