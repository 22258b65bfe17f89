import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsProxy, matchesEgressName, type DnsProxyOptions, type ResolvedAddress } from './dns-proxy.js';
import {
  CLASS_IN,
  RCODE_NOERROR,
  RCODE_NXDOMAIN,
  RCODE_REFUSED,
  RCODE_SERVFAIL,
  TYPE_A,
  TYPE_AAAA,
  TYPE_OPT,
  parseMessage,
  type DnsMessage,
} from './dns-wire.js';
import { buildQuery, buildResponse, encodeMessage } from './dns-encode.js';
import { startFakeDns, type RecordTable } from '../../test/support/fake-dns.js';

const LO = '127.0.0.1';

/** Sends one UDP packet from a fresh loopback socket; resolves the first reply, or null after waitMs. */
async function udpAsk(port: number, packet: Buffer, waitMs = 2000): Promise<Buffer | null> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, LO, r));
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), waitMs);
      sock.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      sock.send(packet, port, LO);
    });
  } finally {
    sock.close();
  }
}

async function udpQuery(port: number, name: string, type = TYPE_A, id = 0xbeef): Promise<DnsMessage> {
  const reply = await udpAsk(port, buildQuery(name, type, { id }));
  assert.ok(reply, `no UDP reply for ${name}`);
  return parseMessage(reply);
}

async function tcpQuery(port: number, name: string, id = 0xcafe): Promise<DnsMessage> {
  const sock = net.connect(port, LO);
  const q = buildQuery(name, TYPE_A, { id });
  const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
  sock.write(framed);
  let buf = Buffer.alloc(0);
  for await (const chunk of sock) {
    buf = Buffer.concat([buf, chunk as Buffer]);
    if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) break;
  }
  sock.destroy();
  return parseMessage(buf.subarray(2, 2 + buf.readUInt16BE(0)));
}

async function proxyFor(t: TestContext, upstreamPort: number, extra: Partial<DnsProxyOptions> = {}): Promise<DnsProxy> {
  const proxy = new DnsProxy({ listenHost: LO, listenPort: 0, upstream: { host: LO, port: upstreamPort }, ...extra });
  await proxy.start();
  t.after(() => proxy.close());
  return proxy;
}

async function fake(t: TestContext, records: RecordTable | string) {
  const server = await startFakeDns({ host: LO, port: 0, records });
  t.after(() => server.close());
  return server;
}

/** A UDP "upstream" that never answers, handing every query to `onQuery`. */
async function silentUpstream(t: TestContext, onQuery: (q: Buffer, r: dgram.RemoteInfo) => void = () => {}) {
  const sock = dgram.createSocket('udp4');
  sock.on('message', onQuery);
  await new Promise<void>((r) => sock.bind(0, LO, r));
  t.after(() => new Promise<void>((r) => sock.close(() => r())));
  return sock;
}

const answersOf = (m: DnsMessage): string[] => m.answers.flatMap((r) => (r.address ? [r.address] : []));

test('matchesEgressName: exact and leading wildcard, case-insensitive, trailing dot ignored', () => {
  const patterns = ['api.github.com', '*.npmjs.org.'];
  assert.equal(matchesEgressName('API.GitHub.com.', patterns), true);
  assert.equal(matchesEgressName('github.com', patterns), false);
  assert.equal(matchesEgressName('registry.npmjs.org', patterns), true);
  assert.equal(matchesEgressName('a.b.NPMJS.org', patterns), true);
  assert.equal(matchesEgressName('npmjs.org', patterns), false);
  assert.equal(matchesEgressName('evilnpmjs.org', patterns), false);
  assert.equal(matchesEgressName('', ['*.']), false);
  assert.equal(matchesEgressName('x.com', []), false);
});

test('A answer relayed only after onResolved finished; CNAME chain followed; id restored', async (t) => {
  const upstream = await fake(t, { 'www.example.test': 'edge.example.test', 'edge.example.test': ['198.51.100.7', '198.51.100.8'], ttl: 42 });
  const calls: Array<[string, string, ResolvedAddress[]]> = [];
  let hookDone = false;
  const proxy = await proxyFor(t, upstream.port, {
    onResolved: async (ip, name, addresses) => {
      calls.push([ip, name, addresses]);
      await new Promise((r) => setTimeout(r, 150));
      hookDone = true;
    },
  });
  const started = Date.now();
  const reply = await udpQuery(proxy.port, 'WWW.Example.test.', TYPE_A, 0x1234);
  assert.equal(hookDone, true, 'the hook had completed when the client got the answer');
  assert.ok(Date.now() - started >= 140);
  assert.equal(reply.header.id, 0x1234);
  assert.equal(reply.header.rcode, RCODE_NOERROR);
  assert.deepEqual(answersOf(reply), ['198.51.100.7', '198.51.100.8']);
  assert.deepEqual(calls, [
    [LO, 'www.example.test', [{ address: '198.51.100.7', ttl: 42 }, { address: '198.51.100.8', ttl: 42 }]],
  ]);
});

