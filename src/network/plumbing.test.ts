/** Real kernel objects (root): a test bridge `wtAp…`, netns and veth, all removed in `after`. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { run, tryRun } from '../util/exec.js';
import { BRIDGE_MAX_WORKSPACES } from './bridge.js';
import { createNetns, deleteNetns, linkExists, macForIp, netnsExists, netnsPath } from './plumbing.js';

const tag = randomBytes(3).toString('hex');
const bridge = `wtAp${tag}`;
const opts = {
  netnsName: `wtAp-${tag}`, hostIf: `wtAv${tag}`, bridge,
  ip: '10.231.0.200', prefixLen: 26, gateway: '10.231.0.193',
};

before(async () => {
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await run('ip', ['link', 'set', bridge, 'up']);
});

/** Tap ports that fill the bridge in the capacity test. */
const fillers: string[] = [];

after(async () => {
  await deleteNetns(opts);
  if (fillers.length) await tryRun('ip', ['-force', '-batch', '-'], { input: fillers.map((f) => `link delete ${f}\n`).join('') });
  await tryRun('ip', ['link', 'delete', bridge]);
});

async function inside(...args: string[]): Promise<string> {
  return (await run('ip', ['-n', opts.netnsName, ...args])).stdout;
}

test('creates netns, veth on the bridge, address and default route', async () => {
  await createNetns(opts);
  assert.ok(await netnsExists(opts.netnsName));
  assert.match((await run('ip', ['-o', 'link', 'show', opts.hostIf])).stdout, new RegExp(`master ${bridge}`));
  assert.match(await inside('-o', 'addr', 'show', 'eth0'), /inet 10\.231\.0\.200\/26/);
  assert.match(await inside('route', 'show', 'default'), /default via 10\.231\.0\.193 dev eth0/);
  assert.match(await inside('-o', 'link', 'show', 'lo'), /UP/);
  assert.match(await inside('-o', 'link', 'show', 'eth0'), /link\/ether 02:57:0a:e7:00:c8/);
});

test('eth0 MAC is derived from the IP', () => {
  assert.equal(macForIp('10.231.0.100'), '02:57:0a:e7:00:64');
  assert.throws(() => macForIp('10.1.2'), /invalid IPv4/);
});

test('is idempotent and repairs half-made states', async () => {
  await createNetns(opts);
  // veth gone (e.g. deleted by hand): recreated.
  await run('ip', ['link', 'delete', opts.hostIf]);
  await createNetns(opts);
  assert.ok(linkExists(opts.hostIf));
  assert.match(await inside('-o', 'addr', 'show', 'eth0'), /10\.231\.0\.200/);
  // netns path is a stale plain file (crash between creat and mount): replaced.
  await deleteNetns(opts);
  mkdirSync('/run/netns', { recursive: true });
  writeFileSync(netnsPath(opts.netnsName), '');
  assert.equal(await netnsExists(opts.netnsName), false);
  await createNetns(opts);
  assert.ok(await netnsExists(opts.netnsName));
});

test('delete is idempotent', async () => {
  await deleteNetns(opts);
  await deleteNetns(opts);
  assert.equal(linkExists(opts.hostIf), false);
  assert.equal(await netnsExists(opts.netnsName), false);
});

test('rejects bad input without touching the host', async () => {
  await assert.rejects(createNetns({ ...opts, hostIf: 'x'.repeat(16) }), /invalid interface/);
  await assert.rejects(createNetns({ ...opts, bridge: 'wtAnope' }), /does not exist/);
});

test('a full bridge (1,023 ports) refuses the workspace with a stable code, not the kernel\'s error', async () => {
  await deleteNetns(opts);
  for (let n = 0; n < BRIDGE_MAX_WORKSPACES; n++) fillers.push(`wtAd${tag}${n}`);
  await run('ip', ['-batch', '-'], { input: fillers.map((f) => `tuntap add dev ${f} mode tap\nlink set ${f} master ${bridge}\n`).join('') });
  await assert.rejects(createNetns(opts), (err: { code?: string; details?: { limit?: string } }) =>
    err.code === 'HOST_CAPACITY_REACHED' && err.details?.limit === 'bridge_ports');
  assert.equal(linkExists(opts.hostIf), false, 'no half-made veth left');
  await run('ip', ['link', 'delete', fillers.pop()!]);
  await createNetns(opts);
  assert.match((await run('ip', ['-o', 'link', 'show', opts.hostIf])).stdout, new RegExp(`master ${bridge}`));
});
