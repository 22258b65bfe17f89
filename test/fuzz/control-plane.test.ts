/**
 * Issue 15 item 5: a property-based fuzzer over every control-plane route, driven by the
 * OpenAPI document (test/fuzz/document.ts), with every kind of caller, against a live server
 * holding real workspaces (running and stopped, in two namespaces). Requests go out in small
 * concurrent batches (calls on one workspace overlap, as the hang needed).
 *
 * Properties: no 5xx, no hang (headers within ANSWER_MS), every refusal the envelope with a
 * registered code and status, JSON that parses, the server alive with no uncaught error in
 * its log. Size: FUZZ_RUNS batches of BATCH requests: 1,000 × 10 = 10,000 in CI (97 s on
 * the 2-core machine at a load of 3; 11 min at a load of 19: FUZZ_RUNS=300 then), more with
 * `npm run fuzz` (README); seed FUZZ_SEED (fixed in CI).
 * test/fuzz/regressions.json is replayed first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { fuzzDocument, routesOf, type FuzzRoute } from './document.js';
import { bodyArb, encodeParam, extraHeaders, junkString, queryArb, type Body } from './arbitraries.js';
import { brokenLogLines, judge, send, type FuzzRequest } from './oracle.js';
import { CALLER_KINDS, Fixtures, type CallerKind } from './fixtures.js';
import { isRuntimePath } from '../../src/gateway/paths.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const BATCH = 10;
const SEED = Number(process.env.FUZZ_SEED ?? 15_015);

let server: TestServer;
let fixtures: Fixtures;

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
  fixtures = new Fixtures(server);
  await fixtures.setup();
});
after(async () => {
  await server?.stop();
});

/** A path parameter: a fixture's real value (resolved when sent: fixtures are re-made) or raw text. */
type Param = { fixture: string } | { raw: string; literal: boolean };

/** Real values each parameter name can take, as fixture keys or constants. */
function realValues(name: string, path: string): Param[] {
  const f = (k: string): Param => ({ fixture: k });
  const r = (v: string): Param => ({ raw: v, literal: false });
  if (path.startsWith('/namespaces') || name === 'namespace') return [r('team-a'), r('team-b'), r('default')];
  if (path.startsWith('/tokens')) return [f('tokenId')];
  switch (name) {
    case 'id': return [f('wsA'), f('wsA'), f('wsS'), f('wsB')];
    case 'clientId': return [f('keyId'), r('test-admin')];
    case 'name': return [r('debian-12'), r('node-20'), r('my-image')];
    case 'port': return [r('8080'), r('22'), r('0'), r('65536'), r('9990')];
    case 'version': return [r('v1'), r('latest'), r('1')];
    case 'wid': return [r('w1'), r('web')];
    default: return [r('x.log'), r('app')];
  }
}

function paramArb(name: string, path: string): fc.Arbitrary<Param> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...realValues(name, path)) },
    { weight: 1, arbitrary: fc.tuple(junkString, fc.boolean()).map(([raw, literal]): Param => ({ raw, literal })) },
  );
}

interface Planned { route: FuzzRoute; params: Param[]; query: string; caller: CallerKind; body: Body; headers: Record<string, string> }

function plannedArb(routes: FuzzRoute[]): fc.Arbitrary<Planned> {
  return fc.constantFrom(...routes).chain((route) => fc.record({
    route: fc.constant(route),
    params: fc.tuple(...route.params.map((p) => paramArb(p, route.path))) as fc.Arbitrary<Param[]>,
    query: queryArb(route.query.map((q) => q.name)),
    caller: fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...CALLER_KINDS) }, { weight: 1, arbitrary: fc.constantFrom<CallerKind>('admin', 'namespace', 'workspace') }),
    body: route.method === 'GET' ? fc.oneof({ weight: 9, arbitrary: fc.constant<Body>({}) }, { weight: 1, arbitrary: bodyArb({}) }) : bodyArb(route.body),
    headers: extraHeaders,
  }));
}

function materialize(p: Planned): FuzzRequest {
  let i = 0;
  const path = p.route.path.replace(/\{[^}]+\}/g, () => {
    const param = p.params[i++]!;
    return 'fixture' in param ? encodeURIComponent(fixtures.ids[param.fixture] ?? 'missing') : encodeParam(param.raw, param.literal);
  });
  const headers: Record<string, string> = { ...fixtures.headersOf(p.caller), ...p.headers };
  if (p.body.contentType !== undefined) headers['content-type'] = p.body.contentType;
  // fetch refuses a body on GET/HEAD: those carry theirs only as a declared type.
  const body = p.route.method === 'GET' ? undefined : p.body.raw;
  return { method: p.route.method, target: path + p.query, headers, body, label: `${p.route.method} ${p.route.path} as ${p.caller}` };
}

/** A 2xx on these may have taken a fixture away (the rest are healed every HEAL_EVERY batches). */
const DESTRUCTIVE = /^DELETE \/(workspace\/\{id\}( |\/lifecycle)|namespaces|tokens|api-keys)|^POST \/workspace \b|\/(stop|suspend|pause|rotate|stop-workspaces|restore|disable)\b/;
const mayBreakFixtures = (r: FuzzRequest) => r.method !== 'GET' && DESTRUCTIVE.test(r.label);
const HEAL_EVERY = 25;

interface Finding { request: string; problems: string[] }

