/**
 * The first fleet end-to-end test (issue 16): two `warren node` daemons, each in a network
 * namespace of its own (own bridge, subnet and nft tables, a veth to the host), two
 * `warren control` replicas on the host, one PostgreSQL (test/support/fleet.ts).
 *
 * The official client creates 6 workspaces, 3 through each replica; each node takes at
 * most 4, so they land on both. Exec and a file write/read reach a workspace on each node
 * through either replica. SIGKILL of one node: its workspaces answer 503 `node_lost`
 * through the gateway (all of them, through both replicas) once the leader has seen it
 * silent for WARREN_NODE_LOST_AFTER_MS, while their sandboxes keep running (their agents
 * answer inside the namespace; a loop inside one keeps writing); after the node starts
 * again the same workspaces (same ids, same node, the file written before still there, the
 * loop never stopped) all answer exec again: adopted, not recreated.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import Oblien, { Runtime } from 'oblien';
import { ADMIN, CLI, api, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { postgresAvailable } from '../support/postgres.js';
import { fleetRolesAvailable, nodeLeftovers, startFleet, type Fleet, type FleetNode, type Replica } from '../support/fleet.js';
import { until, waitForStatus, type Client, type Rt } from '../support/workspaces.js';
import { AGENT_PORT } from '../../src/domain/ports.js';

/**
 * Nodes heartbeat every 5 s (EXPECTED_HEARTBEAT_MS, fixed) and the leader sweeps at that period: lost after
 * 10 s of silence — one missed beat is tolerated (a loaded machine), and the test stays short. 3 s would mark
 * healthy nodes lost between beats.
 */
const LOST_AFTER_MS = 10_000;
const SWEEP_MS = 5_000;

const skip = !postgresAvailable() ? 'PostgreSQL 15 is not installed (scripts/setup.sh --tests)'
  : !fleetRolesAvailable() ? 'this build has no `warren node` / `warren control` (npm run build)' : false;

const asServer = (r: Replica) => ({ url: r.url, port: r.port }) as TestServer;
const clientOf = (r: Replica): Client => new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: r.url });

