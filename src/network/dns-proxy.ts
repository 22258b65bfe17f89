/**
 * Warren's DNS-aware resolver proxy: workspaces resolve through it, and every A answer
 * is reported to `onResolved` (awaited, bounded) BEFORE the answer is relayed, so the
 * firewall can admit the answered addresses before the client connects to them.
 *
 * Contracts:
 * - Serves UDP and TCP (2-byte length framing) on the same port; forwards over one UDP
 *   socket to `upstream` (an IP literal) and retries over TCP when the answer has TC set.
 * - Every upstream query carries a fresh random id (unique among in-flight queries);
 *   answers are accepted only from upstream's exact address:port, with a known id and
 *   the same question, then relayed byte-for-byte with the client's id restored.
 * - In-flight upstream queries are bounded (`maxInFlight`, default 1024): beyond that,
 *   SERVFAIL. Upstream timeout (`timeoutMs`, default 3000) or an unparseable answer: SERVFAIL.
 * - Client packets that do not parse, or that are responses, are dropped (TCP: the
 *   connection is closed). Wrong opcode → NOTIMP, not exactly one question → FORMERR,
 *   `allowClient` false → REFUSED.
 * - AAAA queries are answered locally with an empty NOERROR: workspaces are IPv4-only,
 *   and an IPv6 answer would name addresses the firewall never admits. Other types
 *   are forwarded unchanged (only A answers reach `onResolved`).
 * - A UDP answer larger than the client's payload limit (512 or its EDNS size; only
 *   possible after a TCP retry) is replaced by a TC answer so the client retries over TCP.
 * - close() releases all sockets and timers; queries still pending get no answer.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import {
  type DnsMessage,
  type DnsQuestion,
  RCODE_FORMERR,
  RCODE_NOERROR,
  RCODE_NOTIMP,
  RCODE_REFUSED,
  RCODE_SERVFAIL,
  TYPE_A,
  TYPE_AAAA,
  addressesFor,
  normalizeName,
  parseMessage,
  parseQuery,
  udpPayloadLimit,
} from './dns-wire.js';
import { buildResponse } from './dns-encode.js';

export interface ResolvedAddress {
  address: string;
  ttl: number;
}

export type DnsLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface DnsProxyOptions {
  /** Serve UDP and TCP (RFC 1035 2-byte length framing) on this address; port 0 → ephemeral. */
  listenHost: string;
  listenPort: number;
  /** Forward to this resolver; host must be an IP literal (answers are matched on it). */
  upstream: { host: string; port: number };
  /** Whether this client may use the resolver at all; false → REFUSED. Default: everyone. */
  allowClient?: (clientIp: string) => boolean;
  /**
   * Awaited before the answer is relayed (bounded by hookTimeoutMs; on error/timeout it
   * is logged and the answer still relayed). Called once per A query answered NOERROR with
   * at least one address: the normalised QUESTION name and the A addresses at the end of
   * the CNAME chain inside the answer (deduplicated).
   */
  onResolved?: (clientIp: string, name: string, addresses: ResolvedAddress[]) => Promise<void>;
  /** Bound on onResolved, default 2000 ms. */
  hookTimeoutMs?: number;
  /** Upstream timeout (UDP + TCP retry together), default 3000 ms → SERVFAIL. */
  timeoutMs?: number;
  /** Bound on concurrent upstream queries, default 1024. */
  maxInFlight?: number;
  log?: DnsLog;
}

const MAX_TCP_CONNECTIONS = 256;
const MAX_TCP_OUTSTANDING = 32; // per connection
const TCP_IDLE_MS = 10_000;

/**
 * Exact names and leading wildcards: `*.example.com` matches `a.example.com` and
 * `a.b.example.com` but not `example.com`. Case-insensitive, trailing dots ignored.
 */
export function matchesEgressName(name: string, patterns: string[]): boolean {
  const n = normalizeName(name.trim());
  if (n === '') return false;
  return patterns.some((raw) => {
    const p = normalizeName(raw.trim());
    if (!p.startsWith('*.')) return p === n;
    const suffix = p.slice(1); // ".example.com"
    return n.length > suffix.length && n.endsWith(suffix);
  });
}

interface Upstream {
  raw: Buffer;
  msg: DnsMessage;
}

interface Pending {
  id: number;
  question: DnsQuestion;
  /** The query as sent upstream (id rewritten). */
  query: Buffer;
  timer: NodeJS.Timeout;
  tcp?: net.Socket;
  finish: (answer: Upstream | null) => void;
}

function sameQuestion(a: DnsQuestion, b: DnsQuestion | undefined): boolean {
  return !!b && a.name === b.name && a.type === b.type && a.class === b.class;
}

function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** Calls `onMessage` for every complete length-framed message arriving on `socket`. */
function readFrames(socket: net.Socket, onMessage: (msg: Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const len = buffered.readUInt16BE(0);
      onMessage(Buffer.from(buffered.subarray(2, 2 + len)));
      buffered = buffered.subarray(2 + len);
      if (socket.destroyed) return;
    }
  });
}

