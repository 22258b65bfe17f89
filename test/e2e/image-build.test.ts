/**
 * Dockerfile builds with the real server and real sandboxes (issue 12, item 3):
 * POST /images/build streams a build whose RUN steps execute in temporary workspaces and
 * whose COPY/WORKDIR layers are written on the host; the image is used by the official
 * client; the step cache reruns only what changed; failures, escapes and `--network none`
 * behave; no temporary workspace or half image outlives a build, an abort or a kill -9;
 * the CLI prints one line per step when not on a terminal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, CLI, api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages, testImageStore } from '../support/images.js';
import { adminClient, openRuntime, until, type Client } from '../support/workspaces.js';
import { build, cachedSteps, contextDir, doneOf, type BuildOutcome } from '../support/builds.js';
import { HOLD_LABEL } from '../../src/images/build-holds.js';

let server: TestServer;
let client: Client;
const tag = randomBytes(3).toString('hex');
const made = new Set<string>();
const name = (what: string) => {
  const n = `test/build-${what}-${tag}:1`;
  made.add(n);
  return n;
};

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer({ env: { WARREN_RATE_LIMIT: '0' } });
  client = adminClient(server);
});
after(async () => {
  for (const w of (await api(server, 'GET', '/workspace?limit=100')).body?.workspaces ?? []) await api(server, 'DELETE', `/workspace/${w.id}`);
  for (const n of made) await api(server, 'DELETE', `/images/${n}`);
  await server?.stop();
});

/** The temporary workspaces builds have right now. */
async function buildWorkspaces(): Promise<string[]> {
  const list = (await api(server, 'GET', '/workspace?limit=100')).body?.workspaces ?? [];
  return list.filter((w: any) => w.metadata?.['warren.build'] !== undefined).map((w: any) => w.id);
}

/** Hold records of the server process `pid` (a build's layers kept while it runs). */
async function holdsOf(pid: number): Promise<string[]> {
  const recs = await testImageStore().layers.images();
  return recs.filter((r) => String(r.config.labels?.[HOLD_LABEL] ?? '').startsWith(`${pid}:`)).map((r) => r.id);
}

function logs(o: BuildOutcome, step?: number): string[] {
  return o.events.flatMap((e) => (e.type === 'log' && (step === undefined || e.step === step) ? [e.text] : []));
}

function errorOf(o: BuildOutcome) {
  const e = o.events.find((x) => x.type === 'error');
  assert.ok(e && e.type === 'error', `expected an error event: ${JSON.stringify(o.body ?? o.events.slice(-5))}`);
  return e;
}

async function listed(n: string): Promise<boolean> {
  const images = (await api(server, 'GET', '/workspace/images')).body?.images ?? [];
  return images.some((i: any) => i.id === n);
}

