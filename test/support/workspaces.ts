/**
 * Helpers the end-to-end tests share: an admin client of a test server, a runtime
 * client for one workspace (public access + runtime API enabled), waiting for a
 * workspace's status, and a tree of files whose hash tells whether it changed.
 */
import Oblien, { Runtime } from 'oblien';
import { ADMIN, api, type TestServer } from './warren.js';

export type Client = InstanceType<typeof Oblien>;
export type Rt = InstanceType<typeof Runtime>;

export function adminClient(server: TestServer): Client {
  return new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: server.url });
}

/** Public access on, runtime API enabled, and a Runtime on Warren's own origin. */
export async function openRuntime(client: Client, server: TestServer, id: string): Promise<Rt> {
  await client.workspaces.network.update(id, { public_access: true });
  const { token } = await client.workspaces.apiAccess.enable(id);
  return new Runtime({ token, baseUrl: server.url });
}

/** Polls GET /workspace/:id until `pred` holds for its body; returns the workspace. */
export async function waitForWorkspace(server: TestServer, id: string, pred: (ws: any, status: number) => boolean, ms = 60_000): Promise<any> {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await api(server, 'GET', `/workspace/${id}`);
    if (pred(res.body?.workspace, res.status)) return res.body?.workspace;
    if (Date.now() > deadline) throw new Error(`workspace ${id}: condition not met in ${ms} ms; last: ${res.text.slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function waitForStatus(server: TestServer, id: string, status: string, ms = 60_000): Promise<any> {
  return waitForWorkspace(server, id, (ws) => ws?.status === status, ms);
}

/** `n` files of varied sizes under `dir` inside the workspace (shell; no extra tools). */
export async function makeTree(rt: Rt, dir: string, n: number): Promise<void> {
  const script = `mkdir -p ${dir}/a ${dir}/b && i=1; while [ $i -le ${n} ]; do `
    + `head -c $(( (i * 131) % 4096 + 1 )) /dev/urandom > ${dir}/$([ $((i % 2)) -eq 0 ] && echo a || echo b)/f$i; i=$((i+1)); done`;
  const r = await rt.exec.run(['sh', '-c', script], { timeoutSeconds: 120 });
  if (r.exit_code !== 0) throw new Error(`makeTree failed: ${r.stderr}`);
}

/** sha256 over the sorted (path, content hash) list of every file under `dir`. */
export async function treeHash(rt: Rt, dir: string): Promise<string> {
  const r = await rt.exec.run(['sh', '-c', `cd ${dir} && find . -type f | sort | xargs sha256sum | sha256sum`]);
  if (r.exit_code !== 0) throw new Error(`treeHash failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Polls `fn` every 100 ms until it returns something truthy (errors count as not yet); throws after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
