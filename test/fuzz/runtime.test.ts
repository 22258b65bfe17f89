/**
 * Issue 15 item 5, the runtime side: fuzzed requests to the agent's routes through the gateway
 * (Warren's own origin, as the official Runtime client calls them), with each kind of caller,
 * and generated or mutated frames on the `/ws` socket. Properties: no 5xx, no hang, every
 * refusal the envelope with a registered code; a socket answers bad frames by ignoring them or
 * closing cleanly, and the agent answers the next request. Size: FUZZ_RUNTIME_RUNS batches of
 * 5 requests (default 300) and FUZZ_WS_RUNS sockets (default 100), seed FUZZ_SEED.
 *
 * Bodies that write or delete are kept under /tmp/fuzz inside the workspace: the fuzzer attacks
 * the agent's parsing, not the workspace's own files.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import WebSocket from 'ws';
import { ADMIN, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { adminClient, type Client } from '../support/workspaces.js';
import { fuzzDocument, routesOf, type FuzzRoute, type OpenApiDoc } from './document.js';
import { bodyArb, encodeParam, extraHeaders, junkString, queryArb, type Body } from './arbitraries.js';
import { brokenLogLines, judge, send, type FuzzRequest } from './oracle.js';
import { isRuntimePath } from '../../src/gateway/paths.js';
import { MAX_WS_PAYLOAD } from '../../src/agent/ws/live.js';

const RUNS = Number(process.env.FUZZ_RUNTIME_RUNS ?? 300);
const WS_RUNS = Number(process.env.FUZZ_WS_RUNS ?? 100);
const ONLY = process.env.FUZZ_ONLY; // 'http' or 'ws': one part (debugging)
const SEED = Number(process.env.FUZZ_SEED ?? 15_015);
const BATCH = 5;

let server: TestServer;
let client: Client;
let wsId = '';
let token = '';
let cpToken = '';
const live: Record<string, string> = {};

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
  client = adminClient(server);
  wsId = (await client.workspaces.create({ image: 'debian-12', memory_mb: 256 } as any)).id;
  await client.workspaces.network.update(wsId, { public_access: true } as any);
  token = ((await client.workspaces.apiAccess.enable(wsId)) as any).token;
  const t = await fetch(`${server.url}/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-client-id': ADMIN.clientId, 'x-client-secret': ADMIN.clientSecret },
    body: JSON.stringify({ scope: 'workspace', workspaceId: wsId }),
  });
  cpToken = ((await t.json()) as any).token;
  await refreshLiveIds();
});
after(async () => {
  try { if (wsId) await client.workspaces.delete(wsId); } finally { await server?.stop(); }
});

const auth = () => ({ authorization: `Bearer ${token}` });

async function rt(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(server.url + path, {
    method, headers: { ...auth(), 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json().catch(() => null);
}

/** A live terminal, exec task and watcher, for the routes that take an id. */
async function refreshLiveIds(): Promise<void> {
  await rt('POST', '/files/mkdir', { path: '/tmp/fuzz' });
  const term = await rt('POST', '/terminals', { cmd: ['sh'] });
  live.terminal = String(term?.id ?? term?.terminal?.id ?? '1');
  const task = await rt('POST', '/exec', { cmd: ['echo', 'x'] });
  live.exec = String(task?.task_id ?? task?.id ?? 'x');
  const watcher = await rt('POST', '/watchers', { path: '/tmp/fuzz' });
  live.watcher = String(watcher?.id ?? watcher?.watcher?.id ?? 'x');
}

