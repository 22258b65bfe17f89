/**
 * A replica's client of one node's API (src/node/node-api.ts): one POST per operation, a
 * fresh single-use `api` token each (bound to the op, the workspace and the body), JSON both ways.
 *
 * Outcomes:
 * - 200: the parsed `{ result, imageId? }`.
 * - an error body whose code is registered (src/contract/errors.ts): that AppError, code,
 *   message and details as the node threw them — except the node's token refusals
 *   (`details.field` `authorization`), which mean this replica and the node do not share
 *   a cluster key: 500 `server_error` (a caller's request is not unauthorized).
 * - no answer (refused, reset, timed out, not HTTP/JSON): 503 `node_lost` with
 *   `details.reason` `unreachable`: the same code as a node the registry marked lost,
 *   since the caller can do the same about both (retry once it returns). The op may or
 *   may not have run; every op is idempotent, so the retry converges.
 */
import { request } from 'node:http';
import { AppError, ERROR_STATUS, type ErrorCode, type ErrorDetails } from '../contract/errors.js';
import { EXPECTED_HEARTBEAT_MS } from '../domain/nodes.js';
import { AUTH_FIELD, NODE_API_AUTH_SCHEME, NODE_API_PREFIX, type NodeApiOp } from '../node/node-api.js';

/** Largest answer read (inspect and stats answers are a few hundred bytes). */
const MAX_ANSWER_BYTES = 256 * 1024;

export interface NodeCall {
  nodeId: string;
  /** host:port of the node's relay (its registered address). */
  address: string;
  op: NodeApiOp;
  token: string;
  /** The JSON body, exactly as the token's target hashed it. */
  payload: Buffer;
  timeoutMs: number;
  /** Largest answer read; default 256 KiB (agent calls may answer log tails: more). */
  maxAnswerBytes?: number;
}

export interface NodeAnswer {
  result: unknown;
  imageId?: string | null;
}

/** `host:port` → its parts (`[v6]:port` too); null when it is not one. */
export function splitAddress(address: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}

export function unreachable(nodeId: string, why: string): AppError {
  return new AppError('node_lost', `Node ${nodeId} did not answer (${why}); retry once it returns`, {
    node_id: nodeId, reason: 'unreachable', retry_after: Math.ceil(EXPECTED_HEARTBEAT_MS / 1000),
  });
}

/** One node API call (see the header for its outcomes). */
export function callNode(c: NodeCall): Promise<NodeAnswer> {
  const at = splitAddress(c.address);
  if (!at) return Promise.reject(new AppError('server_error', `Node ${c.nodeId} registered an address that is not host:port`));
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(unreachable(c.nodeId, why));
    };
    const req = request({
      host: at.host, port: at.port, method: 'POST', path: `${NODE_API_PREFIX}${c.op}`, agent: false,
      headers: {
        authorization: `${NODE_API_AUTH_SCHEME} ${c.token}`, 'content-type': 'application/json',
        'content-length': c.payload.length, connection: 'close',
      },
    });
    const timer = setTimeout(() => fail(`no answer in ${c.timeoutMs} ms`), c.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'connection error'));
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > (c.maxAnswerBytes ?? MAX_ANSWER_BYTES)) fail('answer too large');
        else chunks.push(chunk);
      });
      res.on('error', () => fail('answer cut'));
      res.once('aborted', () => fail('answer cut'));
      res.once('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(c.payload);
  }).then(({ status, text }) => answerOf(c.nodeId, status, text));
}

function answerOf(nodeId: string, status: number, text: string): NodeAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw unreachable(nodeId, `answer ${status} is not JSON`);
  }
  const o = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  if (status === 200 && 'result' in o) {
    const imageId = typeof o.imageId === 'string' || o.imageId === null ? o.imageId : undefined;
    return { result: o.result, ...(imageId !== undefined ? { imageId } : {}) };
  }
  throw remoteError(nodeId, status, o.error);
}

/** The node's error as this replica throws it (see the header). */
export function remoteError(nodeId: string, status: number, e: unknown): AppError {
  const err = (e && typeof e === 'object' ? e : {}) as Record<string, unknown>;
  const code = typeof err.code === 'string' && Object.hasOwn(ERROR_STATUS, err.code) ? (err.code as ErrorCode) : null;
  const details = (err.details && typeof err.details === 'object' ? err.details : {}) as ErrorDetails;
  if (!code) return new AppError('server_error', `Node ${nodeId} failed the operation (status ${status})`);
  if ((code === 'unauthorized' || code === 'forbidden') && details.field === AUTH_FIELD) {
    return new AppError('server_error', `Node ${nodeId} refused this replica's node token (do they share the cluster key?)`);
  }
  const message = typeof err.message === 'string' ? err.message : `Node ${nodeId} failed the operation`;
  return new AppError(code, message, Object.keys(details).length > 0 ? details : undefined);
}