test('NXDOMAIN is relayed without calling the hook; AAAA answered locally with empty NOERROR', async (t) => {
  const upstream = await fake(t, { 'a.test': ['198.51.100.1'] });
  let calls = 0;
  const proxy = await proxyFor(t, upstream.port, { onResolved: async () => void calls++ });
  const nx = await udpQuery(proxy.port, 'missing.test');
  assert.equal(nx.header.rcode, RCODE_NXDOMAIN);
  const before = upstream.stats.udp;
  const aaaa = await udpQuery(proxy.port, 'a.test', TYPE_AAAA);
  assert.equal(aaaa.header.rcode, RCODE_NOERROR);
  assert.equal(aaaa.answers.length, 0);
  assert.equal(upstream.stats.udp, before, 'AAAA never reaches upstream');
  assert.equal(calls, 0);
});

test('disallowed client gets REFUSED; upstream is not asked', async (t) => {
  const upstream = await fake(t, { 'a.test': ['198.51.100.1'] });
  const seen: string[] = [];
  const proxy = await proxyFor(t, upstream.port, { allowClient: (ip) => (seen.push(ip), false) });
  const reply = await udpQuery(proxy.port, 'a.test');
  assert.equal(reply.header.rcode, RCODE_REFUSED);
  assert.deepEqual(seen, [LO]);
  assert.equal(upstream.stats.udp, 0);
});

test('upstream timeout → SERVFAIL; overload beyond maxInFlight → immediate SERVFAIL', async (t) => {
  const silent = await silentUpstream(t);
  const proxy = await proxyFor(t, silent.address().port, { timeoutMs: 300, maxInFlight: 2 });
  const started = Date.now();
  const slow = [udpQuery(proxy.port, 'a.test'), udpQuery(proxy.port, 'b.test')];
  await new Promise((r) => setTimeout(r, 50));
  const third = await udpQuery(proxy.port, 'c.test');
  assert.equal(third.header.rcode, RCODE_SERVFAIL);
  assert.ok(Date.now() - started < 250, 'overload answered before the timeout');
  for (const reply of await Promise.all(slow)) assert.equal(reply.header.rcode, RCODE_SERVFAIL);
  assert.ok(Date.now() - started >= 290);
});

test('queries over TCP are answered with length framing', async (t) => {
  const upstream = await fake(t, { 'a.test': ['203.0.113.4'] });
  const proxy = await proxyFor(t, upstream.port);
  const reply = await tcpQuery(proxy.port, 'a.test', 77);
  assert.equal(reply.header.id, 77);
  assert.deepEqual(answersOf(reply), ['203.0.113.4']);
});

test('truncated upstream answer is retried over TCP; oversized UDP relay becomes TC', async (t) => {
  const many = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);
  const upstream = await fake(t, { 'big.test': many });
  const hooked: number[] = [];
  const proxy = await proxyFor(t, upstream.port, { onResolved: async (_ip, _n, a) => void hooked.push(a.length) });
  const udpReply = await udpQuery(proxy.port, 'big.test');
  assert.equal(upstream.stats.tcp, 1, 'proxy re-asked over TCP');
  assert.deepEqual(hooked, [40], 'the hook saw the full TCP answer');
  assert.equal(udpReply.header.tc, true, 'too big for a 512-byte client: TC so it retries over TCP');
  assert.equal(udpReply.answers.length, 0);
  assert.equal(answersOf(await tcpQuery(proxy.port, 'big.test')).length, 40);
  // A client announcing a large EDNS buffer gets the whole answer over UDP.
  const q = parseMessage(buildQuery('big.test', TYPE_A, { id: 5 }));
  q.additionals.push({ name: '', type: TYPE_OPT, class: 4096, ttl: 0, data: Buffer.alloc(0) });
  const edns = await udpAsk(proxy.port, encodeMessage(q));
  assert.equal(answersOf(parseMessage(edns!)).length, 40);
});

test('upstream ids are random per query; answers from another source are dropped', async (t) => {
  const upstreamIds: number[] = [];
  const spoofer = dgram.createSocket('udp4');
  await new Promise<void>((r) => spoofer.bind(0, LO, r));
  t.after(() => new Promise<void>((r) => spoofer.close(() => r())));
  const upstream = await silentUpstream(t, (q, rinfo) => {
    const m = parseMessage(q);
    upstreamIds.push(m.header.id);
    const answer = (address: string): Buffer =>
      buildResponse({ id: m.header.id, question: m.questions[0], rcode: 0, answers: [{ name: m.questions[0]!.name, type: 'A', address, ttl: 5 }] });
    spoofer.send(answer('203.0.113.66'), rinfo.port, rinfo.address); // right id, wrong source port
    setTimeout(() => upstream.send(answer('198.51.100.5'), rinfo.port, rinfo.address), 50);
  });
  const proxy = await proxyFor(t, upstream.address().port);
  const replies = await Promise.all(Array.from({ length: 6 }, () => udpQuery(proxy.port, 'a.test', TYPE_A, 1)));
  for (const reply of replies) {
    assert.equal(reply.header.id, 1);
    assert.deepEqual(answersOf(reply), ['198.51.100.5']);
  }
  assert.equal(new Set(upstreamIds).size, 6, 'six concurrent queries with the same client id use distinct upstream ids');
});

