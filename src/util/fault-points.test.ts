import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_POINTS, faultPoint, installFaultHook } from './fault-points.js';
import { parseCrashAt } from '../server-test-hooks.js';

const SRC = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}

test('every listed fault point is placed exactly once in src/, and every placed one is listed', () => {
  const placed = new Map<string, number>();
  for (const file of sources(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/faultPoint\('([a-z.-]+)'\)/g)) placed.set(m[1]!, (placed.get(m[1]!) ?? 0) + 1);
  }
  for (const name of FAULT_POINTS) assert.equal(placed.get(name), 1, `fault point ${name} placed ${placed.get(name) ?? 0} times`);
  for (const name of placed.keys()) assert.ok((FAULT_POINTS as readonly string[]).includes(name), `${name} is not in FAULT_POINTS`);
  assert.equal(new Set(FAULT_POINTS).size, FAULT_POINTS.length, 'a name is listed twice');
});

test('faultPoint is inert until a hook is installed, then reaches it', () => {
  faultPoint('create.reserved');
  const seen: string[] = [];
  installFaultHook((n) => seen.push(n));
  try {
    faultPoint('create.reserved');
    faultPoint('boot.agent-answered');
  } finally {
    installFaultHook(null);
  }
  faultPoint('create.reserved');
  assert.deepEqual(seen, ['create.reserved', 'boot.agent-answered']);
});

test('WARREN_TEST_CRASH_AT: <point>[#<nth>], unknown names and bad counts refused', () => {
  assert.equal(parseCrashAt(undefined), null);
  assert.equal(parseCrashAt(''), null);
  assert.deepEqual(parseCrashAt('boot.sandbox-created'), { point: 'boot.sandbox-created', nth: 1 });
  assert.deepEqual(parseCrashAt('op.outcome-stored#3'), { point: 'op.outcome-stored', nth: 3 });
  assert.throws(() => parseCrashAt('no.such-point'), /unknown fault point/);
  assert.throws(() => parseCrashAt('op.outcome-stored#0'), /positive integer/);
  assert.throws(() => parseCrashAt('op.outcome-stored#x'), /positive integer/);
});
