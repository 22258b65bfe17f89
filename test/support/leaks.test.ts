// The leak finder itself: what it must catch and what it must let through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findLeaks, leakReport } from './leaks.js';

const envelope = (message: string, details?: unknown) => ({ success: false, code: 'x', error: 'x', message, details });

test('catches host paths, tools, stack frames, node internals and private addresses', () => {
  const cases: Array<[string, string]> = [
    ['Cannot access /var/lib/warren/ws/abc/upper', 'host path'],
    ['spool /tmp/.warren-upload-1a2b.tar.gz unreadable', 'host path'],
    ['nft refused the change: Error: No such file or directory', 'tool name'],
    ['bwrap: Can\'t mount proc', 'tool name'],
    ['debootstrap failed with exit 1', 'tool name'],
    ['failed: ip netns exec ws1 true', 'ip command'],
    ['    at Object.run (/opt/warren/dist/domain/x.js:12:5)', 'stack frame'],
    ['Error [ERR_INVALID_ARG_TYPE]: bad', 'node internals'],
    ['element 10.200.3.7 exists', 'private address'],
    ['peer 192.168.1.20 refused', 'private address'],
    ['via 172.20.0.1', 'private address'],
    ['tar: Unexpected EOF in archive', 'tool name'],
    ['SQLITE_BUSY: database is locked', 'sql'],
  ];
  for (const [message, rule] of cases) {
    const hits = findLeaks(envelope(message));
    assert.ok(hits.some((h) => h.startsWith(rule)), `${message} → ${hits.join('; ') || 'nothing'}`);
  }
  assert.deepEqual(findLeaks(envelope('x', { path: '/srv/warren-data/ws' }), { dataDirs: ['/srv/warren-data'] }), ['data dir: /srv/warren-data']);
});

test('lets clean refusals and the caller\'s own text through', () => {
  const clean = [
    envelope('Internal server error'),
    envelope('File not found: /home/user/missing.txt', { field: 'path' }),
    envelope('Invalid regex', { field: 'q', reason: 'invalid_regex' }),
    envelope('The service is unavailable; retry later', { reason: 'ripgrep_not_installed' }),
    envelope('ip is required', { field: 'ip' }),
    envelope('The amount must be positive'),
    envelope('Workspace 10 of 12 not found'),
  ];
  for (const body of clean) assert.deepEqual(findLeaks(body), [], JSON.stringify(body));
  // A path the caller asked for inside its own workspace is its own text.
  assert.deepEqual(findLeaks(envelope('File not found: /tmp/mine.txt'), { allow: ['/tmp/mine.txt'] }), []);
  assert.deepEqual(findLeaks(envelope('peer 10.200.3.7'), { allow: ['10.200.3.7'] }), []);
});

test('leakReport names the sample of each hit', () => {
  const report = leakReport([
    { what: 'GET /a', status: 500, body: envelope('bwrap exited') },
    { what: 'GET /b', status: 404, body: envelope('not found') },
  ]);
  assert.deepEqual(report, ['GET /a (500): tool name: bwrap']);
});
