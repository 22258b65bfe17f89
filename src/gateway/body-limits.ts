/**
 * How large a request body the gateway relays to a workspace agent, per kind of call
 * (runtime.md; values in src/config/limits.ts). Each cap equals the agent's own for the
 * same call, so a body is refused at the gateway rather than relayed only to be refused
 * behind it: file writes are one JSON body holding the whole content (the client sends a
 * 64 MiB file whole), tar uploads are archives, `/proxy…` reaches the workspace's own app;
 * everything else (exec, exec stdin, terminals, watchers, mkdir, delete, search…) is a
 * small JSON call.
 */
import { BODY_LIMITS } from '../config/limits.js';

/** The cap in bytes for a request to `path` (runtime path, query removed; `/runtimes/<t>` prefix allowed). */
export function runtimeBodyLimit(path: string): number {
  const bare = path.replace(/^\/runtimes\/[^/]+(?=\/|$)/, '').replace(/\/+$/, '');
  if (bare === '/files/write') return BODY_LIMITS.fileWrite;
  if (bare === '/files/transfer/upload') return BODY_LIMITS.tarUpload;
  if (bare === '/proxy' || bare.startsWith('/proxy/')) return BODY_LIMITS.proxy;
  return BODY_LIMITS.runtimeJson;
}
