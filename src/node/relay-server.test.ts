import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedPort, RelayServer } from './relay-server.js';
import { generateNodeKey, NodeTokenVerifier } from './node-tokens.js';

// The relay over real sockets and namespaces: test/node/relay.test.ts.
test('each purpose opens only its port', () => {
  assert.equal(allowedPort('agent', 9990), true);
  assert.equal(allowedPort('agent', 22), false);
  assert.equal(allowedPort('ssh', 22), true);
  assert.equal(allowedPort('ssh', 9990), false);
  assert.equal(allowedPort('edge', 3000), true);
  assert.equal(allowedPort('edge', 0), false);
  assert.equal(allowedPort('edge', 65536), false);
  assert.equal(allowedPort('api', 9990), false);
});

test('requests other than CONNECT: 405 without the onRequest hook, the hook\'s answer with it', async (t) => {
  const base = { nodeId: 'n1', verifier: new NodeTokenVerifier([generateNodeKey('k1')]), subnet: '10.214.0.0/24', isLiveSandbox: () => false };
  const plain = new RelayServer(base);
  const hooked = new RelayServer({ ...base, onRequest: (req, res) => res.end(`hook ${req.method} ${req.url}`) });
  t.after(async () => { await plain.close(); await hooked.close(); });
  const plainPort = await plain.listen(0, '127.0.0.1');
  const hookedPort = await hooked.listen(0, '127.0.0.1');
  const refused = await fetch(`http://127.0.0.1:${plainPort}/v1/node/workspaces/inspect`, { method: 'POST', body: '{}' });
  assert.deepEqual([refused.status, refused.headers.get('allow')], [405, 'CONNECT']);
  await refused.text();
  const answered = await fetch(`http://127.0.0.1:${hookedPort}/v1/node/workspaces/inspect`, { method: 'POST', body: '{}' });
  assert.deepEqual([answered.status, await answered.text()], [200, 'hook POST /v1/node/workspaces/inspect']);
});
