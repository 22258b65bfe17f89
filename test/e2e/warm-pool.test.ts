/**
 * The warm pool (src/domain/warm-pool.ts) through the official library: a create of an image
 * created from before takes a ready sandbox, which then is that workspace in every way its
 * config says (hostname from the slug, env, cmd, a workload, memory limit, disk quota, its
 * own runtime token, the network policy); a waiting sandbox answers nobody but the host;
 * deleting the workspace leaves nothing; a kill -9 and restart sweep the waiting sandboxes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { adminClient, openRuntime, until, waitForStatus, type Client } from '../support/workspaces.js';
import { instanceIdFor } from '../../src/config/load.js';

let server: TestServer;
let client: Client;

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer({ env: { WARREN_WARM_POOL: '2' } });
  client = adminClient(server);
});
after(async () => {
  await server?.stop();
});

/** Pool entries the server announced ready since `from` (index into its log). */
function readyEntries(from = 0): Array<{ shortId: string; ip: string }> {
  return server.logs.slice(from).filter((l) => l.includes('warm pool sandbox ready')).map((l) => JSON.parse(l));
}

const netnsList = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const netnsOf = (shortId: string) => `warren-${instanceIdFor(server.dataDir)}-${shortId}`;

async function bootLog(id: string): Promise<string> {
  const r = await api(server, 'GET', `/workspace/${id}/logs?source=boot`);
  return r.body.logs.map((l: any) => l.message).join('\n');
}

async function createRunning(body: Record<string, unknown>): Promise<string> {
  const ws: any = await client.workspaces.create({ image: 'debian-12', ...body } as any);
  await waitForStatus(server, ws.id, 'running');
  return ws.id;
}

test('a create takes a ready sandbox that becomes the workspace its config describes', async () => {
  const first = await createRunning({ memory_mb: 256 });
  assert.doesNotMatch(await bootLog(first), /warm pool/, 'the first create of an image boots cold');
  const ready = await until('two pooled sandboxes ready', async () => readyEntries().length >= 2 && readyEntries());
  const waiting = ready[0]!;
  // A waiting sandbox has no runtime token: its agent refuses every caller but the host's control token.
  const refused = await fetch(`http://${waiting.ip}:9990/exec`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cmd: ['true'] }),
  });
  assert.equal(refused.status, 401);
  assert.equal((await fetch(`http://${waiting.ip}:9990/_warren/claim`, { method: 'POST' })).status, 401);

  const id = await createRunning({
    slug: 'pooled-one', memory_mb: 192, disk_size_mb: 512,
    config: {
      env: [{ key: 'POOL_VAR', value: 'from-config' }],
      cmd: ['sh', '-c', 'echo "$POOL_VAR" > /tmp/cmd-ran; exec sleep infinity'],
      workloads: [{ name: 'marker', cmd: ['sh', '-c', 'touch /tmp/workload-ran; exec sleep infinity'], enabled: true }],
    },
  });
  assert.match(await bootLog(id), /taken from the warm pool/);
  const ws: any = await client.workspaces.get(id);
  const entry = ready.find((e) => e.ip === ws.ip);
  assert.ok(entry, 'the workspace has a pooled sandbox\'s address');
  const rt = await openRuntime(client, server, id);
  const run = async (sh: string) => ((await rt.exec.run(['sh', '-c', sh])) as any).stdout.trim();
  assert.equal(await run('hostname'), 'pooled-one');
  assert.equal(await run('echo "$POOL_VAR $HOSTNAME"'), 'from-config pooled-one');
  await until('cmd ran', async () => (await run('cat /tmp/cmd-ran 2>/dev/null')) === 'from-config');
  await until('workload ran', async () => (await run('test -e /tmp/workload-ran && echo yes')) === 'yes');
  assert.equal(await run('cat /sys/fs/cgroup/memory/memory.limit_in_bytes'), String(192 * 1024 * 1024));
  const df = (await run('df -k / | tail -1')).split(/\s+/);
  const quota = (Number(df[2]) + Number(df[3])) / 1024;
  assert.ok(quota > 480 && quota <= 512, `disk quota applied: used + available is ${quota} MiB`);

  // The first workspace's agent is not reachable from the pooled one (no private link).
  const firstIp = ((await client.workspaces.get(first)) as any).ip;
  assert.match(firstIp, /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(await run(`timeout 3 bash -c '</dev/tcp/${firstIp}/9990' 2>/dev/null && echo open || echo closed`), 'closed');

  await client.workspaces.delete(id);
  await client.workspaces.delete(first);
  await until('its netns is gone', async () => !netnsList().includes(netnsOf(entry.shortId)));
});

test('a kill -9 and restart sweep the waiting sandboxes', async () => {
  const id = await createRunning({});
  const before = server.logs.length;
  const ready = await until('a pooled sandbox ready', async () => readyEntries(before).length >= 1 && readyEntries(before));
  await server.kill();
  await server.restart();
  for (const e of ready) {
    await until(`pooled ${e.shortId} swept`, async () => !netnsList().includes(netnsOf(e.shortId)));
  }
  await waitForStatus(server, id, 'running'); // the workspace itself survives the restart
  await client.workspaces.delete(id);
});
