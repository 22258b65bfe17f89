/**
 * The baseline firewall against the real kernel: three sandboxes (netns + veth) on our
 * own bridge, real TCP connections, real nft tables with a unique instance id.
 * Run as root: node --import tsx --test test/network/firewall.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { run, tryRun } from '../../src/util/exec.js';
import { AppError } from '../../src/contract/errors.js';
import { Firewall } from '../../src/network/firewall.js';
import { counterPackets, Lab, tableText, timed } from './helpers.js';

const AGENT_PORT = 9990;
const HOST_PORT = 7777;
const lab = new Lab();
let fw: Firewall;
const dummyTable = `wtD_${lab.hex}_keep`;
const timings: Record<string, number[]> = {};

function note(what: string, ms: number): void {
  (timings[what] ??= []).push(ms);
}

before(async () => {
  await lab.setUp(['a', 'b', 'c']);
  fw = new Firewall({ instanceId: lab.hex, bridge: lab.bridge, subnet: lab.subnet });
  for (const name of ['a', 'b', 'c']) await lab.serveIn(name, AGENT_PORT);
  await lab.serveOnHost(lab.gateway, HOST_PORT, 'host');
  await run('nft', ['-f', '-'], { input: `table inet ${dummyTable} { chain keep { counter; }; }\n` });
});

after(async () => {
  await fw?.destroy().catch(() => {});
  await tryRun('nft', ['delete', 'table', 'inet', dummyTable]);
  await lab.cleanup();
  console.log('timings (ms):', JSON.stringify(timings));
});

test('without the firewall everything on the bridge talks (positive control)', async () => {
  const a = lab.sb('a'); const b = lab.sb('b');
  assert.deepEqual(await lab.connectFrom('a', b.ip, AGENT_PORT), { ok: true, data: 'b' });
  assert.deepEqual(await lab.connectFrom('a', lab.gateway, HOST_PORT), { ok: true, data: 'host' });
  assert.deepEqual(await lab.connectFromHost(a.ip, AGENT_PORT), { ok: true, data: 'a' });
  // The sender's own link-local must be past DAD too, or the connect fails with EADDRNOTAVAIL.
  await lab.linkLocal('a');
  assert.deepEqual(await lab.connectFrom('a', await lab.linkLocal('b'), AGENT_PORT), { ok: true, data: 'b' }, 'IPv6 link-local');
});

test('ensure + register install the tables in one batch each', async () => {
  const before = await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const [, ensureMs] = await timed(() => fw.ensure());
  note('ensure', ensureMs);
  for (const name of ['a', 'b', 'c']) {
    const { ip, hostIf } = lab.sb(name);
    const [, ms] = await timed(() => fw.register({ ip, hostIf }));
    note('register', ms);
  }
  assert.equal(await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8'), before, 'ip_forward untouched');
  const listed = (await fw.list()).sort((x, y) => x.hostIf.localeCompare(y.hostIf));
  assert.deepEqual(listed, ['a', 'b', 'c'].map((n) => ({ hostIf: lab.sb(n).hostIf, ip: lab.sb(n).ip })));
});

test('host → sandbox works (the gateway reaches agents)', async () => {
  for (const name of ['a', 'b', 'c']) {
    assert.deepEqual(await lab.connectFromHost(lab.sb(name).ip, AGENT_PORT), { ok: true, data: name });
  }
});

test('sandbox → sandbox is dropped in both directions', async () => {
  const dropsBefore = await counterPackets('inet', fw.tables.inet, 'blocked_forward');
  assert.deepEqual(await lab.connectFrom('a', lab.sb('b').ip, AGENT_PORT), { ok: false, error: 'timeout' });
  assert.deepEqual(await lab.connectFrom('b', lab.sb('a').ip, AGENT_PORT), { ok: false, error: 'timeout' });
  assert.ok(await counterPackets('inet', fw.tables.inet, 'blocked_forward') > dropsBefore, 'dropped by our forward chain');
});

test('sandbox → sandbox over IPv6 link-local is dropped at L2', async () => {
  const spoofedBefore = await counterPackets('bridge', fw.tables.bridge, 'spoofed');
  assert.equal((await lab.connectFrom('a', await lab.linkLocal('b'), AGENT_PORT)).ok, false);
  assert.ok(await counterPackets('bridge', fw.tables.bridge, 'spoofed') > spoofedBefore);
});

test('sandbox → host services is dropped (gateway address)', async () => {
  const dropsBefore = await counterPackets('inet', fw.tables.inet, 'blocked_input');
  assert.deepEqual(await lab.connectFrom('a', lab.gateway, HOST_PORT), { ok: false, error: 'timeout' });
  assert.ok(await counterPackets('inet', fw.tables.inet, 'blocked_input') > dropsBefore, 'dropped by our input chain');
});

test("C spoofing A's address reaches neither B nor the host, and cannot steal A's traffic", async () => {
  const a = lab.sb('a'); const c = lab.sb('c');
  await run('ip', ['-n', c.netns, 'addr', 'add', `${a.ip}/32`, 'dev', 'eth0']);
  const spoofedBefore = await counterPackets('bridge', fw.tables.bridge, 'spoofed');
  const toB = await lab.connectFrom('c', lab.sb('b').ip, AGENT_PORT, { localAddress: a.ip });
  const toHost = await lab.connectFrom('c', lab.gateway, HOST_PORT, { localAddress: a.ip });
  // C's ARP claiming A's address never reached the host: host → A still lands on A.
  const hostToA = await lab.connectFromHost(a.ip, AGENT_PORT);
  assert.deepEqual(hostToA, { ok: true, data: 'a' });
  assert.equal(toB.ok, false);
  assert.equal(toHost.ok, false);
  assert.ok(await counterPackets('bridge', fw.tables.bridge, 'spoofed') > spoofedBefore, 'dropped by the L2 anti-spoof rule');
  await run('ip', ['-n', c.netns, 'addr', 'del', `${a.ip}/32`, 'dev', 'eth0']);
  assert.deepEqual(await lab.connectFromHost(c.ip, AGENT_PORT), { ok: true, data: 'c' }, 'C itself still reachable');
});

test('unregister makes a sandbox dark; register again restores it', async () => {
  const { ip, hostIf } = lab.sb('a');
  const [, unMs] = await timed(() => fw.unregister({ ip, hostIf }));
  note('unregister', unMs);
  assert.ok(!(await fw.list()).some((p) => p.hostIf === hostIf));
  assert.equal((await lab.connectFromHost(ip, AGENT_PORT, 1000)).ok, false);
  await fw.unregister({ ip, hostIf }); // already gone: no-op
  const [, reMs] = await timed(() => fw.register({ ip, hostIf }));
  note('register', reMs);
  assert.deepEqual(await lab.connectFromHost(ip, AGENT_PORT), { ok: true, data: 'a' });
  assert.deepEqual(await lab.connectFrom('a', lab.sb('b').ip, AGENT_PORT), { ok: false, error: 'timeout' });
});

test('register refuses a port or address already bound to another partner', async () => {
  const a = lab.sb('a'); const b = lab.sb('b');
  await fw.register({ ip: a.ip, hostIf: a.hostIf }); // same pair: idempotent
  const isConflict = (e: unknown) => e instanceof AppError && e.code === 'conflict';
  await assert.rejects(fw.register({ ip: a.ip, hostIf: b.hostIf }), isConflict);
  await assert.rejects(fw.register({ ip: lab.subnet.replace(/\.0\/24$/, '.77'), hostIf: a.hostIf }), isConflict);
});

test('list() exposes stale registrations so they can be removed', async () => {
  const stale = { ip: lab.subnet.replace(/\.0\/24$/, '.200'), hostIf: `wtD${lab.hex}z` };
  await fw.register(stale);
  assert.ok((await fw.list()).some((p) => p.hostIf === stale.hostIf && p.ip === stale.ip));
  await fw.unregister(stale);
  assert.ok(!(await fw.list()).some((p) => p.hostIf === stale.hostIf));
});

test('ensure() is idempotent, keeps registrations and leaves other tables alone', async () => {
  const inetBefore = await tableText('inet', fw.tables.inet);
  const l2Before = await tableText('bridge', fw.tables.bridge);
  const listedBefore = await fw.list();
  const [, ms1] = await timed(() => fw.ensure());
  // A fresh object (as after a restart) re-creates the tables and picks up what is there.
  const restarted = new Firewall({ instanceId: lab.hex, bridge: lab.bridge, subnet: lab.subnet });
  const [, ms2] = await timed(() => restarted.ensure());
  note('ensure', ms1); note('ensure', ms2);
  assert.equal(await tableText('inet', fw.tables.inet), inetBefore);
  assert.equal(await tableText('bridge', fw.tables.bridge), l2Before);
  assert.deepEqual(await restarted.list(), listedBefore);
  await run('nft', ['list', 'table', 'inet', dummyTable]); // still there
  assert.deepEqual(await lab.connectFromHost(lab.sb('b').ip, AGENT_PORT), { ok: true, data: 'b' });
  assert.deepEqual(await lab.connectFrom('b', lab.sb('c').ip, AGENT_PORT), { ok: false, error: 'timeout' });
  // The restarted object knows the carried-over registrations (conflict detection works).
  await assert.rejects(restarted.register({ ip: lab.sb('b').ip, hostIf: lab.sb('c').hostIf }), AppError);
});

test('destroy() removes exactly our two tables', async () => {
  await fw.destroy();
  const { stdout } = await run('nft', ['list', 'tables']);
  assert.doesNotMatch(stdout, new RegExp(`warren_(l2_)?${lab.hex}\\b`));
  assert.match(stdout, new RegExp(dummyTable));
  await fw.destroy(); // idempotent
});
