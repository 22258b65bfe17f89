/**
 * Small wrapper over `execFile` for host commands (ip, mount, mkfs …). Arguments
 * are always an array (never a shell string). Failures become `ExecError`, which
 * carries the command, exit code and stderr so callers can branch on them.
 */
import { execFile } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill the command after this many ms (default 60 s). */
  timeoutMs?: number;
  /** Data written to the command's stdin. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Largest stdout/stderr kept (default 16 MiB). */
  maxBuffer?: number;
  /** Working directory of the command (default: the server's). */
  cwd?: string;
}

export class ExecError extends Error {
  readonly command: string;
  readonly args: readonly string[];
  /** Exit code, or null when killed by a signal or not started. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderr: string;
  readonly stdout: string;

  constructor(command: string, args: readonly string[], info: {
    exitCode: number | null; signal: string | null; stdout: string; stderr: string; cause?: unknown;
  }) {
    const why = info.stderr.trim() || (info.cause instanceof Error ? info.cause.message : 'failed');
    super(`${command} ${args.join(' ')}: ${why}`);
    this.name = 'ExecError';
    this.command = command;
    this.args = args;
    this.exitCode = info.exitCode;
    this.signal = info.signal;
    this.stdout = info.stdout;
    this.stderr = info.stderr;
  }
}

export function isExecError(err: unknown): err is ExecError {
  return err instanceof ExecError;
}

/** Runs `command args…`; resolves with its output, rejects with `ExecError` on non-zero exit. */
export function run(command: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args as string[],
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: opts.maxBuffer ?? 16 * 1024 * 1024, env: opts.env, cwd: opts.cwd, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: unknown; signal?: string | null };
        const exitCode = typeof e.code === 'number' ? e.code : null;
        reject(new ExecError(command, args, { exitCode, signal: e.signal ?? null, stdout, stderr, cause: err }));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like `run` but returns false instead of throwing (for "maybe already gone" cleanup steps). */
export async function tryRun(command: string, args: readonly string[], opts: ExecOptions = {}): Promise<boolean> {
  try {
    await run(command, args, opts);
    return true;
  } catch (err) {
    if (isExecError(err)) return false;
    throw err;
  }
}