function clientAddress(ip: string): string {
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

export class DnsProxy {
  private readonly o: DnsProxyOptions;
  private readonly log: DnsLog;
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private upstreamUdp?: dgram.Socket;
  private boundPort = 0;
  private closed = false;
  private readonly pending = new Map<number, Pending>();
  private readonly connections = new Set<net.Socket>();
  /** Releases every in-progress hook wait (used by close()). */
  private readonly hookWaits = new Set<() => void>();

  constructor(o: DnsProxyOptions) {
    if (!net.isIP(o.upstream.host)) throw new Error(`DnsProxy upstream host must be an IP address: ${o.upstream.host}`);
    this.o = o;
    this.log = o.log ?? (() => {});
  }

  /** The bound port (UDP and TCP); 0 before start(). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const family = net.isIPv6(this.o.upstream.host) ? 'udp6' : 'udp4';
    this.upstreamUdp = dgram.createSocket(family);
    this.upstreamUdp.on('message', (buf, rinfo) => this.onUpstreamMessage(buf, rinfo));
    this.upstreamUdp.on('error', (err) => this.log('warn', 'dns upstream socket error', { err: err.message }));
    await new Promise<void>((resolve) => this.upstreamUdp!.bind(0, resolve));
    try {
      await this.bindListeners();
    } catch (err) {
      this.upstreamUdp.close();
      throw err;
    }
    this.log('info', 'dns proxy listening', { host: this.o.listenHost, port: this.boundPort });
  }

  /** Binds UDP then TCP on the same port; with port 0, retries when TCP finds it taken. */
  private async bindListeners(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket(net.isIPv6(this.o.listenHost) ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.o.listenPort, this.o.listenHost, () => resolve());
      });
      const port = udp.address().port;
      const tcp = net.createServer((socket) => this.onTcpConnection(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, this.o.listenHost, () => resolve());
        });
      } catch (err) {
        udp.close();
        if (this.o.listenPort !== 0 || attempt >= 4) throw err;
        continue;
      }
      udp.removeAllListeners('error');
      udp.on('error', (e) => this.log('warn', 'dns listen socket error', { err: e.message }));
      udp.on('message', (buf, rinfo) => this.onUdpQuery(buf, rinfo));
      [this.udp, this.tcp, this.boundPort] = [udp, tcp, port];
      return;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.pending.values()]) p.finish(null);
    for (const release of [...this.hookWaits]) release();
    for (const socket of this.connections) socket.destroy();
    const closeUdp = (s?: dgram.Socket): Promise<void> => new Promise((r) => (s ? s.close(() => r()) : r()));
    const closeTcp = (s?: net.Server): Promise<void> => new Promise((r) => (s ? s.close(() => r()) : r()));
    await Promise.all([closeUdp(this.udp), closeUdp(this.upstreamUdp), closeTcp(this.tcp)]);
  }

  // ------------------------------------------------------------ client side

  private onUdpQuery(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    this.answer(buf, clientAddress(rinfo.address), 'udp')
      .then((reply) => {
        if (reply && !this.closed) this.udp?.send(reply, rinfo.port, rinfo.address);
      })
      .catch((err: unknown) => this.log('error', 'dns udp query failed', { err: String(err) }));
  }

  private onTcpConnection(socket: net.Socket): void {
    if (this.closed || this.connections.size >= MAX_TCP_CONNECTIONS) return void socket.destroy();
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    const clientIp = clientAddress(socket.remoteAddress ?? '');
    let outstanding = 0;
    readFrames(socket, (query) => {
      if (++outstanding > MAX_TCP_OUTSTANDING) return void socket.destroy();
      this.answer(query, clientIp, 'tcp')
        .then((reply) => {
          outstanding--;
          if (!reply) return void socket.destroy();
          if (!socket.destroyed) socket.write(frame(reply));
        })
        .catch((err: unknown) => {
          this.log('error', 'dns tcp query failed', { err: String(err) });
          socket.destroy();
        });
    });
  }

  /** The reply for one client packet, or null to drop it. Never throws for bad input. */
  private async answer(query: Buffer, clientIp: string, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    const msg = parseQuery(query);
    if (!msg) return null;
    const question = msg.questions[0];
    const reply = (rcode: number, tc = false): Buffer =>
      buildResponse({ id: msg.header.id, question, rcode, rd: msg.header.rd, tc });
    if (msg.header.opcode !== 0) return reply(RCODE_NOTIMP);
    if (!question || msg.questions.length !== 1) return reply(RCODE_FORMERR);
    if (this.o.allowClient && !this.o.allowClient(clientIp)) return reply(RCODE_REFUSED);
    if (question.type === TYPE_AAAA) return reply(RCODE_NOERROR);
    const upstream = await this.forward(query, question);
    if (!upstream) return reply(RCODE_SERVFAIL);
    if (question.type === TYPE_A) await this.runHook(clientIp, question.name, upstream.msg);
    if (transport === 'udp' && upstream.raw.length > udpPayloadLimit(msg)) return reply(upstream.msg.header.rcode, true);
    const out = Buffer.from(upstream.raw);
    out.writeUInt16BE(msg.header.id, 0);
    return out;
  }

  // ------------------------------------------------------------ upstream side

  private freshId(): number {
    for (;;) {
      const id = randomInt(0, 0x10000);
      if (!this.pending.has(id)) return id;
    }
  }

  /** Sends `query` upstream under a fresh id; null on overload, timeout or send error. */
  private forward(query: Buffer, question: DnsQuestion): Promise<Upstream | null> {
    const maxInFlight = this.o.maxInFlight ?? 1024;
    if (this.closed || this.pending.size >= maxInFlight) {
      if (!this.closed) this.log('warn', 'dns proxy overloaded', { inFlight: this.pending.size });
      return Promise.resolve(null);
    }
    const id = this.freshId();
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timeoutMs = this.o.timeoutMs ?? 3000;
      const p: Pending = {
        id,
        question,
        query: out,
        timer: setTimeout(() => {
          this.log('warn', 'dns upstream timeout', { name: question.name, type: question.type });
          p.finish(null);
        }, timeoutMs),
        finish: (answer) => {
          if (this.pending.get(id) !== p) return;
          clearTimeout(p.timer);
          this.pending.delete(id);
          p.tcp?.destroy();
          resolve(answer);
        },
      };
      this.pending.set(id, p);
      const { host, port } = this.o.upstream;
      this.upstreamUdp!.send(out, port, host, (err) => {
        if (!err) return;
        this.log('warn', 'dns upstream send failed', { err: err.message });
        p.finish(null);
      });
    });
  }

  /** Parses an upstream answer and returns its pending query if it is the expected answer. */
  private match(buf: Buffer): { p: Pending; msg: DnsMessage } | null {
    let msg: DnsMessage;
    try {
      msg = parseMessage(buf);
    } catch {
      return null;
    }
    const p = this.pending.get(msg.header.id);
    if (!p || !msg.header.qr || !sameQuestion(p.question, msg.questions[0])) return null;
    return { p, msg };
  }

  private onUpstreamMessage(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    const { host, port } = this.o.upstream;
    if (clientAddress(rinfo.address) !== host || rinfo.port !== port) {
      this.log('warn', 'dns answer from unexpected source dropped', { from: `${rinfo.address}:${rinfo.port}` });
      return;
    }
    const matched = this.match(buf);
    if (!matched) return; // unknown id, wrong question or garbage: keep waiting until the timeout
    if (matched.msg.header.tc) return this.retryOverTcp(matched.p);
    matched.p.finish({ raw: buf, msg: matched.msg });
  }

  /** Re-asks a truncated answer over TCP, within the same overall timeout. */
  private retryOverTcp(p: Pending): void {
    if (p.tcp) return;
    const { host, port } = this.o.upstream;
    const socket = net.connect(port, host, () => socket.write(frame(p.query)));
    p.tcp = socket;
    socket.on('error', (err) => {
      this.log('warn', 'dns upstream tcp failed', { err: err.message });
      p.finish(null);
    });
    socket.on('close', () => p.finish(null)); // closed without a full answer (no-op after one)
    readFrames(socket, (buf) => {
      const matched = this.match(buf);
      p.finish(matched && matched.p === p ? { raw: buf, msg: matched.msg } : null);
    });
  }

  // ------------------------------------------------------------ hook

  /** Runs onResolved for an A answer, bounded by hookTimeoutMs; never throws. */
  private async runHook(clientIp: string, name: string, msg: DnsMessage): Promise<void> {
    if (!this.o.onResolved || msg.header.rcode !== RCODE_NOERROR || this.closed) return;
    const unique = new Map<string, ResolvedAddress>();
    for (const r of addressesFor(name, msg.answers)) unique.set(r.address!, { address: r.address!, ttl: r.ttl });
    if (unique.size === 0) return;
    let release = (): void => {};
    const bounded = new Promise<'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), this.o.hookTimeoutMs ?? 2000);
      release = () => {
        clearTimeout(timer);
        resolve('timeout');
      };
    });
    this.hookWaits.add(release);
    try {
      const hook = this.o.onResolved(clientIp, name, [...unique.values()]).then(() => 'done' as const);
      if ((await Promise.race([hook, bounded])) === 'timeout') {
        this.log('warn', 'dns onResolved timed out; relaying anyway', { clientIp, name });
      }
    } catch (err) {
      this.log('error', 'dns onResolved failed; relaying anyway', { clientIp, name, err: String(err) });
    } finally {
      release();
      this.hookWaits.delete(release);
    }
  }
}
