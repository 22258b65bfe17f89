/**
 * Workloads through the agent's internal API (`/_warren/*`), with the real agent and real
 * processes: logs and their stream, restart policies, stop, delete, boot order, the
 * control-token auth, and per-workload cgroups on a real cgroup v1 tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertError, processGone, startAgent, waitFor, TEST_CONTROL_TOKEN, type AgentHandle } from './harness.js';

const ctl = (a: AgentHandle, path: string, init: RequestInit = {}) => a.call(path, { ...init, token: TEST_CONTROL_TOKEN });
const put = (a: AgentHandle, spec: Record<string, unknown>) =>
  ctl(a, `/_warren/workloads/${spec.id as string}`, { method: 'PUT', body: JSON.stringify(spec) });

async function statusOf(a: AgentHandle, wid: string): Promise<any> {
  return (await ctl(a, '/_warren/workloads')).body.workloads.find((w: any) => w.id === wid);
}

async function until(a: AgentHandle, wid: string, pred: (s: any) => boolean, ms = 8000): Promise<any> {
  let s: any;
  const ok = await waitForAsync(async () => pred((s = await statusOf(a, wid))), ms);
  assert.ok(ok, `workload ${wid} never matched; last: ${JSON.stringify(s)}`);
  return s;
}

async function waitForAsync(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}

/**
 * Reads an SSE stream's `data:` payloads; `done()` aborts it. `finished` never rejects:
 * a stream cut by the agent's exit ends it like a normal end.
 */
function openSse(url: string, token: string) {
  const events: any[] = [];
  const ac = new AbortController();
  let ended = false;
  let status = 0;
  const finished = (async () => {
    try {
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
      status = res.status;
      let buf = '';
      for await (const chunk of res.body as any) {
        buf += Buffer.from(chunk).toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of block.split('\n')) if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)));
        }
      }
    } catch {
      /* aborted or cut */
    }
    ended = true;
  })();
  return { events, finished, ended: () => ended, status: () => status, done: () => ac.abort() };
}

test('output reaches the log, the tail and the stream (replay then follow); delete ends it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wtest-wl-'));
  const agent = await startAgent();
  t.after(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const go = join(dir, 'go');
  const r = await put(agent, {
    id: 'wl_marker0000001', name: 'marker', env: { WHO: 'workload-env' },
    cmd: ['sh', '-c', `echo "first-marker $WHO"; while [ ! -f ${go} ]; do sleep 0.05; done; echo second-marker >&2; exec sleep 30`],
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.workload.id, 'wl_marker0000001');
  await until(agent, 'wl_marker0000001', (s) => s.status === 'running');
  assert.ok(await waitForAsync(async () =>
    (await ctl(agent, '/_warren/workloads/wl_marker0000001/logs')).body.entries.length === 1, 5000));
  const sse = openSse(`${agent.url}/_warren/workloads/wl_marker0000001/logs/stream?tail=10`, TEST_CONTROL_TOKEN);
  assert.ok(await waitFor(() => sse.events.length === 1, 5000));
  assert.equal(sse.events[0].data, 'first-marker workload-env\n');
  assert.equal(sse.events[0].stream, 'stdout');
  assert.equal(sse.events[0].workload_id, 'wl_marker0000001');
  assert.match(sse.events[0].timestamp, /^\d{4}-\d\d-\d\dT/);
  writeFileSync(go, '');
  assert.ok(await waitFor(() => sse.events.length === 2, 5000));
  assert.deepEqual([sse.events[1].data, sse.events[1].stream], ['second-marker\n', 'stderr']);

  const logFile = join(agent.logsDir, 'workloads', 'wl_marker0000001.log');
  const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.s, l.d]), [['stdout', 'first-marker workload-env\n'], ['stderr', 'second-marker\n']]);
  const pid = (await statusOf(agent, 'wl_marker0000001')).pid;

  const del = await ctl(agent, '/_warren/workloads/wl_marker0000001', { method: 'DELETE' });
  assert.deepEqual(del.body, { success: true, deleted: true });
  await sse.finished;
  assert.ok(sse.ended(), 'stream did not end on delete');
  assert.ok(await waitFor(() => processGone(pid), 3000));
  assert.ok(!existsSync(logFile));
  assertError(await ctl(agent, '/_warren/workloads/wl_marker0000001'), 404, 'workload_not_found');
  assertError(await ctl(agent, '/_warren/workloads/wl_marker0000001/logs'), 404, 'workload_not_found');
  assertError(await ctl(agent, '/_warren/workloads/wl_marker0000001', { method: 'DELETE' }), 404, 'workload_not_found');
});

