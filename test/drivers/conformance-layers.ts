/**
 * Conformance, part three: the writable layer as an object (SnapshotDriver) — point-in-
 * time snapshots, restore, fork seeds, tar export/import with their failure modes,
 * the list of changes, online growth of the disk quota and limits visible inside.
 * Drivers without the ability, or that do not isolate (these run shell scripts inside
 * through the test agent), skip these. Registered by `runDriverConformance`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { canSnapshot, LayerError, type SandboxSpec, type SnapshotDriver } from '../../src/drivers/driver.js';
import type { ConformanceContext } from './conformance.js';
import { shIn, waitForAgent } from './agent-client.js';

const MiB = 1024 * 1024;
/** A tree of 200 files with random contents, and a script printing its hash. */
const MAKE_TREE = 'mkdir -p /root/tree && for i in $(seq 1 200); do head -c $((i * 37)) /dev/urandom > /root/tree/f$i; done';
const TREE_HASH = 'cd /root/tree && find . -type f | sort | xargs sha256sum | sha256sum';

async function treeHash(spec: SandboxSpec): Promise<string> {
  return (await shIn(spec, TREE_HASH)).stdout.trim();
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function restart(d: SnapshotDriver, spec: SandboxSpec): Promise<void> {
  await d.start(spec);
  await waitForAgent(spec);
}

export function layerTests(ctx: ConformanceContext): void {
  const driver = (t: { skip(msg: string): void }): SnapshotDriver | null => {
    const d = ctx.driver();
    if (!d.capabilities.isolation) {
      t.skip('driver does not isolate');
      return null;
    }
    if (canSnapshot(d)) return d;
    t.skip('driver cannot snapshot');
    return null;
  };

  test('snapshot of a running sandbox is the filesystem of that instant; restore brings it back', async (t) => {
    const d = driver(t);
    if (!d) return;
    const spec = await ctx.up();
    await shIn(spec, MAKE_TREE);
    const before = await treeHash(spec);
    const snap = await d.snapshot(spec, 'live-1');
    assert.equal(snap.copyOnWrite, d.snapshots.copyOnWrite);
    assert.ok(snap.frozenMs > 0, 'a live snapshot freezes the sandbox');
    assert.equal((await d.inspect(spec)).state, 'running');
    await shIn(spec, 'rm /root/tree/f1 && echo changed > /root/tree/f2 && echo new > /root/tree/extra');
    assert.notEqual(await treeHash(spec), before);
    await d.stop(spec);
    await d.restore(spec, { shortId: spec.shortId, snapshotId: 'live-1' });
    await restart(d, spec);
    assert.equal(await treeHash(spec), before);
    assert.ok((await d.listSnapshots()).some((r) => r.shortId === spec.shortId && r.snapshotId === 'live-1'));
    await d.deleteSnapshot({ shortId: spec.shortId, snapshotId: 'live-1' });
    await d.deleteSnapshot({ shortId: spec.shortId, snapshotId: 'live-1' }); // idempotent
    assert.ok(!(await d.listSnapshots()).some((r) => r.snapshotId === 'live-1'));
  });

  test('snapshot of a stopped sandbox, and keepFrozen leaves a live one paused', async (t) => {
    const d = driver(t);
    if (!d) return;
    const spec = await ctx.up();
    await shIn(spec, 'echo one > /root/v');
    const frozen = await d.snapshot(spec, 'frozen', { keepFrozen: true });
    assert.ok(frozen.frozenMs > 0);
    assert.equal((await d.inspect(spec)).state, 'paused');
    await d.stop(spec);
    const cold = await d.snapshot(spec, 'cold');
    assert.equal(cold.frozenMs, 0);
    await restart(d, spec);
    await shIn(spec, 'echo two > /root/v');
    await d.stop(spec);
    await d.restore(spec, { shortId: spec.shortId, snapshotId: 'cold' });
    await restart(d, spec);
    assert.equal((await shIn(spec, 'cat /root/v')).stdout, 'one\n');
  });

  test('a seeded sandbox starts from the snapshot; writes stay private to each side', async (t) => {
    const d = driver(t);
    if (!d) return;
    const source = await ctx.up();
    await shIn(source, MAKE_TREE);
    const hash = await treeHash(source);
    await d.snapshot(source, 'seed');
    const seed = { shortId: source.shortId, snapshotId: 'seed' };
    const a = await ctx.up({ seed });
    const b = await ctx.up({ seed });
    assert.equal(await treeHash(a), hash);
    assert.equal(await treeHash(b), hash);
    await shIn(a, 'echo a > /root/tree/f1');
    await shIn(source, 'echo s > /root/tree/f2');
    assert.equal(await treeHash(b), hash, 'a fork saw another side\'s write');
    assert.equal((await shIn(source, 'cat /root/tree/f1 | wc -c')).stdout.trim(), '37');
    await d.deleteSnapshot(seed);
    await d.stop(a);
    await restart(d, a); // the seed is gone; the fork's own layer stays
    assert.equal((await shIn(a, 'cat /root/tree/f1')).stdout, 'a\n');
  });

  test('layer export → import restores files, deletions and metadata in another sandbox', async (t) => {
    const d = driver(t);
    if (!d) return;
    const source = await ctx.up();
    await shIn(source, `${MAKE_TREE} && rm /etc/motd && chmod 4711 /root/tree/f3 && ln -s /etc/hostname /root/link && mkfifo /root/fifo `
      + '&& touch "$(printf \'/root/we\\nird\\tname\')"');
    const hash = await treeHash(source);
    await d.snapshot(source, 'exp');
    const exp = await d.exportTar(source, { shortId: source.shortId, snapshotId: 'exp' }, {});
    const tar = await collect(exp.stream);
    await exp.done;
    const target = await ctx.up();
    await shIn(target, 'echo stale > /root/stale');
    await d.stop(target);
    await d.importTar(target, Readable.from([tar]), 'layer');
    await restart(d, target);
    assert.equal(await treeHash(target), hash);
    const r = await shIn(target, 'test -e /etc/motd && echo motd; stat -c %a /root/tree/f3; readlink /root/link; '
      + 'test -p /root/fifo && echo fifo; test -e /root/stale && echo stale');
    assert.equal(r.stdout, '4711\n/etc/hostname\nfifo\n', 'deleted image file, mode, link, fifo, replaced layer');
    const changes = await d.listChanges(target, 10_000);
    assert.ok(changes.entries.some((e) => e.path === '/etc/motd' && e.type === 'deleted'), 'whiteout listed');
    assert.ok(changes.entries.some((e) => e.path === '/root/tree/f9' && e.type === 'file' && e.size === 9 * 37));
    assert.ok(changes.entries.some((e) => e.path === '/root/we\nird\tname' && e.type === 'file'), 'a name with a newline and a tab');
    const few = await d.listChanges(target, 3);
    assert.equal(few.entries.length, 3);
    assert.equal(few.truncated, true);
    await d.deleteSnapshot({ shortId: source.shortId, snapshotId: 'exp' });
  });

  test('paths export → files import merges those paths; a missing path is a LayerError', async (t) => {
    const d = driver(t);
    if (!d) return;
    const source = await ctx.up();
    await shIn(source, 'mkdir -p /srv/app/cache && echo code > /srv/app/main && echo junk > /srv/app/cache/x && echo cfg > /etc/app.conf');
    await d.snapshot(source, 'paths');
    const ref = { shortId: source.shortId, snapshotId: 'paths' };
    await assert.rejects(d.exportTar(source, ref, { paths: ['/srv/nope'] }),
      (err: unknown) => err instanceof LayerError && err.reason === 'path_missing' && err.path === '/srv/nope');
    const exp = await d.exportTar(source, ref, { paths: ['/srv/app', '/etc/app.conf'], exclude: ['/srv/app/cache'] });
    const tar = await collect(exp.stream);
    await exp.done;
    const target = await ctx.up();
    await shIn(target, 'echo mine > /root/keep');
    await d.stop(target);
    await d.importTar(target, Readable.from([tar]), 'files');
    await restart(d, target);
    const r = await shIn(target, 'cat /srv/app/main /etc/app.conf /root/keep; test -e /srv/app/cache && echo cache');
    assert.equal(r.stdout, 'code\ncfg\nmine\n');
    await d.deleteSnapshot(ref);
  });

  test('a broken or oversized import leaves the old layer untouched', async (t) => {
    const d = driver(t);
    if (!d) return;
    const source = await ctx.up({ resources: { diskMb: 256 } });
    await shIn(source, 'head -c 100000000 /dev/urandom > /root/big');
    await d.snapshot(source, 'big');
    const exp = await d.exportTar(source, { shortId: source.shortId, snapshotId: 'big' }, { paths: ['/root/big'] });
    const tar = await collect(exp.stream);
    await exp.done;
    const spec = await ctx.up({ resources: { diskMb: 64 } });
    await shIn(spec, 'echo intact > /root/v');
    await d.stop(spec);
    await assert.rejects(d.importTar(spec, Readable.from([tar.subarray(0, 1_000_000)]), 'layer'),
      (err: unknown) => err instanceof LayerError && err.reason === 'bad_archive');
    await assert.rejects(d.importTar(spec, Readable.from([tar]), 'files'),
      (err: unknown) => err instanceof LayerError && err.reason === 'no_space');
    await restart(d, spec);
    assert.equal((await shIn(spec, 'cat /root/v; test -e /root/big && echo big')).stdout, 'intact\n');
    await d.deleteSnapshot({ shortId: source.shortId, snapshotId: 'big' });
  });

  test('the disk quota grows online; limits are readable inside through the cgroup', async (t) => {
    const d = driver(t);
    if (!d) return;
    const spec = await ctx.up({ resources: { diskMb: 64, memoryMb: 256 } });
    const fill = 'dd if=/dev/zero of=/root/fill bs=1M count=100 2>&1; echo rc=$?';
    assert.match((await shIn(spec, fill, 60_000)).stdout, /No space left on device/);
    await d.updateResources({ ...spec, resources: { ...spec.resources, diskMb: 256, memoryMb: 320 } });
    assert.match((await shIn(spec, `rm /root/fill; ${fill}`, 60_000)).stdout, /rc=0/);
    const s = await d.stats(spec);
    assert.ok(s.diskLimitBytes > 250 * MiB && s.diskLimitBytes <= 256 * MiB, `limit ${s.diskLimitBytes}`);
    const inside = await shIn(spec, 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes; echo rc=$?');
    assert.match(inside.stdout, new RegExp(`^${320 * MiB}\\nrc=[1-9]`));
  });
}
