/**
 * A long-lived `sh` that runs short host commands for the server, one at a time.
 *
 * Why: a `spawn` from the server's Node process blocks its event loop for 10–20 ms on
 * this machine kind (the fork of a large process), so two `conntrack` listings after a
 * policy change held up the very request that made the change. The shell is small: its
 * fork is cheap and happens outside Node, which only writes a line and reads the output.
 *
 * Contract of `run(command, args)`: the command runs with exactly these arguments (each
 * is single-quoted for the shell, so no argument is ever interpreted), with stdin from
 * /dev/null and stderr discarded; it resolves with its stdout and exit code. Calls are
 * serialised. A command still running after `timeoutMs` has its shell killed and the call
 * rejects. `close()` ends the shell (and a running command, whose call rejects); like a
 * timeout, it leaves the runner usable: the next call starts a fresh shell.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface CommandResult {
  stdout: string;
  code: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** The loop the shell runs: each input line is one quoted command; its end is a marker with the exit code. */
const LOOP = 'while IFS= read -r line; do eval "$line" </dev/null 2>/dev/null; printf "\\n%s %d\\n" "$MARK" "$?"; done';

/** `arg` as one shell word whose value is exactly `arg`. */
export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

interface Pending {
  resolve: (r: CommandResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class CommandRunner {
  private proc: ChildProcessWithoutNullStreams | null = null;
  private output = '';
  private pending: Pending | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  /** A random marker per runner: a command's output cannot forge the end of its own output. */
  private readonly mark = `@@warren-end-${randomBytes(8).toString('hex')}`;
  /** Where the search for the marker resumes: output already searched holds none. */
  private searchFrom = 0;

  constructor(private readonly timeoutMs = DEFAULT_TIMEOUT_MS) {}

  run(command: string, args: readonly string[]): Promise<CommandResult> {
    const line = [command, ...args].map(shellQuote).join(' ');
    if (/[\r\n\0]/.test(line)) return Promise.reject(new Error('a command argument holds a line break or NUL'));
    const next = this.chain.then(() => this.send(line));
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.stop(new Error('command runner closed'));
  }

  private send(line: string): Promise<CommandResult> {
    const proc = this.proc ?? this.start();
    this.output = '';
    this.searchFrom = 0;
    return new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => this.stop(new Error('command did not finish in time')), this.timeoutMs);
      this.pending = { resolve, reject, timer };
      proc.stdin.write(`${line}\n`);
    });
  }

  private start(): ChildProcessWithoutNullStreams {
    // Its own process group: a timeout kills the shell and the command it runs together.
    const proc = spawn('sh', ['-c', LOOP], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, MARK: this.mark }, detached: true });
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d: string) => this.onOutput(d));
    proc.stdin.on('error', () => undefined);
    proc.stderr.resume();
    proc.on('exit', () => {
      if (this.proc !== proc) return; // replaced after a timeout: its end concerns nobody
      this.proc = null;
      this.fail(new Error('command runner shell ended unexpectedly'));
    });
    // An idle runner never keeps Node running; a pending call's timer does.
    proc.unref();
    for (const s of [proc.stdin, proc.stdout, proc.stderr]) (s as unknown as { unref?: () => void }).unref?.();
    this.proc = proc;
    return proc;
  }

  private onOutput(chunk: string): void {
    this.output += chunk;
    if (!this.pending) return;
    const head = `\n${this.mark} `;
    const at = this.output.indexOf(head, this.searchFrom);
    const eol = at < 0 ? -1 : this.output.indexOf('\n', at + head.length);
    if (eol < 0) {
      // a long listing arrives in many chunks: never search the same text twice
      this.searchFrom = Math.max(0, (at < 0 ? this.output.length : at) - head.length);
      return;
    }
    const stdout = this.output.slice(0, at);
    const code = Number(this.output.slice(at + head.length, eol));
    this.output = '';
    const p = this.pending;
    this.pending = null;
    clearTimeout(p.timer);
    p.resolve({ stdout, code });
  }

  /** Kills the shell (and so the command it runs) and rejects the pending call. */
  private stop(err: Error): void {
    const proc = this.proc;
    this.proc = null;
    if (proc?.pid !== undefined) {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch { /* already gone */ }
    }
    this.fail(err);
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.pending = null;
    if (!p) return;
    clearTimeout(p.timer);
    p.reject(err);
  }
}
