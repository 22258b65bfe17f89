/**
 * The namespace-sandbox driver, Warren's embedded default isolation backend:
 * bubblewrap (PID/UTS/IPC/mount/cgroup namespaces, no capabilities, seccomp,
 * hardened /proc) in a named netns wired to the host bridge by a veth pair, cgroup v1
 * limits, and an overlay of the image's read-only layers under a size-capped loop-ext4 writable layer.
 *
 * Every method is idempotent and reads the truth from the host (pid files are checked
 * against the PID's cgroup to survive PID reuse). Operations on one sandbox are
 * serialised inside this process.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type {
  AdoptingDriver, DriverCapabilities, ExportOptions, ImportKind, LayerRef, PausableDriver, SandboxSpec, SandboxStats, SandboxStatus,
  SnapshotCapabilities, SnapshotDriver, SnapshotResult, TarExport,
} from '../driver.js';
import { createNetns, deleteNetns, linkExists, netnsExists, netnsPath } from '../../network/plumbing.js';
import { CommandRunner } from '../../util/command-runner.js';
import { run } from '../../util/exec.js';
import { mountsUnder, unmountAll } from '../../storage/mounts.js';
import { readNumberNow, SandboxCgroups } from './cgroups.js';
import { sandboxLayout } from './sandbox-layout.js';
import { launchSandbox, readExitStatus, saveLogTail, watchExitStatus } from './launch.js';
import { assertShortId, CONTROLLERS, SandboxNames, statePaths } from './names.js';
import { listResidueIds, sandboxMounts, writeMarker } from './residue.js';
import { LayerStore, MEMORY_UNAVAILABLE_REASON } from './layers.js';
import { exportTar, importTar } from './layer-tar.js';
import { listChanges } from './layer-list.js';
import { diskUsage, ensureDisk, mountedHere, mountLayers, setLayerQuota, syncLayer, unmountLayers, unmountPoint } from './storage.js';
import { writeResolvConf } from './resolv.js';
import { faultPoint } from '../../util/fault-points.js';
import { isSandboxProcess, removeStateDir } from './sandbox-host.js';

export type DriverLog = (msg: string, fields?: Record<string, unknown>) => void;

/** Where snapshots and temporary mounts live (on the storage pool, src/storage/pool.ts). */
export interface NsStorageOptions {
  snapshotsDir: string;
  scratchDir: string;
  /** Layer copies are reflink clones. */
  copyOnWrite: boolean;
}

export interface NsDriverOptions {
  /** 4 hex chars naming this Warren instance's kernel objects. */
  instanceId: string;
  log?: DriverLog;
  /** Without it the driver cannot snapshot (e.g. `warren purge`). */
  storage?: NsStorageOptions;
}


const REQUIRED_COMMANDS = ['bash', 'bwrap', 'nsenter', 'ip', 'mount', 'umount', 'mkfs.ext4', 'e2fsck', 'resize2fs',
  'fsfreeze', 'cp', 'tar', 'find', 'ionice'];

