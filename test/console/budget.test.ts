/**
 * The console's first load stays small (issue 13: ≤ 300 KB of compressed JavaScript): the
 * entry script and every chunk index.html preloads, measured gzip-compressed as built.
 * xterm.js and uPlot must stay in lazily loaded chunks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from '../support/warren.js';

const DIST = join(ROOT, 'dist', 'console');
export const FIRST_LOAD_BUDGET = 300 * 1024;

function firstLoadScripts(html: string): string[] {
  const srcs = [...html.matchAll(/<script[^>]+src="\/console\/([^"]+)"/g)].map((m) => m[1]!);
  const preloads = [...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/console\/([^"]+)"/g)].map((m) => m[1]!);
  return [...new Set([...srcs, ...preloads])];
}

test('first load of the console is within its compressed JavaScript budget', () => {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const scripts = firstLoadScripts(html);
  assert.ok(scripts.length > 0, 'index.html loads a script');
  let total = 0;
  for (const s of scripts) {
    const body = readFileSync(join(DIST, s));
    total += gzipSync(body, { level: 9 }).length;
    assert.doesNotMatch(body.toString(), /xterm-helper-textarea|uPlot\.sync/, `${s} must not carry xterm.js or uPlot`);
  }
  console.log(`# console first load: ${(total / 1024).toFixed(1)} KiB gzip over ${scripts.length} script(s)`);
  assert.ok(total <= FIRST_LOAD_BUDGET, `first load ${total} B > ${FIRST_LOAD_BUDGET} B`);
});

test('the built console references no other origin', () => {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'index.html loads nothing from another origin');
});
