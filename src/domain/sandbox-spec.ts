/**
 * Stored record → SandboxSpec handed to the driver, plus the control files the
 * agent reads inside the workspace (token and config), written atomically.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { SandboxSpec } from '../drivers/driver.js';
import type { WorkspaceRecord } from '../store/store.js';
import { AGENT_PORT, DEFAULT_PIDS_LIMIT, type DirectoriesPort, type DomainDeps, type FilesPort } from './ports.js';
import { hostnameOf } from './view.js';

export function workspaceDir(workspacesDir: string, id: string): string {
  return join(workspacesDir, id);
}

/** The directory of control files (token, config, control token) the agent reads. */
export function controlDirOf(workspacesDir: string, id: string): string {
  return join(workspaceDir(workspacesDir, id), 'control');
}

/** The image part of a spec: its layers, and what its config asks of the startup command. */
export interface SpecImage {
  layers: string[];
  workingDir?: string;
  user?: string;
}

/** Who a sandbox is for: a workspace record, or a warm-pool sandbox made ahead of demand. */
export interface SpecSubject {
  id: string;
  shortId: string;
  hostname: string;
  image: string;
  resources: { cpus: number; memoryMb: number; diskMb: number };
  env: Record<string, string>;
  cmd?: string[];
  ip: string;
  /** Directory holding `control/` and `sandbox/` (a workspace's, or a pool entry's). */
  dir: string;
}

export function sandboxSpec(s: SpecSubject, image: SpecImage, deps: DomainDeps): SandboxSpec {
  return {
    id: s.id,
    shortId: s.shortId,
    hostname: s.hostname,
    image: { id: s.image, layers: image.layers },
    ...(image.workingDir ? { workdir: image.workingDir } : {}),
    ...(image.user ? { user: image.user } : {}),
    resources: { ...s.resources, pids: DEFAULT_PIDS_LIMIT },
    env: s.env,
    cmd: s.cmd,
    network: {
      ip: s.ip,
      prefixLen: deps.network.prefixLen,
      gateway: deps.network.gateway,
      bridge: deps.network.bridge,
      dns: deps.network.dns ?? [],
    },
    agent: {
      port: AGENT_PORT,
      bundleDir: deps.paths.bundleDir,
      runtimeDir: deps.paths.runtimeDir,
      controlDir: join(s.dir, 'control'),
      ...(deps.paths.sshBundleDir ? { sshBundleDir: deps.paths.sshBundleDir } : {}),
    },
    stateDir: join(s.dir, 'sandbox'),
  };
}

export function specFor(rec: WorkspaceRecord, image: SpecImage, deps: DomainDeps): SandboxSpec {
  return sandboxSpec({
    id: rec.id,
    shortId: rec.shortId,
    hostname: hostnameOf(rec),
    image: rec.image,
    resources: { cpus: rec.config.cpus, memoryMb: rec.config.memory_mb, diskMb: rec.config.disk_size_mb },
    env: Object.fromEntries(rec.config.env.map((e) => [e.key, e.value])),
    ...(rec.config.cmd ? { cmd: rec.config.cmd } : {}),
    ip: rec.ip,
    dir: workspaceDir(deps.paths.workspacesDir, rec.id),
  }, image, deps);
}

/** Where control files go: the host's files and directories (src/host/files.ts). */
export type ControlFileHost = Pick<DomainDeps, 'files' | 'dirs'>;

function writeControl(files: FilesPort, controlDir: string, name: string, data: string): Promise<void> {
  return files.writeAtomic(join(controlDir, name), data, 0o644);
}

function makeControlDir(dirs: DirectoriesPort, spec: SandboxSpec): Promise<void> {
  return dirs.make(spec.agent.controlDir, 0o755);
}

/** The agent enforces exactly the token in this file; empty = runtime API disabled. */
export async function writeAgentToken(host: ControlFileHost, spec: SandboxSpec, rec: WorkspaceRecord): Promise<void> {
  await makeControlDir(host.dirs, spec);
  await writeControl(host.files, spec.agent.controlDir, 'token', rec.apiAccess.enabled ? rec.apiAccess.rawToken : '');
}

/**
 * The control files of a warm-pool sandbox: no workspace yet, so no runtime token (the
 * runtime API refuses everyone) and `pooled`, which holds the agent's boot until the host
 * claims it for a workspace (after `writeControlFiles` gave it that workspace's).
 */
export async function writePoolControlFiles(host: ControlFileHost, spec: SandboxSpec): Promise<void> {
  await makeControlDir(host.dirs, spec);
  const config = { workspace_id: '', hostname: spec.hostname, env: {}, cmd: null, pooled: true, port: AGENT_PORT };
  await writeControl(host.files, spec.agent.controlDir, 'config.json', JSON.stringify(config));
  await writeControl(host.files, spec.agent.controlDir, 'token', '');
  await ensureControlToken(host.files, spec.agent.controlDir);
}

export async function writeControlFiles(host: ControlFileHost, spec: SandboxSpec, rec: WorkspaceRecord): Promise<void> {
  await makeControlDir(host.dirs, spec);
  const config = {
    workspace_id: rec.id,
    hostname: spec.hostname,
    env: spec.env,
    cmd: spec.cmd ?? null,
    workdir: spec.workdir ?? null,
    user: spec.user ?? null,
    // The workspace ends when its command does; Warren's restart policy takes it from there.
    exit_with_cmd: true,
    port: AGENT_PORT,
    // Enabled workloads start at boot, in order; the agent supervises them.
    workloads: rec.config.workloads.filter((w) => w.enabled),
    keep_logs: rec.config.keep_logs,
  };
  await writeControl(host.files, spec.agent.controlDir, 'config.json', JSON.stringify(config));
  await writeAgentToken(host, spec, rec);
  await ensureControlToken(host.files, spec.agent.controlDir);
}

/**
 * The host's credential for the agent's internal API (workloads, log files): made once per
 * workspace, never shown to clients, independent of the runtime token (which may be off).
 */
async function ensureControlToken(files: FilesPort, controlDir: string): Promise<void> {
  const current = (await files.readText(join(controlDir, 'control-token')).catch(() => null)) ?? '';
  if (current.trim().length >= 32) return;
  await writeControl(files, controlDir, 'control-token', randomBytes(32).toString('hex'));
}
