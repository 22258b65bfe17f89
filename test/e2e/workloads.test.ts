/**
 * Workloads on real workspaces through the official library, CLI and MCP server: output
 * in `logs` and `logs/stream`, on-failure restarts bounded by max_restarts, a command that
 * does not exist, config.workloads starting at boot in order, per-workload CPU in its own
 * cgroup, vm_on_exit, and a running workload that a Warren restart leaves alone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { cliHarness } from '../support/cli.js';
import { startMcp } from '../support/mcp.js';
import { adminClient, until, waitForStatus, type Client } from '../support/workspaces.js';

let server: TestServer;
let client: Client;
const harness = cliHarness(() => server);

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
  client = adminClient(server);
});
after(async () => {
  await server?.stop();
  harness.cleanup();
});

async function withWorkspace(config: Record<string, unknown>, fn: (id: string) => Promise<void>): Promise<void> {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256, config } as any);
  try {
    await waitForStatus(server, ws.id, 'running');
    await fn(ws.id);
  } finally {
    await client.workspaces.delete(ws.id).catch(() => undefined);
  }
}

test('a workload\'s output is in logs and logs/stream; status, stats, stop and delete', async () => {
  await withWorkspace({}, async (id) => {
    const wl: any = await client.workspaces.workloads.create(id, {
      name: 'ticker', cmd: ['sh', '-c', 'echo MARK-start; echo oops >&2; while :; do echo tick; sleep 0.2; done'],
    });
    assert.match(wl.id, /^wl_/);
    assert.equal(wl.name, 'ticker');
    await until('running', async () => (await client.workspaces.workloads.status(id, wl.id) as any).status === 'running');
    const logs: any = await until('marker in logs', async () => {
      const l: any = await client.workspaces.workloads.logs(id, wl.id);
      return l.output.includes('MARK-start') && l;
    });
    assert.ok(logs.logs.some((e: any) => e.stream === 'stderr' && e.data.includes('oops')), 'stderr kept apart');
    const seen: string[] = [];
    for await (const e of client.workspaces.workloads.logsStream(id, wl.id) as AsyncIterable<any>) {
      assert.equal(typeof e.timestamp, 'string');
      seen.push(e.data);
      if (seen.join('').split('tick').length > 8) break; // replay + follow: new ticks keep coming
    }
    assert.ok(seen.join('').includes('MARK-start'), 'the stream replays the tail first');
    const list = await client.workspaces.workloads.list(id);
    assert.deepEqual(list.map((w: any) => w.id), [wl.id]);
    const stats: any = await client.workspaces.workloads.stats(id, wl.id);
    assert.equal(stats.workload_id, wl.id);
    assert.ok(stats.pids >= 1, `pids ${stats.pids}`);
    const stopped: any = await client.workspaces.workloads.stop(id, wl.id);
    assert.equal(stopped.workload.enabled, false);
    await until('stopped', async () => (await client.workspaces.workloads.status(id, wl.id) as any).status === 'stopped');
    await client.workspaces.workloads.delete(id, wl.id);
    const gone = await api(server, 'GET', `/workspace/${id}/workloads/${wl.id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'workload_not_found');
  });
});

test('on-failure restarts exactly max_restarts times; a missing command fails with its error', async () => {
  await withWorkspace({}, async (id) => {
    const wl: any = await client.workspaces.workloads.create(id, {
      cmd: ['sh', '-c', 'echo run; exit 3'], restart_policy: 'on-failure', max_restarts: 2, restart_delay: 0.1, restart_backoff: false,
    });
    const done: any = await until('failed', async () => {
      const s: any = await client.workspaces.workloads.get(id, wl.id);
      return s.status === 'failed' && s;
    });
    assert.equal(done.restarts, 2);
    assert.equal(done.exit_code, 3);
    await new Promise((r) => setTimeout(r, 500));
    const l: any = await client.workspaces.workloads.logs(id, wl.id);
    assert.equal(l.output.split('run').length - 1, 3, 'ran once plus two restarts, then stayed down');

    const missing: any = await client.workspaces.workloads.create(id, { cmd: ['/no/such/program'], restart_policy: 'never' });
    const m: any = await until('missing failed', async () => {
      const s: any = await client.workspaces.workloads.get(id, missing.id);
      return s.status === 'failed' && s;
    });
    assert.equal(m.exit_code, 127);
    assert.match(m.error, /not found|no such/i);
    assert.doesNotMatch(m.error, /\/var\/lib|warren-/, 'no host paths');
    const bad = await api(server, 'POST', `/workspace/${id}/workloads`, { cmd: [], name: 'x' });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.details.field, 'cmd');
    const badPolicy = await api(server, 'POST', `/workspace/${id}/workloads`, { cmd: ['true'], restart_policy: 'sometimes' });
    assert.equal(badPolicy.body.details.field, 'restart_policy');
  });
});

test('config.workloads start at boot in order; each is measured in its own cgroup', async () => {
  await withWorkspace({
    workloads: [
      { name: 'burner', cmd: ['sh', '-c', 'while :; do :; done'] },
      { name: 'sleeper', cmd: ['sleep', '1000'] },
    ],
  }, async (id) => {
    const list: any[] = await until('both running', async () => {
      const l: any[] = await client.workspaces.workloads.list(id);
      return l.length === 2 && l.every((w) => w.status === 'running') && l;
    });
    assert.deepEqual(list.map((w) => w.name), ['burner', 'sleeper']);
    assert.ok(list[0].pid < list[1].pid, 'the first was spawned before the second');
    const burn: any = await until('burner measured', async () => {
      const s: any = await client.workspaces.workloads.stats(id, list[0].id);
      return s.cpu_usage > 40 && s;
    });
    const idle: any = await client.workspaces.workloads.stats(id, list[1].id);
    assert.ok(idle.cpu_usage < 10, `the sleeper's own cgroup shows ${idle.cpu_usage}% (burner ${burn.cpu_usage}%)`);
    const events: any[] = [];
    for await (const e of client.workspaces.workloads.allStatsStream(id) as AsyncIterable<any>) {
      events.push(e);
      if (events.length >= 4) break;
    }
    assert.deepEqual(new Set(events.map((e) => e.workload_id)), new Set(list.map((w) => w.id)));
    // The CLI's own shape: `command` string and `env` object.
    const out = await harness.cli('workloads', 'create', id, '--name', 'cli-wl', '--cmd', 'echo "$GREETING"; sleep 100', '--env', 'GREETING=hello-cli');
    const created = (await client.workspaces.workloads.list(id)).find((w: any) => w.name === 'cli-wl') as any;
    assert.ok(created, out);
    await until('cli env', async () => ((await client.workspaces.workloads.logs(id, created.id)) as any).output.includes('hello-cli'));
    assert.match(await harness.cli('workloads', 'list', id), /cli-wl/);
  });
});

test('vm_on_exit: stop ends the workspace when the workload ends for good', async () => {
  await withWorkspace({}, async (id) => {
    await client.workspaces.workloads.create(id, { cmd: ['sh', '-c', 'sleep 1'], restart_policy: 'never', vm_on_exit: 'stop' });
    await waitForStatus(server, id, 'stopped', 30_000);
  });
});

test('a Warren restart leaves a running workload alone; MCP tools answer', async () => {
  await withWorkspace({}, async (id) => {
    const wl: any = await client.workspaces.workloads.create(id, { cmd: ['sleep', '1000'] });
    const before: any = await until('running', async () => {
      const s: any = await client.workspaces.workloads.get(id, wl.id);
      return s.status === 'running' && s;
    });
    await server.kill();
    await server.restart();
    client = adminClient(server);
    const after: any = await client.workspaces.workloads.get(id, wl.id);
    assert.equal(after.status, 'running');
    assert.equal(after.pid, before.pid, 'same process');
    assert.equal(after.restarts, 0);
    const mcp = await startMcp(harness.env());
    try {
      const list = await mcp.callTool('workspace_workload_list', { workspace_id: id });
      assert.match(JSON.stringify(list), new RegExp(wl.id));
      const made = await mcp.callTool('workspace_workload_create', { workspace_id: id, cmd: ['sh', '-c', 'echo via-mcp; sleep 50'] });
      const mid = /"id":\s*"(wl_[0-9a-f]+)"/.exec(JSON.stringify(made).replace(/\\"/g, '"'))?.[1];
      assert.ok(mid, JSON.stringify(made));
      await until('mcp logs', async () => JSON.stringify(await mcp.callTool('workspace_workload_logs', { workspace_id: id, workload_id: mid })).includes('via-mcp'));
    } finally {
      mcp.close();
    }
  });
});
