import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCmd, parseMode, resolveCommand, shellQuote } from './command.js';

test('auto mode', () => {
  assert.deepEqual(resolveCommand(['ls'], 'auto'), { file: 'ls', args: [], command: ['ls'], mode: 'direct' });
  assert.deepEqual(resolveCommand(['ls', '-la', '/app'], 'auto').args, ['-la', '/app']);
  assert.deepEqual(resolveCommand(['ls -la'], 'auto').args, ['-c', 'ls -la']);
  assert.deepEqual(resolveCommand(['a | b'], 'auto').file, '/bin/sh');
  assert.deepEqual(resolveCommand(['sh', '-c', 'a | b'], 'auto').args, ['-c', 'a | b']);
  assert.equal(resolveCommand(['sh', '-c', 'a | b'], 'auto').file, 'sh');
  assert.deepEqual(resolveCommand(['echo', 'x y', '|', 'wc'], 'auto').args, ['-c', "echo 'x y' | wc"]);
});

test('shell and direct modes', () => {
  assert.deepEqual(resolveCommand(['echo', '$A'], 'shell').args, ['-c', 'echo $A']);
  assert.deepEqual(resolveCommand(['echo  a   b'], 'direct'), { file: 'echo', args: ['a', 'b'], command: ['echo  a   b'], mode: 'direct' });
  assert.deepEqual(resolveCommand(['echo', 'a|b'], 'direct').args, ['a|b']);
});

test('parsing and quoting', () => {
  assert.deepEqual(parseCmd('ls'), ['ls']);
  assert.throws(() => parseCmd(undefined));
  assert.throws(() => parseCmd(['']));
  assert.throws(() => parseCmd([1]));
  assert.equal(parseMode(undefined), 'auto');
  assert.throws(() => parseMode('x'));
  assert.equal(shellQuote('abc/def.txt'), 'abc/def.txt');
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});
