/**
 * A fleet create served from the node's warm pool (issue 16: the node owns its warm pool):
 * a private PostgreSQL, one `warren node` with `WARREN_WARM_POOL=1`, one `warren control`.
 * The first create of an image boots cold on the node and cues its pool (the replica's
 * `pool-take` names the image); once the node logs a ready sandbox, the next create through
 * control takes it: the record gets that sandbox's short id and address (the database), the
 * workspace's hostname is `ws-<that short id>` (exec through control's gateway and the
 * node's relay). A cold create (another image) never gets an address the node's pool
 * holds (the replica's reservation asks the node). Everything is purged after.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, type TestServer } from '../support/warren.js';
import { TEST_IMAGES_DIR, ensureTestImages } from '../support/images.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { adminClient, openRuntime, until, waitForStatus, type Client } from '../support/workspaces.js';
import { freePort } from '../support/ssh.js';
import { ROLE_ENV, controlArgs, killRole, launchRole, serverOf, type RoleProc } from '../support/role-process.js';

const ENV = ROLE_ENV;

type Proc = RoleProc;
const launch = (args: string[], marker: string, env: Record<string, string> = {}): Promise<Proc> => launchRole(args, marker, { ...ENV, ...env });
const kill = killRole;

/** The node's "warm pool sandbox ready" lines. */
const readyLines = (p: Proc) => p.logs.filter((l) => l.includes('warm pool sandbox ready')).map((l) => JSON.parse(l) as { shortId: string; ip: string });

describe('a fleet create takes the node\'s warm-pool sandbox', () => {
  let pgs: TestPostgres;
  let dbUrl: string;
  const nodeDir = mkdtempSync(join(tmpdir(), 'warren-e2e-poolnode-'));
  const controlDir = mkdtempSync(join(tmpdir(), 'warren-e2e-poolctl-'));
  const bridge = `wp${randomBytes(3).toString('hex')}`;
  const b = randomBytes(2);
  const subnet = `10.${200 + (b[0]! % 50)}.${b[1]}.0/24`;
  let node: Proc | undefined;
  let control: Proc | undefined;
  let server: TestServer;
  let client: Client;

  before(async () => {
    await ensureTestImages(['node-20', 'debian-12']);
    pgs = await startPostgres();
    dbUrl = await pgs.createDatabase();
    node = await launch(['node', '--database-url', dbUrl, '--data-dir', nodeDir, '--images-dir', TEST_IMAGES_DIR,
      '--bridge', bridge, '--subnet', subnet, '--relay-host', '127.0.0.1', '--relay-port', '0', '--node-id', 'node-pool',
      '--capacity-cpus', '8', '--capacity-memory-mb', '8192', '--capacity-disk-mb', '65536', '--max-workspaces', '10'],
    'warren node is listening', { WARREN_WARM_POOL: '1' });
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
    await kill(control);
    await kill(node);
    spawnSync(process.execPath, [CLI, 'purge', '--data-dir', nodeDir, '--bridge', bridge, '--yes'], { stdio: 'ignore' });
    rmSync(nodeDir, { recursive: true, force: true });
    rmSync(controlDir, { recursive: true, force: true });
    await pgs?.stop();
  });

  test('the first create cues the node\'s pool; the next one adopts its ready sandbox (short id, address, hostname)', async () => {
    const first = await client.workspaces.create({ image: 'node-20', name: 'cold', memory_mb: 256 });
    await waitForStatus(server, first.id, 'running', 120_000);
    const entry = await until('a ready sandbox on the node', async () => readyLines(node!)[0] ?? false, 120_000);
    assert.ok(entry.ip.startsWith(subnet.split('.').slice(0, 3).join('.')), `the pool's address ${entry.ip} is in the node's subnet`);

    const warm = await client.workspaces.create({ image: 'node-20', name: 'warm', memory_mb: 256 });
    await waitForStatus(server, warm.id, 'running', 60_000);
    const [row] = await pgs.query<{ node_id: string; ip: string; short_id: string }>(dbUrl,
      'SELECT node_id, ip, short_id FROM workspaces WHERE id = $1', [warm.id]);
    assert.deepEqual([row!.node_id, row!.short_id, row!.ip], ['node-pool', entry.shortId, entry.ip], 'the record took the pool sandbox');
    const rt = await openRuntime(client, server, warm.id);
    const out = await rt.exec.run(['hostname']);
    assert.equal(out.exit_code, 0, JSON.stringify(out));
    assert.equal(out.stdout.trim(), `ws-${entry.shortId}`, 'the adopted sandbox is the workspace');
    const [{ n }] = await pgs.query<{ n: string }>(dbUrl, 'SELECT count(*) AS n FROM workspaces WHERE ip = $1', [entry.ip]);
    assert.equal(Number(n), 1, 'one record holds the pool sandbox\'s address');
  });

  test('a cold create on the node never gets an address the node\'s pool holds', async () => {
    // The pool refills after the take: its next sandbox holds the lowest address no record has.
    const next = await until('the refilled sandbox', async () => readyLines(node!)[1] ?? false, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; the node said:\n${node!.logs.filter((l) => /pool|"level":[4-6]/.test(l)).slice(-15).join('\n')}`);
    });
    const other = await client.workspaces.create({ image: 'debian-12', name: 'cold-other-image', memory_mb: 256 });
    await waitForStatus(server, other.id, 'running', 120_000);
    const [row] = await pgs.query<{ ip: string }>(dbUrl, 'SELECT ip FROM workspaces WHERE id = $1', [other.id]);
    assert.notEqual(row!.ip, next.ip, `the replica's reservation counted the pool's held address ${next.ip}`);
    const rt = await openRuntime(client, server, other.id);
    assert.equal((await rt.exec.run(['true'])).exit_code, 0);
  });
});
