/**
 * The route descriptors (src/contract/api/) and the control-plane router describe the same
 * routes, both ways, with the same callers; the generated document is served public at
 * GET /openapi.json; every schema in it compiles (JSON Schema 2020-12); and the test-only
 * response log records the pattern that answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import Ajv2020 from 'ajv/dist/2020.js';
import { createControlPlane } from './app.js';
import type { RouteAccess } from './scopes.js';
import { responseLog, type ResponseRecord } from './response-log.js';
import { CONTROL_PLANE_ROUTES, openApiDocument, openApiPath, RUNTIME_ROUTES } from '../contract/api/openapi.js';
import { buildRouter } from '../agent/server.js';
import { ERROR_STATUS } from '../contract/errors.js';
import type { Env } from './context.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const anything: any = new Proxy(function () {}, { get: (_t, k) => (k === 'then' ? undefined : anything), apply: () => anything });

function routerTable(): Map<string, RouteAccess | null> {
  const app = createControlPlane(anything, { networkGateway: '10.0.0.1' });
  const table = new Map<string, RouteAccess | null>();
  for (const r of app.routes) {
    if (r.method === 'ALL') continue; // middleware
    const key = `${r.method} ${r.path}`;
    const access = (r.handler as { access?: RouteAccess }).access;
    table.set(key, access ?? table.get(key) ?? null);
  }
  return table;
}

test('every router route has a descriptor and every descriptor a route, with the same callers', () => {
  const routes = routerTable();
  const described = new Map(CONTROL_PLANE_ROUTES.map((d) => [`${d.method} ${d.path}`, d]));
  assert.equal(described.size, CONTROL_PLANE_ROUTES.length, 'a route is described twice');
  const undescribed = [...routes.keys()].filter((k) => !described.has(k));
  const unrouted = [...described.keys()].filter((k) => !routes.has(k));
  assert.deepEqual(undescribed, [], 'routes without a descriptor');
  assert.deepEqual(unrouted, [], 'descriptors without a route');
  for (const [key, access] of routes) {
    const d = described.get(key)!;
    assert.ok(access, `${key} declares no access`);
    assert.deepEqual([...d.callers].sort(), [...access.scopes].sort(), `${key}: callers`);
    if (d.callers.length > 0) assert.equal(d.whileSuspended ?? false, access.whileSuspended, `${key}: whileSuspended`);
  }
});

test('every route of the agent has a runtime descriptor and every runtime descriptor a route', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const router = buildRouter({ tasks: anything, configEnv: {}, bootService: null } as any) as any;
  const agent = new Set<string>((router.routes as Array<{ method: string; segments: string[] }>)
    .filter((r) => r.method !== '*') // the reverse proxy: /proxy/* below
    .map((r) => `${r.method} /${r.segments.join('/')}`));
  // Served outside the router: the WebSocket upgrade (src/agent/ws/live.ts) and the reverse proxy (routes/proxy.ts).
  const outside = new Set(['GET /ws', 'GET /proxy/*']);
  const described = new Set(RUNTIME_ROUTES.map((d) => `${d.method} ${d.path}`));
  assert.deepEqual([...agent].filter((k) => !described.has(k)), [], 'agent routes without a descriptor');
  assert.deepEqual([...described].filter((k) => !agent.has(k) && !outside.has(k)), [], 'descriptors without an agent route');
});

test('the document is OpenAPI 3.1 and every schema in it compiles', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const doc = openApiDocument() as any;
  assert.equal(doc.openapi, '3.1.0');
  const ajv = new Ajv2020.default({ strict: false, allErrors: false });
  ajv.addSchema({ $id: 'warren-components', components: doc.components }, 'warren-components');
  const seen = new Set<string>();
  let compiled = 0;
  const compile = (schema: unknown) => {
    const text = JSON.stringify(schema).replaceAll('"#/components/', '"warren-components#/components/');
    compiled++;
    if (seen.has(text)) return;
    seen.add(text);
    ajv.compile(JSON.parse(text));
  };
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      assert.ok(op.operationId && op.responses, `${method} ${path}`);
      for (const [status, r] of Object.entries<any>(op.responses)) {
        if (Number(status) >= 400) {
          for (const code of r.content['application/json'].schema.properties.code.enum) {
            assert.equal(String(ERROR_STATUS[code as keyof typeof ERROR_STATUS]), status, `${method} ${path}: ${code} is not a ${status}`);
          }
        }
        for (const media of Object.values<any>(r.content ?? {})) compile(media.schema);
      }
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body) compile(body);
    }
  }
  assert.ok(compiled > 200, `compiled ${compiled} schemas`);
});

test('paths are written the OpenAPI way', () => {
  assert.equal(openApiPath('/workspace/:id/archives/:version'), '/workspace/{id}/archives/{version}');
  assert.equal(openApiPath('/images/:name{.+}'), '/images/{name}');
  assert.equal(openApiPath('/workspace/:id/logs/file/*'), '/workspace/{id}/logs/file/{path}');
});

test('GET /openapi.json is public and serves the document', async () => {
  const app = createControlPlane(anything, { networkGateway: '10.0.0.1' });
  const res = await app.request('/openapi.json');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.deepEqual(await res.json(), openApiDocument());
});

test('the response log records the pattern that answered, and is not installed without its variable', async () => {
  assert.equal(responseLog(''), null);
  const dir = mkdtempSync(join(tmpdir(), 'warren-rlog-'));
  try {
    const file = join(dir, 'log.jsonl');
    const app = new Hono<Env>();
    app.use('*', responseLog(file)!);
    app.get('/workspace/:id', (c) => c.json({ success: true, id: c.req.param('id') }));
    app.get('/text', (c) => c.text('plain'));
    await app.request('/workspace/ws_1');
    await app.request('/text');
    await app.request('/nowhere');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ResponseRecord);
    assert.deepEqual(lines, [{ method: 'GET', route: '/workspace/:id', status: 200, body: { success: true, id: 'ws_1' } }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