test('on-failure restarts exactly max_restarts times; events say when it is final', async (t) => {
  const agent = await startAgent();
  t.after(() => agent.stop());
  const events = openSse(`${agent.url}/_warren/events`, TEST_CONTROL_TOKEN);
  t.after(() => events.done());
  await sleep(100);
  await put(agent, {
    id: 'wl_fail00000001', cmd: ['sh', '-c', 'echo run; exit 3'], restart_policy: 'on-failure',
    max_restarts: 2, restart_delay_ms: 0, vm_on_exit: 'stop',
  });
  const s = await until(agent, 'wl_fail00000001', (x) => x.status === 'failed');
  assert.equal(s.restarts, 2);
  assert.equal(s.exit_code, 3);
  await sleep(400);
  assert.equal((await statusOf(agent, 'wl_fail00000001')).restarts, 2, 'restarted after the last allowed restart');
  const runs = (await ctl(agent, '/_warren/workloads/wl_fail00000001/logs')).body.entries.filter((e: any) => e.data === 'run\n');
  assert.equal(runs.length, 3);
  const exits = events.events.filter((e) => e.type === 'workload_exit');
  assert.deepEqual(exits.map((e) => [e.workload_id, e.exit_code, e.vm_on_exit, e.final]), [
    ['wl_fail00000001', 3, 'stop', false], ['wl_fail00000001', 3, 'stop', false], ['wl_fail00000001', 3, 'stop', true],
  ]);
  assert.ok(events.events.some((e) => e.type === 'workload_status' && e.status === 'failed'));
  // A reconnecting follower catches up from its last seq.
  const seq = exits[0].seq;
  const again = openSse(`${agent.url}/_warren/events?since=${seq}`, TEST_CONTROL_TOKEN);
  t.after(() => again.done());
  assert.ok(await waitFor(() => again.events.filter((e) => e.type === 'workload_exit').length === 2, 3000));

  // A success is not a failure: on-failure leaves it exited.
  await put(agent, { id: 'wl_ok0000000001', cmd: ['true'], restart_policy: 'on-failure', max_restarts: 5, restart_delay_ms: 0 });
  const ok = await until(agent, 'wl_ok0000000001', (x) => x.status === 'exited');
  assert.equal(ok.restarts, 0);
  assert.equal(ok.exit_code, 0);
});

test('always restarts on success too; a stop through the API is never restarted', async (t) => {
  const agent = await startAgent();
  t.after(() => agent.stop());
  await put(agent, { id: 'wl_always000001', cmd: ['true'], restart_policy: 'always', max_restarts: 2, restart_delay_ms: 0 });
  const s = await until(agent, 'wl_always000001', (x) => x.status === 'exited' && x.restarts === 2);
  assert.equal(s.exit_code, 0);

  await put(agent, { id: 'wl_always000002', cmd: ['sleep', '30'], restart_policy: 'always', restart_delay_ms: 0 });
  const running = await until(agent, 'wl_always000002', (x) => x.status === 'running');
  const stopped = await ctl(agent, '/_warren/workloads/wl_always000002/stop', { method: 'POST' });
  assert.equal(stopped.body.workload.status, 'stopped');
  assert.ok(processGone(running.pid));
  await sleep(500);
  const after = await statusOf(agent, 'wl_always000002');
  assert.equal(after.status, 'stopped');
  assert.equal(after.restarts, 0);
  // Start again: a new process, the restart count starts over.
  const started = await ctl(agent, '/_warren/workloads/wl_always000002/start', { method: 'POST' });
  assert.ok(['starting', 'running'].includes(started.body.workload.status));
  const again = await until(agent, 'wl_always000002', (x) => x.status === 'running');
  assert.notEqual(again.pid, running.pid);
  // Starting a running workload is a no-op.
  assert.equal((await ctl(agent, '/_warren/workloads/wl_always000002/start', { method: 'POST' })).body.workload.pid, again.pid);
});

test('a missing command fails with 127 and an error, follows the policy, and the agent keeps serving', async (t) => {
  const agent = await startAgent();
  t.after(() => agent.stop());
  await put(agent, { id: 'wl_missing00001', cmd: ['no-such-program-xyz'], restart_policy: 'on-failure', max_restarts: 1, restart_delay_ms: 0 });
  const s = await until(agent, 'wl_missing00001', (x) => x.status === 'failed' && x.restarts === 1);
  assert.equal(s.exit_code, 127);
  assert.equal(s.error, 'command not found: no-such-program-xyz');
  const logs = (await ctl(agent, '/_warren/workloads/wl_missing00001/logs')).body.entries;
  assert.equal(logs.filter((e: any) => e.stream === 'stderr' && /command not found/.test(e.data)).length, 2);
  assert.equal((await agent.call('/health')).status, 200);

  await put(agent, { id: 'wl_badcwd000001', cmd: ['true'], working_dir: '/no/such/dir' });
  const c = await until(agent, 'wl_badcwd000001', (x) => x.status === 'failed');
  assert.equal(c.error, 'working directory not found: /no/such/dir');
});

