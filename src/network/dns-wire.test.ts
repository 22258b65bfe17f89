import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLASS_IN,
  DnsWireError,
  RCODE_NXDOMAIN,
  RCODE_NOERROR,
  RCODE_REFUSED,
  RCODE_SERVFAIL,
  TYPE_A,
  TYPE_AAAA,
  TYPE_CNAME,
  TYPE_OPT,
  addressesFor,
  normalizeName,
  parseMessage,
  readName,
  udpPayloadLimit,
} from './dns-wire.js';
import { buildQuery, buildResponse, encodeMessage } from './dns-encode.js';

function header(count: { qd?: number; an?: number }): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x1234, 0);
  h.writeUInt16BE(0x8180, 2);
  h.writeUInt16BE(count.qd ?? 0, 4);
  h.writeUInt16BE(count.an ?? 0, 6);
  return h;
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof DnsWireError && err.code === code);
}

test('query round trip: header flags, question normalised', () => {
  const q = buildQuery('WWW.Example.COM.', TYPE_A, { id: 4242 });
  const m = parseMessage(q);
  assert.equal(m.header.id, 4242);
  assert.equal(m.header.qr, false);
  assert.equal(m.header.rd, true);
  assert.equal(m.header.opcode, 0);
  assert.deepEqual(m.questions, [{ name: 'www.example.com', type: TYPE_A, class: CLASS_IN }]);
  assert.deepEqual([m.answers, m.authorities, m.additionals], [[], [], []]);
  assert.equal(q.length, 12 + 17 + 4);
});

test('response round trip with CNAME chain and A records, compressed', () => {
  const question = { name: 'www.example.com', type: TYPE_A, class: CLASS_IN };
  const buf = buildResponse({
    id: 7,
    question,
    rcode: RCODE_NOERROR,
    aa: true,
    answers: [
      { name: 'www.example.com', type: 'CNAME', target: 'edge.example.com', ttl: 30 },
      { name: 'edge.example.com', type: 'A', address: '198.51.100.7', ttl: 60 },
      { name: 'edge.example.com', type: 'A', address: '203.0.113.9', ttl: 61 },
      { name: 'unrelated.example.net', type: 'A', address: '198.51.100.99', ttl: 61 },
    ],
  });
  // Uncompressed, the names alone would take 17 + 3*18 + 18 bytes; compression must shrink it.
  assert.ok(buf.length < 12 + 4 + 17 + 4 * 10 + 17 + 18 + 18 + 8 + 23 + 4, `length ${buf.length}`);
  assert.ok(buf.includes(Buffer.from([0xc0, 0x0c])), 'pointer to the question name');
  const m = parseMessage(buf);
  assert.equal(m.header.qr, true);
  assert.equal(m.header.aa, true);
  assert.equal(m.header.rcode, RCODE_NOERROR);
  assert.deepEqual(
    m.answers.map((r) => [r.name, r.type, r.ttl, r.address ?? r.target]),
    [
      ['www.example.com', TYPE_CNAME, 30, 'edge.example.com'],
      ['edge.example.com', TYPE_A, 60, '198.51.100.7'],
      ['edge.example.com', TYPE_A, 61, '203.0.113.9'],
      ['unrelated.example.net', TYPE_A, 61, '198.51.100.99'],
    ],
  );
  assert.deepEqual(encodeMessage(m), buf, 're-encoding the parsed message gives the same bytes');
  assert.deepEqual(
    addressesFor('WWW.example.com.', m.answers).map((r) => r.address),
    ['198.51.100.7', '203.0.113.9'],
    'only the A records at the end of the chain, never unrelated ones',
  );
});

test('rcodes and flags survive a round trip', () => {
  for (const rcode of [RCODE_NOERROR, RCODE_NXDOMAIN, RCODE_SERVFAIL, RCODE_REFUSED]) {
    const buf = buildResponse({ id: 1, rcode, question: { name: 'x.test', type: TYPE_AAAA, class: CLASS_IN }, tc: true });
    const m = parseMessage(buf);
    assert.equal(m.header.rcode, rcode);
    assert.equal(m.header.tc, true);
    assert.equal(m.questions[0]?.type, TYPE_AAAA);
  }
  assert.equal(parseMessage(buildResponse({ id: 2, rcode: RCODE_SERVFAIL })).questions.length, 0);
});

test('unknown record types keep raw RDATA; EDNS payload size read from OPT', () => {
  const m = parseMessage(buildQuery('a.test', TYPE_A, { id: 3 }));
  m.additionals.push({ name: '', type: TYPE_OPT, class: 1232, ttl: 0, data: Buffer.alloc(0) });
  m.answers.push({ name: 'a.test', type: 16, class: CLASS_IN, ttl: 5, data: Buffer.from('\x03abc', 'latin1') });
  const back = parseMessage(encodeMessage(m));
  assert.deepEqual(back.answers[0]?.data, Buffer.from('\x03abc', 'latin1'));
  assert.equal(udpPayloadLimit(back), 1232);
  assert.equal(udpPayloadLimit(parseMessage(buildQuery('a.test', TYPE_A, { id: 3 }))), 512);
});