/** The runtime API's routes when no served document lists them (agent routers, src/agent/routes). */
function provisionalRuntimeDocument(): OpenApiDoc {
  const path = { type: 'string', enum: ['/tmp/fuzz', '/tmp/fuzz/a.txt', '/tmp/fuzz/d/e', '/etc/passwd', '/nonexistent', '..', '~', ''] };
  const cmd = { type: 'array', items: { type: 'string', enum: ['echo', 'true', 'sh', '-c', 'exit 3', 'ls', '/tmp'] } };
  const body = (properties: Record<string, unknown>) => ({ requestBody: { content: { 'application/json': { schema: { type: 'object', properties } } } } });
  const get = { get: {} };
  return {
    openapi: '3.1.0',
    paths: {
      '/health': get, '/runtime': get, '/runtimes': get, '/runtimes/{target}/files': get,
      '/files': get, '/files/list': get, '/files/stream': get, '/files/read': get, '/files/stat': get,
      '/files/write': { post: body({ path, content: { type: 'string' }, encoding: { type: 'string', enum: ['utf8', 'base64'] }, append: { type: 'boolean' } }) },
      '/files/mkdir': { post: body({ path, recursive: { type: 'boolean' } }) },
      '/files/delete': { post: body({ path, recursive: { type: 'boolean' } }), delete: body({ path }) },
      '/files/search': get, '/files/search/files': get,
      '/files/search/init': { get: {}, post: body({ path }) },
      '/files/transfer/download': { post: body({ paths: { type: 'array', items: path }, path }) },
      '/files/transfer/upload': { post: body({ path }) },
      '/exec': { get: {}, delete: {}, post: body({ cmd, timeoutSeconds: { type: 'integer' }, cwd: path, env: { type: 'object' } }) },
      '/exec/stream': { get: {}, post: body({ cmd, timeoutSeconds: { type: 'integer' } }) },
      '/exec/{exec}': { get: {}, delete: {} },
      '/exec/{exec}/input': { post: body({ data: { type: 'string' }, eof: { type: 'boolean' } }) },
      '/terminals': { get: {}, post: body({ cmd, cols: { type: 'integer' }, rows: { type: 'integer' } }) },
      '/terminals/{terminal}': { delete: {} },
      '/terminals/{terminal}/scrollback': { get: {}, patch: body({ limit: { type: 'integer' } }), delete: {} },
      '/terminals/{terminal}/resize': { post: body({ cols: { type: 'integer' }, rows: { type: 'integer' } }) },
      '/watchers': { get: {}, post: body({ path, recursive: { type: 'boolean' } }) },
      '/watchers/{watcher}': { get: {}, delete: {} },
    },
  };
}

type Caller = 'none' | 'badToken' | 'token' | 'queryToken' | 'adminKey' | 'cpToken';
const CALLERS: Caller[] = ['none', 'badToken', 'token', 'queryToken', 'adminKey', 'cpToken'];

function headersOf(c: Caller): Record<string, string> {
  switch (c) {
    case 'token': return auth();
    case 'badToken': return { authorization: 'Bearer not-a-real-token' };
    case 'adminKey': return { 'x-client-id': ADMIN.clientId, 'x-client-secret': ADMIN.clientSecret };
    case 'cpToken': return { authorization: `Bearer ${cpToken}` };
    default: return {};
  }
}

/** Writes and deletes stay under /tmp/fuzz. */
function confine(route: FuzzRoute, raw: string | undefined): string | undefined {
  if (!raw || route.method === 'GET' || !/files\/(write|delete|mkdir|transfer\/upload)/.test(route.path)) return raw;
  try {
    const v = JSON.parse(raw);
    if (!v || typeof v !== 'object' || Array.isArray(v)) return raw;
    if (typeof v.path !== 'string' || !v.path.startsWith('/tmp/fuzz/')) v.path = `/tmp/fuzz/${typeof v.path === 'string' ? v.path.replace(/\.\./g, '_') : 'x'}`;
    return JSON.stringify(v);
  } catch {
    return raw;
  }
}

interface Planned { route: FuzzRoute; params: Array<string | null>; query: string; caller: Caller; body: Body; headers: Record<string, string> }

function plannedArb(routes: FuzzRoute[]): fc.Arbitrary<Planned> {
  return fc.constantFrom(...routes).chain((route) => fc.record({
    route: fc.constant(route),
    params: fc.tuple(...route.params.map(() => fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: junkString }))) as fc.Arbitrary<Array<string | null>>,
    query: fc.tuple(queryArb(['path', 'pattern', 'query', 'offset', 'limit', 'depth', 'encoding']), fc.constantFrom('', 'path=/tmp/fuzz', 'path=/etc/passwd', 'path=..', 'query=x&path=/tmp'))
      .map(([q, extra]) => (extra ? (q ? `${q}&${extra}` : `?${extra}`) : q)),
    caller: fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...CALLERS) }, { weight: 3, arbitrary: fc.constant<Caller>('token') }),
    body: route.method === 'GET' ? fc.constant<Body>({}) : bodyArb(route.body),
    headers: extraHeaders,
  }));
}

