/**
 * Shared fixtures of the driver tests: a test bridge, a stand-in agent bundle whose
 * HTTP server runs POSTed argv inside the sandbox (the same path workspace code uses),
 * the real runtime bundle it runs on, and a spec factory. Names use the `wtA` prefix
 * reserved for these tests.
 */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run, tryRun } from '../../src/util/exec.js';
import type { SandboxSpec } from '../../src/drivers/driver.js';
import type { NsStorageOptions } from '../../src/drivers/ns/driver.js';
import { prepareStorage, releaseStorage, storageDirs, type StorageMode } from '../../src/storage/pool.js';
import { ensureRuntimeBundle } from '../../src/storage/runtime-bundle.js';
import { CONTROLLERS, SandboxNames } from '../../src/drivers/ns/names.js';
import { AGENT_ENTRY } from '../../src/drivers/ns/bwrap-args.js';

/** Where the agent's entry is under a bundle dir (what bwrap binds at /.warren). */
export const AGENT_ENTRY_IN_BUNDLE = AGENT_ENTRY.replace(/^\/\.warren\//, '');

export const AGENT_PORT = 9990;

/**
 * The test agent: GET /health, POST /exec {argv, input?, timeoutMs?} → {code, signal,
 * stdout, stderr}, POST /hog (the agent itself allocates until the OOM killer ends it).
 */
const AGENT_SOURCE = String.raw`
import http from 'node:http';
import os from 'node:os';
import { spawn } from 'node:child_process';
function execArgv({ argv, input, timeoutMs }) {
  return new Promise((resolve) => {
    let stdout = '', stderr = '';
    let child;
    try { child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] }); }
    catch (err) { return resolve({ code: -1, signal: null, stdout, stderr: String(err) }); }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs ?? 20000);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (err) => { clearTimeout(timer); resolve({ code: -1, signal: null, stdout, stderr: String(err) }); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}
http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', async () => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/health') return res.end(JSON.stringify({ ok: true, pid: process.pid, hostname: os.hostname() }));
    if (req.method === 'POST' && req.url === '/exec') return res.end(JSON.stringify(await execArgv(JSON.parse(body))));
    if (req.method === 'POST' && req.url === '/hog') { const hog = []; for (;;) hog.push(Buffer.alloc(1 << 20, 1)); }
    res.statusCode = 404; res.end('{}');
  });
}).listen(Number(process.env.WARREN_AGENT_PORT), '0.0.0.0');
`;

export interface Fixture {
  root: string;
  bundleDir: string;
  controlDir: string;
  stateRoot: string;
  /** The agent's runtime bundle (set by withRuntime): what `/.warren/runtime` shows. */
  runtimeDir?: string;
  /** Snapshot and scratch dirs for a driver that snapshots (set by poolStorage). */
  storage?: NsStorageOptions;
  /** Unmounts the fixture's storage pool, if any (before cleanup). */
  release(): Promise<void>;
  cleanup(): void;
}

/** Temp dirs: agent bundle, control dir, state root. */
export function makeFixture(): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'wtA-driver-'));
  const bundleDir = join(root, 'bundle');
  mkdirSync(join(bundleDir, 'dist/agent'), { recursive: true });
  mkdirSync(join(bundleDir, 'node_modules'));
  writeFileSync(join(bundleDir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(join(bundleDir, AGENT_ENTRY_IN_BUNDLE), AGENT_SOURCE);
  const controlDir = join(root, 'control');
  mkdirSync(controlDir);
  writeFileSync(join(controlDir, 'token'), 'test-token\n');
  const stateRoot = join(root, 'state');
  mkdirSync(stateRoot);
  return {
    root, bundleDir, controlDir, stateRoot,
    release: async () => undefined,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Builds the real runtime bundle (this Node, rg, tar, …) inside the fixture (about a second, ~100 MB). */
export async function withRuntime(fixture: Fixture): Promise<Fixture> {
  fixture.runtimeDir = await ensureRuntimeBundle(join(fixture.root, 'runtime'), () => undefined);
  return fixture;
}

/** Puts the fixture's sandbox layers and snapshots on storage of `mode` (an XFS pool: copy-on-write). */
export async function poolStorage(fixture: Fixture, mode: StorageMode): Promise<Fixture> {
  const dataDir = join(fixture.root, 'data');
  const info = await prepareStorage({ dataDir, request: mode, poolBytes: 64 * 1024 * 1024 * 1024 });
  const dirs = storageDirs(info.root);
  fixture.stateRoot = dirs.workspaces;
  fixture.storage = { snapshotsDir: dirs.snapshots, scratchDir: dirs.scratch, copyOnWrite: info.copyOnWrite };
  fixture.release = () => releaseStorage(dataDir);
  return fixture;
}

export interface TestBridge {
  name: string;
  gateway: string;
  prefixLen: number;
  /** Next free sandbox address. */
  nextIp(): string;
  remove(): Promise<void>;
}

/** A bridge `wtA<tag>` holding `gateway/prefixLen`; addresses handed out after the gateway. */
export async function makeBridge(tag: string, gateway: string, prefixLen: number): Promise<TestBridge> {
  const name = `wtA${tag}`;
  await tryRun('ip', ['link', 'delete', name]);
  await run('ip', ['link', 'add', name, 'type', 'bridge']);
  await run('ip', ['addr', 'add', `${gateway}/${prefixLen}`, 'dev', name]);
  await run('ip', ['link', 'set', name, 'up']);
  const base = gateway.split('.').map(Number);
  let host = base[3]!;
  return {
    name, gateway, prefixLen,
    nextIp: () => `${base[0]}.${base[1]}.${base[2]}.${++host}`,
    remove: async () => { await tryRun('ip', ['link', 'delete', name]); },
  };
}

export function randomShortId(): string {
  return randomBytes(4).toString('hex');
}

export interface SpecFactoryOptions {
  fixture: Fixture;
  bridge: TestBridge;
  /** The image's layer directories, base first. */
  layers: string[];
}

export interface SpecOverrides {
  resources?: Partial<SandboxSpec['resources']>;
  network?: Partial<SandboxSpec['network']>;
  env?: Record<string, string>;
  seed?: SandboxSpec['seed'];
}

/** Returns a function making fresh specs (unique shortId, IP, stateDir) with overrides. */
export function specFactory(o: SpecFactoryOptions) {
  const runtimeDir = o.fixture.runtimeDir;
  if (!runtimeDir) throw new Error('specFactory needs a fixture withRuntime()');
  return (overrides: SpecOverrides = {}): SandboxSpec => {
    const shortId = randomShortId();
    return {
      id: `ws_test${shortId}`,
      shortId,
      hostname: `wtA-${shortId}`,
      image: { id: 'test-rootfs', layers: o.layers },
      resources: { cpus: 1, memoryMb: 256, diskMb: 128, pids: 256, ...overrides.resources },
      env: { WARREN_TEST: '1', ...overrides.env },
      network: {
        ip: o.bridge.nextIp(), prefixLen: o.bridge.prefixLen, gateway: o.bridge.gateway, bridge: o.bridge.name,
        ...overrides.network,
      },
      agent: { port: AGENT_PORT, bundleDir: o.fixture.bundleDir, runtimeDir, controlDir: o.fixture.controlDir },
      stateDir: join(o.fixture.stateRoot, shortId),
      ...(overrides.seed ? { seed: overrides.seed } : {}),
    };
  };
}

/** Removes the (empty) cgroup parents a test's driver instance made; absent ones are fine. */
export function removeCgroupParents(instanceId: string): void {
  const names = new SandboxNames(instanceId);
  for (const c of CONTROLLERS) {
    try {
      rmdirSync(names.cgroupParent(c));
    } catch { /* absent */ }
  }
}
