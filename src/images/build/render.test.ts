import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BuildEvent } from '../../contract/image-build.js';
import { createLineRenderer, createTtyRenderer, cut, formatDuration, progressBar, ttyWrite } from './render.js';

const CONFIG = { env: [], exposedPorts: [], labels: {} };
const STREAM: BuildEvent[] = [
  { type: 'step_start', step: 1, total: 4, line: 1, instruction: 'FROM debian-12' },
  { type: 'step_end', step: 1, total: 4, instruction: 'FROM debian-12', cached: false, ms: 3, layer: null },
  { type: 'step_start', step: 2, total: 4, line: 2, instruction: 'COPY . /app' },
  { type: 'step_end', step: 2, total: 4, instruction: 'COPY . /app', cached: true, ms: 1, layer: 'sha256:a' },
  { type: 'step_start', step: 3, total: 4, line: 3, instruction: 'RUN make' },
  { type: 'log', step: 3, text: 'cc -o app main.c' },
  { type: 'log', step: 3, text: 'done' },
  { type: 'step_end', step: 3, total: 4, instruction: 'RUN make', cached: false, ms: 12_340, layer: 'sha256:b' },
  { type: 'warning', message: 'line 4: VOLUME is recorded but has no effect in Warren' },
  { type: 'step_start', step: 4, total: 4, line: 4, instruction: 'VOLUME /data' },
  { type: 'step_end', step: 4, total: 4, instruction: 'VOLUME /data', cached: false, ms: 0, layer: null },
  {
    type: 'done', key: 'sha256:k', layers: ['sha256:a', 'sha256:b'], config: CONFIG, history: [], recorded: {}, warnings: [],
    ms: 12_500, cachedSteps: 1, totalSteps: 4, image: { id: 'sha256:i', name: 'team/app:1' },
  },
];

test('line mode: one line per quiet step, a header and indented logs for a step that prints', () => {
  const render = createLineRenderer();
  assert.deepEqual(STREAM.flatMap(render), [
    '[1/4] FROM debian-12',
    '[2/4] CACHED COPY . /app',
    '[3/4] RUN make',
    '  | cc -o app main.c',
    '  | done',
    '[3/4] done (12.3s)',
    'warning: line 4: VOLUME is recorded but has no effect in Warren',
    '[4/4] VOLUME /data',
    'built in 12.5s: 4 steps, 1 cached → team/app:1',
  ]);
});

test('line mode: an error is the last line', () => {
  const render = createLineRenderer();
  const lines = [
    ...render({ type: 'step_start', step: 2, total: 2, line: 2, instruction: 'RUN false' }),
    ...render({ type: 'error', code: 'BUILD_STEP_FAILED', message: 'step 2/2 (RUN false) failed with exit code 1', step: 2, line: 2 }),
  ];
  assert.deepEqual(lines, ['error BUILD_STEP_FAILED: step 2/2 (RUN false) failed with exit code 1']);
});

test('tty mode: finished steps print above one redrawn status line with the last log line', () => {
  const r = createTtyRenderer({ columns: 80 });
  const t0 = 1_000_000;
  const frames = STREAM.slice(0, 7).map((e) => r.update(e, t0));
  assert.deepEqual(frames[1], { lines: ['[1/4] FROM debian-12'], status: '' });
  assert.deepEqual(frames[3]?.lines, ['[2/4] CACHED COPY . /app']);
  assert.equal(frames[4]?.status, `[3/4] ${progressBar(2, 4, 12)} 0.0s RUN make`);
  assert.equal(frames[6]?.status, `[3/4] ${progressBar(2, 4, 12)} 0.0s RUN make | done`);
  assert.equal(r.status(t0 + 65_000), `[3/4] ${progressBar(2, 4, 12)} 1m05s RUN make | done`, 'the clock moves on redraw');
  const end = r.update(STREAM[7] as BuildEvent, t0);
  assert.deepEqual(end, { lines: ['[3/4] RUN make (12.3s)'], status: '' });
  assert.equal(ttyWrite(end), '\r\x1b[2K[3/4] RUN make (12.3s)\n');
  const done = r.update(STREAM[STREAM.length - 1] as BuildEvent, t0);
  assert.deepEqual(done, { lines: ['built in 12.5s: 4 steps, 1 cached → team/app:1'], status: '' });
  assert.equal(r.status(t0), '');
});

test('tty mode: the status line fits the terminal, and a failure shows the step log', () => {
  const r = createTtyRenderer({ columns: 40 });
  r.update({ type: 'step_start', step: 2, total: 9, line: 2, instruction: `RUN ${'x'.repeat(100)}` }, 0);
  assert.equal([...r.update({ type: 'log', step: 2, text: 'compiling\tthings' }, 0).status].length, 39);
  const frame = r.update({ type: 'error', code: 'BUILD_STEP_FAILED', message: 'step 2/9 failed with exit code 2', step: 2 }, 0);
  assert.deepEqual(frame, { lines: ['  | compiling\tthings', 'error BUILD_STEP_FAILED: step 2/9 failed with exit code 2'], status: '' });
});

test('helpers', () => {
  assert.equal(formatDuration(400), '0.4s');
  assert.equal(formatDuration(125_000), '2m05s');
  assert.equal(progressBar(0, 0, 4), '░░░░');
  assert.equal(progressBar(3, 3, 4), '████');
  assert.equal(cut('abcdef', 4), 'abc…');
  assert.equal(cut('a\x1b[31mb', 10), 'a [31mb', 'control characters cannot drive the terminal');
});
