/**
 * One long-lived `nft -i` process for small rule changes. Starting and ending an
 * `nft` process per change costs 7 ms for an add and 20–50 ms for a delete (measured
 * here: the process exit waits on the kernel), while the same change through a
 * running process takes 1–2 ms — the difference between meeting and missing the
 * policy-apply target.
 *
 * Contract of `apply(script)`: the script's commands become ONE input line, which
 * nft runs as one transaction (all or nothing — checked in nft-session.test.ts);
 * it is followed by a second line, `describe ip saddr` (answered by nft itself,
 * without reading the kernel: the cheapest command that prints), whose output
 * marks the end of the first line's output (stdout and stderr are one
 * stream, so an error is always read before the marker). Output before the marker
 * that contains `Error:` rejects with that text. If the process dies or stalls,
 * it is killed and the next call starts a fresh one.
 *
 * Failures are `NftSessionError`s, never AppErrors: nft's text quotes the rules and the
 * addresses of other workspaces, so it belongs in the operator's log, and a request that
 * meets it answers a generic 500 with the request id under which it was logged.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** An internal failure of the nft session; its message is for the log only. */
export class NftSessionError extends Error {
  override readonly name = 'NftSessionError';
}

const TIMEOUT_MS = 10_000;
/** Marks the end of a batch's output; a listing of kernel state would cost a cache fetch (2–15 ms). */
const MARKER_COMMAND = 'describe ip saddr';
const MARKER_OUTPUT = /payload expression, datatype ipv4_addr[^\n]*\n/;

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class NftSession {
  private proc: ChildProcessWithoutNullStreams | null = null;
  private output = '';
  private waiter: Waiter | null = null;
  private chain: Promise<unknown> = Promise.resolve();


  /** Runs `script` (nft commands, one per line) atomically. Calls are serialised. */
  apply(script: string): Promise<void> {
    const line = script.split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
    if (!line) return Promise.resolve();
    if (/[\r\n]/.test(line)) throw new NftSessionError('nft command contains a line break');
    const next = this.chain.then(() => this.send(line));
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    const proc = this.proc;
    this.proc = null;
    proc?.kill('SIGKILL');
    this.fail(new NftSessionError('nft session closed'));
  }

  private start(): ChildProcessWithoutNullStreams {
    // One stream for stdout and stderr keeps an error ahead of the marker that follows it.
    const proc = spawn('sh', ['-c', 'exec nft -i 2>&1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d: string) => this.onOutput(d));
    proc.stdin.on('error', () => undefined);
    proc.on('exit', () => {
      // A process replaced by close() + start() must not fail the new one's caller.
      if (this.proc !== proc) return;
      this.proc = null;
      this.fail(new NftSessionError('nft session ended unexpectedly'));
    });
    // An idle session never keeps Node running; a pending call's timer does.
    proc.unref();
    for (const s of [proc.stdin, proc.stdout, proc.stderr]) (s as unknown as { unref?: () => void }).unref?.();
    this.proc = proc;
    return proc;
  }

  private send(line: string): Promise<void> {
    const proc = this.proc ?? this.start();
    this.output = '';
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
        this.fail(new NftSessionError('nft session did not answer in time'));
      }, TIMEOUT_MS);
      this.waiter = { resolve, reject, timer };
      proc.stdin.write(`${line}\n${MARKER_COMMAND}\n`);
    });
  }

  private onOutput(chunk: string): void {
    this.output += chunk;
    const end = MARKER_OUTPUT.exec(this.output);
    if (!end || !this.waiter) return;
    const before = this.output.slice(0, end.index);
    this.output = this.output.slice(end.index + end[0].length);
    const w = this.waiter;
    this.waiter = null;
    clearTimeout(w.timer);
    if (before.includes('Error:')) w.reject(new NftSessionError(`nft refused the change: ${before.trim().slice(0, 500)}`));
    else w.resolve();
  }

  private fail(err: Error): void {
    const w = this.waiter;
    this.waiter = null;
    if (!w) return;
    clearTimeout(w.timer);
    w.reject(err);
  }
}
