/**
 * A replica's reader of one node API stream (`agent-stream`, `boot-log-follow`:
 * src/node/node-api-inside.ts): one POST with a fresh `api` token, then the NDJSON lines as
 * an async iterable of events. Outcomes as for callNode (src/fleet/node-api-client.ts):
 * the node's AppError before or inside the stream comes back with its code; no answer, or a
 * stream cut before its last line (the node died, or went silent past `idleMs`: it pings
 * every 15 s), is 503 `node_lost` `reason: unreachable`. When `signal` aborts, the request
 * is destroyed (the node stops its side) and the iterable just ends.
 */
import { request, type IncomingMessage } from 'node:http';
import { AppError } from '../contract/errors.js';
import { NODE_API_AUTH_SCHEME, NODE_API_PREFIX } from '../node/node-api.js';
import { readNdjson } from '../node/node-api-stream.js';
import { remoteError, splitAddress, unreachable, type NodeCall } from './node-api-client.js';

/** A stream with no line (pings included) this long is from a node that is gone. */
export const NODE_STREAM_IDLE_MS = 45_000;
const MAX_ERROR_BYTES = 64 * 1024;

export interface NodeStreamCall extends NodeCall {
  signal: AbortSignal;
  idleMs?: number;
}

/** Opens the stream (resolves on its 200 head, so a refusal rejects here) and gives its events. */
export async function openNodeStream(c: NodeStreamCall): Promise<AsyncIterable<unknown>> {
  const res = await post(c);
  const lines = readNdjson(res, c.idleMs ?? NODE_STREAM_IDLE_MS,
    (e) => remoteError(c.nodeId, 200, e), (why) => unreachable(c.nodeId, why));
  return {
    async *[Symbol.asyncIterator]() {
      try {
        yield* lines;
      } catch (err) {
        if (c.signal.aborted) return; // the caller went away: not an error
        throw err;
      }
    },
  };
}

function post(c: NodeStreamCall): Promise<IncomingMessage> {
  const at = splitAddress(c.address);
  if (!at) return Promise.reject(new AppError('server_error', `Node ${c.nodeId} registered an address that is not host:port`));
  const payload = c.payload;
  return new Promise<IncomingMessage>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const req = request({
      host: at.host, port: at.port, method: 'POST', path: `${NODE_API_PREFIX}${c.op}`, agent: false, signal: c.signal,
      headers: {
        authorization: `${NODE_API_AUTH_SCHEME} ${c.token}`, 'content-type': 'application/json',
        'content-length': payload.length, accept: 'application/x-ndjson', connection: 'close',
      },
    });
    const timer = setTimeout(() => fail(unreachable(c.nodeId, `no answer in ${c.timeoutMs} ms`)), c.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => fail(c.signal.aborted
      ? new AppError('service_unavailable', 'Request ended') : unreachable(c.nodeId, err.code ?? 'connection error')));
    req.once('response', (res) => {
      if (res.statusCode === 200 && String(res.headers['content-type'] ?? '').startsWith('application/x-ndjson')) {
        settled = true;
        clearTimeout(timer);
        resolve(res);
        return;
      }
      void refusal(c, res).then(fail);
    });
    req.end(payload);
  });
}

/** A non-stream answer: the node's error (or node_lost when it is not one). */
async function refusal(c: NodeStreamCall, res: IncomingMessage): Promise<Error> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res) {
      size += (chunk as Buffer).length;
      if (size > MAX_ERROR_BYTES) return unreachable(c.nodeId, 'answer too large');
      chunks.push(chunk as Buffer);
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: unknown };
    return remoteError(c.nodeId, res.statusCode ?? 0, body?.error);
  } catch {
    return unreachable(c.nodeId, `answer ${res.statusCode} is not a stream`);
  }
}
