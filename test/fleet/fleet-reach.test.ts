/**
 * Every way in reaches both nodes (issue 16, "Tests"): one fleet for the whole file —
 * two `warren node` daemons, each in its own network namespace (test/support/fleet.ts),
 * two `warren control` replicas, one PostgreSQL.
 *
 * 1. The official client creates 20 workspaces, half through each replica; each node
 *    takes at most 12, so neither can hold them all: they land on both, within capacity
 *    (the database's node ids, `GET /nodes` allocations).
 * 2. For one workspace on each node, through each replica: a terminal over the client's
 *    /ws, an exposed port through the replica's edge (path and Host forms), and `ssh -J`
 *    through the replica's jump host with the OpenSSH client.
 * 3. The network checks on node 2: a private link opens the linked port between two of its
 *    workspaces and nothing else does; its workspaces reach neither its relay, nor the
 *    host's PostgreSQL, nor a workspace on node 1; egress goes to an "internet" namespace
 *    attached inside node 2's namespace (never the real network), allowed by policy →
 *    reachable, refused → not.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import Oblien, { Runtime } from 'oblien';
import WebSocket from 'ws';
import { ADMIN, api, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { postgresAvailable } from '../support/postgres.js';
import { fleetRolesAvailable, startFleet, type Fleet, type Replica } from '../support/fleet.js';
import { until, waitForStatus, type Client, type Rt } from '../support/workspaces.js';
import { run as runProgram, sshFiles, type SshFiles } from '../support/ssh.js';
import { FakeInternet, INTERNET_HOSTS } from '../network/internet.js';
import { AGENT_PORT } from '../../src/domain/ports.js';

const [NET_A, NET_B] = INTERNET_HOSTS;
const COUNT = 20;
const MAX_PER_NODE = 12;
const NODE_IDS = ['reach-0', 'reach-1'] as const;
const APP_PORT = 18000 + Math.floor(Math.random() * 1000);
const APP = `require('http').createServer((q, r) => r.end('app on ' + process.argv[2] + ' ' + q.url)).listen(Number(process.argv[1]), '0.0.0.0');`;

const skip = !postgresAvailable() ? 'PostgreSQL 15 is not installed (scripts/setup.sh --tests)'
  : !fleetRolesAvailable() ? 'this build has no `warren node` / `warren control` (npm run build)' : false;

const asServer = (r: Replica) => ({ url: r.url, port: r.port }) as TestServer;
const clientOf = (r: Replica): Client => new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: r.url });

/** curl from inside a workspace: the body on success, `curl:<exit code>` on failure. */
async function curl(rt: Rt, url: string, headers: string[] = []): Promise<string> {
  const res = await rt.exec.run(['curl', '-sS', '--max-time', '2', ...headers.flatMap((h) => ['-H', h]), url]);
  return res.exit_code === 0 ? (res.stdout ?? '').trim() : `curl:${res.exit_code}`;
}

/** Whether a TCP connect from inside the workspace to ip:port succeeds within 2 s (node's net, no HTTP needed). */
async function tcpFrom(rt: Rt, ip: string, port: number): Promise<boolean> {
  const js = `const s = require('net').connect(${port}, ${JSON.stringify(ip)});`
    + 's.setTimeout(2000, () => process.exit(2)); s.on("connect", () => process.exit(0)); s.on("error", () => process.exit(1));';
  return (await rt.exec.run(['node', '-e', js])).exit_code === 0;
}

