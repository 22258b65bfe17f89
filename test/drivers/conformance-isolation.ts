/**
 * Conformance, part two: what one sandbox must not be able to do to another or to the
 * host — see each other's files or processes, share a hostname, take the host's memory
 * or disk. Registered by `runDriverConformance` inside its describe block.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname as hostHostname } from 'node:os';
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ConformanceContext } from './conformance.js';
import { execIn, health, shIn } from './agent-client.js';

const MiB = 1024 * 1024;

export function isolationTests(ctx: ConformanceContext): void {
  test('two sandboxes cannot see each other\'s files or processes', async () => {
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

  test('hostname is per sandbox and leaves the host alone', async () => {
    const before = hostHostname();
    const a = await ctx.up();
    const b = await ctx.up();
    assert.equal((await execIn(a, ['/bin/hostname'])).stdout.trim(), a.hostname);
    assert.equal((await execIn(b, ['/bin/hostname'])).stdout.trim(), b.hostname);
    assert.notEqual(a.hostname, b.hostname);
    assert.equal((await health(a)).hostname, a.hostname);
    assert.equal(hostHostname(), before);
  });

  test('memory over the limit is OOM-killed while another sandbox keeps running', async () => {
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

  test('a full writable layer gives ENOSPC inside, not a full host disk', async () => {
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
