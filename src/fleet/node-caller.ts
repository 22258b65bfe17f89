/**
 * How a replica asks the node that runs a workspace for one inside op (src/node/node-api-inside.ts):
 * `assertReachable` first (a lost node → 503 `node_lost` with no round trip), then one node API
 * request with a fresh single-use `api` token bound to the node, the op, the workspace and the body.
 * FleetBackend's apply and observe ops (src/fleet/fleet-backend.ts) and the ports that read
 * inside workspaces (FleetAgentControl, FleetBootLog) all go through it.
 */
import { AppError } from '../contract/errors.js';
import type { NodeRegistry } from '../domain/nodes.js';
import { nodeApiTarget, type NodeApiOp } from '../node/node-api.js';
import type { NodeTokenSigner } from '../node/node-tokens.js';
import type { NodeRecord, WorkspaceRecord } from '../store/store.js';
import { callNode, type NodeAnswer } from './node-api-client.js';
import { openNodeStream } from './node-api-stream-client.js';

export interface NodeCallerOptions {
  registry: Pick<NodeRegistry, 'assertReachable' | 'get'>;
  signer: NodeTokenSigner;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

export interface CallLimits {
  timeoutMs: number;
  maxAnswerBytes?: number;
}

export class NodeCaller {
  constructor(private readonly o: NodeCallerOptions) {}

  /** One op's `result`. */
  async call(op: NodeApiOp, rec: WorkspaceRecord, extra: Record<string, unknown>, limits: CallLimits): Promise<unknown> {
    return (await this.answer(op, rec, extra, limits)).result;
  }

  /** One op's whole answer (`result` and what rides beside it, e.g. bring-up's `imageId`). */
  async answer(op: NodeApiOp, rec: WorkspaceRecord, extra: Record<string, unknown>, limits: CallLimits): Promise<NodeAnswer> {
    const node = await this.nodeOf(rec);
    const payload = Buffer.from(JSON.stringify({ record: rec, ...extra }));
    return callNode({
      nodeId: node.id, address: node.address, op, token: this.token(node, op, rec, payload), payload, ...limits,
    }).catch((err: unknown) => this.noted(err, node, op, rec));
  }

  /** One streamed op's events; opened before this resolves (a refusal rejects it). */
  async stream(op: NodeApiOp, rec: WorkspaceRecord, extra: Record<string, unknown>, signal: AbortSignal, timeoutMs: number): Promise<AsyncIterable<unknown>> {
    const node = await this.nodeOf(rec);
    const payload = Buffer.from(JSON.stringify({ record: rec, ...extra }));
    return openNodeStream({
      nodeId: node.id, address: node.address, op, token: this.token(node, op, rec, payload), payload, timeoutMs, signal,
    }).catch((err: unknown) => this.noted(err, node, op, rec));
  }

  private async nodeOf(rec: WorkspaceRecord): Promise<NodeRecord> {
    if (rec.nodeId === null) {
      throw new AppError('server_error', `Workspace ${rec.id} is not placed on a node; a control replica cannot reach it`);
    }
    await this.o.registry.assertReachable(rec);
    return this.o.registry.get(rec.nodeId);
  }

  /** One request's token: bound to the node, the op, the workspace and the exact body bytes. */
  private token(node: NodeRecord, op: NodeApiOp, rec: WorkspaceRecord, payload: Buffer): string {
    return this.o.signer.sign(node.id, nodeApiTarget(op, rec.id, payload), 'api');
  }

  private noted(err: unknown, node: NodeRecord, op: NodeApiOp, rec: WorkspaceRecord): never {
    if (err instanceof AppError && err.code === 'node_lost') this.o.log?.('fleet: node did not answer', { node: node.id, op, workspace: rec.id });
    throw err;
  }
}
