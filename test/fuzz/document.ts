/**
 * The routes the fuzzer drives and the JSON Schemas of their bodies, read from an OpenAPI 3.1
 * document: `GET /openapi.json` when the server serves one, else a provisional document made
 * from the control-plane router's own route table (`app.routes`) with empty schemas. This is
 * the one place that decides where the route list comes from.
 */
import { createControlPlane } from '../../src/control-plane/app.js';

export type JsonSchema = Record<string, unknown>;

export interface FuzzRoute {
  method: string;
  /** OpenAPI style: `/workspace/{id}/stop`. */
  path: string;
  /** Names of the `{param}`s in `path`, in order. */
  params: string[];
  /** The JSON body's schema (`{}` when the document gives none). */
  body: JsonSchema;
  /** Query parameters the document names, with their schemas. */
  query: Array<{ name: string; schema: JsonSchema }>;
}

export interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, any>>;
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

/** Hono's `/images/:name{.+}` and `/x/*` become OpenAPI's `/images/{name}` and `/x/{wildcard}`. */
export function honoToOpenApi(path: string): string {
  return path.replace(/:([A-Za-z_]\w*)(\{[^}]*\})?/g, '{$1}').replace(/\*$/, '{wildcard}');
}

/** A provisional OpenAPI 3.1 document: every route of the control plane's router, empty schemas. */
export function provisionalDocument(): OpenApiDoc {
  // The router is built with a context that answers anything: only its route table is read.
  const anything: any = new Proxy(function () {}, { get: (_t, k) => (k === 'then' ? undefined : anything), apply: () => anything });
  const app = createControlPlane(anything, { networkGateway: '10.0.0.1' });
  const paths: OpenApiDoc['paths'] = {};
  for (const r of app.routes) {
    if (r.method === 'ALL') continue; // middleware
    const p = honoToOpenApi(r.path);
    (paths[p] ??= {})[r.method.toLowerCase()] = { responses: {} };
  }
  return { openapi: '3.1.0', paths };
}

/** The served document when there is one (issue 15 item 4), else the provisional one. */
export async function fuzzDocument(baseUrl: string): Promise<{ doc: OpenApiDoc; source: 'served' | 'provisional' }> {
  try {
    const res = await fetch(`${baseUrl}/openapi.json`, { signal: AbortSignal.timeout(10_000) });
    if (res.ok) {
      const doc = (await res.json()) as OpenApiDoc;
      if (typeof doc.openapi === 'string' && doc.openapi.startsWith('3.') && doc.paths) return { doc, source: 'served' };
    }
  } catch {
    /* no served document: fall back */
  }
  return { doc: provisionalDocument(), source: 'provisional' };
}

function resolveRef(doc: any, schema: any, depth = 0): any {
  if (!schema || typeof schema !== 'object' || depth > 8) return schema ?? {};
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/')) {
    const target = schema.$ref.slice(2).split('/').reduce((o: any, k: string) => o?.[k], doc);
    return resolveRef(doc, target, depth + 1);
  }
  return schema;
}

/**
 * The routes of `doc` under `prefix`-free paths. `include` picks which paths are this caller's
 * (the control plane's, or the runtime API's when one document holds both).
 */
export function routesOf(doc: OpenApiDoc, include: (path: string) => boolean = () => true): FuzzRoute[] {
  const out: FuzzRoute[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!include(path)) continue;
    for (const m of METHODS) {
      const op = item?.[m];
      if (!op) continue;
      const params = [...path.matchAll(/\{([^}]+)\}/g)].map((x) => x[1]!);
      const body = resolveRef(doc, op.requestBody?.content?.['application/json']?.schema) ?? {};
      const query = [...(item.parameters ?? []), ...(op.parameters ?? [])]
        .map((p: any) => resolveRef(doc, p))
        .filter((p: any) => p?.in === 'query')
        .map((p: any) => ({ name: String(p.name), schema: resolveRef(doc, p.schema) ?? {} }));
      out.push({ method: m.toUpperCase(), path, params, body, query });
    }
  }
  return out.sort((a, b) => `${a.method} ${a.path}`.localeCompare(`${b.method} ${b.path}`));
}
