import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProxiedAgentCall, isProxiedAgentStream } from './agent-paths.js';

const wid = encodeURIComponent('wl_3f9a2c');

test('the agent calls the platform makes on a replica are proxied', () => {
  for (const [method, path] of [
    ['GET', '/_warren/workloads'], ['GET', '/_warren/workloads/stats'], ['GET', `/_warren/workloads/${wid}`],
    ['PUT', `/_warren/workloads/${wid}`], ['DELETE', `/_warren/workloads/${wid}`], ['POST', `/_warren/workloads/${wid}/start`],
    ['POST', `/_warren/workloads/${wid}/stop`], ['GET', `/_warren/workloads/${wid}/stats`], ['GET', `/_warren/workloads/${wid}/logs?tail=100`],
    ['GET', '/_warren/logs/cmd?tail=50'], ['GET', '/_warren/logs/files'], ['DELETE', '/_warren/logs'],
    ['GET', `/_warren/logs/file?name=${encodeURIComponent('workloads/wl_1.log')}&tail=20`],
  ] as const) assert.ok(isProxiedAgentCall(method, path), `${method} ${path}`);
  assert.ok(isProxiedAgentStream(`/_warren/workloads/${wid}/logs/stream?tail=10`));
  assert.ok(isProxiedAgentStream('/_warren/logs/cmd/stream?tail=5'));
});

test('anything else is not: other agent routes, other methods, traversal, extra query keys', () => {
  for (const [method, path] of [
    ['POST', '/_warren/claim'], ['PUT', '/_warren/ssh'], ['GET', '/_warren/ssh'], ['GET', '/_warren/events'],
    ['GET', '/health'], ['POST', '/exec'], ['GET', '/files/etc/passwd'], ['POST', '/_warren/workloads'],
    ['PUT', '/_warren/workloads/stats/x'], ['GET', '/_warren/workloads/../claim'], ['GET', '/_warren/workloads/..'],
    ['GET', `/_warren/workloads/${wid}/logs?tail=1&x=2`], ['GET', '/_warren/logs/cmd?tail=1#x'], ['PATCH', `/_warren/workloads/${wid}`],
    ['GET', '/_warren/logs/file?name=a/b'], ['GET', '//_warren/workloads'], ['GET', '/_warren/workloads/a/x/y'],
  ] as const) assert.equal(isProxiedAgentCall(method, path), false, `${method} ${path}`);
  for (const path of ['/_warren/events', '/_warren/events?since=3', '/_warren/workloads/x/logs', '/_warren/logs/cmd/stream?tail=1&a=b']) {
    assert.equal(isProxiedAgentStream(path), false, path);
  }
});
