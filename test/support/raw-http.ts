/**
 * Raw-socket HTTP for limit tests: what a client that misbehaves on purpose does (headers
 * dribbled, a body that stalls or never ends, a connection left idle), with the bytes the
 * server answered and when it closed.
 */
import { connect, type Socket } from 'node:net';

export interface RawConn {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the server closed the connection (its FIN or a reset), with ms since open. */
  closed: Promise<number>;
  /** Resolves with the first complete response head + body text received. */
  firstResponse(timeoutMs?: number): Promise<RawResponse>;
  write(data: string | Buffer): boolean;
  destroy(): void;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: any;
}

export async function openRaw(port: number, host = '127.0.0.1'): Promise<RawConn> {
  const socket = connect(port, host);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const opened = Date.now();
  let text = '';
  const waiters: Array<() => void> = [];
  socket.on('data', (c: Buffer) => {
    text += c.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => {
    for (const w of waiters.splice(0)) w();
    resolve(Date.now() - opened);
  }));
  return {
    socket,
    received: () => text,
    closed,
    write: (d) => (socket.destroyed ? false : socket.write(d)),
    destroy: () => socket.destroy(),
    async firstResponse(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const parsed = parseResponse(text);
        if (parsed) return parsed;
        if (socket.destroyed || Date.now() > deadline) throw new Error(`no complete response; got ${JSON.stringify(text.slice(0, 300))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
  };
}

function parseResponse(text: string): RawResponse | null {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const len = Number(headers['content-length'] ?? 0);
  const body = text.slice(end + 4);
  if (Buffer.byteLength(body, 'latin1') < len) return null;
  const raw = body.slice(0, len);
  let json: any = raw;
  try {
    json = JSON.parse(Buffer.from(raw, 'latin1').toString('utf8'));
  } catch {
    // not JSON: the text
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: json };
}

/** Writes a chunk of a chunked body. */
export function chunk(data: string | Buffer): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Sends a chunked body of `size`-byte chunks every `everyMs` until the server answers or
 * closes (or `max` chunks); returns the answer and how many chunks were sent.
 */
export async function endlessBody(conn: RawConn, size: number, everyMs: number, max = 10_000): Promise<{ response: RawResponse; sent: number }> {
  let sent = 0;
  const filler = Buffer.alloc(size, 0x20);
  while (sent < max && !conn.socket.destroyed && !conn.received().includes('\r\n\r\n')) {
    conn.write(chunk(filler));
    sent++;
    await sleep(everyMs);
  }
  return { response: await conn.firstResponse(), sent };
}

/**
 * A slow-loris: a request line, then one header line every 100 ms, never the blank line.
 * Resolves once the server drops the connection, with how long that took and what it sent.
 */
export async function slowLoris(port: number, path: string): Promise<{ closedAfterMs: number; received: string }> {
  const conn = await openRaw(port);
  conn.write(`GET ${path} HTTP/1.1\r\n`);
  const dribble = setInterval(() => conn.write('X-Slow: 1\r\n'), 100);
  try {
    return { closedAfterMs: await conn.closed, received: conn.received() };
  } finally {
    clearInterval(dribble);
  }
}