async function readInt(path: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export class NsDriver implements PausableDriver, SnapshotDriver, AdoptingDriver {
  readonly name = 'ns';
  readonly capabilities: DriverCapabilities;
  readonly snapshots: SnapshotCapabilities;
  private readonly names: SandboxNames;
  private readonly log: DriverLog;
  private readonly layers: LayerStore | null;
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Short host commands on the create path, run off the event loop (util/command-runner.ts). */
  private readonly commands = new CommandRunner();

  constructor(private readonly opts: NsDriverOptions) {
    this.names = new SandboxNames(opts.instanceId);
    this.log = opts.log ?? (() => undefined);
    this.layers = opts.storage ? new LayerStore(opts.storage) : null;
    this.capabilities = { pause: true, snapshot: this.layers !== null, isolation: true };
    this.snapshots = this.layers?.capabilities
      ?? { filesystem: true, memory: false, memoryUnavailableReason: MEMORY_UNAVAILABLE_REASON, copyOnWrite: false };
  }

  async prepare(): Promise<void> {
    const missing: string[] = [];
    for (const cmd of REQUIRED_COMMANDS) {
      if (!(await run('sh', ['-c', 'command -v "$1"', 'sh', cmd]).then(() => true, () => false))) missing.push(cmd);
    }
    for (const c of CONTROLLERS) {
      if (!existsSync(`/sys/fs/cgroup/${c}/cgroup.procs`)) missing.push(`cgroup v1 controller ${c}`);
    }
    if (!existsSync('/dev/loop-control')) missing.push('/dev/loop-control');
    if (!(await readFile('/proc/filesystems', 'utf8')).includes('overlay')) missing.push('overlayfs');
    if (process.getuid?.() !== 0) missing.push('root privileges');
    if (missing.length) throw new Error(`namespace driver prerequisites missing: ${missing.join(', ')}`);
    await this.sweepStorage();
  }

  /** Interrupted snapshot copies and temporary mounts of a crashed server go. */
  private async sweepStorage(): Promise<void> {
    const storage = this.opts.storage;
    if (!storage || !this.layers) return;
    await this.layers.sweep();
    for (const m of await mountsUnder(storage.scratchDir)) await unmountAll(m);
    for (const name of await readdir(storage.scratchDir).catch(() => [] as string[])) {
      await rm(`${storage.scratchDir}/${name}`, { recursive: true, force: true });
    }
  }

  create(spec: SandboxSpec): Promise<void> {
    return this.serial(spec, () => this.createNow(spec));
  }

  start(spec: SandboxSpec): Promise<SandboxStatus> {
    return this.serial(spec, () => this.startNow(spec));
  }

  stop(spec: SandboxSpec): Promise<void> {
    return this.serial(spec, () => this.stopNow(spec));
  }

  destroy(spec: SandboxSpec): Promise<void> {
    return this.serial(spec, async () => {
      await this.stopNow(spec);
      faultPoint('driver.destroy.stopped');
      await deleteNetns({ netnsName: this.names.netns(spec.shortId), hostIf: this.names.hostVeth(spec.shortId) });
      faultPoint('driver.destroy.netns-deleted');
      await this.cgroups(spec.shortId).remove();
      faultPoint('driver.destroy.cgroups-removed');
      await removeStateDir(spec.stateDir);
      this.log('sandbox destroyed', { shortId: spec.shortId });
    });
  }

  async inspect(spec: SandboxSpec): Promise<SandboxStatus> {
    assertShortId(spec.shortId);
    const p = statePaths(spec.stateDir);
    const cg = this.cgroups(spec.shortId);
    const pid = await readInt(p.pid);
    if (pid !== undefined && (await isSandboxProcess(pid, this.names.cgroupMarker(spec.shortId)))) {
      return { state: (await cg.freezerState()) === 'FROZEN' ? 'paused' : 'running', pid };
    }
    const state = existsSync(p.disk) ? 'stopped' : 'absent';
    if (pid === undefined) return { state };
    // Started and never stopped by us, yet gone: tell why if the kernel knows.
    const baseline = (await readInt(p.oomBaseline)) ?? 0;
    const exitCode = await readExitStatus(p.status);
    const reason = (await cg.oomKills()) > baseline ? 'oom' : 'exited';
    return exitCode === undefined ? { state, reason } : { state, reason, exitCode };
  }

  watchExit(spec: SandboxSpec, onExit: () => void): () => void {
    assertShortId(spec.shortId);
    return watchExitStatus(statePaths(spec.stateDir).status, onExit);
  }

  async stats(spec: SandboxSpec): Promise<SandboxStats> {
    assertShortId(spec.shortId);
    const usage = await this.cgroups(spec.shortId).usage();
    const disk = await diskUsage(spec.stateDir, spec.resources.diskMb);
    const net = `/sys/class/net/${this.names.hostVeth(spec.shortId)}/statistics`;
    // Host-side counters: what the host end receives is what the workspace sent.
    const hostRx = readNumberNow(`${net}/rx_bytes`);
    const hostTx = readNumberNow(`${net}/tx_bytes`);
    return {
      ...usage,
      diskUsedBytes: disk.used,
      diskLimitBytes: disk.limit,
      networkRxBytes: hostTx,
      networkTxBytes: hostRx,
    };
  }

  updateResources(spec: SandboxSpec): Promise<void> {
    return this.serial(spec, async () => {
      const cg = this.cgroups(spec.shortId);
      if (cg.exists()) await cg.setLimits(spec.resources);
      const upperFs = statePaths(spec.stateDir).upperFs;
      if (mountedHere(upperFs)) await setLayerQuota(upperFs, spec.resources.diskMb);
    });
  }

  adopt(spec: SandboxSpec): Promise<void> {
    return this.serial(spec, async () => {
      const p = statePaths(spec.stateDir);
      await writeMarker(spec.stateDir, { instanceId: this.names.instanceId, shortId: spec.shortId, id: spec.id });
      await this.cgroups(spec.shortId).setLimits(spec.resources);
      if (mountedHere(p.upperFs)) await setLayerQuota(p.upperFs, spec.resources.diskMb);
      const pid = await readInt(p.pid);
      const current = (await readFile(p.hostname, 'utf8').catch(() => '')).trim();
      if (pid !== undefined && current !== spec.hostname && (await isSandboxProcess(pid, this.names.cgroupMarker(spec.shortId)))) {
        // Host root entering only the sandbox's UTS namespace: the name is validated by the contract.
        // Through the long-lived shell: a spawn from Node would block the server 10–20 ms on the create path.
        const r = await this.commands.run('nsenter', ['--target', String(pid), '--uts', 'hostname', '--', spec.hostname]);
        if (r.code !== 0) throw new Error(`could not set the hostname of sandbox ${spec.shortId} (exit ${r.code})`);
        await writeFile(p.hostname, `${spec.hostname}\n`);
      }
    });
  }

  pause(spec: SandboxSpec): Promise<void> {
    return this.serial(spec, async () => {
      await this.requireLive(spec);
      await this.cgroups(spec.shortId).setFrozen(true);
    });
  }

  resume(spec: SandboxSpec): Promise<void> {
    return this.serial(spec, async () => {
      await this.requireLive(spec);
      await this.cgroups(spec.shortId).setFrozen(false);
    });
  }

  snapshot(spec: SandboxSpec, snapshotId: string, opts: { keepFrozen?: boolean } = {}): Promise<SnapshotResult> {
    const ref = { shortId: spec.shortId, snapshotId };
    return this.serial(spec, () => this.layerStore().snapshot(spec.stateDir, this.cgroups(spec.shortId), ref, opts.keepFrozen));
  }

  restore(spec: SandboxSpec, from: LayerRef): Promise<void> {
    return this.serial(spec, () => this.layerStore().restore(spec.stateDir, from));
  }

  deleteSnapshot(ref: LayerRef): Promise<void> {
    return this.layerStore().delete(ref);
  }

  listSnapshots(): Promise<LayerRef[]> {
    return this.layerStore().list();
  }

  exportTar(spec: SandboxSpec, from: LayerRef, opts: ExportOptions): Promise<TarExport> {
    return exportTar(this.storage(), this.layerStore().fileOf(from), spec.image.layers, opts);
  }

  importTar(spec: SandboxSpec, input: Readable, kind: ImportKind): Promise<void> {
    return this.serial(spec, () => importTar(this.storage(), {
      stateDir: spec.stateDir, imageLayers: spec.image.layers, diskMb: spec.resources.diskMb, input, kind,
    }));
  }

  listChanges(spec: SandboxSpec, limit: number) {
    return this.serial(spec, () => listChanges(spec.stateDir, this.storage().scratchDir, limit));
  }

  syncLayer(spec: SandboxSpec): Promise<void> {
    return this.serial(spec, () => syncLayer(spec.stateDir));
  }

  /** A snapshot interrupted by a crash can leave the layer fsfreeze'd: thaw it (EINVAL when not frozen). */
  recover(spec: SandboxSpec): Promise<void> {
    return this.serial(spec, async () => {
      const upperFs = statePaths(spec.stateDir).upperFs;
      if (mountedHere(upperFs)) await run('fsfreeze', ['--unfreeze', upperFs]).catch(() => undefined);
    });
  }

  listResidue(): Promise<string[]> {
    return listResidueIds(this.names);
  }

  async destroyResidue(shortId: string): Promise<void> {
    assertShortId(shortId);
    const cg = this.cgroups(shortId);
    await cg.killAll();
    for (const m of await sandboxMounts(this.names, shortId)) await unmountPoint(m.mountPoint);
    await deleteNetns({ netnsName: this.names.netns(shortId), hostIf: this.names.hostVeth(shortId) });
    await cg.remove();
    this.log('sandbox residue removed', { shortId });
  }

  // ---- internals ----

  private cgroups(shortId: string): SandboxCgroups {
    return new SandboxCgroups(this.names, shortId);
  }

  private layerStore(): LayerStore {
    if (!this.layers) throw new Error('this namespace driver was made without storage: it cannot snapshot');
    return this.layers;
  }

  private storage(): NsStorageOptions {
    if (!this.opts.storage) throw new Error('this namespace driver was made without storage');
    return this.opts.storage;
  }

  /** Runs `fn` after every earlier operation on the same sandbox has settled. */
  private serial<T>(spec: SandboxSpec, fn: () => Promise<T>): Promise<T> {
    assertShortId(spec.shortId);
    const prev = this.queues.get(spec.shortId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    this.queues.set(spec.shortId, tail);
    void tail.then(() => {
      if (this.queues.get(spec.shortId) === tail) this.queues.delete(spec.shortId);
    });
    return next;
  }

  private async createNow(spec: SandboxSpec): Promise<void> {
    const t0 = performance.now();
    const seed = spec.seed && this.layers ? { image: this.layers.fileOf(spec.seed), copyOnWrite: this.layers.capabilities.copyOnWrite } : undefined;
    await ensureDisk(spec.stateDir, spec.resources.diskMb, seed, this.opts.storage?.scratchDir);
    faultPoint('driver.create.disk-ready');
    await writeMarker(spec.stateDir, { instanceId: this.names.instanceId, shortId: spec.shortId, id: spec.id });
    await this.cgroups(spec.shortId).ensure(spec.resources);
    faultPoint('driver.create.cgroups-ready');
    await createNetns({
      netnsName: this.names.netns(spec.shortId),
      hostIf: this.names.hostVeth(spec.shortId),
      bridge: spec.network.bridge,
      ip: spec.network.ip,
      prefixLen: spec.network.prefixLen,
      gateway: spec.network.gateway,
    });
    faultPoint('driver.create.netns-ready');
    await writeFile(statePaths(spec.stateDir).created, `${Date.now()}\n`);
    this.log('sandbox created', { shortId: spec.shortId, ms: Math.round(performance.now() - t0) });
  }

  /**
   * Whether everything `createNow` makes is still there, read cheaply from the host (no
   * process spawned): its last step's stamp, the netns, the host veth and the cgroups. A
   * host reboot or a crash mid-create fails the check, and create runs again.
   */
  private async isCreated(spec: SandboxSpec): Promise<boolean> {
    const p = statePaths(spec.stateDir);
    return existsSync(p.created) && existsSync(p.disk) && this.cgroups(spec.shortId).complete()
      && linkExists(this.names.hostVeth(spec.shortId)) && (await netnsExists(this.names.netns(spec.shortId)));
  }

  private async startNow(spec: SandboxSpec): Promise<SandboxStatus> {
    const current = await this.inspect(spec);
    if (current.state === 'running' || current.state === 'paused') return current;
    const t0 = performance.now();
    if (!(await this.isCreated(spec))) await this.createNow(spec); // converge after a crash or host reboot
    const cg = this.cgroups(spec.shortId);
    await cg.killAll(); // leftovers of a dead sandbox must not share the new one's groups
    await mountLayers(spec.stateDir, spec.image.layers, this.names.overlaySource(spec.shortId), spec.resources.diskMb);
    faultPoint('driver.start.layers-mounted');
    const layout = await sandboxLayout(spec, cg);
    await writeResolvConf(statePaths(spec.stateDir).rootfs, spec.network.dns ?? []).catch((err: unknown) =>
      this.log('resolv.conf not written', { shortId: spec.shortId, err: String(err) }));
    const p = statePaths(spec.stateDir);
    await rm(p.pid, { force: true });
    await rm(p.status, { force: true });
    await writeFile(p.oomBaseline, `${await cg.oomKills()}\n`);
    const launched = await launchSandbox({
      spec,
      netnsPath: netnsPath(this.names.netns(spec.shortId)),
      cgroupProcs: cg.procsFiles(),
      layout,
    });
    faultPoint('driver.start.launched');
    await writeFile(p.hostname, `${spec.hostname}\n`);
    this.log('sandbox started', { shortId: spec.shortId, pid: launched.pid, ms: Math.round(performance.now() - t0) });
    return { state: 'running', pid: launched.pid };
  }

  private async stopNow(spec: SandboxSpec): Promise<void> {
    const p = statePaths(spec.stateDir);
    await this.cgroups(spec.shortId).killAll();
    faultPoint('driver.stop.killed');
    // The outer bwrap is in the cgroup too; kill it by pid only if that pid is still ours.
    const bwrapPid = await readInt(p.bwrapPid);
    if (bwrapPid !== undefined && (await isSandboxProcess(bwrapPid, this.names.cgroupMarker(spec.shortId)))) {
      try {
        process.kill(bwrapPid, 'SIGKILL');
      } catch { /* gone */ }
    }
    await saveLogTail(p.liveLog, p.log);
    await unmountLayers(spec.stateDir);
    faultPoint('driver.stop.unmounted');
    for (const f of [p.pid, p.bwrapPid, p.info, p.status, p.hostname]) await rm(f, { force: true });
  }

  private async requireLive(spec: SandboxSpec): Promise<void> {
    const s = await this.inspect(spec);
    if (s.state !== 'running' && s.state !== 'paused') throw new Error(`sandbox ${spec.shortId} is ${s.state}`);
  }
}
