/**
 * A warm-pool agent's rehearsal, before any workspace claims it: one `true` run through the exec
 * path's own code (body parsing, task, spawn, exit) and two requests to itself over loopback
 * (an unauthenticated health check and an exec refused for want of a token: HTTP parsing,
 * routing, authentication, error replies). The first real call of a fresh Node process pays
 * for compiling every function it meets on the way (≈ 10 ms of the first exec in a pooled
 * workspace); a pooled agent pays it here, while it waits.
 *
 * What it leaves: nothing a tenant can see. The task is forgotten once it ends, `true` writes
 * nothing, and the refused request changes no state. Failures are ignored: this only saves time.
 */
import { request } from 'node:http';
import type { TaskStore } from './exec/tasks.js';
import { parseExecBody } from './routes/exec.js';

export interface WarmUpDeps {
  port: number;
  tasks: TaskStore;
  configEnv: () => Record<string, string>;
}

export async function warmUp(d: WarmUpDeps): Promise<void> {
  try {
    const task = d.tasks.start(parseExecBody({ cmd: ['true'] }, d.configEnv()));
    await task.done;
    d.tasks.delete(task.id);
  } catch { /* only a rehearsal */ }
  await selfRequest(d.port, 'GET', '/health');
  await selfRequest(d.port, 'POST', '/exec', JSON.stringify({ cmd: ['true'] }));
}

function selfRequest(port: number, method: string, path: string, body?: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      res.resume();
      res.on('end', resolve);
      res.on('error', () => resolve());
    });
    req.on('error', () => resolve());
    req.setTimeout(5000, () => req.destroy());
    req.end(body);
  });
}
