/**
 * The unmodified `oblien` SDK's Runtime client → gateway (with a gateway JWT from
 * src/domain/tokens) → the real agent process. Checks the wire contract end to end.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from 'oblien/runtime';
import { signGatewayToken, verifyGatewayToken } from '../../src/domain/tokens.js';
import { AppError } from '../../src/contract/errors.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { startAgent, type AgentHandle } from '../agent/harness.js';
import { listen } from './harness.js';
import { createServer, type Server } from 'node:http';

const SECRET = 'gateway-test-secret';
const RAW = 'e'.repeat(64);
let agent: AgentHandle;
let server: Server;
let base = '';
let jwt = '';
let closeGateway = () => {};

before(async () => {
  agent = await startAgent({ token: RAW });
  const gateway = createGateway({
    resolve: async (token) => {
      const claims = verifyGatewayToken(SECRET, token);
      if (!claims) throw new AppError('unauthorized', 'Invalid or expired runtime token');
      return { workspaceId: claims.sub, host: claims.ip, port: claims.port, agentToken: RAW };
    },
  });
  closeGateway = () => gateway.close();
  server = createServer((req, res) => gateway.handleRequest(req, res));
  base = `http://127.0.0.1:${await listen(server)}`;
  jwt = signGatewayToken(SECRET, { workspaceId: 'ws_sdk', ip: '127.0.0.1', port: agent.port, generation: 1, kind: 'gateway' }, 3600);
});
after(async () => {
  closeGateway();
  server?.closeAllConnections();
  server?.close();
  await agent?.stop();
});

test('health, info, targets, exec and stat through the SDK', async () => {
  const rt = new Runtime({ token: jwt, baseUrl: base });
  assert.equal(await rt.health(), true);
  const info = await rt.info();
  assert.equal(info.os, 'linux');
  assert.equal(info.home, '/root');
  const targets = await rt.targets();
  assert.equal(targets.default_target, 'linux');

  const run = await rt.exec.run(['sh', '-c', 'echo out; echo err >&2; exit 4']);
  assert.equal(run.stdout, 'out\n');
  assert.equal(run.stderr, 'err\n');
  assert.equal(run.exit_code, 4);
  const tasks = await rt.exec.list();
  assert.ok(tasks.some((t) => t.id === run.id));
  const got = await rt.exec.get(run.id);
  assert.equal(got.exit_code, 4);
  await rt.exec.kill(run.id);

  const st = await rt.files.stat({ path: '/root' });
  assert.equal(st.type, 'directory');

  const linux = rt.forTarget('linux');
  assert.equal((await linux.exec.run(['echo', 'scoped'])).stdout, 'scoped\n');
  assert.equal(await linux.health(), true);
});

test('SDK errors: bad token and unknown target throw with codes', async () => {
  const bad = new Runtime({ token: 'not-a-token', baseUrl: base });
  await assert.rejects(bad.exec.run(['true']), (err: any) => err.status === 401 && err.code === 'unauthorized');
  const rt = new Runtime({ token: jwt, baseUrl: base });
  await assert.rejects(rt.forTarget('macos').exec.run(['true']), (err: any) => err.status === 404 && err.code === 'unknown_target');
  await assert.rejects(rt.files.stat({ path: '/definitely/missing' }), (err: any) => err.code === 'not_found');
  // health answered by the gateway itself is still "ok" for a token-less client
  assert.equal(await new Runtime({ token: '', baseUrl: base }).health(), true);
});
