/**
 * Warren's SSH jump host (ProxyJump / `ssh -J`), on the `ssh2` library. It authenticates
 * nobody itself — the workspace's own sshd does — so it must never be an open proxy:
 *
 * - the only thing it does is open `direct-tcpip` channels whose destination is
 *   `<ssh_id>:22` of a running workspace with SSH enabled (`resolve`), to that
 *   workspace's private address, port 22, and pipe bytes both ways;
 * - sessions (shell, exec, subsystems), remote forwards (`tcpip-forward`), Unix sockets,
 *   addresses or host names that are not an ssh_id, other ports: refused;
 * - per source address at most `maxPerSource` connections, `maxConnections` in all,
 *   `maxChannels` channels per connection; a connection that has not finished its
 *   handshake and (empty) authentication within `handshakeTimeoutMs` is dropped;
 * - `disconnectWorkspace` closes every live channel to one workspace at once (SSH
 *   disabled, workspace stopped, paused or deleted).
 */
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ServerChannel, TcpipRequestInfo } from 'ssh2';
import { WORKSPACE_SSH_PORT } from '../contract/ssh-agent.js';
import type { Relays, RelayVia } from '../gateway/relay-client.js';
import { RelayRoutes } from '../gateway/relay-routes.js';

export const SSH_ID = /^[0-9a-f]{16}$/;

export interface JumpTarget {
  workspaceId: string;
  ip: string;
  /** The node relay to reach `ip` through; absent = directly. */
  via?: RelayVia;
}

export interface JumpHostOptions {
  /** The jump host's own host key (OpenSSH private key). */
  hostKey: string;
  /** The workspace an ssh_id names, only when it runs with SSH enabled; null otherwise. */
  resolve(sshId: string): Promise<JumpTarget | null>;
  /** A channel to the workspace opened; the returned function is called once when it closes (idle policy). */
  onChannel?(workspaceId: string): () => void;
  log(level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void;
  maxPerSource?: number;
  maxConnections?: number;
  maxChannels?: number;
  handshakeTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Node relays, for targets with `via`. */
  relays?: Relays;
}

interface Live {
  channel: ServerChannel;
  upstream: Socket;
}

export class JumpHost {
  private readonly ssh: ssh2.Server;
  private readonly net: NetServer;
  private readonly perSource = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly handshakes = new Map<string, NodeJS.Timeout>();
  private readonly live = new Map<string, Set<Live>>();
  private port = 0;
  private readonly relayed: RelayRoutes;

  constructor(private readonly o: JumpHostOptions) {
    this.relayed = new RelayRoutes(o.relays, 'ssh', o.connectTimeoutMs ?? 5000);
    this.ssh = new ssh2.Server({ hostKeys: [o.hostKey], ident: 'Warren_jump', keepaliveInterval: 30_000, keepaliveCountMax: 4 },
      (client, info) => this.onClient(client, `${info.ip}:${info.port}`));
    this.net = createServer((socket) => this.onSocket(socket));
  }