/** Time spent per route template (printed: where the run's minutes go). */
const timeByRoute = new Map<string, number>();

async function runOne(req: FuzzRequest, findings: Finding[]): Promise<boolean> {
  try {
    const ans = await send(server.url, req);
    timeByRoute.set(req.label.replace(/ as \w+$/, ''), (timeByRoute.get(req.label.replace(/ as \w+$/, '')) ?? 0) + ans.ms);
    const problems = judge(ans);
    if (problems.length) findings.push({ request: describe(req), problems });
    return ans.status < 300;
  } catch (err) {
    findings.push({ request: describe(req), problems: [(err as Error).message] });
    return false;
  }
}

function describe(r: FuzzRequest): string {
  return JSON.stringify({ label: r.label, method: r.method, target: r.target.slice(0, 300), contentType: r.headers['content-type'], body: r.body?.slice(0, 300) });
}

function assertServerHealthy(): void {
  assert.equal(server.proc.exitCode, null, `the server exited:\n${server.logs.slice(-20).join('\n')}`);
  assert.equal(server.proc.signalCode, null, 'the server was killed');
  assert.deepEqual(brokenLogLines(server.logs), [], 'uncaught errors in the server log');
}

function report(findings: Finding[]): string {
  const byProblem = new Map<string, string[]>();
  for (const f of findings) for (const p of f.problems) {
    const key = p.replace(/\d+ ms/, 'N ms').replace(/ (GET|POST|PUT|PATCH|DELETE) \S+/, '').slice(0, 300);
    (byProblem.get(key) ?? byProblem.set(key, []).get(key)!).push(f.request);
  }
  return [...byProblem].map(([p, reqs]) => `${reqs.length}× ${p}\n   e.g. ${reqs[0]}`).join('\n');
}

test('replayed regressions (test/fuzz/regressions.json)', async () => {
  const cases: any[] = JSON.parse(readFileSync(new URL('./regressions.json', import.meta.url), 'utf8')).controlPlane;
  const findings: Finding[] = [];
  for (const c of cases) {
    const target = String(c.target).replace(/\{(\w+)\}/g, (_m, k) => fixtures.ids[k] ?? k);
    const headers = { ...fixtures.headersOf(c.caller), ...(c.contentType ? { 'content-type': c.contentType } : {}) };
    const reqs = Array.from({ length: c.concurrent ?? 1 }, () => ({ method: c.method, target, headers, body: c.body, label: c.name }));
    // Requests sent alongside (as admin), to recreate a race; only the case's own answers are judged.
    const alongside = (c.with ?? []).map((w: any) => send(server.url, {
      method: w.method, target: String(w.target).replace(/\{(\w+)\}/g, (_m: string, k: string) => fixtures.ids[k] ?? k),
      headers: { ...fixtures.headersOf('admin'), 'content-type': 'application/json' }, body: w.body, label: 'alongside',
    }).catch(() => null));
    const ok = await Promise.all(reqs.map((r) => runOne(r, findings)));
    await Promise.all(alongside);
    if (ok.some(Boolean) || alongside.length) await fixtures.heal();
  }
  assertServerHealthy();
  assert.equal(findings.length, 0, report(findings));
});

test(`${RUNS * BATCH} fuzzed requests across every control-plane route and caller (seed ${SEED})`, { timeout: 60 * 60_000 }, async () => {
  const { doc, source } = await fuzzDocument(server.url);
  const routes = routesOf(doc, (p) => !isRuntimePath(p.replace(/\{[^}]+\}/g, 'x')));
  assert.ok(routes.length > 120, `the ${source} document has ${routes.length} control-plane routes`);
  const findings: Finding[] = [];
  const hits = new Map<string, number>();
  let sent = 0;
  let heals = 0;
  let batches = 0;
  let healMs = 0;
  const started = Date.now();
  await fc.assert(fc.asyncProperty(fc.array(plannedArb(routes), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
    const reqs = batch.map(materialize);
    for (const b of batch) hits.set(`${b.route.method} ${b.route.path}`, (hits.get(`${b.route.method} ${b.route.path}`) ?? 0) + 1);
    const ok = await Promise.all(reqs.map((r) => runOne(r, findings)));
    sent += reqs.length;
    if (reqs.some((r, i) => ok[i] && mayBreakFixtures(r)) || ++batches % HEAL_EVERY === 0) {
      const t = Date.now();
      heals++;
      await fixtures.heal();
      healMs += Date.now() - t;
    }
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) return false; // a crash ends the run
    return true;
  }), { numRuns: RUNS, seed: SEED, endOnFailure: true });
  const missed = routes.filter((r) => !hits.has(`${r.method} ${r.path}`)).map((r) => `${r.method} ${r.path}`);
  console.log(`fuzz: ${sent} requests over ${hits.size}/${routes.length} routes (${source} document), ${findings.length} findings, ${heals} heals (${healMs} ms), ${Math.round((Date.now() - started) / 1000)} s`);
  const slowest = [...timeByRoute].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([r, ms]) => `${r} ${ms} ms`);
  console.log(`fuzz: slowest routes in all: ${slowest.join(', ')}`);
  assertServerHealthy();
  assert.equal(findings.length, 0, report(findings));
  assert.ok(sent >= RUNS * BATCH);
  assert.deepEqual(missed, [], 'routes the fuzzer never reached');
});
