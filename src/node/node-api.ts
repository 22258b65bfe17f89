/**
 * The node API (issue 16): how a control-plane replica makes a node daemon apply desired
 * state to, or observe, one of the node's workspaces. Mounted by the node daemon on its
 * relay server's port (the relay's `onRequest` hook: src/node/relay-server.ts); it runs
 * every operation on the node's local backend (the Orchestrator).
 *
 * `POST /v1/node/workspaces/<op>` with a JSON body `{ record: WorkspaceRecord, source? }`,
 * `op` one of NODE_API_OPS. The replica sends the record it holds; the node keeps no state
 * of its own about workspaces (the store does), so every op is as idempotent as the local
 * backend's.
 *
 * Authentication: `Authorization: Warren-Node <token>`, a node token (src/node/node-tokens.ts)
 * of purpose `api`, signed with the cluster key, for this node's id and the target
 * `api:<op>:<workspace id>:<sha256 of the body, base64url>` (nodeApiTarget): a token
 * authorizes one request — that op on that workspace with exactly that body — on one node,
 * once (its nonce is claimed), before it expires. A node never trusts a caller by its
 * address. The workspace id is in the body, so the body (capped at 1 MiB) is read and
 * parsed before the token is checked; a request with no token at all is refused unread.
 * The record must name this node (`record.nodeId`): a replica never acts on another node's
 * workspace here by mistake.
 * - the inside ops (`agent-call`, `agent-stream`, `boot-log`, `boot-log-follow`:
 *   src/node/node-api-inside.ts) answer `{ result }` too, or a 200 NDJSON stream for the
 *   two streams (src/node/node-api-stream.ts); `sync-ssh` has the node tell the agent its
 *   SSH settings as the store holds them.
 *
 * Apply ops on one workspace run one at a time on the node, in arrival order: a replica
 * that gave up waiting (a timeout) and retries never runs a second boot beside the first.
 * Observe ops (inspect, stats) do not wait for them.
 *
 * Pool ops (`pool-take`, `pool-assign`, `pool-put-back`: src/node/node-pool-api.ts) take a
 * `{ pool: … }` body instead and the same tokens, bound to the workspace id the body names
 * (`pool-assign`) or to `pool`; they run on the node's warm pool (src/node/pool-handoff.ts).
 *
 * Answers (JSON):
 * - 200 `{ result, imageId? }`: `result` is the op's value (inspect: SandboxStatus, stats:
 *   SandboxStats, others null); bring-up also returns the image it pinned (`rec.imageId`).
 * - an AppError: its registered status and `{ error: { code, message, details } }`, so the
 *   same code crosses the hop (FleetBackend rethrows it).
 * - token refusals: 401 `unauthorized` (none) / 403 `forbidden` (bad, expired, replayed,
 *   another purpose's, node's, op's, workspace's or body's), `details.field` `authorization`; the
 *   reason goes to the node's log only.
 * - anything else: 500 `server_error` with a fixed sentence (no path, errno or stack).
 */
import { createHash } from 'node:crypto';
import { insideBodyFields, isInsideOp, NODE_API_INSIDE_OPS, runInside, type NodeInside } from './node-api-inside.js';
import { writeNdjson } from './node-api-stream.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { AppError } from '../contract/errors.js';
import type { WorkspaceBackend } from '../domain/backend.js';
import type { ResolvedSource } from '../domain/layer-ops.js';
import type { WorkspaceRecord } from '../store/store.js';
import { readCapped, requestChunks } from '../util/capped-body.js';
import { NonceCache } from './nonce-cache.js';
import { isPoolOp, NODE_POOL_OPS, poolBodySchema, poolSubject, runPoolOp } from './node-pool-api.js';
import { PoolHandoff, type PoolHandoffOptions } from './pool-handoff.js';
import type { NodeTokenVerifier } from './node-tokens.js';

export const NODE_API_PREFIX = '/v1/node/workspaces/';
export const NODE_API_AUTH_SCHEME = 'Warren-Node';
/** Largest request body (a workspace record with its config and a source). */
export const NODE_API_MAX_BODY = 1024 * 1024;

export const NODE_API_OPS = [
  'bring-up', 'bring-down', 'pause', 'resume', 'destroy', 'destroy-sandbox',
  'update-resources', 'sync-agent-token', 'sync-ssh', 'inspect', 'stats',
  ...NODE_API_INSIDE_OPS,
  ...NODE_POOL_OPS,
] as const;
export type NodeApiOp = (typeof NODE_API_OPS)[number];
const OPS: ReadonlySet<string> = new Set(NODE_API_OPS);
const OBSERVE: ReadonlySet<NodeApiOp> = new Set<NodeApiOp>(['inspect', 'stats']);

