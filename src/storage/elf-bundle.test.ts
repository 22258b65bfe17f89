/**
 * ELF bundles with the real patchelf and ldd on the host's own programs. The bundles here
 * are "mounted" where they are built (`mount` = the stable link), so the bundled programs
 * run on the host through their new interpreter and RPATH.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureElfBundle, parseLdd, type ElfBundleRecipe } from './elf-bundle.js';

const GZIP = '/bin/gzip';
const LIBACL = '/lib/x86_64-linux-gnu/libacl.so.1';
const BUSYBOX = '/usr/bin/busybox'; // static (busybox-static)

function tempRoot(t: { after(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'wtest-elf-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

function recipe(root: string, files: ElfBundleRecipe['files']): ElfBundleRecipe {
  return { format: 'test-bundle-1', mount: join(root, 'bundle'), files };
}

const patchelf = (...args: string[]) => execFileSync('patchelf', args, { encoding: 'utf8' }).trim();

test('parseLdd: resolved libraries only; a missing one is an error', () => {
  const out = '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f01)\n'
    + '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f02)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f03)\n';
  assert.deepEqual(parseLdd('x', out), ['/lib/x86_64-linux-gnu/libz.so.1', '/lib/x86_64-linux-gnu/libc.so.6']);
  assert.throws(() => parseLdd('/bin/x', '\tlibgone.so.3 => not found\n'), /\/bin\/x needs libgone\.so\.3/);
});

test('a program, a library and a static program: copied, patched, libraries and loader alongside', async (t) => {
  const root = tempRoot(t);
  const r = recipe(root, [
    { src: GZIP, name: 'bin/gzip', kind: 'program' },
    { src: LIBACL, name: 'addons/acl.so', kind: 'library' },
    { src: BUSYBOX, name: 'bin/busybox', kind: 'program' },
  ]);
  const b = await ensureElfBundle(root, r);
  assert.equal(b.built, true);
  assert.equal(b.link, join(root, 'bundle'));
  assert.equal(readlinkSync(b.link), b.version);
  const lib = `${r.mount}/lib`;
  assert.equal(patchelf('--print-interpreter', join(b.link, 'bin/gzip')), `${lib}/ld-linux-x86-64.so.2`);
  assert.equal(patchelf('--print-rpath', join(b.link, 'bin/gzip')), lib);
  assert.equal(patchelf('--print-rpath', join(b.link, 'addons/acl.so')), lib);
  assert.equal(statSync(join(b.link, 'addons/acl.so')).mode & 0o777, 0o644);
  assert.deepEqual(readFileSync(join(b.link, 'bin/busybox')), readFileSync(BUSYBOX), 'a static program is copied as it is');
  const libs = readdirSync(join(b.link, 'lib')).sort();
  for (const want of ['ld-linux-x86-64.so.2', 'libc.so.6']) assert.ok(libs.includes(want), `${want} in ${libs}`);
  assert.ok(existsSync(join(b.link, '.complete')));
  // The bundled gzip runs, and its loader takes every library from the bundle (not the host's).
  assert.equal(execFileSync(join(b.link, 'bin/gzip'), ['-c'], { input: 'hi\n' }).subarray(0, 2).toString('hex'), '1f8b');
  const trace = spawnSync(join(b.link, 'bin/gzip'), [], { env: { LD_TRACE_LOADED_OBJECTS: '1' }, encoding: 'utf8' }).stdout;
  assert.match(trace, new RegExp(`libc\\.so\\.6 => ${lib}/libc\\.so\\.6`));
  assert.doesNotMatch(trace, /=> \/(usr\/)?lib\//);
});

test('current: nothing rebuilt; a changed input: a new version, the old one kept', async (t) => {
  const root = tempRoot(t);
  const first = await ensureElfBundle(root, recipe(root, [{ src: GZIP, name: 'gzip', kind: 'program' }]));
  const again = await ensureElfBundle(root, recipe(root, [{ src: GZIP, name: 'gzip', kind: 'program' }]));
  assert.deepEqual(again, { ...first, built: false });
  const other = await ensureElfBundle(root, recipe(root, [{ src: '/bin/tar', name: 'gzip', kind: 'program' }]));
  assert.notEqual(other.version, first.version);
  assert.equal(readlinkSync(other.link), other.version);
  assert.ok(existsSync(join(root, first.version, '.complete')), 'a running sandbox may still bind the old version');
});

test('concurrent builders of one version both succeed and leave one directory', async (t) => {
  const root = tempRoot(t);
  const r = recipe(root, [{ src: GZIP, name: 'gzip', kind: 'program' }]);
  const [a, b] = await Promise.all([ensureElfBundle(root, r), ensureElfBundle(root, r)]);
  assert.equal(a.version, b.version);
  assert.deepEqual(readdirSync(root).sort(), ['bundle', a.version]);
});

test('debris of a dead builder is swept; a live one\'s is left alone; a failed build leaves nothing', async (t) => {
  const root = tempRoot(t);
  const dead = spawnSync('true').pid;
  const live = process.ppid;
  mkdirSync(join(root, `bundle-aaaa.tmp-${dead}-0badc0de`));
  mkdirSync(join(root, `bundle-bbbb.tmp-${live}-0badc0de`));
  await ensureElfBundle(root, recipe(root, [{ src: GZIP, name: 'gzip', kind: 'program' }]));
  assert.ok(!existsSync(join(root, `bundle-aaaa.tmp-${dead}-0badc0de`)));
  assert.ok(existsSync(join(root, `bundle-bbbb.tmp-${live}-0badc0de`)));
  rmSync(join(root, `bundle-bbbb.tmp-${live}-0badc0de`), { recursive: true });
  const before = readdirSync(root).sort();
  await assert.rejects(ensureElfBundle(root, recipe(root, [{ src: '/etc/hostname', name: 'x', kind: 'program' }])));
  assert.deepEqual(readdirSync(root).sort(), before);
});
