/**
 * AgentControlPort on a control replica (issue 16): a workspace's agent control channel is
 * reached through the node that runs it. The control token lives in the node's
 * `<workspacesDir>/<id>/control`, never on a replica, so the node makes the call with its own
 * AgentControlClient (node API `agent-call` / `agent-stream`: src/node/node-api-inside.ts)
 * and answers the agent's JSON, or relays its SSE payloads as a stream.
 *
 * The port takes an AgentTarget; the composition root gives this one NodeAgentTargets (the
 * target plus the workspace's record: `nodeAgentTarget`), since the node, the token and the
 * request all name the workspace. Errors: the agent's AppErrors as the node threw them
 * (`agent_unreachable`, `workload_not_found`, `not_found`); a lost or silent node is 503
 * `node_lost`; a path the node does not proxy is 403 `forbidden` (a bug here, not a caller's).
 */
import { AppError } from '../contract/errors.js';
import { AGENT_PORT, type AgentControlPort, type AgentTarget } from '../domain/ports.js';
import type { WorkspaceRecord } from '../store/store.js';
import type { NodeCaller } from './node-caller.js';

/** An agent target that also names its workspace (what a replica's port needs). */
export interface NodeAgentTarget extends AgentTarget {
  record: WorkspaceRecord;
}

/** The target for `rec`: its agent address and the record (no control dir here: the node has it). */
export function nodeAgentTarget(rec: WorkspaceRecord): NodeAgentTarget {
  return { ip: rec.ip, port: AGENT_PORT, controlDir: '', record: rec };
}

/** A replica's agent calls wait longer than the node's own (15 s) by the hop. */
export const AGENT_CALL_TIMEOUT_MS = 20_000;
/** The node's AgentControlClient reads at most 32 MiB of JSON; its answer wraps it. */
const MAX_AGENT_ANSWER = 33 * 1024 * 1024;
const STREAM_OPEN_TIMEOUT_MS = 20_000;

export class FleetAgentControl implements AgentControlPort {
  constructor(private readonly nodes: NodeCaller) {}

  async call<T>(target: AgentTarget, method: string, path: string, body?: unknown): Promise<T> {
    const call = { method, path, ...(body !== undefined ? { body } : {}) };
    return await this.nodes.call('agent-call', recordOf(target), { call }, {
      timeoutMs: AGENT_CALL_TIMEOUT_MS, maxAnswerBytes: MAX_AGENT_ANSWER,
    }) as T;
  }

  async *stream(target: AgentTarget, path: string, signal: AbortSignal): AsyncGenerator<Record<string, unknown>> {
    const events = await this.nodes.stream('agent-stream', recordOf(target), { stream: { path } }, signal, STREAM_OPEN_TIMEOUT_MS);
    for await (const e of events) {
      if (e && typeof e === 'object' && !Array.isArray(e)) yield e as Record<string, unknown>;
    }
  }
}

function recordOf(target: AgentTarget): WorkspaceRecord {
  const rec = (target as Partial<NodeAgentTarget>).record;
  if (!rec) throw new AppError('server_error', 'A control replica reaches an agent through its node: the target must name the workspace');
  return rec;
}
