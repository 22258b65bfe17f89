/**
 * `waitForTcp` through a node relay: whether a port inside a sandbox on another node accepts
 * connections yet (the edge waking a stopped workspace waits for its application to listen).
 * Each attempt opens one `edge` tunnel (the relay dials the sandbox: 200 once it accepts,
 * 502 while it refuses) and closes it at once.
 */
import type { Relays, RelayVia } from './relay-client.js';
import { waitForTcp } from './probe.js';

const RETRY_DELAY_MS = 200;
const ATTEMPT_TIMEOUT_MS = 2_000;

export async function waitForTcpVia(relays: Relays, via: RelayVia, ip: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const wait = Math.min(ATTEMPT_TIMEOUT_MS, Math.max(1, deadline - Date.now()));
    const socket = await relays.client(via).openTunnel(ip, port, 'edge', wait).catch(() => null);
    if (socket) {
      socket.destroy();
      return true;
    }
    await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
  }
  return false;
}

/** The edge's port probe: through the relay for a sandbox on another node, else directly. */
export function portProbe(relays: Relays | undefined) {
  return (ip: string, port: number, timeoutMs: number, via?: RelayVia): Promise<boolean> =>
    via && relays ? waitForTcpVia(relays, via, ip, port, timeoutMs) : waitForTcp(ip, port, timeoutMs);
}
