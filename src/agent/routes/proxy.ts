/**
 * `/proxy…` and `/runtimes/:target/proxy…` (runtime.md §11): reverse proxy to
 * loopback services inside the workspace, for every method and any path depth.
 *
 * The router matches fixed-length patterns, so the proxy claims its prefix by
 * wrapping `router.match`: paths under `/proxy` resolve to one catch-all route;
 * everything else is matched as before. Authentication and the target prefix are
 * still handled by the server, exactly as for any other route. WebSocket upgrades
 * arrive on the server's `upgrade` event and go through `handleProxyUpgrade`.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, isAppError } from '../../contract/errors.js';
import { authenticate, type TokenSource } from '../auth.js';
import type { Router, RouteMatch } from '../http.js';
import { isKnownTarget } from './runtime.js';
import { forwardHttp, forwardUpgrade, writeSocketError } from '../proxy/forward.js';
import { isProxyUrl, resolveProxyTarget } from '../proxy/target.js';

export function registerProxyRoutes(router: Router): void {
  const proxyRoute: RouteMatch = {
    route: {
      method: '*',
      segments: ['proxy'],
      handler: async ({ req, res }) => {
        // Validate before anything is sent: a bad target is a 400/403 envelope.
        const target = resolveProxyTarget(req);
        await forwardHttp(req, res, target);
        return undefined;
      },
    },
    params: {},
  };
  const match = router.match.bind(router);
  router.match = (method: string, path: string): RouteMatch =>
    path === '/proxy' || path.startsWith('/proxy/') ? proxyRoute : match(method, path);
}

const TARGET_PREFIX = /^\/runtimes\/([^/?]+)(?=[/?]|$)/;

/**
 * Handles a WebSocket upgrade when it is for the proxy; returns false (and touches
 * nothing) for any other path so other upgrade handlers can take it. The token may
 * come from `?token=` (the SDK's WebSocket) or `Authorization`.
 */
export function handleProxyUpgrade(tokens: TokenSource, req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
  const url = req.url ?? '/';
  if (!isProxyUrl(url)) return false;
  socket.on('error', () => socket.destroy());
  try {
    const prefixed = TARGET_PREFIX.exec(url);
    if (prefixed && !isKnownTarget(prefixed[1] as string)) {
      throw new AppError('unknown_target', `Unknown runtime target: ${(prefixed[1] as string).slice(0, 64)}`);
    }
    const q = url.indexOf('?');
    authenticate(tokens, req, new URLSearchParams(q === -1 ? '' : url.slice(q + 1)));
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      throw new AppError('bad_request', 'Only WebSocket upgrades are proxied');
    }
    forwardUpgrade(req, socket, head, resolveProxyTarget(req));
  } catch (err) {
    writeSocketError(socket, isAppError(err) ? err : new AppError('server_error', 'Proxy upgrade failed'));
  }
  return true;
}
