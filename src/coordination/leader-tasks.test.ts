/** Leader-only tasks follow leadership: started in order on a term, stopped in reverse when it ends. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderTasks } from './leader-tasks.js';
import { LocalCoordination } from './local.js';
import type { LeadershipPort } from '../domain/ports.js';

function fakeLeadership(initial: boolean) {
  let leader = initial;
  let epoch = initial ? 1 : 0;
  const listeners = new Set<(l: boolean, e: number | null) => void>();
  const port: LeadershipPort = {
    isLeader: () => leader,
    epoch: () => (leader ? epoch : null),
    onChange: (l) => { listeners.add(l); return () => void listeners.delete(l); },
    fenced: async (_e, fn) => fn(),
  };
  const set = (l: boolean) => {
    leader = l;
    if (l) epoch += 1;
    for (const fn of listeners) fn(l, l ? epoch : null);
  };
  return { port, set };
}

function recorder() {
  const events: string[] = [];
  const task = (name: string) => ({
    name, start: async (e: number) => void events.push(`start ${name} ${e}`), stop: () => void events.push(`stop ${name}`),
  });
  return { events, tasks: [task('a'), task('b')] };
}

const log = () => {};
const settle = () => new Promise((r) => setImmediate(r));

test('always leader (single host): the tasks run from begin, in order, and stop at end', async () => {
  const { events, tasks } = recorder();
  const lt = new LeaderTasks(new LocalCoordination().leadership, tasks, log);
  await lt.begin();
  assert.deepEqual(events, ['start a 1', 'start b 1']);
  await lt.end();
  assert.deepEqual(events.slice(2), ['stop b', 'stop a']);
});

test('a standby stops the tasks at begin, starts them when it gains leadership, stops them when deposed', async () => {
  const { events, tasks } = recorder();
  const l = fakeLeadership(false);
  const lt = new LeaderTasks(l.port, tasks, log);
  await lt.begin();
  assert.deepEqual(events, ['stop b', 'stop a'], 'a standby makes sure nothing runs');
  l.set(true);
  await settle();
  assert.deepEqual(events.slice(2), ['start a 1', 'start b 1']);
  l.set(false);
  await settle();
  assert.deepEqual(events.slice(4), ['stop b', 'stop a']);
  await lt.end();
  assert.equal(events.length, 6, 'end on a standby stops nothing twice');
});
