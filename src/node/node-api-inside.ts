/**
 * The node API's "inside" ops (issue 16): what a control replica asks a node to read from or
 * tell a workspace on it, where the replica cannot — the agent's control channel needs the
 * control token in `<workspacesDir>/<id>/control`, and the boot log is written on the node.
 *
 * - `agent-call` `{ record, call: { method, path, body? } }` → `{ result }`, the agent's JSON
 *   as the node's own AgentControlClient reads it; its AppErrors (`agent_unreachable`,
 *   `workload_not_found`, `not_found`) cross the hop with their code.
 * - `agent-stream` `{ record, stream: { path } }` → an NDJSON stream of the agent's SSE payloads.
 * - `boot-log` `{ record, log: { action, tail?, name? } }` → `{ result }`: `read` (lines),
 *   `files`, `read-file` (lines or null), `clear` (null), `booting` (boolean).
 * - `boot-log-follow` `{ record, log: { tail } }` → an NDJSON stream of boot lines, ending
 *   when the boot does (at once when none runs).
 *
 * Only the agent paths in src/node/agent-paths.ts pass (403 `forbidden`, `details.field`
 * `call.path`): a node never proxies an arbitrary request to an agent.
 *
 * A streamed answer is `200 application/x-ndjson`, one JSON object a line: `{ "event": … }`
 * per item, `{ "ping": true }` every NODE_STREAM_PING_MS while quiet (so a replica can tell a
 * silent stream from a dead node), and last `{ "end": true }` or `{ "error": { code, message,
 * details } }`. The node stops reading the agent (or following the log) when the replica
 * closes the connection.
 */
import { z } from 'zod';
import { AppError } from '../contract/errors.js';
import type { AgentControlPort, AgentTarget, BootLogPort } from '../domain/ports.js';
import type { WorkspaceRecord } from '../store/store.js';
import { followBootLog } from '../domain/workspace-logs.js';
import { isProxiedAgentCall, isProxiedAgentStream } from './agent-paths.js';

export const NODE_API_INSIDE_OPS = ['agent-call', 'agent-stream', 'boot-log', 'boot-log-follow'] as const;
export type NodeApiInsideOp = (typeof NODE_API_INSIDE_OPS)[number];

export const NODE_STREAM_PING_MS = 15_000;
/** Boot lines a slow replica may fall behind by before the oldest are dropped (a boot writes at most 1000). */
const FOLLOW_QUEUE = 2000;

export const BOOT_LOG_ACTIONS = ['read', 'files', 'read-file', 'clear', 'booting'] as const;
export type BootLogAction = (typeof BOOT_LOG_ACTIONS)[number];

/** The extra body fields of the inside ops (the node API's body schema adds them as optional). */
export const insideBodyFields = {
  call: z.object({
    method: z.enum(['GET', 'PUT', 'POST', 'DELETE']),
    path: z.string().min(1).max(2048),
    body: z.unknown().optional(),
  }).optional(),
  stream: z.object({ path: z.string().min(1).max(2048) }).optional(),
  log: z.object({
    action: z.enum(BOOT_LOG_ACTIONS).optional(),
    tail: z.number().int().min(1).max(100_000).optional(),
    name: z.string().min(1).max(300).optional(),
  }).optional(),
};

export interface InsideBody {
  call?: { method: 'GET' | 'PUT' | 'POST' | 'DELETE'; path: string; body?: unknown } | undefined;
  stream?: { path: string } | undefined;
  log?: { action?: BootLogAction | undefined; tail?: number | undefined; name?: string | undefined } | undefined;
}

/** What the node reads inside its workspaces with (its own agent client, control dirs and boot log). */
export interface NodeInside {
  agent: AgentControlPort;
  /** The agent's address and the control dir holding its token, on this node. */
  target(rec: WorkspaceRecord): AgentTarget;
  /** The node's boot log: the very instance its backend writes (live boots are in memory). */
  bootLog: BootLogPort;
  /**
   * The workspace as the store holds it. Given: agent ops go to the stored address, not the
   * one in the request, so a control token is only ever sent to its own workspace's agent,
   * and a workspace the store places on another node (or no longer has) is refused.
   */
  stored?(workspaceId: string): Promise<WorkspaceRecord | null>;
}

/** A plain answer (`{ result }`) or a stream of events. */
export type InsideAnswer = { result: unknown } | { stream: (signal: AbortSignal) => AsyncIterable<unknown> };

const DEFAULT_TAIL = 100;

export function isInsideOp(op: string): op is NodeApiInsideOp {
  return (NODE_API_INSIDE_OPS as readonly string[]).includes(op);
}

/** Runs one inside op (the token and the record's node were checked by the caller). */
export async function runInside(
  inside: NodeInside | undefined, nodeId: string, op: NodeApiInsideOp, sent: WorkspaceRecord, b: InsideBody,
): Promise<InsideAnswer> {
  if (!inside) throw new AppError('not_implemented', 'This node cannot reach inside its workspaces', { field: 'op' });
  const rec = inside.stored ? await storedOn(inside.stored, nodeId, sent.id) : sent;
  switch (op) {
    case 'agent-call': {
      const c = b.call;
      if (!c) throw new AppError('validation_error', 'agent-call needs a call', { field: 'call' });
      if (!isProxiedAgentCall(c.method, c.path)) throw notProxied('call.path');
      return { result: await inside.agent.call(inside.target(rec), c.method, c.path, c.body) };
    }
    case 'agent-stream': {
      const path = b.stream?.path;
      if (!path) throw new AppError('validation_error', 'agent-stream needs a stream path', { field: 'stream.path' });
      if (!isProxiedAgentStream(path)) throw notProxied('stream.path');
      const target = inside.target(rec);
      return { stream: (signal) => inside.agent.stream(target, path, signal) };
    }
    case 'boot-log':
      return { result: await bootLogAction(inside.bootLog, rec.id, b.log ?? {}) };
    case 'boot-log-follow': {
      const tail = b.log?.tail ?? DEFAULT_TAIL;
      return { stream: (signal) => followBootLog(inside.bootLog, rec.id, tail, signal, FOLLOW_QUEUE, (l) => l) };
    }
  }
}

async function storedOn(stored: NonNullable<NodeInside['stored']>, nodeId: string, id: string): Promise<WorkspaceRecord> {
  const rec = await stored(id);
  if (!rec) throw new AppError('not_found', `Workspace ${id} not found`, { field: 'record.id' });
  if (rec.nodeId !== nodeId) throw new AppError('bad_request', `Workspace ${id} is not placed on this node`, { field: 'record.nodeId' });
  return rec;
}

function notProxied(field: string): AppError {
  return new AppError('forbidden', 'A node proxies only the platform\'s agent control paths', { field });
}

async function bootLogAction(log: BootLogPort, id: string, l: NonNullable<InsideBody['log']>): Promise<unknown> {
  const tail = l.tail ?? DEFAULT_TAIL;
  switch (l.action) {
    case 'read': return log.read(id, tail);
    case 'files': return log.files(id);
    case 'read-file':
      if (!l.name) throw new AppError('validation_error', 'read-file needs a name', { field: 'log.name' });
      return log.readFile(id, l.name);
    case 'clear': await log.clear(id); return null;
    case 'booting': return log.booting(id);
    case undefined: throw new AppError('validation_error', 'boot-log needs an action', { field: 'log.action' });
  }
}
