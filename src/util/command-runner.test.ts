import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CommandRunner, shellQuote } from './command-runner.js';

test('arguments reach the command exactly, whatever they hold', async (t) => {
  const r = new CommandRunner();
  t.after(() => r.close());
  const args = ["it's", '$(touch /tmp/never)', '; rm -rf /', '"q" `x` $HOME \\ *', '', ' spaced  out '];
  const out = await r.run('printf', ['%s|', ...args]);
  assert.deepEqual(out, { stdout: `${args.join('|')}|`, code: 0 });
  assert.equal(shellQuote("a'b"), `'a'\\''b'`);
});

test('exit codes and output come back per call, in order; stderr is dropped', async (t) => {
  const r = new CommandRunner();
  t.after(() => r.close());
  const [a, b, c] = await Promise.all([
    r.run('sh', ['-c', 'echo one; echo err >&2; exit 3']),
    r.run('echo', ['two']),
    r.run('sh', ['-c', 'printf "no newline"']),
  ]);
  assert.deepEqual(a, { stdout: 'one\n', code: 3 });
  assert.deepEqual(b, { stdout: 'two\n', code: 0 });
  assert.deepEqual(c, { stdout: 'no newline', code: 0 });
  assert.equal((await r.run('no-such-command-warren', [])).code, 127);
});

test('a long output arrives whole', async (t) => {
  const r = new CommandRunner();
  t.after(() => r.close());
  const out = await r.run('seq', ['1', '200000']);
  const lines = out.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 200_000);
  assert.equal(lines.at(-1), '200000');
});

test('a command past its time is killed with its shell; the next call gets a fresh shell', async (t) => {
  const r = new CommandRunner(300);
  t.after(() => r.close());
  const nap = `29.${process.pid}${Date.now() % 1000}`; // a sleep no other process runs
  await assert.rejects(r.run('sh', ['-c', `sleep ${nap}; :`]), /did not finish in time/);
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(spawnSync('pgrep', ['-f', `sleep ${nap}`]).status, 1, 'the timed-out command and its child are gone');
  assert.deepEqual(await r.run('echo', ['ok']), { stdout: 'ok\n', code: 0 });
});

test('close ends the shell and its running command; a later call starts a new shell', async () => {
  const r = new CommandRunner();
  const running = r.run('sleep', ['30']);
  await new Promise((res) => setTimeout(res, 100));
  r.close();
  await assert.rejects(running, /closed/);
  assert.deepEqual(await r.run('echo', ['again']), { stdout: 'again\n', code: 0 });
  r.close();
});
