/**
 * The workspace's OpenSSH server, run by the agent from the host's bundle at /.warren/ssh
 * (sshd, sftp-server and their libraries; src/ssh/bundle.ts) as the host's document says
 * (src/contract/ssh-agent.ts): at boot from the control file, later through PUT /_warren/ssh.
 *
 * - sshd runs in its own cgroup `workloads/_ssh` (like a workload: the agent's main thread
 *   moves there to spawn it), so every session it spawns is born there too and disable
 *   SIGKILLs the whole group at once. Without the delegated tree the sshd process tree
 *   (found through /proc) is killed instead.
 * - A change while it runs rewrites the files and sends SIGHUP (sshd re-executes itself
 *   with the new config; live sessions go on); the call returns once the new sshd listens,
 *   so the change is in force when the host answers. sshd logs "Server listening" just
 *   before it installs its SIGHUP handler, so a SIGHUP is sent only RELOAD_SETTLE_MS after
 *   that line (earlier, the signal would kill it). Keys and passwords are read per login.
 * - sshd starts with the `tty` group as its gid, so the pseudo-terminals it allocates
 *   already belong to that group and it never needs CAP_CHOWN to hand them over.
 * Calls are serialised; `status()` answers at once.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SSH_CONTROL_FILE, type SshAgentConfig, type SshAgentStatus } from '../../contract/ssh-agent.js';
import { DEFAULT_PATH } from '../process.js';
import type { WorkloadCgroups } from '../workloads/cgroup.js';
import { ensureAccounts } from './accounts.js';
import { authorizedKeysPath, hostKeyPath, parseSshConfig, renderSshdConfig, SSH_BUNDLE_DIR, SSH_RUN_DIR } from './config.js';

/** The cgroup of sshd and its sessions, beside the agent's `_agent` (never a workload id). */
export const SSH_GROUP = '_ssh';
const START_TIMEOUT_MS = 5000;
const RESTART_DELAY_MS = 2000;
const RELOAD_SETTLE_MS = 150;

export interface SshManagerDeps {
  cgroups: WorkloadCgroups;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  bundleDir?: string;
  runDir?: string;
  etcDir?: string;
}

export class SshManager {
  private config: SshAgentConfig = { enabled: false };
  private child: ChildProcess | null = null;
  private inCgroup = false;
  private rendered = '';
  private error: string | null = null;
  private startedAt = 0;
  /** When the running sshd last said it listens; null while it starts or re-executes. */
  private readyAt: number | null = null;
  private readyWaiters: Array<() => void> = [];
  private queue: Promise<unknown> = Promise.resolve();
  private readonly paths;

  constructor(private readonly d: SshManagerDeps) {
    this.paths = { bundleDir: d.bundleDir ?? SSH_BUNDLE_DIR, runDir: d.runDir ?? SSH_RUN_DIR };
  }

  status(): SshAgentStatus {
    const running = this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
    return { enabled: this.config.enabled, running, pid: running ? this.child!.pid ?? null : null, error: this.error };
  }

