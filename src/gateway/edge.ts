/**
 * Warren's HTTP edge for public access (control-plane.md §8): serves the ports a
 * workspace exposed, on the same listening socket as the control plane.
 *
 * Routing (decided before the gateway and control plane see the request):
 * - Host `<slug>.<publicDomain>` (any port in Host is ignored): the whole request
 *   target goes to the exposure;
 * - path form `/p/<slug>/<rest>` on any host: `/p/<slug>` is stripped, `/<rest>`
 *   (with the query) goes to the exposure — for local use without wildcard DNS.
 *
 * `lookup(slug)` (the domain) answers where a slug goes, null for none (→ 404
 * `not_found`), or throws an AppError (e.g. 409 `workspace_not_running`).
 * Revocation is immediate: `revoke(workspaceId, port)` destroys every exchange in
 * flight for the exposure (responses still streaming, WebSocket tunnels) and its
 * pooled upstream sockets; a request racing with the revocation looks up again.
 */
import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../contract/errors.js';
import { forwardEdgeHttp, forwardEdgeUpgrade, type EdgeHop } from './edge-forward.js';
import { sendWireError, writeSocketError } from './respond.js';
import type { ExchangeObserver, GatewayLog } from './types.js';
import { CutRegistry } from './cuts.js';
import { RelayRoutes } from './relay-routes.js';
import type { Relays, RelayVia } from './relay-client.js';

export interface EdgeTarget {
  workspaceId: string;
  ip: string;
  port: number;
  /** The node relay to reach `ip` through; absent = directly. */
  via?: RelayVia;
}

export interface EdgeOptions {
  lookup(slug: string): Promise<EdgeTarget | null> | EdgeTarget | null;
  /** Hosts `<slug>.<publicDomain>` are the edge's. */
  publicDomain: string;
  /** Give up connecting to the workspace port after this long (ms, default 5000) → 502. */
  connectTimeoutMs?: number;
  log?: GatewayLog;
  /** Exchange accounting for the idle policy. */
  onExchange?: ExchangeObserver;
  /** Node relays, for targets with `via`. */
  relays?: Relays;
}

export interface Edge {
  matches(req: IncomingMessage): boolean;
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Cuts everything in flight for one exposure; returns how many exchanges were cut. */
  revoke(workspaceId: string, port: number): number;
  /** Cuts everything in flight for a workspace (stop, delete). */
  disconnectWorkspace(workspaceId: string): number;
  close(): void;
}

export interface EdgeRoute {
  slug: string;
  /** Request target for the workspace (path + query). */
  path: string;
}

const PATH_FORM = /^\/p\/([^/?#]+)(\/[^?#]*)?(\?.*)?$/;

/** The host name of a Host header, lower-cased, without port; null for IPv6 literals. */
export function hostNameOf(host: string | undefined): string | null {
  if (!host || host.startsWith('[')) return null;
  const colon = host.indexOf(':');
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase().replace(/\.$/, '');
}

/** Which exposure a request addresses, or null when it is not edge traffic. */
export function edgeRoute(req: Pick<IncomingMessage, 'headers' | 'url'>, publicDomain: string): EdgeRoute | null {
  const url = req.url ?? '/';
  const host = hostNameOf(req.headers.host);
  const suffix = `.${publicDomain.toLowerCase()}`;
  if (host && host.endsWith(suffix)) {
    const label = host.slice(0, -suffix.length);
    if (label.length > 0 && !label.includes('.')) return { slug: label, path: url.startsWith('/') ? url : '/' };
  }
  const m = PATH_FORM.exec(url);
  if (m) return { slug: decodeSafe(m[1]!), path: `${m[2] ?? '/'}${m[3] ?? ''}` };
  return null;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const keyOf = (workspaceId: string, port: number) => `${workspaceId}:${port}`;

export function createEdge(opts: EdgeOptions): Edge {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
  /** Open exchanges per exposure key `<workspace>:<port>`. */
  const open = new CutRegistry();
  /** Pooled keep-alive sockets to each exposure, dropped with it. */
  const agents = new Map<string, Agent>();
  /** Bumped on every revoke: a lookup that overlapped one is repeated. */
  let revocations = 0;

  const relayed = new RelayRoutes(opts.relays, 'edge', connectTimeoutMs);

  function agentFor(key: string, via: RelayVia | undefined): Agent {
    let agent = agents.get(key);
    const o = { keepAlive: true, maxFreeSockets: 16 };
    if (!agent) agents.set(key, (agent = via ? relayed.newAgent(via, o) : new Agent(o)));
    return agent;
  }

  function cutKey(key: string): number {
    agents.get(key)?.destroy();
    agents.delete(key);
    return open.cut(key);
  }

  /** The hop for a request, or throws the AppError to answer with. */
  async function hopFor(req: IncomingMessage): Promise<EdgeHop> {
    const route = edgeRoute(req, opts.publicDomain);
    if (!route) throw new AppError('not_found', 'Not an exposed address', { field: 'host' });
    let target: EdgeTarget | null = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const epoch = revocations;
      target = await opts.lookup(route.slug);
      if (epoch === revocations) break;
    }
    if (!target) throw new AppError('not_found', `No exposed port is published as "${route.slug}"`, { field: 'slug' });
    const key = keyOf(target.workspaceId, target.port);
    return {
      workspaceId: target.workspaceId, ip: target.ip, port: target.port, path: route.path,
      agent: agentFor(key, target.via), connectTimeoutMs, log: opts.log,
      open: target.via ? relayed.opener(target.via, target.ip, target.port) : undefined,
      track: open.track(key, opts.onExchange && (() => opts.onExchange!(target!.workspaceId))),
    };
  }

  async function handleRequestAsync(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let hop: EdgeHop;
    try {
      hop = await hopFor(req);
    } catch (err) {
      req.resume();
      sendWireError(res, err, opts.log);
      return;
    }
    if (res.destroyed || req.destroyed) return;
    forwardEdgeHttp(req, res, hop);
  }

  async function handleUpgradeAsync(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    let hop: EdgeHop;
    try {
      hop = await hopFor(req);
    } catch (err) {
      writeSocketError(socket, err);
      return;
    }
    if (socket.destroyed) return;
    forwardEdgeUpgrade(req, socket, head, hop);
  }

  return {
    matches: (req) => edgeRoute(req, opts.publicDomain) !== null,
    handleRequest(req, res) {
      handleRequestAsync(req, res).catch((err) => {
        sendWireError(res, err, opts.log);
      });
    },
    handleUpgrade(req, socket, head) {
      handleUpgradeAsync(req, socket, head).catch((err) => {
        opts.log?.('edge: upgrade failed', { err: String(err) });
        socket.destroy();
      });
    },
    revoke(workspaceId, port) {
      revocations++;
      return cutKey(keyOf(workspaceId, port));
    },
    disconnectWorkspace(workspaceId) {
      revocations++;
      let n = 0;
      const prefix = `${workspaceId}:`;
      for (const key of new Set([...open.keys(), ...agents.keys()])) if (key.startsWith(prefix)) n += cutKey(key);
      return n;
    },
    close() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}
