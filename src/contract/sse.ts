/**
 * SSE codecs. Two dialects exist on the wire (spec README §8, runtime.md §5.7):
 * - control-plane streams: unnamed events, one compact JSON object per `data: ` line;
 * - runtime exec streams: named events (`event: NAME` then `data: JSON`).
 * Both terminate every event with a blank line and never split a payload over lines.
 */
export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export function sseEvent(name: string, payload: Record<string, unknown>): string {
  if ('event' in payload) throw new Error('SSE payload must not carry an "event" key');
  return `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_HEARTBEAT = ': ping\n\n';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;

/** Reading side: the JSON payloads of an SSE body's `data:` lines, in order (lines that are not JSON are skipped). */
export async function* readSseData(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.startsWith('data: ')) continue;
      try {
        yield JSON.parse(line.slice(6));
      } catch {
        // not JSON: not an event
      }
    }
  }
}
