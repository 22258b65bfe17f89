/**
 * The image request parsers became zod schemas (`images.ts`); this holds them to the
 * hand-written parsers they replaced (copied below as `legacy…`): the same command, or the
 * same code and `details.field`. The routes read the body with `readObject` first.
 */
import { test } from 'node:test';
import { AppError } from './errors.js';
import { IMAGE_NAME, IMAGE_NAME_MAX, parseCommitImage, parseImageName, parseImportPath, parseImportUpload } from './images.js';
import { same } from '../../test/support/parser-equivalence.js';

// ---- the hand-written parsers as they were (src/contract/images.ts before the schemas) ----

function legacyParseImageName(v: unknown, field = 'name'): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > IMAGE_NAME_MAX || !IMAGE_NAME.test(v) || /^sha256:/.test(v)) {
    throw new AppError('validation_error', `${field} must be an image name`, { field });
  }
  return v;
}

/** The control plane's `readObject`, which the routes ran before these parsers. */
function readObject(b: unknown): Record<string, unknown> {
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new AppError('validation_error', 'Request body must be a JSON object', { field: 'body' });
  return b as Record<string, unknown>;
}

const legacyParseCommitImage = (body: Record<string, unknown>) => ({ name: legacyParseImageName(body.name) });

function legacyParseImportPath(body: Record<string, unknown>) {
  if (typeof body.path !== 'string' || !body.path.startsWith('/') || body.path.length > 4096 || body.path.includes('\0')) {
    throw new AppError('validation_error', 'path must be an absolute path on the server', { field: 'path' });
  }
  return { path: body.path, ...(body.name === undefined ? {} : { name: legacyParseImageName(body.name) }) };
}

const ARCHIVE_TYPES = ['application/x-tar', 'application/tar', 'application/octet-stream'];

/** The upload's checks without the stream (the stream is the body itself, untouched by either). */
function legacyParseImportUpload(contentType: string, name: string | undefined, body: object | null) {
  if (!ARCHIVE_TYPES.includes(contentType)) throw new AppError('bad_request', 'Send the archive as a tar', { field: 'content-type' });
  if (!body) throw new AppError('validation_error', 'The archive is missing', { field: 'archive' });
  return name === undefined ? {} : { name: legacyParseImageName(name) };
}

// ---- the comparison ----

const NAMES: unknown[] = ['my-image', 'team/tool:1.2', 'a', 'a'.repeat(200), 'a'.repeat(201), 'My-Image', 'sha256:abc', '', ' x', 'x:', 'x:TAG_1',
  'x:' + 'a'.repeat(128), 'x:' + 'a'.repeat(129), '-x', 'a//b', 'a/b/c:v', 7, null, true, [], {}];

test('image names: same name, or same code and field, for each field name', () => {
  for (const field of ['name', 'query.name']) same(`name (${field})`, NAMES, (v) => legacyParseImageName(v, field), (v) => parseImageName(v, field));
});

test('POST /workspace/:id/image: same command, or same code and field', () => {
  const corpus = [null, [], 'x', 7, {}, { other: 1 }, ...NAMES.map((name) => ({ name })), { name: 'ok', extra: true }];
  same('commit', corpus, (b) => legacyParseCommitImage(readObject(b)), (b) => parseCommitImage(readObject(b)));
});

test('POST /images {path, name?}: same command, or same code and field', () => {
  const PATHS: unknown[] = ['/srv/images/a.tar', '/', 'relative.tar', '', `/${'a'.repeat(4095)}`, `/${'a'.repeat(4096)}`, '/a\0b', 7, null, [], undefined];
  const corpus: unknown[] = [null, [], {}, { name: 'x' }];
  for (const path of PATHS) corpus.push(path === undefined ? { name: 'x' } : { path }, { path, name: 'Bad Name' });
  for (const name of NAMES) corpus.push({ path: '/srv/a.tar', name });
  same('import path', corpus, (b) => legacyParseImportPath(readObject(b)), (b) => parseImportPath(readObject(b)));
});

test('POST /images (tar upload): same name, or same code and field (content type, then body, then ?name)', () => {
  const corpus: Array<[string, Record<string, string>, boolean]> = [];
  for (const type of [...ARCHIVE_TYPES, 'application/json', '', 'text/plain']) {
    corpus.push([type, {}, true], [type, { name: 'ok' }, false], [type, { name: 'Bad' }, true]);
  }
  for (const name of NAMES) if (typeof name === 'string') corpus.push(['application/x-tar', { name }, true], ['application/x-tar', { name, other: '1' }, true]);
  const body = () => new ReadableStream<Uint8Array>();
  same('import upload', corpus, (c) => {
    const [type, q, has] = c as [string, Record<string, string>, boolean];
    return legacyParseImportUpload(type, q.name, has ? {} : null);
  }, (c) => {
    const [type, q, has] = c as [string, Record<string, string>, boolean];
    const { stream: _stream, ...rest } = parseImportUpload(type, q, has ? body() : null);
    return rest;
  });
});
