import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { AppError } from './contract/errors.js';
import type { AgentControlPort, AgentTarget } from './domain/ports.js';
import type { NodeRegistry } from './domain/nodes.js';
import { generateNodeKey, NodeTokenSigner, NodeTokenVerifier } from './node/node-tokens.js';
import type { Store, WorkspaceRecord } from './store/store.js';
import { agentTarget, NODE_AGENT_PATH, nodeAgentHandler } from './server-node-agent.js';
import { FleetAgentControl, fleetAgentTarget } from './server-fleet-agent.js';

const KEY = generateNodeKey('k1');
const recs: Record<string, Partial<WorkspaceRecord>> = {
  ws_here: { id: 'ws_here', ip: '10.214.0.5', nodeId: 'node-a' },
  ws_there: { id: 'ws_there', ip: '10.215.0.5', nodeId: 'node-b' },
};
const rec = (id: string) => recs[id] as WorkspaceRecord;

/** The agent as the node sees it: records each call; a path with `missing` fails as the agent would. */
function fakeAgent(calls: Array<[AgentTarget, string, string, unknown]>): AgentControlPort {
  return {
    async call<T>(t: AgentTarget, method: string, path: string, body?: unknown): Promise<T> {
      calls.push([t, method, path, body]);
      if (path.includes('missing')) throw new AppError('workload_not_found', 'Workload not found');
      return { ok: true, path } as T;
    },
    async *stream(_t: AgentTarget, path: string) {
      for (let i = 0; i < 3; i++) yield { n: i, path };
    },
  };
}

async function nodeAt(t: TestContext, calls: Array<[AgentTarget, string, string, unknown]>) {
  const handler = nodeAgentHandler({
    nodeId: 'node-a', verifier: new NodeTokenVerifier([KEY]), workspacesDir: '/srv/ws', agent: fakeAgent(calls),
    store: { getWorkspace: async (id: string) => (recs[id] as WorkspaceRecord | undefined) ?? null } as Pick<Store, 'getWorkspace'>,
  });
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const registry = {
    assertReachable: async () => {},
    get: async (id: string) => ({ id, address: `127.0.0.1:${port}` }),
  } as unknown as NodeRegistry;
  const client = new FleetAgentControl({ registry, signer: new NodeTokenSigner(KEY, 'replica-1'), local: fakeAgent([]) });
  const raw = (token: string | null, body: unknown) => fetch(`http://127.0.0.1:${port}${NODE_AGENT_PATH}`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { ...(token ? { authorization: `Warren-Node ${token}` } : {}), 'content-type': 'application/json' },
  });
  return { client, raw };
}

const target = fleetAgentTarget('/var/lib/control/workspaces');

test('a replica\'s agent call runs on the node with the node\'s control dir; errors and streams cross', async (t) => {
  const calls: Array<[AgentTarget, string, string, unknown]> = [];
  const { client } = await nodeAt(t, calls);
  assert.deepEqual(await client.call(target(rec('ws_here')), 'PUT', '/_warren/ssh', { enabled: false }), { ok: true, path: '/_warren/ssh' });
  assert.deepEqual(calls[0], [{ ip: '10.214.0.5', port: 9990, controlDir: '/srv/ws/ws_here/control' }, 'PUT', '/_warren/ssh', { enabled: false }]);
  await assert.rejects(client.call(target(rec('ws_here')), 'GET', '/_warren/workloads/missing'),
    (err: unknown) => err instanceof AppError && err.code === 'workload_not_found');
  const events: unknown[] = [];
  for await (const e of client.stream(target(rec('ws_here')), '/_warren/logs/x', new AbortController().signal)) events.push(e);
  assert.deepEqual(events, [0, 1, 2].map((n) => ({ n, path: '/_warren/logs/x' })));
  // A workspace of another node is refused there (never called).
  await assert.rejects(client.call({ ...target(rec('ws_there')), nodeId: 'node-a' }, 'GET', '/_warren/workloads'),
    (err: unknown) => err instanceof AppError && err.code === 'not_found');
  assert.equal(calls.length, 2);
});

test('the node refuses a token that is missing, forged, replayed, for another node, call or purpose', async (t) => {
  const calls: Array<[AgentTarget, string, string, unknown]> = [];
  const { raw } = await nodeAt(t, calls);
  const body = { workspaceId: 'ws_here', method: 'GET', path: '/_warren/workloads' };
  const signer = new NodeTokenSigner(KEY, 'replica-1');
  const good = signer.sign('node-a', agentTarget('ws_here', 'GET', '/_warren/workloads'), 'api');
  const codeOf = async (r: Response) => [r.status, ((await r.json()) as any).error?.code];
  assert.deepEqual(await codeOf(await raw(null, body)), [401, 'unauthorized'], 'no token');
  const ok = await raw(good, body);
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { result: { ok: true, path: '/_warren/workloads' } });
  assert.deepEqual(await codeOf(await raw(good, body)), [403, 'forbidden'], 'replayed');
  const forged = new NodeTokenSigner(generateNodeKey('k1'), 'x').sign('node-a', agentTarget('ws_here', 'GET', '/_warren/workloads'), 'api');
  assert.deepEqual(await codeOf(await raw(forged, body)), [403, 'forbidden'], 'forged');
  const otherNode = signer.sign('node-b', agentTarget('ws_here', 'GET', '/_warren/workloads'), 'api');
  assert.deepEqual(await codeOf(await raw(otherNode, body)), [403, 'forbidden'], 'another node');
  const otherCall = signer.sign('node-a', agentTarget('ws_here', 'GET', '/_warren/logs'), 'api');
  assert.deepEqual(await codeOf(await raw(otherCall, body)), [403, 'forbidden'], 'another path');
  const tunnel = signer.sign('node-a', agentTarget('ws_here', 'GET', '/_warren/workloads'), 'agent');
  assert.deepEqual(await codeOf(await raw(tunnel, body)), [403, 'forbidden'], 'a tunnel token');
  const outside = signer.sign('node-a', agentTarget('ws_here', 'GET', '/etc/passwd'), 'api');
  assert.deepEqual(await codeOf(await raw(outside, { ...body, path: '/etc/passwd' })), [422, 'validation_error'], 'only /_warren/ paths');
  assert.equal(calls.length, 1, 'only the first call reached the agent');
});
