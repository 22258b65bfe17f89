import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { callerToken, isHealthPath, isRuntimePath, pathnameOf, stripTokenParam } from './paths.js';

test('runtime paths', () => {
  for (const p of ['/files', '/files/read', '/exec', '/exec/abc', '/terminals/1/scrollback', '/watchers', '/ws',
    '/runtime', '/runtimes', '/runtimes/linux/exec', '/health', '/desktop', '/desktop/ws', '/proxy', '/proxy/3000/x']) {
    assert.equal(isRuntimePath(p), true, p);
  }
  for (const p of ['/', '/workspace', '/workspace/ws_1/files', '/namespaces', '/filesystem', '/execute', '/tokens', '']) {
    assert.equal(isRuntimePath(p), false, p);
  }
  assert.equal(pathnameOf('/files?path=/a'), '/files');
});

test('health paths', () => {
  assert.ok(isHealthPath('/health'));
  assert.ok(isHealthPath('/runtimes/linux/health'));
  assert.ok(!isHealthPath('/healthz'));
  assert.ok(!isHealthPath('/exec'));
});

test('caller token: bearer first, then query', () => {
  const req = (url: string, authorization?: string) => ({ url, headers: authorization ? { authorization } : {} }) as IncomingMessage;
  assert.equal(callerToken(req('/files', 'Bearer abc')), 'abc');
  assert.equal(callerToken(req('/files', 'bearer  abc ')), 'abc');
  assert.equal(callerToken(req('/ws?token=q%2B1', undefined)), 'q+1');
  assert.equal(callerToken(req('/ws?token=q1', 'Bearer h1')), 'h1');
  assert.equal(callerToken(req('/ws?token=q1', 'Basic xyz')), 'q1');
  assert.equal(callerToken(req('/ws?token=', undefined)), null);
  assert.equal(callerToken(req('/ws', undefined)), null);
});

test('stripTokenParam keeps everything else verbatim', () => {
  assert.equal(stripTokenParam('/files?path=%2Fa&token=abc'), '/files?path=%2Fa');
  assert.equal(stripTokenParam('/ws?token=abc'), '/ws');
  assert.equal(stripTokenParam('/proxy/x?a=1&token=t&x_oblien_target=3000&b=c+d'), '/proxy/x?a=1&x_oblien_target=3000&b=c+d');
  assert.equal(stripTokenParam('/ws?%74oken=abc&tokens=1'), '/ws?tokens=1');
  assert.equal(stripTokenParam('/files'), '/files');
  assert.equal(stripTokenParam('/files?&&token=1&'), '/files');
});
