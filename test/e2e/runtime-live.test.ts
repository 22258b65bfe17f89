/**
 * The live runtime surface through a real Warren server, with the unmodified official
 * client: exec SSE streams and stdin, terminals typed into over the SDK's /ws client
 * (Node 20 has no global WebSocket, so the `ws` package stands in, as runtime.md §9.1
 * allows), scrollback, and a watcher event for a file written by exec.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Oblien, { Runtime } from 'oblien';
import WebSocket from 'ws';
import { ADMIN, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';

let server: TestServer;
let client: InstanceType<typeof Oblien>;
let rt: InstanceType<typeof Runtime>;
let workspaceId: string | undefined;
let runtimeToken: string;

before(async () => {
  (globalThis as any).WebSocket ??= WebSocket;
  await ensureTestImages();
  server = await startServer();
  client = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: server.url });
  const ws = await client.workspaces.create({ image: 'node-20', name: 'runtime-live', memory_mb: 256 });
  workspaceId = ws.id;
  await client.workspaces.network.update(ws.id, { public_access: true });
  const { token } = await client.workspaces.apiAccess.enable(ws.id);
  runtimeToken = token;
  rt = new Runtime({ token, baseUrl: server.url });
});

after(async () => {
  try {
    if (workspaceId) await client.workspaces.delete(workspaceId);
  } finally {
    await server?.stop();
  }
});

async function collect<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const e of gen) out.push(e);
  return out;
}

const b64 = (events: any[], name: string) =>
  Buffer.concat(events.filter((e) => e.event === name).map((e) => Buffer.from(e.data, 'base64'))).toString('utf8');

/** Resolves once `check` passes, polling every 50 ms. */
async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('runtime live features through the gateway', () => {
  test('exec.stream: task_id, decoded stdout/stderr, exit', async () => {
    const events: any[] = await collect(rt.exec.stream(['sh', '-c', 'echo out-1; echo err-1 >&2; echo out-2; exit 3']));
    assert.equal(events[0].event, 'task_id');
    assert.equal(typeof events[0].task_id, 'string');
    assert.equal(b64(events, 'stdout'), 'out-1\nout-2\n');
    assert.equal(b64(events, 'stderr'), 'err-1\n');
    const exit = events.at(-1);
    assert.equal(exit.event, 'exit');
    assert.equal(exit.exit_code, 3);
    assert.equal(exit.status, 'exited');

    const replay: any[] = await collect(rt.exec.subscribe(events[0].task_id));
    assert.deepEqual(replay.map((e) => e.event), ['output', 'exit']);
    assert.equal(replay[0].stdout, 'out-1\nout-2\n');
  });

  test('an OOM-killed streamed task reports 137 and SIGKILL honestly', async () => {
    const events: any[] = await collect(
      rt.exec.stream(['node', '-e', 'const a=[]; for(;;) a.push(Buffer.alloc(16<<20, 1))'], { timeoutSeconds: 60 }),
    );
    const exit = events.at(-1);
    assert.equal(exit.event, 'exit');
    assert.equal(exit.exit_code, 137);
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal((await rt.exec.run(['echo', 'agent survived'])).stdout, 'agent survived\n');
  });

  test('exec.input feeds stdin of cat; exec.subscribe follows it live', async () => {
    const stream = rt.exec.stream(['cat']);
    const it = stream[Symbol.asyncIterator]();
    const first: any = (await it.next()).value;
    assert.equal(first.event, 'task_id');
    const id = first.task_id as string;
    const res: any = await rt.exec.input(id, 'typed into cat\n');
    assert.equal(res.success, true);
    assert.equal(res.bytes_written, 15);
    const next: any = (await it.next()).value;
    assert.equal(next.event, 'stdout');
    assert.equal(Buffer.from(next.data, 'base64').toString(), 'typed into cat\n');
    await rt.exec.kill(id);
    const rest: any[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
    assert.equal(rest.at(-1).event, 'exit');
    assert.equal(rest.at(-1).exit_code, 143); // SIGTERM
    assert.equal(rest.at(-1).signal, 'SIGTERM');
  });

  test('terminal: typed into and read back over /ws, resized, scrollback', async () => {
    const term: any = await rt.terminal.create({ shell: '/bin/bash', cols: 100, rows: 30 });
    assert.equal(term.id, '1');
    const output = new Map<string, string>();
    const exits: [string, number][] = [];
    const sock = rt.ws({ reconnect: false });
    sock
      .onTerminalOutput((id: string, data: Uint8Array) => output.set(id, (output.get(id) ?? '') + Buffer.from(data).toString()))
      .onTerminalExit((id: string, code: number) => exits.push([id, code]));
    const opened = new Promise<void>((r) => sock.onOpen(() => r()));
    sock.connect();
    await opened;
    try {
      sock.writeTerminalInput(term.id, 'echo typed-$((40+2))\n');
      await eventually(() => /typed-42/.test(output.get('1') ?? ''), 'terminal echo');
      sock.resizeTerminal(term.id, 120, 40);
      await new Promise((r) => setTimeout(r, 200));
      sock.writeTerminalInput(term.id, 'stty size\n');
      await eventually(() => /40 120/.test(output.get('1') ?? ''), 'resized terminal');

      const sb: any = await rt.terminal.scrollback(term.id);
      const text = Buffer.from(sb.scrollback, 'base64').toString();
      assert.match(text, /typed-42/);
      assert.equal(sb.alive, true);
      const tail: any = await rt.terminal.scrollback(term.id, { bytes: 8 });
      assert.equal(tail.size, 8);
      const list: any[] = await rt.terminal.list();
      assert.equal(list.length, 1);
      assert.equal(list[0].cols, 120);

      sock.writeTerminalInput(term.id, 'exit 6\n');
      await eventually(() => exits.length > 0, 'terminal exit frame');
      assert.deepEqual(exits[0], ['1', 6]);
      assert.deepEqual(await rt.terminal.close(term.id), { success: true, terminal_id: '1' });
    } finally {
      sock.close();
    }
  });

  test('watcher: ready, then a change event for a file written by exec', async () => {
    await rt.exec.run(['mkdir', '-p', '/root/watched/sub']);
    const events: any[] = [];
    const sock = rt.ws({ reconnect: false });
    sock.onWatcherEvent((e: any) => events.push(e));
    const opened = new Promise<void>((r) => sock.onOpen(() => r()));
    sock.connect();
    await opened;
    try {
      const w: any = await rt.watcher.create({ path: '/root/watched' });
      assert.equal(w.root, '/root/watched');
      assert.equal(w.dir_count, 2);
      await eventually(() => events.some((e) => e.type === 'ready' && e.watcher_id === w.id), 'ready event');
      await rt.exec.run(['sh', '-c', 'echo hi > /root/watched/sub/new.txt']);
      await eventually(
        () => events.some((e) => e.type === 'change' && e.path === '/root/watched/sub/new.txt'),
        'change event',
      );
      const ev = events.find((e) => e.path === '/root/watched/sub/new.txt');
      assert.equal(ev.channel, 'watcher');
      assert.ok(['create', 'write'].includes(ev.op));
      assert.equal((await rt.watcher.list()).length, 1);
      assert.equal((await rt.watcher.get(w.id)).id, w.id);
      assert.equal((await rt.watcher.delete(w.id)).success, true);
    } finally {
      sock.close();
    }
  });

  // Last: it switches the runtime API off for this workspace.
  test('disabling runtime access closes a live /ws (raw ws client, Bearer header)', async () => {
    const sock = new WebSocket(`${server.url.replace('http', 'ws')}/ws`, {
      headers: { authorization: `Bearer ${runtimeToken}` },
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('open', () => resolve());
      sock.once('error', reject);
    });
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    await client.workspaces.apiAccess.disable(workspaceId as string);
    await Promise.race([
      closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('socket still open after disable')), 10_000)),
    ]);
  });
});
