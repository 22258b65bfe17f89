/**
 * Runs the real agent (src/agent/main.ts through tsx) on the host as a child process,
 * on 127.0.0.1 with an OS-assigned port and a temporary control directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface AgentHandle {
  url: string;
  port: number;
  pid: number;
  controlDir: string;
  /** The agent's WARREN_LOGS_DIR (a temporary directory unless the setup named one). */
  logsDir: string;
  /** The internal API's token (`control-token`), or null when the setup wrote none. */
  controlToken: string | null;
  /** Rewrites the token file in place (same inode). */
  writeTokenInPlace(token: string): void;
  /** Replaces the token file atomically (new inode), as the host does. */
  replaceToken(token: string): void;
  removeToken(): void;
  /** Authenticated fetch helper. */
  call(path: string, init?: RequestInit & { token?: string | null }): Promise<{ status: number; body: any; text: string }>;
  stderr(): string;
  stop(): Promise<void>;
}

export interface AgentSetup {
  token?: string;
  config?: Record<string, unknown>;
  /** Written to `control-token`; null = no file. Default: a fixed test token. */
  controlToken?: string | null;
  /** WARREN_LOGS_DIR; default a temporary directory removed by stop(). */
  logsDir?: string;
  /** WARREN_CGROUP_ROOT; default a path without cgroups (no per-workload groups). */
  cgroupRoot?: string;
  /** More environment for the agent (e.g. small WARREN_*_TIMEOUT_MS limits). */
  env?: Record<string, string>;
}

export const TEST_CONTROL_TOKEN = 'c'.repeat(64);

export async function startAgent(setup: AgentSetup = {}): Promise<AgentHandle> {
  const controlDir = mkdtempSync(join(tmpdir(), 'wtest-agent-'));
  const token = setup.token ?? 'a'.repeat(64);
  writeFileSync(join(controlDir, 'token'), token);
  writeFileSync(
    join(controlDir, 'config.json'),
    JSON.stringify(setup.config ?? { workspace_id: 'ws_test', hostname: 'wtest', env: {} }),
  );
  const controlToken = setup.controlToken === undefined ? TEST_CONTROL_TOKEN : setup.controlToken;
  if (controlToken !== null) writeFileSync(join(controlDir, 'control-token'), controlToken);
  // Inside the control dir (removed by stop) unless the test owns it.
  const logsDir = setup.logsDir ?? join(controlDir, 'logs');
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/agent/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env, WARREN_AGENT_PORT: '0', WARREN_AGENT_HOST: '127.0.0.1', WARREN_CONTROL_DIR: controlDir,
      WARREN_LOGS_DIR: logsDir, WARREN_CGROUP_ROOT: setup.cgroupRoot ?? join(controlDir, 'no-cgroups'),
      ...setup.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errText = '';
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start: ${errText}`)), 15_000);
    child.stderr!.on('data', (c: Buffer) => {
      errText += c.toString();
      const m = /"msg":"agent listening"[^\n]*"port":(\d+)/.exec(errText);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited (${code}): ${errText}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  let currentToken = token;
  const handle: AgentHandle = {
    url,
    port,
    pid: child.pid!,
    controlDir,
    logsDir,
    controlToken,
    writeTokenInPlace(t) {
      currentToken = t;
      writeFileSync(join(controlDir, 'token'), t);
    },
    replaceToken(t) {
      currentToken = t;
      writeFileSync(join(controlDir, 'token.tmp'), t);
      renameSync(join(controlDir, 'token.tmp'), join(controlDir, 'token'));
    },
    removeToken() {
      currentToken = '';
      rmSync(join(controlDir, 'token'), { force: true });
    },
    async call(path, init = {}) {
      const { token: explicit, ...rest } = init;
      const t = explicit === undefined ? currentToken : explicit;
      const headers = new Headers(rest.headers);
      if (t !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${t}`);
      if (rest.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
      const res = await fetch(url + path, { ...rest, headers });
      const text = await res.text();
      let body: any = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
      return { status: res.status, body, text };
    },
    stderr: () => errText,
    stop: () => stopChild(child, controlDir),
  };
  return handle;
}

async function stopChild(child: ChildProcess, controlDir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(controlDir, { recursive: true, force: true });
}

/** True when pid no longer exists (or is a zombie awaiting its reaper). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return / Z /.test(stat.slice(stat.lastIndexOf(')')));
  } catch {
    return true;
  }
}

export async function waitFor(check: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}

/** Asserts a runtime error reply: the status, `success: false` and the machine code. */
export function assertError(r: { status: number; body: any }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.success, false);
  assert.equal(r.body.code, code);
}
