/**
 * The bubblewrap command line of a sandbox (pure; unit-tested).
 *
 * bwrap runs as real root without a user namespace, so `--cap-drop ALL` alone leaves
 * uid 0 able to write any root-owned 0644 file: in a fresh procfs that includes the
 * host-wide /proc/sys (kernel.core_pattern = code execution on the host). Hence the
 * read-only and masked /proc paths below, the same set container runtimes use. There is
 * no /sys, /dev is bwrap's minimal set, and the only host paths inside are the agent's
 * read-only binds: its code, its runtime bundle (Node and its tools with their own
 * libraries, so the image needs neither Node nor glibc), the control dir and the sshd bundle.
 *
 * Capabilities: all dropped but SANDBOX_CAPS, what OpenSSH's sshd needs (privilege
 * separation: setuid/setgid/setgroups and chroot into /run/sshd; port 22 of the
 * workspace's own netns) — a subset of Docker's default set. No new privileges can be
 * gained by exec (bwrap sets no_new_privs); the chroot cannot lead above the sandbox's
 * own root (pivot_root'ed, the old root unmounted); other uids see only the sandbox's
 * files. docs/ARCHITECTURE.md (Isolation) has the reasoning; escape tests check it.
 */
import { RUNTIME_MOUNT, runtimePath } from '../../contract/agent-runtime.js';
import type { SandboxSpec } from '../driver.js';

/** Host-wide /proc entries that stay visible but read-only. */
export const PROC_READ_ONLY = ['sys', 'sysrq-trigger', 'irq', 'bus', 'fs', 'mtrr'];
/** /proc files replaced by /dev/null (kernel memory, keys, timers, scheduler internals). */
export const PROC_MASKED_FILES = ['kcore', 'keys', 'timer_list', 'timer_stats', 'sched_debug', 'latency_stats',
  'kpagecgroup', 'kpagecount', 'kpageflags', 'kmsg'];
/** /proc directories replaced by an empty read-only tmpfs. */
export const PROC_MASKED_DIRS = ['acpi', 'scsi', 'asound', 'driver'];

/**
 * The agent as one file (scripts/post-build.mjs bundles dist/agent/main.js with esbuild): Node loads
 * one module instead of about sixty, which takes ≈ 40 ms off every boot. It sits beside main.js so
 * the packages it leaves out (ws, node-pty) resolve from the same place.
 */
export const AGENT_ENTRY = '/.warren/dist/agent/main.bundle.mjs';
/** The runtime bundle's Node (src/contract/agent-runtime.ts). */
export const AGENT_NODE = runtimePath('node');
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where the sshd bundle appears (src/ssh/bundle.ts). */
export const SSH_BUNDLE_MOUNT = '/.warren/ssh';
/** The only capabilities sandbox processes keep (see the module comment). */
export const SANDBOX_CAPS = ['CAP_SETUID', 'CAP_SETGID', 'CAP_SYS_CHROOT', 'CAP_NET_BIND_SERVICE'] as const;

