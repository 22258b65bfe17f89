/**
 * The behavioural conformance suite against the memory driver (src/drivers/memory/):
 * sandboxes in this process, their agents on loopback addresses of a random
 * 127.x.y.0/24, no root needed. The host part (isolation, kernel limits, layer depth)
 * skips: the driver declares it does not isolate.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { SandboxSpec } from '../../src/drivers/driver.js';
import { MemoryDriver } from '../../src/drivers/memory/driver.js';
import { runDriverConformance } from './conformance.js';
import type { SpecOverrides } from './harness.js';
import { memoryProbe } from './probe.js';

const net = `127.${randomInt(1, 255)}.${randomInt(0, 255)}`;
let host = 1;
let driver: MemoryDriver;

function makeSpec(o: SpecOverrides = {}): SandboxSpec {
  const shortId = randomBytes(4).toString('hex');
  host += 1;
  return {
    id: `ws_mem${shortId}`,
    shortId,
    hostname: `mem-${shortId}`,
    image: { id: 'memory', layers: [] },
    resources: { cpus: 1, memoryMb: 256, diskMb: 128, pids: 256, ...o.resources },
    env: { WARREN_TEST: '1', ...o.env },
    network: { ip: `${net}.${host}`, prefixLen: 24, gateway: `${net}.1`, bridge: 'none', ...o.network },
    agent: { port: 9990, bundleDir: '/nonexistent', runtimeDir: '/nonexistent', controlDir: join(tmpdir(), 'unused') },
    stateDir: join(tmpdir(), 'unused', shortId),
    ...(o.seed ? { seed: o.seed } : {}),
  };
}

runDriverConformance(
  'memory',
  () => (driver = new MemoryDriver()),
  makeSpec,
  { probe: memoryProbe(() => driver), broken: { network: { ip: '10.0.0.2' } } },
);