  /** Applies the boot document in the control directory (absent or invalid: SSH stays off). */
  boot(controlDir: string): Promise<SshAgentStatus> {
    let doc: SshAgentConfig = { enabled: false };
    try {
      doc = parseSshConfig(JSON.parse(readFileSync(join(controlDir, SSH_CONTROL_FILE), 'utf8')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.d.log('warn', 'ssh control file unusable; ssh stays off');
    }
    return this.apply(doc);
  }

  /** Makes what runs match `doc` (already parsed); resolves with the status once sshd listens or failed. */
  apply(doc: SshAgentConfig): Promise<SshAgentStatus> {
    const run = this.queue.then(() => this.applyNow(doc));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(doc: SshAgentConfig): Promise<SshAgentStatus> {
    this.config = doc;
    if (!doc.enabled) {
      await this.stop();
      this.error = null;
      return this.status();
    }
    if (!existsSync(join(this.paths.bundleDir, 'sshd'))) {
      this.error = 'sshd_missing';
      return this.status();
    }
    const gid = ensureAccounts(this.d.etcDir ?? '/etc', doc.password_hash ?? null);
    const changed = this.writeFiles(doc);
    if (this.status().running) {
      if (changed) await this.reload();
      return this.status();
    }
    await this.start(gid);
    return this.status();
  }

  /** Writes config, host keys and authorized_keys (0600 under a 0700 dir); true when the config changed. */
  private writeFiles(doc: SshAgentConfig): boolean {
    mkdirSync(this.paths.runDir, { recursive: true, mode: 0o700 });
    (doc.host_keys ?? []).forEach((k, i) => writeFileSync(hostKeyPath(this.paths, i), k.endsWith('\n') ? k : `${k}\n`, { mode: 0o600 }));
    const keys = doc.authorized_keys ?? [];
    writeFileSync(authorizedKeysPath(this.paths), keys.length ? `${keys.join('\n')}\n` : '', { mode: 0o600 });
    const text = renderSshdConfig(doc, this.paths);
    if (text === this.rendered) return false;
    writeFileSync(this.configPath(), text, { mode: 0o600 });
    this.rendered = text;
    return true;
  }

  /** SIGHUP once the handler is surely installed; resolves when the re-executed sshd listens. */
  private async reload(): Promise<void> {
    await this.ready(START_TIMEOUT_MS);
    if (this.readyAt !== null) await sleep(Math.max(0, this.readyAt + RELOAD_SETTLE_MS - Date.now()));
    if (!this.status().running) return;
    this.readyAt = null;
    this.child!.kill('SIGHUP');
    await this.ready(START_TIMEOUT_MS);
  }

  /** Resolves when sshd listens (now or later), or after `timeoutMs`. */
  private ready(timeoutMs: number): Promise<void> {
    if (this.readyAt !== null || !this.status().running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private markReady(): void {
    this.readyAt = Date.now();
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w();
  }

  private configPath(): string {
    return join(this.paths.runDir, 'sshd_config');
  }

  private spawnSshd(gid: number | null): ChildProcess {
    const argv = ['-D', '-e', '-f', this.configPath()];
    const opts: SpawnOptions = { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: DEFAULT_PATH }, detached: true };
    const go = (withGid: boolean) => spawn(join(this.paths.bundleDir, 'sshd'), argv, withGid && gid !== null ? { ...opts, gid } : opts);
    const r = this.d.cgroups.spawnIn(SSH_GROUP, () => {
      try {
        return go(true);
      } catch {
        return go(false); // no CAP_SETGID (a sandbox from before): pseudo-terminals may then be refused
      }
    });
    this.inCgroup = r.inCgroup;
    return r.value;
  }

  /** Spawns sshd and waits until it listens, exits or the start timeout passes. */
  private start(gid: number | null): Promise<void> {
    const child = this.spawnSshd(gid);
    this.child = child;
    this.startedAt = Date.now();
    this.readyAt = null;
    this.error = null;
    const tail: string[] = [];
    let buf = '';
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, START_TIMEOUT_MS);
      const listening = () => {
        clearTimeout(timer);
        resolve();
      };
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        buf += chunk;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          tail.push(line);
          if (tail.length > 10) tail.shift();
          if (line.startsWith('Server listening on') && this.child === child) {
            this.markReady();
            listening();
          }
        }
        if (buf.length > 4096) buf = '';
      });
      child.once('error', () => { // not spawned at all ('exit' may never come)
        clearTimeout(timer);
        resolve();
        this.onExit(child, null, null, tail);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve();
        this.onExit(child, code, signal, tail);
      });
    });
  }

  private onExit(child: ChildProcess, code: number | null, signal: string | null, tail: string[]): void {
    if (this.child !== child) return; // stopped on purpose, or replaced
    this.child = null;
    this.markReady(); // nobody waits for a dead sshd
    this.readyAt = null;
    this.rendered = '';
    this.error = 'sshd_failed';
    this.d.log('warn', 'sshd exited', { code, signal, last: tail.slice(-3) });
    // Restart what died after a good start (an OOM kill, say); a start that fails stays failed until the next change.
    if (this.config.enabled && Date.now() - this.startedAt > RESTART_DELAY_MS) {
      setTimeout(() => {
        if (this.config.enabled && !this.child) void this.apply(this.config);
      }, RESTART_DELAY_MS).unref();
    }
  }

  /** Ends sshd and every session it spawned, at once (SIGKILL to its whole cgroup or process tree). */
  private async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    this.rendered = '';
    this.readyAt = null;
    if (!child) return;
    const exited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    if (this.inCgroup) await this.d.cgroups.remove(SSH_GROUP);
    else killTree(child.pid);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000).unref())]);
  }
}

/** SIGKILL to `root` and every process descending from it (parents read from /proc). */
function killTree(root: number | undefined): void {
  if (root === undefined) return;
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const doomed = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!doomed.has(pid) && doomed.has(ppid)) {
        doomed.add(pid);
        grew = true;
      }
    }
  }
  for (const pid of doomed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch { /* gone */ }
  }
}
