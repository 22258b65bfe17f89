/**
 * The token and API-key bodies are parsed by their zod schemas; each refusal keeps the code
 * and field it had as a hand-written parser (clients match on them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCreateApiKey, parseIssueToken, parseRotateKey } from './tokens.js';
import { AppError } from './errors.js';

function refusal(fn: () => unknown): { code: string; field: unknown } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AppError);
    return { code: e.code, field: e.details?.field };
  }
  assert.fail('expected a refusal');
}

test('POST /tokens: each fault names its field', () => {
  const field = (b: unknown) => refusal(() => parseIssueToken(b));
  assert.deepEqual(field(null), { code: 'validation_error', field: 'body' });
  assert.deepEqual(field({}), { code: 'validation_error', field: 'scope' });
  assert.deepEqual(field({ scope: 'namespace' }), { code: 'validation_error', field: 'namespace' });
  assert.deepEqual(field({ scope: 'namespace', namespace: 5 }), { code: 'validation_error', field: 'namespace' });
  assert.deepEqual(field({ scope: 'workspace' }), { code: 'validation_error', field: 'workspaceId' });
  assert.deepEqual(field({ scope: 'workspace', workspace_id: 7 }), { code: 'validation_error', field: 'workspaceId' });
  for (const ttl of [0, 3601, 1.5, ' ', true]) {
    assert.deepEqual(field({ scope: 'workspace', workspaceId: 'ws_1', ttl }), { code: 'validation_error', field: 'ttl' });
  }
  assert.deepEqual(field({ scope: 'workspace', workspaceId: 'ws_1', label: 'a\nb' }), { code: 'validation_error', field: 'label' });
});

test('POST /tokens: aliases, numeric strings and defaults', () => {
  assert.deepEqual(parseIssueToken({ scope: 'workspace', workspace_id: 'ws_1', ttl: '60' }),
    { scope: 'workspace', namespace: null, workspaceId: 'ws_1', ttl: 60, label: null });
  assert.deepEqual(parseIssueToken({ scope: 'namespace', namespace: 'a', workspaceId: 'w', label: 'L', ttl: '' }),
    { scope: 'namespace', namespace: 'a', workspaceId: null, ttl: 900, label: 'L' });
});

test('POST /api-keys and the signing-key rotation', () => {
  assert.deepEqual(refusal(() => parseCreateApiKey({ scope: 'admin', namespace: 'a' })), { code: 'validation_error', field: 'namespace' });
  assert.deepEqual(refusal(() => parseCreateApiKey({})), { code: 'validation_error', field: 'namespace' });
  assert.deepEqual(refusal(() => parseCreateApiKey({ scope: 'root' })), { code: 'validation_error', field: 'scope' });
  assert.deepEqual(parseCreateApiKey({ scope: null, namespace: 'a' }), { scope: 'namespace', namespace: 'a', label: null });
  assert.deepEqual(parseRotateKey({ revoke_existing: true }), { revokeExisting: true });
  assert.deepEqual(parseRotateKey({ revokeExisting: null }), { revokeExisting: false });
  assert.deepEqual(refusal(() => parseRotateKey({ revokeExisting: 'yes' })), { code: 'validation_error', field: 'revokeExisting' });
});
