/**
 * What the SSH end-to-end tests share: a temporary client key and ssh config (no host key
 * checks: the test's known_hosts is /dev/null), `ssh`/`scp` wrappers that add that config
 * for programs that spawn them from PATH (the official CLI), a process runner, and
 * ssh2 clients that talk to the jump host directly (password logins, refused channels,
 * host keys).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
export { freePort } from './free-port.js';

export interface SshFiles {
  root: string;
  /** ssh_config for `ssh -F`: no host key checks, the test key, no prompts. */
  config: string;
  /** Holds `ssh` and `scp` wrappers that add `-F config`; put it first in PATH. */
  binDir: string;
  publicKey: string;
  privateKey: string;
  cleanup(): void;
}

export function sshFiles(): SshFiles {
  const root = mkdtempSync(join(tmpdir(), 'warren-ssh-test-'));
  const key = join(root, 'id_ed25519');
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'warren-test', '-f', key]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  const config = join(root, 'ssh_config');
  writeFileSync(config, ['Host *', '  StrictHostKeyChecking no', '  UserKnownHostsFile /dev/null', '  LogLevel ERROR',
    '  BatchMode yes', `  IdentityFile ${key}`, '  IdentitiesOnly yes', '  ConnectTimeout 15', ''].join('\n'));
  const binDir = join(root, 'bin');
  mkdirSync(binDir);
  for (const tool of ['ssh', 'scp']) {
    writeFileSync(join(binDir, tool), `#!/bin/sh\nexec /usr/bin/${tool} -F '${config}' "$@"\n`);
    chmodSync(join(binDir, tool), 0o755);
  }
  return {
    root, config, binDir,
    publicKey: readFileSync(`${key}.pub`, 'utf8').trim(),
    privateKey: readFileSync(key, 'utf8'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (SIGKILL after `timeoutMs`), feeding `input` on stdin. */
export function run(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input ?? '');
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

type Target = { ssh_id: string };

/** A connection to the jump host (no credentials: it authenticates nobody). */
function jump(port: number, onKey?: (key: string) => void): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c)).once('error', reject);
    c.connect({
      host: '127.0.0.1', port, username: 'root', readyTimeout: 15_000,
      hostVerifier: (key: Buffer) => {
        onKey?.(key.toString('base64'));
        return true;
      },
    });
  });
}

/**
 * Asks the jump host for a channel to `host:port` (null: a session instead; 'forward': a
 * remote forward). Resolves when granted (with the jump host's key), rejects when refused.
 */
export async function jumpConnect(port: number, host: string | null, destPort: number, o: { wantKey?: boolean } = {}): Promise<{ jumpKey: string }> {
  let jumpKey = '';
  const c = await jump(port, (k) => { jumpKey = k; });
  try {
    await new Promise<void>((resolve, reject) => {
      if (host === null) c.exec('true', (err) => (err ? reject(err) : resolve()));
      else if (host === 'forward') c.forwardIn('0.0.0.0', 0, (err) => (err ? reject(err) : resolve()));
      else c.forwardOut('127.0.0.1', 0, host, destPort, (err, stream) => {
        if (err) return reject(err);
        stream.destroy();
        resolve();
      });
    });
    return o.wantKey ? { jumpKey } : { jumpKey: '' };
  } finally {
    c.end();
  }
}

/** Logs into the workspace through the jump host with ssh2; resolves with its host key and the client. */
async function login(t: Target, port: number, auth: { password?: string; privateKey?: string }): Promise<{ inner: ssh2.Client; outer: ssh2.Client; hostKey: string }> {
  const outer = await jump(port);
  const stream = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
    outer.forwardOut('127.0.0.1', 0, t.ssh_id, 22, (err, s) => (err ? reject(err) : resolve(s))));
  let hostKey = '';
  const inner = new ssh2.Client();
  try {
    await new Promise<void>((resolve, reject) => {
      inner.once('ready', () => resolve()).once('error', reject);
      inner.connect({
        sock: stream, username: 'root', readyTimeout: 15_000, ...auth,
        hostVerifier: (key: Buffer) => {
          hostKey = key.toString('base64');
          return true;
        },
      });
    });
  } catch (err) {
    outer.end();
    throw err;
  }
  return { inner, outer, hostKey };
}

/** Runs `command` in the workspace over SSH (ssh2, through the jump host); resolves with its stdout. */
export async function jumpExec(t: Target, port: number, auth: { password?: string; privateKey?: string }, command: string): Promise<string> {
  const { inner, outer } = await login(t, port, auth);
  try {
    return await new Promise<string>((resolve, reject) => {
      inner.exec(command, (err, ch) => {
        if (err) return reject(err);
        let out = '';
        ch.on('data', (d: Buffer) => { out += d.toString(); });
        ch.stderr.on('data', () => undefined);
        ch.once('close', () => resolve(out));
      });
    });
  } finally {
    inner.end();
    outer.end();
  }
}

/** The workspace sshd's host key (base64), as a client sees it through the jump host. */
export async function jumpHostKey(t: Target, port: number, privateKey: string): Promise<string> {
  const { inner, outer, hostKey } = await login(t, port, { privateKey });
  inner.end();
  outer.end();
  return hostKey;
}
