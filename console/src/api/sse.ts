/**
 * Server-sent events with the credential's headers (EventSource cannot send headers, so
 * the console reads the body of a fetch). Yields the JSON payload of each `data:` line;
 * `event:` names are passed along for the runtime's named streams.
 */
import { send, type RequestOptions } from './client.js';

export interface SseMessage {
  event: string | null;
  data: unknown;
}

/** Splits an SSE text stream into messages; pure, so it is tested without a network. */
export class SseParser {
  private buf = '';
  private event: string | null = null;
  private data: string[] = [];

  push(text: string): SseMessage[] {
    this.buf += text;
    const out: SseMessage[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      if (line === '') {
        if (this.data.length) out.push(...this.emit());
        this.event = null;
      } else if (line.startsWith('data:')) {
        this.data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      } else if (line.startsWith('event:')) {
        this.event = line.slice(6).trim();
      }
    }
    return out;
  }

  private emit(): SseMessage[] {
    const raw = this.data.join('\n');
    this.data = [];
    try {
      return [{ event: this.event, data: JSON.parse(raw) }];
    } catch {
      return [];
    }
  }
}

/** The messages of one SSE response body, until it ends (the reader is released either way). */
export async function* sseMessages(res: Response): AsyncGenerator<SseMessage> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/** Opens `path` and yields its events until the server ends the stream or `signal` aborts. */
export async function* streamSse(path: string, opts: RequestOptions = {}): AsyncGenerator<SseMessage> {
  yield* sseMessages(await send('GET', path, opts));
}
