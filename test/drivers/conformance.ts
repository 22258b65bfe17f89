/**
 * Driver conformance suite: the behaviour every `Driver` must show, whatever its
 * isolation backend. Call `runDriverConformance` from a `*.test.ts` file with a driver
 * factory and a spec factory (fresh shortId / IP / stateDir per call; the spec's agent
 * bundle must be harness.ts's test agent, which runs POSTed argv inside the sandbox).
 * Every sandbox a test makes is destroyed in `after`, even when the test fails.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { canPause, type Driver, type SandboxSpec } from '../../src/drivers/driver.js';
import { execIn, health, shIn, waitForAgent } from './agent-client.js';
import type { SpecOverrides } from './harness.js';
import { isolationTests } from './conformance-isolation.js';
import { layerTests } from './conformance-layers.js';

export type SpecMaker = (overrides?: SpecOverrides) => SandboxSpec | Promise<SandboxSpec>;

export interface ConformanceContext {
  driver(): Driver;
  /** A spec that will be destroyed after the suite. */
  fresh(overrides?: SpecOverrides): Promise<SandboxSpec>;
  /** fresh + create + start + agent answering. */
  up(overrides?: SpecOverrides): Promise<SandboxSpec>;
  timings: Record<string, number[]>;
}

/** A live, non-zombie process (a killed child may stay a zombie until its parent reaps it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
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

export function runDriverConformance(name: string, makeDriver: () => Driver | Promise<Driver>, makeSpec: SpecMaker): void {
  describe(`driver conformance: ${name}`, () => {
    let driver: Driver;
    const made: SandboxSpec[] = [];
    const timings: Record<string, number[]> = {};
    const ctx: ConformanceContext = {
      driver: () => driver,
      fresh: async (o) => {
        const spec = await makeSpec(o);
        made.push(spec);
        return spec;
      },
      up: async (o) => {
        const spec = await ctx.fresh(o);
        await timed(timings, 'create', () => driver.create(spec));
        await timed(timings, 'start', () => driver.start(spec));
        await timed(timings, 'agent-ready', () => waitForAgent(spec));
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
      assert.ok(status.pid && alive(status.pid));
      assert.equal((await health(spec)).hostname, spec.hostname);
    });

    test('create and start are idempotent', async () => {
      const spec = await ctx.up();
      const first = await driver.inspect(spec);
      await driver.create(spec);
      const again = await driver.start(spec);
      assert.equal(again.state, 'running');
      assert.equal(again.pid, first.pid);
      assert.equal((await health(spec)).ok, true);
    });

    test('stop ends every process; restart keeps the writable layer', async () => {
      const spec = await ctx.up();
      const { pid } = await driver.inspect(spec);
      assert.equal((await shIn(spec, 'echo kept > /root/keep.txt && echo edited >> /etc/motd && sync')).code, 0);
      await timed(timings, 'stop', () => driver.stop(spec));
      assert.deepEqual(await driver.inspect(spec), { state: 'stopped' });
      assert.equal(alive(pid!), false, 'init process survived stop');
      await assert.rejects(health(spec, 300));
      await driver.stop(spec); // idempotent
      const restarted = await driver.start(spec);
      assert.equal(restarted.state, 'running');
      await waitForAgent(spec);
      assert.notEqual(restarted.pid, pid);
      const r = await shIn(spec, 'cat /root/keep.txt; tail -n1 /etc/motd');
      assert.equal(r.stdout, 'kept\nedited\n');
    });

    test('pause freezes every process; resume continues', async (t) => {
      if (!canPause(driver)) return t.skip('driver cannot pause');
      const d = driver;
      const spec = await ctx.up();
      const ticker = 'while :; do date +%s%N >> /root/ticks; sleep 0.02; done';
      await shIn(spec, `(${ticker}) </dev/null >/dev/null 2>&1 & echo $! > /root/ticker.pid`);
      await new Promise((r) => setTimeout(r, 200));
      await timed(timings, 'pause', () => d.pause(spec));
      assert.equal((await d.inspect(spec)).state, 'paused');
      await assert.rejects(health(spec, 300), 'agent answered while paused');
      await new Promise((r) => setTimeout(r, 700));
      await timed(timings, 'resume', () => d.resume(spec));
      assert.equal((await d.inspect(spec)).state, 'running');
      await new Promise((r) => setTimeout(r, 200));
      const ticks = (await shIn(spec, 'kill $(cat /root/ticker.pid); cat /root/ticks')).stdout
        .trim().split('\n').map((l) => Number(l) / 1e6);
      const gaps = ticks.slice(1).map((v, i) => v - ticks[i]!);
      assert.ok(Math.max(...gaps) >= 650, `largest tick gap ${Math.max(...gaps)} ms; ticker ran while paused`);
      assert.ok(ticks.length > 10, 'ticker did not tick after resume');
    });

    test('destroy is idempotent and leaves nothing', async () => {
      const spec = await ctx.up();
      const { pid } = await driver.inspect(spec);
      await timed(timings, 'destroy', () => driver.destroy(spec));
      await driver.destroy(spec);
      assert.deepEqual(await driver.inspect(spec), { state: 'absent' });
      assert.equal(alive(pid!), false);
      assert.ok(!(await driver.listResidue()).includes(spec.shortId));
    });

    test('destroy cleans a half-made sandbox', async () => {
      const created = await ctx.fresh();
      await driver.create(created); // created, never started
      await driver.destroy(created);
      assert.deepEqual(await driver.inspect(created), { state: 'absent' });
      const broken = await ctx.fresh({ network: { bridge: 'wtAmissing0' } });
      await assert.rejects(driver.create(broken)); // fails half-way through
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
      assert.ok(!(await driver.listResidue()).includes(spec.shortId));
      assert.equal(alive(pid!), false, 'orphan process survived destroyResidue');
      await driver.destroy(spec); // the record's files: still removable afterwards
      assert.deepEqual(await driver.inspect(spec), { state: 'absent' });
    });

    test('stats are sane', async () => {
      const spec = await ctx.up({ resources: { memoryMb: 256, diskMb: 128 } });
      await execIn(spec, ['/bin/true']);
      const s = await driver.stats(spec);
      const MiB = 1024 * 1024;
      assert.ok(s.cpuUsageNs > 0, 'cpu');
      assert.equal(s.memoryLimitBytes, 256 * MiB);
      assert.ok(s.memoryBytes > MiB && s.memoryBytes <= s.memoryLimitBytes, `memory ${s.memoryBytes}`);
      assert.ok(s.pids >= 2, `pids ${s.pids}`);
      assert.ok(s.diskLimitBytes > 100 * MiB && s.diskLimitBytes <= 128 * MiB, `disk limit ${s.diskLimitBytes}`);
      assert.ok(s.diskUsedBytes >= 0 && s.diskUsedBytes < s.diskLimitBytes);
      assert.ok(s.networkRxBytes > 0 && s.networkTxBytes > 0, 'network counters');
    });

    test('updateResources changes memory, cpu and pids limits live', async () => {
      const spec = await ctx.up({ resources: { memoryMb: 256, cpus: 1, pids: 256 } });
      await driver.updateResources({ ...spec, resources: { ...spec.resources, memoryMb: 320, cpus: 0.2 } });
      assert.equal((await driver.stats(spec)).memoryLimitBytes, 320 * 1024 * 1024);
      const before = (await driver.stats(spec)).cpuUsageNs;
      await shIn(spec, 'timeout 1 sh -c "while :; do :; done"');
      const used = ((await driver.stats(spec)).cpuUsageNs - before) / 1e9;
      assert.ok(used < 0.5, `busy second used ${used.toFixed(2)} CPU-s with cpus=0.2`);
      await driver.updateResources({ ...spec, resources: { ...spec.resources, pids: 40 } });
      const r = await shIn(spec, 'for i in $(seq 1 60); do sleep 2 & done; wait; echo finished');
      assert.match(r.stderr, /fork|resource temporarily unavailable/i, 'pids limit not enforced');
      await driver.updateResources(spec);
      await new Promise((res) => setTimeout(res, 2200));
      assert.equal((await shIn(spec, 'echo ok')).stdout, 'ok\n');
    });

    isolationTests(ctx);
    layerTests(ctx);
  });
}
