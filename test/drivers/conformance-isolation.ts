/**
 * Conformance, host part: for drivers that isolate (`capabilities.isolation`), with the
 * shell test agent. `hostTests`: limits and freezing the kernel enforces on real
 * processes. `isolationTests`: what one sandbox must not be able to do to another or to
 * the host — see each other's files or processes, share a hostname, take the host's
 * memory or disk. Registered by `runDriverConformance` inside its describe block;
 * skipped for a driver that does not isolate.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { hostname as hostHostname } from 'node:os';
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { canPause } from '../../src/drivers/driver.js';
import type { ConformanceContext } from './conformance.js';
import { execIn, health, shIn } from './agent-client.js';

const MiB = 1024 * 1024;

/** True when the driver isolates; otherwise marks the test skipped. */
export function isolating(ctx: ConformanceContext, t: TestContext): boolean {
  if (ctx.driver().capabilities.isolation) return true;
  t.skip('driver does not isolate');
  return false;
}

export function hostTests(ctx: ConformanceContext): void {
  test('an edit of an image file survives a restart', async (t) => {
    if (!isolating(ctx, t)) return;
    const d = ctx.driver();
    const spec = await ctx.up();
    assert.equal((await shIn(spec, 'echo edited >> /etc/motd && sync')).code, 0);
    await d.stop(spec);
    await d.start(spec);
    await ctx.probe.waitForAgent(spec);
    assert.equal((await shIn(spec, 'tail -n1 /etc/motd')).stdout, 'edited\n');
  });

  test('pause freezes every process; resume continues', async (t) => {
    if (!isolating(ctx, t)) return;
    const d = ctx.driver();
    if (!canPause(d)) return t.skip('driver cannot pause');
    const spec = await ctx.up();
    const ticker = 'while :; do date +%s%N >> /root/ticks; sleep 0.02; done';
    await shIn(spec, `(${ticker}) </dev/null >/dev/null 2>&1 & echo $! > /root/ticker.pid`);
    await new Promise((r) => setTimeout(r, 200));
    await d.pause(spec);
    await new Promise((r) => setTimeout(r, 700));
    await d.resume(spec);
    await new Promise((r) => setTimeout(r, 200));
    const ticks = (await shIn(spec, 'kill $(cat /root/ticker.pid); cat /root/ticks')).stdout
      .trim().split('\n').map((l) => Number(l) / 1e6);
    const gaps = ticks.slice(1).map((v, i) => v - ticks[i]!);
    assert.ok(Math.max(...gaps) >= 650, `largest tick gap ${Math.max(...gaps)} ms; ticker ran while paused`);
    assert.ok(ticks.length > 10, 'ticker did not tick after resume');
  });

  test('updateResources enforces cpu and pids limits live', async (t) => {
    if (!isolating(ctx, t)) return;
    const driver = ctx.driver();
    const spec = await ctx.up({ resources: { memoryMb: 256, cpus: 1, pids: 256 } });
    await driver.updateResources({ ...spec, resources: { ...spec.resources, cpus: 0.2 } });
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
}

export function isolationTests(ctx: ConformanceContext): void {
  test('two sandboxes cannot see each other\'s files or processes', async (t) => {
    if (!isolating(ctx, t)) return;
    const a = await ctx.up();
    const b = await ctx.up();
    const marker = String(40000 + Math.floor(Math.random() * 20000));
    await shIn(a, `echo secret > /root/only-in-a; (sleep ${marker} </dev/null >/dev/null 2>&1 &)`);
    assert.equal((await shIn(a, 'cat /root/only-in-a')).stdout, 'secret\n');
    assert.notEqual((await execIn(b, ['/bin/cat', '/root/only-in-a'])).code, 0, 'B reads A\'s file');
    const inB = await shIn(b, 'cat /proc/[0-9]*/cmdline | tr "\\0" " "');
    assert.doesNotMatch(inB.stdout, new RegExp(`sleep ${marker}`), 'B sees A\'s process');
    const inA = await shIn(a, 'cat /proc/[0-9]*/cmdline | tr "\\0" " "');
    assert.match(inA.stdout, new RegExp(`sleep ${marker}`));
    // Neither sees the host: this test runner's own command line is invisible.
    assert.doesNotMatch(inA.stdout + inB.stdout, /--test|tsx/);
  });

  test('hostname is per sandbox and leaves the host alone', async (t) => {
    if (!isolating(ctx, t)) return;
    const before = hostHostname();
    const a = await ctx.up();
    const b = await ctx.up();
    assert.equal((await execIn(a, ['/bin/hostname'])).stdout.trim(), a.hostname);
    assert.equal((await execIn(b, ['/bin/hostname'])).stdout.trim(), b.hostname);
    assert.notEqual(a.hostname, b.hostname);
    assert.equal((await health(a)).hostname, a.hostname);
    assert.equal(hostHostname(), before);
  });

  test('memory over the limit is OOM-killed while another sandbox keeps running', async (t) => {
    if (!isolating(ctx, t)) return;
    const a = await ctx.up({ resources: { memoryMb: 192 } });
    const b = await ctx.up();
    const hog = 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));';
    let outcome: string;
    try {
      const r = await execIn(a, ['/.warren/runtime/bin/node', '-e', hog], { timeoutMs: 30_000 });
      outcome = r.signal ?? `exit ${r.code}`;
    } catch {
      outcome = 'agent killed'; // the kernel may pick the agent; still inside A only
    }
    assert.ok(outcome === 'SIGKILL' || outcome === 'agent killed' || outcome === 'exit 137', `hog ended by ${outcome}`);
    assert.equal((await health(b)).ok, true, 'other sandbox hurt by the OOM');
    assert.equal((await ctx.driver().inspect(b)).state, 'running');
    assert.equal((await shIn(b, 'echo alive')).stdout, 'alive\n');
    const s = await ctx.driver().stats(a);
    assert.ok(s.memoryBytes <= 192 * MiB);
  });

  test('a full writable layer gives ENOSPC inside, not a full host disk', async (t) => {
    if (!isolating(ctx, t)) return;
    const spec = await ctx.up({ resources: { diskMb: 64 } });
    const host = (): number => {
      const s = statfsSync(dirname(spec.stateDir));
      return s.bavail * s.bsize;
    };
    const freeBefore = host();
    const r = await shIn(spec, 'dd if=/dev/zero of=/root/fill bs=1M count=256 2>&1; echo rc=$?', 60_000);
    assert.match(r.stdout, /No space left on device/);
    assert.doesNotMatch(r.stdout, /rc=0/);
    const used = (await ctx.driver().stats(spec)).diskUsedBytes;
    assert.ok(used > 50 * MiB && used <= 64 * MiB, `layer used ${used}`);
    assert.ok(freeBefore - host() < 80 * MiB, `host disk lost ${(freeBefore - host()) / MiB} MiB`);
    assert.equal((await shIn(spec, 'rm /root/fill && echo ok > /root/after && cat /root/after')).stdout, 'ok\n');
  });
}
