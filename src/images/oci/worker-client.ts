/**
 * The parent side of the extraction worker thread (src/images/oci/extract-worker.ts). One
 * worker is kept while layers keep coming — starting one costs ~0.1 s (0.3 s from source
 * under tsx), paid once per import instead of once per layer — and ended after IDLE_MS
 * without work. Jobs run one at a time, in call order: unpacking is disk-bound, and two at
 * once would only interleave their writes. A worker that dies (out of its heap, a crash)
 * fails its job and is replaced by the next one. An idle worker never keeps the process up.
 */
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../../contract/errors.js';
import type { ExtractResult, LayerLimits } from './layer-types.js';
import type { WireError, WorkerReply, WorkerRequest } from './extract-worker.js';

const IDLE_MS = 10_000;

/**
 * Heap of the worker: the layer's path map (~300 bytes an entry at most) plus tar-stream's
 * buffers (one header of at most 4 MiB at a time) and headroom.
 */
function heapMbFor(limits: LayerLimits): number {
  return Math.ceil(128 + (limits.maxEntries * 300) / (1024 * 1024));
}

function fromWire(e: WireError): Error {
  if (e.app) {
    const err = new AppError(e.code as ErrorCode, e.message, e.details);
    if (e.cause) Object.defineProperty(err, 'cause', { value: new Error(e.cause), enumerable: false });
    return err;
  }
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}

/**
 * Starts the worker: the built `.js` next to this module. When this module runs from source
 * under tsx (tests, development), Node 20 does not hand tsx's loader on to worker threads, so
 * the worker registers tsx itself before importing the `.ts` entry.
 */
function startWorker(heapMb: number): Worker {
  const options = { resourceLimits: { maxOldGenerationSizeMb: heapMb } };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./extract-worker.js', import.meta.url), options);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL('./extract-worker.ts', import.meta.url).href);
  return new Worker(`import(${tsx}).then((m) => { m.register(); return import(${entry}); })`, { ...options, eval: true });
}

interface Live {
  worker: Worker;
  heapMb: number;
  /** The job in flight: settles it with the worker's reply, or with the worker's death. */
  settle: ((reply: WorkerReply | Error) => void) | null;
}

class ExtractionWorker {
  private live: Live | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private idle: NodeJS.Timeout | null = null;

  /** Runs one extraction in the worker, after the ones already queued. */
  run(request: Omit<WorkerRequest, 'id'>): Promise<ExtractResult> {
    const job = this.queue.then(() => this.runNow(request));
    this.queue = job.catch(() => undefined);
    return job;
  }

  private async runNow(request: Omit<WorkerRequest, 'id'>): Promise<ExtractResult> {
    if (this.idle) clearTimeout(this.idle);
    const live = this.ensure(heapMbFor(request.limits));
    live.worker.ref();
    try {
      const reply = await new Promise<WorkerReply | Error>((resolve) => {
        live.settle = resolve;
        live.worker.postMessage({ ...request, id: 0 } satisfies WorkerRequest);
      });
      if (reply instanceof Error) throw reply;
      if (reply.error) throw fromWire(reply.error);
      return reply.result!;
    } finally {
      live.settle = null;
      if (this.live === live) {
        live.worker.unref();
        this.idle = setTimeout(() => this.stop(live), IDLE_MS).unref();
      }
    }
  }

  /** The live worker if its heap is big enough for these limits; else a new one. */
  private ensure(heapMb: number): Live {
    if (this.live && this.live.heapMb >= heapMb) return this.live;
    if (this.live) this.stop(this.live);
    const live: Live = { worker: startWorker(heapMb), heapMb, settle: null };
    live.worker.on('message', (reply: WorkerReply) => live.settle?.(reply));
    live.worker.on('error', (err) => {
      this.forget(live);
      live.settle?.(err);
    });
    live.worker.on('exit', (code) => {
      this.forget(live);
      live.settle?.(new Error(`the layer extraction worker exited (${code}) without an answer`));
    });
    this.live = live;
    return live;
  }

  private forget(live: Live): void {
    if (this.live === live) this.live = null;
  }

  private stop(live: Live): void {
    this.forget(live);
    void live.worker.terminate();
  }
}

const shared = new ExtractionWorker();

/** Unpacks in the shared extraction worker (see the module contract). */
export function runExtraction(request: Omit<WorkerRequest, 'id'>): Promise<ExtractResult> {
  return shared.run(request);
}
