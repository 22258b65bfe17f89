// tar's refusals reach a build's client as a fixed phrase, never tar's own lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tarVerdict } from './tar-verdict.js';

const failed = (stderr: string) => Object.assign(new Error('tar failed'), { stderr });

test('each kind of tar failure is one fixed phrase without tar\'s text', () => {
  const cases: Array<[string, RegExp]> = [
    ['/usr/bin/tar: This does not look like a tar archive\n/usr/bin/tar: Exiting with failure status', /not a tar archive/],
    ['gzip: stdin: not in gzip format\ntar: Child returned status 1', /not a tar archive/],
    ['tar: Unexpected EOF in archive', /truncated/],
    ['tar: /var/lib/warren/tmp/x/a: Cannot open: File exists', /collides/],
    ['tar: ./big: Wrote only 512 of 10240 bytes: No space left on device', /no space/],
  ];
  for (const [stderr, phrase] of cases) {
    const v = tarVerdict(failed(stderr));
    assert.match(v, phrase, stderr);
    assert.ok(!/tar:|\/var\/|gzip:/.test(v), v);
  }
  assert.equal(tarVerdict(failed('something else entirely at /var/x')), '');
  assert.equal(tarVerdict(new Error('no stderr')), '');
});
