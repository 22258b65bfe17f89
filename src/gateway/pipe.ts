/**
 * The two ways Warren relays traffic to a port inside a workspace, shared by the
 * runtime gateway (to the agent) and the public-access edge (to the app):
 * - `relayHttp`: one request streamed up, the response streamed down, with
 *   backpressure both ways; a bodiless request that died on a stale pooled socket is
 *   resent once on a fresh one; the exchange can be cut from outside (`track`).
 * - `relayUpgrade`: a raw TCP pipe after the handshake request is re-sent (WebSocket).
 * What differs between the callers — headers, the request line, the error reply —
 * comes in as parameters; the relays themselves never look at credentials.
 */
import { request, type Agent, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Socket errors that mean a pooled keep-alive connection had died before reuse. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Fails a request whose TCP connect takes longer than `ms` with code
 * `ETIMEDOUT_CONNECT` (an unreachable workspace must answer, not hang). Once
 * connected, streams may idle as long as they like.
 */
export function armConnectTimeout(upstream: ReturnType<typeof request>, ms: number): void {
  upstream.on('socket', (socket: Socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => {
      const err = new Error('connect timeout') as NodeJS.ErrnoException;
      err.code = 'ETIMEDOUT_CONNECT';
      upstream.destroy(err);
    }, ms);
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  });
}

export interface HttpRelay {
  host: string;
  port: number;
  path: string;
  headers: OutgoingHttpHeaders;
  agent: Agent;
  connectTimeoutMs: number;
  /** Registers a way to cut this exchange; returns the unregister function. */
  track: (cut: () => void) => () => void;
  /** Headers sent down to the client, from the upstream's. */
  responseHeaders: (upRes: IncomingMessage) => OutgoingHttpHeaders;
  /** Writes the error reply when the upstream cannot be reached (nothing was sent yet). */
  onUnreachable: (res: ServerResponse, err: NodeJS.ErrnoException) => void;
  /**
   * Request bodies past this many bytes are not relayed: at the first chunk past it the
   * upstream request is cut and `onBodyTooLarge` answers the client (none = no cap).
   */
  bodyLimit?: number;
  onBodyTooLarge?: (res: ServerResponse) => void;
}

export function relayHttp(req: IncomingMessage, res: ServerResponse, r: HttpRelay, retry = true): void {
  const upstream = request({
    host: r.host, port: r.port, method: req.method, path: r.path, headers: r.headers, agent: retry ? r.agent : false,
  });
  const untrack = r.track(() => {
    upstream.destroy();
    res.destroy();
  });
  armConnectTimeout(upstream, r.connectTimeoutMs);
  upstream.on('response', (upRes) => {
    if (res.headersSent || res.destroyed) {
      // the client was already answered (e.g. 408 for a body that stalled) or left
      upRes.resume();
      upstream.destroy();
      return;
    }
    const headers = r.responseHeaders(upRes);
    // An answer before the client's body was read whole (an early refusal) leaves the rest of
    // that body on the client's socket; reusing it would make the client's next request wait
    // behind the leftover (issue 15's fuzzer). The client is told to open a new connection.
    if (hasBody(req) && !req.complete) headers.connection = 'close';
    res.writeHead(upRes.statusCode ?? 502, headers);
    res.flushHeaders(); // SSE clients must see the headers before the first event
    relayResponseBody(upRes, res);
  });
  /** Set once the body went past the cap: the upstream's errors are then our own doing. */
  let refused = false;
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    untrack();
    if (refused) return;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    if (retry && upstream.reusedSocket && STALE_SOCKET_CODES.has(err.code ?? '') && !hasBody(req)) {
      relayHttp(req, res, r, false); // the pooled socket had died; bodiless requests are safe to resend
      return;
    }
    req.resume();
    r.onUnreachable(res, err);
  });
  // The client went away: stop the upstream work too.
  res.on('close', () => {
    untrack();
    if (!res.writableFinished) upstream.destroy();
  });
  if (!hasBody(req)) upstream.end();
  else if (r.bodyLimit === undefined) relayRequestBody(req, upstream);
  else {
    relayCappedBody(req, upstream, r.bodyLimit, () => {
      refused = true;
      upstream.destroy();
      if (res.headersSent) res.destroy();
      else r.onBodyTooLarge?.(res);
    });
  }
}

