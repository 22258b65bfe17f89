/** Bookkeeping of the warm pool with stub ports: what is made, taken, kept and dropped. */
import { after, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DomainDeps } from './ports.js';
import { WarmPool } from './warm-pool.js';
import { hostFiles } from '../host/files.js';

const dir = mkdtempSync(join(tmpdir(), 'warm-pool-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function stubDeps(events: string[]): DomainDeps {
  const driver = {
    name: 'stub', capabilities: { pause: false, snapshot: false, isolation: true },
    create: async (s: { shortId: string }) => void events.push(`create ${s.shortId}`),
    start: async () => ({ state: 'running' }),
    destroy: async (s: { shortId: string }) => void events.push(`destroy ${s.shortId}`),
  };
  return {
    driver, firewall: { register: async () => undefined, unregister: async () => undefined },
    images: { materialize: async () => ({ name: 'img', imageId: 'x', env: [], command: [], layers: ['/l'] }) },
    probe: async () => undefined,
    network: { bridge: 'b', subnet: '10.9.0.0/16', prefixLen: 16, gateway: '10.9.0.1' },
    paths: { workspacesDir: dir, bundleDir: '/b', runtimeDir: '/r' },
    files: hostFiles, dirs: hostFiles,
    hostIfName: (id: string) => `wv${id}`,
    log: () => undefined,
  } as unknown as DomainDeps;
}

function pool(events: string[], size = 2, maxImages = 1): WarmPool {
  let n = 10;
  return new WarmPool(stubDeps(events), {
    size, maxImages, resources: { cpus: 1, memoryMb: 256, diskMb: 1024 },
    reserveAddress: async (held) => {
      let ip: string;
      do ip = `10.9.0.${n++}`; while (held.has(ip));
      return ip;
    },
    busy: () => false,
  });
}

async function settle(p: WarmPool, ready: number): Promise<void> {
  for (let i = 0; i < 200 && p.counts().ready < ready; i++) await sleep(5);
  assert.equal(p.counts().ready, ready);
}

test('fills to size for a wanted image; take hands out each entry once, pinned to the build', async () => {
  const events: string[] = [];
  const p = pool(events);
  assert.equal(p.take('img', 'x'), null, 'nothing before demand');
  p.want('img', 'x');
  await settle(p, 2);
  assert.equal(p.take('img', 'y'), null, 'another build of the name does not match');
  const a = p.take('img', 'x');
  assert.ok(a);
  assert.ok(p.heldAddresses().has(a.ip), 'a taken entry keeps its address until a record holds it');
  p.assign('ws_1', a);
  assert.ok(!p.heldAddresses().has(a.ip));
  assert.equal(p.claim('ws_1'), a);
  assert.equal(p.claim('ws_1'), undefined, 'claimed once');
  await settle(p, 2); // refilled
  await p.close();
  assert.equal(events.filter((e) => e.startsWith('destroy')).length, 2, 'close destroys what waits');
});

test('a new build or an image past maxImages drops the old entries', async () => {
  const events: string[] = [];
  const p = pool(events, 1, 1);
  p.want('img', 'x');
  await settle(p, 1);
  p.want('img', 'x2');
  await sleep(50);
  assert.equal(events.filter((e) => e.startsWith('destroy')).length, 1);
  await settle(p, 1);
  assert.ok(p.take('img', 'x2'));
  await p.close();
});

test('size 0 is off: no demand is kept and nothing is made', async () => {
  const events: string[] = [];
  const p = pool(events, 0);
  p.want('img', 'x');
  await sleep(30);
  assert.deepEqual(events, []);
  assert.equal(p.take('img', 'x'), null);
});
