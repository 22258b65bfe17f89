/**
 * Dockerfile builds against a test server: a context directory written from a map of
 * files, sent as a tar to POST /images/build, and the SSE events read back (parsed with
 * the contract's schema, so a malformed event fails the test).
 */
import { readSseData } from '../../src/contract/sse.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseBuildEvent, type BuildEvent } from '../../src/contract/image-build.js';
import { ADMIN, type TestServer } from './warren.js';

export interface BuildOutcome {
  /** HTTP status of the answer (200 once the build streams). */
  status: number;
  events: BuildEvent[];
  /** The JSON body of an answer that did not stream. */
  body?: any;
}

/** A context directory holding `files` (path → content); `rm()` removes it. */
export function contextDir(files: Record<string, string>): { dir: string; rm(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'warren-build-ctx-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return { dir, rm: () => rmSync(dir, { recursive: true, force: true }) };
}

export function tarOf(dir: string): Buffer {
  return execFileSync('tar', ['-C', dir, '-cf', '-', '.'], { maxBuffer: 512 * 1024 * 1024 });
}

export interface BuildQuery {
  name: string;
  dockerfile?: string;
  buildArgs?: string[];
  network?: 'default' | 'none';
  noCache?: boolean;
}

export function buildPath(q: BuildQuery): string {
  const p = new URLSearchParams({ name: q.name });
  if (q.dockerfile) p.set('dockerfile', q.dockerfile);
  for (const a of q.buildArgs ?? []) p.append('build_arg', a);
  if (q.network) p.set('network', q.network);
  if (q.noCache) p.set('no_cache', 'true');
  return `/images/build?${p}`;
}

/** Sends the context and reads the whole event stream; `onEvent` sees each event as it arrives. */
export async function build(server: TestServer, dir: string, q: BuildQuery,
  opts: { onEvent?: (e: BuildEvent) => void; signal?: AbortSignal } = {}): Promise<BuildOutcome> {
  const res = await fetch(server.url + buildPath(q), {
    method: 'POST',
    headers: { 'content-type': 'application/x-tar', 'x-client-id': ADMIN.clientId, 'x-client-secret': ADMIN.clientSecret },
    body: tarOf(dir),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    return { status: res.status, events: [], body: await res.json().catch(() => null) };
  }
  const events: BuildEvent[] = [];
  for await (const data of readSseData(res.body!)) {
    const e = parseBuildEvent(data);
    if (!e) throw new Error(`not a build event: ${JSON.stringify(data)}`);
    events.push(e);
    opts.onEvent?.(e);
  }
  return { status: res.status, events };
}

/** The `done` event, or a readable failure with the build's last events. */
export function doneOf(o: BuildOutcome): Extract<BuildEvent, { type: 'done' }> {
  const done = o.events.find((e) => e.type === 'done');
  if (!done || done.type !== 'done') {
    throw new Error(`the build did not finish (${o.status}): ${JSON.stringify(o.body ?? o.events.slice(-8))}`);
  }
  return done;
}

/** step number → cached, for each step_end. */
export function cachedSteps(o: BuildOutcome): Record<number, boolean> {
  const out: Record<number, boolean> = {};
  for (const e of o.events) if (e.type === 'step_end') out[e.step] = e.cached;
  return out;
}