function materialize(p: Planned): FuzzRequest {
  let i = 0;
  const path = p.route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = p.params[i++];
    if (v !== null && v !== undefined) return encodeParam(v, false);
    return name === 'target' ? 'linux' : encodeURIComponent(live[name] ?? 'x');
  });
  let target = path + p.query;
  if (p.caller === 'queryToken') target += `${target.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
  const headers = { ...headersOf(p.caller), ...p.headers };
  delete headers.host; // the gateway would route a foreign host elsewhere (a different test)
  if (p.body.contentType !== undefined) headers['content-type'] = p.body.contentType;
  const body = p.route.method === 'GET' ? undefined : confine(p.route, p.body.raw);
  return { method: p.route.method, target, headers, body, label: `${p.route.method} ${p.route.path} as ${p.caller}` };
}

interface Finding { request: string; problems: string[] }

async function runOne(req: FuzzRequest, findings: Finding[]): Promise<void> {
  try {
    const problems = judge(await send(server.url, req));
    if (problems.length) findings.push({ request: JSON.stringify({ ...req, headers: undefined, body: req.body?.slice(0, 200) }), problems });
  } catch (err) {
    findings.push({ request: JSON.stringify({ label: req.label, target: req.target.slice(0, 200), contentType: req.headers['content-type'], bodyBytes: req.body?.length, body: req.body?.slice(0, 200) }), problems: [(err as Error).message] });
  }
}

const summary = (findings: Finding[]) => findings.slice(0, 15).map((f) => `${f.problems.join('; ').slice(0, 300)}\n   ${f.request.slice(0, 400)}`).join('\n');

async function agentAnswers(): Promise<void> {
  const r = await fetch(`${server.url}/runtime`, { headers: auth(), signal: AbortSignal.timeout(10_000) });
  assert.equal(r.status, 200, 'the agent answers after the fuzzing');
}

test('replayed runtime regressions (test/fuzz/regressions.json)', async () => {
  const cases: any[] = JSON.parse(readFileSync(new URL('./regressions.json', import.meta.url), 'utf8')).runtime;
  const findings: Finding[] = [];
  // `before`: requests sent first (as the token, answers not judged); `bodyRepeat` spells a big body.
  const bodyOf = (x: any): string | undefined => (x.bodyRepeat
    ? x.bodyRepeat.prefix + String(x.bodyRepeat.repeat).repeat(x.bodyRepeat.times) + x.bodyRepeat.suffix : x.body);
  for (const c of cases) {
    for (const b of c.before ?? []) {
      await send(server.url, { method: b.method, target: b.target, headers: { ...auth(), 'content-type': b.contentType ?? 'application/json' }, body: bodyOf(b), label: 'before' }).catch(() => null);
    }
    const headers = { ...headersOf(c.caller), ...(c.contentType ? { 'content-type': c.contentType } : {}) };
    for (let i = 0; i < (c.repeat ?? 1); i++) await runOne({ method: c.method, target: c.target, headers, body: bodyOf(c), label: c.name }, findings);
  }
  assert.equal(findings.length, 0, summary(findings));
  await agentAnswers();
});

test(`${RUNS * BATCH} fuzzed runtime requests through the gateway (seed ${SEED})`, { timeout: 30 * 60_000, skip: ONLY === 'ws' }, async () => {
  const { doc, source } = await fuzzDocument(server.url);
  let routes = routesOf(doc, (p) => isRuntimePath(p.replace(/\{[^}]+\}/g, 'x')));
  if (routes.length === 0) routes = routesOf(provisionalRuntimeDocument());
  const findings: Finding[] = [];
  let n = 0;
  await fc.assert(fc.asyncProperty(fc.array(plannedArb(routes), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
    const before = findings.length;
    const reqs = batch.map(materialize);
    await Promise.all(reqs.map((r) => runOne(r, findings)));
    // A hang may come from a request beside it (one that blocks the agent): keep the whole batch.
    if (findings.slice(before).some((f) => f.problems.some((p) => p.startsWith('hang')))) {
      findings.push({ request: JSON.stringify(reqs.map((r) => ({ label: r.label, target: r.target.slice(0, 200), body: r.body?.slice(0, 200) }))), problems: ['the batch of the hang above'] });
    }
    if (++n % 50 === 0) await refreshLiveIds();
    return server.proc.exitCode === null;
  }), { numRuns: RUNS, seed: SEED, endOnFailure: true });
  console.log(`fuzz runtime: ${RUNS * BATCH} requests over ${routes.length} routes (${source === 'served' && routes.length ? 'served' : 'provisional'} list), ${findings.length} findings`);
  assert.deepEqual(brokenLogLines(server.logs), []);
  assert.equal(findings.length, 0, summary(findings));
  await agentAnswers();
});

/** A frame: text (JSON control, bad JSON, unknown types) or binary (terminal bytes), maybe fragmented. */
const frameArb = fc.oneof(
  fc.record({ channel: fc.constantFrom('terminal', 'watcher', 'x', undefined), type: fc.constantFrom('resize', 'input', 'nope', undefined),
    id: fc.oneof(fc.constant('live'), junkString, fc.integer()), cols: fc.oneof(fc.integer(), junkString), rows: fc.integer(), data: fc.oneof(fc.string(), fc.integer()) })
    .map((o) => ({ data: JSON.stringify({ ...o, id: o.id === 'live' ? live.terminal : o.id }), binary: false, fragment: false })),
  fc.tuple(junkString, fc.boolean()).map(([s, fragment]) => ({ data: s, binary: false, fragment })),
  fc.constantFrom('{', '[]', 'null', '{"channel":{}}', '{"type":"input","id":"1","data":"\\u0000"}').map((s) => ({ data: s, binary: false, fragment: false })),
  fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.boolean()).map(([b, fragment]) => ({ data: Buffer.from(b), binary: true, fragment })),
  // Big frames are made when sent (a counterexample prints their size, not their bytes).
  fc.constantFrom(2 ** 20, 17 * 2 ** 20).map((n) => ({ data: { size: n }, binary: true, fragment: false })),
);

type Frame = { data: string | Buffer | { size: number }; binary: boolean; fragment: boolean };
const bytesOf = (d: Frame['data']): string | Buffer => (typeof d === 'string' || Buffer.isBuffer(d) ? d : Buffer.alloc(d.size, 0x41));

/** Opens /ws, sends `frames`, and resolves with how the socket ended (or 'open' if it stayed up). */
function wsSession(frames: Frame[]): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=${encodeURIComponent(token)}`);
    const timer = setTimeout(() => { ws.terminate(); resolve('hang'); }, 10_000);
    const done = (how: string) => { clearTimeout(timer); resolve(how); };
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (_req, res) => done(`refused ${res.statusCode}`));
    ws.on('close', (code) => done(`closed ${code}`));
    ws.on('open', () => {
      for (const f of frames) {
        if (ws.readyState !== WebSocket.OPEN) break;
        if (f.fragment && typeof f.data === 'string' && f.data.length > 1) {
          const half = Math.floor(f.data.length / 2);
          ws.send(f.data.slice(0, half), { binary: f.binary, fin: false });
          ws.send(f.data.slice(half), { binary: f.binary, fin: true });
        } else {
          ws.send(bytesOf(f.data), { binary: f.binary });
        }
      }
      // A ping answered means the socket still reads frames; then a clean close from our side.
      ws.ping();
      ws.once('pong', () => { ws.close(1000); });
    });
  });
}

