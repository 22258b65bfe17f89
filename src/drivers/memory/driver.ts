/**
 * The memory driver: sandboxes that exist only in this process, for fast in-process
 * tests of the domain and the control plane. Each running sandbox is a MemoryAgent
 * (./agent.ts) answering on the sandbox's address, which must be a loopback address
 * (a 127.0.0.0/8 workspace subnet), so Warren's readiness probe and agent calls work
 * unchanged. Its writable layer is a map of path → text that survives stop and start
 * and goes with destroy; pause closes the agent's port until resume.
 *
 * It isolates nothing and runs no workspace code (`capabilities.isolation` is false):
 * the registry offers it only to tests (src/drivers/registry.ts). Its stats are
 * derived, not measured: CPU is 1 % of the time running, memory a fixed 8 MiB plus
 * the layer, 2 processes while running, network the agent's own bytes.
 */
import { randomInt } from 'node:crypto';
import type {
  AdoptingDriver, DriverCapabilities, PausableDriver, SandboxSpec, SandboxStats, SandboxStatus,
} from '../driver.js';
import { MemoryAgent, type MemoryAgentState } from './agent.js';

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

export class MemoryDriver implements PausableDriver, AdoptingDriver {
  readonly name = 'memory';
  readonly capabilities: DriverCapabilities = { pause: true, snapshot: false, isolation: false };
  private readonly sandboxes = new Map<string, MemorySandbox>();
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
    this.sandboxes.set(spec.shortId, {
      spec, state: 'stopped', agent: null, ranMs: 0, runningSince: null, diskMb: spec.resources.diskMb,
      agentState: { pid: 0, hostname: spec.hostname, layer: new Map(), rxBytes: 0, txBytes: 0 },
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
    const layerBytes = [...box.agentState.layer.values()].reduce((n, t) => n + Buffer.byteLength(t), 0);
    const net = box.agent?.counters() ?? { rxBytes: box.agentState.rxBytes, txBytes: box.agentState.txBytes };
    const memoryLimitBytes = box.spec.resources.memoryMb * MiB;
    return {
      cpuUsageNs: Math.round(ranMs * 1e6 * 0.01),
      memoryBytes: live ? Math.min(memoryLimitBytes, BASE_MEMORY_BYTES + layerBytes) : 0,
      memoryLimitBytes,
      pids: live ? 2 : 0,
      diskUsedBytes: layerBytes,
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
