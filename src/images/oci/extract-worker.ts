/**
 * Worker-thread entry of extractLayer: unpacks the layer given in workerData and posts back
 * either `{ result }` or `{ error }` — an error as plain data (AppErrors keep code, message
 * and details; other errors their message and errno code), rebuilt by the parent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isAppError } from '../../contract/errors.js';
import { asLayerError } from './refusals.js';
import { unpackLayer } from './unpack.js';
import type { LayerLimits, OciLayer } from './extract.js';

export interface WorkerInput {
  layer: OciLayer;
  destDir: string;
  limits: LayerLimits;
}

export type WireError =
  | { app: true; code: string; message: string; details?: Record<string, unknown>; cause?: string }
  | { app: false; message: string; code?: string };

function toWire(err: unknown): WireError {
  if (isAppError(err)) {
    const cause = (err as { cause?: unknown }).cause;
    return { app: true, code: err.code, message: err.message, details: err.details, ...(cause ? { cause: String((cause as Error).message ?? cause) } : {}) };
  }
  const e = err as NodeJS.ErrnoException;
  return { app: false, message: String(e?.message ?? err), ...(e?.code ? { code: e.code } : {}) };
}

const input = workerData as WorkerInput;
unpackLayer(input.layer, input.destDir, input.limits).then(
  (result) => parentPort!.postMessage({ result }),
  (err: unknown) => parentPort!.postMessage({ error: toWire(asLayerError(err, `Layer ${input.layer.digest.slice(7, 19)}`)) }),
);