/** The target an `api` token is bound to: one op on one workspace with one body (its exact bytes). */
export function nodeApiTarget(op: NodeApiOp, workspaceId: string, body: Uint8Array | string): string {
  return `api:${op}:${workspaceId}:${createHash('sha256').update(body).digest('base64url')}`;
}

/** Details of a token refusal (FleetBackend tells them from the backend's own errors by this field). */
export const AUTH_FIELD = 'authorization';

/**
 * The record, checked loosely: an object with the fields the local backend reads to build a
 * sandbox spec; everything else passes through as sent (the store's shape is the contract).
 */
const recordSchema = z.looseObject({
  id: z.string().min(1).max(60), // the token's target (≤ 128 characters) holds it
  shortId: z.string().min(1).max(64),
  ip: z.string().min(1).max(64),
  image: z.string().max(1024),
  imageId: z.string().max(200).nullable(),
  nodeId: z.string().max(128).nullable(),
  config: z.looseObject({}),
  network: z.looseObject({}),
  apiAccess: z.looseObject({ enabled: z.boolean(), rawToken: z.string() }),
});
const sourceSchema = z.looseObject({ kind: z.enum(['snapshot', 'archive']) });
const bodySchema = z.object({ record: recordSchema, source: sourceSchema.optional(), ...insideBodyFields });

