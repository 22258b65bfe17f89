/**
 * The roles split (issue 16 item 3) on one machine: a private PostgreSQL, one `warren node`
 * (its own data dir, bridge and subnet on this host's loopback) and one `warren control`.
 * The official client creates a workspace through control; it is placed on the node (the
 * record names the node's id), and exec and a file write/read work through control's
 * gateway (the node's relay), an exposed port through control's edge; stop and start go
 * through the node API; `warren nodes` lists the node ready with the workspace allocated.
 * A node marked lost answers 503 `node_lost` at the gateway; its next heartbeat is refused, it registers again and the same workspace
 * (re-adopted, not recreated) answers exec again. Everything is purged after, even on failure.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, CLI, type TestServer } from '../support/warren.js';
import { TEST_IMAGES_DIR, ensureTestImages } from '../support/images.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { adminClient, openRuntime, until, waitForStatus, type Client } from '../support/workspaces.js';
import { freePort, run, sshFiles, type SshFiles } from '../support/ssh.js';
import { ROLE_ENV, controlArgs, killRole, launchRole, serverOf, type RoleProc } from '../support/role-process.js';

const APP_PORT = 18000 + Math.floor(Math.random() * 1000);
const APP = `require('http').createServer((q, r) => r.end('node-app ' + q.url)).listen(Number(process.argv[1]), '0.0.0.0');`;

const ENV: NodeJS.ProcessEnv = {
  ...ROLE_ENV,
  // A lost node is noticed within a few seconds (the leader's sweep runs at the heartbeat period).
  WARREN_NODE_LOST_AFTER_MS: '15000',
};

type Proc = RoleProc;
const launch = (args: string[], marker: string, env: Record<string, string> = {}): Promise<Proc> => launchRole(args, marker, { ...ENV, ...env });
const kill = killRole;

describe('warren node and warren control', () => {
  let pgs: TestPostgres;
  let dbUrl: string;
  const nodeDir = mkdtempSync(join(tmpdir(), 'warren-e2e-node-'));
  const controlDir = mkdtempSync(join(tmpdir(), 'warren-e2e-control-'));
  const bridge = `wn${randomBytes(3).toString('hex')}`;
  const b = randomBytes(2);
  const subnet = `10.${200 + (b[0]! % 50)}.${b[1]}.0/24`;
  let node: Proc | undefined;
  let control: Proc | undefined;
  const doomedDir = mkdtempSync(join(tmpdir(), 'warren-e2e-control-'));
  let doomed: Proc | undefined;
  let server: TestServer;
  let client: Client;
  let keys: SshFiles | undefined;
  const nodeArgs = (relayPort = '0') => ['node', '--database-url', dbUrl, '--data-dir', nodeDir, '--images-dir', TEST_IMAGES_DIR,
    '--bridge', bridge, '--subnet', subnet, '--relay-host', '127.0.0.1', '--relay-port', relayPort, '--node-id', 'node-e2e',
    '--capacity-cpus', '8', '--capacity-memory-mb', '8192', '--capacity-disk-mb', '65536', '--max-workspaces', '10'];

  before(async () => {
    await ensureTestImages(['node-20']);
    pgs = await startPostgres();
    dbUrl = await pgs.createDatabase();
    node = await launch(nodeArgs(), 'warren node is listening');
    control = await launch(controlArgs(dbUrl, controlDir), 'warren is listening', { WARREN_SSH_PORT: String(await freePort()) });
    server = serverOf(control);
    client = adminClient(server);
  });

  after(async () => {
    if (client && control && control.proc.exitCode === null) {
      for (const w of ((await client.workspaces.list().catch(() => ({ workspaces: [] }))) as any).workspaces ?? []) {
        await client.workspaces.delete(w.id).catch(() => {});
      }
    }
    await kill(doomed);
    await kill(control);
    await kill(node);
    spawnSync(process.execPath, [CLI, 'purge', '--data-dir', nodeDir, '--bridge', bridge, '--yes'], { stdio: 'ignore' });
    rmSync(nodeDir, { recursive: true, force: true });
    rmSync(controlDir, { recursive: true, force: true });
    rmSync(doomedDir, { recursive: true, force: true });
    keys?.cleanup();
    await pgs?.stop();
  });

  test('the node registered and prints its id; control serves the API with no host of its own and leads', async () => {
    assert.equal(node!.ready.nodeId, 'node-e2e');
    const rows = await pgs.query<{ id: string; state: string; subnet: string; address: string }>(dbUrl,
      'SELECT id, state, subnet, address FROM nodes');
    assert.deepEqual(rows.map((r) => [r.id, r.state, r.subnet]), [['node-e2e', 'ready', subnet]]);
    assert.equal(rows[0]!.address, `127.0.0.1:${node!.ready.relayPort}`);
    assert.equal(control!.logs.some((l) => l.includes('"bridge ready"') || l.includes('storage ready')), false, 'control prepares no host');
    // The node started first but never campaigns: the control replica leads (it runs the schedulers).
    const [leader] = await pgs.query<{ holder: string | null }>(dbUrl, 'SELECT holder FROM warren_coord_leader');
    assert.equal(leader?.holder, control!.ready.replica);
  });

  test('a workspace made through control runs on the node: exec, files, stop/start through the relay', async () => {
    const ws = await client.workspaces.create({ image: 'node-20', name: 'on-a-node', memory_mb: 256 });
    await waitForStatus(server, ws.id, 'running', 120_000);
    const [row] = await pgs.query<{ node_id: string; ip: string }>(dbUrl, 'SELECT node_id, ip FROM workspaces WHERE id = $1', [ws.id]);
    assert.equal(row!.node_id, 'node-e2e');
    assert.ok(row!.ip.startsWith(subnet.split('.').slice(0, 3).join('.')), `address ${row!.ip} is in the node's subnet ${subnet}`);

    const rt = await openRuntime(client, server, ws.id);
    const hello = await rt.exec.run(['sh', '-c', 'echo hello-from-the-node; hostname']);
    assert.equal(hello.exit_code, 0, JSON.stringify(hello));
    assert.match(hello.stdout, /^hello-from-the-node\n/);
    const w = await rt.files.write({ fullPath: '/root/roles/note.txt', content: 'written through control\n', createDirs: true });
    assert.equal(w.size, 'written through control\n'.length);
    const r = await rt.files.read({ filePath: '/root/roles/note.txt' });
    assert.equal(r.content, 'written through control\n');
    // Control reached the agent through the node's relay: its pooled tunnel is open now.
    const tunnels = spawnSync('ss', ['-Htn', 'state', 'established', `( dport = :${node!.ready.relayPort} )`], { encoding: 'utf8' });
    assert.ok(tunnels.stdout.trim().split('\n').filter(Boolean).length > 0, `no connection to the relay: ${tunnels.stdout}${tunnels.stderr}`);

    // An exposed port through control's edge: the node's firewall opens it (routes.changed), the edge relays.
    const started = await rt.exec.run(['sh', '-c', `node -e "$0" ${APP_PORT} > /tmp/app.log 2>&1 &`, APP], { execMode: 'direct' });
    assert.equal(started.exit_code, 0, JSON.stringify(started));
    const exposed = (await client.workspaces.publicAccess.expose(ws.id, { port: APP_PORT, label: 'node app' })) as any;
    const viaEdge = await until('the app through control\'s edge', async () => {
      const res = await fetch(`${server.url}/p/${exposed.hash}/hi`);
      return res.status === 200 && res.text();
    });
    assert.equal(viaEdge, 'node-app /hi');

    await client.workspaces.stop(ws.id);
    assert.equal((await client.workspaces.get(ws.id)).status, 'stopped');
    await client.workspaces.start(ws.id);
    await waitForStatus(server, ws.id, 'running', 60_000);
    const kept = await rt.exec.run(['cat', '/root/roles/note.txt']);
    assert.equal(kept.stdout, 'written through control\n', 'the disk survived stop/start on the node');

    const listed = spawnSync(process.execPath, [CLI, 'nodes', '--database-url', dbUrl, '--json'], { encoding: 'utf8', env: ENV });
    assert.equal(listed.status, 0, listed.stderr);
    const nodes = JSON.parse(listed.stdout) as Array<{ id: string; state: string; allocated: { workspaces: number }; capacity: { max_workspaces: number } }>;
    assert.deepEqual(nodes.map((n) => [n.id, n.state, n.allocated.workspaces, n.capacity.max_workspaces]), [['node-e2e', 'ready', 1, 10]]);
  });

  test('a lost node answers 503 node_lost at the gateway; it registers again and its workspace is re-adopted', async () => {
    const ws = ((await client.workspaces.list()) as any).workspaces[0];
    const rt = await openRuntime(client, server, ws.id);
    // The node's next heartbeat (every 5 s) is refused and it registers again: a refusal must
    // be seen between the two, so the mark is retried should a heartbeat come first.
    let refused: any = null;
    for (let i = 0; i < 3 && !refused; i++) {
      await pgs.query(dbUrl, `UPDATE nodes SET state = 'lost' WHERE id = 'node-e2e'`);
      await rt.exec.run(['true']).catch((err: unknown) => { refused = err; });
    }
    assert.ok(refused, 'the gateway refused the exec while the node was lost');
    assert.equal(refused.status, 503, String(refused));
    assert.equal(refused.code, 'node_lost');
    await until('the node registered again', async () => {
      const [n] = await pgs.query<{ state: string }>(dbUrl, `SELECT state FROM nodes WHERE id = 'node-e2e'`);
      return n?.state === 'ready';
    }, 15_000);
    assert.ok(node!.logs.some((l) => l.includes('its workspaces are re-adopted')), 'the node logged its re-registration');
    const again = await rt.exec.run(['cat', '/root/roles/note.txt']);
    assert.equal(again.stdout, 'written through control\n', 'the same workspace, not a new one');
    const [row] = await pgs.query<{ n: string }>(dbUrl, 'SELECT count(*)::text AS n FROM workspaces');
    assert.equal(row!.n, '1');
  });
  test('SIGTERM stops the node and leaves its workspace running; started again, it re-adopts it', async () => {
    const ws = ((await client.workspaces.list()) as any).workspaces[0];
    const rt = await openRuntime(client, server, ws.id);
    await rt.exec.run(['sh', '-c', 'sleep 600 > /dev/null 2>&1 & echo $! > /root/roles/sleeper.pid']);
    const relayPort = String(node!.ready.relayPort);
    const exited = new Promise<number | null>((r) => node!.proc.once('exit', (code) => r(code)));
    node!.proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    // No node to relay to: the gateway cannot reach the agent (502 until the leader marks the node lost, then 503).
    await assert.rejects(rt.exec.run(['true']), (err: any) => err.status === 502 || err.status === 503);
    node = await launch(nodeArgs(relayPort), 'warren node is listening');
    assert.ok(node.logs.some((l) => l.includes('reconciled workspaces with the host')));
    const alive = await until('exec through the restarted node', async () => {
      const r = await rt.exec.run(['sh', '-c', 'kill -0 "$(cat /root/roles/sleeper.pid)" && echo alive']);
      return r.exit_code === 0 && r.stdout;
    });
    assert.equal(alive, 'alive\n', 'a process started before the stop is still running: the sandbox was kept, not rebooted');
  });
  test('a replica killed right after reserving a create: the other replica finishes it under the lease', async () => {
    doomed = await launch(controlArgs(dbUrl, doomedDir), 'warren is listening', { WARREN_TEST_CRASH_AT: 'create.reserved' });
    const other = adminClient(serverOf(doomed));
    const died = new Promise((r) => doomed!.proc.once('exit', r));
    await assert.rejects(other.workspaces.create({ image: 'node-20', name: 'orphaned', memory_mb: 256 }));
    await died;
    assert.ok(doomed.logs.some((l) => l.includes('fault point reached: create.reserved')));
    const [row] = await pgs.query<{ id: string; state: string }>(dbUrl, `SELECT id, state FROM workspaces WHERE name = 'orphaned'`);
    assert.equal(row?.state, 'creating', 'the intent was stored, the boot never began');
    // The surviving replica's orphan sweep (every 5 s, for intents older than 10 s) finishes it.
    const ws = await waitForStatus(server, row!.id, 'running', 60_000);
    assert.equal(ws.id, row!.id);
    assert.ok(control!.logs.some((l) => l.includes('finishing an operation its replica left')));
    const rt = await openRuntime(client, server, row!.id);
    assert.equal((await rt.exec.run(['echo', 'finished'])).stdout, 'finished\n');
    await client.workspaces.delete(row!.id);
  });
  test('ssh -J through control\'s jump host reaches a workspace on the node; SSH settings reach its agent through the node', async () => {
    keys = sshFiles();
    const ws = await client.workspaces.create({ image: 'node-20', name: 'ssh-on-a-node', memory_mb: 256 });
    await waitForStatus(server, ws.id, 'running', 120_000);
    // Enabled and keyed while it runs: the replica's agent calls go through the node (it holds the control token).
    await client.workspaces.ssh.enable(ws.id);
    await client.workspaces.ssh.setKey(ws.id, { public_key: keys.publicKey });
    const st: any = await client.workspaces.ssh.status(ws.id);
    assert.equal(st.supported, true);
    const r = await until('an ssh -J session', async () => {
      const out = await run('ssh', ['-F', keys!.config, '-J', `root@${st.connection.bastion}`, `root@${st.ssh_id}`, 'echo via-node'],
        { timeoutMs: 20_000 });
      return out.code === 0 && out;
    }, 60_000);
    assert.equal(r.stdout, 'via-node\n');
    await client.workspaces.delete(ws.id);
  });

  test('workloads and their logs through control: the agent calls and the log stream go through the node', async () => {
    const ws = await client.workspaces.create({ image: 'node-20', name: 'workloads-on-a-node', memory_mb: 256 });
    await waitForStatus(server, ws.id, 'running', 120_000);
    const wl: any = await client.workspaces.workloads.create(ws.id, {
      name: 'ticker', cmd: ['sh', '-c', 'echo MARK-start; while :; do echo tick; sleep 0.2; done'],
    });
    await until('running', async () => (await client.workspaces.workloads.status(ws.id, wl.id) as any).status === 'running');
    await until('the marker in its logs', async () => ((await client.workspaces.workloads.logs(ws.id, wl.id)) as any).output.includes('MARK-start'));
    const seen: string[] = [];
    for await (const e of client.workspaces.workloads.logsStream(ws.id, wl.id) as AsyncIterable<any>) {
      seen.push(e.data);
      if (seen.join('').split('tick').length > 4) break;
    }
    assert.ok(seen.join('').includes('MARK-start'), 'the stream replays the tail, then follows');
    await client.workspaces.workloads.delete(ws.id, wl.id);
    const gone = await fetch(`${server.url}/workspace/${ws.id}/workloads/${wl.id}`, {
      headers: { 'x-client-id': ADMIN.clientId, 'x-client-secret': ADMIN.clientSecret },
    });
    assert.equal(gone.status, 404);
    assert.equal(((await gone.json()) as any).code, 'workload_not_found', 'the agent\'s code crosses both hops');
    await client.workspaces.delete(ws.id);
  });
});
