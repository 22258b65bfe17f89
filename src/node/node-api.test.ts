import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../contract/errors.js';
import type { WorkspaceBackend } from '../domain/backend.js';
import { callNode } from '../fleet/node-api-client.js';
import { nodeApiHandler, nodeApiTarget, type NodeApiOptions } from './node-api.js';
import { generateNodeKey, NodeTokenSigner, NodeTokenVerifier } from './node-tokens.js';

const key = generateNodeKey('k1');
const signer = new NodeTokenSigner(key, 'replica-1');
const record = {
  id: 'ws_1', shortId: 's1x', ip: '10.250.0.2', image: 'node:20', imageId: null, nodeId: 'node-a',
  config: {}, network: {}, apiAccess: { enabled: false, rawToken: 'raw' },
};

/** A node API on a loopback port; the backend is never reached by the ops these tests send. */
async function nodeApi(t: TestContext, extra: Partial<NodeApiOptions>): Promise<string> {
  const handler = nodeApiHandler({ nodeId: 'node-a', verifier: new NodeTokenVerifier([key]), backend: {} as WorkspaceBackend, ...extra });
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const call = (address: string, token: string) =>
  callNode({ nodeId: 'node-a', address, op: 'sync-ssh', token, body: { record }, timeoutMs: 5_000 });

test('sync-ssh: the node applies the workspace\'s SSH settings; its AppError crosses the hop with its code', async (t) => {
  const asked: string[] = [];
  let fail: AppError | null = null;
  const address = await nodeApi(t, {
    syncSsh: async (id) => {
      asked.push(id);
      if (fail) throw fail;
    },
  });
  assert.deepEqual(await call(address, signer.sign('node-a', nodeApiTarget('sync-ssh', 'ws_1'), 'api')), { result: null });
  assert.deepEqual(asked, ['ws_1']);

  fail = new AppError('ssh_unavailable', 'the SSH server did not start');
  await assert.rejects(call(address, signer.sign('node-a', nodeApiTarget('sync-ssh', 'ws_1'), 'api')), (err: any) => err.code === 'ssh_unavailable');

  // A token for another op (or workspace) does not open sync-ssh.
  await assert.rejects(call(address, signer.sign('node-a', nodeApiTarget('sync-agent-token', 'ws_1'), 'api')), (err: any) => err.code === 'server_error');
  await assert.rejects(call(address, signer.sign('node-a', nodeApiTarget('sync-ssh', 'ws_2'), 'api')), (err: any) => err.code === 'server_error');
  assert.equal(asked.length, 2, 'refused tokens reached nothing');
});

test('sync-ssh on a node without SSH wiring answers 501 not_implemented', async (t) => {
  const address = await nodeApi(t, {});
  await assert.rejects(call(address, signer.sign('node-a', nodeApiTarget('sync-ssh', 'ws_1'), 'api')),
    (err: any) => err.code === 'not_implemented' && err.status === 501);
});
