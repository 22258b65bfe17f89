import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../contract/errors.js';
import type { ImageConfig } from '../records.js';
import { parseDockerfile } from './dockerfile.js';
import { DEFAULT_PATH, planBody, planFrom, resolvePath, type PlannedStep } from './plan.js';

const BASE: ImageConfig = {
  env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8'],
  cmd: ['bash'],
  exposedPorts: [],
  labels: { 'from.base': 'yes' },
};

function plan(src: string, buildArgs: Record<string, string> = {}, base: ImageConfig = BASE) {
  const parsed = parseDockerfile(src);
  const from = planFrom(parsed, buildArgs);
  return { from: from.name, ...planBody(parsed, buildArgs, from.metaArgs, base) };
}

const last = (steps: PlannedStep[]) => steps[steps.length - 1] as PlannedStep;

test('a realistic Dockerfile: substitution, config after each step, actions', () => {
  const p = plan(
    `ARG BASE=node-20
FROM \${BASE}
ARG VERSION=1.0
ENV APP_HOME=/srv/app PATH=/opt/bin:$PATH
LABEL version=$VERSION title="my app"
WORKDIR $APP_HOME
WORKDIR sub
COPY --chown=app:app package.json ./
RUN npm ci
USER app
EXPOSE 8080 53/UDP 7000-7002
CMD node server.js
SHELL ["/bin/bash", "-c"]
ENTRYPOINT exec node
`,
    { VERSION: '2.0' },
  );
  assert.equal(p.from, 'node-20');
  const steps = p.steps;
  assert.deepEqual(steps.map((s) => s.step), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  const env = steps[1]?.config.env;
  assert.deepEqual(env, ['PATH=/opt/bin:/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8', 'APP_HOME=/srv/app']);
  assert.deepEqual(steps[2]?.config.labels, { 'from.base': 'yes', version: '2.0', title: 'my app' });
  assert.deepEqual(steps[3]?.action, { kind: 'mkdir', path: '/srv/app' });
  assert.deepEqual(steps[4]?.action, { kind: 'mkdir', path: '/srv/app/sub' });
  assert.deepEqual(steps[5]?.action, { kind: 'copy', add: false, sources: ['package.json'], dest: '/srv/app/sub', destIsDir: true, chown: 'app:app' });
  assert.deepEqual(steps[6]?.action, {
    kind: 'run',
    argv: ['/bin/sh', '-c', 'npm ci'],
    env: ['PATH=/opt/bin:/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8', 'APP_HOME=/srv/app', 'VERSION=2.0'],
  });
  assert.equal(steps[7]?.config.user, 'app');
  assert.deepEqual(steps[8]?.config.exposedPorts, ['8080/tcp', '53/udp', '7000/tcp', '7001/tcp', '7002/tcp']);
  assert.deepEqual(steps[9]?.config.cmd, ['/bin/sh', '-c', 'node server.js']);
  const final = last(steps).config;
  assert.deepEqual(final.entrypoint, ['/bin/bash', '-c', 'exec node']);
  assert.deepEqual(final.cmd, ['/bin/sh', '-c', 'node server.js'], 'a CMD of this Dockerfile survives ENTRYPOINT');
  assert.equal(final.workingDir, '/srv/app/sub');
  assert.ok(!final.env.some((e) => e.startsWith('VERSION=')), 'ARG values never reach the image');
  assert.deepEqual(BASE.env, ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8'], 'the base config is not modified');
});

test('ENV substitutes with the environment before the instruction (Docker docs example)', () => {
  const p = plan('FROM x\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n', {}, { env: [], exposedPorts: [], labels: {} });
  assert.deepEqual(last(p.steps).config.env, ['abc=bye', 'def=hello', 'ghi=bye']);
});

test('ENV overrides an ARG of the same name (Docker docs example)', () => {
  const src = 'FROM x\nARG CONT_IMG_VER\nENV CONT_IMG_VER=v1.0.0\nRUN echo $CONT_IMG_VER\n';
  const run = last(plan(src, { CONT_IMG_VER: 'v2.0.1' }).steps).action;
  assert.ok(run.kind === 'run');
  assert.ok(run.env.includes('CONT_IMG_VER=v1.0.0'));
  assert.ok(!run.env.includes('CONT_IMG_VER=v2.0.1'));
  const src2 = 'FROM x\nARG CONT_IMG_VER\nENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}\n';
  assert.deepEqual(last(plan(src2, { CONT_IMG_VER: 'v2.0.1' }).steps).config.env.slice(-1), ['CONT_IMG_VER=v2.0.1']);
  assert.deepEqual(last(plan(src2).steps).config.env.slice(-1), ['CONT_IMG_VER=v1.0.0']);
});

test('an ARG before FROM is visible in FROM, and in the stage only when re-declared', () => {
  const src = 'ARG V=1\nARG IMG=tool:$V\nFROM $IMG\nLABEL a=${V:-unset}\nARG V\nLABEL b=$V\n';
  const p = plan(src);
  assert.equal(p.from, 'tool:1');
  assert.deepEqual(last(p.steps).config.labels, { 'from.base': 'yes', a: 'unset', b: '1' });
  assert.equal(plan(src, { V: '9' }).from, 'tool:9');
});

test('RUN gets the default PATH when the image has none, and its key text carries the args in scope', () => {
  const p = plan('FROM scratch\nARG A=1\nRUN true\n', {}, { env: [], exposedPorts: [], labels: {} });
  const run = last(p.steps);
  assert.ok(run.action.kind === 'run');
  assert.deepEqual(run.action.env, ['A=1', `PATH=${DEFAULT_PATH}`]);
  assert.deepEqual(JSON.parse(run.canonical), ['RUN', ['/bin/sh', '-c', 'true'], [['A', '1']], null]);
  const other = last(plan('FROM scratch\nARG A=1\nRUN true\n', { A: '2' }).steps);
  assert.notEqual(other.canonical, run.canonical);
});

test('ENTRYPOINT clears a CMD inherited from the base image', () => {
  const final = last(plan('FROM x\nENTRYPOINT ["/app"]\n').steps).config;
  assert.deepEqual(final.entrypoint, ['/app']);
  assert.equal(final.cmd, undefined);
});

test('recorded instructions change nothing and warn; unused build args warn', () => {
  const p = plan('FROM x AS stage\nHEALTHCHECK CMD true\nSTOPSIGNAL SIG$S\nVOLUME ["/a", "/b"]\nVOLUME /c\nMAINTAINER me\n', { S: 'INT' });
  assert.deepEqual(p.recorded, { stageName: 'stage', healthcheck: 'CMD true', stopSignal: 'SIG', volumes: ['/a', '/b', '/c'], maintainer: 'me' });
  assert.equal(p.warnings.filter((w) => /recorded but has no effect/.test(w)).length, 5);
  assert.ok(p.warnings.some((w) => /unused\): S$/.test(w)));
  assert.deepEqual(last(p.steps).config, BASE);
});

function refused(fn: () => unknown, code: string, line: number, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.details?.line, line);
    assert.match(err.message, pattern);
    return true;
  });
}

