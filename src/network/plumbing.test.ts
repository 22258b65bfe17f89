/** Real kernel objects (root): a test bridge `wtAp…`, netns and veth, all removed in `after`. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { run, tryRun } from '../util/exec.js';
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

after(async () => {
  await deleteNetns(opts);
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
