/**
 * The node relay: how a control-plane replica on another host reaches a sandbox's
 * private address on this node (gateway → agent, edge → app port, SSH jump host → sshd).
 *
 * It accepts only `CONNECT <ip>:<port>` with `Proxy-Authorization: Warren-Node <token>`
 * (other requests go to `onRequest` when given: the node API, which checks its own tokens).
 * A tunnel is opened only when all hold:
 * - the token verifies (signature with a known key, not expired, this node's id, the
 *   exact target of the request line) and its nonce was not used before;
 * - the port is the one its purpose allows: agent 9990, ssh 22, edge the port the token
 *   names (the token binds the target, so an edge token opens one port only); `api`
 *   tokens open no tunnel;
 * - the address is inside this node's sandbox subnet and `isLiveSandbox` says a sandbox
 *   this node runs right now has it;
 * - the caller (the token's signed caller id) and the node are under their tunnel caps.
 * The caller's network address plays no part: a caller on this very host without a
 * token is refused like any other. Refusals are a status line and a short fixed body
 * (405 other methods, 407 no token, 403 any bad token or target, 429/503 caps, 502/504
 * the sandbox refused / did not answer); no errno or address goes back.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { Duplex } from 'node:stream';
import { contains } from '../network/addresses.js';
import { AGENT_PORT } from '../domain/ports.js';
import { WORKSPACE_SSH_PORT } from '../contract/ssh-agent.js';
import { NonceCache } from './nonce-cache.js';
import type { NodePurpose, NodeTokenVerifier } from './node-tokens.js';

export const RELAY_AUTH_SCHEME = 'Warren-Node';
const DEFAULT_MAX_TUNNELS = 4096;
/** Connections beyond the tunnel cap that may be sending their request at once. */
const PENDING_CONNECTIONS = 256;

export interface RelayServerOptions {
  nodeId: string;
  verifier: NodeTokenVerifier;
  /** This node's sandbox subnet (CIDR); targets outside it are refused. */
  subnet: string;
  /** True when a sandbox this node runs right now has this address. */
  isLiveSandbox(ip: string): boolean | Promise<boolean>;
  /** Give up connecting to the sandbox after this long (→ 504). Default 5 s. */
  connectTimeoutMs?: number;
  /** A tunnel with no byte either way for this long is closed. Default 1 h (silent exec streams, idle terminals). */
  idleTimeoutMs?: number;
  /** Tunnels open or opening at once, in all (→ 503). Default 4096. */
  maxTunnels?: number;
  /** Tunnels open or opening at once per caller (→ 429). Default 1024. */
  maxTunnelsPerCaller?: number;
  /**
   * Requests other than CONNECT (the node API: src/node/node-api.ts). Absent: they are
   * refused with 405. The handler authenticates them itself.
   */
  onRequest?(req: IncomingMessage, res: ServerResponse): void;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

const REASONS: Record<number, string> = {
  200: 'Connection Established', 400: 'Bad Request', 403: 'Forbidden', 405: 'Method Not Allowed',
  407: 'Proxy Authentication Required', 429: 'Too Many Requests', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout',
};
const TARGET = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;

/** A refusal: status to send, reason for our own log only. */
class Refusal {
  constructor(readonly status: number, readonly reason: string) {}
}

/** Writes a status line with a fixed body and closes the socket. */
function writeStatus(socket: Duplex, status: number, extra = ''): void {
  if (socket.destroyed) return;
  const reason = REASONS[status] ?? 'Error';
  const body = status === 200 ? '' : `${reason.toLowerCase()}\n`;
  const head = status === 200
    ? 'HTTP/1.1 200 Connection Established\r\n\r\n'
    : `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n${extra}\r\n`;
  if (status === 200) socket.write(head);
  else socket.end(head + body);
}

/** The port a purpose may open; the token binds the exact target, so an edge token opens the one port it names. */
export function allowedPort(purpose: NodePurpose, port: number): boolean {
  if (purpose === 'agent') return port === AGENT_PORT;
  if (purpose === 'ssh') return port === WORKSPACE_SSH_PORT;
  if (purpose === 'edge') return port > 0 && port < 65536;
  return false; // 'api' tokens are for the node API, not tunnels
}

export class RelayServer {
  private readonly server: Server;
  private readonly nonces = new NonceCache();
  private readonly perCaller = new Map<string, number>();
  private readonly sockets = new Set<Duplex>();
  /** Tunnels reserved (opening or open). */
  private reserved = 0;
  private established = 0;

