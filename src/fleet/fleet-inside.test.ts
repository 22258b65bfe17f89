/**
 * The replica's inside ports (FleetAgentControl, FleetBootLog) over a real loopback node API
 * (nodeApiHandler ↔ callNode / openNodeStream): the node's own agent client is a fake that
 * records what it was asked, the boot log is the real BootLogFiles in a temporary directory.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import type { WorkspaceBackend } from '../domain/backend.js';
import type { AgentControlPort, AgentTarget } from '../domain/ports.js';
import { nodeApiHandler } from '../node/node-api.js';
import { generateNodeKey, NodeTokenSigner, NodeTokenVerifier } from '../node/node-tokens.js';
import { BootLogFiles } from '../storage/boot-log.js';
import type { NodeRecord, WorkspaceRecord } from '../store/store.js';
import { FleetAgentControl, nodeAgentTarget } from './fleet-agent-control.js';
import { FleetBootLog } from './fleet-boot-log.js';
import { NodeCaller } from './node-caller.js';

const key = generateNodeKey('k1');
const record = {
  id: 'ws_1', shortId: 's1x', ip: '10.250.0.2', image: 'node:20', imageId: null, nodeId: 'node-a', state: 'running',
  config: {}, network: {}, apiAccess: { enabled: false, rawToken: 'raw' },
} as unknown as WorkspaceRecord;

interface Asked { ip: string; method: string; path: string; body?: unknown }

/** The node's agent client: answers calls, and streams what `feed` pushes until aborted. */
function fakeAgent() {
  const asked: Asked[] = [];
  let push: ((e: Record<string, unknown> | Error | null) => void) | null = null;
  const aborted: string[] = [];
  let fail: AppError | null = null;
  const agent: AgentControlPort = {
    async call<T>(t: AgentTarget, method: string, path: string, body?: unknown): Promise<T> {
      asked.push({ ip: t.ip, method, path, ...(body !== undefined ? { body } : {}) });
      if (fail) throw fail;
      return { success: true, echo: { method, path, controlDir: t.controlDir } } as T;
    },
    async *stream(t: AgentTarget, path: string, signal: AbortSignal) {
      asked.push({ ip: t.ip, method: 'STREAM', path });
      const queue: Array<Record<string, unknown> | Error | null> = [];
      let wake: (() => void) | null = null;
      push = (e) => { queue.push(e); wake?.(); };
      signal.addEventListener('abort', () => { aborted.push(path); wake?.(); }, { once: true });
      for (;;) {
        while (queue.length === 0 && !signal.aborted) await new Promise<void>((r) => { wake = r; });
        if (signal.aborted) return;
        const e = queue.shift()!;
        if (e === null) return;
        if (e instanceof Error) throw e;
        yield e;
      }
    },
  };
  return { agent, asked, aborted, feed: (e: Record<string, unknown> | Error | null) => push?.(e), failWith: (e: AppError | null) => { fail = e; } };
}

