/**
 * The node API's streamed answers, both halves: the node writes one (writeNdjson) and a
 * replica reads it (readNdjson). Format: `200 application/x-ndjson`, one JSON object a line —
 * `{ "event": … }` per item, `{ "ping": true }` while quiet, last `{ "end": true }` or
 * `{ "error": { code, message, details } }`. A stream cut before its last line did not end:
 * the reader throws (the caller decides what that means; a replica says node_lost).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NODE_STREAM_PING_MS } from './node-api-inside.js';

/** One line of a stream, as read. */
export type NdjsonLine = { event: unknown } | { end: true } | { error: unknown };

/** Longest line a reader buffers (a log entry is far smaller; a longer line means a broken peer). */
export const MAX_NDJSON_LINE = 4 * 1024 * 1024;

/**
 * Writes `stream` as NDJSON until it ends, fails (its error as the last line, through
 * `errorBody`), or the peer goes away (the stream's signal aborts, which ends it). The
 * stream is pulled only as fast as the peer reads (each write waits for drain when full).
 */
export function writeNdjson(
  res: ServerResponse, stream: (signal: AbortSignal) => AsyncIterable<unknown>, errorBody: (err: unknown) => unknown,
): void {
  const ac = new AbortController();
  res.once('close', () => ac.abort());
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  /** Writes one line; false when the peer is slow (the caller waits for drain: pulled no faster than read). */
  const line = (v: unknown): boolean => {
    if (res.destroyed || res.writableEnded) return true;
    return res.write(`${JSON.stringify(v)}\n`);
  };
  const drained = () => new Promise<void>((resolve) => {
    if (res.destroyed || ac.signal.aborted) return resolve();
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  const ping = setInterval(() => line({ ping: true }), NODE_STREAM_PING_MS);
  ping.unref();
  void (async () => {
    try {
      for await (const event of stream(ac.signal)) {
        if (ac.signal.aborted) break;
        if (!line({ event })) await drained();
      }
      line({ end: true });
    } catch (err) {
      const body = errorBody(err) as { error?: unknown };
      line({ error: body.error ?? body });
    } finally {
      clearInterval(ping);
      if (!res.writableEnded) res.end();
    }
  })();
}

/**
 * The lines of a streamed answer (pings dropped), ending after `{ end: true }` or with the
 * line's error thrown by `toError`. `idleMs` without any line (pings included) is a cut.
 * Throws `cut(why)` when the stream stops before its last line.
 */
export async function* readNdjson(
  res: IncomingMessage, idleMs: number, toError: (e: unknown) => Error, cut: (why: string) => Error,
): AsyncGenerator<unknown> {
  let idle: NodeJS.Timeout | null = null;
  let idled = false;
  const arm = () => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => {
      idled = true;
      res.destroy();
    }, idleMs);
  };
  arm();
  res.setEncoding('utf8');
  let buf = '';
  const chunks = res[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await chunks.next();
      } catch {
        throw cut(idled ? `no line in ${idleMs} ms` : 'stream cut');
      }
      if (next.done) throw cut(idled ? `no line in ${idleMs} ms` : 'stream cut');
      arm();
      buf += next.value as string;
      let start = 0;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n', start)) {
        const l = parse(buf.slice(start, nl));
        start = nl + 1;
        if (l === null) throw cut('a line that is not JSON');
        if ('event' in l) yield l.event;
        else if ('end' in l) return;
        else if ('error' in l) throw toError(l.error);
      }
      buf = buf.slice(start);
      if (buf.length > MAX_NDJSON_LINE) throw cut('a line too long');
    }
  } finally {
    if (idle) clearTimeout(idle);
    res.destroy();
  }
}

function parse(text: string): NdjsonLine | { ping: true } | null {
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object') return null;
    const o = v as Record<string, unknown>;
    if ('event' in o) return { event: o.event };
    if (o.end === true) return { end: true };
    if ('error' in o) return { error: o.error };
    if (o.ping === true) return { ping: true };
    return null;
  } catch {
    return null;
  }
}
