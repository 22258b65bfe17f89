/**
 * The gateway's contract with the domain. The gateway knows nothing about
 * workspaces, tokens or policies: it asks `resolve(token)` where a request goes and
 * forwards it there with the agent's own token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RuntimeRoute } from '../domain/ports.js';
import type { Relays } from './relay-client.js';

/** Where a runtime request goes: declared by the domain, which decides it. */
export type { RuntimeRoute };

/**
 * Maps a caller token (gateway JWT, 30-day workspace token or raw token) to a route.
 * Throws AppError: unauthorized (401), public_access_required (403),
 * runtime_api_disabled (403), workspace_not_running (409), …
 */
export type RouteResolver = (token: string) => Promise<RuntimeRoute>;

export type GatewayLog = (msg: string, fields?: Record<string, unknown>) => void;

export interface GatewayOptions {
  resolve: RouteResolver;
  log?: GatewayLog;
  /** Give up connecting to an agent after this long (ms, default 5000) → 502. */
  connectTimeoutMs?: number;
  /** Called when an exchange with a workspace begins; the returned function when it ends (idle policy). */
  onExchange?: ExchangeObserver;
  /** Largest request body relayed for a path (bytes); default `runtimeBodyLimit` (src/gateway/body-limits.ts). */
  bodyLimit?: (path: string) => number;
  /** Exec requests (POST /exec, /exec/stream): seconds from arrival to the agent's response headers. */
  observeExec?: (seconds: number, status: number) => void;
  /** Node relays, for routes with `via` (the agent runs on another host); none = such routes answer 502. */
  relays?: Relays;
}

/** Exchange accounting for the idle policy: `begin(workspaceId)` returns the end callback. */
export type ExchangeObserver = (workspaceId: string) => () => void;

export interface Gateway {
  /** True for paths of the runtime API (files, exec, terminals, ws, proxy, …). */
  isRuntimePath(pathname: string): boolean;
  /** node:http 'request' handler for runtime paths. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  /** node:http 'upgrade' handler for runtime paths (/ws, /proxy…, /desktop/ws). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Cuts every open forwarded request and tunnel of a workspace (call on token
   * rotation, runtime-API disable, stop). Returns how many were cut.
   */
  disconnectWorkspace(workspaceId: string): number;
  /** Closes pooled upstream connections (server shutdown). */
  close(): void;
}
