/**
 * Driver conformance suite. Its behavioural part — lifecycle states, idempotency,
 * inspect and stats shapes, residue, resources, snapshot/restore where supported — runs
 * against every `Driver`, looking inside sandboxes only through a SandboxProbe
 * (probe.ts). Its host part (conformance-isolation.ts: isolation, limits enforced by the
 * kernel; conformance-layers.ts: the writable layer in depth) needs a driver that
 * isolates (`capabilities.isolation`) and the shell test agent, and skips otherwise.
 *
 * Call `runDriverConformance` from a `*.test.ts` file with a driver factory, a spec
 * factory (fresh shortId / IP / stateDir per call) and the probe. Every sandbox a test
 * makes is destroyed in `after`, even when the test fails.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { canPause, canSnapshot, type Driver, type SandboxSpec } from '../../src/drivers/driver.js';
import type { SpecOverrides } from './harness.js';
import type { SandboxProbe } from './probe.js';
import { hostTests, isolationTests } from './conformance-isolation.js';
import { layerTests } from './conformance-layers.js';

export type SpecMaker = (overrides?: SpecOverrides) => SandboxSpec | Promise<SandboxSpec>;

export interface ConformanceOptions {
  probe: SandboxProbe;
  /** Overrides that make this driver's `create` fail (e.g. a bridge that does not exist). */
  broken: SpecOverrides;
}

export interface ConformanceContext {
  driver(): Driver;
  probe: SandboxProbe;
  /** A spec that will be destroyed after the suite. */
  fresh(overrides?: SpecOverrides): Promise<SandboxSpec>;
  /** fresh + create + start + agent answering. */
  up(overrides?: SpecOverrides): Promise<SandboxSpec>;
  timings: Record<string, number[]>;
}

