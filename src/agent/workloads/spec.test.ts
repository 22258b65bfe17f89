import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../contract/errors.js';
import { needsRestart, parseWorkloadSpec } from './spec.js';
import { parseProcStat, workloadProcs } from './stats.js';

const base = { id: 'wl_abcdef123456', name: 'web', cmd: ['node', 'server.js'], env: { A: '1' } };

test('a normalised spec parses, with defaults for what is missing', () => {
  const s = parseWorkloadSpec(base, 'wl_abcdef123456');
  assert.equal(s.restart_policy, 'never');
  assert.equal(s.max_log_size_mb, 10);
  assert.equal(s.enabled, true);
  assert.equal(s.vm_on_exit, '');
  assert.deepEqual(s.env, { A: '1' });
});

test('bad specs are refused with the field named', () => {
  const bad: Array<[unknown, string]> = [
    [{ ...base, cmd: [] }, 'cmd'],
    [{ ...base, cmd: 'ls' }, 'cmd'],
    [{ ...base, id: '../x' }, 'id'],
    [{ ...base, id: '_agent' }, 'id'],
    [{ ...base, restart_policy: 'sometimes' }, 'restart_policy'],
    [{ ...base, max_log_size_mb: 2048 }, 'max_log_size_mb'],
    [{ ...base, log_path: 'relative.log' }, 'log_path'],
    [{ ...base, env: { 'A=B': 'x' } }, 'env.A=B'],
    [{ ...base, cmd: ['a\0b'] }, 'cmd[0]'],
    [[], 'body'],
  ];
  for (const [raw, field] of bad) {
    assert.throws(() => parseWorkloadSpec(raw), (err: unknown) => err instanceof AppError && err.details?.field === field, field);
  }
  assert.throws(() => parseWorkloadSpec(base, 'wl_other123456'), /does not match/);
});

test('needsRestart looks at cmd, env and working_dir only', () => {
  const a = parseWorkloadSpec(base);
  assert.equal(needsRestart(a, parseWorkloadSpec({ ...base, name: 'other', restart_policy: 'always' })), false);
  assert.equal(needsRestart(a, parseWorkloadSpec({ ...base, env: { A: '2' } })), true);
  assert.equal(needsRestart(a, parseWorkloadSpec({ ...base, cmd: ['node'] })), true);
  assert.equal(needsRestart(a, parseWorkloadSpec({ ...base, working_dir: '/srv' })), true);
});

test('/proc/<pid>/stat parsing and the process tree', () => {
  const st = parseProcStat('42 (we ird) (x)) S 1 42 42 0 -1 0 0 0 0 0 7 3 2 1 20 0 1 0 0 0 25 0');
  assert.deepEqual(st, { pid: 42, ppid: 1, session: 42, ticks: 10, childTicks: 3, rssPages: 25 });
  const p = (pid: number, ppid: number, session: number) => ({ pid, ppid, session, ticks: 1, childTicks: 0, rssPages: 1 });
  const procs = [p(10, 1, 10), p(11, 10, 10), p(12, 11, 12), p(13, 12, 12), p(20, 1, 20), p(14, 1, 10)];
  assert.deepEqual(workloadProcs(10, procs).map((x) => x.pid).sort(), [10, 11, 12, 13, 14]);
});