test('RUN, COPY, ENV, WORKDIR, USER and CMD build an image a workspace runs with the official client', { timeout: 180_000 }, async () => {
  const ctx = contextDir({
    Dockerfile: [
      'FROM debian-12',
      'ARG GREETING=hello',
      // (useradd needs CAP_CHOWN, which workspaces do not have)
      'RUN echo app:x:1234:1234::/home/app:/bin/sh >> /etc/passwd && echo app:x:1234: >> /etc/group'
        + ' && mkdir -p /home/app /opt/tool && chmod 777 /home/app && echo "$GREETING from run" > /opt/tool/run.txt',
      'COPY --chown=app app/ /srv/app/',
      'COPY start.sh /bin/warren-start.sh',
      'ENV MODE=production',
      'WORKDIR /srv/app',
      'USER app',
      'RUN id -u > /home/app/uid && pwd > /home/app/pwd && echo "mode=$MODE greeting=$GREETING"',
      'CMD ["/bin/sh", "/bin/warren-start.sh"]',
    ].join('\n'),
    'app/hello.txt': `hi from the context ${tag}\n`,
    'start.sh': 'echo "$MODE $(pwd) $(id -u) $(cat hello.txt)" > /tmp/cmd.out\nexec sleep 600\n',
  });
  try {
    const o = await build(server, ctx.dir, { name: name('full'), buildArgs: ['GREETING=hey'] });
    const done = doneOf(o);
    assert.equal(done.image?.name, name('full'));
    assert.ok(logs(o, 9).includes('mode=production greeting=hey'), `RUN sees ENV and the build arg: ${logs(o).join(' | ')}`);
    assert.equal(done.config.user, 'app');
    assert.equal(done.config.workingDir, '/srv/app');
    assert.deepEqual(done.config.cmd, ['/bin/sh', '/bin/warren-start.sh']);
    assert.ok(done.config.env.includes('MODE=production'));
    assert.ok(!done.config.env.some((e) => e.startsWith('GREETING=')), 'build args stay out of the image');
    for (const layer of done.layers.slice(1)) {
      const dir = testImageStore().layers.layerDir(layer);
      assert.equal(existsSync(join(dir, '.warren')), false, 'the sandbox mount point is not in a layer');
      const resolv = join(dir, 'etc/resolv.conf');
      if (existsSync(resolv)) assert.doesNotMatch(readFileSync(resolv, 'utf8'), /Written by Warren/);
    }
    assert.ok((await listed(name('full'))), 'the image is listed');

    const ws = await client.workspaces.create({ image: name('full'), memory_mb: 256 });
    const rt = await openRuntime(client, server, ws.id);
    const out = await until('the image\'s CMD to run', async () => {
      const r = await rt.exec.run(['sh', '-c', 'cat /tmp/cmd.out 2>/dev/null']);
      return String(r.stdout ?? '').trim();
    });
    assert.equal(out, `production /srv/app 1234 hi from the context ${tag}`);
    const files = await rt.exec.run(['sh', '-c', 'cat /opt/tool/run.txt /home/app/uid /home/app/pwd; readlink /bin;'
      + ' test -f /usr/bin/warren-start.sh && echo in-usr-bin; echo $MODE; stat -c %u:%g /srv/app/hello.txt']);
    assert.equal(String(files.stdout).trim(), 'hey from run\n1234\n/srv/app\nusr/bin\nin-usr-bin\nproduction\n1234:1234',
      'RUN ran as USER in WORKDIR; COPY to /bin went through the image\'s /bin -> usr/bin link; --chown used the image\'s passwd');
    await client.workspaces.delete(ws.id);
    assert.deepEqual(await buildWorkspaces(), [], 'no temporary workspace is left');
  } finally {
    ctx.rm();
  }
});

test('a rebuild with nothing changed is all cache hits; changing the last line reruns only that step', { timeout: 120_000 }, async () => {
  const lines = ['FROM debian-12', 'COPY a.txt /a.txt', 'RUN cat /a.txt > /b.txt', 'WORKDIR /work', 'RUN echo one > /last'];
  const ctx = contextDir({ Dockerfile: lines.join('\n'), 'a.txt': `cache ${tag}\n` });
  try {
    const first = doneOf(await build(server, ctx.dir, { name: name('cache') }));
    assert.equal(first.cachedSteps, 0);
    const again = await build(server, ctx.dir, { name: name('cache') });
    assert.deepEqual(cachedSteps(again), { 1: false, 2: true, 3: true, 4: true, 5: true }, 'FROM is resolved, every other step is a hit');
    assert.equal(doneOf(again).image?.id, first.image?.id, 'the same image');
    writeFileSync(join(ctx.dir, 'Dockerfile'), [...lines.slice(0, -1), 'RUN echo two > /last'].join('\n'));
    const changed = await build(server, ctx.dir, { name: name('cache') });
    assert.deepEqual(cachedSteps(changed), { 1: false, 2: true, 3: true, 4: true, 5: false });
    assert.deepEqual(doneOf(changed).layers.slice(0, -1), first.layers.slice(0, -1), 'only the last layer is new');
    assert.equal(await testImageStore().layers.image(first.image!.id), null, 'the image the name left (unused, unnamed) is removed');
    const noCache = await build(server, ctx.dir, { name: name('cache'), noCache: true });
    assert.equal(doneOf(noCache).cachedSteps, 0, 'no_cache runs every step');
  } finally {
    ctx.rm();
  }
});

