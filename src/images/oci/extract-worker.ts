/**
 * Worker-thread entry of extractLayer (started by src/images/oci/worker-client.ts): unpacks
 * each layer it is sent, one at a time, and replies `{ id, result }` or `{ id, error }` — an
 * error as plain data (AppErrors keep code, message and details; other errors their message
 * and errno code), rebuilt by the parent.
 */
import { parentPort } from 'node:worker_threads';
import { isAppError } from '../../contract/errors.js';
import { asLayerError } from './refusals.js';
import { unpackLayer } from './unpack.js';
import type { ExtractResult, LayerLimits, OciLayer } from './layer-types.js';

export interface WorkerRequest {
  id: number;
  layer: OciLayer;
  destDir: string;
  limits: LayerLimits;
}

export type WireError =
  | { app: true; code: string; message: string; details?: Record<string, unknown>; cause?: string }
  | { app: false; message: string; code?: string };

export interface WorkerReply {
  id: number;
  result?: ExtractResult;
  error?: WireError;
}

function toWire(err: unknown): WireError {
  if (isAppError(err)) {
    const cause = (err as { cause?: unknown }).cause;
    return { app: true, code: err.code, message: err.message, details: err.details, ...(cause ? { cause: String((cause as Error).message ?? cause) } : {}) };
  }
  const e = err as NodeJS.ErrnoException;
  return { app: false, message: String(e?.message ?? err), ...(e?.code ? { code: e.code } : {}) };
}

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  try {
    return { id: req.id, result: await unpackLayer(req.layer, req.destDir, req.limits) };
  } catch (err) {
    return { id: req.id, error: toWire(asLayerError(err, `Layer ${req.layer.digest.slice(7, 19)}`)) };
  }
}

parentPort!.on('message', (req: WorkerRequest) => {
  void handle(req).then((reply) => parentPort!.postMessage(reply));
});
