/**
 * What the launcher needs to know about the host for one sandbox's bwrap command line:
 * the agent's files (code, runtime bundle, control dir), the host's /proc entries, the
 * sandbox's cgroup views (with the writable `workloads/` subdirectory) and its log
 * directory. Checked and created here so a missing piece fails before bwrap runs.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RUNTIME_FILES } from '../../contract/agent-runtime.js';
import type { SandboxSpec } from '../driver.js';
import type { BwrapLayout } from './bwrap-args.js';
import { DELEGATED_SUBDIR, type SandboxCgroups } from './cgroups.js';
import { statePaths } from './names.js';

/** Controllers whose files the sandbox may read at /sys/fs/cgroup/<controller> (its own group only). */
const CGROUP_VIEWS = ['memory', 'cpu', 'cpuacct', 'pids'] as const;

let procEntries: Set<string> | undefined;

async function hostProcEntries(): Promise<Set<string>> {
  procEntries ??= new Set((await readdir('/proc')).filter((n) => !/^\d+$/.test(n)));
  return procEntries;
}

async function checkAgentPaths(spec: SandboxSpec): Promise<void> {
  const a = spec.agent;
  for (const path of [`${a.bundleDir}/dist`, join(a.runtimeDir, RUNTIME_FILES.node), a.controlDir]) {
    await stat(path).catch(() => {
      throw new Error(`agent path missing on the host: ${path}`);
    });
  }
}

export type LaunchLayout = Omit<BwrapLayout, 'infoFd' | 'seccompFd' | 'statusFd' | 'rootfs'>;

/** Call with the layer mounted: the log directory lives on it. */
export async function sandboxLayout(spec: SandboxSpec, cg: SandboxCgroups): Promise<LaunchLayout> {
  await checkAgentPaths(spec);
  await cg.ensureDelegated();
  const logsDir = statePaths(spec.stateDir).agentLogs;
  await mkdir(logsDir, { recursive: true, mode: 0o755 });
  return {
    hostProcEntries: await hostProcEntries(),
    agentHas: {
      nodeModules: existsSync(`${spec.agent.bundleDir}/node_modules`),
      packageJson: existsSync(`${spec.agent.bundleDir}/package.json`),
    },
    cgroupViews: CGROUP_VIEWS.map((c) => ({ controller: c, hostDir: cg.dir(c) })),
    delegatedCgroupSubdir: DELEGATED_SUBDIR,
    logsDir,
  };
}
