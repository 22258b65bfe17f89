/**
 * A control replica's AgentControlPort (issue 16): calls to a workspace agent's internal API
 * (workloads, log files, SSH settings) go to the node the workspace runs on, which makes
 * them with the control token it keeps (src/server-node-agent.ts). The target names the
 * workspace and its node (`RemoteAgentTarget`, made by `fleetAgentTarget`); a target without
 * a node goes to the local client, as on a single host.
 *
 * Errors: a lost node is 503 `node_lost` before any round trip (the registry); the node's
 * registered error codes come back as they are (agent_unreachable, workload_not_found, …);
 * a node that does not answer, or refuses this replica's token, is `agent_unreachable`, what
 * the gateway already says when an agent cannot be reached.
 */
import { request, type IncomingMessage } from 'node:http';
import { AppError, ERROR_STATUS, type ErrorCode, type ErrorDetails } from './contract/errors.js';
import { AGENT_PORT, type AgentControlPort, type AgentTarget } from './domain/ports.js';
import { controlDirOf } from './domain/sandbox-spec.js';
import type { NodeRegistry } from './domain/nodes.js';
import type { NodeTokenSigner } from './node/node-tokens.js';
import { splitAddress } from './fleet/node-api-client.js';
import { agentTarget, NODE_AGENT_PATH } from './server-node-agent.js';
import type { WorkspaceRecord } from './store/store.js';

const CALL_TIMEOUT_MS = 20_000;
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
const MAX_LINE = 1024 * 1024;

export interface RemoteAgentTarget extends AgentTarget {
  workspaceId: string;
  nodeId: string | null;
}

/** The target of `rec`'s agent, naming its node (the control dir is only used for local targets). */
export function fleetAgentTarget(workspacesDir: string) {
  return (rec: WorkspaceRecord): RemoteAgentTarget => ({
    ip: rec.ip, port: AGENT_PORT, controlDir: controlDirOf(workspacesDir, rec.id), workspaceId: rec.id, nodeId: rec.nodeId,
  });
}

function remoteOf(t: AgentTarget): RemoteAgentTarget | null {
  const r = t as Partial<RemoteAgentTarget>;
  return typeof r.workspaceId === 'string' && typeof r.nodeId === 'string' ? (t as RemoteAgentTarget) : null;
}

const unreachable = () => new AppError('agent_unreachable', 'The workspace agent did not answer');

export interface FleetAgentOptions {
  registry: NodeRegistry;
  signer: NodeTokenSigner;
  /** For targets without a node. */
  local: AgentControlPort;
}

export class FleetAgentControl implements AgentControlPort {
  constructor(private readonly o: FleetAgentOptions) {}

  async call<T>(t: AgentTarget, method: string, path: string, body?: unknown): Promise<T> {
    const remote = remoteOf(t);
    if (!remote) return this.o.local.call<T>(t, method, path, body);
    const res = await this.send(remote, { method, path, body });
    const text = (await readAll(res, MAX_ANSWER_BYTES)).toString('utf8');
    const answer = parse(text);
    if (res.statusCode === 200 && answer && 'result' in answer) return answer.result as T;
    throw errorOf(answer);
  }

  async *stream(t: AgentTarget, path: string, signal: AbortSignal): AsyncGenerator<Record<string, unknown>> {
    const remote = remoteOf(t);
    if (!remote) {
      yield* this.o.local.stream(t, path, signal);
      return;
    }
    const res = await this.send(remote, { method: 'GET', path, stream: true }, signal);
    if (res.statusCode !== 200) throw errorOf(parse((await readAll(res, 64 * 1024)).toString('utf8')));
    res.setTimeout(0);
    res.setEncoding('utf8');
    let buf = '';
    try {
      for await (const chunk of res) {
        buf += chunk as string;
        let start = 0;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n', start)) {
          const event = parse(buf.slice(start, nl));
          start = nl + 1;
          if (event) yield event;
        }
        buf = buf.slice(start);
        if (buf.length > MAX_LINE) buf = '';
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      res.destroy();
    }
  }

  private async send(t: RemoteAgentTarget, call: { method: string; path: string; body?: unknown; stream?: boolean }, signal?: AbortSignal): Promise<IncomingMessage> {
    const nodeId = t.nodeId!;
    await this.o.registry.assertReachable({ id: t.workspaceId, nodeId });
    const at = splitAddress((await this.o.registry.get(nodeId)).address);
    if (!at) throw unreachable();
    const token = this.o.signer.sign(nodeId, agentTarget(t.workspaceId, call.method, call.path), 'api');
    const payload = Buffer.from(JSON.stringify({ workspaceId: t.workspaceId, ...call }));
    return new Promise((resolve, reject) => {
      const req = request({
        host: at.host, port: at.port, method: 'POST', path: NODE_AGENT_PATH, agent: false, signal,
        headers: { authorization: `Warren-Node ${token}`, 'content-type': 'application/json', 'content-length': payload.length },
      }, resolve);
      req.setTimeout(CALL_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
      req.on('error', () => reject(signal?.aborted ? new AppError('service_unavailable', 'Request ended') : unreachable()));
      req.end(payload);
    });
  }
}

async function readAll(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw unreachable();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parse(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The node's error as this replica throws it: its registered code, else agent_unreachable. */
function errorOf(answer: Record<string, unknown> | null): AppError {
  const e = (answer?.error && typeof answer.error === 'object' ? answer.error : {}) as Record<string, unknown>;
  const code = typeof e.code === 'string' && Object.hasOwn(ERROR_STATUS, e.code) ? (e.code as ErrorCode) : null;
  const details = (e.details && typeof e.details === 'object' ? e.details : {}) as ErrorDetails;
  if (!code || code === 'server_error' || details.field === 'authorization') return unreachable();
  return new AppError(code, typeof e.message === 'string' ? e.message : 'The workspace agent refused', Object.keys(details).length ? details : undefined);
}
