/**
 * Sending one fuzzed request under a deadline and judging its answer: no 5xx, no hang, every
 * refusal the error envelope with a registered code and that code's registered status, and
 * JSON bodies that parse.
 */
import { ERROR_STATUS } from '../../src/contract/errors.js';

/** An answer's headers must arrive within this (the issue's bound for "a hang"). */
export const ANSWER_MS = Number(process.env.FUZZ_ANSWER_MS ?? 10_000);
/** How long a body (a stream, say) is read before the fuzzer stops listening. */
const BODY_READ_MS = 3_000;

export interface FuzzRequest {
  method: string;
  /** Path and query, already encoded. */
  target: string;
  headers: Record<string, string>;
  body?: string;
  /** What produced it (route template, caller), for the failure report. */
  label: string;
}

export interface FuzzAnswer {
  status: number;
  contentType: string;
  text: string;
  ms: number;
  /** The body was cut off (a stream still running when the fuzzer stopped reading). */
  truncated: boolean;
}

/** Reads at most BODY_READ_MS of the body; streams (SSE, logs) are cut off, not waited for. */
async function readSome(res: Response): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  const deadline = Date.now() + BODY_READ_MS;
  const streaming = /event-stream|ndjson/.test(res.headers.get('content-type') ?? '');
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0 || (streaming && chunks.length > 0)) {
      await reader.cancel().catch(() => undefined);
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      reader.read(),
      new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), left))),
    ]).finally(() => clearTimeout(timer));
    if (next === 'late') continue;
    if (next.done) return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
    chunks.push(next.value);
  }
}

/** Sends `req` to `base`; a missing answer within ANSWER_MS is a `hang` (thrown). */
export async function send(base: string, req: FuzzRequest): Promise<FuzzAnswer> {
  const started = Date.now();
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), ANSWER_MS);
  let res: Response;
  try {
    res = await fetch(base + req.target, {
      method: req.method, headers: req.headers, body: req.body, signal: ctrl.signal, redirect: 'manual',
    });
  } catch (err) {
    const hung = ctrl.signal.aborted;
    throw new Error(`${hung ? 'hang' : 'transport error'}: ${req.method} ${req.target.slice(0, 200)} [${req.label}]`
      + ` after ${Date.now() - started} ms${hung ? '' : `: ${(err as Error).cause ?? err}`}`);
  } finally {
    clearTimeout(timer);
  }
  const ms = Date.now() - started;
  const { text, truncated } = await readSome(res);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, ms, truncated };
}

/**
 * 5xx answers that are not faults: a host capability this test machine lacks, stated with its
 * registered code, or a status the wire contract fixes (each entry with its reason).
 */
export const ACCEPTED_5XX: ReadonlySet<string> = new Set<string>([
  // The test server has no sshd bundle or jump host: SSH routes say so (control-plane.md §7).
  'ssh_unavailable',
  // A command that cannot start (e.g. not found) is 500 on the wire (spec runtime.md: "500 spawn
  // failure"); wire compatibility with the official client keeps it there.
  'spawn_failed',
  // The test server has no outbound IP pool: POST /workspace/:id/network/ip says so with the
  // registered 503 (control-plane.md §network: `pool_empty` 503), whatever IP is asked for.
  'pool_empty',
  // A feature this server does not offer, asked for by a field's value (a workload's `user` other
  // than root, a custom outbound proxy): the wire contract's 501, stated per route in the document.
  'not_implemented',
]);

/** What is wrong with `ans` (empty: nothing). */
export function judge(ans: FuzzAnswer): string[] {
  const problems: string[] = [];
  const isJson = ans.contentType.includes('application/json');
  let body: any;
  if (isJson && !ans.truncated) {
    try {
      body = JSON.parse(ans.text);
    } catch {
      problems.push(`JSON body does not parse: ${ans.text.slice(0, 120)}`);
    }
  }
  if (ans.status >= 400) {
    if (!body || typeof body !== 'object') {
      problems.push(`refusal ${ans.status} is not the JSON envelope: ${ans.contentType} ${ans.text.slice(0, 120)}`);
    } else {
      const code = body.code;
      if (body.success !== false || typeof code !== 'string' || body.error !== code || typeof body.message !== 'string') {
        problems.push(`refusal ${ans.status} is not the envelope: ${ans.text.slice(0, 200)}`);
      } else if (!(code in ERROR_STATUS)) {
        problems.push(`refusal code ${code} is not registered`);
      } else if (ERROR_STATUS[code as keyof typeof ERROR_STATUS] !== ans.status) {
        problems.push(`code ${code} answered ${ans.status}, registered ${ERROR_STATUS[code as keyof typeof ERROR_STATUS]}`);
      }
    }
  }
  if (ans.status >= 500 && !ACCEPTED_5XX.has(body?.code)) problems.push(`5xx: ${ans.status} ${ans.text.slice(0, 200)}`);
  return problems;
}

/** Log lines of the server that mean it broke (an uncaught error, a fatal line, a crash). */
export function brokenLogLines(lines: string[]): string[] {
  return lines.filter((l) => /uncaught|unhandled|"level":60|FATAL|Segmentation|Aborted \(core/i.test(l));
}