test('onResolved timeout or failure is logged and the answer still relayed', async (t) => {
  const upstream = await fake(t, { 'a.test': ['198.51.100.1'], 'b.test': ['198.51.100.2'] });
  const logs: string[] = [];
  const proxy = await proxyFor(t, upstream.port, {
    hookTimeoutMs: 100,
    log: (level, msg) => void logs.push(`${level}:${msg}`),
    onResolved: (_ip, name) => (name === 'a.test' ? new Promise<void>(() => {}) : Promise.reject(new Error('nft down'))),
  });
  assert.deepEqual(answersOf(await udpQuery(proxy.port, 'a.test')), ['198.51.100.1']);
  assert.deepEqual(answersOf(await udpQuery(proxy.port, 'b.test')), ['198.51.100.2']);
  assert.ok(logs.some((l) => l.startsWith('warn:') && l.includes('timed out')));
  assert.ok(logs.some((l) => l.startsWith('error:') && l.includes('failed')));
});

test('a flood of malformed packets (UDP and TCP) does not crash or wedge the proxy', async (t) => {
  const upstream = await fake(t, { 'a.test': ['198.51.100.1'] });
  const proxy = await proxyFor(t, upstream.port);
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, LO, r));
  let replies = 0;
  sock.on('message', () => void replies++);
  const valid = buildQuery('a.test', TYPE_A, { id: 9 });
  for (let i = 0; i < 3000; i++) {
    const junk = i % 3 === 0 ? Buffer.from(valid.subarray(0, i % valid.length)) : Buffer.from(Array.from({ length: i % 300 }, (_, k) => (k * 31 + i) & 0xff));
    if (i % 3 === 2) junk.writeUInt8(0x80, Math.min(2, junk.length - 1)); // some look like responses
    if (junk.length > 0) sock.send(junk, proxy.port, LO);
  }
  const tcpJunk = net.connect(proxy.port, LO);
  tcpJunk.on('error', () => {});
  tcpJunk.write(Buffer.from([0, 5, 1, 2, 3, 4, 5]));
  await new Promise((r) => tcpJunk.once('close', r));
  await new Promise((r) => setTimeout(r, 200));
  sock.close();
  assert.equal(replies, 0, 'nothing answered junk');
  assert.deepEqual(answersOf(await udpQuery(proxy.port, 'a.test')), ['198.51.100.1']);
  assert.deepEqual(answersOf(await tcpQuery(proxy.port, 'a.test')), ['198.51.100.1']);
});

test('close() with a query in flight releases sockets and timers; the port is free again', async (t) => {
  const silent = await silentUpstream(t);
  const proxy = new DnsProxy({ listenHost: LO, listenPort: 0, upstream: { host: LO, port: silent.address().port }, timeoutMs: 60_000 });
  await proxy.start();
  const port = proxy.port;
  const pending = udpAsk(port, buildQuery('a.test', TYPE_A, { id: 1 }), 300);
  await new Promise((r) => setTimeout(r, 50));
  await proxy.close();
  assert.equal(await pending, null, 'no answer after close');
  const again = new DnsProxy({ listenHost: LO, listenPort: port, upstream: { host: LO, port: silent.address().port } });
  await again.start();
  assert.equal(again.port, port);
  await again.close();
});

test('fake DNS script: ready line, file re-read on every query', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-fakedns-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'records.json');
  writeFileSync(file, JSON.stringify({ 'svc.test': ['198.51.100.10'], ttl: 7 }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/fake-dns.ts', '--listen', `${LO}:0`, '--records', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => void (child.exitCode === null && child.kill('SIGTERM')));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /ready (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`fake-dns exited ${code}`)));
  });
  const first = await udpQuery(port, 'svc.test');
  assert.deepEqual(answersOf(first), ['198.51.100.10']);
  assert.equal(first.answers[0]?.ttl, 7);
  writeFileSync(file, JSON.stringify({ 'svc.test': ['198.51.100.11'] }));
  const second = await udpQuery(port, 'svc.test');
  assert.deepEqual(answersOf(second), ['198.51.100.11']);
  assert.equal(second.answers[0]?.ttl, 1);
  assert.equal((await udpQuery(port, 'other.test')).header.rcode, RCODE_NXDOMAIN);
  assert.equal(CLASS_IN, second.questions[0]?.class);
});