async function setup(t: TestContext, opts: { lost?: boolean; stored?: (id: string) => Promise<WorkspaceRecord | null> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'warren-inside-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bootLog = new BootLogFiles(dir);
  const a = fakeAgent();
  const handler = nodeApiHandler({
    nodeId: 'node-a', verifier: new NodeTokenVerifier([key]), backend: {} as WorkspaceBackend,
    inside: {
      agent: a.agent, bootLog, target: (rec) => ({ ip: rec.ip, port: 9990, controlDir: join(dir, rec.id, 'control') }),
      ...(opts.stored ? { stored: opts.stored } : {}),
    },
  });
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  let reachable = !opts.lost;
  const registry = {
    async assertReachable() {
      if (!reachable) throw new AppError('node_lost', 'lost', { node_id: 'node-a' });
    },
    async get(id: string) { return { id, address } as NodeRecord; },
  };
  const caller = new NodeCaller({ registry, signer: new NodeTokenSigner(key, 'replica-1') });
  const store = { getWorkspace: async (id: string) => (id === record.id ? record : null) };
  return {
    ...a, bootLog, server, dir,
    control: new FleetAgentControl(caller), log: new FleetBootLog(caller, store),
    setReachable: (v: boolean) => { reachable = v; },
  };
}

const target = nodeAgentTarget(record);

test('agent-call: the node calls its agent with its own control dir and answers the JSON; agent errors keep their code', async (t) => {
  const s = await setup(t);
  const res = await s.control.call<{ echo: { method: string; path: string; controlDir: string } }>(target, 'GET', '/_warren/workloads');
  assert.deepEqual(res.echo, { method: 'GET', path: '/_warren/workloads', controlDir: join(s.dir, 'ws_1', 'control') });
  await s.control.call(target, 'PUT', '/_warren/workloads/web', { id: 'web', command: ['sleep', '1'] });
  await s.control.call(target, 'GET', '/_warren/logs/file?name=app.log&tail=20');
  assert.deepEqual(s.asked.map((x) => [x.ip, x.method, x.path, x.body]), [
    ['10.250.0.2', 'GET', '/_warren/workloads', undefined],
    ['10.250.0.2', 'PUT', '/_warren/workloads/web', { id: 'web', command: ['sleep', '1'] }],
    ['10.250.0.2', 'GET', '/_warren/logs/file?name=app.log&tail=20', undefined],
  ]);
  s.failWith(new AppError('workload_not_found', 'Workload not found'));
  await assert.rejects(s.control.call(target, 'GET', '/_warren/workloads/nope'), (e: any) => e.code === 'workload_not_found' && e.status === 404);
  s.failWith(new AppError('agent_unreachable', 'The workspace agent did not answer'));
  await assert.rejects(s.control.call(target, 'GET', '/_warren/logs/files'), (e: any) => e.code === 'agent_unreachable');
});

test('agent-call: a node proxies only the platform\'s agent control paths', async (t) => {
  const s = await setup(t);
  for (const [method, path] of [
    ['POST', '/_warren/claim'], ['PUT', '/_warren/ssh'], ['GET', '/_warren/events'], ['GET', '/files/etc/passwd'],
    ['GET', '/_warren/workloads/../claim'], ['GET', '/_warren/workloads/x/logs?tail=1&x=2'], ['POST', '/_warren/workloads'],
  ] as const) {
    await assert.rejects(s.control.call(target, method, path), (e: any) => e.code === 'forbidden' && e.details?.field === 'call.path', `${method} ${path}`);
  }
  assert.equal(s.asked.length, 0, 'no refused path reached the agent');
  // A workspace on a lost node: node_lost, no request made.
  s.setReachable(false);
  await assert.rejects(s.control.call(target, 'GET', '/_warren/workloads'), (e: any) => e.code === 'node_lost' && e.status === 503);
  assert.equal(s.asked.length, 0);
});

test('agent-call with the store at hand: the node calls the stored address; a workspace not on this node is refused', async (t) => {
  const stored = new Map<string, WorkspaceRecord>([
    ['ws_1', { ...record, ip: '10.250.0.9' }],
    ['ws_2', { ...record, id: 'ws_2', nodeId: 'node-b' }],
  ]);
  const s = await setup(t, { stored: async (id) => stored.get(id) ?? null });
  await s.control.call(target, 'GET', '/_warren/workloads');
  assert.deepEqual(s.asked.map((x) => x.ip), ['10.250.0.9'], 'the control token goes to the stored address only');
  await assert.rejects(s.control.call(nodeAgentTarget({ ...record, id: 'ws_2' }), 'GET', '/_warren/workloads'),
    (e: any) => e.code === 'bad_request' && e.details?.field === 'record.nodeId');
  await assert.rejects(s.control.call(nodeAgentTarget({ ...record, id: 'ws_3' }), 'GET', '/_warren/workloads'),
    (e: any) => e.code === 'not_found');
  assert.equal(s.asked.length, 1);
});

test('agent-stream: events relayed in order; the replica going away ends the node\'s agent stream; errors keep their code', async (t) => {
  const s = await setup(t);
  const ac = new AbortController();
  const it = s.control.stream(target, '/_warren/workloads/web/logs/stream?tail=5', ac.signal)[Symbol.asyncIterator]();
  const first = it.next();
  await until(() => s.asked.length === 1);
  s.feed({ data: 'one\n', stream: 'stdout' });
  s.feed({ data: 'two\n', stream: 'stderr' });
  assert.deepEqual((await first).value, { data: 'one\n', stream: 'stdout' });
  assert.deepEqual((await it.next()).value, { data: 'two\n', stream: 'stderr' });
  const pending = it.next();
  ac.abort();
  assert.equal((await pending).done, true, 'an aborted stream just ends');
  await until(() => s.aborted.length === 1);
  assert.deepEqual(s.aborted, ['/_warren/workloads/web/logs/stream?tail=5']);

  // The agent ends it: the replica's iterable ends.
  const done = collect(s.control.stream(target, '/_warren/logs/cmd/stream?tail=1', new AbortController().signal));
  await until(() => s.asked.length === 2);
  s.feed({ data: 'x' });
  s.feed(null);
  assert.deepEqual(await done, [{ data: 'x' }]);

  // The agent fails mid-stream: its code crosses.
  const failing = collect(s.control.stream(target, '/_warren/logs/cmd/stream', new AbortController().signal));
  await until(() => s.asked.length === 3);
  s.feed(new AppError('agent_unreachable', 'gone'));
  await assert.rejects(failing, (e: any) => e.code === 'agent_unreachable');

  // Not a proxied stream: refused before it opens.
  await assert.rejects(collect(s.control.stream(target, '/_warren/events', new AbortController().signal)), (e: any) => e.code === 'forbidden');
});

test('agent-stream: a node that dies mid-stream is node_lost for the reader', async (t) => {
  const s = await setup(t);
  const reading = collect(s.control.stream(target, '/_warren/logs/cmd/stream', new AbortController().signal));
  await until(() => s.asked.length === 1);
  s.feed({ data: 'before' });
  await new Promise((r) => setTimeout(r, 50));
  s.server.closeAllConnections();
  await assert.rejects(reading, (e: any) => e.code === 'node_lost' && e.details?.reason === 'unreachable');
});

test('agent-stream: the node pulls the agent no faster than the replica reads', async (t) => {
  const s = await setup(t);
  let pulled = 0;
  s.agent.stream = async function* (_t, _p, signal) {
    const data = 'x'.repeat(1024);
    while (!signal.aborted) {
      pulled++;
      yield { data };
      if (pulled % 64 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  const ac = new AbortController();
  const it = s.control.stream(target, '/_warren/logs/cmd/stream', ac.signal)[Symbol.asyncIterator]();
  await it.next();
  await new Promise((r) => setTimeout(r, 1000));
  const held = pulled;
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(pulled - held < 64 * 4, `the node kept pulling while the replica read nothing (${held} → ${pulled})`);
  assert.ok(held < 20_000, `${held} events (1 KiB each) pulled ahead of a reader that took one`);
  ac.abort();
  await it.return?.();
});

test('boot log: read, files, a file, clear and follow through the node (live lines, ended with the boot)', async (t) => {
  const s = await setup(t);
  await s.bootLog.begin('ws_1', true);
  s.bootLog.step('ws_1', 'pulling image');
  s.bootLog.step('ws_1', 'network ready');
  assert.deepEqual((await s.log.read('ws_1', 10)).map((l) => l.message), ['pulling image', 'network ready']);
  assert.deepEqual((await s.log.read('ws_1', 1)).map((l) => l.message), ['network ready']);

  const seen: string[] = [];
  let ended = false;
  await s.log.follow('ws_1', 10, (l) => seen.push(l.message), () => { ended = true; });
  await until(() => seen.length === 2);
  s.bootLog.step('ws_1', 'agent ready', 'error');
  await until(() => seen.length === 3);
  assert.deepEqual(seen, ['pulling image', 'network ready', 'agent ready']);
  assert.equal(ended, false);
  s.bootLog.end('ws_1');
  await until(() => ended);

  const files = await s.log.files('ws_1');
  assert.deepEqual(files.map((f) => f.name), ['boot.log']);
  assert.ok(files[0]!.size > 0);
  const lines = await s.log.readFile('ws_1', 'boot.log');
  assert.deepEqual(lines?.map((l) => [l.message, l.level]), [['pulling image', 'info'], ['network ready', 'info'], ['agent ready', 'error']]);
  assert.equal(await s.log.readFile('ws_1', 'other.log'), null);
  // A follow with no boot running replays the file and ends.
  const replay: string[] = [];
  await new Promise<void>((r) => void s.log.follow('ws_1', 2, (l) => replay.push(l.message), r));
  assert.deepEqual(replay, ['network ready', 'agent ready']);
  await s.log.clear('ws_1');
  assert.deepEqual(await s.log.files('ws_1'), []);
  assert.deepEqual(await s.log.read('ws_1', 10), []);
  // An unknown (or unplaced) workspace has no boot log; a lost node answers node_lost.
  assert.deepEqual(await s.log.read('ws_nope', 10), []);
  s.setReachable(false);
  await assert.rejects(s.log.read('ws_1', 10), (e: any) => e.code === 'node_lost');
});

test('boot log follow: stopping it ends the node\'s follower', async (t) => {
  const s = await setup(t);
  await s.bootLog.begin('ws_1', false);
  s.bootLog.step('ws_1', 'one');
  const seen: string[] = [];
  let ended = false;
  const stop = await s.log.follow('ws_1', 10, (l) => seen.push(l.message), () => { ended = true; });
  await until(() => seen.length === 1);
  stop();
  await until(() => ended);
  s.bootLog.step('ws_1', 'two');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(seen, ['one']);
  // The node dropped its follower (the live boot has none left).
  const live = (s.bootLog as unknown as { live: Map<string, { followers: Set<unknown> }> }).live.get('ws_1')!;
  await until(() => live.followers.size === 0);
  s.bootLog.end('ws_1');
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

async function until(fn: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