test(`${WS_RUNS} fuzzed /ws sessions: bad frames are ignored or closed cleanly (seed ${SEED})`, { timeout: 20 * 60_000, skip: ONLY === 'http' }, async () => {
  const ends = new Map<string, number>();
  const bad: string[] = [];
  await fc.assert(fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 6 }), async (frames) => {
    const how = await wsSession(frames);
    ends.set(how, (ends.get(how) ?? 0) + 1);
    // 1000 normal (ours), 1009 too big, 1007 bad UTF-8 text, 1002 protocol error: clean refusals.
    // A frame past the agent's limit is refused with 1009, but the close frame races the rest of
    // the client's upload and the client may see only the reset (1006): the agent must answer after.
    const oversized = frames.some((f) => Buffer.byteLength(bytesOf(f.data)) > MAX_WS_PAYLOAD);
    const clean = /^closed (1000|1002|1007|1009)$/.test(how) || (oversized && how === 'closed 1006');
    if (!clean) bad.push(`${how} after ${JSON.stringify(frames).slice(0, 300)}`);
    if (oversized || !clean) await agentAnswers();
    return true;
  }), { numRuns: WS_RUNS, seed: SEED });
  assert.deepEqual(bad, [], 'sockets that did not end cleanly');
  console.log(`fuzz ws: ${[...ends].map(([k, v]) => `${v}× ${k}`).join(', ')}`);
  assert.deepEqual(brokenLogLines(server.logs), []);
  await agentAnswers();
});
