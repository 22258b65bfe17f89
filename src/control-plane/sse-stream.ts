/**
 * A control-plane SSE response from an async source (spec README §8): one compact JSON
 * object per `data: ` line, `: ping` comments while idle, LF endings. The source is
 * pulled only as fast as the client reads (backpressure); when the client goes away the
 * signal given to `open` aborts and the source's `finally` blocks run, so every relay,
 * subscription and timer behind it is released. The body ends when the source ends.
 */
import { SSE_HEADERS, SSE_HEARTBEAT, sseData } from '../contract/sse.js';

export const SSE_HEARTBEAT_MS = 15_000;

export function sseResponse(
  open: (signal: AbortSignal) => AsyncIterable<unknown>,
  heartbeatMs = SSE_HEARTBEAT_MS,
): Response {
  const encoder = new TextEncoder();
  const abort = new AbortController();
  let iterator: AsyncIterator<unknown> | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const close = () => {
    clearInterval(heartbeat);
    abort.abort();
    void iterator?.return?.().catch(() => undefined);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(SSE_HEARTBEAT)); // sends the headers now; comments are ignored
      heartbeat = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(SSE_HEARTBEAT));
        } catch {
          clearInterval(heartbeat);
        }
      }, heartbeatMs);
      heartbeat.unref();
      iterator = open(abort.signal)[Symbol.asyncIterator]();
    },
    async pull(controller) {
      try {
        const next = await iterator!.next();
        if (next.done) {
          clearInterval(heartbeat);
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(sseData(next.value)));
      } catch {
        // The source failed mid-stream (agent gone, workspace stopped): end the body cleanly.
        clearInterval(heartbeat);
        abort.abort();
        try {
          controller.close();
        } catch { /* already closed */ }
      }
    },
    cancel: close,
  }, { highWaterMark: 0 });
  return new Response(body, { status: 200, headers: SSE_HEADERS });
}