  /** The bound port once listening; 0 before. */
  get listeningPort(): number {
    return this.port;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(port, host, () => {
        this.net.off('error', reject);
        const a = this.net.address();
        this.port = typeof a === 'object' && a ? a.port : port;
        resolve(this.port);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.net.close(() => r()));
    for (const s of this.sockets) s.destroy();
    this.port = 0;
    await closed;
  }

  /** Closes every live channel to the workspace; returns how many. */
  disconnectWorkspace(workspaceId: string): number {
    const set = this.live.get(workspaceId);
    if (!set) return 0;
    this.live.delete(workspaceId);
    for (const l of set) {
      l.upstream.destroy();
      l.channel.destroy();
    }
    return set.size;
  }

  private onSocket(socket: Socket): void {
    const source = (socket.remoteAddress ?? '?').replace(/^::ffff:/, '');
    const count = this.perSource.get(source) ?? 0;
    if (count >= (this.o.maxPerSource ?? 32) || this.sockets.size >= (this.o.maxConnections ?? 1024)) {
      socket.destroy();
      return;
    }
    this.perSource.set(source, count + 1);
    this.sockets.add(socket);
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    this.handshakes.set(key, setTimeout(() => socket.destroy(), this.o.handshakeTimeoutMs ?? 10_000));
    socket.once('close', () => {
      clearTimeout(this.handshakes.get(key));
      this.handshakes.delete(key);
      this.sockets.delete(socket);
      const n = (this.perSource.get(source) ?? 1) - 1;
      if (n > 0) this.perSource.set(source, n);
      else this.perSource.delete(source);
    });
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    this.ssh.injectSocket(socket);
  }

  private onClient(client: Connection, key: string): void {
    let channels = 0;
    client.on('error', () => undefined);
    // Anything goes: the workspace's sshd is the one that authenticates.
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () => {
      clearTimeout(this.handshakes.get(key));
      this.handshakes.delete(key);
    });
    client.on('tcpip', (accept, reject, info) => {
      if (channels >= (this.o.maxChannels ?? 8)) return reject();
      channels++;
      const release = () => {
        channels--;
      };
      this.forward(accept, info, release).then((ok) => {
        if (ok) return;
        release();
        reject();
      }, () => {
        release();
        reject();
      });
    });
  }

  /** Opens the channel when it names a workspace that takes SSH now; false when refused. */
  private async forward(accept: () => ServerChannel, info: TcpipRequestInfo, onEnd: () => void): Promise<boolean> {
    if (info.destPort !== WORKSPACE_SSH_PORT || !SSH_ID.test(info.destIP)) {
      this.o.log('info', 'jump host refused a channel', { dest: info.destIP.slice(0, 64), port: info.destPort });
      return false;
    }
    const target = await this.o.resolve(info.destIP);
    if (!target) return false;
    const upstream = target.via ? await this.openVia(target.via, target.ip) : await this.open(target.ip);
    if (!upstream) return false;
    let channel: ServerChannel;
    try {
      channel = accept();
    } catch (err) {
      upstream.destroy(); // the client went away meanwhile
      throw err;
    }
    this.track(target.workspaceId, channel, upstream, onEnd);
    return true;
  }

  /** A TCP connection to the workspace's sshd, or null when it does not answer in time. */
  private open(ip: string): Promise<Socket | null> {
    return new Promise((resolve) => {
      const s = connect({ host: ip, port: WORKSPACE_SSH_PORT });
      const t = setTimeout(() => s.destroy(), this.o.connectTimeoutMs ?? 5000);
      s.once('connect', () => {
        clearTimeout(t);
        s.setNoDelay(true);
        resolve(s);
      });
      s.once('error', () => undefined);
      s.once('close', () => {
        clearTimeout(t);
        resolve(null);
      });
    });
  }

  /** The same through the node's relay (the workspace runs on another host). */
  private openVia(via: RelayVia, ip: string): Promise<Socket | null> {
    return this.relayed.open(via, ip, WORKSPACE_SSH_PORT).then((s) => {
      s.setNoDelay(true);
      return s;
    }, () => null);
  }

  private track(workspaceId: string, channel: ServerChannel, upstream: Socket, onEnd: () => void): void {
    const entry: Live = { channel, upstream };
    let set = this.live.get(workspaceId);
    if (!set) this.live.set(workspaceId, (set = new Set()));
    set.add(entry);
    const done = this.o.onChannel?.(workspaceId);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.live.get(workspaceId)?.delete(entry);
      if (this.live.get(workspaceId)?.size === 0) this.live.delete(workspaceId);
      upstream.destroy();
      channel.destroy();
      done?.();
      onEnd();
    };
    upstream.on('error', end).on('close', end);
    channel.on('error', end).on('close', end);
    channel.pipe(upstream);
    upstream.pipe(channel);
  }
}
