/**
 * Inside a workspace through a control replica (issue 16): one `warren node` in its own
 * namespace, one `warren control`, one PostgreSQL (test/support/fleet.ts). The replica has
 * no control token and no boot log of its own: workloads, the workspace logs (the agent's
 * cmd log and log files) and the boot log are read through the node API (agent-call,
 * agent-stream, boot-log, boot-log-follow). With the official client, through the replica:
 * the boot log read, streamed to its end and listed as a file; the cmd log read and
 * followed; a workload created, running, its logs read and streamed, its stats, stopped and
 * deleted (a deleted one is 404 `workload_not_found` across the hop); the logs cleared.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Oblien from 'oblien';
import { ADMIN, api, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { postgresAvailable } from '../support/postgres.js';
import { fleetRolesAvailable, startFleet, type Fleet, type Replica } from '../support/fleet.js';
import { until, waitForStatus, type Client } from '../support/workspaces.js';

const skip = !postgresAvailable() ? 'PostgreSQL 15 is not installed (scripts/setup.sh --tests)'
  : !fleetRolesAvailable() ? 'this build has no `warren node` / `warren control` (npm run build)' : false;

const asServer = (r: Replica) => ({ url: r.url, port: r.port }) as TestServer;
const CMD = ['sh', '-c', 'echo CMD-MARK; while :; do echo beat; sleep 0.3; done'];

describe('workloads, workspace logs and boot logs through a control replica', { skip }, () => {
  let fleet: Fleet;
  let client: Client;
  let server: TestServer;
  let id = '';

  before(async () => {
    await ensureTestImages(['node-20']);
    fleet = await startFleet({
      nodes: 1, replicas: 1,
      node: () => ({ nodeId: 'inside-0', capacity: { cpus: 4, memoryMb: 4096, diskMb: 1_000_000, maxWorkspaces: 4 } }),
    });
    server = asServer(fleet.replicas[0]!);
    client = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: fleet.replicas[0]!.url });
    const ws = await client.workspaces.create({ image: 'node-20', memory_mb: 256, config: { cmd: CMD } } as any);
    id = ws.id;
    await waitForStatus(server, id, 'running', 180_000);
  });
  after(async () => {
    if (id) await client?.workspaces.delete(id).catch(() => {});
    await fleet?.stop();
  });

  test('the workspace runs on the node (the replica has no control dir for it)', async () => {
    const rows = await fleet.pg.query<{ node_id: string }>(fleet.databaseUrl, 'SELECT node_id FROM workspaces WHERE id = $1', [id]);
    assert.equal(rows[0]?.node_id, 'inside-0');
  });

  test('boot log: read, streamed to its end, listed and read as a file', async () => {
    const boot: any[] = [];
    for await (const e of client.workspaces.logs.streamBoot(id) as AsyncIterable<any>) boot.push(e);
    const text = boot.map((e) => e.message).join('\n');
    assert.match(text, /Runtime agent answered/);
    assert.match(text, /Boot complete/);
    const got: any = await client.workspaces.logs.get(id, { source: 'boot' } as any);
    assert.ok(got.logs.some((l: any) => /Boot complete/.test(l.message)), JSON.stringify(got).slice(0, 500));
    const bootFile: any = await client.workspaces.logs.getFile(id, 'boot.log');
    assert.match(bootFile.content, /Boot complete/);
  });

  test('cmd log: read and followed; log files from the node and the agent', async () => {
    await until('cmd marker', async () => {
      const r: any = await client.workspaces.logs.get(id, { source: 'cmd' } as any);
      return r.logs.some((l: any) => /CMD-MARK/.test(l.message)) && r;
    });
    const followed: string[] = [];
    for await (const e of client.workspaces.logs.streamCmd(id, { tail_lines: 5 } as any) as AsyncIterable<any>) {
      followed.push(e.message);
      if (followed.filter((m) => m === 'beat').length >= 6) break;
    }
    const names = ((await client.workspaces.logs.listFiles(id)) as any[]).map((f) => f.name);
    assert.ok(names.includes('boot.log') && names.includes('cmd.log'), JSON.stringify(names));
    const cmdFile: any = await client.workspaces.logs.getFile(id, 'cmd.log');
    assert.match(cmdFile.content, /CMD-MARK/);
  });

  test('a workload: created, running, logs read and streamed, stats, stopped, deleted', async () => {
    const wl: any = await client.workspaces.workloads.create(id, {
      name: 'ticker', cmd: ['sh', '-c', 'echo WL-start; while :; do echo tick; sleep 0.2; done'],
    });
    await until('running', async () => (await client.workspaces.workloads.status(id, wl.id) as any).status === 'running');
    await until('marker in logs', async () => ((await client.workspaces.workloads.logs(id, wl.id)) as any).output.includes('WL-start'));
    const seen: string[] = [];
    for await (const e of client.workspaces.workloads.logsStream(id, wl.id) as AsyncIterable<any>) {
      seen.push(e.data);
      if (seen.join('').split('tick').length > 6) break;
    }
    assert.ok(seen.join('').includes('WL-start'), 'the stream replays the tail first');
    assert.deepEqual((await client.workspaces.workloads.list(id)).map((w: any) => w.id), [wl.id]);
    const stats: any = await client.workspaces.workloads.stats(id, wl.id);
    assert.equal(stats.workload_id, wl.id);
    assert.ok(stats.pids >= 1, `pids ${stats.pids}`);
    await client.workspaces.workloads.stop(id, wl.id);
    await until('stopped', async () => (await client.workspaces.workloads.status(id, wl.id) as any).status === 'stopped');
    await client.workspaces.workloads.delete(id, wl.id);
    const gone = await api(server, 'GET', `/workspace/${id}/workloads/${wl.id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'workload_not_found');
  });

  test('logs cleared through the replica', async () => {
    await client.workspaces.logs.clear(id);
    const cleared: any = await client.workspaces.logs.get(id, { source: 'cmd' } as any);
    assert.ok(!cleared.logs.some((l: any) => /CMD-MARK/.test(l.message)), 'cleared');
    const names = ((await client.workspaces.logs.listFiles(id)) as any[]).map((f) => f.name);
    assert.ok(!names.includes('boot.log'), JSON.stringify(names));
  });
});
