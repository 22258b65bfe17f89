/** POST/GET/DELETE /exec against the real agent process (runtime.md §5.1–5.5). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, processGone, waitFor, type AgentHandle } from './harness.js';

let agent: AgentHandle;

before(async () => {
  agent = await startAgent({
    config: { workspace_id: 'ws_exec', hostname: 'wtest', env: { FROM_CONFIG: 'cfg-value' } },
  });
});
after(async () => {
  await agent?.stop();
});

const exec = (body: unknown) => agent.call('/exec', { method: 'POST', body: JSON.stringify(body) });

test('runs a direct command and returns the task at top level', async () => {
  const r = await exec({ cmd: ['echo', 'hello'] });
  assert.equal(r.status, 200);
  const t = r.body;
  assert.equal(t.success, true);
  assert.match(t.id, /^[0-9a-f]{12}$/);
  assert.deepEqual(t.command, ['echo', 'hello']);
  assert.equal(t.status, 'exited');
  assert.equal(t.exit_code, 0);
  assert.equal(t.stdout, 'hello\n');
  assert.equal(t.stderr, '');
  assert.equal(typeof t.guest_pid, 'number');
  for (const k of ['created_at', 'started_at', 'exited_at']) assert.ok(!Number.isNaN(Date.parse(t[k])), k);
  assert.equal(t.ttl_seconds, 300);
  assert.equal(t.signal, undefined);
});

test('non-zero exit, stderr, shell detection and exec modes', async () => {
  const fail = (await exec({ cmd: ['sh', '-c', 'echo oops >&2; exit 3'] })).body;
  assert.equal(fail.exit_code, 3);
  assert.equal(fail.stderr, 'oops\n');
  assert.equal(fail.status, 'exited');
  // auto: a single string with a pipe runs in the shell
  assert.equal((await exec({ cmd: 'echo a b | tr a-z A-Z' })).body.stdout, 'A B\n');
  assert.equal((await exec({ cmd: ['echo one && echo two'] })).body.stdout, 'one\ntwo\n');
  // auto: bare operators between arguments
  assert.equal((await exec({ cmd: ['echo', "it's", '&&', 'echo', 'x y'] })).body.stdout, "it's\nx y\n");
  // auto: a multi-element argv stays direct (no word splitting, no expansion)
  assert.equal((await exec({ cmd: ['echo', '$HOME', 'a|b'] })).body.stdout, '$HOME a|b\n');
  // explicit modes
  assert.equal((await exec({ cmd: ['echo', '$((1+2))'], exec_mode: 'shell' })).body.stdout, '3\n');
  assert.equal((await exec({ cmd: ['echo', 'a;b'], exec_mode: 'direct' })).body.stdout, 'a;b\n');
});

test('env: workspace config env, request env, no WARREN_* leak; cwd', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wtest-cwd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = (await exec({ cmd: 'echo $FROM_CONFIG $EXTRA ${WARREN_CONTROL_DIR:-none}; pwd', env: { EXTRA: 'x1' }, cwd: dir }))
    .body;
  assert.equal(r.stdout, `cfg-value x1 none\n${dir}\n`);
  assert.equal((await exec({ cmd: ['pwd'] })).body.stdout, '/root\n');
  const bad = await exec({ cmd: ['pwd'], cwd: join(dir, 'missing') });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.details.field, 'cwd');
});

test('a signal death reports 128+signo and the signal name', async () => {
  const r = (await exec({ cmd: ['sh', '-c', 'kill -9 $$'] })).body;
  assert.equal(r.exit_code, 137);
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(r.status, 'exited');
});

test('timeout kills the whole process group', async () => {
  const started = Date.now();
  const r = (await exec({ cmd: ['sh', '-c', 'sleep 30 & echo $!; sleep 30'], timeout_seconds: 1 })).body;
  const took = Date.now() - started;
  assert.ok(took < 5000, `took ${took} ms`);
  assert.equal(r.status, 'failed');
  assert.equal(r.timed_out, true);
  assert.match(r.error, /timed out/);
  assert.equal(r.signal, 'SIGTERM');
  assert.equal(r.exit_code, 143);
  const bgPid = Number(r.stdout.trim());
  assert.ok(bgPid > 0);
  assert.ok(await waitFor(() => processGone(bgPid), 3000), 'background child survived the timeout');
});

test('a process ignoring SIGTERM is SIGKILLed after the grace period', async () => {
  const r = (await exec({ cmd: ['sh', '-c', 'trap "" TERM; sleep 30 & wait'], timeout_seconds: 1 })).body;
  assert.equal(r.timed_out, true);
  assert.ok(await waitFor(() => processGone(r.guest_pid), 4000));
});

test('output beyond 10 MiB is truncated', async () => {
  const r = (await exec({ cmd: 'yes | head -c 11000000' })).body;
  assert.equal(r.exit_code, 0);
  assert.equal(r.stdout.length, 10 * 1024 * 1024);
  assert.equal(r.truncated, true);
});

test('bad requests → 400 with details.field; spawn failure → 500', async () => {
  for (const [body, field] of [
    [{}, 'cmd'],
    [{ cmd: [] }, 'cmd'],
    [{ cmd: [1, 2] }, 'cmd'],
    [{ cmd: '   ' }, 'cmd'],
    [{ cmd: ['ls'], exec_mode: 'magic' }, 'exec_mode'],
    [{ cmd: ['ls'], timeout_seconds: -1 }, 'timeout_seconds'],
    [{ cmd: ['ls'], timeout_seconds: 'soon' }, 'timeout_seconds'],
    [{ cmd: ['ls'], env: ['A=1'] }, 'env'],
    [{ cmd: ['ls'], env: { A: { b: 1 } } }, 'env'],
    [{ cmd: ['ls\u0000'] }, 'cmd'],
  ] as const) {
    const r = await exec(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.success, false);
    assert.equal(r.body.code, 'bad_request');
    assert.equal(r.body.details.field, field);
  }
  const missing = await exec({ cmd: ['/nonexistent/binary'] });
  assert.equal(missing.status, 500);
  assert.equal(missing.body.success, false);
  assert.equal(missing.body.code, 'spawn_failed');
  const task = await agent.call(`/exec/${missing.body.details.task_id}`);
  assert.equal(task.body.status, 'failed');
  assert.match(task.body.error, /ENOENT/);
});

test('list, get, kill and delete-all', async () => {
  const pending = exec({ cmd: ['sleep', '30'], ttl_seconds: -1 });
  let id = '';
  for (let i = 0; i < 50 && !id; i++) {
    const list = (await agent.call('/exec')).body;
    assert.equal(list.success, true);
    const running = list.tasks.find((t: any) => t.command[0] === 'sleep' && t.status === 'running');
    if (running) {
      assert.equal(running.stdout, undefined, 'lists omit output');
      id = running.id;
    } else await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(id, 'running task listed');
  const got = (await agent.call(`/exec/${id}`)).body;
  assert.equal(got.success, true);
  assert.equal(got.status, 'running');
  assert.equal(got.stdout, '');
  assert.equal(got.ttl_seconds, -1);

  const killed = await agent.call(`/exec/${id}`, { method: 'DELETE' });
  assert.deepEqual(killed.body, { success: true, id });
  const final = (await pending).body;
  assert.equal(final.exit_code, 143);
  assert.equal(final.signal, 'SIGTERM');
  const gone = await agent.call(`/exec/${id}`);
  assert.equal(gone.status, 404);
  assert.equal(gone.body.success, false);
  assert.equal((await agent.call(`/exec/${id}`, { method: 'DELETE' })).status, 404);

  await exec({ cmd: ['true'] });
  const all = await agent.call('/exec', { method: 'DELETE' });
  assert.equal(all.body.success, true);
  assert.ok(all.body.deleted >= 1);
  assert.deepEqual((await agent.call('/exec')).body.tasks, []);
});

test('more than 50 concurrent tasks → 429', async () => {
  const runs = Array.from({ length: 50 }, () => exec({ cmd: ['sleep', '30'] }));
  const deadline = Date.now() + 10_000;
  while ((await agent.call('/exec')).body.tasks.filter((t: any) => t.status === 'running').length < 50) {
    assert.ok(Date.now() < deadline, 'tasks did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const over = await exec({ cmd: ['true'] });
  assert.equal(over.status, 429);
  assert.equal(over.body.success, false);
  assert.equal(over.body.code, 'rate_limited');
  const del = await agent.call('/exec', { method: 'DELETE' });
  assert.equal(del.body.deleted, 50);
  const results = await Promise.all(runs);
  assert.ok(results.every((r) => r.body.exit_code === 143));
  assert.equal((await exec({ cmd: ['true'] })).status, 200);
});

test('exec under the target prefix', async () => {
  const r = await agent.call('/runtimes/linux/exec', { method: 'POST', body: JSON.stringify({ cmd: ['echo', 'ok'] }) });
  assert.equal(r.body.stdout, 'ok\n');
});
