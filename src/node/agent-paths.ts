/**
 * The agent control paths a node proxies for a control replica (node API `agent-call` and
 * `agent-stream`: src/node/node-api-inside.ts). A node never relays an arbitrary request to
 * an agent: only what the platform's own code calls on a replica — workloads
 * (src/domain/workloads.ts, src/domain/workload-stats.ts) and the agent's log files
 * (src/domain/workspace-logs.ts). SSH settings have their own op (`sync-ssh`); the warm
 * pool's claim and the exit watch's event stream run on the node itself, never proxied.
 *
 * A path is checked whole (with its query): segments are URL-safe tokens, never `.`/`..`,
 * and the query carries only the keys those callers send.
 */

/** One path segment as encodeURIComponent writes a workload id (no `/`, not all dots). */
const SEG = '(?!\\.{1,2}(?:[/?]|$))[A-Za-z0-9._~%-]{1,300}';
const TAIL = '(?:\\?tail=\\d{1,7})?';
const NAME_TAIL = '\\?name=[A-Za-z0-9._~%-]{1,600}(?:&tail=\\d{1,7})?';

const CALLS: ReadonlyArray<readonly [method: string, pattern: RegExp]> = [
  ['GET', /^\/_warren\/workloads$/],
  ['GET', /^\/_warren\/workloads\/stats$/],
  ['GET', new RegExp(`^/_warren/workloads/${SEG}$`)],
  ['PUT', new RegExp(`^/_warren/workloads/${SEG}$`)],
  ['DELETE', new RegExp(`^/_warren/workloads/${SEG}$`)],
  ['POST', new RegExp(`^/_warren/workloads/${SEG}/(?:start|stop)$`)],
  ['GET', new RegExp(`^/_warren/workloads/${SEG}/stats$`)],
  ['GET', new RegExp(`^/_warren/workloads/${SEG}/logs${TAIL}$`)],
  ['GET', new RegExp(`^/_warren/logs/cmd${TAIL}$`)],
  ['GET', /^\/_warren\/logs\/files$/],
  ['GET', new RegExp(`^/_warren/logs/file${NAME_TAIL}$`)],
  ['DELETE', /^\/_warren\/logs$/],
];

const STREAMS: readonly RegExp[] = [
  new RegExp(`^/_warren/workloads/${SEG}/logs/stream${TAIL}$`),
  new RegExp(`^/_warren/logs/cmd/stream${TAIL}$`),
];

/** Whether a replica may have the node make this agent call. */
export function isProxiedAgentCall(method: string, path: string): boolean {
  return CALLS.some(([m, p]) => m === method && p.test(path));
}

/** Whether a replica may have the node open this agent stream (SSE, GET). */
export function isProxiedAgentStream(path: string): boolean {
  return STREAMS.some((p) => p.test(path));
}
