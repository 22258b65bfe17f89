import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../contract/errors.js';
import { parseDockerfile } from './dockerfile.js';
import { joinContinuations, parseExecForm } from './dockerfile-text.js';

const REALISTIC = `# syntax=docker/dockerfile:1
# A small Node service.
ARG BASE=node-20
FROM \${BASE} AS app

ARG VERSION=1.0
ENV NODE_ENV=production \\
    APP_HOME="/srv/my app"
LABEL org.opencontainers.image.title="my app" version=$VERSION
WORKDIR /srv/app
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --omit=dev \\
    # comments inside a continuation are dropped
    && npm cache clean --force
COPY ["src", "./src/"]
ADD --chmod=0644 vendor.tar.gz /opt/vendor/
USER node
EXPOSE 8080 9090/udp
run ["node", "-e", "console.log(1)"]
ENTRYPOINT ["node"]
CMD server.js --port 8080
HEALTHCHECK --interval=30s CMD curl -f http://localhost:8080/ || exit 1
STOPSIGNAL SIGINT
VOLUME ["/data"]
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
MAINTAINER someone@example.com
`;

test('a realistic Dockerfile parses into typed instructions with their lines', () => {
  const p = parseDockerfile(REALISTIC);
  assert.equal(p.escape, '\\');
  assert.deepEqual(p.metaArgs.map((a) => a.args), [[{ name: 'BASE', default: 'node-20' }]]);
  assert.deepEqual({ ...p.from }, { kind: 'FROM', line: 4, text: 'FROM ${BASE} AS app', image: '${BASE}', alias: 'app' });
  const kinds = p.body.map((i) => `${i.line}:${i.kind}`);
  assert.deepEqual(kinds, [
    '6:ARG', '7:ENV', '9:LABEL', '10:WORKDIR', '11:COPY', '12:RUN', '15:COPY', '16:ADD', '17:USER', '18:EXPOSE', '19:RUN',
    '20:ENTRYPOINT', '21:CMD', '22:HEALTHCHECK', '23:STOPSIGNAL', '24:VOLUME', '25:SHELL', '26:MAINTAINER',
  ]);
  const byLine = new Map(p.body.map((i) => [i.line, i]));
  assert.deepEqual(byLine.get(7), {
    kind: 'ENV', line: 7, text: 'ENV NODE_ENV=production APP_HOME="/srv/my app"',
    pairs: [{ name: 'NODE_ENV', value: 'production' }, { name: 'APP_HOME', value: '"/srv/my app"' }],
  });
  assert.deepEqual(byLine.get(9), {
    kind: 'LABEL', line: 9, text: 'LABEL org.opencontainers.image.title="my app" version=$VERSION',
    pairs: [{ name: 'org.opencontainers.image.title', value: '"my app"' }, { name: 'version', value: '$VERSION' }],
  });
  assert.deepEqual(byLine.get(11), {
    kind: 'COPY', line: 11, text: 'COPY --chown=node:node package.json package-lock.json ./',
    sources: ['package.json', 'package-lock.json'], dest: './', chown: 'node:node',
  });
  const run = byLine.get(12);
  assert.ok(run?.kind === 'RUN');
  assert.deepEqual(run.command, { form: 'shell', text: 'npm ci --omit=dev     && npm cache clean --force' });
  assert.deepEqual(byLine.get(15), { kind: 'COPY', line: 15, text: 'COPY ["src", "./src/"]', sources: ['src'], dest: './src/' });
  assert.deepEqual(byLine.get(16), {
    kind: 'ADD', line: 16, text: 'ADD --chmod=0644 vendor.tar.gz /opt/vendor/', sources: ['vendor.tar.gz'], dest: '/opt/vendor/', chmod: '0644',
  });
  assert.deepEqual(byLine.get(18), { kind: 'EXPOSE', line: 18, text: 'EXPOSE 8080 9090/udp', ports: ['8080', '9090/udp'] });
  const execRun = byLine.get(19);
  assert.ok(execRun?.kind === 'RUN');
  assert.deepEqual(execRun.command, { form: 'exec', argv: ['node', '-e', 'console.log(1)'] });
  assert.deepEqual(byLine.get(20), { kind: 'ENTRYPOINT', line: 20, text: 'ENTRYPOINT ["node"]', command: { form: 'exec', argv: ['node'] } });
  assert.deepEqual(byLine.get(21), { kind: 'CMD', line: 21, text: 'CMD server.js --port 8080', command: { form: 'shell', text: 'server.js --port 8080' } });
  assert.deepEqual(byLine.get(25), { kind: 'SHELL', line: 25, text: 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]', shell: ['/bin/bash', '-o', 'pipefail', '-c'] });
  assert.equal(byLine.get(22)?.kind, 'HEALTHCHECK');
});

test('# escape=` changes the continuation and escape character', () => {
  const p = parseDockerfile('# escape=`\nFROM scratch\nRUN echo a `\n  b\\c\nENV X=a`"b\n');
  assert.equal(p.escape, '`');
  const run = p.body[0];
  assert.ok(run?.kind === 'RUN');
  assert.deepEqual(run.command, { form: 'shell', text: 'echo a   b\\c' });
});

test('an ARG without a default, several ARGs on a line, and the old "ENV name value" form', () => {
  const p = parseDockerfile('FROM x\nARG A B=2\nENV NAME some value here\nARG C="x y" \\\n  D\n');
  assert.deepEqual(p.body[0], { kind: 'ARG', line: 2, text: 'ARG A B=2', args: [{ name: 'A' }, { name: 'B', default: '2' }] });
  assert.deepEqual(p.body[2], { kind: 'ARG', line: 4, text: 'ARG C="x y" D', args: [{ name: 'C', default: '"x y"' }, { name: 'D' }] });
  assert.deepEqual(p.body[1], { kind: 'ENV', line: 3, text: 'ENV NAME some value here', pairs: [{ name: 'NAME', value: 'some value here' }] });
});

test('a UTF-8 byte order mark and CRLF line ends are accepted', () => {
  const p = parseDockerfile('\uFEFFFROM x\r\nRUN echo a \\\r\n  b\r\n');
  assert.equal(p.from.image, 'x');
  assert.deepEqual((p.body[0] as { command: unknown }).command, { form: 'shell', text: 'echo a   b' });
});

test('a malformed exec form is shell form, as in Docker', () => {
  const p = parseDockerfile('FROM x\nRUN [not json\nCMD [1, 2]\n');
  assert.deepEqual((p.body[0] as { command: unknown }).command, { form: 'shell', text: '[not json' });
  assert.deepEqual((p.body[1] as { command: unknown }).command, { form: 'shell', text: '[1, 2]' });
});

function refusal(src: string, code: string, pattern: RegExp, line?: number): void {
  assert.throws(
    () => parseDockerfile(src),
    (err: unknown) => {
      assert.ok(err instanceof AppError, String(err));
      assert.equal(err.code, code, err.message);
      assert.equal(err.details?.field, 'dockerfile');
      if (line !== undefined) {
        assert.equal(err.details?.line, line);
        assert.match(err.message, new RegExp(`^Dockerfile line ${line}: `));
      }
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('syntax errors are DOCKERFILE_INVALID naming the line', () => {
  refusal('', 'DOCKERFILE_INVALID', /no FROM/);
  refusal('# only a comment\n', 'DOCKERFILE_INVALID', /no FROM/);
  refusal('ENV A=1\nFROM x\n', 'DOCKERFILE_INVALID', /ENV before FROM/, 1);
  refusal('FROM x\nBOGUS thing\n', 'DOCKERFILE_INVALID', /unknown instruction "BOGUS"/, 2);
  refusal('FROM x\nENTRYPOINT ["a",\n  "b"]\n', 'DOCKERFILE_INVALID', /unknown instruction/, 3);
  refusal('FROM\n', 'DOCKERFILE_INVALID', /FROM takes an image/, 1);
  refusal('FROM a b\n', 'DOCKERFILE_INVALID', /FROM takes an image/, 1);
  refusal('FROM x\nCOPY onlyone\n', 'DOCKERFILE_INVALID', /at least one source and a destination/, 2);
});

test('missing arguments are DOCKERFILE_INVALID', () => {
  refusal('FROM x\nRUN\n', 'DOCKERFILE_INVALID', /RUN needs/, 2);
  refusal('FROM x\nENV\n', 'DOCKERFILE_INVALID', /ENV needs/, 2);
  refusal('FROM x\nENV A\n', 'DOCKERFILE_INVALID', /ENV needs name=value/, 2);
  refusal('FROM x\nLABEL a\n', 'DOCKERFILE_INVALID', /LABEL needs name=value/, 2);
  refusal('FROM x\nARG\n', 'DOCKERFILE_INVALID', /ARG needs a name/, 2);
  refusal('FROM x\nARG 1A=2\n', 'DOCKERFILE_INVALID', /ARG name "1A"/, 2);
  refusal('FROM x\nWORKDIR\n', 'DOCKERFILE_INVALID', /WORKDIR needs/, 2);
  refusal('FROM x\nUSER\n', 'DOCKERFILE_INVALID', /USER needs/, 2);
  refusal('FROM x\nEXPOSE\n', 'DOCKERFILE_INVALID', /EXPOSE needs/, 2);
  refusal('FROM x\nSHELL /bin/bash -c\n', 'DOCKERFILE_INVALID', /SHELL takes a JSON array/, 2);
  refusal('FROM x\nCOPY --chown a b\n', 'DOCKERFILE_INVALID', /--chown needs a value/, 2);
});

test('what Warren does not build is DOCKERFILE_UNSUPPORTED naming the line', () => {
  refusal('FROM a AS one\nFROM b\n', 'DOCKERFILE_UNSUPPORTED', /multi-stage/, 2);
  refusal('FROM a\nCOPY --from=one /x /y\n', 'DOCKERFILE_UNSUPPORTED', /--from/, 2);
  refusal('FROM a\nONBUILD RUN make\n', 'DOCKERFILE_UNSUPPORTED', /ONBUILD/, 2);
  refusal('FROM a\nADD https://example.com/x.tgz /x\n', 'DOCKERFILE_UNSUPPORTED', /URL/, 2);
  refusal('FROM a\nADD git@github.com:a/b.git /x\n', 'DOCKERFILE_UNSUPPORTED', /git/, 2);
  refusal('FROM a\nRUN --mount=type=cache,target=/x make\n', 'DOCKERFILE_UNSUPPORTED', /RUN --mount/, 2);
  refusal('FROM a\nRUN --network=host make\n', 'DOCKERFILE_UNSUPPORTED', /none or default/, 2);
  refusal('FROM --platform=linux/arm64 a\n', 'DOCKERFILE_UNSUPPORTED', /--platform/, 1);
  refusal('FROM a\nCOPY --chmod=u+x a /b\n', 'DOCKERFILE_UNSUPPORTED', /octal/, 2);
  refusal('FROM a\nCOPY --exclude=*.md . /b\n', 'DOCKERFILE_UNSUPPORTED', /--exclude/, 2);
  refusal('FROM a\nRUN <<EOF\necho hi\nEOF\n', 'DOCKERFILE_UNSUPPORTED', /heredocs/, 2);
  refusal('FROM a\nCOPY <<EOF /x\nhi\nEOF\n', 'DOCKERFILE_UNSUPPORTED', /heredocs/, 2);
});

test('accepted flags: COPY --link (no effect), RUN --network=none', () => {
  const p = parseDockerfile('FROM a\nCOPY --link a /b\nRUN --network=none make\n');
  assert.deepEqual(p.body[0], { kind: 'COPY', line: 2, text: 'COPY --link a /b', sources: ['a'], dest: '/b' });
  assert.equal((p.body[1] as { network?: string }).network, 'none');
});

test('an oversized Dockerfile is refused before parsing', () => {
  refusal(`FROM x\n${'#'.repeat(1024 * 1024)}\n`, 'DOCKERFILE_INVALID', /larger than/);
});

test('text helpers: continuations, exec form', () => {
  assert.equal(joinContinuations('a \\\n\n  # c\n  b \\  \n c', '\\'), 'a   b  c');
  assert.equal(joinContinuations('a\r\nb', '\\'), 'ab');
  assert.deepEqual(parseExecForm(' ["a", "b c"] '), ['a', 'b c']);
  assert.equal(parseExecForm('["a", 1]'), null);
  assert.equal(parseExecForm('echo [x]'), null);
});
