/**
 * Readiness probe of a workspace agent: resolves once `GET /health` at ip:port
 * answers 200 with `status: "ok"`, or rejects after `timeoutMs`. Each attempt has
 * its own short deadline so a black-holed address cannot stall the loop.
 */
import { request } from 'node:http';
import { connect } from 'node:net';

const ATTEMPT_TIMEOUT_MS = 1000;
/**
 * Between attempts. An agent that is not listening yet refuses at once (RST over the host's own
 * bridge), so a short pause costs little and the boot waits at most this long after the agent is up.
 */
const RETRY_DELAY_MS = 5;

export async function probeAgent(ip: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no attempt';
  while (Date.now() < deadline) {
    const remaining = deadline - Date.now();
    try {
      if (await healthy(ip, port, Math.min(ATTEMPT_TIMEOUT_MS, remaining))) return;
      lastError = 'unhealthy response';
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, Math.min(RETRY_DELAY_MS, Math.max(0, deadline - Date.now()))));
  }
  throw new Error(`agent at ${ip}:${port} not ready after ${timeoutMs} ms: ${lastError}`);
}

function healthy(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port, path: '/health', method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 4096) body += c;
      });
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 && (JSON.parse(body) as { status?: unknown }).status === 'ok');
        } catch {
          resolve(false);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('probe attempt timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Resolves true once a TCP connection to ip:port succeeds, false after `timeoutMs`. */
export async function waitForTcp(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: ip, port, timeout: Math.min(ATTEMPT_TIMEOUT_MS, Math.max(1, deadline - Date.now())) });
      sock.once('connect', () => { sock.destroy(); resolve(true); });
      sock.once('timeout', () => { sock.destroy(); resolve(false); });
      sock.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
  }
  return false;
}
