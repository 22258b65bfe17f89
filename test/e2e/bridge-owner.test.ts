/**
 * One owner per bridge (issue 15 item 1), with real servers sharing one bridge name:
 * - the fault a new user found: a second data dir on the bridge of a first instance. While
 *   the first owns it (running, workspaces on it), the second is refused with a message
 *   naming the owner and both ways out; once the first stops by SIGTERM with no workspace
 *   left, its bridge, tables and record are gone and the second starts and its agents answer.
 * - SIGTERM with a workspace left keeps bridge, tables and record; the same data dir restarts.
 * - an owner whose data dir is gone (and whose server is dead) is taken over: its sandboxes,
 *   tables and record are removed and the new instance's workspace answers.
 * - tables on the bridge with no owner record (a Warren from before records): refused while
 *   that instance has sandboxes, removed when it has none.
 * - `warren status` (text and --json) shows what each instance owns.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Oblien from 'oblien';
import { ADMIN, CLI, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { openRuntime } from '../support/workspaces.js';
import { instanceIdFor } from '../../src/config/load.js';

const servers: TestServer[] = [];
const movedDirs: string[] = [];

before(async () => {
  await ensureTestImages(['debian-12']);
});

after(async () => {
  for (const s of servers.reverse()) await s.stop();
  for (const dir of movedDirs) {
    // A data dir moved away while its pool was mounted: the pool moved with it.
    spawnSync('umount', ['-l', `${dir}/pool`], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
});

function subnet(): string {
  const b = randomBytes(2);
  return `10.${200 + (b[0]! % 50)}.${b[1]}.0/24`;
}

function warren(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function statusOf(bridge: string): any {
  const r = warren('status', '--json');
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).bridges.find((b: any) => b.bridge === bridge);
}

function linkExists(name: string): boolean {
  return spawnSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' }).status === 0;
}

function tableExists(family: string, name: string): boolean {
  return spawnSync('nft', ['list', 'table', family, name], { stdio: 'ignore' }).status === 0;
}

function netnsOf(instanceId: string): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.startsWith(`warren-${instanceId}-`));
}

async function start(bridge: string, net: string): Promise<TestServer> {
  const s = await startServer({ bridge, subnet: net });
  servers.push(s);
  return s;
}

function client(s: TestServer) {
  return new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: s.url });
}

/** Creates a workspace and runs a command in it through its agent: the bridge and firewall carry it. */
async function workspaceAnswers(s: TestServer): Promise<string> {
  const c = client(s);
  const ws = await c.workspaces.create({ image: 'debian-12', memory_mb: 128 });
  const rt = await openRuntime(c, s, ws.id);
  const r = await rt.exec.run(['echo', 'answered']);
  assert.equal(r.exit_code, 0);
  assert.equal(r.stdout.trim(), 'answered');
  return ws.id;
}

test('a second data dir on an owned bridge is refused; after SIGTERM with no workspaces the bridge is free', async () => {
  const bridge = `wo${randomBytes(3).toString('hex')}`;
  const net = subnet();
  const a = await start(bridge, net);
  const aId = instanceIdFor(a.dataDir);
  const wsId = await workspaceAnswers(a);

  const owned = statusOf(bridge);
  assert.equal(owned.dataDir, a.dataDir);
  assert.equal(owned.dataDirExists, true);
  assert.equal(owned.serverRunning, true);
  assert.equal(owned.sandboxes, 1);
  assert.deepEqual(owned.tablesPresent, [`inet warren_${aId}`, `bridge warren_l2_${aId}`]);
  const text = warren('status', '--data-dir', a.dataDir);
  assert.match(text.stdout, new RegExp(`bridge ${bridge}  subnet ${net.replace(/\./g, '\\.')}`));
  assert.match(text.stdout, /server {7}running, pid \d+/);

  // The fault: the same bridge and subnet, another data dir.
  const refused = await startServer({ bridge, subnet: net }).then(() => null, (err: Error) => err.message);
  assert.ok(refused, 'the second instance must not start');
  assert.match(refused, /warren exited with 1/);
  assert.match(refused, new RegExp(`bridge ${bridge} is owned by the Warren instance with data dir ${a.dataDir}`));
  assert.match(refused, /--bridge <new-bridge> --subnet <free-cidr>/);
  assert.match(refused, new RegExp(`warren purge --data-dir ${a.dataDir} --yes`));
  assert.ok(linkExists(bridge), 'the refused start (and its purge) left the owner\'s bridge alone');
  assert.ok(tableExists('inet', `warren_${aId}`));
  await client(a).workspaces.get(wsId); // the owner still serves

  // Delete every workspace, SIGTERM: bridge, tables and record go.
  await client(a).workspaces.delete(wsId);
  assert.equal(await a.terminate(), 0);
  assert.equal(linkExists(bridge), false, 'bridge removed at stop');
  assert.equal(tableExists('inet', `warren_${aId}`), false, 'inet table removed at stop');
  assert.equal(tableExists('bridge', `warren_l2_${aId}`), false, 'bridge table removed at stop');
  assert.equal(statusOf(bridge), undefined, 'owner record removed at stop');

  // Now the second data dir starts on that bridge and its agents answer.
  const b = await start(bridge, net);
  await workspaceAnswers(b);
  assert.equal(statusOf(bridge).dataDir, b.dataDir);
});

