/**
 * Dockerfile builds on the wire (Warren extension, issue 12): the progress events that
 * `POST /images/build` streams (control-plane SSE dialect: one JSON object per `data:`
 * line, see sse.ts) and that `warren images build` renders, plus the build options a
 * request may carry. The executor (src/images/build) emits exactly these events.
 *
 * Event order: `step_start`/`step_end` for each step in turn (FROM is step 1; `total` counts
 * every instruction after the ARGs before FROM), `log` lines of a RUN between its start and
 * end, `warning`s whenever they arise, then one `done` or one `error`. A cancelled build
 * (the client went away) ends with neither. Messages never carry host paths.
 */
import { z } from 'zod';
import { AppError } from './errors.js';
import { imageNameSchema } from './images.js';
import { parseWith } from './zod-parse.js';

const count = z.number().int().nonnegative();

export const buildImageConfigSchema = z.object({
  env: z.array(z.string()),
  workingDir: z.string().optional(),
  entrypoint: z.array(z.string()).optional(),
  cmd: z.array(z.string()).optional(),
  user: z.string().optional(),
  exposedPorts: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
});

export const buildHistoryEntrySchema = z.object({
  step: count,
  line: count,
  instruction: z.string(),
  layer: z.string().nullable(),
  cached: z.boolean(),
  ms: count,
});

export const buildEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('step_start'), step: count, total: count, line: count, instruction: z.string() }),
  z.object({
    type: z.literal('step_end'),
    step: count,
    total: count,
    instruction: z.string(),
    /** The step's result came from the step cache (config-only steps do no work: never cached). */
    cached: z.boolean(),
    ms: count,
    /** The layer the step added, if any. */
    layer: z.string().nullable(),
  }),
  z.object({ type: z.literal('log'), step: count, text: z.string() }),
  z.object({ type: z.literal('warning'), step: count.optional(), message: z.string() }),
  z.object({
    type: z.literal('done'),
    key: z.string(),
    layers: z.array(z.string()),
    config: buildImageConfigSchema,
    history: z.array(buildHistoryEntrySchema),
    /** HEALTHCHECK, STOPSIGNAL, VOLUME, MAINTAINER and the stage name: recorded, no effect. */
    recorded: z.record(z.string(), z.unknown()),
    warnings: z.array(z.string()),
    ms: count,
    cachedSteps: count,
    totalSteps: count,
    /** Added by the server once the image is stored and named. */
    image: z.object({ id: z.string(), name: z.string() }).optional(),
  }),
  z.object({
    type: z.literal('error'),
    code: z.string(),
    message: z.string(),
    step: count.optional(),
    line: count.optional(),
  }),
]);

export type BuildEvent = z.infer<typeof buildEventSchema>;
export type BuildEventType = BuildEvent['type'];

/** A received event (e.g. a parsed SSE `data:` line), or null when it is not one. */
export function parseBuildEvent(v: unknown): BuildEvent | null {
  const r = buildEventSchema.safeParse(v);
  return r.success ? r.data : null;
}

export interface BuildOptions {
  buildArgs: Record<string, string>;
  network: 'default' | 'none';
  noCache: boolean;
}

const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_BUILD_ARGS = 256;
const MAX_BUILD_ARG_BYTES = 64 * 1024;

function fail(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

/**
 * Build options from a request (`build_args` an object of strings or a list of
 * `NAME=value`, `network` `default`|`none`, `no_cache` a boolean or "true"/"false").
 */
export function parseBuildOptions(body: Record<string, unknown>): BuildOptions {
  return {
    buildArgs: parseBuildArgs(body.build_args),
    network: parseNetwork(body.network),
    noCache: parseFlag(body.no_cache, 'no_cache'),
  };
}

export function parseBuildArgs(v: unknown, field = 'build_args'): Record<string, string> {
  if (v === undefined || v === null) return {};
  const entries: Array<[string, unknown]> = Array.isArray(v)
    ? v.map((s) => (typeof s === 'string' && s.includes('=') ? splitArg(s) : fail(field, `${field} entries are NAME=value`)))
    : typeof v === 'object'
      ? Object.entries(v as Record<string, unknown>)
      : fail(field, `${field} must be an object of NAME: value`);
  const problem = buildArgsProblem(entries);
  if (problem) fail(field, problem);
  return argsObject(entries as Array<[string, string]>);
}

const splitArg = (s: string): [string, string] => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)];

