/** A small `/ws` test client on the `ws` package: collects frames and waits for them. */
import WebSocket from 'ws';

export interface WsProbe {
  ws: WebSocket;
  /** Terminal output so far, per terminal id, as text. */
  output: Map<string, string>;
  /** Parsed JSON text frames so far. */
  messages: Record<string, any>[];
  closed: Promise<{ code: number; reason: string }>;
  waitOutput(id: string, pattern: RegExp, timeoutMs?: number): Promise<string>;
  waitMessage(pred: (m: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  input(id: string, text: string): void;
  close(): void;
}

export async function openWs(url: string, headers: Record<string, string> = {}): Promise<WsProbe> {
  const ws = new WebSocket(url, { headers });
  const output = new Map<string, string>();
  const messages: Record<string, any>[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) {
      if (data.length < 2) return;
      const id = String(data[0]);
      output.set(id, (output.get(id) ?? '') + data.subarray(1).toString('utf8'));
    } else {
      try {
        messages.push(JSON.parse(data.toString('utf8')));
      } catch {
        // ignored like the SDK does
      }
    }
    wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      wake();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  function until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const v = check();
        if (v === undefined) return;
        clearTimeout(timer);
        waiters.delete(attempt);
        resolve(v);
      };
      const timer = setTimeout(() => {
        waiters.delete(attempt);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      waiters.add(attempt);
      attempt();
    });
  }
  return {
    ws,
    output,
    messages,
    closed,
    waitOutput: (id, pattern, timeoutMs = 5000) =>
      until(() => (pattern.test(output.get(id) ?? '') ? (output.get(id) as string) : undefined), timeoutMs, `output ${pattern}`),
    waitMessage: (pred, timeoutMs = 5000) => until(() => messages.find(pred), timeoutMs, 'message'),
    input(id, text) {
      const payload = Buffer.from(text, 'utf8');
      ws.send(Buffer.concat([Buffer.from([Number(id)]), payload]), { binary: true });
    },
    close: () => ws.close(1000, 'client close'),
  };
}

/** Status code of a refused upgrade (or 101 when accepted). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once('error', () => undefined);
  });
}