test('PUT replaces: a changed command restarts it, other changes keep the process', async (t) => {
  const agent = await startAgent();
  t.after(() => agent.stop());
  const spec = { id: 'wl_replace00001', cmd: ['sleep', '30'], restart_policy: 'never' };
  await put(agent, spec);
  const first = await until(agent, 'wl_replace00001', (x) => x.status === 'running');
  await put(agent, { ...spec, name: 'renamed', restart_policy: 'always' });
  const same = await statusOf(agent, 'wl_replace00001');
  assert.equal(same.pid, first.pid);
  assert.equal(same.name, 'renamed');
  await put(agent, { ...spec, cmd: ['sleep', '31'] });
  const next = await until(agent, 'wl_replace00001', (x) => x.status === 'running' && x.pid !== first.pid);
  assert.ok(processGone(first.pid));
  assert.equal(next.restarts, 0);
  // Bad bodies are refused with the field named.
  const bad = await put(agent, { id: 'wl_replace00001', cmd: [] });
  assertError(bad, 422, 'validation_error');
  assert.equal(bad.body.details.field, 'cmd');
  const mismatch = await ctl(agent, '/_warren/workloads/wl_other0000001', { method: 'PUT', body: JSON.stringify(spec) });
  assert.equal(mismatch.body.details.field, 'id');
});

test('config workloads start at boot in order; disabled ones wait', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wtest-wlboot-'));
  const mk = (n: number, enabled = true) => ({
    id: `wl_boot0000000${n}`, cmd: ['sh', '-c', `echo started > ${join(dir, String(n))}; exec sleep 30`], enabled,
  });
  const agent = await startAgent({
    config: { workspace_id: 'ws_boot', env: {}, workloads: [mk(1), mk(2), { id: 'bad id', cmd: [] }, mk(3), mk(4, false)] },
  });
  t.after(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const list = (await ctl(agent, '/_warren/workloads')).body.workloads;
  assert.deepEqual(list.map((w: any) => w.id), ['wl_boot00000001', 'wl_boot00000002', 'wl_boot00000003', 'wl_boot00000004']);
  assert.ok(await waitFor(() => [1, 2, 3].every((n) => existsSync(join(dir, String(n)))), 5000));
  const running = (await ctl(agent, '/_warren/workloads')).body.workloads.slice(0, 3);
  const starts = running.map((w: any) => Date.parse(w.started_at));
  assert.deepEqual([...starts].sort((a, b) => a - b), starts, 'started out of order');
  assert.ok(running.every((w: any) => typeof w.pid === 'number'));
  assert.equal(list[3].status, 'pending');
  assert.ok(!existsSync(join(dir, '4')));
});

test('/_warren takes only the control token; runtime routes refuse it', async (t) => {
  const agent = await startAgent();
  t.after(() => agent.stop());
  assertError(await agent.call('/_warren/workloads'), 401, 'unauthorized');
  assertError(await agent.call('/_warren/nonexistent'), 401, 'unauthorized');
  assertError(await agent.call('/_warren/workloads', { token: null }), 401, 'unauthorized');
  assertError(await agent.call('/exec', { token: TEST_CONTROL_TOKEN }), 401, 'unauthorized');
  assertError(await agent.call(`/_warren/workloads?token=${TEST_CONTROL_TOKEN}`, { token: null }), 401, 'unauthorized');
  assert.equal((await ctl(agent, '/_warren/workloads')).status, 200);
  // Not reachable under a runtime target prefix, with either token.
  assert.equal((await ctl(agent, '/runtimes/default/_warren/workloads')).status, 404);
  assertError(await agent.call('/runtimes/default/_warren/workloads'), 401, 'unauthorized');
  // The runtime API disabled: the internal API still works.
  agent.removeToken();
  assert.equal((await ctl(agent, '/_warren/workloads')).status, 200);

  const none = await startAgent({ controlToken: null });
  t.after(() => none.stop());
  assertError(await none.call('/_warren/workloads', { token: TEST_CONTROL_TOKEN }), 401, 'unauthorized');
});

