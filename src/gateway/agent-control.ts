/**
 * The host's client of a workspace agent's internal API (`/_warren/*`: workloads and
 * log files), authenticated with the control token the host keeps in the workspace's
 * control directory. The agent runs code we do not trust: its answers are size-capped,
 * only known error codes pass through (with our own messages), and nothing it says
 * reaches a client as an internal error.
 */
import { request, Agent, type IncomingMessage } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, type ErrorCode } from '../contract/errors.js';
import type { AgentControlPort, AgentTarget } from '../domain/ports.js';

const CALL_TIMEOUT_MS = 15_000;
const MAX_JSON_BYTES = 32 * 1024 * 1024;
const MAX_SSE_LINE = 1024 * 1024;
/** Agent error codes relayed to clients; anything else is `agent_unreachable`. */
const RELAYED: Partial<Record<string, { code: ErrorCode; message: string }>> = {
  workload_not_found: { code: 'workload_not_found', message: 'Workload not found' },
  not_found: { code: 'not_found', message: 'Not found' },
};

export const CONTROL_TOKEN_FILE = 'control-token';

function unreachable(): AppError {
  return new AppError('agent_unreachable', 'The workspace agent did not answer');
}

export class AgentControlClient implements AgentControlPort {
  private readonly http = new Agent({ keepAlive: true, maxFreeSockets: 2, timeout: 60_000 });

  async call<T>(t: AgentTarget, method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(t, method, path, body, CALL_TIMEOUT_MS);
    const text = await readCapped(res, MAX_JSON_BYTES);
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw unreachable();
    }
    if (res.statusCode !== undefined && res.statusCode >= 400) throw relayError(parsed);
    return parsed as T;
  }

  async *stream(t: AgentTarget, path: string, signal: AbortSignal): AsyncGenerator<Record<string, unknown>> {
    const res = await this.send(t, 'GET', path, undefined, CALL_TIMEOUT_MS, signal);
    if (res.statusCode !== 200) {
      const text = await readCapped(res, 64 * 1024).catch(() => '');
      let parsed: unknown = {};
      try {
        parsed = JSON.parse(text);
      } catch { /* not JSON */ }
      throw relayError(parsed);
    }
    res.setTimeout(0);
    let buf = '';
    res.setEncoding('utf8');
    try {
      for await (const chunk of res) {
        buf += chunk as string;
        // Scan with an index and cut the buffer once per chunk (not once per line).
        let start = 0;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n', start)) {
          const event = parseDataLine(buf.slice(start, nl));
          start = nl + 1;
          if (event) yield event;
        }
        buf = buf.slice(start);
        if (buf.length > MAX_SSE_LINE) buf = ''; // a line that never ends is dropped, not buffered
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      res.destroy();
    }
  }

  private async send(
    t: AgentTarget, method: string, path: string, body: unknown, timeoutMs: number, signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const token = await controlToken(t.controlDir);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request({
        host: t.ip, port: t.port, method, path, agent: this.http, signal,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json, text/event-stream',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      }, resolve);
      req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
      req.on('error', () => reject(signal?.aborted ? new AppError('service_unavailable', 'Request ended') : unreachable()));
      req.end(payload);
    });
  }
}

async function controlToken(controlDir: string): Promise<string> {
  try {
    return (await readFile(join(controlDir, CONTROL_TOKEN_FILE), 'utf8')).trim();
  } catch {
    throw unreachable();
  }
}

function parseDataLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('data: ')) return null;
  try {
    const v = JSON.parse(line.slice(6)) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function relayError(body: unknown): AppError {
  const code = body && typeof body === 'object' ? (body as { code?: unknown }).code : undefined;
  const known = typeof code === 'string' ? RELAYED[code] : undefined;
  return known ? new AppError(known.code, known.message) : unreachable();
}

async function readCapped(res: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > max) {
      res.destroy();
      throw unreachable();
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
