/**
 * The memory driver: sandboxes that exist only in this process, for fast in-process
 * tests of the domain and the control plane. Each running sandbox is a MemoryAgent
 * (./agent.ts) answering on the sandbox's address, which must be a loopback address
 * (a 127.0.0.0/8 workspace subnet), so Warren's readiness probe and agent calls work
 * unchanged. Its writable layer is a map of path → text that survives stop and start
 * and goes with destroy; pause closes the agent's port until resume.
 *
 * Snapshots copy the layer (./layers.ts); restore, fork seeds and tar export/import
 * work on those copies, so the domain's snapshot, fork and archive flows run in-process.
 *
 * It isolates nothing and runs no workspace code (`capabilities.isolation` is false):
 * the registry offers it only to tests (src/drivers/registry.ts). Its stats are
 * derived, not measured: CPU is 1 % of the time running, memory a fixed 8 MiB plus
 * the layer, 2 processes while running, network the agent's own bytes.
 */
import { randomInt } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  LayerError,
  type AdoptingDriver, type DriverCapabilities, type ExportOptions, type ImportKind, type LayerEntry, type LayerRef,
  type PausableDriver, type SandboxSpec, type SandboxStats, type SandboxStatus, type SnapshotCapabilities,
  type SnapshotDriver, type SnapshotResult, type TarExport,
} from '../driver.js';
import { MemoryAgent, type MemoryAgentState } from './agent.js';
import { exportLayer, layerBytes, readTar, SnapshotShelf } from './layers.js';

const MiB = 1024 * 1024;
const BASE_MEMORY_BYTES = 8 * MiB;

interface MemorySandbox {
  spec: SandboxSpec;
  state: 'stopped' | 'running' | 'paused';
  agentState: MemoryAgentState;
  agent: MemoryAgent | null;
  /** Running time before the current run, and when the current run began (performance.now()). */
  ranMs: number;
  runningSince: number | null;
  /** Disk quota in MiB: grows with updateResources, never shrinks. */
  diskMb: number;
  exitWatchers: Set<() => void>;
  /** Why the last run ended by itself, when it did. */
  ended?: { reason: string; exitCode: number };
}

function isLoopback(ip: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);
}

export class MemoryDriver implements PausableDriver, AdoptingDriver, SnapshotDriver {
  readonly name = 'memory';
  readonly capabilities: DriverCapabilities = { pause: true, snapshot: true, isolation: false };
  readonly snapshots: SnapshotCapabilities = {
    filesystem: true, memory: false, memoryUnavailableReason: 'The memory test driver keeps files only', copyOnWrite: true,
  };
  private readonly sandboxes = new Map<string, MemorySandbox>();
  private readonly shelf = new SnapshotShelf();
  /** Fictitious pids above Linux's largest pid_max, so none names a real process. */
  private nextPid = (1 << 22) + 1 + randomInt(1_000_000);
  private readonly livePids = new Set<number>();

  async prepare(): Promise<void> {}

  async create(spec: SandboxSpec): Promise<void> {
    if (!isLoopback(spec.network.ip)) {
      throw new Error(`the memory driver serves agents on loopback addresses; ${spec.network.ip} is not in 127.0.0.0/8`);
    }
    const known = this.sandboxes.get(spec.shortId);
    if (known) {
      known.spec = spec;
      return;
    }
    // A new sandbox with a seed starts from a copy of that snapshot (a fork).
    const layer = spec.seed ? this.shelf.copy(spec.seed) : new Map<string, string>();
    this.sandboxes.set(spec.shortId, {
      spec, state: 'stopped', agent: null, ranMs: 0, runningSince: null, diskMb: spec.resources.diskMb,
      agentState: { pid: 0, hostname: spec.hostname, layer, rxBytes: 0, txBytes: 0 },
      exitWatchers: new Set(),
    });
  }

