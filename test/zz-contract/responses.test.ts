/**
 * Responses against the OpenAPI document (issue 15 item 4). Named to sort after every other
 * suite (CI runs the files one at a time, sorted by path), it:
 *  1. drives a representative flow itself — create, lifecycle, network, tokens, runtime
 *     exec and files through the gateway, refusals — and validates each response in place;
 *  2. validates every JSON response the other suites' servers logged (test/support/warren.ts
 *     sets WARREN_TEST_RESPONSE_LOG for each to a file in responseLogDir()), then removes
 *     the logs it judged. Run alone, step 2 still judges the records of step 1.
 * A status the document does not list for the route is a failure too.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { contractChecker, runtimeRouteOf, type Observed } from '../support/contract.js';
import { responseLogDir } from '../support/response-log.js';
import { findLeaks } from '../support/leaks.js';
import { waitForStatus } from '../support/workspaces.js';

let server: TestServer;
const check = contractChecker();
const failures: string[] = [];

/** A control-plane call, judged against the operation of `route` (its Hono pattern). */
async function cp(method: string, route: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const r = await api(server, method, path, body, headers);
  const problem = check({ method, route, status: r.status, body: r.body });
  if (problem) failures.push(problem);
  return r;
}

/** A runtime call through the gateway with the workspace's token, judged against the runtime operation. */
async function rt(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  const route = runtimeRouteOf(method, path);
  const problem = route ? check({ method, route, status: res.status, body: json }) : `${method} ${path}: no runtime descriptor`;
  if (problem) failures.push(problem);
  return { status: res.status, body: json };
}

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

test('a representative flow answers what the document says, route by route', async () => {
  await cp('GET', '/', '/');
  await cp('GET', '/healthz', '/healthz');
  const doc = await cp('GET', '/openapi.json', '/openapi.json', undefined, { 'x-client-id': '', 'x-client-secret': '' });
  assert.equal(doc.body.openapi, '3.1.0');

  // refusals, each with its registered code
  assert.equal((await cp('POST', '/workspace', '/workspace', {})).body.code, 'INVALID_IMAGE');
  assert.equal((await cp('POST', '/workspace', '/workspace', '{not json')).status, 400);
  assert.equal((await cp('GET', '/workspace/:id', '/workspace/ws_nope')).status, 404);
  assert.equal((await cp('GET', '/workspace', '/workspace', undefined, { 'x-client-secret': 'wrong' })).status, 401);

  const created = await cp('POST', '/workspace', '/workspace', { image: 'debian-12', memory_mb: 128, name: 'contract' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id: string = created.body.workspace.id;
  await waitForStatus(server, id, 'running');
  const ws = (p: string) => p.replace(':id', id);

  await cp('GET', '/workspace', '/workspace');
  await cp('GET', '/workspace/:id', ws('/workspace/:id'));
  await cp('GET', '/workspace/:id/details', ws('/workspace/:id/details'));
  await cp('PUT', '/workspace/:id', ws('/workspace/:id'), { name: 'contract-2' });
  assert.equal((await cp('PUT', '/workspace/:id', ws('/workspace/:id'), { image: 'x' })).body.details.field, 'image');
  await cp('GET', '/workspace/:id/lifecycle', ws('/workspace/:id/lifecycle'));
  await cp('PUT', '/workspace/:id/lifecycle/ttl', ws('/workspace/:id/lifecycle/ttl'), {});
  await cp('GET', '/workspace/:id/network', ws('/workspace/:id/network'));
  await cp('PATCH', '/workspace/:id/network', ws('/workspace/:id/network'), { public_access: true });
  await cp('GET', '/workspace/:id/metadata', ws('/workspace/:id/metadata'));
  await cp('PATCH', '/workspace/:id/metadata', ws('/workspace/:id/metadata'), { team: 'a' });
  await cp('GET', '/workspace/:id/resources', ws('/workspace/:id/resources'));
  await cp('GET', '/workspace/quota', '/workspace/quota');
  await cp('GET', '/workspace/images', '/workspace/images');
  await cp('POST', '/tokens', '/tokens', { scope: 'workspace', workspaceId: id, ttl: 60 });
  await cp('GET', '/tokens', '/tokens');
  await cp('POST', '/tokens', '/tokens', { scope: 'nope' });

  const enabled = await cp('POST', '/workspace/:id/runtime-api-access/enable', ws('/workspace/:id/runtime-api-access/enable'));
  const token: string = enabled.body.token;
  assert.ok(token, JSON.stringify(enabled.body));
  await cp('GET', '/workspace/:id/runtime-api-access/token', ws('/workspace/:id/runtime-api-access/token'));

  const run = await rt(token, 'POST', '/exec', { cmd: ['echo', 'hi'] });
  assert.equal(run.body.stdout, 'hi\n');
  await rt(token, 'GET', '/exec');
  await rt(token, 'GET', `/exec/${run.body.id}`);
  await rt(token, 'GET', '/exec/no-such-task');
  await rt(token, 'POST', '/files/write', { path: '/tmp/contract.txt', content: 'x', create_dirs: true });
  await rt(token, 'GET', '/files/read?path=/tmp/contract.txt');
  await rt(token, 'GET', '/files/stat?path=/tmp/contract.txt');
  await rt(token, 'GET', '/files?path=/tmp');
  await rt(token, 'GET', '/files/read?path=/tmp/missing.txt');
  await rt(token, 'POST', '/exec', {});

  await cp('POST', '/workspace/:id/stop', ws('/workspace/:id/stop'));
  await cp('POST', '/workspace/:id/start', ws('/workspace/:id/start'));
  await cp('DELETE', '/workspace/:id', ws('/workspace/:id'));
  assert.deepEqual(failures, []);
});

test('every response the suites logged matches the document, and no error answer leaks host text', () => {
  const dir = responseLogDir();
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  assert.ok(files.length > 0, 'no response logs (the servers of this run write them)');
  const problems = new Map<string, number>();
  let judged = 0;
  for (const f of files) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const observed = JSON.parse(line) as Observed;
      const problem = check(observed);
      judged++;
      if (problem) problems.set(problem.slice(0, 400), (problems.get(problem.slice(0, 400)) ?? 0) + 1);
      // Error hygiene (issue 15 item 2) over every error answer the suites provoked, not only the hygiene suite's own.
      if (observed.status >= 400) {
        // A 4xx describes the caller's own input, which may hold the addresses the caller sent (an
        // egress CIDR, a link target): addresses are judged in 5xx answers here, and in context by
        // test/e2e/error-hygiene.test.ts; paths, tool names and stack frames in every answer.
        const hits = findLeaks(observed.body).filter((h) => observed.status >= 500 || !h.startsWith('private address'));
        for (const hit of hits) {
          const key = `leak in ${observed.method} ${observed.route} (${observed.status}): ${hit}`;
          problems.set(key, (problems.get(key) ?? 0) + 1);
        }
      }
    }
  }
  for (const f of files) rmSync(join(dir, f), { force: true }); // judged: the next run starts clean
  const report = [...problems].map(([p, n]) => `${n}× ${p}`);
  assert.deepEqual(report, [], `${report.length} kinds of mismatch in ${judged} responses`);
});