test('per-workload cgroups: CPU and memory are measured in the workload\'s own groups', async (t) => {
  const tree = makeTestCgroupTree();
  if (!tree) {
    t.skip('no writable cgroup v1 memory/cpu/cpuacct/pids hierarchy on this host');
    return;
  }
  let agent: AgentHandle | undefined;
  t.after(async () => {
    await agent?.stop();
    await tree.cleanup();
  });
  agent = await startAgent({ cgroupRoot: tree.root });
  assert.match(readFileSync(`/proc/${agent.pid}/cgroup`, 'utf8'), /:cpuacct:.*\/workloads\/_agent$/m);
  await put(agent, { id: 'wl_burn00000001', cmd: ['sh', '-c', 'while :; do :; done'] });
  await put(agent, {
    id: 'wl_mem000000001',
    cmd: [process.execPath, '-e', 'globalThis.b = Buffer.alloc(50 * 1024 * 1024, 1); setInterval(() => {}, 1000)'],
  });
  const burn = await until(agent, 'wl_burn00000001', (x) => x.status === 'running');
  assert.match(readFileSync(`/proc/${burn.pid}/cgroup`, 'utf8'), /:cpuacct:.*\/workloads\/wl_burn00000001$/m);
  const one = async (wid: string) => (await ctl(agent!, `/_warren/workloads/${wid}/stats`)).body.stats;
  await sleep(300);
  const a = await one('wl_burn00000001');
  await sleep(500);
  const b = await one('wl_burn00000001');
  assert.ok(b.cpu_usage_ns - a.cpu_usage_ns > 100e6, `cpu grew ${b.cpu_usage_ns - a.cpu_usage_ns} ns`);
  assert.ok(b.pids >= 1);
  assert.ok(await waitForAsync(async () => (await one('wl_mem000000001')).memory_bytes >= 50 * 1024 * 1024, 5000),
    `memory: ${JSON.stringify(await one('wl_mem000000001'))}`);
  assert.ok((await one('wl_burn00000001')).memory_bytes < 50 * 1024 * 1024);
  const all = (await ctl(agent, '/_warren/workloads/stats')).body.stats;
  assert.deepEqual(all.map((s: any) => s.workload_id).sort(), ['wl_burn00000001', 'wl_mem000000001']);
  // Delete removes the groups once the processes are gone.
  await ctl(agent, '/_warren/workloads/wl_burn00000001', { method: 'DELETE' });
  assert.ok(!existsSync(join(tree.root, 'cpuacct', 'workloads', 'wl_burn00000001')));
  assert.ok(processGone(burn.pid));
});

test('without cgroups, stats come from /proc', async (t) => {
  const agent = await startAgent();
  t.after(() => agent.stop());
  await put(agent, { id: 'wl_procburn0001', cmd: ['sh', '-c', 'while :; do :; done'] });
  await until(agent, 'wl_procburn0001', (x) => x.status === 'running');
  await sleep(300);
  const a = (await ctl(agent, '/_warren/workloads/wl_procburn0001/stats')).body.stats;
  await sleep(500);
  const b = (await ctl(agent, '/_warren/workloads/wl_procburn0001/stats')).body.stats;
  assert.equal(b.workload_id, 'wl_procburn0001');
  assert.equal(b.status, 'running');
  assert.ok(b.cpu_usage_ns - a.cpu_usage_ns > 100e6, `cpu grew ${b.cpu_usage_ns - a.cpu_usage_ns} ns`);
  assert.ok(b.memory_bytes > 0);
  assert.equal(b.pids, 1);
});

/**
 * A cgroup v1 tree laid out as the host gives it to a sandbox: `<root>/<c>/workloads/`
 * writable, for c in memory, cpu, cpuacct, pids. Each `<root>/<c>` is a symlink to
 * `warren-test-<pid>` made inside this process's own group of that controller (so the
 * agent stays under whatever limits the test runs with). Null when the host lacks them.
 */
function makeTestCgroupTree(): { root: string; cleanup(): Promise<void> } | null {
  const self = readFileSync('/proc/self/cgroup', 'utf8');
  const root = mkdtempSync(join(tmpdir(), 'wtest-cgroot-'));
  const made: string[] = [];
  const cleanup = async () => {
    for (let round = 0; round < 50; round++) {
      let left = 0;
      for (const dir of made) {
        for (const d of subdirsDeepestFirst(dir)) {
          for (const pid of readProcs(d)) {
            left++;
            try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
          }
        }
      }
      if (left === 0) break;
      await sleep(50);
    }
    for (const dir of made) for (const d of subdirsDeepestFirst(dir)) {
      try { rmdirSync(d); } catch { /* reported by the next assertion run */ }
    }
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const c of ['memory', 'cpu', 'cpuacct', 'pids']) {
      const m = new RegExp(`^\\d+:(?:[^:]*,)?${c}(?:,[^:]*)?:(.*)$`, 'm').exec(self);
      if (!m || !existsSync(`/sys/fs/cgroup/${c}/cgroup.procs`)) throw new Error(`no ${c} hierarchy`);
      const dir = join('/sys/fs/cgroup', c, m[1] as string, `warren-test-${process.pid}`);
      mkdirSync(join(dir, 'workloads'), { recursive: true });
      made.push(dir);
      symlinkSync(dir, join(root, c));
    }
  } catch {
    void cleanup();
    return null;
  }
  return { root, cleanup };
}

function subdirsDeepestFirst(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try { entries = readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) if (e.isDirectory()) walk(join(d, e.name));
    out.push(d);
  };
  walk(dir);
  return out;
}

function readProcs(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