test('CNAME loops in an answer terminate', () => {
  const m = parseMessage(
    buildResponse({
      id: 1,
      rcode: 0,
      answers: [
        { name: 'a.test', type: 'CNAME', target: 'b.test', ttl: 1 },
        { name: 'b.test', type: 'CNAME', target: 'a.test', ttl: 1 },
      ],
    }),
  );
  assert.deepEqual(addressesFor('a.test', m.answers), []);
});

test('normalizeName lowercases and drops one trailing dot', () => {
  assert.equal(normalizeName('Api.GitHub.com.'), 'api.github.com');
  assert.equal(normalizeName('.'), '');
});

test('malformed: truncated anywhere throws truncated, never anything else', () => {
  const full = buildResponse({
    id: 9,
    rcode: 0,
    question: { name: 'www.example.com', type: TYPE_A, class: CLASS_IN },
    answers: [{ name: 'www.example.com', type: 'A', address: '198.51.100.1', ttl: 5 }],
  });
  for (let len = 0; len < full.length; len++) throwsCode(() => parseMessage(full.subarray(0, len)), 'truncated');
  throwsCode(() => parseMessage(Buffer.concat([full, Buffer.from([0])])), 'trailing_bytes');
});

test('malformed: compression pointer loops and forward pointers are rejected', () => {
  const self = Buffer.concat([header({ qd: 1 }), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  throwsCode(() => parseMessage(self), 'pointer_loop');
  // label "a" at 12, then a pointer back to 12: a two-step loop.
  const twoStep = Buffer.concat([header({ qd: 1 }), Buffer.from([1, 0x61, 0xc0, 12, 0, 1, 0, 1])]);
  throwsCode(() => parseMessage(twoStep), 'pointer_loop');
  const forward = Buffer.concat([header({ qd: 1 }), Buffer.from([0xc0, 16, 0, 1, 0, 1, 0])]);
  throwsCode(() => parseMessage(forward), 'pointer_loop');
  const outside = Buffer.concat([header({ qd: 1 }), Buffer.from([0xc0, 11, 0, 1, 0, 1])]);
  throwsCode(() => parseMessage(outside), 'bad_pointer');
});

test('pointer chains that go strictly backwards decode', () => {
  // 12: "com" 0 | 17: "example" -> 12 | 27: "www" -> 17
  const body = Buffer.from([3, 0x63, 0x6f, 0x6d, 0, 7, ...Buffer.from('example'), 0xc0, 12, 3, ...Buffer.from('www'), 0xc0, 17]);
  const buf = Buffer.concat([header({}), body]);
  assert.deepEqual(readName(buf, 27), { name: 'www.example.com', next: 33 });
});

test('malformed: label > 63, name > 255, bad bytes, bad A length', () => {
  const longLabel = Buffer.concat([header({ qd: 1 }), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]);
  throwsCode(() => parseMessage(longLabel), 'label_too_long');
  const labels = Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]));
  const longName = Buffer.concat([header({ qd: 1 }), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
  throwsCode(() => parseMessage(longName), 'name_too_long');
  const dotted = Buffer.concat([header({ qd: 1 }), Buffer.from([3, 0x61, 0x2e, 0x62, 0, 0, 1, 0, 1])]);
  throwsCode(() => parseMessage(dotted), 'bad_label');
  const badA = Buffer.concat([header({ an: 1 }), Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 5, 0, 3, 1, 2, 3])]);
  throwsCode(() => parseMessage(badA), 'bad_rdata');
  throwsCode(() => buildQuery('a'.repeat(64) + '.test', TYPE_A, { id: 1 }), 'label_too_long');
  throwsCode(() => buildQuery(Array(5).fill('a'.repeat(63)).join('.'), TYPE_A, { id: 1 }), 'name_too_long');
  throwsCode(() => buildQuery('a..b', TYPE_A, { id: 1 }), 'bad_label');
  throwsCode(() => buildResponse({ id: 1, rcode: 0, answers: [{ name: 'a', type: 'A', address: '1.2.3', ttl: 1 }] }), 'bad_input');
});

test('random garbage never escapes as anything but DnsWireError', () => {
  let seed = 12345;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
  const base = buildQuery('www.example.com', TYPE_A, { id: 1 });
  for (let i = 0; i < 5000; i++) {
    const buf = i % 2 === 0 ? Buffer.from(Array.from({ length: rand() }, rand)) : Buffer.from(base);
    if (i % 2 === 1) for (let k = 0; k < 3; k++) buf[rand() % buf.length] = rand();
    try {
      parseMessage(buf);
    } catch (err) {
      assert.ok(err instanceof DnsWireError, String(err));
    }
  }
});
