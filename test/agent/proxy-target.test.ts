/** Pure logic of proxy target selection (runtime.md §11.1): forms, loopback-only, reserved params. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { isProxyUrl, loopbackAddress, parseTargetSpec, resolveProxyTarget } from '../../src/agent/proxy/target.js';

function req(url: string, headers: Record<string, string> = {}): IncomingMessage {
  return { url, headers } as unknown as IncomingMessage;
}

test('isProxyUrl: /proxy, /proxy/…, /proxy?…, with a target prefix; nothing else', () => {
  for (const u of ['/proxy', '/proxy/', '/proxy/3000/x', '/proxy?x_oblien_target=1', '/runtimes/default/proxy/a', '/runtimes/x/proxy']) {
    assert.equal(isProxyUrl(u), true, u);
  }
  for (const u of ['/proxyx', '/files/proxy', '/runtimes/default/proxyx', '/', '/ws']) assert.equal(isProxyUrl(u), false, u);
});

test('parseTargetSpec: port and host:port forms', () => {
  assert.deepEqual(parseTargetSpec('3000'), { host: '127.0.0.1', port: 3000 });
  assert.deepEqual(parseTargetSpec('localhost:80'), { host: '127.0.0.1', port: 80 });
  assert.deepEqual(parseTargetSpec('127.0.0.2:65535'), { host: '127.0.0.2', port: 65535 });
  assert.deepEqual(parseTargetSpec('::1:8080'), { host: '::1', port: 8080 });
  assert.deepEqual(parseTargetSpec('[::1]:8080'), { host: '::1', port: 8080 });
  for (const bad of ['0', '65536', '-1', 'x', '3000x', '1e3', ':', 'localhost:']) {
    assert.throws(() => parseTargetSpec(bad), (e: any) => e.code === 'bad_request', bad);
  }
});

test('loopbackAddress refuses anything that is not loopback', () => {
  for (const host of ['10.0.0.1', '0.0.0.0', '169.254.169.254', 'example.com', '127.0.0.1.nip.io', '::', '::ffff:10.0.0.1', '']) {
    assert.throws(() => loopbackAddress(host), (e: any) => e.code === 'forbidden', host);
  }
  assert.equal(loopbackAddress('LOCALHOST'), '127.0.0.1');
});

test('resolveProxyTarget: header beats query beats path; reserved params removed', () => {
  const t = resolveProxyTarget(req('/proxy/9/a?token=s&x_oblien_target=8&b=%20&token=t2', { 'x-oblien-proxy-target': '7' }));
  assert.deepEqual(t, { host: '127.0.0.1', port: 7, hostHeader: '127.0.0.1:7', path: '/9/a?b=%20' });
  assert.equal(resolveProxyTarget(req('/proxy/9/a?x_oblien_target=8')).port, 8);
  assert.deepEqual(resolveProxyTarget(req('/proxy/9/a/?q')).path, '/a/?q');
  assert.equal(resolveProxyTarget(req('/runtimes/default/proxy/9')).path, '/');
  assert.equal(resolveProxyTarget(req('/proxy?x_oblien_target=%5B%3A%3A1%5D%3A5')).hostHeader, '[::1]:5');
  assert.throws(() => resolveProxyTarget(req('/proxy')), (e: any) => e.code === 'bad_request');
  assert.throws(() => resolveProxyTarget(req('/proxy/x', { 'x-oblien-proxy-target': 'evil.com:80' })), (e: any) => e.code === 'forbidden');
});
