import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamingWriteBody } from './json-stream.js';

/** Feeds `text` in chunks of `size` bytes (splitting escapes and UTF-8 sequences). */
async function parse(text: string, size: number) {
  const out: Buffer[] = [];
  const body = new StreamingWriteBody('content', async (c) => void out.push(Buffer.from(c)));
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) await body.push(bytes.subarray(i, i + size));
  body.finish();
  return { fields: body.fields, content: Buffer.concat(out).toString('utf8'), seen: body.contentSeen };
}

test('content is unescaped identically to JSON.parse whatever the chunking', async () => {
  const value = { path: '/a "b"', content: 'héllo\n\t"\\/ \u{1F600} \u0001 end', append: true, mode: '0600', n: -1.5e3, z: null, extra: { a: [1, '}]'] } };
  for (const json of [JSON.stringify(value), JSON.stringify(value).replace('\u{1F600}', '\\ud83d\\ude00'), JSON.stringify(value, null, 2)]) {
    for (const size of [1, 2, 3, 7, 1000]) {
      const r = await parse(json, size);
      assert.equal(r.content, value.content);
      assert.equal(r.fields.path, value.path);
      assert.equal(r.fields.append, true);
      assert.equal(r.fields.mode, '0600');
      assert.equal(r.fields.n, -1500);
      assert.equal(r.fields.z, null);
      assert.ok(r.seen);
    }
  }
});

test('malformed bodies are 400 bad_request', async () => {
  for (const bad of ['', '[1]', '{"a" 1}', '{"a":1', '{"content":"\\x"}', '{"a":tru}', '{"a":1}x', '{"content":"\\u12G4"}']) {
    await assert.rejects(parse(bad, 3), (err: any) => err.code === 'bad_request', bad);
  }
});

test('a lone surrogate becomes U+FFFD', async () => {
  assert.equal((await parse('{"content":"a\\ud800b"}', 2)).content, 'a\uFFFDb');
  assert.equal((await parse('{"content":"\\ud800"}', 2)).content, '\uFFFD');
});

test('large content with dense escapes matches JSON.parse in socket-sized chunks', async () => {
  const unit = 'line with "quotes", a \\ backslash, tab\t, é, \u{1F600}\n';
  const value = { path: '/big', content: unit.repeat(4000), append: true };
  const json = JSON.stringify(value);
  for (const size of [65536, 16384, 1021]) {
    const r = await parse(json, size);
    assert.equal(r.content, value.content);
    assert.equal(r.fields.path, '/big');
    assert.equal(r.fields.append, true);
  }
});
