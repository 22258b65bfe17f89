/**
 * The OpenAPI 3.1 document of Warren, generated from the route descriptors (the one source
 * of truth; nothing here is written by hand but the envelope and the auth schemes). Request
 * and success schemas are the descriptors' zod schemas through `z.toJSONSchema` (JSON Schema
 * 2020-12, which OpenAPI 3.1 uses); every error status lists the registered codes the route
 * can answer with it, as an enum on `code`.
 */
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import { errorCodesOf, type BodyKind, type RouteDescriptor } from './descriptor.js';
import { WORKSPACE_ROUTES } from './routes-workspaces.js';
import { PLATFORM_ROUTES } from './routes-platform.js';
import { RUNTIME_ROUTES } from './routes-runtime.js';

export const CONTROL_PLANE_ROUTES: readonly RouteDescriptor[] = [...WORKSPACE_ROUTES, ...PLATFORM_ROUTES];
export { RUNTIME_ROUTES };
export const ALL_ROUTES: readonly RouteDescriptor[] = [...CONTROL_PLANE_ROUTES, ...RUNTIME_ROUTES];

type Json = Record<string, unknown>;

/** `/workspace/:id`, `/images/:name{.+}`, `/…/file/*` → `/workspace/{id}`, `/images/{name}`, `/…/file/{path}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z_]\w*)(\{[^}]*\})?/g, '{$1}').replace(/\/\*$/, '/{path}');
}

function pathParams(honoPath: string): string[] {
  return [...openApiPath(honoPath).matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
}

function schemaOf(s: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  return rest;
}

const MEDIA: Record<BodyKind, string> = {
  json: 'application/json', sse: 'text/event-stream', ndjson: 'application/x-ndjson',
  binary: 'application/octet-stream', text: 'text/plain', websocket: 'application/octet-stream',
};

function successResponse(r: z.ZodType | BodyKind): Json {
  if (typeof r === 'string') {
    const description = r === 'websocket' ? 'Switching protocols: a WebSocket' : `A ${r} body`;
    return r === 'websocket' ? { description } : { description, content: { [MEDIA[r]]: { schema: { type: 'string' } } } };
  }
  return { description: 'Success', content: { 'application/json': { schema: schemaOf(r, 'output') } } };
}

/** One response per error status, its `code` limited to the codes of that status the route can answer. */
function errorResponses(d: RouteDescriptor): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(d)) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Json> = {};
  for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    codes.sort();
    out[String(status)] = {
      description: `Error: ${codes.join(', ')}`,
      content: {
        'application/json': {
          schema: {
            allOf: [{ $ref: '#/components/schemas/ErrorEnvelope' }],
            properties: { code: { enum: codes }, error: { enum: codes } },
          },
        },
      },
    };
  }
  return out;
}

function requestBody(d: RouteDescriptor): Json | undefined {
  if (d.bodyKind === 'tar') return { required: true, content: { 'application/x-tar': { schema: { type: 'string', format: 'binary' } } } };
  if (d.bodyKind === 'binary') return { content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
  if (!d.body) return undefined;
  return { content: { 'application/json': { schema: schemaOf(d.body, 'input') } } };
}

/**
 * A query parameter's own rules (an enum, a pattern, a range) as its route's parser holds them;
 * a rule JSON Schema cannot state leaves the parameter a plain string (the parser still judges it).
 */
function querySchema(s: z.ZodType): Json {
  try {
    const { description: _d, ...rest } = schemaOf(s, 'input');
    return Object.keys(rest).length > 0 ? rest : { type: 'string' };
  } catch {
    return { type: 'string' };
  }
}

function parameters(d: RouteDescriptor): Json[] {
  const params: Json[] = pathParams(d.path).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
  for (const [name, s] of Object.entries(d.query?.shape ?? {})) {
    const description = (s as z.ZodType).description;
    params.push({ name, in: 'query', required: false, schema: querySchema(s as z.ZodType), ...(description ? { description } : {}) });
  }
  return params;
}

function security(d: RouteDescriptor): Json[] {
  if (d.callers.length === 0) return [];
  if (d.api === 'runtime') return [{ bearer: [] }, { runtimeToken: [] }];
  return [{ clientId: [], clientSecret: [] }, { bearer: [] }];
}

function operation(d: RouteDescriptor): Json {
  const responses: Record<string, Json> = {};
  for (const [status, r] of Object.entries(d.responses)) responses[status] = successResponse(r);
  Object.assign(responses, errorResponses(d));
  const body = requestBody(d);
  return {
    operationId: `${d.method.toLowerCase()}${openApiPath(d.path).replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: d.summary,
    tags: [d.api],
    security: security(d),
    'x-callers': d.callers,
    ...(d.whileSuspended ? { 'x-while-suspended': true } : {}),
    'x-error-codes': errorCodesOf(d).sort(),
    parameters: parameters(d),
    ...(body ? { requestBody: body } : {}),
    responses,
  };
}

const ERROR_ENVELOPE: Json = {
  type: 'object',
  description: 'Every error, control plane and runtime alike (spec README §4.1). Clients match on `code` and `details.field`.',
  required: ['success', 'error', 'code', 'message'],
  properties: {
    success: { const: false },
    error: { type: 'string', enum: Object.keys(ERROR_STATUS) },
    code: { type: 'string', enum: Object.keys(ERROR_STATUS) },
    message: { type: 'string' },
    details: { type: 'object', properties: { field: { type: 'string' } } },
    request_id: { type: 'string' },
  },
};

function build(): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const d of ALL_ROUTES) {
    const item = (paths[openApiPath(d.path)] ??= {});
    item[d.method.toLowerCase()] = operation(d);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Warren',
      version: '1',
      description: 'Self-hosted workspaces, wire-compatible with oblien@2.4.0. Tag `control-plane`: the API host. '
        + 'Tag `runtime`: the in-workspace API through the gateway on the same origin (also under /runtimes/{target}/…).',
    },
    paths,
    components: {
      schemas: { ErrorEnvelope: ERROR_ENVELOPE },
      securitySchemes: {
        clientId: { type: 'apiKey', in: 'header', name: 'X-Client-ID' },
        clientSecret: { type: 'apiKey', in: 'header', name: 'X-Client-Secret' },
        bearer: { type: 'http', scheme: 'bearer', description: 'A scoped JWT (POST /tokens) or, on runtime routes, a runtime token' },
        runtimeToken: { type: 'apiKey', in: 'query', name: 'token' },
      },
    },
    tags: [{ name: 'control-plane' }, { name: 'runtime' }],
  };
}

let cached: Json | null = null;
let cachedText: string | null = null;

/** The document, built once per process. */
export function openApiDocument(): Json {
  cached ??= build();
  return cached;
}

/** The document as served (`GET /openapi.json`), serialised once. */
export function openApiText(): string {
  cachedText ??= JSON.stringify(openApiDocument());
  return cachedText;
}