  async start(spec: SandboxSpec): Promise<SandboxStatus> {
    await this.create(spec);
    const box = this.sandboxes.get(spec.shortId)!;
    if (box.state === 'stopped') {
      const pid = this.nextPid++;
      box.agentState.pid = pid;
      box.agentState.hostname = spec.hostname;
      box.agent = await MemoryAgent.listen(spec.network.ip, spec.agent.port, box.agentState);
      this.livePids.add(pid);
      box.state = 'running';
      box.runningSince = performance.now();
      delete box.ended;
    }
    return this.statusOf(box);
  }

  async stop(spec: SandboxSpec): Promise<void> {
    const box = this.sandboxes.get(spec.shortId);
    if (box) await this.halt(box);
  }

  async destroy(spec: SandboxSpec): Promise<void> {
    await this.destroyResidue(spec.shortId);
  }

  async inspect(spec: SandboxSpec): Promise<SandboxStatus> {
    const box = this.sandboxes.get(spec.shortId);
    return box ? this.statusOf(box) : { state: 'absent' };
  }

  async stats(spec: SandboxSpec): Promise<SandboxStats> {
    const box = this.sandboxes.get(spec.shortId);
    if (!box) throw new Error(`no memory sandbox ${spec.shortId}`);
    const live = box.state !== 'stopped';
    const ranMs = box.ranMs + (box.runningSince === null ? 0 : performance.now() - box.runningSince);
    const used = layerBytes(box.agentState.layer);
    const net = box.agent?.counters() ?? { rxBytes: box.agentState.rxBytes, txBytes: box.agentState.txBytes };
    const memoryLimitBytes = box.spec.resources.memoryMb * MiB;
    return {
      cpuUsageNs: Math.round(ranMs * 1e6 * 0.01),
      memoryBytes: live ? Math.min(memoryLimitBytes, BASE_MEMORY_BYTES + used) : 0,
      memoryLimitBytes,
      pids: live ? 2 : 0,
      diskUsedBytes: used,
      diskLimitBytes: box.diskMb * MiB,
      networkRxBytes: net.rxBytes,
      networkTxBytes: net.txBytes,
    };
  }

  async updateResources(spec: SandboxSpec): Promise<void> {
    const box = this.sandboxes.get(spec.shortId);
    if (!box) return;
    box.spec = { ...box.spec, resources: { ...spec.resources } };
    box.diskMb = Math.max(box.diskMb, spec.resources.diskMb);
  }

  watchExit(spec: SandboxSpec, onExit: () => void): () => void {
    const box = this.sandboxes.get(spec.shortId);
    if (!box) return () => {};
    box.exitWatchers.add(onExit);
    return () => box.exitWatchers.delete(onExit);
  }

  async listResidue(): Promise<string[]> {
    return [...this.sandboxes.keys()];
  }

  async destroyResidue(shortId: string): Promise<void> {
    const box = this.sandboxes.get(shortId);
    if (!box) return;
    await this.halt(box);
    this.sandboxes.delete(shortId);
  }

  async pause(spec: SandboxSpec): Promise<void> {
    const box = this.sandboxes.get(spec.shortId);
    if (box?.state === 'paused') return;
    if (!box || box.state !== 'running') throw new Error(`memory sandbox ${spec.shortId} is not running`);
    await box.agent?.close(); // a frozen agent answers nobody
    box.agent = null;
    box.state = 'paused';
  }

  async resume(spec: SandboxSpec): Promise<void> {
    const box = this.sandboxes.get(spec.shortId);
    if (!box || box.state === 'stopped') throw new Error(`memory sandbox ${spec.shortId} is not paused`);
    if (box.state === 'running') return;
    box.agent = await MemoryAgent.listen(box.spec.network.ip, box.spec.agent.port, box.agentState);
    box.state = 'running';
  }

  /** A pooled sandbox takes the workspace's identity (hostname, limits) without a restart. */
  async adopt(spec: SandboxSpec): Promise<void> {
    const box = this.sandboxes.get(spec.shortId);
    if (!box) throw new Error(`no memory sandbox ${spec.shortId} to adopt`);
    box.spec = spec;
    box.agentState.hostname = spec.hostname;
    box.diskMb = Math.max(box.diskMb, spec.resources.diskMb);
  }