test('SIGTERM with a workspace left keeps the bridge; a gone owner is taken over and its leftovers removed', async () => {
  const bridge = `wo${randomBytes(3).toString('hex')}`;
  const net = subnet();
  const a = await start(bridge, net);
  const aId = instanceIdFor(a.dataDir);
  await workspaceAnswers(a);

  assert.equal(await a.terminate(), 0);
  assert.ok(linkExists(bridge), 'a workspace is left: the bridge stays');
  assert.ok(tableExists('inet', `warren_${aId}`), 'and its tables');
  assert.equal(statusOf(bridge)?.serverRunning, false);
  await a.restart(); // the same data dir is its own owner
  assert.equal(statusOf(bridge).serverRunning, true);

  // Crash, then the data dir disappears (moved away here, so the test can still clean it).
  await a.kill();
  const moved = `${a.dataDir}-moved`;
  renameSync(a.dataDir, moved);
  movedDirs.push(moved);
  const gone = statusOf(bridge);
  assert.equal(gone.dataDirExists, false);
  assert.equal(gone.serverRunning, false);
  assert.equal(gone.sandboxes, 1);
  assert.equal(netnsOf(aId).length, 1);

  const b = await start(bridge, net);
  assert.ok(b.logs.some((l) => l.includes('took over a bridge whose owner is gone')), 'the take-over is logged');
  assert.equal(netnsOf(aId).length, 0, "the gone owner's sandbox is removed");
  assert.equal(tableExists('inet', `warren_${aId}`), false, "the gone owner's tables are removed");
  assert.equal(statusOf(bridge).dataDir, b.dataDir);
  await workspaceAnswers(b);
  assert.ok(!existsSync(a.dataDir));
});

test('tables without an owner record: refused while their instance has sandboxes, removed once it has none', async () => {
  const bridge = `wo${randomBytes(3).toString('hex')}`;
  const net = subnet();
  const a = await start(bridge, net);
  const aId = instanceIdFor(a.dataDir);
  const wsId = await workspaceAnswers(a);
  // A Warren from before owner records: the same kernel objects, no record.
  await a.kill();
  rmSync(join('/run/warren/bridges', `${bridge}.json`));

  const refused = await startServer({ bridge, subnet: net }).then(() => null, (err: Error) => err.message);
  assert.ok(refused, 'the second instance must not start');
  assert.match(refused, new RegExp(`bridge ${bridge} carries firewall tables of another Warren instance that left no owner record`));
  assert.match(refused, new RegExp(`inet warren_${aId}.*1 sandbox\\(es\\) left`));
  assert.match(refused, /--bridge <new-bridge> --subnet <free-cidr>/);
  assert.ok(tableExists('inet', `warren_${aId}`), 'the refused start removed nothing');
  assert.ok(linkExists(bridge), "the refused start's purge left the other instance's bridge alone");
  const listed = JSON.parse(warren('status', '--json').stdout).unrecordedTables.find((u: any) => u.instanceId === aId);
  assert.equal(listed?.sandboxes, 1, '`warren status` lists the record-less tables');

  // The old instance comes back, deletes its workspace and dies without a record again.
  await a.restart();
  await client(a).workspaces.delete(wsId);
  await a.kill();
  rmSync(join('/run/warren/bridges', `${bridge}.json`));
  const b = await start(bridge, net);
  assert.ok(b.logs.some((l) => l.includes('removed firewall tables another Warren left on this bridge without an owner record')));
  assert.equal(tableExists('inet', `warren_${aId}`), false);
  assert.equal(tableExists('bridge', `warren_l2_${aId}`), false);
  await workspaceAnswers(b);
});
