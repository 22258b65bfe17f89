/**
 * Checks responses against the OpenAPI document (src/contract/api/): the operation is found
 * by the route's Hono pattern (as the response log records it) or, for a runtime call made
 * by a test, by matching its path against the runtime descriptors. A status the document does
 * not list for that operation is a failure, as is a body its schema refuses.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiDocument, openApiPath, RUNTIME_ROUTES } from '../../src/contract/api/openapi.js';

export { responseLogDir } from './response-log.js';

export interface Observed {
  method: string;
  /** Hono pattern of the route that answered; null when no route matched (a 404). */
  route: string | null;
  status: number;
  body: unknown;
}

type Json = Record<string, any>;

/** `/exec/abc` → `/exec/:id` by the runtime descriptors (a `/runtimes/<target>` prefix removed). */
export function runtimeRouteOf(method: string, path: string): string | null {
  const bare = path.split('?')[0]!.replace(/^\/runtimes\/[a-z][a-z0-9_-]{0,63}(?=\/)/, '');
  const params = (p: string) => (p.match(/:|\*/g) ?? []).length;
  const hits = RUNTIME_ROUTES.filter((d) => d.method === method
    && new RegExp(`^${d.path.replace(/:\w+/g, '[^/]+').replace(/\/\*$/, '/.*')}$`).test(bare));
  // a literal segment beats a parameter (`/exec/stream` before `/exec/:id`)
  hits.sort((a, b) => params(a.path) - params(b.path));
  if (hits[0]) return hits[0].path;
  return null;
}

export function contractChecker(): (r: Observed) => string | null {
  const doc = openApiDocument() as Json;
  const ajv = new Ajv2020.default({ strict: false, allErrors: false });
  addFormats.default(ajv);
  ajv.addSchema({ components: doc.components }, 'warren-components');
  const cache = new Map<string, ValidateFunction>();
  const compiled = (schema: unknown): ValidateFunction => {
    const text = JSON.stringify(schema).replaceAll('"#/components/', '"warren-components#/components/');
    let v = cache.get(text);
    if (!v) cache.set(text, (v = ajv.compile(JSON.parse(text))));
    return v;
  };
  const envelope = compiled({ $ref: '#/components/schemas/ErrorEnvelope' });

  return (r) => {
    const what = `${r.method} ${r.route ?? '(no route)'} → ${r.status}`;
    if (r.route === null) {
      if (r.status !== 404 && r.status !== 401 && r.status !== 429) return `${what}: only 404, 401 or 429 answer a path no route has`;
      return envelope(r.body) ? null : `${what}: ${ajv.errorsText(envelope.errors)}`;
    }
    const op = doc.paths[openApiPath(r.route)]?.[r.method.toLowerCase()];
    if (!op) return `${what}: not in the document`;
    const resp = op.responses[String(r.status)];
    if (!resp) return `${what}: status not listed (listed: ${Object.keys(op.responses).join(', ')})`;
    const schema = resp.content?.['application/json']?.schema;
    if (!schema) return `${what}: the document says this status is not JSON`;
    const v = compiled(schema);
    return v(r.body) ? null : `${what}: ${ajv.errorsText(v.errors)} in ${JSON.stringify(r.body).slice(0, 300)}`;
  };
}