/** The first fault of build args as `[name, value]` pairs (count, then each name and value, in order), or null. */
function buildArgsProblem(entries: ReadonlyArray<readonly [string, unknown]>): string | null {
  if (entries.length > MAX_BUILD_ARGS) return `at most ${MAX_BUILD_ARGS} build args`;
  for (const [name, value] of entries) {
    if (!BUILD_ARG_NAME.test(name)) return `build arg name ${JSON.stringify(name.slice(0, 60))} is not valid`;
    if (typeof value !== 'string') return `build arg ${name} must be a string`;
    if (Buffer.byteLength(value) > MAX_BUILD_ARG_BYTES) return `build arg ${name} is longer than ${MAX_BUILD_ARG_BYTES} bytes`;
  }
  return null;
}

/** Judged pairs → the args object (a later name overrides an earlier one). */
function argsObject(entries: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of entries) out[name] = value;
  return out;
}

function parseNetwork(v: unknown): 'default' | 'none' {
  if (v === undefined || v === null || v === '' || v === 'default') return 'default';
  if (v === 'none') return 'none';
  return fail('network', 'network must be default or none');
}

function parseFlag(v: unknown, field: string): boolean {
  if (v === undefined || v === null || v === false || v === 'false') return false;
  if (v === true || v === 'true') return true;
  return fail(field, `${field} must be a boolean`);
}

/** `POST /images/build` beyond its options: the image's name and the Dockerfile's path in the context. */
export interface BuildRequest {
  name: string;
  /** Context-relative path of the Dockerfile (default `Dockerfile`). */
  dockerfile: string;
  options: BuildOptions;
}

const DOCKERFILE_RULE = 'dockerfile must be a path inside the build context';

/**
 * The query of `POST /images/build`, judged in this order: `dockerfile` (default `Dockerfile`),
 * `name` (required), `network` (`default`|`none`), `no_cache` (`true`|`false`), `build_arg`
 * (repeatable `NAME=value`; every refusal of one names `build_arg`).
 */
export const buildQuerySchema = z.object({
  dockerfile: z.string({ error: DOCKERFILE_RULE }).refine((v) => v !== '' && v.length <= 4096 && !v.includes('\0'), DOCKERFILE_RULE)
    .optional().describe('Dockerfile path in the context, default Dockerfile'),
  name: imageNameSchema.describe('Image name'),
  network: z.enum(['', 'default', 'none'], { error: 'network must be default or none' }).optional().describe('default | none'),
  no_cache: z.enum(['true', 'false'], { error: 'no_cache must be a boolean' }).optional().describe('true | false'),
  build_arg: z.array(z.string()).superRefine((list, ctx) => {
    const unsplit = list.find((s) => !s.includes('='));
    const problem = unsplit !== undefined ? 'build_arg entries are NAME=value' : buildArgsProblem(list.map(splitArg));
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).optional().describe('NAME=value (repeatable)'),
});

/** `buildArgs`: every `build_arg` of the query (`c.req.queries`), since the query object holds only the first. */
export function parseBuildRequest(query: Record<string, string | undefined>, buildArgs: string[]): BuildRequest {
  const b = parseWith(buildQuerySchema, { ...query, build_arg: buildArgs });
  return {
    name: b.name,
    dockerfile: b.dockerfile ?? 'Dockerfile',
    options: { buildArgs: argsObject((b.build_arg ?? []).map(splitArg)), network: b.network === 'none' ? 'none' : 'default', noCache: b.no_cache === 'true' },
  };
}
