/**
 * Namespace-driver specifics beyond the conformance suite: kernel object names and
 * limits, surviving a SIGKILLed server, PID-reuse guard, exit reasons, convergence after
 * a host reboot, loop-mount residue, snapshots by streamed copy (storage mode `copy`; the
 * conformance suite runs on the copy-on-write pool). Bridge wtAn0 on 10.231.0.64/26.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { NsDriver } from '../../src/drivers/ns/driver.js';
import { CONTROLLERS, SandboxNames, statePaths } from '../../src/drivers/ns/names.js';
import { LAYER_IMAGE_MB, mountLayers } from '../../src/drivers/ns/storage.js';
import { deleteNetns } from '../../src/network/plumbing.js';
import type { SandboxSpec } from '../../src/drivers/driver.js';
import { run } from '../../src/util/exec.js';
import { health, shIn, waitForAgent } from './agent-client.js';
import { makeBridge, makeFixture, poolStorage, specFactory, withRuntime, type Fixture, type SpecOverrides, type TestBridge } from './harness.js';
import { testLayers } from './rootfs.js';

const instanceId = randomBytes(2).toString('hex');
const names = new SandboxNames(instanceId);
let driver: NsDriver;
const made: SandboxSpec[] = [];
let fixture: Fixture;
let bridge: TestBridge;
let make: ReturnType<typeof specFactory>;

function fresh(o?: SpecOverrides): SandboxSpec {
  const spec = make(o);
  made.push(spec);
  return spec;
}

async function up(o?: SpecOverrides): Promise<SandboxSpec> {
  const spec = fresh(o);
  await driver.create(spec);
  await driver.start(spec);
  await waitForAgent(spec);
  return spec;
}

async function waitForState(spec: SandboxSpec, state: string, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await driver.inspect(spec);
    if (s.state === state || Date.now() > deadline) return s;
    await sleep(50);
  }
}

/** Live and not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const cg = (c: string, shortId: string, file: string): string =>
  readFileSync(join('/sys/fs/cgroup', c, `warren-${instanceId}`, shortId, file), 'utf8').trim();

before(async () => {
  fixture = await withRuntime(await poolStorage(makeFixture(), 'copy'));
  driver = new NsDriver({ instanceId, storage: fixture.storage });
  bridge = await makeBridge('n0', '10.231.0.65', 26);
  make = specFactory({ fixture, bridge, layers: await testLayers() });
  await driver.prepare();
});

after(async () => {
  for (const spec of made) await driver.destroy(spec);
  await bridge?.remove();
  await fixture?.release();
  fixture?.cleanup();
  for (const c of CONTROLLERS) {
    try {
      rmdirSync(names.cgroupParent(c));
    } catch { /* absent */ }
  }
});

test('kernel objects carry the agreed names and limits', async () => {
  const spec = await up({ resources: { memoryMb: 300, cpus: 1.5, pids: 123, diskMb: 200 } });
  assert.ok(existsSync(`/run/netns/warren-${instanceId}-${spec.shortId}`));
  assert.match((await run('ip', ['-o', 'link', 'show', `wv${spec.shortId}`])).stdout, new RegExp(`master ${bridge.name}`));
  assert.equal(cg('memory', spec.shortId, 'memory.limit_in_bytes'), String(300 * 1024 * 1024));
  assert.equal(cg('memory', spec.shortId, 'memory.memsw.limit_in_bytes'), String(300 * 1024 * 1024));
  assert.equal(cg('cpu', spec.shortId, 'cpu.cfs_period_us'), '100000');
  assert.equal(cg('cpu', spec.shortId, 'cpu.cfs_quota_us'), '150000');
  assert.equal(cg('pids', spec.shortId, 'pids.max'), '123');
  assert.doesNotMatch(cg('devices', spec.shortId, 'devices.list'), /^a /m);
  const { pid } = await driver.inspect(spec);
  for (const c of CONTROLLERS) {
    assert.match(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`:${c}:/warren-${instanceId}/${spec.shortId}\\n`));
  }
  const disk = statSync(statePaths(spec.stateDir).disk);
  assert.equal(disk.size, LAYER_IMAGE_MB * 1024 * 1024, 'every layer image has the same (thin) apparent size');
  assert.ok(disk.blocks * 512 < 40 * 1024 * 1024, 'disk image is not sparse');
  const df = (await shIn(spec, 'df -k / | tail -1')).stdout.trim().split(/\s+/);
  const quotaKiB = Number(df[2]) + Number(df[3]);
  assert.ok(quotaKiB > 190 * 1024 && quotaKiB <= 200 * 1024, `used + available inside is ${quotaKiB} KiB, not the 200 MiB quota`);
});

test('a sandbox survives its server being SIGKILLed and is adopted by a new driver', async () => {
  const spec = fresh();
  const stub = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'server-stub.ts'), instanceId,
    JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    stub.stdout!.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out); });
    stub.on('exit', () => reject(new Error(`stub exited: ${out}`)));
  });
  const pid = Number(/started (\d+)/.exec(line)?.[1]);
  stub.kill('SIGKILL');
  await new Promise((r) => stub.once('exit', r));
  await waitForAgent(spec);
  const adopted = new NsDriver({ instanceId });
  assert.deepEqual(await adopted.inspect(spec), { state: 'running', pid });
  assert.equal((await shIn(spec, 'echo still-here')).stdout, 'still-here\n');
  await adopted.stop(spec);
  assert.deepEqual(await adopted.inspect(spec), { state: 'stopped' });
});

test('inspect is not fooled by PID reuse', async () => {
  const spec = fresh();
  await driver.create(spec);
  writeFileSync(statePaths(spec.stateDir).pid, `${process.pid}\n`);
  assert.equal((await driver.inspect(spec)).state, 'stopped');
});