export interface NodeApiOptions {
  /** This node's id: tokens and records must name it. */
  nodeId: string;
  verifier: NodeTokenVerifier;
  /** The node's local backend (the Orchestrator). */
  backend: WorkspaceBackend;
  /**
   * `sync-ssh`: tells the workspace's agent its SSH settings as the store holds them (the
   * replica stored them first; nothing secret is in the request). Absent: 501.
   */
  syncSsh?: (workspaceId: string) => Promise<void>;
  /**
   * The inside ops (agent calls and streams, boot log: src/node/node-api-inside.ts), read
   * with the node's own agent client, control dirs and boot log. Absent: 501.
   */
  inside?: NodeInside;
  /** Single-use store for token nonces (default: a fresh one for this handler). */
  nonces?: NonceCache;
  maxBodyBytes?: number;
  /** The pool ops' settling of takes never assigned (src/node/pool-handoff.ts). */
  pool?: Pick<PoolHandoffOptions, 'holdMs' | 'underCreateLock' | 'holderOf'>;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

interface Answer {
  status: number;
  body: unknown;
}

/** A streamed answer (NDJSON: src/node/node-api-stream.ts). */
interface Streamed {
  stream: (signal: AbortSignal) => AsyncIterable<unknown>;
}

/** The request handler (`(req, res) => void`) for the relay server's `onRequest` hook. */
export function nodeApiHandler(o: NodeApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const nonces = o.nonces ?? new NonceCache();
  const queue = new PerWorkspace();
  const pool = new PoolHandoff({ nodeId: o.nodeId, backend: o.backend, ...o.pool, ...(o.log ? { log: o.log } : {}) });
  return (req, res) => {
    handle(o, nonces, queue, pool, req).then(
      (a) => ('stream' in a ? writeNdjson(res, a.stream, (err) => errorAnswer(err, o).body) : send(req, res, a)),
      (err: unknown) => send(req, res, errorAnswer(err, o)));
  };
}

async function handle(o: NodeApiOptions, nonces: NonceCache, queue: PerWorkspace, pool: PoolHandoff, req: IncomingMessage): Promise<Answer | Streamed> {
  const path = (req.url ?? '').split('?')[0]!;
  if (!path.startsWith(NODE_API_PREFIX)) throw new AppError('not_found', 'No such node API route');
  const op = path.slice(NODE_API_PREFIX.length);
  if (!OPS.has(op)) throw new AppError('not_found', 'No such node API operation', { field: 'op' });
  if (req.method !== 'POST') throw new AppError('method_not_allowed', 'The node API takes POST only');
  const token = bearer(req.headers.authorization);
  if (token === null) throw new AppError('unauthorized', 'A node token is required', { field: AUTH_FIELD });
  const maxBody = o.maxBodyBytes ?? NODE_API_MAX_BODY;
  if (isPoolOp(op)) {
    const { raw, body } = await readBody(req, maxBody, poolBodySchema);
    checkToken(o, nonces, token, op, poolSubject(op, body), raw);
    return { status: 200, body: { result: await runPoolOp(pool, op, body) } };
  }
  const { raw, body } = await readBody(req, maxBody, bodySchema);
  const { record, source } = body;
  checkToken(o, nonces, token, op as NodeApiOp, record.id, raw);
  if (record.nodeId !== o.nodeId) {
    throw new AppError('bad_request', `Workspace ${record.id} is not placed on this node`, { field: 'record.nodeId' });
  }
  if (op === 'sync-ssh') {
    if (!o.syncSsh) throw new AppError('not_implemented', 'This node cannot apply SSH settings', { field: 'op' });
    await o.syncSsh(record.id);
    return { status: 200, body: { result: null } };
  }
  if (isInsideOp(op)) {
    const a = await runInside(o.inside, o.nodeId, op, record as unknown as WorkspaceRecord, body);
    return 'stream' in a ? a : { status: 200, body: { result: a.result } };
  }
  const apply = () => run(o.backend, op as BackendOp, record as unknown as WorkspaceRecord, source as ResolvedSource | undefined);
  return OBSERVE.has(op as NodeApiOp) ? apply() : queue.run(record.id, apply);
}

/** Throws 403 `forbidden` unless `token` is a fresh `api` token of this node for `op` on `subject` with body `raw`. */
function checkToken(o: NodeApiOptions, nonces: NonceCache, token: string, op: NodeApiOp, subject: string, raw: Buffer): void {
  const verified = o.verifier.verify(token, { nodeId: o.nodeId, target: nodeApiTarget(op, subject, raw) });
  const refused = !verified.ok ? verified.reason
    : verified.claims.purpose !== 'api' ? 'wrong_purpose'
      : !nonces.claim(verified.claims.nonce, verified.claims.expiresAt) ? 'replayed' : null;
  if (refused) {
    o.log?.('node api: token refused', { op, workspace: subject, reason: refused });
    throw new AppError('forbidden', 'The node token was refused', { field: AUTH_FIELD });
  }
}

/** Runs tasks with the same key one after another, in arrival order (a failure does not stop the next). */
class PerWorkspace {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

function bearer(header: string | undefined): string | null {
  const prefix = `${NODE_API_AUTH_SCHEME} `;
  if (typeof header !== 'string' || !header.startsWith(prefix)) return null;
  const token = header.slice(prefix.length).trim();
  return token === '' ? null : token;
}

async function readBody<S extends z.ZodType>(req: IncomingMessage, limit: number, schema: S): Promise<{ raw: Buffer; body: z.infer<S> }> {
  const raw = await readCapped(requestChunks(req), req.headers['content-length'], limit);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError('bad_request', 'The body is not JSON', { field: 'body' });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('validation_error', 'The body is not a node API request', { field: issue ? issue.path.join('.') : 'body' });
  }
  return { raw, body: parsed.data };
}

/** The ops the local backend runs. */
type BackendOp = Exclude<NodeApiOp, 'sync-ssh' | (typeof NODE_API_INSIDE_OPS)[number]>;

/** Runs one op on the local backend. */
async function run(b: WorkspaceBackend, op: BackendOp, rec: WorkspaceRecord, source?: ResolvedSource): Promise<Answer> {
  const ok = (result: unknown = null, extra: Record<string, unknown> = {}): Answer => ({ status: 200, body: { result, ...extra } });
  switch (op) {
    case 'bring-up':
      await b.bringUp(rec, source);
      return ok(null, { imageId: rec.imageId });
    case 'bring-down': await b.bringDown(rec); return ok();
    case 'pause': await b.pause(rec); return ok();
    case 'resume': await b.resume(rec); return ok();
    case 'destroy': await b.destroy(rec); return ok();
    case 'destroy-sandbox': await b.destroySandbox(rec); return ok();
    case 'update-resources': await b.updateResources(rec); return ok();
    case 'sync-agent-token': await b.syncAgentToken(rec); return ok();
    case 'inspect': return ok(await b.inspect(rec));
    case 'stats': return ok(await b.stats(rec));
    default: throw new AppError('not_found', 'No such node API operation', { field: 'op' });
  }
}

function errorAnswer(err: unknown, o: NodeApiOptions): Answer {
  if (err instanceof AppError) {
    return { status: err.status, body: { error: { code: err.code, message: err.message, details: err.details ?? {} } } };
  }
  o.log?.('node api: operation failed', { err: err instanceof Error ? err.message : String(err) });
  return { status: 500, body: { error: { code: 'server_error', message: 'The node could not complete the operation', details: {} } } };
}

/** Writes the answer; a request refused before its body was read whole closes the connection after it. */
function send(req: IncomingMessage, res: ServerResponse, a: Answer): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(a.body);
  const unread = !req.complete;
  res.writeHead(a.status, {
    'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store',
    ...(unread ? { connection: 'close' } : {}),
  });
  res.end(text);
  if (unread) req.resume();
}
