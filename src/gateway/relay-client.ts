/**
 * A replica's client of a node relay (src/node/relay-server.ts): tunnels to a sandbox
 * address on another host, each opened with `CONNECT <ip>:<port>` and a fresh signed
 * node token (`sign`, from the composition root: it holds the cluster key).
 *
 * - `openTunnel(ip, port, purpose)` resolves to the connected socket once the relay
 *   answered 200; bytes the sandbox sent right behind the answer (an sshd banner) are
 *   put back in front of the stream.
 * - `TunnelAgent` is an `http.Agent` whose connections are tunnels, keep-alive and
 *   pooled per target, so the gateway's `relayHttp` runs over it unchanged.
 *
 * Errors carry the codes the gateway already maps when an agent is unreachable
 * (`reason` of `agent_unreachable` / `upstream_unreachable`): `ECONNREFUSED` (the relay
 * or the sandbox refused), `ETIMEDOUT_CONNECT` (no answer in time), `ERELAY_REFUSED`
 * (the relay refused the token or target), `ERELAY_BUSY` (tunnel caps), and `ENODE_DOWN`:
 * the relay itself could not be reached (refused, reset, no route) — the node daemon is
 * down or unreachable, which callers answer as 503 `node_lost` (`nodeDownError`) rather
 * than as an unreachable agent, before the leader has marked the node lost.
 */
import { Agent, request, type AgentOptions, type ClientRequestArgs } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RelayVia } from '../domain/ports.js';
import { AppError } from '../contract/errors.js';
import type { NodePurpose } from '../node/node-tokens.js';

export type { RelayVia };

export interface RelayClientOptions extends RelayVia {
  /** A fresh token for one tunnel to `target` (`ip:port`) on `nodeId`. */
  sign(nodeId: string, target: string, purpose: NodePurpose): string;
  /** Give up when the relay has not answered 200 after this long. Default 5 s. */
  connectTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** The relay (so the node daemon) could not be reached at all. */
export const NODE_DOWN = 'ENODE_DOWN';

/** 503 node_lost for a hop whose relay could not be reached (the node's workspaces may well still run). */
export function nodeDownError(workspaceId: string, nodeId: string | undefined): AppError {
  return new AppError('node_lost', `The node of workspace ${workspaceId} is not reachable; retry once it returns`, {
    workspace_id: workspaceId, ...(nodeId ? { node_id: nodeId } : {}), reason: 'unreachable', retry_after: 5,
  });
}

function relayError(code: string, message: string): NodeJS.ErrnoException {
  const err = new Error(message) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

/** The gateway's reason code for a relay status other than 200. */
export function codeForStatus(status: number): string {
  if (status === 502) return 'ECONNREFUSED';
  if (status === 504) return 'ETIMEDOUT_CONNECT';
  if (status === 429 || status === 503) return 'ERELAY_BUSY';
  return 'ERELAY_REFUSED';
}

export class RelayClient {
  constructor(private readonly o: RelayClientOptions) {}

  get via(): RelayVia {
    return { relayHost: this.o.relayHost, relayPort: this.o.relayPort, nodeId: this.o.nodeId };
  }

  openTunnel(ip: string, port: number, purpose: NodePurpose, timeoutMs = this.o.connectTimeoutMs): Promise<Socket> {
    const target = `${ip}:${port}`;
    return new Promise((resolve, reject) => {
      const req = request({
        host: this.o.relayHost, port: this.o.relayPort, method: 'CONNECT', path: target, agent: false,
        headers: { host: target, 'proxy-authorization': `Warren-Node ${this.o.sign(this.o.nodeId, target, purpose)}` },
      });
      const timer = setTimeout(() => req.destroy(relayError('ETIMEDOUT_CONNECT', 'relay tunnel timeout')),
        timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      req.once('connect', (res, socket: Socket, head: Buffer) => {
        clearTimeout(timer);
        if (res.statusCode !== 200) {
          socket.destroy();
          reject(relayError(codeForStatus(res.statusCode ?? 0), `relay answered ${res.statusCode}`));
          return;
        }
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // A timeout set above keeps its code; any other error is the connection to the relay failing.
        reject(err.code === 'ETIMEDOUT_CONNECT' ? err : relayError(NODE_DOWN, `relay unreachable: ${err.code ?? err.message}`));
      });
      req.end();
    });
  }
}

/**
 * Keep-alive HTTP connections through a relay: each new connection is a tunnel to the
 * request's `host:port` (the sandbox address) opened for `purpose`. Pooling is per
 * target, as with a direct `Agent`.
 */
export class TunnelAgent extends Agent {
  constructor(private readonly relay: RelayClient, private readonly purpose: NodePurpose, opts: AgentOptions = {}) {
    super({ keepAlive: true, ...opts });
  }

  override createConnection(options: ClientRequestArgs, cb: (err: Error | null, socket?: Duplex) => void): undefined {
    const host = options.host ?? 'localhost';
    const port = Number(options.port ?? 80);
    this.relay.openTunnel(host, port, this.purpose).then((s) => cb(null, s), (err: Error) => cb(err));
    return undefined;
  }
}

/** One relay client per node relay, made on first use (the signer is the composition root's). */
export class Relays {
  private readonly clients = new Map<string, RelayClient>();

  constructor(private readonly sign: RelayClientOptions['sign'], private readonly connectTimeoutMs?: number) {}

  client(via: RelayVia): RelayClient {
    const key = viaKey(via);
    let c = this.clients.get(key);
    if (!c) this.clients.set(key, (c = new RelayClient({ ...via, sign: this.sign, connectTimeoutMs: this.connectTimeoutMs })));
    return c;
  }
}

export function viaKey(via: RelayVia): string {
  return `${via.nodeId}@${via.relayHost}:${via.relayPort}`;
}
