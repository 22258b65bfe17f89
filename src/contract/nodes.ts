/**
 * The node registry's routes (Warren extension, issue 16; admin only): the node id of the
 * path, and the node object the routes answer (NodeView of src/domain/nodes.ts, as JSON).
 */
import { z } from 'zod';
import { parseWith } from './zod-parse.js';

/** What a node may call itself: what fits a DNS label and a file name, 1–64 characters. */
export const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const nodeIdSchema = z.object({
  id: z.string().regex(NODE_ID, 'id must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit'),
});

/** The `:id` of /nodes/:id; 422 validation_error with field `id` when it cannot be a node id. */
export function parseNodeId(id: string | undefined): string {
  return parseWith(nodeIdSchema, { id: id ?? '' }).id;
}

const resources = { cpus: z.number(), memory_mb: z.number(), disk_mb: z.number() };

/** One node as GET /nodes and GET /nodes/:id answer it. */
export const nodeObject = z.looseObject({
  id: z.string(),
  name: z.string(),
  /** host:port of the node's relay (and node API). */
  address: z.string(),
  /** The node's sandbox subnet (CIDR); '' until a node registered before it was recorded registers again. */
  subnet: z.string(),
  state: z.enum(['ready', 'draining', 'lost']),
  labels: z.record(z.string(), z.string()),
  /** Warren's version on the node. */
  version: z.string(),
  capacity: z.object({ ...resources, max_workspaces: z.number().int() }),
  /** What the node's workspaces hold (archived ones hold nothing). */
  allocated: z.object({ ...resources, workspaces: z.number().int() }),
  heartbeat_at: z.string(),
  heartbeat_age_ms: z.number(),
  registered_at: z.string(),
});
