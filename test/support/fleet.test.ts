/**
 * The fleet harness's namespaces (test/support/netns.ts) and PostgreSQL on their veths
 * (test/support/postgres.ts `listenAddresses`): each namespace sees only its own links (in
 * `ip` and in /sys/class/net), reaches the host's PostgreSQL on its /30 and nothing of the
 * other namespace; a spawned command's PID is its own and runs inside; mounts made inside
 * stay inside, except sandbox namespaces under /run/netns; and `stop()` removes every
 * object, running the cleanups registered inside first. A fleet whose node cannot start
 * fails with the node's output and leaves nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { startNodeNamespace, type NodeNamespace } from './netns.js';
import { postgresAvailable, startPostgres, withHost, type TestPostgres } from './postgres.js';
import { fleetRolesAvailable, startFleet } from './fleet.js';
import { tmpdir } from 'node:os';

const hostLinks = () => readdirSync('/sys/class/net');
const netnsInode = (name: string) => statSync(`/run/netns/${name}`).ino;
const procNetns = (pid: number) => Number(/net:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1]);

test('two node namespaces: own links, PostgreSQL on the veth, no way across, everything removed at stop', {
  skip: postgresAvailable() ? false : 'PostgreSQL 15 is not installed (scripts/setup.sh --tests)',
}, async (t) => {
  const spaces: NodeNamespace[] = [];
  let pgs: TestPostgres | undefined;
  t.after(async () => {
    await pgs?.stop();
    for (const ns of spaces) await ns.stop();
  });
  spaces.push(await startNodeNamespace(0), await startNodeNamespace(1));
  const [a, b] = spaces as [NodeNamespace, NodeNamespace];
  assert.equal(a.name, `wfl${process.pid}n0`);
  assert.ok(a.hostIf.length <= 15 && a.nsIf.length <= 15);
  assert.notEqual(a.network, b.network);
  assert.ok(hostLinks().includes(a.hostIf) && !hostLinks().includes(a.nsIf), 'the host has its end, not the peer');

  // Inside: lo and the veth, in `ip` and in /sys/class/net alike.
  const ipLinks = (await a.exec(['ip', '-o', 'link', 'show'])).stdout.split('\n').filter(Boolean)
    .map((l) => l.split(':')[1]!.trim().replace(/@.*/, '')).sort();
  assert.deepEqual(ipLinks, ['lo', a.nsIf].sort());
  assert.deepEqual((await a.exec(['ls', '/sys/class/net'])).stdout.trim().split(/\s+/).sort(), ['lo', a.nsIf].sort());
  assert.match((await a.exec(['cat', `/sys/class/net/${a.nsIf}/statistics/rx_bytes`])).stdout, /^\d+\n$/);
  assert.ok(existsSync('/sys/fs/cgroup') && (await a.exec(['ls', '/sys/fs/cgroup'])).stdout.includes('memory'),
    'the host cgroups are there inside');
  assert.equal((await a.exec(['ip', 'route', 'show', 'default'])).stdout.trim(), '', 'no default route');

  pgs = await startPostgres({ listenAddresses: [a.hostIp, b.hostIp], trustNetworks: [a.network, b.network] });
  const url = await pgs.createDatabase();
  const psql = (ns: NodeNamespace, host: string) => ns.exec(['psql', withHost(url, host), '-Atc', 'select inet_client_addr()'], { timeoutMs: 15_000 });
  assert.equal((await psql(a, a.hostIp)).stdout.trim(), a.nsIp, 'PostgreSQL answers on the veth, the client is the namespace');
  assert.equal((await psql(b, b.hostIp)).stdout.trim(), b.nsIp);
  await assert.rejects(psql(a, b.hostIp), 'no route from one namespace to the other veth');
  await assert.rejects(psql(a, '127.0.0.1'), "the host's loopback is not the namespace's");
  assert.equal((await pgs.query(url, 'select 1 as x'))[0]!.x, 1, 'loopback still works for the tests');

  // A spawned command is the process: its PID is in the namespace.
  const child = a.spawn(['sleep', '600'], { stdio: 'ignore' });
  assert.ok(child.pid);
  // nsenter enters, then execs the command: same PID, in the namespace a moment later.
  const deadline = Date.now() + 5000;
  while (procNetns(child.pid!) !== netnsInode(a.name) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(procNetns(child.pid!), netnsInode(a.name));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\u0000').slice(0, 2), ['sleep', '600'],
    'the PID is the command itself');
  const killed = new Promise((r) => child.once('exit', r));
  const ran: string[] = [];
  a.own(() => {
    ran.push('sleep');
    process.kill(child.pid!, 'SIGKILL');
  });

  // A mount inside stays inside; a netns added inside is on the host's /run/netns.
  await a.exec(['mount', '-t', 'tmpfs', 'wfl-test', a.mountNs.replace(/mnt$/, 'sys')]);
  assert.ok((await a.exec(['findmnt', '-n', a.mountNs.replace(/mnt$/, 'sys')])).stdout.includes('wfl-test'));
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes('wfl-test'), false, 'not on the host');
  const inner = `wfl${process.pid}x`;
  await a.exec(['ip', 'netns', 'add', inner]);
  try {
    assert.ok(spawnSync('ip', ['netns', 'exec', inner, 'true']).status === 0, 'usable from the host');
  } finally {
    await a.exec(['ip', 'netns', 'delete', inner]);
  }

  await pgs.stop();
  pgs = undefined;
  const names = spaces.map((ns) => [ns.name, ns.hostIf, ns.mountNs] as const);
  for (const ns of spaces.splice(0)) await ns.stop();
  await killed;
  assert.deepEqual(ran, ['sleep'], 'the cleanup registered inside ran');
  for (const [name, hostIf, mountNs] of names) {
    assert.equal(existsSync(`/run/netns/${name}`), false, `${name} removed`);
    assert.equal(hostLinks().includes(hostIf), false, `${hostIf} removed`);
    assert.equal(existsSync(mountNs), false, 'the mount namespace and its directory removed');
  }
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(names[0]![2]), false, 'no mount left');
});

test('a node that cannot start fails startFleet with its output, and nothing of the fleet is left', {
  skip: !postgresAvailable() ? 'PostgreSQL 15 is not installed (scripts/setup.sh --tests)'
    : !fleetRolesAvailable() ? 'this build has no `warren node` / `warren control` (npm run build)' : false,
}, async () => {
  const before = new Set(readdirSync('/run/netns'));
  const err = await startFleet({ nodes: 2, replicas: 1, node: (i) => (i === 1 ? { capacity: { cpus: -1 } } : {}) })
    .then(() => null, (e: unknown) => e as Error);
  assert.ok(err, 'startFleet refused');
  assert.match(err.message, /warren node in wfl\d+n1 exited/);
  assert.match(err.message, /capacity-cpus/, "the node's own words are in the error");
  const mine = readdirSync('/run/netns').filter((n) => !before.has(n) && n.startsWith(`wfl${process.pid}n`));
  assert.deepEqual(mine, [], 'the namespaces are gone');
  assert.equal(hostLinks().some((l) => l.startsWith(`wfh${process.pid}n`)), false, 'the veths are gone');
  assert.equal(readdirSync(tmpdir()).some((d) => d.startsWith(`warren-fleet-${process.pid}n`) || d.startsWith(`warren-fleet-node-wfl${process.pid}n`)), false,
    'the temporary directories are gone');
});