  async snapshot(spec: SandboxSpec, snapshotId: string, opts: { keepFrozen?: boolean } = {}): Promise<SnapshotResult> {
    const box = this.require(spec);
    const t0 = performance.now();
    const live = box.state !== 'stopped';
    this.shelf.put({ shortId: spec.shortId, snapshotId }, box.agentState.layer);
    if (live && opts.keepFrozen) await this.pause(spec);
    return {
      bytes: layerBytes(box.agentState.layer), copyOnWrite: true, frozenMs: live ? Math.max(0.01, performance.now() - t0) : 0,
    };
  }

  async restore(spec: SandboxSpec, from: LayerRef): Promise<void> {
    const box = this.require(spec);
    if (box.state !== 'stopped') throw new Error(`memory sandbox ${spec.shortId} must be stopped to restore`);
    box.agentState.layer = this.shelf.copy(from);
  }

  async deleteSnapshot(ref: LayerRef): Promise<void> {
    this.shelf.delete(ref);
  }

  async listSnapshots(): Promise<LayerRef[]> {
    return this.shelf.list();
  }

  async exportTar(_spec: SandboxSpec, from: LayerRef, opts: ExportOptions): Promise<TarExport> {
    return exportLayer(this.shelf.copy(from), opts);
  }

  async importTar(spec: SandboxSpec, input: Readable, kind: ImportKind): Promise<void> {
    const box = this.require(spec);
    if (box.state !== 'stopped') throw new Error(`memory sandbox ${spec.shortId} must be stopped to import`);
    const files = await readTar(input);
    const next = kind === 'layer' ? files : new Map([...box.agentState.layer, ...files]);
    if (layerBytes(next) > box.diskMb * MiB) throw new LayerError('no_space', 'The archive does not fit the workspace disk');
    box.agentState.layer = next; // all or nothing: the old layer stays on any failure above
  }

  async listChanges(spec: SandboxSpec, limit: number): Promise<{ entries: LayerEntry[]; truncated: boolean }> {
    const all = [...this.require(spec).agentState.layer.entries()].sort(([a], [b]) => a.localeCompare(b));
    const entries = all.slice(0, limit).map(([path, text]) => ({ path, type: 'file' as const, size: Buffer.byteLength(text) }));
    return { entries, truncated: all.length > limit };
  }

  /** Nothing to flush: the layer is this process's memory. */
  async syncLayer(): Promise<void> {}

  /** A snapshot cannot be interrupted half-way here; nothing to undo. */
  async recover(): Promise<void> {}

  /** Whether a pid this driver handed out belongs to a sandbox that is up (running or paused). */
  isAlive(pid: number): boolean {
    return this.livePids.has(pid);
  }

  /** Test hook: the sandbox's main process ends by itself with `exitCode` (watchers are told). */
  async exitByItself(shortId: string, exitCode: number): Promise<void> {
    const box = this.sandboxes.get(shortId);
    if (!box || box.state === 'stopped') return;
    const watchers = [...box.exitWatchers];
    await this.halt(box);
    box.ended = { reason: 'exited', exitCode };
    for (const w of watchers) w();
  }

  private require(spec: SandboxSpec): MemorySandbox {
    const box = this.sandboxes.get(spec.shortId);
    if (!box) throw new Error(`no memory sandbox ${spec.shortId}`);
    return box;
  }

  private async halt(box: MemorySandbox): Promise<void> {
    if (box.state === 'stopped') return;
    await box.agent?.close();
    box.agent = null;
    this.livePids.delete(box.agentState.pid);
    if (box.runningSince !== null) box.ranMs += performance.now() - box.runningSince;
    box.runningSince = null;
    box.state = 'stopped';
    box.exitWatchers.clear();
  }

  private statusOf(box: MemorySandbox): SandboxStatus {
    if (box.state === 'stopped') {
      return box.ended ? { state: 'stopped', reason: box.ended.reason, exitCode: box.ended.exitCode } : { state: 'stopped' };
    }
    return { state: box.state, pid: box.agentState.pid };
  }
}