test('a sandbox that dies tells why: exited, or oom', async () => {
  const crashed = await up();
  await shIn(crashed, `kill -9 ${(await health(crashed)).pid}`).catch(() => undefined);
  assert.deepEqual(await waitForState(crashed, 'stopped'), { state: 'stopped', reason: 'exited', exitCode: 137 });
  // The agent itself exceeds the limit: the sandbox's main process dies of OOM.
  const starved = await up({ resources: { memoryMb: 128 } });
  await fetch(`http://${starved.network.ip}:${starved.agent.port}/hog`, { method: 'POST' }).catch(() => undefined);
  assert.deepEqual(await waitForState(starved, 'stopped'), { state: 'stopped', reason: 'oom', exitCode: 137 });
  // A stopped-by-us sandbox reports no reason; a dead one restarts cleanly.
  await driver.stop(crashed);
  assert.deepEqual(await driver.inspect(crashed), { state: 'stopped' });
  assert.equal((await driver.start(crashed)).state, 'running');
  await waitForAgent(crashed);
});

test('stop and destroy work on a paused sandbox', async () => {
  const spec = await up();
  const { pid } = await driver.inspect(spec);
  await driver.pause(spec);
  await driver.stop(spec);
  assert.deepEqual(await driver.inspect(spec), { state: 'stopped' });
  assert.equal(alive(pid!), false);
  await driver.start(spec);
  await driver.pause(spec);
  await driver.destroy(spec);
  assert.deepEqual(await driver.inspect(spec), { state: 'absent' });
});

test('terminal devices work inside (the devices cgroup allows ptmx, pts and tty)', async () => {
  const spec = await up();
  const r = await shIn(spec, 'perl -e \'open(my $m, "+<", "/dev/ptmx") or die "ptmx: $!"; print "pty ok\\n"\'; '
    + 'head -c 4 /dev/urandom | wc -c; echo x > /dev/null && echo null ok');
  assert.equal(r.stdout, 'pty ok\n4\nnull ok\n', r.stderr);
});

/** What a reboot does to a sandbox's cgroup: gone with its children (the agent's workloads/ groups). */
function rmCgroupTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmCgroupTree(join(dir, e.name));
  rmdirSync(dir);
}

test('start converges after a host reboot wiped netns, cgroups and mounts', async () => {
  const spec = await up();
  await shIn(spec, 'echo survived > /root/reboot.txt');
  await driver.stop(spec);
  await deleteNetns({ netnsName: names.netns(spec.shortId), hostIf: names.hostVeth(spec.shortId) });
  for (const c of CONTROLLERS) rmCgroupTree(names.cgroupDir(c, spec.shortId));
  assert.equal((await driver.start(spec)).state, 'running');
  await waitForAgent(spec);
  assert.equal((await shIn(spec, 'cat /root/reboot.txt')).stdout, 'survived\n');
});

test('a leftover loop mount is found by listResidue and removed by destroyResidue', async () => {
  const spec = fresh();
  await driver.create(spec);
  await mountLayers(spec.stateDir, spec.image.layers, names.overlaySource(spec.shortId), spec.resources.diskMb);
  await run('umount', [statePaths(spec.stateDir).rootfs]); // overlay gone, loop fs still mounted
  await deleteNetns({ netnsName: names.netns(spec.shortId), hostIf: names.hostVeth(spec.shortId) });
  for (const c of CONTROLLERS) rmCgroupTree(names.cgroupDir(c, spec.shortId));
  assert.ok((await driver.listResidue()).includes(spec.shortId));
  await driver.destroyResidue(spec.shortId);
  assert.ok(!(await driver.listResidue()).includes(spec.shortId));
});

test('snapshots by streamed copy: consistent, frozen only for the copy; restore brings them back', async () => {
  assert.equal(driver.snapshots.copyOnWrite, false);
  const spec = await up();
  await shIn(spec, 'echo v1 > /root/data.txt');
  const t0 = performance.now();
  const snap = await driver.snapshot(spec, 'copy-1');
  const ms = performance.now() - t0;
  assert.equal(snap.copyOnWrite, false);
  assert.ok(snap.bytes > 0 && snap.frozenMs > 0 && snap.frozenMs <= ms + 1, JSON.stringify(snap));
  assert.equal((await driver.inspect(spec)).state, 'running', 'snapshot left the sandbox frozen');
  await shIn(spec, 'echo v2 > /root/data.txt');
  await assert.rejects(driver.restore(spec, { shortId: spec.shortId, snapshotId: 'copy-1' }), /stop it first/);
  await driver.stop(spec);
  await driver.restore(spec, { shortId: spec.shortId, snapshotId: 'copy-1' });
  await driver.start(spec);
  await waitForAgent(spec);
  assert.equal((await shIn(spec, 'cat /root/data.txt')).stdout, 'v1\n');
  await driver.deleteSnapshot({ shortId: spec.shortId, snapshotId: 'copy-1' });
  assert.ok(!(await driver.listSnapshots()).some((r) => r.snapshotId === 'copy-1'));
  console.log(`# streamed-copy snapshot of a running sandbox: ${ms.toFixed(0)} ms (frozen ${snap.frozenMs.toFixed(0)} ms)`);
});

test('recover thaws a layer a crashed snapshot left frozen', async () => {
  const spec = await up();
  await driver.syncLayer(spec);
  await run('fsfreeze', ['--freeze', statePaths(spec.stateDir).upperFs]);
  await driver.recover(spec);
  await driver.recover(spec); // idempotent
  assert.equal((await shIn(spec, 'echo ok > /root/after-recover && cat /root/after-recover', 5000)).stdout, 'ok\n');
});
