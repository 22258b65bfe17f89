/**
 * The agent's internal API (`/_warren/*`: workloads, log files, SSH settings) for control
 * replicas (issue 16). A workspace agent accepts those calls only with its control token,
 * which the host keeps in the workspace's control directory, so a replica on another host
 * cannot make them itself; it asks the node, which makes them with the local
 * AgentControlClient and answers.
 *
 *   POST /v1/node/agent   { workspaceId, method, path, body?, stream? }
 *   Authorization: Warren-Node <api token for this node, target agentTarget(workspaceId, method, path)>
 *   → 200 { result }                         a call
 *   → 200 application/x-ndjson, one event a line   a stream (`stream: true`, GET), until either side ends
 *   → <status> { error: { code, message, details } }   the agent client's AppErrors (agent_unreachable,
 *     workload_not_found, not_found) or a refusal (401/403 `details.field` authorization, 400, 404)
 *
 * The token binds the node, the workspace and the exact method and path (hashed: a token's
 * target is at most 128 characters), is single-use (nonce) and short-lived. Only
 * `/_warren/` paths of a workspace this node runs are called; nothing is trusted by address.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { AppError, isAppError } from './contract/errors.js';
import { AGENT_PORT, type AgentControlPort, type AgentTarget } from './domain/ports.js';
import { controlDirOf } from './domain/sandbox-spec.js';
import { NonceCache } from './node/nonce-cache.js';
import type { NodeTokenVerifier } from './node/node-tokens.js';
import type { Store } from './store/store.js';
import { readCapped, requestChunks } from './util/capped-body.js';

export const NODE_AGENT_PATH = '/v1/node/agent';
const MAX_BODY = 1024 * 1024;
const AUTH_FIELD = 'authorization';

/** The target an `api` token for one agent call is bound to. */
export function agentTarget(workspaceId: string, method: string, path: string): string {
  return `agent:${workspaceId}:${createHash('sha256').update(`${method} ${path}`).digest('hex').slice(0, 40)}`;
}

const bodySchema = z.object({
  workspaceId: z.string().min(1).max(100),
  method: z.enum(['GET', 'POST', 'PUT', 'DELETE']),
  path: z.string().startsWith('/_warren/').max(2048),
  body: z.unknown().optional(),
  stream: z.boolean().optional(),
});

export interface NodeAgentOptions {
  nodeId: string;
  verifier: NodeTokenVerifier;
  store: Pick<Store, 'getWorkspace'>;
  workspacesDir: string;
  agent: AgentControlPort;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function nodeAgentHandler(o: NodeAgentOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const nonces = new NonceCache();
  return (req, res) => {
    serve(o, nonces, req, res).catch((err: unknown) => {
      if (isAppError(err)) sendJson(res, err.status, { error: { code: err.code, message: err.message, details: err.details ?? {} } });
      else {
        o.log?.('node agent: call failed', { err: err instanceof Error ? err.message : String(err) });
        sendJson(res, 500, { error: { code: 'server_error', message: 'The node could not make the agent call', details: {} } });
      }
    });
  };
}

async function serve(o: NodeAgentOptions, nonces: NonceCache, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') throw new AppError('method_not_allowed', 'POST only', { field: 'method' });
  const auth = req.headers.authorization;
  const prefix = 'Warren-Node ';
  if (typeof auth !== 'string' || !auth.startsWith(prefix)) throw new AppError('unauthorized', 'A node token is required', { field: AUTH_FIELD });
  const raw = await readCapped(requestChunks(req), req.headers['content-length'], MAX_BODY);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError('bad_request', 'The body is not JSON', { field: 'body' });
  }
  const parsed = bodySchema.safeParse(json);
  if (!parsed.success) throw new AppError('validation_error', 'The body is not an agent call', { field: String(parsed.error.issues[0]?.path.join('.') ?? 'body') });
  const call = parsed.data;
  const verified = o.verifier.verify(auth.slice(prefix.length).trim(), { nodeId: o.nodeId, target: agentTarget(call.workspaceId, call.method, call.path) });
  const refused = !verified.ok ? verified.reason : verified.claims.purpose !== 'api' ? 'wrong_purpose'
    : !nonces.claim(verified.claims.nonce, verified.claims.expiresAt) ? 'replayed' : null;
  if (refused) {
    o.log?.('node agent: token refused', { workspace: call.workspaceId, reason: refused });
    throw new AppError('forbidden', 'The node token does not allow this call', { field: AUTH_FIELD });
  }
  const rec = await o.store.getWorkspace(call.workspaceId);
  if (!rec || rec.nodeId !== o.nodeId) throw new AppError('not_found', `Workspace ${call.workspaceId} does not run on this node`, { field: 'workspaceId' });
  const target: AgentTarget = { ip: rec.ip, port: AGENT_PORT, controlDir: controlDirOf(o.workspacesDir, rec.id) };
  if (!call.stream) {
    sendJson(res, 200, { result: await o.agent.call(target, call.method, call.path, call.body) });
    return;
  }
  const ended = new AbortController();
  res.once('close', () => ended.abort());
  const events = o.agent.stream(target, call.path, ended.signal)[Symbol.asyncIterator]();
  const first = await events.next(); // an error before the first event is still a JSON answer
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  try {
    for (let r = first; !r.done; r = await events.next()) {
      if (!res.write(`${JSON.stringify(r.value)}\n`)) await new Promise((ok) => res.once('drain', ok));
    }
  } catch {
    // The agent's stream ended badly: the replica sees the stream end.
  }
  res.end();
}
