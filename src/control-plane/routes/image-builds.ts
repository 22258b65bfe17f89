/**
 * Dockerfile builds (Warren extension, issue 12):
 *
 * - POST /images/build?name=N[&dockerfile=P][&build_arg=K=V…][&network=default|none][&no_cache=true]
 *   body: the build context as a tar (`application/x-tar`). Admin only, like every image write.
 *   Bad options, a bad or too large context or a missing Dockerfile answer as JSON errors;
 *   then the build streams as SSE (src/contract/image-build.ts events, ending with `done`,
 *   which names the image, or `error`). A client that goes away cancels the build.
 */
import { Hono } from 'hono';
import { Readable } from 'node:stream';
import { AppError } from '../../contract/errors.js';
import { parseBuildRequest, type BuildEvent } from '../../contract/image-build.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { adminOnly } from '../scopes.js';
import { waiter } from '../../util/waiter.js';
import { sseResponse } from '../sse-stream.js';
import { idleGuardedBody } from '../http.js';

const CONTEXT_TYPES = ['application/x-tar', 'application/tar', 'application/octet-stream'];
/** Events waiting for a slow reader beyond this are log lines dropped (with one warning). */
const MAX_QUEUED = 10_000;

export function imageBuildRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  app.post('/images/build', adminOnly, async (c) => {
    const req = parseBuildRequest(c.req.query(), c.req.queries('build_arg') ?? []);
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!CONTEXT_TYPES.includes(type)) {
      throw new AppError('bad_request', `Send the build context as a tar (${CONTEXT_TYPES.join(', ')})`, { field: 'content-type' });
    }
    const body = idleGuardedBody(c.req.raw.body);
    if (!body) throw new AppError('validation_error', 'The build context is missing', { field: 'context' });
    const prepared = await ctx.builds.prepare(req, Readable.fromWeb(body as never));
    return sseResponse((signal) => buildEvents(prepared, signal));
  });
  return app;
}

type Prepared = Awaited<ReturnType<ControlPlaneContext['builds']['prepare']>>;

/** The build's events as they come; the build runs while the client listens and stops when it leaves. */
async function* buildEvents(prepared: Prepared, signal: AbortSignal): AsyncGenerator<BuildEvent> {
  const queue: BuildEvent[] = [];
  let dropped = 0;
  let ended = false;
  const { wait, notify } = waiter();
  const push = (e: BuildEvent) => {
    if (e.type === 'log' && queue.length >= MAX_QUEUED) dropped++;
    else queue.push(e);
    notify();
  };
  const running = prepared.run(push, signal).finally(() => {
    ended = true;
    notify();
  });
  try {
    for (;;) {
      if (dropped > 0 && queue.length < MAX_QUEUED / 2) {
        yield { type: 'warning', message: `${dropped} log lines were dropped: the client read too slowly` };
        dropped = 0;
      }
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (ended) break;
      await wait();
    }
  } finally {
    await running.catch(() => undefined);
  }
}
