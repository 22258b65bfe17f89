import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Relays } from './relay-client.js';
import { portProbe, waitForTcpVia } from './relay-probe.js';

/** A stand-in relay: 502 (the sandbox refuses) for the first `refusals` CONNECTs, then 200; records the heads. */
async function relay(refusals: number) {
  const heads: string[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', (c: Buffer) => {
      heads.push(c.toString('latin1').split('\r\n')[0]!);
      socket.end(heads.length > refusals ? 'HTTP/1.1 200 Connection Established\r\n\r\n' : 'HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { heads, server, via: { relayHost: '127.0.0.1', relayPort: (server.address() as AddressInfo).port, nodeId: 'node-a' } };
}

const relays = new Relays((_n, _t, p) => `tok-${p}`);

test('waits through the relay until the sandbox port accepts; edge tunnels to the exact target', async (t) => {
  const r = await relay(2);
  t.after(() => r.server.close());
  assert.equal(await waitForTcpVia(relays, r.via, '10.9.0.5', 3000, 5_000), true);
  assert.deepEqual(r.heads, Array(3).fill('CONNECT 10.9.0.5:3000 HTTP/1.1'));
});

test('gives up after the timeout; without a via the probe is direct', async (t) => {
  const r = await relay(1_000);
  t.after(() => r.server.close());
  assert.equal(await waitForTcpVia(relays, r.via, '10.9.0.5', 3000, 500), false);
  // Direct: nothing listens on this loopback port (the stand-in relay is not asked).
  const before = r.heads.length;
  assert.equal(await portProbe(relays)('127.0.0.1', 1, 300), false);
  assert.equal(r.heads.length, before);
});
