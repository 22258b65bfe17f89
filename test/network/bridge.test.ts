/**
 * ensureBridge / removeBridge / assertSubnetIsFree against the real kernel, with our own
 * `wtD<hex>` links only. Run as root: node --import tsx --test test/network/bridge.test.ts
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { run, tryRun } from '../../src/util/exec.js';
import { AppError } from '../../src/contract/errors.js';
import { ensureBridge, removeBridge } from '../../src/network/bridge.js';
import { assertSubnetIsFree } from '../../src/network/routes.js';
import { pickFreeSubnet, randomHex, timed } from './helpers.js';

const hex = randomHex();
const bridge = `wtD${hex}`;
const other = `wtD${hex}o`;
const foreignPort = `wtD${hex}d`;

after(async () => {
  for (const link of [foreignPort, other, bridge]) await tryRun('ip', ['link', 'del', link]);
});

interface LinkJson {
  operstate?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

async function show(name: string): Promise<LinkJson | null> {
  const ok = await tryRun('ip', ['link', 'show', 'dev', name]);
  if (!ok) return null;
  const [link] = JSON.parse((await run('ip', ['-j', '-d', 'addr', 'show', 'dev', name])).stdout) as LinkJson[];
  return link ?? null;
}

function isAppError(code: string, message?: RegExp) {
  return (e: unknown) => e instanceof AppError && e.code === code && (!message || message.test(e.message));
}

let subnet = '';

test('ensureBridge creates an up bridge holding only the gateway address, without touching ip_forward', async () => {
  subnet = await pickFreeSubnet(bridge);
  const forwardBefore = await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const [result, ms] = await timed(() => ensureBridge(bridge, subnet));
  console.log(`ensureBridge (create) ${ms} ms`);
  const gateway = subnet.replace(/\.0\/24$/, '.1');
  assert.deepEqual(result, { gateway, prefixLen: 24 });
  const link = await show(bridge);
  assert.equal(link?.linkinfo?.info_kind, 'bridge');
  assert.ok(link?.flags?.includes('UP'));
  assert.deepEqual(link?.addr_info?.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), [`${gateway}/24`]);
  assert.equal(link?.addr_info?.filter((a) => a.family === 'inet6').length, 0, 'no IPv6 on the bridge');
  assert.equal(link?.linkinfo?.info_data?.nf_call_iptables, 1);
  assert.equal(link?.linkinfo?.info_data?.nf_call_ip6tables, 1);
  assert.equal((await run('ip', ['link', 'show', 'master', bridge])).stdout.trim(), '', 'no ports, no uplink');
  assert.equal(await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8'), forwardBefore);
});

test('ensureBridge is idempotent', async () => {
  const [, ms] = await timed(() => ensureBridge(bridge, subnet));
  console.log(`ensureBridge (existing) ${ms} ms`);
  const link = await show(bridge);
  assert.equal(link?.addr_info?.filter((a) => a.family === 'inet').length, 1);
});

test("ensureBridge refuses 192.0.2.0/24, which overlaps eth0's route, and creates nothing", async () => {
  await assert.rejects(assertSubnetIsFree('192.0.2.0/24', other), isAppError('validation_error', /192\.0\.2\.0\/24 dev eth0/));
  await assert.rejects(ensureBridge(other, '192.0.2.0/24'), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.details?.field, 'subnet');
    assert.match(e.message, /route 192\.0\.2\.0\/24 dev eth0 \(table main\)/);
    return true;
  });
  assert.equal(await show(other), null);
});

test("ensureBridge refuses a subnet held by another bridge, naming it", async () => {
  await assert.rejects(ensureBridge(other, subnet), isAppError('validation_error', new RegExp(`dev ${bridge}`)));
  await assertSubnetIsFree(subnet, bridge); // but it is free for its owner
  assert.equal(await show(other), null);
});

test('ensureBridge refuses an existing bridge with a different address', async () => {
  const elsewhere = await pickFreeSubnet(bridge);
  await assert.rejects(ensureBridge(bridge, elsewhere), isAppError('conflict', /expected only/));
  const link = await show(bridge);
  assert.equal(link?.addr_info?.filter((a) => a.family === 'inet').length, 1, 'existing address left alone');
});

test('ensureBridge refuses a bridge with an uplink-like port, and a name that is not a bridge', async () => {
  await run('ip', ['link', 'add', foreignPort, 'type', 'ifb']);
  await run('ip', ['link', 'set', foreignPort, 'master', bridge]);
  await assert.rejects(ensureBridge(bridge, subnet), isAppError('conflict', /no uplink/));
  await run('ip', ['link', 'set', foreignPort, 'nomaster']);
  await ensureBridge(bridge, subnet);
  await assert.rejects(ensureBridge(foreignPort, await pickFreeSubnet(foreignPort)), isAppError('conflict', /not a bridge/));
  await assert.rejects(removeBridge(foreignPort), isAppError('conflict', /not a bridge/));
  assert.notEqual(await show(foreignPort), null, 'removeBridge left the non-bridge alone');
});

test('removeBridge deletes the bridge and is a no-op when it is gone', async () => {
  await removeBridge(bridge);
  assert.equal(await show(bridge), null);
  await removeBridge(bridge);
});