/** Whether a TCP connect from this process (the host) to host:port succeeds within 2 s. */
function tcpFromHost(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => (s.destroy(), resolve(ok));
    s.setTimeout(2000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** GET through a replica's edge by Host header (`<slug>.localhost:<port>`). */
function viaHost(r: Replica, slug: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: r.port, path, agent: false, headers: { host: `${slug}.localhost:${r.port}` } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Types into a fresh terminal over the runtime's /ws and resolves with what it printed. */
async function terminalRoundTrip(rt: Rt, marker: string): Promise<string> {
  const term: any = await rt.terminal.create({ shell: '/bin/sh', cols: 100, rows: 30 });
  let output = '';
  const sock = rt.ws({ reconnect: false });
  sock.onTerminalOutput((id: string, data: Uint8Array) => {
    if (id === term.id) output += Buffer.from(data).toString();
  });
  const opened = new Promise<void>((r) => sock.onOpen(() => r()));
  sock.connect();
  try {
    await opened;
    sock.writeTerminalInput(term.id, `echo ${marker}-$((6*7)); hostname\n`);
    await until(`terminal output ${marker}`, async () => output.includes(`${marker}-42`), 15_000);
    return output;
  } finally {
    sock.close();
    await rt.terminal.close(term.id).catch(() => undefined);
  }
}

describe('a fleet: every way in reaches both nodes; the network checks hold on node 2', { skip }, () => {
  let fleet: Fleet;
  let clients: Client[];
  let internet: FakeInternet | null = null;
  let files: SshFiles;
  /** Workspace id → node id (from the database). */
  const placed = new Map<string, string>();
  /** Per node id: the workspaces on it. */
  const onNode = (nodeId: string) => [...placed].filter(([, n]) => n === nodeId).map(([id]) => id);
  /** Runtime tokens, made once per workspace (enable rotates them). */
  const tokens = new Map<string, string>();

  before(async () => {
    (globalThis as any).WebSocket ??= WebSocket;
    await ensureTestImages(['node-20']);
    files = sshFiles();
    fleet = await startFleet({
      nodes: 2, replicas: 2,
      node: async (i, ns) => {
        // Node 2's internet: a namespace of this test attached inside node 2's namespace.
        if (i === 1) {
          internet = new FakeInternet({ inside: ns.name });
          await internet.setUp();
        }
        return {
          nodeId: NODE_IDS[i]!,
          capacity: { cpus: 64, memoryMb: 16_384, diskMb: 1_000_000, maxWorkspaces: MAX_PER_NODE },
          ...(i === 1 ? { env: { WARREN_UPSTREAM: internet!.upstream } } : {}),
        };
      },
    });
    clients = fleet.replicas.map(clientOf);
  });
  after(async () => {
    await fleet?.stop();
    await internet?.cleanup();
    files?.cleanup();
  });

  /** A runtime for `id` through replica `r` (public access and the runtime API turned on once). */
  async function runtime(id: string, r: Replica = fleet.replicas[0]!): Promise<Rt> {
    if (!tokens.has(id)) {
      await clients[0]!.workspaces.network.update(id, { public_access: true });
      const { token } = await clients[0]!.workspaces.apiAccess.enable(id);
      assert.ok(token, 'a runtime token');
      tokens.set(id, token);
    }
    return new Runtime({ token: tokens.get(id)!, baseUrl: r.url });
  }

  test(`${COUNT} workspaces created through both replicas land on both nodes within capacity`, async (t) => {
    const t0 = Date.now();
    const made = await Promise.all(Array.from({ length: COUNT }, (_, i) =>
      clients[i % 2]!.workspaces.create({ image: 'node-20', name: `reach-${i}`, memory_mb: 256 })));
    await Promise.all(made.map((ws, i) => waitForStatus(asServer(fleet.replicas[(i + 1) % 2]!), ws.id, 'running', 240_000)));
    t.diagnostic(`${COUNT} workspaces running ${Date.now() - t0} ms after the first create`);

    const rows = await fleet.pg.query<{ id: string; node_id: string }>(fleet.databaseUrl, 'SELECT id, node_id FROM workspaces');
    for (const r of rows) placed.set(r.id, r.node_id);
    assert.deepEqual([...placed.keys()].sort(), made.map((w) => w.id).sort());
    const counts = NODE_IDS.map((n) => onNode(n).length);
    t.diagnostic(`per node: ${NODE_IDS.map((n, i) => `${n} ${counts[i]}`).join(', ')}`);
    assert.equal(counts[0]! + counts[1]!, COUNT, 'every workspace is on one of the two nodes');
    for (const [i, n] of counts.entries()) assert.ok(n >= 1 && n <= MAX_PER_NODE, `${NODE_IDS[i]} holds ${n}`);

    for (const r of fleet.replicas) {
      const res = await api(asServer(r), 'GET', '/nodes');
      assert.equal(res.status, 200, res.text);
      const nodes = (res.body.nodes as any[]).sort((a, b) => a.id.localeCompare(b.id));
      assert.deepEqual(nodes.map((n) => [n.id, n.state, n.allocated.workspaces]), NODE_IDS.map((n, i) => [n, 'ready', counts[i]]));
      for (const n of nodes) {
        for (const [k, cap] of [['cpus', 'cpus'], ['memory_mb', 'memory_mb'], ['disk_mb', 'disk_mb'], ['workspaces', 'max_workspaces']] as const) {
          assert.ok(n.allocated[k] <= n.capacity[cap], `${n.id}: ${k} ${n.allocated[k]} above its capacity ${n.capacity[cap]}`);
        }
      }
    }
  });

  test('a terminal, an exposed port and ssh -J reach a workspace on each node through either replica', async (t) => {
    for (const nodeId of NODE_IDS) {
      const id = onNode(nodeId)[0]!;
      const rt0 = await runtime(id);
      const hostname = ((await rt0.exec.run(['hostname'])).stdout ?? '').trim();
      await rt0.files.write({ fullPath: '/root/reach.txt', content: `marker of ${nodeId}\n` });
      const started = await rt0.exec.run(['sh', '-c', `node -e "$0" ${APP_PORT} ${nodeId} > /tmp/app.log 2>&1 &`, APP], { execMode: 'direct' });
      assert.equal(started.exit_code, 0, JSON.stringify(started));
      const exposed = (await clients[1]!.workspaces.publicAccess.expose(id, { port: APP_PORT, label: 'reach' })) as any;
      await clients[0]!.workspaces.ssh.enable(id);
      await clients[1]!.workspaces.ssh.setKey(id, { public_key: files.publicKey });

      for (const [ri, r] of fleet.replicas.entries()) {
        const where = `${nodeId} via replica ${ri}`;
        const out = await terminalRoundTrip(await runtime(id, r), `term-${ri}`);
        assert.match(out, new RegExp(`term-${ri}-42`), where);
        assert.ok(out.includes(hostname), `${where}: the terminal runs in the workspace (${hostname})`);

        const byPath = await until(`${where}: the exposed port by path`, async () => {
          const res = await fetch(`${r.url}/p/${exposed.hash}/hi`);
          return res.status === 200 && res.text();
        });
        assert.equal(byPath, `app on ${nodeId} /hi`, where);
        const byHost = await viaHost(r, exposed.hash, '/by-host');
        assert.deepEqual([byHost.status, byHost.text], [200, `app on ${nodeId} /by-host`], where);

        const st: any = await clients[ri]!.workspaces.ssh.status(id);
        assert.equal(st.connection?.bastion, `127.0.0.1:${r.sshPort}`, `${where}: the replica's own jump host`);
        const ssh = await runProgram('ssh', ['-F', files.config, '-J', `root@${st.connection.bastion}`, `root@${st.ssh_id}`,
          'hostname; cat /root/reach.txt'], { timeoutMs: 30_000 });
        assert.equal(ssh.code, 0, `${where}: ${ssh.stderr}`);
        assert.equal(ssh.stdout, `${hostname}\nmarker of ${nodeId}\n`, where);
      }
      t.diagnostic(`${nodeId}: terminal, port ${APP_PORT} (path and Host) and ssh -J through both replicas`);
    }
  });

  describe('network checks on node 2', () => {
    const node2 = () => fleet.nodes[1]!;
    let caller: string;
    let target: string;

    before(() => {
      [caller, target] = onNode(NODE_IDS[1]) as [string, string];
      assert.ok(caller && target, 'node 2 holds at least two workspaces');
    });

    test('a private link opens the linked port between two workspaces on node 2; without it they do not reach', async () => {
      const callerRt = await runtime(caller);
      const targetRt = await runtime(target); // the raw token needs the runtime API on
      const raw = (await api(asServer(fleet.replicas[1]!), 'GET', `/workspace/${target}/runtime-api-access/token/raw`)).body;
      assert.ok(raw.ip && raw.token, JSON.stringify(raw));
      const url = `http://${raw.ip}:${AGENT_PORT}/runtime`;
      const reach = () => curl(callerRt, url, [`Authorization: Bearer ${raw.token}`, 'Accept: application/json'])
        .then((body) => (body.startsWith('curl:') ? body : body.includes('"success":false') ? 'refused' : 'ok'));

      assert.equal(await reach(), 'curl:28', 'no link: the firewall drops it');
      await clients[1]!.workspaces.network.update(target, { private_link_ids: [caller] });
      assert.equal(await until('the link opens on node 2', async () => (await reach()) === 'ok' && 'ok'), 'ok');
      const callerIp = (await api(asServer(fleet.replicas[0]!), 'GET', `/workspace/${caller}`)).body.workspace.ip;
      assert.equal(await tcpFrom(targetRt, callerIp, AGENT_PORT), false, 'one-directional: the target cannot reach the caller');
      await clients[0]!.workspaces.network.update(target, { private_link_ids: [] });
      assert.equal(await until('the link closes on node 2', async () => (await reach()) === 'curl:28' && 'closed'), 'closed');

      const elsewhere = onNode(NODE_IDS[0])[0]!;
      const cross = await api(asServer(fleet.replicas[0]!), 'PATCH', `/workspace/${target}/network`, { private_link_ids: [elsewhere] });
      assert.deepEqual([cross.status, cross.body.code], [409, 'cross_node_link'], cross.text);
    });

    test('a workspace on node 2 reaches neither its relay, nor the host\'s PostgreSQL, nor a workspace on node 1', async () => {
      const rt = await runtime(caller);
      const [relayHost, relayPort] = node2().relay.split(':') as [string, string];
      const pgHost = node2().ns.hostIp;
      const other = onNode(NODE_IDS[0])[0]!;
      const otherIp = (await api(asServer(fleet.replicas[0]!), 'GET', `/workspace/${other}`)).body.workspace.ip;
      // The same addresses answer where they should: the replicas reach the relay, the node reaches PostgreSQL.
      assert.equal(await tcpFromHost(relayHost, Number(relayPort)), true, 'the relay listens');
      await node2().ns.exec([process.execPath, '-e',
        `require('net').connect(${fleet.pg.port}, ${JSON.stringify(pgHost)}).on('connect', () => process.exit(0)).on('error', () => process.exit(1))`],
      { timeoutMs: 10_000 });
      assert.equal(await tcpFrom(await runtime(other), otherIp, AGENT_PORT), true, 'node 1\'s workspace listens on its agent port');

      assert.equal(await tcpFrom(rt, relayHost, Number(relayPort)), false, 'node 2\'s relay');
      assert.equal(await tcpFrom(rt, pgHost, fleet.pg.port), false, 'the host\'s PostgreSQL on node 2\'s veth');
      assert.equal(await tcpFrom(rt, otherIp, AGENT_PORT), false, 'a workspace on node 1');
    });

    test('egress from node 2 goes to its own internet: allowed by policy → reachable, refused → not', async () => {
      const rt = await runtime(target);
      assert.equal(await curl(rt, `http://${NET_A}/`), internet!.hostIp, 'allow_internet (default): through NAT on node 2\'s upstream');
      await clients[0]!.workspaces.network.update(target, { egress: [`${NET_A}/32`] });
      assert.equal(await until('egress narrowed on node 2', async () => (await curl(rt, `http://${NET_B}/`)).startsWith('curl:') && 'closed'), 'closed');
      assert.equal(await curl(rt, `http://${NET_A}/`), internet!.hostIp, 'the allowed address');
      await clients[1]!.workspaces.network.update(target, { allow_internet: false });
      assert.equal(await until('internet off on node 2', async () => (await curl(rt, `http://${NET_A}/`)).startsWith('curl:') && 'off'), 'off');
      assert.equal(await tcpFrom(await runtime(onNode(NODE_IDS[0])[0]!), NET_A, 80), false, 'node 1 has no route to node 2\'s internet');
    });
  });
});