  constructor(private readonly o: RelayServerOptions) {
    this.server = createServer((req, res) => (o.onRequest ? o.onRequest(req, res) : this.refuseRequest(req, res)));
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 15_000;
    // Connections still sending their CONNECT are bounded too (each has 10 s to finish it).
    this.server.maxConnections = (o.maxTunnels ?? DEFAULT_MAX_TUNNELS) + PENDING_CONNECTIONS;
    this.server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onConnect(req, socket, head));
    this.server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => socket.destroy());
      writeStatus(socket, 405, 'allow: CONNECT\r\n');
    });
  }

  /** Tunnels connected to a sandbox right now (for metrics). */
  get openTunnels(): number {
    return this.established;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  /** Stops listening and cuts every tunnel. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  private refuseRequest(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    res.writeHead(405, { 'content-type': 'text/plain', allow: 'CONNECT', connection: 'close' });
    res.end('method not allowed\n');
  }

  private onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.open(req, socket, head).catch((err: unknown) => {
      const r = err instanceof Refusal ? err : new Refusal(502, String(err));
      this.o.log?.('relay: tunnel refused', { status: r.status, reason: r.reason });
      writeStatus(socket, r.status, r.status === 407 ? `proxy-authenticate: ${RELAY_AUTH_SCHEME}\r\n` : '');
    });
  }

  private async open(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const target = req.url ?? '';
    const auth = req.headers['proxy-authorization'];
    const prefix = `${RELAY_AUTH_SCHEME} `;
    if (typeof auth !== 'string' || !auth.startsWith(prefix)) throw new Refusal(407, 'no token');
    const m = TARGET.exec(target);
    if (!m) throw new Refusal(400, 'target is not ip:port');
    const ip = m[1]!;
    const port = Number(m[2]);
    const verified = this.o.verifier.verify(auth.slice(prefix.length).trim(), { nodeId: this.o.nodeId, target });
    if (!verified.ok) throw new Refusal(403, verified.reason);
    const { claims } = verified;
    if (!allowedPort(claims.purpose, port)) throw new Refusal(403, `port ${port} not allowed for ${claims.purpose}`);
    if (!contains(this.o.subnet, ip)) throw new Refusal(403, 'target outside the node subnet');
    if (!this.nonces.claim(claims.nonce, claims.expiresAt)) throw new Refusal(403, 'token replayed');
    const release = this.reserve(claims.caller);
    let upstream: Socket | null = null;
    try {
      if (!(await this.o.isLiveSandbox(ip))) throw new Refusal(403, 'target is not a live sandbox');
      if (client.destroyed) throw new Refusal(400, 'caller left');
      upstream = await this.dial(ip, port);
    } catch (err) {
      release();
      throw err;
    }
    this.pipe(client, upstream, head, release);
  }

  /** Reserves a tunnel slot for the caller; throws 429/503 past the caps. Returns the release function. */
  private reserve(caller: string): () => void {
    const n = this.perCaller.get(caller) ?? 0;
    if (n >= (this.o.maxTunnelsPerCaller ?? 1024)) throw new Refusal(429, 'caller tunnel cap');
    if (this.reserved >= (this.o.maxTunnels ?? DEFAULT_MAX_TUNNELS)) throw new Refusal(503, 'node tunnel cap');
    this.perCaller.set(caller, n + 1);
    this.reserved++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.reserved--;
      const left = (this.perCaller.get(caller) ?? 1) - 1;
      if (left > 0) this.perCaller.set(caller, left);
      else this.perCaller.delete(caller);
    };
  }

  /** A TCP connection to the sandbox; 502 when refused, 504 when it does not answer in time. */
  private dial(ip: string, port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: ip, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Refusal(504, 'connect timeout'));
      }, this.o.connectTimeoutMs ?? 5000);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        resolve(s);
      });
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new Refusal(502, err.code ?? 'connect error'));
      };
      s.once('error', onError);
    });
  }

  /** Bytes both ways with backpressure; either side ending or failing closes both. */
  private pipe(client: Duplex, upstream: Socket, head: Buffer, release: () => void): void {
    this.established++;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.established--;
      release();
      client.destroy();
      upstream.destroy();
    };
    upstream.setNoDelay(true);
    upstream.setKeepAlive(true, 30_000);
    (client as Partial<Socket>).setNoDelay?.(true);
    (client as Partial<Socket>).setKeepAlive?.(true, 30_000);
    const idle = this.o.idleTimeoutMs ?? 3_600_000;
    upstream.setTimeout(idle, close);
    (client as Partial<Socket>).setTimeout?.(idle, close);
    upstream.on('close', close);
    client.on('close', close);
    if (client.destroyed) return close(); // the caller left while we dialled: its 'close' has passed
    writeStatus(client, 200);
    if (head.length > 0) upstream.write(head);
    pipeline(client, upstream, (err) => err && close());
    pipeline(upstream, client, (err) => err && close());
  }
}