async function timed<T>(timings: Record<string, number[]>, key: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  (timings[key] ??= []).push(performance.now() - t0);
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

export function runDriverConformance(name: string, makeDriver: () => Driver | Promise<Driver>, makeSpec: SpecMaker,
  opts: ConformanceOptions): void {
  describe(`driver conformance: ${name}`, () => {
    let driver: Driver;
    const made: SandboxSpec[] = [];
    const timings: Record<string, number[]> = {};
    const probe = opts.probe;
    const ctx: ConformanceContext = {
      driver: () => driver,
      probe,
      fresh: async (o) => {
        const spec = await makeSpec(o);
        made.push(spec);
        return spec;
      },
      up: async (o) => {
        const spec = await ctx.fresh(o);
        await timed(timings, 'create', () => driver.create(spec));
        await timed(timings, 'start', () => driver.start(spec));
        await timed(timings, 'agent-ready', () => probe.waitForAgent(spec));
        return spec;
      },
      timings,
    };

    before(async () => {
      driver = await makeDriver();
      await driver.prepare();
    });

    after(async () => {
      const failures: unknown[] = [];
      for (const spec of made) await driver.destroy(spec).catch((err: unknown) => failures.push(err));
      const summary = Object.entries(timings).map(([k, v]) => `${k} median ${median(v).toFixed(1)} ms (n=${v.length})`);
      console.log(`# ${name} timings: ${summary.join('; ')}`);
      assert.deepEqual(failures, [], 'destroy in cleanup failed');
    });

    test('create, start and inspect: running with a pid, agent answers', async () => {
      const spec = await ctx.up();
      const status = await driver.inspect(spec);
      assert.equal(status.state, 'running');
      assert.ok(status.pid && probe.alive(status.pid));
      assert.equal((await probe.health(spec)).hostname, spec.hostname);
    });

    test('inspect of a sandbox never made is absent', async () => {
      assert.deepEqual(await driver.inspect(await ctx.fresh()), { state: 'absent' });
    });

    test('create and start are idempotent', async () => {
      const spec = await ctx.up();
      const first = await driver.inspect(spec);
      await driver.create(spec);
      const again = await driver.start(spec);
      assert.equal(again.state, 'running');
      assert.equal(again.pid, first.pid);
      assert.equal((await probe.health(spec)).ok, true);
    });

    test('stop ends every process; restart keeps the writable layer', async () => {
      const spec = await ctx.up();
      const { pid } = await driver.inspect(spec);
      await probe.writeFile(spec, '/root/keep.txt', 'kept\n');
      await timed(timings, 'stop', () => driver.stop(spec));
      assert.deepEqual(await driver.inspect(spec), { state: 'stopped' });
      assert.equal(probe.alive(pid!), false, 'init process survived stop');
      await assert.rejects(probe.health(spec, 300));
      await driver.stop(spec); // idempotent
      const restarted = await driver.start(spec);
      assert.equal(restarted.state, 'running');
      await probe.waitForAgent(spec);
      assert.notEqual(restarted.pid, pid);
      assert.equal(await probe.readFile(spec, '/root/keep.txt'), 'kept\n');
    });

    test('pause stops the agent answering; resume brings it back; both idempotent', async (t) => {
      if (!canPause(driver)) return t.skip('driver cannot pause');
      const d = driver;
      const spec = await ctx.up();
      const { pid } = await d.inspect(spec);
      await timed(timings, 'pause', () => d.pause(spec));
      await d.pause(spec);
      assert.equal((await d.inspect(spec)).state, 'paused');
      assert.equal(probe.alive(pid!), true, 'a paused sandbox keeps its processes');
      await assert.rejects(probe.health(spec, 300), 'agent answered while paused');
      await timed(timings, 'resume', () => d.resume(spec));
      await d.resume(spec);
      const resumed = await d.inspect(spec);
      assert.deepEqual([resumed.state, resumed.pid], ['running', pid]);
      assert.equal((await probe.health(spec)).ok, true);
    });

    test('destroy is idempotent and leaves nothing', async () => {
      const spec = await ctx.up();
      const { pid } = await driver.inspect(spec);
      await timed(timings, 'destroy', () => driver.destroy(spec));
      await driver.destroy(spec);
      assert.deepEqual(await driver.inspect(spec), { state: 'absent' });
      assert.equal(probe.alive(pid!), false);
      assert.ok(!(await driver.listResidue()).includes(spec.shortId));
    });

    test('destroy cleans a half-made sandbox', async () => {
      const created = await ctx.fresh();
      await driver.create(created); // created, never started
      assert.equal((await driver.inspect(created)).state, 'stopped');
      await driver.destroy(created);
      assert.deepEqual(await driver.inspect(created), { state: 'absent' });
      const broken = await ctx.fresh(opts.broken);
      await assert.rejects(driver.create(broken)); // fails before it is whole
      await driver.destroy(broken);
      await driver.destroy(broken);
      assert.deepEqual(await driver.inspect(broken), { state: 'absent' });
      assert.ok(!(await driver.listResidue()).includes(broken.shortId));
    });

    test('listResidue finds an orphan and destroyResidue removes it', async () => {
      const spec = await ctx.up();
      const { pid } = await driver.inspect(spec);
      assert.ok((await driver.listResidue()).includes(spec.shortId));
      await driver.destroyResidue(spec.shortId);
      await driver.destroyResidue(spec.shortId); // idempotent
      assert.ok(!(await driver.listResidue()).includes(spec.shortId));
      assert.equal(probe.alive(pid!), false, 'orphan process survived destroyResidue');
      await driver.destroy(spec); // the record's files: still removable afterwards
      assert.deepEqual(await driver.inspect(spec), { state: 'absent' });
    });

    test('stats are sane', async () => {
      const spec = await ctx.up({ resources: { memoryMb: 256, diskMb: 128 } });
      await probe.writeFile(spec, '/root/stats.txt', 'x'.repeat(4096));
      const s = await driver.stats(spec);
      const MiB = 1024 * 1024;
      for (const [k, v] of Object.entries(s)) assert.ok(Number.isFinite(v) && v >= 0, `${k} = ${v}`);
      assert.ok(s.cpuUsageNs > 0, 'cpu');
      assert.equal(s.memoryLimitBytes, 256 * MiB);
      assert.ok(s.memoryBytes > MiB && s.memoryBytes <= s.memoryLimitBytes, `memory ${s.memoryBytes}`);
      assert.ok(s.pids >= 2, `pids ${s.pids}`);
      assert.ok(s.diskLimitBytes > 100 * MiB && s.diskLimitBytes <= 128 * MiB, `disk limit ${s.diskLimitBytes}`);
      assert.ok(s.diskUsedBytes >= 0 && s.diskUsedBytes < s.diskLimitBytes);
      assert.ok(s.networkRxBytes > 0 && s.networkTxBytes > 0, 'network counters');
    });

    test('updateResources changes the memory limit live and grows the disk quota', async () => {
      const MiB = 1024 * 1024;
      const spec = await ctx.up({ resources: { memoryMb: 256, cpus: 1, diskMb: 128 } });
      await driver.updateResources({ ...spec, resources: { ...spec.resources, memoryMb: 320, diskMb: 192 } });
      const s = await driver.stats(spec);
      assert.equal(s.memoryLimitBytes, 320 * MiB);
      assert.ok(s.diskLimitBytes > 160 * MiB && s.diskLimitBytes <= 192 * MiB, `disk limit ${s.diskLimitBytes}`);
      assert.equal((await probe.health(spec)).ok, true, 'the sandbox kept running');
    });

    test('snapshot and restore bring back the layer; a seeded sandbox starts from it', async (t) => {
      if (!canSnapshot(driver)) return t.skip('driver cannot snapshot');
      const d = driver;
      const spec = await ctx.up();
      await probe.writeFile(spec, '/root/v', 'one\n');
      await d.snapshot(spec, 'conf-1');
      await probe.writeFile(spec, '/root/v', 'two\n');
      const ref = { shortId: spec.shortId, snapshotId: 'conf-1' };
      assert.ok((await d.listSnapshots()).some((r) => r.shortId === ref.shortId && r.snapshotId === ref.snapshotId));
      const fork = await ctx.up({ seed: ref });
      assert.equal(await probe.readFile(fork, '/root/v'), 'one\n');
      await d.stop(spec);
      await d.restore(spec, ref);
      await d.start(spec);
      await probe.waitForAgent(spec);
      assert.equal(await probe.readFile(spec, '/root/v'), 'one\n');
      await d.deleteSnapshot(ref);
      await d.deleteSnapshot(ref); // idempotent
      assert.ok(!(await d.listSnapshots()).some((r) => r.shortId === ref.shortId && r.snapshotId === ref.snapshotId));
    });

    hostTests(ctx);
    isolationTests(ctx);
    layerTests(ctx);
  });
}