test('planning refusals name the line', () => {
  refused(() => plan('FROM x\nCOPY a b c\n'), 'DOCKERFILE_INVALID', 2, /must be a directory ending in \//);
  refused(() => plan('FROM x\nEXPOSE 99999\n'), 'DOCKERFILE_INVALID', 2, /EXPOSE "99999"/);
  refused(() => plan('FROM x\nEXPOSE 80/icmp\n'), 'DOCKERFILE_INVALID', 2, /EXPOSE/);
  refused(() => plan('FROM x\nENV A=${B\n'), 'DOCKERFILE_INVALID', 2, /missing '}'/);
  refused(() => plan('FROM x\nUSER $NOBODY\n'), 'DOCKERFILE_INVALID', 2, /USER is empty/);
  refused(() => plan('ARG I\nFROM $I\n'), 'DOCKERFILE_INVALID', 2, /names no image/);
});

test('EXPOSE words come from substitution too', () => {
  const p = plan('FROM x\nENV PORTS="80 443"\nEXPOSE $PORTS\n');
  assert.deepEqual(last(p.steps).config.exposedPorts, ['80/tcp', '443/tcp']);
});

test('paths resolve against the working directory', () => {
  assert.equal(resolvePath(undefined, 'a'), '/a');
  assert.equal(resolvePath('/srv', 'a/../b/'), '/srv/b');
  assert.equal(resolvePath('/srv', '/abs/.'), '/abs');
  assert.equal(resolvePath('/srv', '.'), '/srv');
});
