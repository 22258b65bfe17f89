import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookupFrom, processWord, SubstitutionError } from './substitute.js';

const env = lookupFrom(['FOO=bar', 'EMPTY=', 'SPACED=a b  c', 'PATH=/usr/bin']);
const w = (s: string, escape = '\\') => processWord(s, env, escape).value;

test("Docker's documented forms: $V, ${V}, ${V:-word}, ${V:+word}", () => {
  assert.equal(w('$FOO'), 'bar');
  assert.equal(w('${FOO}'), 'bar');
  assert.equal(w('${FOO}_x'), 'bar_x');
  assert.equal(w('$FOO_x'), ''); // the name is FOO_x, which is unset
  assert.equal(w('${UNSET:-word}'), 'word');
  assert.equal(w('${EMPTY:-word}'), 'word');
  assert.equal(w('${FOO:-word}'), 'bar');
  assert.equal(w('${FOO:+word}'), 'word');
  assert.equal(w('${UNSET:+word}'), '');
  assert.equal(w('${EMPTY:+word}'), '');
  assert.equal(w('$UNSET'), '');
  assert.equal(w('${PATH}:/usr/local/bin'), '/usr/bin:/usr/local/bin');
});

test('without the colon, only unset counts (an empty value is set)', () => {
  assert.equal(w('${EMPTY-word}'), '');
  assert.equal(w('${UNSET-word}'), 'word');
  assert.equal(w('${EMPTY+word}'), 'word');
  assert.equal(w('${UNSET+word}'), '');
});

test('the word of a modifier is itself substituted', () => {
  assert.equal(w('${UNSET:-$FOO/x}'), 'bar/x');
  assert.equal(w('${UNSET:-${FOO:+yes}}'), 'yes');
});

test('${V:?msg} refuses an unset variable', () => {
  assert.equal(w('${FOO:?need foo}'), 'bar');
  assert.throws(() => w('${UNSET:?need it}'), (err: unknown) => err instanceof SubstitutionError && /UNSET: need it/.test(err.message));
});

test('escapes and quotes, as in the docs (\\$foo is literal; quotes are removed)', () => {
  assert.equal(w('\\$FOO'), '$FOO');
  assert.equal(w('\\${FOO}'), '${FOO}');
  assert.equal(w("'$FOO'"), '$FOO');
  assert.equal(w('"$FOO"'), 'bar');
  assert.equal(w('"a \\"q\\" \\$FOO \\x"'), 'a "q" $FOO \\x');
  assert.equal(w('"hello world"'), 'hello world');
  assert.equal(w('a\\ b'), 'a b');
  assert.equal(w('\'a\'"b"c'), 'abc');
  assert.equal(w('"it\'s"'), "it's");
});

test('a lone $ stays; $ followed by a non-name stays', () => {
  assert.equal(w('cost: 5$'), 'cost: 5$');
  assert.equal(w('$/x'), '$/x');
});

test('the escape character follows # escape=`', () => {
  assert.equal(w('`$FOO', '`'), '$FOO');
  assert.equal(w('C:\\path\\$FOO', '`'), 'C:\\path\\bar');
});

test('syntax errors are reported, not guessed', () => {
  for (const bad of ['${FOO', '${}', '${:x}', '"open', "'open", '${FOO#x}', '${FOO%x}']) {
    assert.throws(() => w(bad), SubstitutionError, bad);
  }
});

test('words split substituted values and unquoted text, not quoted text (EXPOSE $PORTS)', () => {
  assert.deepEqual(processWord('$SPACED', env).words, ['a', 'b', 'c']);
  assert.deepEqual(processWord('"$SPACED" x', env).words, ['a b  c', 'x']);
  assert.deepEqual(processWord('80 443/udp', env).words, ['80', '443/udp']);
});

test('the variables read are reported', () => {
  assert.deepEqual(processWord('$FOO ${UNSET:-x}', env).used.sort(), ['FOO', 'UNSET']);
});

test('ENV entries win over extra (ARG) values of the same name', () => {
  const l = lookupFrom(['A=env'], { A: 'arg', B: 'arg' });
  assert.equal(l('A'), 'env');
  assert.equal(l('B'), 'arg');
  assert.equal(lookupFrom([], { C: undefined })('C'), undefined);
});
