/**
 * What the runtime bundle takes from this host (the sandboxes running it are tested in
 * test/drivers/busybox-root.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { RUNTIME_FILES, RUNTIME_MOUNT, runtimePath } from '../contract/agent-runtime.js';
import { hostPtyAddon, runtimeRecipe } from './runtime-bundle.js';

test('the recipe: this Node, rg, tar, gzip and the glibc pty addon, at the paths the agent uses', async () => {
  const { recipe, missing } = await runtimeRecipe();
  assert.deepEqual(missing, []);
  assert.equal(recipe.mount, RUNTIME_MOUNT);
  assert.deepEqual(recipe.files.map((f) => [f.name, f.kind]), [
    ['bin/node', 'program'], ['bin/rg', 'program'], ['bin/tar', 'program'], ['bin/gzip', 'program'], ['addons/pty.node', 'library'],
  ]);
  assert.equal(recipe.files[0]!.src, realpathSync(process.execPath));
  assert.deepEqual(Object.values(RUNTIME_FILES).sort(), recipe.files.map((f) => f.name).sort());
  assert.equal(runtimePath('rg'), '/.warren/runtime/bin/rg');
});

test('the pty addon is the one for this Node\'s ABI, never the musl build', () => {
  const addon = hostPtyAddon();
  assert.ok(addon);
  assert.equal(basename(addon), `node.abi${process.versions.modules}.node`);
});
