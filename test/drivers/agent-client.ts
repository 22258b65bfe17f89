/** Talks to the test agent inside a sandbox over the bridge (host → sandbox IP:port). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxSpec } from '../../src/drivers/driver.js';

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

function url(spec: SandboxSpec, path: string): string {
  return `http://${spec.network.ip}:${spec.agent.port}${path}`;
}

export async function health(spec: SandboxSpec, timeoutMs = 500): Promise<{ ok: boolean; pid: number; hostname: string }> {
  const res = await fetch(url(spec, '/health'), { signal: AbortSignal.timeout(timeoutMs) });
  return (await res.json()) as { ok: boolean; pid: number; hostname: string };
}

/** Polls /health until the agent answers; returns the time it took. */
export async function waitForAgent(spec: SandboxSpec, timeoutMs = 15_000): Promise<number> {
  const t0 = performance.now();
  let last: unknown;
  while (performance.now() - t0 < timeoutMs) {
    try {
      await health(spec, 300);
      return performance.now() - t0;
    } catch (err) {
      last = err;
      await sleep(10);
    }
  }
  throw new Error(`agent of ${spec.shortId} not answering after ${timeoutMs} ms: ${String(last)}`);
}

/** Runs argv inside the sandbox through the agent. */
export async function execIn(spec: SandboxSpec, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const res = await fetch(url(spec, '/exec'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ argv, input: opts.input, timeoutMs }),
    signal: AbortSignal.timeout(timeoutMs + 5000),
  });
  return (await res.json()) as ExecResult;
}

/** `sh -c script` inside the sandbox. */
export function shIn(spec: SandboxSpec, script: string, timeoutMs?: number): Promise<ExecResult> {
  return execIn(spec, ['/bin/sh', '-c', script], { timeoutMs });
}
