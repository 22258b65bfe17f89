/**
 * The executor over in-memory ports (pure logic: the real ports are the server's), with
 * a real context directory on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AppError } from '../../contract/errors.js';
import { parseBuildEvent, type BuildEvent } from '../../contract/image-build.js';
import { runBuild } from './executor.js';
import { StepExitError, type AddEntry, type BuildPorts, type BuildState } from './types.js';

const BASE: BuildState = { layers: ['sha256:base'], config: { env: ['PATH=/usr/bin:/bin'], cmd: ['bash'], exposedPorts: [], labels: {} } };

class FakePorts implements BuildPorts {
  readonly cache = new Map<string, BuildState>();
  runs: Array<{ argv: string[]; env: string[]; network: string; workdir?: string; user?: string }> = [];
  adds: Array<{ entries: AddEntry[]; chown?: string }> = [];
  failOn: { argv: string; code: number } | null = null;
  hangOn: string | null = null;
  throwOn: string | null = null;

  async resolveBase(name: string) {
    return name === 'debian-12' ? { key: 'sha256:debian-12-image', state: structuredClone(BASE) } : null;
  }
  async cacheGet(key: string) {
    return this.cache.has(key) ? structuredClone(this.cache.get(key) as BuildState) : null;
  }
  async cachePut(key: string, state: BuildState) {
    this.cache.set(key, structuredClone(state));
  }
  async run(state: BuildState, argv: string[], opts: Parameters<BuildPorts['run']>[2]) {
    this.runs.push({ argv, env: opts.env, network: opts.network, workdir: state.config.workingDir, user: state.config.user });
    const cmd = argv[argv.length - 1] ?? '';
    opts.onLog(`running ${cmd}`);
    if (this.hangOn === cmd) {
      await new Promise((_, reject) => opts.signal.addEventListener('abort', () => reject(new Error('sandbox killed'))));
    }
    if (this.throwOn === cmd) throw new Error('driver exploded at /var/lib/warren/secret-path');
    if (this.failOn?.argv === cmd) throw new StepExitError(this.failOn.code);
    if (cmd === 'true') return null;
    return digest(['run', ...state.layers, ...argv]);
  }
  async addFiles(state: BuildState, entries: AddEntry[], opts: { chown?: string; signal: AbortSignal }) {
    this.adds.push(opts.chown === undefined ? { entries } : { entries, chown: opts.chown });
    return digest(['add', ...state.layers, JSON.stringify(entries)]);
  }
  reset() {
    this.runs = [];
    this.adds = [];
  }
}

function digest(parts: string[]): string {
  return `sha256:${createHash('sha256').update(parts.join('\0')).digest('hex')}`;
}

function context(t: { after: (fn: () => void) => void }, files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-build-exec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

async function build(ports: FakePorts, dockerfile: string, contextDir: string, extra: Partial<Parameters<typeof runBuild>[0]> = {}) {
  const events: BuildEvent[] = [];
  const result = await runBuild({ dockerfile, contextDir, ...extra }, ports, (e) => {
    assert.ok(parseBuildEvent(e), `event matches the contract schema: ${JSON.stringify(e)}`);
    events.push(e);
  });
  return { result, events };
}

const DOCKERFILE = `FROM debian-12
ENV APP=/app
WORKDIR $APP
COPY src/ ./src/
COPY config.json .
RUN make build
CMD ["./app"]
RUN make test
`;
const FILES = { 'src/main.c': 'int main(){}', 'src/util.c': 'util', 'config.json': '{}' };

test('a build runs every step through the ports and reports each one', async (t) => {
  const ports = new FakePorts();
  const ctx = context(t, FILES);
  const { result, events } = await build(ports, DOCKERFILE, ctx);
  assert.equal(ports.runs.length, 2);
  assert.equal(ports.adds.length, 3, 'WORKDIR, two COPYs');
  assert.deepEqual(ports.runs[0], { argv: ['/bin/sh', '-c', 'make build'], env: ['PATH=/usr/bin:/bin', 'APP=/app'], network: 'default', workdir: '/app', user: undefined });
  assert.deepEqual(ports.adds[0], { entries: [{ kind: 'dir', dest: '/app', mode: 0o755 }] });
  assert.deepEqual(ports.adds[1]?.entries, [
    { kind: 'dir', dest: '/app/src', mode: 0o755 },
    { kind: 'file', hostPath: join(ctx, 'src', 'main.c'), dest: '/app/src/main.c', mode: 0o644 },
    { kind: 'file', hostPath: join(ctx, 'src', 'util.c'), dest: '/app/src/util.c', mode: 0o644 },
  ]);
  assert.deepEqual(ports.adds[2]?.entries, [{ kind: 'file', hostPath: join(ctx, 'config.json'), dest: '/app/config.json', mode: 0o644 }]);
  assert.equal(result.state.layers.length, 1 + 5);
  assert.deepEqual(result.state.config, { env: ['PATH=/usr/bin:/bin', 'APP=/app'], cmd: ['./app'], workingDir: '/app', exposedPorts: [], labels: {} });
  assert.equal(result.totalSteps, 8);
  assert.equal(result.cachedSteps, 0);
  const kinds = events.map((e) => (e.type === 'step_start' || e.type === 'step_end' ? `${e.type}:${e.step}` : e.type));
  assert.deepEqual(kinds.slice(0, 4), ['step_start:1', 'step_end:1', 'step_start:2', 'step_end:2']);
  assert.ok(kinds.includes('log'));
  assert.equal(kinds[kinds.length - 1], 'done');
  const done = events[events.length - 1];
  assert.ok(done?.type === 'done');
  assert.deepEqual(done.layers, result.state.layers);
  assert.deepEqual(done.history.map((h) => [h.step, h.line, h.cached, h.layer !== null]), [
    [1, 1, false, false], [2, 2, false, false], [3, 3, false, true], [4, 4, false, true], [5, 5, false, true], [6, 6, false, true], [7, 7, false, false], [8, 8, false, true],
  ]);
});

test('a rebuild with nothing changed makes no run or addFiles call', async (t) => {
  const ports = new FakePorts();
  const ctx = context(t, FILES);
  const first = await build(ports, DOCKERFILE, ctx);
  ports.reset();
  const second = await build(ports, DOCKERFILE, ctx);
  assert.equal(ports.runs.length, 0);
  assert.equal(ports.adds.length, 0);
  assert.deepEqual(second.result.state, first.result.state);
  assert.equal(second.result.key, first.result.key);
  assert.deepEqual(second.result.metadata.history.map((h) => h.cached), [false, false, true, true, true, true, false, true]);
  assert.equal(second.result.cachedSteps, 5);
});

test('a rebuild with the last line changed runs exactly that step', async (t) => {
  const ports = new FakePorts();
  const ctx = context(t, FILES);
  const first = await build(ports, DOCKERFILE, ctx);
  ports.reset();
  const second = await build(ports, DOCKERFILE.replace('RUN make test', 'RUN make check'), ctx);
  assert.deepEqual(ports.runs.map((r) => r.argv[2]), ['make check']);
  assert.equal(ports.adds.length, 0);
  assert.deepEqual(second.result.state.layers.slice(0, -1), first.result.state.layers.slice(0, -1));
  assert.deepEqual(second.result.metadata.history.map((h) => h.cached), [false, false, true, true, true, true, false, false]);
});

test('a changed file under a COPY reruns that COPY and what follows', async (t) => {
  const ports = new FakePorts();
  const ctx = context(t, FILES);
  await build(ports, DOCKERFILE, ctx);
  ports.reset();
  writeFileSync(join(ctx, 'config.json'), '{"changed":true}');
  await build(ports, DOCKERFILE, ctx);
  assert.equal(ports.adds.length, 1, 'only COPY config.json');
  assert.deepEqual(ports.runs.map((r) => r.argv[2]), ['make build', 'make test']);
});

test('--no-cache runs everything again and still stores the results', async (t) => {
  const ports = new FakePorts();
  const ctx = context(t, FILES);
  await build(ports, DOCKERFILE, ctx);
  ports.reset();
  await build(ports, DOCKERFILE, ctx, { noCache: true });
  assert.equal(ports.runs.length, 2);
  assert.equal(ports.adds.length, 3);
});

async function failedBuild(ports: FakePorts, dockerfile: string, ctx: string, extra: Partial<Parameters<typeof runBuild>[0]> = {}) {
  const events: BuildEvent[] = [];
  const err = await runBuild({ dockerfile, contextDir: ctx, ...extra }, ports, (e) => events.push(e)).then(
    () => assert.fail('the build should fail'),
    (e: unknown) => e,
  );
  return { err, events };
}

test('a failing RUN is BUILD_STEP_FAILED naming the step and exit code; it is not cached', async (t) => {
  const ports = new FakePorts();
  const ctx = context(t, FILES);
  ports.failOn = { argv: 'make test', code: 2 };
  const { err, events } = await failedBuild(ports, DOCKERFILE, ctx);
  assert.ok(err instanceof AppError);
  assert.equal(err.code, 'BUILD_STEP_FAILED');
  assert.equal(err.status, 422);
  assert.equal(err.message, 'step 8/8 (RUN make test) failed with exit code 2');
  assert.deepEqual(err.details, { field: 'dockerfile', line: 8, step: 8, exit_code: 2 });
  assert.deepEqual(events[events.length - 1], { type: 'error', code: 'BUILD_STEP_FAILED', message: err.message, step: 8, line: 8 });
  ports.failOn = null;
  ports.reset();
  await build(ports, DOCKERFILE, ctx);
  assert.deepEqual(ports.runs.map((r) => r.argv[2]), ['make test'], 'the steps before were cached, the failed one was not');
});

test('an unknown FROM image is BUILD_BASE_NOT_FOUND (404)', async (t) => {
  const { err, events } = await failedBuild(new FakePorts(), 'FROM nope:1\nRUN x\n', context(t, {}));
  assert.ok(err instanceof AppError);
  assert.equal(err.code, 'BUILD_BASE_NOT_FOUND');
  assert.equal(err.status, 404);
  assert.match(err.message, /nope:1/);
  assert.equal(events[events.length - 1]?.type, 'error');
});

test('a COPY out of the context fails with BUILD_CONTEXT_ESCAPE and no host path', async (t) => {
  const ctx = context(t, FILES);
  const { err, events } = await failedBuild(new FakePorts(), 'FROM debian-12\nCOPY ../../etc/passwd /x\n', ctx);
  assert.ok(err instanceof AppError);
  assert.equal(err.code, 'BUILD_CONTEXT_ESCAPE');
  const last = events[events.length - 1];
  assert.ok(last?.type === 'error' && last.step === 2 && last.line === 2 && !last.message.includes(ctx));
  assert.equal(err.message, 'Dockerfile line 2: COPY/ADD source "../../etc/passwd" is outside the build context');
});

test('an unexpected port error becomes server_error without its text; the cause is kept', async (t) => {
  const ports = new FakePorts();
  ports.throwOn = 'make build';
  const { err, events } = await failedBuild(ports, DOCKERFILE, context(t, FILES));
  assert.ok(err instanceof AppError);
  assert.equal(err.code, 'server_error');
  assert.ok(!err.message.includes('/var/lib'));
  assert.match(String((err as { cause?: unknown }).cause), /driver exploded/);
  const last = events[events.length - 1];
  assert.ok(last?.type === 'error' && !last.message.includes('/var/lib'));
});

test('aborting stops the build at once: the promise rejects, no error or later event is sent', async (t) => {
  const ports = new FakePorts();
  ports.hangOn = 'make build';
  const controller = new AbortController();
  const events: BuildEvent[] = [];
  const started = Date.now();
  const p = runBuild({ dockerfile: DOCKERFILE, contextDir: context(t, FILES), signal: controller.signal }, ports, (e) => {
    events.push(e);
    if (e.type === 'log') setTimeout(() => controller.abort(new Error('client went away')), 20);
  });
  await assert.rejects(p, /client went away/);
  assert.ok(Date.now() - started < 2000);
  const count = events.length;
  assert.ok(!events.some((e) => e.type === 'error' || e.type === 'done'));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(events.length, count);
  assert.equal(ports.runs.length, 1);
});

test('FROM scratch needs no base; RUN --network=none and the build policy reach the port', async (t) => {
  const ports = new FakePorts();
  const ctx = context(t, { bin: 'x' });
  const { result } = await build(ports, 'FROM scratch\nCOPY bin /bin/tool\nRUN --network=none a\nRUN b\n', ctx);
  assert.equal(result.state.layers.length, 3);
  assert.deepEqual(ports.runs.map((r) => r.network), ['none', 'default']);
  ports.reset();
  await build(ports, 'FROM scratch\nRUN c\n', ctx, { network: 'none' });
  assert.deepEqual(ports.runs.map((r) => r.network), ['none']);
});

test('a RUN that changes nothing adds no layer', async (t) => {
  const { result } = await build(new FakePorts(), 'FROM debian-12\nRUN true\n', context(t, {}));
  assert.deepEqual(result.state.layers, BASE.layers);
  assert.equal(result.metadata.history[1]?.layer, null);
});

test('COPY/ADD destinations: file to a path, ADD archives extracted, chown and chmod, WORKDIR as USER', async (t) => {
  const ports = new FakePorts();
  const ctx = context(t, { 'app.conf': 'c', 'vendor.tgz': gzipSync(Buffer.from('not really a tar')), 'a.txt': 'a', 'b.txt': 'b' });
  await build(
    ports,
    'FROM debian-12\nCOPY app.conf /etc/app\nADD vendor.tgz /opt/\nCOPY --chown=1000:1000 --chmod=0600 *.txt /data/\nUSER app\nWORKDIR /home/app\n',
    ctx,
  );
  assert.deepEqual(ports.adds[0]?.entries, [{ kind: 'file', hostPath: join(ctx, 'app.conf'), dest: '/etc/app', destIfDir: '/etc/app/app.conf', mode: 0o644 }]);
  assert.deepEqual(ports.adds[1]?.entries, [{ kind: 'archive', hostPath: join(ctx, 'vendor.tgz'), dest: '/opt' }]);
  assert.deepEqual(ports.adds[2], {
    chown: '1000:1000',
    entries: [
      { kind: 'file', hostPath: join(ctx, 'a.txt'), dest: '/data/a.txt', mode: 0o600 },
      { kind: 'file', hostPath: join(ctx, 'b.txt'), dest: '/data/b.txt', mode: 0o600 },
    ],
  });
  assert.deepEqual(ports.adds[3], { chown: 'app', entries: [{ kind: 'dir', dest: '/home/app', mode: 0o755 }] });
});

test('a wildcard matching several files needs a directory destination', async (t) => {
  const { err } = await failedBuild(new FakePorts(), 'FROM debian-12\nCOPY *.txt /data\n', context(t, { 'a.txt': 'a', 'b.txt': 'b' }));
  assert.ok(err instanceof AppError && err.code === 'DOCKERFILE_INVALID' && err.details?.line === 2);
});

test('warnings are events and part of the result', async (t) => {
  const { result, events } = await build(new FakePorts(), 'FROM debian-12\nVOLUME /data\n', context(t, {}), { buildArgs: { UNUSED: '1' } });
  assert.equal(result.metadata.warnings.length, 2);
  assert.deepEqual(result.metadata.recorded, { volumes: ['/data'] });
  assert.equal(events.filter((e) => e.type === 'warning').length, 2);
});

test('a planning error names its line and no step, before any step runs', async (t) => {
  const ports = new FakePorts();
  const { err, events } = await failedBuild(ports, 'FROM debian-12\nRUN a\nENV X=${BAD\n', context(t, {}));
  assert.ok(err instanceof AppError && err.code === 'DOCKERFILE_INVALID');
  assert.deepEqual(events[events.length - 1], { type: 'error', code: 'DOCKERFILE_INVALID', message: "Dockerfile line 3: syntax error: missing '}'", line: 3 });
  assert.equal(ports.runs.length, 0);
});