test('a failing RUN is BUILD_STEP_FAILED with its exit code, its output, and no image', { timeout: 60_000 }, async () => {
  const ctx = contextDir({ Dockerfile: 'FROM debian-12\nRUN echo before the failure && exit 3\nRUN echo never\n' });
  try {
    const o = await build(server, ctx.dir, { name: name('fail') });
    const err = errorOf(o);
    assert.equal(err.code, 'BUILD_STEP_FAILED');
    assert.equal(err.step, 2);
    assert.equal(err.line, 2);
    assert.match(err.message, /exit code 3/);
    assert.deepEqual(logs(o), ['before the failure']);
    assert.equal(o.events.some((e) => e.type === 'done'), false);
    assert.equal(await listed(name('fail')), false);
    assert.equal((await api(server, 'DELETE', `/images/${name('fail')}`)).status, 404);
    assert.deepEqual(await buildWorkspaces(), []);
    assert.deepEqual(await holdsOf(server.proc.pid!), [], 'the build\'s layer holds are released');
  } finally {
    ctx.rm();
  }
});

test('--network none: RUN sees no interface but lo; the default network has the workspace\'s interface', { timeout: 60_000 }, async () => {
  const ctx = contextDir({ Dockerfile: `FROM debian-12\nRUN echo ${tag} >/dev/null && cat /proc/net/dev\n` });
  const interfaces = (o: BuildOutcome) => logs(o).flatMap((l) => /^\s*([^\s:|]+):/.exec(l)?.[1] ?? []).sort();
  try {
    const none = await build(server, ctx.dir, { name: name('net'), network: 'none' });
    doneOf(none);
    assert.deepEqual(interfaces(none), ['lo']);
    const normal = await build(server, ctx.dir, { name: name('net'), noCache: true });
    doneOf(normal);
    assert.ok(interfaces(normal).some((i) => i !== 'lo'), `the default network has an interface: ${interfaces(normal)}`);
    const debian = await testImageStore().ensure('debian-12');
    assert.equal(doneOf(normal).image?.id, debian.id, 'a RUN that changes nothing adds no layer: the image is its base');
    const removed = await api(server, 'DELETE', `/images/${name('net')}`);
    assert.equal(removed.status, 200, removed.text);
    assert.equal(removed.body.layersRemoved, 0);
    assert.equal((await testImageStore().layers.names())['debian-12'], debian.id, 'deleting that name keeps the catalog image');
  } finally {
    ctx.rm();
  }
});

test('COPY of a path escaping the context is refused, by .. or by a symlink', { timeout: 30_000 }, async () => {
  const ctx = contextDir({ Dockerfile: 'FROM debian-12\nCOPY ../../etc/passwd /x\n', 'link.Dockerfile': 'FROM debian-12\nCOPY link /x\n' });
  symlinkSync('/etc/passwd', join(ctx.dir, 'link'));
  try {
    for (const dockerfile of ['Dockerfile', 'link.Dockerfile']) {
      const o = await build(server, ctx.dir, { name: name('escape'), dockerfile });
      assert.equal(errorOf(o).code, 'BUILD_CONTEXT_ESCAPE', dockerfile);
      assert.equal(await listed(name('escape')), false);
    }
    const outside = await build(server, ctx.dir, { name: name('escape'), dockerfile: '../x/Dockerfile' });
    assert.equal(outside.status, 422, JSON.stringify(outside.body));
    assert.equal(outside.body.details?.field ?? outside.body.field, 'dockerfile');
    const reserved = await build(server, ctx.dir, { name: 'debian-12' });
    assert.equal(reserved.status, 409);
  } finally {
    ctx.rm();
  }
});

