/**
 * The fleet of the issue-16 tests on one machine: one private PostgreSQL
 * (test/support/postgres.ts), node daemons (`warren node`), each in a network namespace of
 * its own with its own bridge, subnet and nft tables (test/support/netns.ts), and
 * control-plane replicas (`warren control`) on the host's loopback. Replicas reach a node's
 * relay at `<nsIp>:7443` over its veth; nodes reach PostgreSQL at the host end of theirs.
 *
 * Processes are the compiled CLI, as an operator runs them. Every object is removed by
 * `stop()` and, after a failure, by the process exit hook: a node is SIGKILLed and its
 * sandboxes purged (`warren purge` inside its namespaces: their cgroups, mounts and
 * processes are host-wide), replicas are killed and their data dirs removed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instanceIdFor } from '../../src/config/load.js';
import { CGROUP_ROOT, CONTROLLERS } from '../../src/drivers/ns/names.js';
import { ADMIN, CLI } from './warren.js';
import { TEST_IMAGES_DIR } from './images.js';
import { responseLogDir } from './response-log.js';
import { startNodeNamespace, type NodeNamespace } from './netns.js';
import { startPostgres, withHost, type TestPostgres } from './postgres.js';
import { freePort } from './free-port.js';
export { freePort };

/** The relay port inside each namespace: a namespace of our own has every port free. */
export const RELAY_PORT = 7443;

/** Whether this build has the node and control roles (`warren help` lists them). */
export function fleetRolesAvailable(): boolean {
  const r = spawnSync(process.execPath, [CLI, 'help'], { encoding: 'utf8', timeout: 30_000 });
  return /warren node\b/.test(r.stdout) && /warren control\b/.test(r.stdout);
}


/** Environment every fleet process gets: no traffic off this machine, no warm pool (as test/support/warren.ts). */
function baseEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  return {
    ...process.env, WARREN_UPSTREAM: 'none', WARREN_DNS_UPSTREAM: 'none', WARREN_WARM_POOL: '0',
    WARREN_ADMIN_CLIENT_ID: ADMIN.clientId, WARREN_ADMIN_CLIENT_SECRET: ADMIN.clientSecret, ...extra,
  };
}

/** Keeps the last lines of a process's output; resolves when `ready(line)` gives a value. */
function waitReady<T>(proc: ChildProcess, logs: string[], what: string, ready: (line: string) => T | undefined, ms = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => finish(new Error(`${what} did not start in ${ms} ms:\n${logs.slice(-20).join('\n')}`)), ms);
    const finish = (err: Error | null, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value as T);
    };
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        logs.push(line);
        if (logs.length > 2000) logs.shift();
        const v = ready(line);
        if (v !== undefined) finish(null, v);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code, signal) => finish(new Error(`${what} exited (${code ?? signal}):\n${logs.slice(-30).join('\n')}`)));
  });
}

/** Sends `signal` to the process by its PID and waits for it to exit (SIGKILL after `ms`). */
async function endProcess(proc: ChildProcess | null, signal: NodeJS.Signals, ms = 15_000): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
}

/** The port of a "listening" log line (pino JSON: `"port":N`). */
function listeningPort(line: string): number | undefined {
  if (!/listening/.test(line)) return undefined;
  const m = /"port":(\d+)/.exec(line);
  return m ? Number(m[1]) : undefined;
}

export interface NodeCapacityOptions {
  cpus?: number;
  memoryMb?: number;
  diskMb?: number;
  maxWorkspaces?: number;
}

export interface NodeOptions {
  /** A database URL on the host's loopback (as `createDatabase()` gives); the node gets it on its veth. */
  databaseUrl: string;
  nodeId?: string;
  capacity?: NodeCapacityOptions;
  env?: Record<string, string>;
}

export interface FleetNode {
  readonly ns: NodeNamespace;
  readonly dataDir: string;
  readonly bridge: string;
  readonly subnet: string;
  /** `<nsIp>:7443`: what the node advertises. */
  readonly relay: string;
  readonly logs: string[];
  proc: ChildProcess;
  /** Sends a signal to the node daemon (SIGKILL: a crash) and waits until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the daemon again on the same data dir, bridge and subnet. */
  restart(): Promise<void>;
  /** SIGTERM, then purge of everything the node made, then its data dir. */
  stop(): Promise<void>;
}

function capacityFlags(c: NodeCapacityOptions = {}): string[] {
  const flags: string[] = [];
  if (c.cpus !== undefined) flags.push('--capacity-cpus', String(c.cpus));
  if (c.memoryMb !== undefined) flags.push('--capacity-memory-mb', String(c.memoryMb));
  if (c.diskMb !== undefined) flags.push('--capacity-disk-mb', String(c.diskMb));
  if (c.maxWorkspaces !== undefined) flags.push('--max-workspaces', String(c.maxWorkspaces));
  return flags;
}

