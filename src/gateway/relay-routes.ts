/**
 * What the gateway, the edge and the jump host use for a target with `via` (the
 * sandbox runs on another node): pooled HTTP connections and upgrade/raw connections
 * that are tunnels through that node's relay (src/gateway/relay-client.ts). Without
 * relays configured such targets fail with reason `ENORELAY` (a 502 of the caller's
 * usual unreachable code), never a direct connection.
 */
import type { Agent, AgentOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { NodePurpose } from '../node/node-tokens.js';
import { Relays, TunnelAgent, viaKey, type RelayVia } from './relay-client.js';

const noRelays = new Relays(() => {
  throw Object.assign(new Error('no node relay is configured'), { code: 'ENORELAY' });
});

export class RelayRoutes {
  private readonly relays: Relays;
  private readonly agents = new Map<string, TunnelAgent>();

  constructor(relays: Relays | undefined, private readonly purpose: NodePurpose, private readonly connectTimeoutMs?: number) {
    this.relays = relays ?? noRelays;
  }

  /** The shared keep-alive agent whose connections tunnel through `via` (pooled per target). */
  agent(via: RelayVia): Agent {
    const key = viaKey(via);
    let agent = this.agents.get(key);
    if (!agent) this.agents.set(key, (agent = new TunnelAgent(this.relays.client(via), this.purpose, { maxFreeSockets: 64 })));
    return agent;
  }

  /** A new agent of its own (the caller destroys it, e.g. the edge per exposure). */
  newAgent(via: RelayVia, opts: AgentOptions): Agent {
    return new TunnelAgent(this.relays.client(via), this.purpose, opts);
  }

  /** Opens one tunnel to ip:port (WebSocket upgrades, SSH channels). */
  open(via: RelayVia, ip: string, port: number): Promise<Socket> {
    return this.relays.client(via).openTunnel(ip, port, this.purpose, this.connectTimeoutMs);
  }

  opener(via: RelayVia, ip: string, port: number): () => Promise<Socket> {
    return () => this.open(via, ip, port);
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
