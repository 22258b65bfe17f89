/**
 * The node API's warm-pool ops (src/node/node-api.ts), run by PoolHandoff
 * (src/node/pool-handoff.ts) on the node's pool. Body `{ pool: … }`:
 * - `pool-take` `{ want: { image, imageId } | null }` → `{ ready: { ip, shortId } | null, held: [ip…] }`:
 *   the addresses the pool holds and, for `want`, one ready sandbox taken for a reservation;
 * - `pool-assign` `{ workspaceId, ready }` → null: the stored record `workspaceId` holds it;
 * - `pool-put-back` `{ ready }` → null: its record was not stored.
 * The token's target names `workspaceId` for `pool-assign`, `pool` for the others (the body's
 * hash binds the rest).
 */
import { z } from 'zod';
import { AppError } from '../contract/errors.js';
import type { PoolHandoff } from './pool-handoff.js';

export const NODE_POOL_OPS = ['pool-take', 'pool-assign', 'pool-put-back'] as const;
export type NodePoolOp = (typeof NODE_POOL_OPS)[number];
const POOL_OPS: ReadonlySet<string> = new Set(NODE_POOL_OPS);

export function isPoolOp(op: string): op is NodePoolOp {
  return POOL_OPS.has(op);
}

/** The token target's subject of a pool op. */
export const POOL_SUBJECT = 'pool';

const readySchema = z.object({ ip: z.string().min(1).max(64), shortId: z.string().regex(/^[0-9a-f]{8}$/) });
export const poolBodySchema = z.object({
  pool: z.object({
    want: z.object({ image: z.string().min(1).max(1024), imageId: z.string().max(200).nullable() }).nullable().optional(),
    workspaceId: z.string().min(1).max(60).optional(),
    ready: readySchema.optional(),
  }),
});
export type PoolBody = z.infer<typeof poolBodySchema>;

export function poolSubject(op: NodePoolOp, body: PoolBody): string {
  return op === 'pool-assign' ? body.pool.workspaceId ?? POOL_SUBJECT : POOL_SUBJECT;
}

/** The op's result; a body missing what the op needs is 422 validation_error. */
export async function runPoolOp(handoff: PoolHandoff, op: NodePoolOp, body: PoolBody): Promise<unknown> {
  const { want, workspaceId, ready } = body.pool;
  switch (op) {
    case 'pool-take':
      return handoff.take(want ?? null);
    case 'pool-assign':
      if (!workspaceId) throw missing('pool.workspaceId');
      await handoff.assign(workspaceId, ready ?? failMissing('pool.ready'));
      return null;
    case 'pool-put-back':
      await handoff.putBack(ready ?? failMissing('pool.ready'));
      return null;
  }
}

function missing(field: string): AppError {
  return new AppError('validation_error', 'The body is not a node API pool request', { field });
}

function failMissing(field: string): never {
  throw missing(field);
}
