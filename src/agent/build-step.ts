/**
 * One RUN step of a Dockerfile build, as the build workspace's command (the host side is
 * src/server-builds.ts and src/domain/build-steps.ts):
 *
 *   /.warren/bin/node /.warren/dist/agent/build-step.js <control dir> <nonce> <user> <argv…>
 *
 * It runs as root (the agent's node is not reachable for other users) and runs argv as
 * `<user>` (an OCI User, resolved in the image's own /etc/passwd and /etc/group by
 * src/agent/users.ts, as the supervisor does for a workspace's command; '' = root), with
 * HOME moved to that user's home when it was root's.
 *
 * 1. Waits until the host creates `<control dir>/build-go`, so that the host can take the
 *    network away (`--network none`) before anything of the step runs.
 * 2. Runs argv with stdin on /dev/null and its stdout and stderr both on this process's
 *    stdout — one ordered stream, which the agent writes to its cmd log — in this
 *    process's working directory and environment (the supervisor set them from the
 *    image's WorkingDir and the build's environment), as `<user>`.
 * 3. Writes `\n<nonce> <exit code>\n`: everything before it is the step's whole output.
 * 4. Waits (at most ACK_WAIT_MS) for `<control dir>/build-ack`, written once the host has
 *    read the output, then exits with the step's code: 128+n when killed by signal n, 127
 *    when argv could not be found, 126 when it could not be executed.
 *
 * Imports only node builtins and ./users.js: it runs on the agent's node inside any image.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { resolveUser } from './users.js';

const POLL_MS = 20;
/** The host releases the step right after boot; a step never released gives up. */
const GO_WAIT_MS = 10 * 60_000;
const ACK_WAIT_MS = 30_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitForFile(path: string, maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

function write(text: string): Promise<void> {
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

/** uid/gid (and HOME) for `spec`; null: stay root. Throws when the image does not know the user. */
function identity(spec: string): { uid: number; gid: number; env: NodeJS.ProcessEnv } | null {
  if (spec === '') return null;
  const u = resolveUser(spec);
  const env = { ...process.env };
  if (u.home && u.uid !== 0 && env.HOME === '/root') env.HOME = u.home;
  return { uid: u.uid, gid: u.gid, env };
}

function runStep(argv: string[], as: ReturnType<typeof identity>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 1, 1], ...(as ?? {}) });
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // the exit event follows
      const code = err.code === 'ENOENT' ? 127 : 126;
      void write(`${argv[0]}: ${err.code === 'ENOENT' ? 'not found' : `cannot execute (${err.code ?? err.message})`}\n`)
        .then(() => resolve(code));
    });
    child.once('exit', (code, signal) => {
      if (child.pid === undefined) return; // could not start: the error event answers
      const n = signal ? (constants.signals as Record<string, number | undefined>)[signal] ?? 0 : 0;
      resolve(code ?? 128 + n);
    });
  });
}

async function main(): Promise<void> {
  const [controlDir, nonce, user, ...argv] = process.argv.slice(2);
  if (!controlDir || !nonce || user === undefined || argv.length === 0) {
    process.stderr.write('usage: build-step <control dir> <nonce> <user> <argv…>\n');
    process.exit(2);
  }
  if (!(await waitForFile(join(controlDir, 'build-go'), GO_WAIT_MS))) process.exit(125);
  let code: number;
  try {
    code = await runStep(argv, identity(user));
  } catch (err) {
    await write(`unable to run as ${user}: ${(err as Error).message}\n`);
    code = 1;
  }
  await write(`\n${nonce} ${code}\n`);
  await waitForFile(join(controlDir, 'build-ack'), ACK_WAIT_MS);
  process.exit(code);
}

void main();
