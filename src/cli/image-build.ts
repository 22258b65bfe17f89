/**
 * `warren images build -f Dockerfile [context] --name N [--build-arg K=V]… [--network none]
 * [--no-cache] [--url URL]`: tars the context (tar, streamed, never held in memory), sends
 * it to the running server's POST /images/build with the admin key (src/cli/remote.ts) and
 * shows the progress events (src/images/build/render.ts): on a terminal one status line
 * redrawn in place under the finished steps, otherwise one line per step. Exits non-zero
 * when the build fails. The Dockerfile must be inside the context (it is sent with it).
 */
import { readSseData } from '../contract/sse.js';
import { spawn } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { WarrenConfig } from '../config/config.js';
import { parseBuildEvent, type BuildEvent } from '../contract/image-build.js';
import { createLineRenderer, createTtyRenderer, ttyWrite } from '../images/build/render.js';
import { adminCredentials, serverUrl } from './remote.js';

export const BUILD_USAGE = '  warren images build -f Dockerfile [CONTEXT] --name NAME [--build-arg K=V]... [--network none] [--no-cache] [--url URL]';

/** True when `warren images build` was given Dockerfile options rather than catalog ids. */
export function isDockerfileBuild(argv: string[]): boolean {
  return argv.some((a) => a === '-f' || a.startsWith('--file') || a.startsWith('--name') || a.startsWith('-f'));
}

interface BuildArgs {
  contextDir: string;
  dockerfile: string;
  query: URLSearchParams;
  url?: string;
}

function parse(argv: string[]): BuildArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      file: { type: 'string', short: 'f' },
      name: { type: 'string' },
      'build-arg': { type: 'string', multiple: true },
      network: { type: 'string' },
      'no-cache': { type: 'boolean' },
      url: { type: 'string' },
    },
  });
  const name = values.name;
  if (typeof name !== 'string' || name === '') throw new Error(`--name is required\nusage:\n${BUILD_USAGE}`);
  const contextDir = realpathSync(resolve(positionals[0] ?? '.'));
  if (!statSync(contextDir).isDirectory()) throw new Error(`${positionals[0]} is not a directory`);
  const file = resolve(typeof values.file === 'string' ? values.file : `${contextDir}/Dockerfile`);
  const dockerfile = relative(contextDir, realpathSync(file));
  if (dockerfile === '' || dockerfile.startsWith(`..${sep}`) || dockerfile === '..') {
    throw new Error('the Dockerfile must be inside the build context');
  }
  const query = new URLSearchParams({ name, dockerfile: dockerfile.split(sep).join('/') });
  for (const a of (values['build-arg'] as string[] | undefined) ?? []) query.append('build_arg', a);
  if (typeof values.network === 'string') query.set('network', values.network);
  if (values['no-cache'] === true) query.set('no_cache', 'true');
  return { contextDir, dockerfile, query, ...(typeof values.url === 'string' ? { url: values.url } : {}) };
}

/** The context as a tar stream (numeric owners; the server ignores them anyway). */
function tarStream(dir: string): Readable {
  const tar = spawn('tar', ['-C', dir, '--numeric-owner', '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  tar.once('close', (code) => {
    if (code !== 0) tar.stdout.destroy(new Error(`tar of the build context failed (${code})`));
  });
  return tar.stdout;
}

export async function buildImageCommand(cfg: WarrenConfig, argv: string[]): Promise<void> {
  const a = parse(argv);
  const creds = adminCredentials(cfg);
  const res = await fetch(`${serverUrl(cfg, a.url)}/images/build?${a.query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-tar', 'x-client-id': creds.id, 'x-client-secret': creds.secret },
    body: Readable.toWeb(tarStream(a.contextDir)) as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit);
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const json = await res.json().catch(() => ({})) as Record<string, unknown>;
    throw new Error(`${String(json.code ?? res.status)}: ${String(json.message ?? res.statusText)}`);
  }
  const failed = await render(res.body!);
  if (failed) process.exitCode = 1;
}

/** Shows the events; resolves true when the build failed (or the stream ended without a result). */
async function render(body: ReadableStream<Uint8Array>): Promise<boolean> {
  const out = process.stdout;
  const tty = out.isTTY ? createTtyRenderer({ columns: out.columns || 80 }) : null;
  const lines = tty ? null : createLineRenderer();
  const timer = tty ? setInterval(() => out.write(ttyWrite({ lines: [], status: tty.status() })), 500) : null;
  const seen: { result: BuildEvent['type'] | null } = { result: null };
  const show = (e: BuildEvent) => {
    if (e.type === 'done' || e.type === 'error') seen.result = e.type;
    if (tty) out.write(ttyWrite(tty.update(e)));
    else for (const l of lines!(e)) out.write(`${l}\n`);
  };
  try {
    for await (const data of readSseData(body)) {
      const e = parseBuildEvent(data);
      if (e) show(e);
    }
  } finally {
    if (timer) clearInterval(timer);
  }
  if (seen.result === null) out.write('the build ended without a result (the server went away?)\n');
  return seen.result !== 'done';
}

