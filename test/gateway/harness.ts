/**
 * Test rig for the gateway: real HTTP servers on 127.0.0.1 stand in for workspace
 * agents (the gateway's job here is routing and streaming, not sandboxes), and a
 * fake `resolve` maps test tokens to them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { AppError, type ErrorCode } from '../../src/contract/errors.js';
import { createGateway } from '../../src/gateway/gateway.js';
import type { Gateway, RuntimeRoute } from '../../src/gateway/types.js';

export type TableEntry = RuntimeRoute | { error: ErrorCode; message?: string } | { crash: string };
export type RouteTable = Record<string, TableEntry>;

export function fakeResolver(table: RouteTable) {
  return async (token: string): Promise<RuntimeRoute> => {
    const entry = table[token];
    if (!entry) throw new AppError('unauthorized', 'Invalid or expired runtime token');
    if ('crash' in entry) throw new Error(entry.crash);
    if ('error' in entry) throw new AppError(entry.error, entry.message ?? entry.error);
    return entry;
  };
}

export interface GatewayServer {
  url: string;
  port: number;
  gateway: Gateway;
  close(): Promise<void>;
}

/** The gateway mounted the way the Warren server mounts it (runtime paths only). */
export async function startGatewayServer(
  table: RouteTable, connectTimeoutMs?: number, bodyLimit?: (path: string) => number,
): Promise<GatewayServer> {
  const gateway = createGateway({ resolve: fakeResolver(table), connectTimeoutMs, bodyLimit });
  const server = createServer((req, res) => {
    if (gateway.isRuntimePath(new URL(req.url ?? '/', 'http://x').pathname)) gateway.handleRequest(req, res);
    else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"control_plane":true}');
    }
  });
  server.on('upgrade', (req, socket, head) => {
    if (gateway.isRuntimePath(new URL(req.url ?? '/', 'http://x').pathname)) gateway.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    gateway,
    close: async () => {
      gateway.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

export interface Upstream {
  name: string;
  port: number;
  route: (workspaceId: string) => RuntimeRoute;
  seen: SeenRequest[];
  /** Resolves the pending SSE stream's second event. */
  releaseSse(): void;
  /** Closed client connections observed on /exec/slow. */
  slowClosed: number;
  close(): Promise<void>;
}

/** A stand-in agent. Paths: /exec/stream (SSE), /files/transfer/upload (hash of the body), /files/download?bytes=N, /exec/slow (never answers), * (echo). */
export async function startUpstream(name: string, agentToken: string): Promise<Upstream> {
  let release: () => void = () => {};
  const state = { slowClosed: 0 };
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const path = (req.url ?? '/').split('?')[0];
    if (req.headers.authorization !== `Bearer ${agentToken}`) return json(res, 401, { success: false, code: 'unauthorized' });
    if (path === '/exec/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('event: stdout\ndata: {"n":1}\n\n');
      new Promise<void>((r) => (release = r)).then(() => res.end('event: exit\ndata: {"exit_code":0}\n\n'));
      return;
    }
    if (path === '/files/transfer/upload') return upload(req, res);
    if (path === '/files/download') return download(req, res);
    if (path === '/exec/slow') {
      res.on('close', () => (state.slowClosed += 1));
      return;
    }
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => json(res, 200, { success: true, who: name, method: req.method, url: req.url, headers: req.headers, bytes }));
  });
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (p) => (p.has('binary') ? 'binary' : false) });
  server.on('upgrade', (req, socket, head) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (req.headers.authorization !== `Bearer ${agentToken}` || (req.url ?? '').includes('token=')) {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(`hello from ${name} ${req.url}`);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  const port = await listen(server);
  return {
    name,
    port,
    seen,
    route: (workspaceId) => ({ workspaceId, host: '127.0.0.1', port, agentToken }),
    releaseSse: () => release(),
    get slowClosed() {
      return state.slowClosed;
    },
    close: async () => {
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function upload(req: IncomingMessage, res: ServerResponse): void {
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    bytes += c.length;
    hash.update(c);
  });
  req.on('end', () => json(res, 200, { success: true, bytes, sha256: hash.digest('hex') }));
}

/** Streams N bytes of a deterministic pattern, honouring backpressure. */
function download(req: IncomingMessage, res: ServerResponse): void {
  const total = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes') ?? 0);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  const chunk = patternChunk();
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

export function patternChunk(): Buffer {
  const b = Buffer.alloc(64 * 1024);
  for (let i = 0; i < b.length; i++) b[i] = i % 251;
  return b;
}

/** A port on 127.0.0.1 where nothing listens. */
export async function deadPort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
