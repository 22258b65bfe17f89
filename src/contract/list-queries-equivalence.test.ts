/**
 * The list and flag queries that routes read by hand (`intParam`, `queryFlag`, `c.req.query()`
 * then ad-hoc reads) became zod schemas in src/contract; this holds each to the reads it
 * replaced (copied below as `legacy…`): the same command, or the same code and `details.field`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import { parseImageList } from './images.js';
import { parseArchiveDelete, parseArchivesDelete } from './layers.js';
import { parseOverlayList } from './resources.js';
import { parseArchivedList, parseWorkspaceList } from './workspace-list.js';
import { outcome, same } from '../../test/support/parser-equivalence.js';

// ---- the hand-written reads as they were (src/control-plane/http.ts, layers.ts and the routes) ----

function intParam(v: string | undefined, field: string, dflt: number, min: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new AppError('validation_error', `${field} must be an integer between ${min} and ${max}`, { field });
  }
  return n;
}

const queryFlag = (value: string | undefined): boolean => value === 'true' || value === '1';

type Q = Record<string, string | undefined>;

/** GET /workspace (src/control-plane/routes/workspaces.ts). */
function legacyWorkspaceList(q: Q) {
  const page = intParam(q.page, 'page', 1, 1, 1_000_000);
  const limit = intParam(q.limit, 'limit', 20, 1, 100);
  return { page, limit, namespace: q.namespace || undefined, mode: q.mode || undefined, state: q.status || undefined };
}

/** GET /workspace/archived. */
function legacyArchivedList(q: Q) {
  const page = intParam(q.page, 'page', 1, 1, 1_000_000);
  const limit = intParam(q.limit, 'limit', 20, 1, 100);
  return { page, limit, namespace: q.namespace || undefined };
}

// ---- the comparison ----

const INTS = ['1', '20', '100', '101', '0', '-1', '2.5', '', ' ', ' 7', '1e2', 'abc', '0x10', '1000000', '1000001', 'Infinity'];
const TEXTS = ['', 'team-a', 'permanent', 'running', 'x y'];

test('workspace list and archived list: same paging and filters, or same code and field', () => {
  const corpus: Q[] = [{}, { other: '1' }];
  for (const v of INTS) corpus.push({ page: v }, { limit: v }, { page: v, limit: 'bad' });
  for (const v of TEXTS) corpus.push({ namespace: v }, { mode: v, status: v }, { namespace: v, page: '2', limit: '5' });
  corpus.push({ page: 'x', namespace: 'team' }, { limit: '0', status: 'running' });
  same('workspace list', corpus, (q) => legacyWorkspaceList(q as Q), (q) => parseWorkspaceList(q as Q));
  same('archived list', corpus, (q) => legacyArchivedList(q as Q), (q) => parseArchivedList(q as Q));
});

test('overlay list: same limit, or same code and field, as intParam', () => {
  const corpus: Q[] = [{}, { path: '/home' }];
  for (const limit of [...INTS, '10000', '10001']) corpus.push({ limit }, { limit, path: '/x' });
  same('overlay', corpus, (q) => ({ limit: intParam((q as Q).limit, 'limit', 1000, 1, 10_000) }), (q) => parseOverlayList(q as Q));
});

/** `same` for queries no input can refuse: every one of ≥ 20 gives the same outcome (a value, or a refusal neither makes). */
function sameAlways(label: string, corpus: Q[], legacy: (q: Q) => unknown, current: (q: Q) => unknown): void {
  assert.ok(corpus.length >= 20, `${label}: a corpus of at least 20 queries`);
  for (const q of corpus) assert.deepEqual(outcome(() => current(q)), outcome(() => legacy(q)), `${label} ${JSON.stringify(q)}`);
}

test('archive deletes and the image list (never refused): same flags and filters', () => {
  const FLAGS = ['true', '1', 'false', '0', '', 'TRUE', 'yes', ' 1', 'true '];
  const one: Q[] = [{}, { other: 'true' }, ...FLAGS.map((delete_file) => ({ delete_file })), ...FLAGS.map((v) => ({ delete_files: v, delete_file: v }))];
  sameAlways('delete_file', one, (q) => ({ fileToo: queryFlag(q.delete_file) }), parseArchiveDelete);
  const all: Q[] = [{}, { other: 'true' }, ...FLAGS.map((delete_files) => ({ delete_files })), ...FLAGS.map((v) => ({ delete_file: v, delete_files: v }))];
  sameAlways('delete_files', all, (q) => ({ filesToo: queryFlag(q.delete_files) }), parseArchivesDelete);
  const images: Q[] = [{}, { other: 'x' }];
  for (const v of [...TEXTS, 'ubuntu', 'dev tools']) images.push({ search: v }, { category: v }, { search: v, category: 'os' });
  sameAlways('image list', images, (q) => ({ search: q.search || undefined, category: q.category || undefined }), parseImageList);
});