export interface BwrapLayout {
  /** Host path of the mounted overlay (becomes /). */
  rootfs: string;
  infoFd: number;
  seccompFd: number;
  /** Where bwrap reports the main process's exit code (`--json-status-fd`). */
  statusFd?: number;
  /** Names present in the host's /proc (only existing entries can be bound over). */
  hostProcEntries: ReadonlySet<string>;
  /** Which optional agent paths exist on the host. */
  agentHas: { nodeModules: boolean; packageJson: boolean };
  /**
   * The sandbox's own cgroup directories (controller → host dir), shown read-only at
   * /sys/fs/cgroup/<controller> so processes can read their limits (memory.limit_in_bytes,
   * cpu.cfs_quota_us, pids.max) as they change. Nothing else of /sys exists.
   */
  cgroupViews?: ReadonlyArray<{ controller: string; hostDir: string }>;
  /**
   * Subdirectory of each cgroup view bound writable (`workloads`): the agent makes one
   * group per workload there, so each is measured apart. Limits stay hierarchical (a child
   * never exceeds the sandbox's group), and the sandbox's own group files stay read-only.
   */
  delegatedCgroupSubdir?: string;
  /** Host directory bound writable at /.warren/logs (the agent's log files). */
  logsDir?: string;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Environment of the sandbox: user env over defaults; platform variables always win. */
export function sandboxEnv(spec: SandboxSpec): [string, string][] {
  const env = new Map<string, string>([['PATH', DEFAULT_PATH], ['HOME', '/root']]);
  for (const [k, v] of Object.entries(spec.env)) {
    if (!ENV_KEY.test(k)) throw new Error(`invalid environment variable name: ${JSON.stringify(k)}`);
    if (v.includes('\0')) throw new Error(`environment variable ${k} contains NUL`);
    env.set(k, v);
  }
  env.set('WARREN_AGENT_PORT', String(spec.agent.port));
  env.set('HOSTNAME', spec.hostname);
  return [...env];
}

function procHardening(entries: ReadonlySet<string>): string[] {
  const args: string[] = [];
  for (const name of PROC_READ_ONLY) {
    if (entries.has(name)) args.push('--ro-bind', `/proc/${name}`, `/proc/${name}`);
  }
  for (const name of PROC_MASKED_FILES) {
    if (entries.has(name)) args.push('--ro-bind', '/dev/null', `/proc/${name}`);
  }
  for (const name of PROC_MASKED_DIRS) {
    if (entries.has(name)) args.push('--size', '4096', '--tmpfs', `/proc/${name}`, '--remount-ro', `/proc/${name}`);
  }
  return args;
}

/** /sys: an empty read-only tmpfs, with only the sandbox's own cgroups bound read-only inside. */
function sysMounts(layout: BwrapLayout): string[] {
  const views = layout.cgroupViews ?? [];
  if (views.length === 0) return [];
  const args = ['--size', '4096', '--tmpfs', '/sys'];
  const sub = layout.delegatedCgroupSubdir;
  for (const v of views) {
    args.push('--ro-bind', v.hostDir, `/sys/fs/cgroup/${v.controller}`);
    if (sub) args.push('--bind', `${v.hostDir}/${sub}`, `/sys/fs/cgroup/${v.controller}/${sub}`);
  }
  args.push('--remount-ro', '/sys');
  return args;
}

/** /.warren: a tmpfs holding read-only binds of the agent, then made read-only itself. */
function agentMounts(spec: SandboxSpec, layout: BwrapLayout): string[] {
  const b = spec.agent.bundleDir;
  const args = ['--size', String(1024 * 1024), '--tmpfs', '/.warren',
    '--ro-bind', `${b}/dist`, '/.warren/dist'];
  if (layout.agentHas.nodeModules) args.push('--ro-bind', `${b}/node_modules`, '/.warren/node_modules');
  if (layout.agentHas.packageJson) args.push('--ro-bind', `${b}/package.json`, '/.warren/package.json');
  args.push(
    // Node, rg, tar, gzip and the pty addon with their libraries: the agent needs nothing from the image
    '--ro-bind', spec.agent.runtimeDir, RUNTIME_MOUNT,
    '--ro-bind', spec.agent.controlDir, '/.warren/control',
  );
  // sshd, sftp-server and their libraries, for workspaces with SSH on; skipped when not built
  if (spec.agent.sshBundleDir) args.push('--ro-bind-try', spec.agent.sshBundleDir, SSH_BUNDLE_MOUNT);
  if (layout.logsDir) args.push('--bind', layout.logsDir, '/.warren/logs');
  args.push('--remount-ro', '/.warren');
  return args;
}

/** bwrap options (without program name and command; they go through `--args FD`). */
export function bwrapArgs(spec: SandboxSpec, layout: BwrapLayout): string[] {
  const args = [
    '--unshare-pid', '--unshare-uts', '--unshare-ipc', '--unshare-cgroup-try',
    '--hostname', spec.hostname,
    '--bind', layout.rootfs, '/',
    '--proc', '/proc',
    ...procHardening(layout.hostProcEntries),
    '--dev', '/dev',
    ...sysMounts(layout),
    '--size', String(64 * 1024 * 1024), '--tmpfs', '/run',
    ...agentMounts(spec, layout),
    '--dir', '/root', '--chdir', '/root',
    '--clearenv',
  ];
  for (const [k, v] of sandboxEnv(spec)) args.push('--setenv', k, v);
  args.push(
    '--new-session',
    '--cap-drop', 'ALL',
    ...SANDBOX_CAPS.flatMap((c) => ['--cap-add', c]),
    '--info-fd', String(layout.infoFd),
    '--seccomp', String(layout.seccompFd),
  );
  if (layout.statusFd !== undefined) args.push('--json-status-fd', String(layout.statusFd));
  return args;
}

/** What bwrap runs inside the sandbox (given after `--` on bwrap's own command line). */
export const AGENT_COMMAND = [AGENT_NODE, AGENT_ENTRY] as const;
