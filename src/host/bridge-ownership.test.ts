// claimBridge against a run dir of our own (WARREN_RUN_DIR) and a bridge name that does not
// exist: the same data dir claims again (restart), another data dir that exists is refused,
// a claim of another bridge drops the data dir's record of the old one.
// Only reads the kernel (nft listings); the take-over, which removes objects, is tried
// end to end in test/e2e/bridge-owner.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgeOwnedError, claimBridge } from './bridge-ownership.js';
import { readRecord } from './owner-records.js';
import { instanceIdFor } from '../config/load.js';

test('claimBridge: a restart of the owner claims again; another existing data dir is refused', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'warren-claim-'));
  const before = process.env.WARREN_RUN_DIR;
  process.env.WARREN_RUN_DIR = join(root, 'run');
  t.after(async () => {
    if (before === undefined) delete process.env.WARREN_RUN_DIR;
    else process.env.WARREN_RUN_DIR = before;
    await rm(root, { recursive: true, force: true });
  });
  const bridge = `wq${process.pid.toString(16).slice(-6)}`;
  const cfgOf = (dataDir: string) => ({ dataDir, instanceId: instanceIdFor(dataDir), bridge, subnet: '10.251.7.0/24', driver: 'ns' });
  const owner = cfgOf(root);
  const logs: string[] = [];
  const log = (_l: string, msg: string) => void logs.push(msg);
  await claimBridge(owner, log);
  await claimBridge(owner, log);
  assert.equal((await readRecord(bridge))?.dataDir, root);
  await assert.rejects(claimBridge(cfgOf(tmpdir()), log), (err: unknown) => err instanceof BridgeOwnedError
    && err.message.includes(`owned by the Warren instance with data dir ${root}`)
    && err.message.includes(`warren purge --data-dir ${root} --yes`));
  assert.equal((await readRecord(bridge))?.dataDir, root, 'the refused claim left the record alone');
  assert.deepEqual(logs, []);

  // The owner restarted with another --bridge: its record of the old one goes.
  const moved = { ...owner, bridge: `${bridge}m` };
  await claimBridge(moved, log);
  assert.equal(await readRecord(bridge), null);
  assert.equal((await readRecord(moved.bridge))?.dataDir, root);
  assert.deepEqual(logs, ["this data dir moved to another bridge: the old bridge's owner record is removed"]);
});