/*
 * Bodies are relayed with `pipe` (backpressure both ways) and explicit error wiring
 * rather than `stream.pipeline`, which allocates an AbortController per call and
 * builds a DOMException when it finishes — a measurable share of a small exchange.
 * Whoever ends early destroys the other side; `res`'s 'close' (above) untracks.
 */

/** The upstream's response body to the client; a truncated upstream response truncates the client's. */
function relayResponseBody(upRes: IncomingMessage, res: ServerResponse): void {
  upRes.on('error', () => res.destroy());
  upRes.on('close', () => {
    if (!upRes.complete) res.destroy();
  });
  res.on('error', () => upRes.destroy());
  upRes.pipe(res);
}

/** The client's request body to the upstream; a client that fails mid-body aborts the upstream request. */
function relayRequestBody(req: IncomingMessage, upstream: ReturnType<typeof request>): void {
  req.on('error', () => upstream.destroy());
  req.pipe(upstream);
}

/**
 * As `relayRequestBody`, counting bytes: at the first chunk past `limit` (before the pipe
 * writes it: this listener was added first) the relay stops and `exceeded` runs once.
 */
function relayCappedBody(req: IncomingMessage, upstream: ReturnType<typeof request>, limit: number, exceeded: () => void): void {
  let total = 0;
  const count = (chunk: Buffer) => {
    total += chunk.length;
    if (total <= limit) return;
    req.off('data', count);
    req.unpipe(upstream);
    exceeded();
  };
  req.on('data', count);
  relayRequestBody(req, upstream);
}

export interface UpgradeRelay {
  host: string;
  port: number;
  /** The handshake request as the upstream must see it (request line, headers, blank line). */
  handshake: string;
  connectTimeoutMs: number;
  track: (cut: () => void) => () => void;
  /** Writes the error reply on the client socket when the upstream cannot be reached. */
  onUnreachable: (client: Duplex, reason: string) => void;
  /**
   * Opens the upstream connection another way (a node relay tunnel: src/gateway/relay-client.ts);
   * rejects with an errno-style `code`. Absent = a direct TCP connection to host:port.
   */
  open?: () => Promise<Duplex>;
}

/** A direct TCP connection to host:port, or a rejection with the errno code (`connect timeout` after `ms`). */
function dialDirect(host: string, port: number, ms: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(Object.assign(new Error('connect timeout'), { code: 'connect timeout' }));
    }, ms);
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err);
    };
    s.once('error', onError);
    s.once('connect', () => {
      clearTimeout(timer);
      s.off('error', onError);
      s.setNoDelay(true);
      resolve(s);
    });
  });
}

export function relayUpgrade(client: Duplex, head: Buffer, r: UpgradeRelay): void {
  let upstream: Duplex | null = null;
  let clientGone = false;
  const cut = () => {
    upstream?.destroy();
    client.destroy();
  };
  const untrack = r.track(cut);
  client.on('error', cut);
  client.on('close', () => {
    clientGone = true;
    untrack();
    upstream?.destroy();
  });
  const opening = r.open ? r.open() : dialDirect(r.host, r.port, r.connectTimeoutMs);
  opening.then((up) => {
    if (clientGone) {
      up.destroy();
      return;
    }
    upstream = up;
    (client as Partial<Socket>).setNoDelay?.(true);
    up.on('error', cut);
    up.on('close', () => {
      untrack();
      client.destroy();
    });
    up.write(r.handshake);
    if (head.length > 0) up.write(head);
    client.pipe(up);
    up.pipe(client);
  }, (err: NodeJS.ErrnoException) => {
    untrack();
    if (!clientGone) r.onUnreachable(client, err.code ?? err.message);
  });
}
