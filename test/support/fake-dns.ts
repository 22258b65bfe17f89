/**
 * A tiny authoritative fake DNS server for tests (UDP + TCP on the same port).
 *
 * Records: `{ "name": ["1.2.3.4", ...], "alias.example": "name", "ttl": 5 }` — an array
 * answers A queries, a string is a CNAME (followed inside the table), the optional
 * numeric "ttl" is the TTL of every record (default 1). Unknown names → NXDOMAIN; known
 * names with another query type → empty NOERROR. A file-backed table is re-read on
 * every query, so a test changes an answer by rewriting the file.
 * Over UDP, an answer larger than the client's payload limit (512, or its EDNS size)
 * is sent with TC set and no answers, like a real server; TCP always gets everything.
 *
 * Script: node --import tsx test/support/fake-dns.ts --listen 0.0.0.0:53 --records FILE
 * prints `ready <port>` once bound and serves until SIGTERM/SIGINT.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type DnsMessage,
  RCODE_FORMERR,
  RCODE_NOERROR,
  RCODE_NXDOMAIN,
  RCODE_SERVFAIL,
  TYPE_A,
  normalizeName,
  parseQuery,
  udpPayloadLimit,
} from '../../src/network/dns-wire.js';
import { type AnswerSpec, buildResponse } from '../../src/network/dns-encode.js';

export type RecordTable = Record<string, string[] | string | number>;

export interface FakeDnsOptions {
  host: string;
  port: number;
  /** A JSON file path (re-read per query) or an in-memory table (read live, so it may be mutated). */
  records: string | RecordTable;
}

export interface FakeDns {
  port: number;
  /** Queries received so far, per transport. */
  stats: { udp: number; tcp: number };
  close(): Promise<void>;
}

function loadTable(records: string | RecordTable): RecordTable {
  if (typeof records !== 'string') return records;
  return JSON.parse(readFileSync(records, 'utf8')) as RecordTable;
}

/** Looks a name up, following CNAMEs (at most 8); null when the name is unknown. */
function lookup(table: RecordTable, qname: string, qtype: number): AnswerSpec[] | null {
  const entries = new Map(Object.entries(table).map(([k, v]) => [normalizeName(k), v]));
  const ttl = typeof table['ttl'] === 'number' ? table['ttl'] : 1;
  const answers: AnswerSpec[] = [];
  let name = qname;
  for (let hops = 0; hops < 8; hops++) {
    const value = name === 'ttl' ? undefined : entries.get(name);
    if (value === undefined || typeof value === 'number') return hops === 0 ? null : answers;
    if (typeof value === 'string') {
      answers.push({ name, type: 'CNAME', target: normalizeName(value), ttl });
      name = normalizeName(value);
      continue;
    }
    if (qtype === TYPE_A) for (const address of value) answers.push({ name, type: 'A', address, ttl });
    return answers;
  }
  return answers;
}

/** The full answer to `query`; null when the packet is not a query worth answering. */
function answer(query: Buffer, records: string | RecordTable): { msg: DnsMessage; reply: Buffer } | null {
  const msg = parseQuery(query);
  if (!msg) return null;
  const question = msg.questions[0];
  const base = { id: msg.header.id, rd: msg.header.rd, aa: true, ra: false };
  if (!question || msg.questions.length !== 1) return { msg, reply: buildResponse({ ...base, rcode: RCODE_FORMERR }) };
  let table: RecordTable;
  try {
    table = loadTable(records);
  } catch {
    return { msg, reply: buildResponse({ ...base, question, rcode: RCODE_SERVFAIL }) }; // file mid-rewrite
  }
  const answers = lookup(table, question.name, question.type);
  const rcode = answers === null ? RCODE_NXDOMAIN : RCODE_NOERROR;
  return { msg, reply: buildResponse({ ...base, question, rcode, answers: answers ?? [] }) };
}

/** Over UDP, a reply above the client's limit becomes a TC reply with the question only. */
function fitUdp(msg: DnsMessage, reply: Buffer): Buffer {
  if (reply.length <= udpPayloadLimit(msg)) return reply;
  const question = msg.questions[0];
  return buildResponse({ id: msg.header.id, question, rcode: RCODE_NOERROR, tc: true, aa: true, ra: false, rd: msg.header.rd });
}

function serveTcp(socket: net.Socket, records: string | RecordTable, stats: FakeDns['stats']): void {
  let pending = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const query = pending.subarray(2, 2 + pending.readUInt16BE(0));
      pending = pending.subarray(2 + query.length);
      stats.tcp++;
      const result = answer(query, records);
      if (!result) return void socket.destroy();
      const len = Buffer.alloc(2);
      len.writeUInt16BE(result.reply.length);
      socket.write(Buffer.concat([len, result.reply]));
    }
  });
}

/** Starts the fake server; with port 0 UDP picks a port and TCP binds the same one. */
/**
 * UDP and TCP share one port. With port 0 the kernel picks a free UDP port whose TCP twin another
 * process may hold (a flake seen in CI: EADDRINUSE on the TCP listen): then both are tried again.
 */
export async function startFakeDns(o: FakeDnsOptions): Promise<FakeDns> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startFakeDnsOnce(o);
    } catch (err) {
      if (o.port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
    }
  }
}

async function startFakeDnsOnce(o: FakeDnsOptions): Promise<FakeDns> {
  const stats = { udp: 0, tcp: 0 };
  const udp = dgram.createSocket(net.isIPv6(o.host) ? 'udp6' : 'udp4');
  udp.on('message', (query, rinfo) => {
    stats.udp++;
    const result = answer(query, o.records);
    if (result) udp.send(fitUdp(result.msg, result.reply), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(o.port, o.host, () => resolve());
  });
  const port = udp.address().port;
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveTcp(socket, o.records, stats);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, o.host, () => resolve());
    });
  } catch (err) {
    await new Promise<void>((r) => udp.close(() => r()));
    throw err;
  }
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
  };
  return { port, stats, close };
}

function argValue(args: string[], flag: string): string {
  const value = args[args.indexOf(flag) + 1];
  if (!args.includes(flag) || value === undefined) throw new Error(`usage: fake-dns.ts --listen HOST:PORT --records FILE (missing ${flag})`);
  return value;
}

async function main(args: string[]): Promise<void> {
  const listen = argValue(args, '--listen');
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[|\]$/g, '');
  const server = await startFakeDns({ host, port: Number(listen.slice(at + 1)), records: argValue(args, '--records') });
  process.stdout.write(`ready ${server.port}\n`);
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolvePath(process.argv[1])) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
