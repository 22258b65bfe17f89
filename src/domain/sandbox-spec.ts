/**
 * Stored record → SandboxSpec handed to the driver, plus the control files the
 * agent reads inside the workspace (token and config), written atomically.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxSpec } from '../drivers/driver.js';
import type { WorkspaceRecord } from '../store/store.js';
import { AGENT_PORT, DEFAULT_PIDS_LIMIT, type DomainDeps } from './ports.js';
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

export function specFor(rec: WorkspaceRecord, image: SpecImage, deps: DomainDeps): SandboxSpec {
  const dir = workspaceDir(deps.paths.workspacesDir, rec.id);
  return {
    id: rec.id,
    shortId: rec.shortId,
    hostname: hostnameOf(rec),
    image: { id: rec.image, layers: image.layers },
    ...(image.workingDir ? { workdir: image.workingDir } : {}),
    ...(image.user ? { user: image.user } : {}),
    resources: {
      cpus: rec.config.cpus,
      memoryMb: rec.config.memory_mb,
      diskMb: rec.config.disk_size_mb,
      pids: DEFAULT_PIDS_LIMIT,
    },
    env: Object.fromEntries(rec.config.env.map((e) => [e.key, e.value])),
    cmd: rec.config.cmd ?? undefined,
    network: {
      ip: rec.ip,
      prefixLen: deps.network.prefixLen,
      gateway: deps.network.gateway,
      bridge: deps.network.bridge,
      dns: deps.network.dns ?? [],
    },
    agent: {
      port: AGENT_PORT,
      bundleDir: deps.paths.bundleDir,
      runtimeDir: deps.paths.runtimeDir,
      controlDir: controlDirOf(deps.paths.workspacesDir, rec.id),
      ...(deps.paths.sshBundleDir ? { sshBundleDir: deps.paths.sshBundleDir } : {}),
    },
    stateDir: join(dir, 'sandbox'),
  };
}

async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode: 0o644 });
  await rename(tmp, path);
}

/** The agent enforces exactly the token in this file; empty = runtime API disabled. */
export async function writeAgentToken(spec: SandboxSpec, rec: WorkspaceRecord): Promise<void> {
  await mkdir(spec.agent.controlDir, { recursive: true, mode: 0o755 });
  await writeAtomic(join(spec.agent.controlDir, 'token'), rec.apiAccess.enabled ? rec.apiAccess.rawToken : '');
}

export async function writeControlFiles(spec: SandboxSpec, rec: WorkspaceRecord): Promise<void> {
  await mkdir(spec.agent.controlDir, { recursive: true, mode: 0o755 });
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
  await writeAtomic(join(spec.agent.controlDir, 'config.json'), JSON.stringify(config));
  await writeAgentToken(spec, rec);
  await ensureControlToken(spec.agent.controlDir);
}

/**
 * The host's credential for the agent's internal API (workloads, log files): made once per
 * workspace, never shown to clients, independent of the runtime token (which may be off).
 */
async function ensureControlToken(controlDir: string): Promise<void> {
  const path = join(controlDir, 'control-token');
  const current = await readFile(path, 'utf8').catch(() => '');
  if (current.trim().length >= 32) return;
  await writeAtomic(path, randomBytes(32).toString('hex'));
}