describe('a fleet: two nodes in their own namespaces, two control replicas, one PostgreSQL', { skip }, () => {
  let fleet: Fleet;
  let clients: Client[];
  /** Workspace id → node id (from the database). */
  const placed = new Map<string, string>();
  /** Per node id: one workspace, its runtime token. */
  const probe = new Map<string, { id: string; token: string }>();

  before(async () => {
    await ensureTestImages(['node-20']);
    fleet = await startFleet({
      nodes: 2, replicas: 2,
      node: (i) => ({ nodeId: `fleet-${i}`, capacity: { cpus: 8, memoryMb: 8192, diskMb: 1_000_000, maxWorkspaces: 4 } }),
      replicaEnv: { WARREN_NODE_LOST_AFTER_MS: String(LOST_AFTER_MS) },
    });
    clients = fleet.replicas.map(clientOf);
  });
  after(async () => {
    for (const id of placed.keys()) await clients?.[0]?.workspaces.delete(id).catch(() => {});
    await fleet?.stop();
  });

  const runtimeOn = (r: Replica, token: string): Rt => new Runtime({ token, baseUrl: r.url });
  const nodeById = (id: string): FleetNode => fleet.nodes[Number(id.replace('fleet-', ''))]!;

  test('both nodes register ready, each with its own subnet and relay on its veth', async () => {
    const res = await api(asServer(fleet.replicas[1]!), 'GET', '/nodes');
    assert.equal(res.status, 200, res.text);
    const nodes = (res.body.nodes as any[]).map((n) => [n.id, n.state, n.address, n.subnet]).sort();
    assert.deepEqual(nodes, fleet.nodes.map((n, i) => [`fleet-${i}`, 'ready', n.relay, n.subnet]));
    const tables = (out: string) => new Set(out.split('\n').filter(Boolean));
    const hostTables = tables(spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout);
    for (const n of fleet.nodes) {
      await n.ns.exec(['ip', 'link', 'show', n.bridge]);
      assert.equal(existsSync(`/sys/class/net/${n.bridge}`), false, 'the bridge is in the namespace, not on the host');
      const own = tables((await n.ns.exec(['nft', 'list', 'tables'])).stdout);
      assert.ok(own.size > 0, 'the node made its firewall tables');
      assert.deepEqual([...own].filter((t) => hostTables.has(t)), [], 'none of them on the host');
    }
  });

  test('6 workspaces created through both replicas land on both nodes within capacity', async () => {
    const made = await Promise.all([0, 1, 2, 3, 4, 5].map((i) =>
      clients[i % 2]!.workspaces.create({ image: 'node-20', name: `fleet-${i}`, memory_mb: 256 })));
    for (const [i, ws] of made.entries()) await waitForStatus(asServer(fleet.replicas[(i + 1) % 2]!), ws.id, 'running', 180_000);
    const rows = await fleet.pg.query<{ id: string; node_id: string }>(fleet.databaseUrl, 'SELECT id, node_id FROM workspaces');
    for (const r of rows) placed.set(r.id, r.node_id);
    assert.deepEqual([...placed.keys()].sort(), made.map((w) => w.id).sort());
    const perNode = new Map<string, number>();
    for (const n of placed.values()) perNode.set(n, (perNode.get(n) ?? 0) + 1);
    assert.deepEqual([...perNode.keys()].sort(), ['fleet-0', 'fleet-1'], 'both nodes took workspaces');
    for (const [n, count] of perNode) assert.ok(count <= 4, `${n} holds ${count}, more than its 4`);

    const listed = spawnSync(process.execPath, [CLI, 'nodes', '--database-url', fleet.databaseUrl, '--json'], { encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    const allocated = (JSON.parse(listed.stdout) as any[]).map((n) => [n.id, n.state, n.allocated.workspaces]).sort();
    assert.deepEqual(allocated, [['fleet-0', 'ready', perNode.get('fleet-0')], ['fleet-1', 'ready', perNode.get('fleet-1')]]);
  });

  test('exec and files reach a workspace on each node through either replica', async () => {
    for (const nodeId of ['fleet-0', 'fleet-1']) {
      const id = [...placed].find(([, n]) => n === nodeId)![0];
      await clients[0]!.workspaces.network.update(id, { public_access: true });
      const { token } = await clients[0]!.workspaces.apiAccess.enable(id);
      assert.ok(token, 'a runtime token');
      probe.set(nodeId, { id, token });
      const [viaA, viaB] = fleet.replicas.map((r) => runtimeOn(r, token)) as [Rt, Rt];
      const hello = await viaB.exec.run(['sh', '-c', 'echo hello']);
      assert.equal(hello.exit_code, 0, JSON.stringify(hello));
      assert.match(hello.stdout ?? '', /^hello\n/);
      const content = `written on ${nodeId} through A\n`;
      await viaA.files.write({ fullPath: '/root/fleet/note.txt', content, createDirs: true });
      assert.equal((await viaB.files.read({ filePath: '/root/fleet/note.txt' })).content, content, 'read back through B');
      assert.equal((await viaA.exec.run(['cat', '/root/fleet/note.txt'])).stdout, content);
    }
  });

  test('SIGKILL of a node: 503 node_lost at the gateway, sandboxes keep running; restarted, the same workspaces are adopted', async (t) => {
    const { id, token } = probe.get('fleet-1')!;
    const node = nodeById('fleet-1');
    const [viaA, viaB] = fleet.replicas.map((r) => runtimeOn(r, token)) as [Rt, Rt];
    // A loop that must never stop: its ticks show the sandbox ran through the node's absence.
    const loop = 'nohup sh -c "while true; do date +%s >> /root/fleet/ticks; sleep 1; done" >/dev/null 2>&1 &';
    assert.equal((await viaA.exec.run(['sh', '-c', loop])).exit_code, 0);
    await new Promise((r) => setTimeout(r, 1500));
    // Every workspace of the node, with a runtime token: all of them must be lost and come back.
    const onNode = new Map<string, string>([[id, token]]);
    for (const [other, n] of placed) {
      if (n !== 'fleet-1' || other === id) continue;
      await clients[1]!.workspaces.network.update(other, { public_access: true });
      onNode.set(other, (await clients[1]!.workspaces.apiAccess.enable(other)).token!);
    }
    const addresses = await fleet.pg.query<{ ip: string }>(fleet.databaseUrl, "SELECT ip FROM workspaces WHERE node_id = 'fleet-1'");
    assert.equal(addresses.length, onNode.size);

    await node.kill('SIGKILL');
    const killedAt = Date.now();
    const refusals: string[] = [];
    const lost: any = await until('503 node_lost through the gateway', async () => {
      const err: any = await viaB.exec.run(['true']).then(() => null, (e: unknown) => e);
      if (err) refusals.push(`${err.status} ${err.code}`);
      return err?.status === 503 && err?.code === 'node_lost' ? err : undefined;
    }, LOST_AFTER_MS + 2 * SWEEP_MS + 10_000);
    const lostMs = Date.now() - killedAt;
    assert.ok(lostMs <= LOST_AFTER_MS + SWEEP_MS + 3_000, `node_lost after ${lostMs} ms (answers before: ${[...new Set(refusals)].join(', ')})`);
    assert.equal(lost.status, 503);
    t.diagnostic(`node_lost ${lostMs} ms after SIGKILL; answers before: ${[...new Set(refusals)].join(', ')}`);
    const viaA503: any = await viaA.exec.run(['true']).then(() => null, (e: unknown) => e);
    assert.equal(viaA503?.code, 'node_lost', 'the other replica answers the same');
    for (const [other, otherToken] of onNode) {
      const err: any = await runtimeOn(fleet.replicas[0]!, otherToken).exec.run(['true']).then(() => null, (e: unknown) => e);
      assert.equal(`${err?.status} ${err?.code}`, '503 node_lost', `workspace ${other} of the lost node`);
    }
    const other = probe.get('fleet-0')!;
    assert.equal((await runtimeOn(fleet.replicas[0]!, other.token).exec.run(['true'])).exit_code, 0, 'the other node is unaffected');

    // The sandboxes still run on the node's host: their agents answer inside the namespace.
    for (const { ip } of addresses) {
      const probeAgent = `require('net').connect(${AGENT_PORT}, ${JSON.stringify(ip)}).on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
      await node.ns.exec([process.execPath, '-e', probeAgent], { timeoutMs: 10_000 });
    }

    await node.restart();
    const restartedAt = Date.now();
    const again = await until('exec after the node returned', async () => {
      const r = await viaB.exec.run(['cat', '/root/fleet/note.txt']);
      return r.exit_code === 0 && r;
    }, 60_000);
    t.diagnostic(`exec answered ${Date.now() - restartedAt} ms after the node was ready again`);
    assert.equal(again.stdout, 'written on fleet-1 through A\n', 'the file written before is there');
    for (const [other, otherToken] of onNode) {
      const r = await until(`exec in ${other} after the node returned`, async () => {
        const x = await runtimeOn(fleet.replicas[0]!, otherToken).exec.run(['true']);
        return x.exit_code === 0 && x;
      }, 30_000);
      assert.equal(r.exit_code, 0);
    }
    const rows = await fleet.pg.query<{ id: string; node_id: string }>(fleet.databaseUrl, 'SELECT id, node_id FROM workspaces');
    assert.deepEqual(new Map(rows.map((r) => [r.id, r.node_id])), placed, 'the same workspaces on the same nodes');
    const ticks = (await viaA.exec.run(['cat', '/root/fleet/ticks'])).stdout!.trim().split('\n').map(Number);
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!);
    assert.ok(Math.max(...gaps) <= 3, `the loop never stopped (largest gap ${Math.max(...gaps)} s over ${ticks.length} ticks)`);
    assert.ok(ticks[ticks.length - 1]! * 1000 >= Date.now() - 5_000, 'and still runs');
    assert.ok(ticks[0]! * 1000 <= killedAt, 'it started before the kill');
  });

  test('stop removes every object of the fleet: sandboxes, cgroups, namespaces, veths, data dirs', async () => {
    const nodes = [...fleet.nodes];
    for (const n of nodes) {
      const before = nodeLeftovers(n).map((l) => l.split(' ')[0]);
      for (const kind of ['netns', 'cgroup', 'data']) assert.ok(before.includes(kind), `while running, ${n.ns.name} has ${kind} objects the check sees`);
    }
    await fleet.stop();
    for (const n of nodes) assert.deepEqual(nodeLeftovers(n), [], `${n.ns.name} left nothing`);
    for (const r of fleet.replicas) assert.equal(existsSync(r.dataDir), false);
    placed.clear();
  });
});
