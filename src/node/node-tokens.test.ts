import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateNodeKey, NodeTokenSigner, NodeTokenVerifier, NODE_TOKEN_TTL_MS } from './node-tokens.js';

const expect = { nodeId: 'node-a', target: '10.250.0.2:9990' };

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('a token verifies for its node and exact target, and carries its claims', () => {
  const k = generateNodeKey('k1');
  const c = clock();
  const token = new NodeTokenSigner(k, 'replica-1', NODE_TOKEN_TTL_MS, c.now).sign('node-a', '10.250.0.2:9990', 'agent');
  const r = new NodeTokenVerifier([k], c.now).verify(token, expect);
  assert.equal(r.ok, true);
  if (!r.ok) return;
  assert.equal(r.claims.purpose, 'agent');
  assert.equal(r.claims.caller, 'replica-1');
  assert.equal(r.claims.expiresAt, c.now() + NODE_TOKEN_TTL_MS);
  assert.ok(r.claims.nonce.length >= 16);
});

test('two tokens for the same target differ (nonce)', () => {
  const s = new NodeTokenSigner(generateNodeKey('k1'), 'r');
  assert.notEqual(s.sign('node-a', '10.250.0.2:22', 'ssh'), s.sign('node-a', '10.250.0.2:22', 'ssh'));
});

test('tampered payload or signature is refused', () => {
  const k = generateNodeKey('k1');
  const v = new NodeTokenVerifier([k]);
  const token = new NodeTokenSigner(k, 'r').sign('node-a', '10.250.0.2:9990', 'agent');
  const [p, kid, payload, sig] = token.split('.') as [string, string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  claims.t = '10.250.0.3:9990';
  const forged = `${p}.${kid}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
  assert.deepEqual(v.verify(forged, { ...expect, target: '10.250.0.3:9990' }), { ok: false, reason: 'bad_signature' });
  const flipped = sig.slice(0, -2) + (sig.endsWith('AA') ? 'BB' : 'AA');
  assert.deepEqual(v.verify(`${p}.${kid}.${payload}.${flipped}`, expect), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(v.verify(`${p}.${kid}.${payload}.`, expect), { ok: false, reason: 'bad_signature' });
  // signed with another key under the same kid
  const other = new NodeTokenSigner({ kid: 'k1', key: generateNodeKey('x').key }, 'r').sign('node-a', '10.250.0.2:9990', 'agent');
  assert.deepEqual(v.verify(other, expect), { ok: false, reason: 'bad_signature' });
});

test('malformed tokens are refused without throwing', () => {
  const v = new NodeTokenVerifier([generateNodeKey('k1')]);
  for (const t of ['', 'x', 'wn1.k1.a', 'wn2.k1.a.b', 'wn1.k1.a.b.c', 'x'.repeat(5000)]) {
    const r = v.verify(t, expect);
    assert.equal(r.ok, false, t.slice(0, 20));
  }
});

test('an expired token is refused', () => {
  const k = generateNodeKey('k1');
  const c = clock();
  const token = new NodeTokenSigner(k, 'r', 60_000, c.now).sign('node-a', '10.250.0.2:9990', 'agent');
  const v = new NodeTokenVerifier([k], c.now);
  c.advance(59_999);
  assert.equal(v.verify(token, expect).ok, true);
  c.advance(1);
  assert.deepEqual(v.verify(token, expect), { ok: false, reason: 'expired' });
});

test('a token claiming a very long life is refused', () => {
  const k = generateNodeKey('k1');
  const token = new NodeTokenSigner(k, 'r', 24 * 3600_000).sign('node-a', '10.250.0.2:9990', 'agent');
  assert.equal(new NodeTokenVerifier([k]).verify(token, expect).ok, false);
});

test('wrong node, wrong target, unknown kid', () => {
  const k = generateNodeKey('k1');
  const s = new NodeTokenSigner(k, 'r');
  const v = new NodeTokenVerifier([k]);
  assert.deepEqual(v.verify(s.sign('node-b', '10.250.0.2:9990', 'agent'), expect), { ok: false, reason: 'wrong_node' });
  assert.deepEqual(v.verify(s.sign('node-a', '10.250.0.2:22', 'ssh'), expect), { ok: false, reason: 'wrong_target' });
  assert.deepEqual(v.verify(s.sign('node-a', '10.250.0.22:9990', 'agent'), expect), { ok: false, reason: 'wrong_target' });
  const stranger = new NodeTokenSigner(generateNodeKey('k9'), 'r').sign('node-a', '10.250.0.2:9990', 'agent');
  assert.deepEqual(v.verify(stranger, expect), { ok: false, reason: 'unknown_kid' });
});

test('a rotated key keeps verifying until it is retired', () => {
  const old = generateNodeKey('k1');
  const next = generateNodeKey('k2');
  const v = new NodeTokenVerifier([old]);
  const before = new NodeTokenSigner(old, 'r').sign('node-a', '10.250.0.2:9990', 'agent');
  v.addKey(next);
  const after = new NodeTokenSigner(next, 'r').sign('node-a', '10.250.0.2:9990', 'agent');
  assert.equal(v.verify(before, expect).ok, true);
  assert.equal(v.verify(after, expect).ok, true);
  v.retireKey('k1');
  assert.deepEqual(v.verify(before, expect), { ok: false, reason: 'unknown_kid' });
  assert.equal(v.verify(after, expect).ok, true);
});

test('keys must be 32 bytes with a plain kid', () => {
  assert.throws(() => new NodeTokenVerifier([{ kid: 'k1', key: Buffer.alloc(16) }]));
  assert.throws(() => new NodeTokenSigner({ kid: 'a.b', key: Buffer.alloc(32) }, 'r'));
});
