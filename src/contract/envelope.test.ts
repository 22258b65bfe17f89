// The error envelope: 5xx answers hide the thrown text behind a fixed message and an id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, ERROR_STATUS, type ErrorCode } from './errors.js';
import { faultDetail, publicMessage, toWireError } from './envelope.js';
import { requestIdFrom } from './request-id.js';

test('a 4xx keeps its message and details; an id only when given', () => {
  const { status, body } = toWireError(new AppError('not_found', 'File not found: /srv/x', { field: 'path' }));
  assert.equal(status, 404);
  assert.deepEqual(body, { success: false, error: 'not_found', code: 'not_found', message: 'File not found: /srv/x', details: { field: 'path' } });
  assert.equal(toWireError(new AppError('bad_request', 'no'), 'req_1').body.request_id, 'req_1');
});

test('every 5xx code answers a fixed message, never the thrown text, and always a request id', () => {
  const secret = 'nft refused the change: element 10.200.1.9 at /var/lib/warren';
  for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
    if (ERROR_STATUS[code] < 500) continue;
    const { status, body } = toWireError(new AppError(code, secret, { reason: secret, retry_after: 2, field: 'cmd' }));
    assert.equal(status, ERROR_STATUS[code]);
    assert.ok(!JSON.stringify(body).includes('nft'), `${code}: ${JSON.stringify(body)}`);
    assert.equal(body.message, publicMessage(new AppError(code, secret)));
    assert.match(body.request_id ?? '', /^req_[0-9a-f]{16}$/);
    assert.deepEqual(body.details, { retry_after: 2, field: 'cmd' }, 'numbers and machine tokens stay; free text goes');
  }
});

test('a 5xx keeps machine-token details (reason codes, ids) and the id it was given', () => {
  const err = new AppError('agent_unreachable', 'connect ECONNREFUSED 10.1.2.3:9990', {
    workspace_id: 'ws_abc123', reason: 'ECONNREFUSED', task_id: '0a1b2c3d', address: '10.1.2.3', path: '/var/x',
  });
  const { body } = toWireError(err, 'req_given');
  assert.deepEqual(body.details, { workspace_id: 'ws_abc123', reason: 'ECONNREFUSED', task_id: '0a1b2c3d' });
  const fields = toWireError(new AppError('not_implemented', 'x', { field: 'config.env[0]' })).body.details;
  assert.deepEqual(fields, { field: 'config.env[0]' }, 'a dotted field name stays');
  assert.equal(toWireError(new AppError('server_error', 'x', { field: '10.1.2.3' })).body.details, undefined);
  assert.equal(body.request_id, 'req_given');
  assert.equal(body.message, 'The workspace runtime is unreachable');
});

test('anything that is not an AppError is a generic server_error', () => {
  const { status, body } = toWireError(Object.assign(new Error('EACCES: /var/lib/warren/db'), { stderr: 'bwrap: x' }));
  assert.equal(status, 500);
  assert.equal(body.code, 'server_error');
  assert.equal(body.message, 'Internal server error');
  assert.equal(body.details, undefined);
});

test('faultDetail keeps what the operator needs: message, code, stderr, stack, cause', () => {
  const cause = new Error('inner');
  const err = Object.assign(new Error('outer', { cause }), { code: 'EIO', stderr: 'tool said no\n' });
  const d = faultDetail(err);
  assert.equal(d.err, 'outer');
  assert.equal(d.code, 'EIO');
  assert.equal(d.stderr, 'tool said no\n');
  assert.match(String(d.stack), /envelope\.test/);
  assert.match(String(d.cause), /inner/);
  assert.deepEqual(faultDetail('plain'), { err: 'plain' });
});

test('request ids: a safe caller id is kept, anything else replaced', () => {
  assert.equal(requestIdFrom('abc-123_X.y:z'), 'abc-123_X.y:z');
  assert.equal(requestIdFrom(['first', 'second']), 'first');
  for (const bad of [undefined, '', 'has space', 'line\nbreak', 'x'.repeat(129), 'ünï']) {
    assert.match(requestIdFrom(bad), /^req_[0-9a-f]{16}$/, String(bad));
  }
});
