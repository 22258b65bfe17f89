/**
 * The agent's live session state shared by REST routes and the WebSocket: terminal
 * sessions, file watchers and the /ws hub. One per agent (per AgentDeps object), made
 * on first use so buildRouter and the upgrade handler see the same managers.
 *
 * `handleWsUpgrade` serves `GET /ws` (also under `/runtimes/:target`): the token comes
 * from `Authorization: Bearer` (what the gateway sends) or `?token=` (the SDK); a
 * refused upgrade gets a plain HTTP error with the usual `success:false` body.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../../contract/errors.js';
import { authenticate, requestToken, type TokenSource } from '../auth.js';
import { TerminalManager } from '../terminals/manager.js';
import { WatcherManager } from '../watchers/manager.js';
import { WsHub } from './hub.js';
import { writeSocketError } from '../../contract/json-reply.js';
/** Answers a refused upgrade with the error envelope and closes the socket. */
export const rejectUpgrade = writeSocketError;

/** Largest client→server frame (terminal input, control JSON). */
export const MAX_WS_PAYLOAD = 1024 * 1024;

export interface LiveState {
  terminals: TerminalManager;
  watchers: WatcherManager;
  hub: WsHub;
  close(): void;
}

interface LiveDeps {
  tokens: TokenSource;
  configEnv: () => Record<string, string>;
}

const states = new WeakMap<object, LiveState>();

export function liveStateFor(deps: LiveDeps): LiveState {
  let state = states.get(deps);
  if (!state) {
    const terminals = new TerminalManager(deps.configEnv);
    const watchers = new WatcherManager();
    const hub = new WsHub(terminals, watchers, deps.tokens);
    state = {
      terminals,
      watchers,
      hub,
      close() {
        hub.close();
        terminals.closeAll();
        watchers.closeAll();
      },
    };
    states.set(deps, state);
  }
  return state;
}

type WsServer = import('ws').WebSocketServer;
let wss: WsServer | null = null;

/** `ws` is loaded on first upgrade so the agent serves REST even without it. */
async function wsServer(): Promise<WsServer> {
  if (!wss) {
    const { WebSocketServer } = await import('ws');
    wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_PAYLOAD, perMessageDeflate: false });
  }
  return wss;
}

/**
 * Upgrades an authenticated `/ws` request (path already stripped of the target
 * prefix by the caller) and hands the socket to the hub.
 */
export async function handleWsUpgrade(
  deps: LiveDeps, req: IncomingMessage, socket: Duplex, head: Buffer, path: string, query: URLSearchParams,
): Promise<void> {
  socket.on('error', () => socket.destroy());
  if (path !== '/ws') throw new AppError('not_found', `No WebSocket endpoint at ${path}`);
  authenticate(deps.tokens, req, query);
  const token = requestToken(req, query) as string;
  const server = await wsServer();
  if (socket.destroyed) return;
  server.handleUpgrade(req, socket, head, (ws) => liveStateFor(deps).hub.attach(ws, token));
}

