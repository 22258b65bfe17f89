/**
 * The memory driver's stand-in for a workspace agent: a small HTTP server in this
 * process, listening on the sandbox's own address (a loopback address, 127.0.0.0/8,
 * so each sandbox has its own) and port. It answers what the domain and the driver
 * conformance suite ask of an agent that is up:
 *
 * - `GET /health` → `{ status: 'ok', ok: true, pid, hostname }` (Warren's readiness
 *   probe reads `status`, the conformance suite `ok` and `hostname`);
 * - `POST /_warren/claim` → `{}` (the host hands a booted sandbox its workspace);
 * - `GET|PUT|DELETE /_memory/files?path=/abs/path` → the sandbox's writable layer, a
 *   map of path → text kept by the driver, so tests can see what survives stop,
 *   start and destroy.
 *
 * It runs no code of the workspace: nothing here executes, so nothing is isolated.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What the agent reads and changes: owned by the driver, outlives the agent between starts. */
export interface MemoryAgentState {
  pid: number;
  hostname: string;
  layer: Map<string, string>;
  /** Bytes received and sent over the agent's closed connections (the sandbox's network counters). */
  rxBytes: number;
  txBytes: number;
}

const MAX_FILE_BYTES = 1024 * 1024;

export class MemoryAgent {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly state: MemoryAgentState) {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (sock) => {
      this.sockets.add(sock);
      sock.on('close', () => {
        state.rxBytes += sock.bytesRead;
        state.txBytes += sock.bytesWritten;
        this.sockets.delete(sock);
      });
    });
  }

  /** Listens on host:port; rejects when the address cannot be bound. */
  static async listen(host: string, port: number, state: MemoryAgentState): Promise<MemoryAgent> {
    const agent = new MemoryAgent(state);
    await new Promise<void>((resolve, reject) => {
      agent.server.once('error', reject);
      agent.server.listen(port, host, () => {
        agent.server.off('error', reject);
        resolve();
      });
    });
    return agent;
  }

  /** Bytes received and sent so far, open connections included. */
  counters(): { rxBytes: number; txBytes: number } {
    let rx = this.state.rxBytes;
    let tx = this.state.txBytes;
    for (const sock of this.sockets) {
      rx += sock.bytesRead;
      tx += sock.bytesWritten;
    }
    return { rxBytes: rx, txBytes: tx };
  }

  /** Stops listening and cuts every connection at once (the process is gone). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const sock of this.sockets) sock.destroy();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (req.method === 'GET' && url.pathname === '/health') {
      return send(res, 200, { status: 'ok', ok: true, pid: this.state.pid, hostname: this.state.hostname });
    }
    if (req.method === 'POST' && url.pathname === '/_warren/claim') return send(res, 200, {});
    if (url.pathname === '/_memory/files') return this.files(req, res, url.searchParams.get('path') ?? '');
    send(res, 404, { error: 'not_found' });
  }

  private files(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (!path.startsWith('/')) return send(res, 400, { error: 'path must be absolute' });
    const layer = this.state.layer;
    if (req.method === 'GET') {
      const text = layer.get(path);
      return text === undefined ? send(res, 404, { error: 'not_found' }) : send(res, 200, { path, text });
    }
    if (req.method === 'DELETE') {
      layer.delete(path);
      return send(res, 200, { path });
    }
    if (req.method !== 'PUT') return send(res, 405, { error: 'method_not_allowed' });
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes <= MAX_FILE_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (bytes > MAX_FILE_BYTES) return send(res, 413, { error: 'too_large' });
      layer.set(path, Buffer.concat(chunks).toString('utf8'));
      send(res, 200, { path });
    });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