/** A sandbox subnet for node `i`: a /24 of 10.240.0.0/12 (it only exists inside the namespace). */
function nodeSubnet(): string {
  const b = randomBytes(2);
  return `10.${240 + (b[0]! % 10)}.${b[1]}.0/24`;
}

/** `warren node` inside `ns`; resolves once it says it is listening. */
export async function startNode(ns: NodeNamespace, opts: NodeOptions): Promise<FleetNode> {
  const dataDir = mkdtempSync(join(tmpdir(), `warren-fleet-node-${ns.name}-`));
  const bridge = `wfb${ns.name.slice(3)}`; // wfb<pid>n<i>: unique on the host too (owner records are host-wide)
  const subnet = nodeSubnet();
  const relay = `${ns.nsIp}:${RELAY_PORT}`;
  const logs: string[] = [];
  const purge = () => {
    const [cmd, ...args] = ns.enter([process.execPath, CLI, 'purge', '--data-dir', dataDir, '--bridge', bridge, '--yes']);
    spawnSync(cmd!, args, { stdio: 'ignore', timeout: 120_000 });
  };
  /** Synchronous (also the exit hook's): SIGKILL by PID, purge inside, remove the data dir. */
  const wipe = () => {
    const p = node.proc;
    if (p?.pid && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch { /* gone */ }
    }
    purge();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const unown = ns.own(wipe);
  const argv = [process.execPath, CLI, 'node', '--database-url', withHost(opts.databaseUrl, ns.hostIp),
    '--data-dir', dataDir, '--images-dir', TEST_IMAGES_DIR, '--bridge', bridge, '--subnet', subnet,
    '--relay-host', ns.nsIp, '--relay-port', String(RELAY_PORT), '--advertise', relay,
    ...(opts.nodeId ? ['--node-id', opts.nodeId] : []), ...capacityFlags(opts.capacity)];
  const launch = async () => {
    logs.push(`--- start ${new Date().toISOString()}`);
    node.proc = ns.spawn(argv, { env: baseEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    await waitReady(node.proc, logs, `warren node in ${ns.name}`, (line) =>
      /listening/.test(line) && /node|relay/i.test(line) && !/resolver|ssh jump/.test(line) ? true : undefined);
  };
  const node: FleetNode = {
    ns, dataDir, bridge, subnet, relay, logs, proc: null as unknown as ChildProcess,
    kill: (signal = 'SIGKILL') => endProcess(node.proc, signal),
    restart: launch,
    async stop() {
      await endProcess(node.proc, 'SIGTERM');
      unown();
      wipe();
    },
  };
  try {
    await launch();
  } catch (err) {
    unown();
    wipe();
    throw err;
  }
  return node;
}

export interface ReplicaOptions {
  databaseUrl: string;
  /** API port (default 0: any free one; a restart keeps the port it got). */
  port?: number;
  env?: Record<string, string>;
}

export interface Replica {
  url: string;
  port: number;
  /** Its SSH jump host's port on 127.0.0.1. */
  sshPort: number;
  /** The preset admin API key (WARREN_ADMIN_CLIENT_ID / _SECRET), the same on every replica. */
  readonly admin: { clientId: string; clientSecret: string };
  readonly dataDir: string;
  readonly logs: string[];
  proc: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same data dir and ports. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `warren control` on the host's loopback; resolves once it listens. Admin key: `ADMIN` of test/support/warren.ts. */
export async function startReplica(opts: ReplicaOptions): Promise<Replica> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-fleet-control-'));
  // A control replica makes no host objects; purge with a bridge name nothing has still
  // removes anything of its instance should a build make some, and never touches warren0.
  const bridge = `wfr${randomBytes(3).toString('hex')}`;
  const logs: string[] = [];
  const wipe = () => {
    const p = replica.proc;
    if (p?.pid && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch { /* gone */ }
    }
    spawnSync(process.execPath, [CLI, 'purge', '--data-dir', dataDir, '--bridge', bridge, '--yes'], { stdio: 'ignore', timeout: 120_000 });
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', wipe);
  const launch = async () => {
    logs.push(`--- start ${new Date().toISOString()}`);
    const proc = spawn(process.execPath, [CLI, 'control', '--database-url', opts.databaseUrl, '--data-dir', dataDir,
      '--images-dir', TEST_IMAGES_DIR, '--host', '127.0.0.1', '--port', String(replica.port)], {
      env: baseEnv({
        WARREN_SSH_PORT: String(replica.sshPort),
        WARREN_TEST_RESPONSE_LOG: join(responseLogDir(), `${dataDir.split('/').pop()}.jsonl`),
        ...opts.env,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    replica.proc = proc;
    replica.port = await waitReady(proc, logs, 'warren control', (line) =>
      /resolver|ssh jump/.test(line) ? undefined : listeningPort(line));
    replica.url = `http://127.0.0.1:${replica.port}`;
  };
  const replica: Replica = {
    url: '', port: opts.port ?? 0, sshPort: await freePort(), admin: ADMIN, dataDir, logs, proc: null as unknown as ChildProcess,
    kill: (signal = 'SIGKILL') => endProcess(replica.proc, signal),
    restart: launch,
    async stop() {
      await endProcess(replica.proc, 'SIGTERM');
      process.removeListener('exit', wipe);
      wipe();
    },
  };
  try {
    await launch();
  } catch (err) {
    process.removeListener('exit', wipe);
    wipe();
    throw err;
  }
  return replica;
}

export interface FleetOptions {
  nodes?: number;
  replicas?: number;
  /**
   * Per node (index → options); the database URL is the fleet's. Called once the node's
   * namespace exists and before its daemon starts, so a test can attach things to `ns` first.
   */
  node?: (i: number, ns: NodeNamespace) => Omit<NodeOptions, 'databaseUrl'> | Promise<Omit<NodeOptions, 'databaseUrl'>>;
  replicaEnv?: Record<string, string>;
}

export interface Fleet {
  pg: TestPostgres;
  /** The fleet's database on the host's loopback. */
  databaseUrl: string;
  namespaces: NodeNamespace[];
  nodes: FleetNode[];
  replicas: Replica[];
  /** Replicas, nodes, PostgreSQL, namespaces; never throws; once (later calls wait for the first). */
  stop(): Promise<void>;
}

/**
 * Namespaces first (PostgreSQL listens on their host ends, which must exist when it
 * starts), then PostgreSQL, then the nodes one by one and the replicas (the first replica
 * to start applies the migrations; nodes need them, so a replica starts first).
 */
export async function startFleet(opts: FleetOptions = {}): Promise<Fleet> {
  let stopped: Promise<void> | null = null;
  const stopAll = async () => {
    const quietly = (p: Promise<unknown>) => p.catch(() => {});
    for (const r of fleet.replicas) await quietly(r.stop());
    for (const n of fleet.nodes) await quietly(n.stop());
    if (fleet.pg) await quietly(fleet.pg.stop());
    for (const ns of fleet.namespaces) await quietly(ns.stop());
  };
  const fleet: Fleet = {
    pg: null as unknown as TestPostgres, databaseUrl: '', namespaces: [], nodes: [], replicas: [],
    stop: () => (stopped ??= stopAll()),
  };
  try {
    for (let i = 0; i < (opts.nodes ?? 2); i++) fleet.namespaces.push(await startNodeNamespace(i));
    fleet.pg = await startPostgres({
      listenAddresses: fleet.namespaces.map((ns) => ns.hostIp),
      trustNetworks: fleet.namespaces.map((ns) => ns.network),
    });
    fleet.databaseUrl = await fleet.pg.createDatabase();
    const replicas = opts.replicas ?? 2;
    if (replicas > 0) fleet.replicas.push(await startReplica({ databaseUrl: fleet.databaseUrl, env: opts.replicaEnv }));
    for (const [i, ns] of fleet.namespaces.entries()) {
      fleet.nodes.push(await startNode(ns, { ...(await opts.node?.(i, ns)), databaseUrl: fleet.databaseUrl }));
    }
    for (let i = 1; i < replicas; i++) fleet.replicas.push(await startReplica({ databaseUrl: fleet.databaseUrl, env: opts.replicaEnv }));
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}

/**
 * What a stopped node left on the host, by the names src/drivers/ns/names.ts derives from
 * its instance id (sandbox namespaces, cgroups), loop devices and mounts under its data
 * dir, the data dir itself, and its namespace and veth. Empty after `stop()`.
 */
export function nodeLeftovers(node: FleetNode): string[] {
  const inst = instanceIdFor(node.dataDir);
  const found: string[] = [];
  for (const name of readdirSync('/run/netns')) {
    if (name.startsWith(`warren-${inst}-`) || name === node.ns.name) found.push(`netns ${name}`);
  }
  for (const c of CONTROLLERS) {
    if (existsSync(join(CGROUP_ROOT, c, `warren-${inst}`))) found.push(`cgroup ${c}/warren-${inst}`);
  }
  const loops = spawnSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' }).stdout;
  for (const line of loops.split('\n')) if (line.includes(node.dataDir)) found.push(`loop ${line.trim()}`);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line.includes(node.dataDir) || line.includes(node.ns.mountNs)) found.push(`mount ${line}`);
  }
  if (existsSync(node.dataDir)) found.push(`data dir ${node.dataDir}`);
  if (existsSync(`/sys/class/net/${node.ns.hostIf}`)) found.push(`veth ${node.ns.hostIf}`);
  return found;
}
