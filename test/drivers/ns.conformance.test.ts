/**
 * The conformance suite against the namespace driver, on a real Debian rootfs, as root,
 * with its layers on an XFS reflink pool (Warren's default storage on an ext4 host).
 * Kernel objects: bridge wtAc0 on 10.231.0.0/26 (gateway .1), driver instance random.
 */
import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import { NsDriver } from '../../src/drivers/ns/driver.js';
import { runDriverConformance } from './conformance.js';
import { agentProbe } from './probe.js';
import { makeBridge, makeFixture, poolStorage, specFactory, withRuntime, type Fixture, type SpecOverrides, type TestBridge, removeCgroupParents } from './harness.js';
import { testLayers } from './rootfs.js';

const instanceId = randomBytes(2).toString('hex');
let fixture: Fixture;
let bridge: TestBridge;
let make: ReturnType<typeof specFactory>;

before(async () => {
  fixture = await withRuntime(await poolStorage(makeFixture(), 'xfs'));
  bridge = await makeBridge('c0', '10.231.0.1', 26);
  make = specFactory({ fixture, bridge, layers: await testLayers() });
});

after(async () => {
  await bridge?.remove();
  await fixture?.release();
  fixture?.cleanup();
  removeCgroupParents(instanceId);
});

runDriverConformance(
  'ns',
  () => new NsDriver({ instanceId, storage: fixture.storage }),
  (o?: SpecOverrides) => make(o),
  { probe: agentProbe, broken: { network: { bridge: 'wtAmissing0' } } },
);
