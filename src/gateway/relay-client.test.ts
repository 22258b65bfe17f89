import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { codeForStatus, RelayClient, Relays, viaKey } from './relay-client.js';
import type { NodePurpose } from '../node/node-tokens.js';

/** A stand-in relay on loopback: records each CONNECT head and answers with `reply(head, socket)`. */
async function fakeRelay(reply: (head: string, socket: Socket) => void): Promise<{ port: number; heads: string[]; server: Server }> {
  const heads: string[] = [];
  const server = createServer((socket) => {
    let buf = '';
    socket.on('error', () => undefined);
    socket.on('data', function onData(c: Buffer) {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      heads.push(buf.slice(0, end));
      reply(buf.slice(0, end), socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, heads, server };
}

const signed: Array<[string, string, NodePurpose]> = [];
const sign = (n: string, t: string, p: NodePurpose) => {
  signed.push([n, t, p]);
  return `tok-${p}`;
};

test('CONNECT names the target and carries a fresh token; bytes sent behind the 200 are kept', async () => {
  const relay = await fakeRelay((_h, s) => {
    s.write('HTTP/1.1 200 Connection Established\r\n\r\nSSH-2.0-x\r\n');
    s.pipe(s);
  });
  try {
    const c = new RelayClient({ relayHost: '127.0.0.1', relayPort: relay.port, nodeId: 'node-a', sign });
    const tunnel = await c.openTunnel('10.9.0.2', 22, 'ssh');
    let data = '';
    tunnel.on('data', (d: Buffer) => { data += d.toString(); });
    tunnel.write('hello');
    while (!data.includes('hello')) await new Promise((r) => setTimeout(r, 5));
    assert.equal(data, 'SSH-2.0-x\r\nhello');
    tunnel.destroy();
    assert.match(relay.heads[0]!, /^CONNECT 10\.9\.0\.2:22 HTTP\/1\.1\r\n/);
    assert.match(relay.heads[0]!, /\r\nproxy-authorization: Warren-Node tok-ssh/i);
    assert.deepEqual(signed.at(-1), ['node-a', '10.9.0.2:22', 'ssh']);
  } finally {
    relay.server.close();
  }
});

test('relay statuses map to the gateway\'s unreachable reasons', async () => {
  for (const [status, code] of [[403, 'ERELAY_REFUSED'], [407, 'ERELAY_REFUSED'], [429, 'ERELAY_BUSY'], [503, 'ERELAY_BUSY'],
    [502, 'ECONNREFUSED'], [504, 'ETIMEDOUT_CONNECT']] as const) {
    assert.equal(codeForStatus(status), code);
    const relay = await fakeRelay((_h, s) => s.end(`HTTP/1.1 ${status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`));
    try {
      const c = new RelayClient({ relayHost: '127.0.0.1', relayPort: relay.port, nodeId: 'n', sign });
      await assert.rejects(c.openTunnel('10.9.0.2', 9990, 'agent'), { code });
    } finally {
      relay.server.close();
    }
  }
});

test('a relay that never answers times out as ETIMEDOUT_CONNECT', async () => {
  const relay = await fakeRelay(() => undefined);
  try {
    const c = new RelayClient({ relayHost: '127.0.0.1', relayPort: relay.port, nodeId: 'n', sign, connectTimeoutMs: 100 });
    await assert.rejects(c.openTunnel('10.9.0.2', 9990, 'agent'), { code: 'ETIMEDOUT_CONNECT' });
  } finally {
    relay.server.close();
  }
});

test('Relays keeps one client per relay', () => {
  const r = new Relays(sign);
  const via = { relayHost: '10.0.0.1', relayPort: 7000, nodeId: 'a' };
  assert.equal(r.client(via), r.client({ ...via }));
  assert.notEqual(r.client(via), r.client({ ...via, nodeId: 'b' }));
  assert.equal(viaKey(via), 'a@10.0.0.1:7000');
});