test('a client that goes away cancels the build: its workspace and layer holds are removed', { timeout: 60_000 }, async () => {
  const ctx = contextDir({ Dockerfile: `FROM debian-12\nRUN echo ${tag} started && sleep 60\n` });
  try {
    const abort = new AbortController();
    const started = build(server, ctx.dir, { name: name('abort') }, {
      signal: abort.signal,
      onEvent: (e) => { if (e.type === 'log' && e.text.endsWith('started')) abort.abort(); },
    }).catch((err: Error) => err);
    await started;
    assert.equal(abort.signal.aborted, true, 'the step ran');
    await until('the build workspace to go', async () => (await buildWorkspaces()).length === 0, 30_000);
    await until('the holds to go', async () => (await holdsOf(server.proc.pid!)).length === 0, 10_000);
    assert.equal(await listed(name('abort')), false);
  } finally {
    ctx.rm();
  }
});

test('kill -9 mid-build: after the restart no half image is listed and nothing of the build is left', { timeout: 120_000 }, async () => {
  const ctx = contextDir({ Dockerfile: `FROM debian-12\nCOPY a.txt /a.txt\nRUN echo ${tag} started && sleep 60\n`, 'a.txt': tag });
  try {
    let started!: () => void;
    const stepRuns = new Promise<void>((r) => (started = r));
    const running = build(server, ctx.dir, { name: name('killed') }, {
      onEvent: (e) => { if (e.type === 'log' && e.text.endsWith('started')) started(); },
    }).catch((err: Error) => err);
    await stepRuns;
    const oldPid = server.proc.pid!;
    assert.equal((await buildWorkspaces()).length, 1, 'the step\'s workspace runs');
    assert.ok((await holdsOf(oldPid)).length > 0, 'the build holds its layers');
    await server.kill();
    await running;
    await server.restart();
    assert.deepEqual(await buildWorkspaces(), [], 'the temporary workspace was removed at start-up');
    assert.deepEqual(await holdsOf(oldPid), [], 'the dead build\'s holds were swept');
    assert.equal(await listed(name('killed')), false);
  } finally {
    ctx.rm();
  }
});

test('warren images build -f prints one line per step without a terminal', { timeout: 60_000 }, async () => {
  const ctx = contextDir({ 'build/Dockerfile': 'FROM debian-12\nCOPY a.txt /a.txt\nENV X=1\n', 'a.txt': `cli ${tag}\n` });
  try {
    const env = { ...process.env, WARREN_ADMIN_CLIENT_ID: ADMIN.clientId, WARREN_ADMIN_CLIENT_SECRET: ADMIN.clientSecret };
    const out = execFileSync(process.execPath, [CLI, 'images', 'build', '-f', join(ctx.dir, 'build/Dockerfile'), ctx.dir,
      '--name', name('cli'), '--url', server.url], { env, encoding: 'utf8' });
    const lines = out.trim().split('\n');
    // A step that took ≥ 50 ms shows its duration (render.ts): either form is the right line.
    assert.match(lines[0] ?? '', /^\[1\/3\] FROM debian-12( \(\d+\.\ds\))?$/);
    assert.match(lines[1] ?? '', /^\[2\/3\] (CACHED )?COPY a\.txt \/a\.txt/);
    assert.match(lines[2] ?? '', /^\[3\/3\] ENV X=1( \(\d+\.\ds\))?$/);
    assert.match(lines[3] ?? '', new RegExp(`^built in .*: 3 steps, \\d cached → ${name('cli').replace(/[/:.]/g, '\\$&')}$`));
    assert.equal(lines.length, 4);
    assert.ok(await listed(name('cli')));
    const failed = (() => {
      try {
        execFileSync(process.execPath, [CLI, 'images', 'build', '-f', join(ctx.dir, 'build/Dockerfile'), ctx.dir, '--name', 'debian-12', '--url', server.url],
          { env, encoding: 'utf8', stdio: 'pipe' });
        return null;
      } catch (err) {
        return err as { status: number; stderr: string };
      }
    })();
    assert.equal(failed?.status, 1);
    assert.match(failed?.stderr ?? '', /image_name_reserved/);
  } finally {
    ctx.rm();
  }
});
