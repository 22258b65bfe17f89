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
import { parseImageName } from './images.js';

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
    ? v.map((s) => {
        if (typeof s !== 'string' || !s.includes('=')) fail(field, `${field} entries are NAME=value`);
        return [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)];
      })
    : typeof v === 'object'
      ? Object.entries(v as Record<string, unknown>)
      : fail(field, `${field} must be an object of NAME: value`);
  if (entries.length > MAX_BUILD_ARGS) fail(field, `at most ${MAX_BUILD_ARGS} build args`);
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!BUILD_ARG_NAME.test(name)) fail(field, `build arg name ${JSON.stringify(name.slice(0, 60))} is not valid`);
    if (typeof value !== 'string') fail(field, `build arg ${name} must be a string`);
    if (Buffer.byteLength(value) > MAX_BUILD_ARG_BYTES) fail(field, `build arg ${name} is longer than ${MAX_BUILD_ARG_BYTES} bytes`);
    out[name] = value;
  }
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

/**
 * The query of `POST /images/build`: `name` (required), `dockerfile`, `build_arg`
 * (repeatable `NAME=value`), `network` (`default`|`none`), `no_cache` (`true`|`false`).
 */
export function parseBuildRequest(query: Record<string, string | undefined>, buildArgs: string[]): BuildRequest {
  const dockerfile = query.dockerfile ?? 'Dockerfile';
  if (dockerfile === '' || dockerfile.length > 4096 || dockerfile.includes('\0')) {
    fail('dockerfile', 'dockerfile must be a path inside the build context');
  }
  return {
    name: parseImageName(query.name),
    dockerfile,
    options: { ...parseBuildOptions({ network: query.network, no_cache: query.no_cache }), buildArgs: parseBuildArgs(buildArgs, 'build_arg') },
  };
}
