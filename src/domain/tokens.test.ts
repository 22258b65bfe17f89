import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  GATEWAY_TOKEN_TTL_SECONDS,
  WORKSPACE_TOKEN_TTL_SECONDS,
  looksLikeJwt,
  newRawToken,
  safeEqual,
  signGatewayToken,
  verifyGatewayToken,
} from './tokens.js';

const SECRET = 'test-secret-0123456789';
const INPUT = { workspaceId: 'ws_abc', ip: '10.213.0.10', port: 9990, generation: 3, kind: 'gateway' as const };

test('sign then verify returns the claims', () => {
  const token = signGatewayToken(SECRET, INPUT, GATEWAY_TOKEN_TTL_SECONDS);
  assert.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.ok(looksLikeJwt(token));
  const claims = verifyGatewayToken(SECRET, token);
  assert.ok(claims);
  assert.equal(claims.sub, 'ws_abc');
  assert.equal(claims.ip, '10.213.0.10');
  assert.equal(claims.port, 9990);
  assert.equal(claims.gen, 3);
  assert.equal(claims.kind, 'gateway');
  assert.equal(claims.exp - claims.iat, 3600);
  assert.ok(claims.jti.length >= 16);
});

test('workspace token lives 30 days and jti is unique', () => {
  const a = signGatewayToken(SECRET, { ...INPUT, kind: 'workspace' }, WORKSPACE_TOKEN_TTL_SECONDS);
  const b = signGatewayToken(SECRET, { ...INPUT, kind: 'workspace' }, WORKSPACE_TOKEN_TTL_SECONDS);
  const ca = verifyGatewayToken(SECRET, a);
  const cb = verifyGatewayToken(SECRET, b);
  assert.ok(ca && cb);
  assert.equal(ca.exp - ca.iat, 30 * 86400);
  assert.equal(ca.kind, 'workspace');
  assert.notEqual(ca.jti, cb.jti);
});

test('wrong secret, tampered payload or signature → null', () => {
  const token = signGatewayToken(SECRET, INPUT, 60);
  assert.equal(verifyGatewayToken('other-secret', token), null);
  const [h, p, s] = token.split('.') as [string, string, string];
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'ws_evil' }))
    .toString('base64url');
  assert.equal(verifyGatewayToken(SECRET, `${h}.${forged}.${s}`), null);
  // the character replaced decides the replacement: judging by another one left it unchanged one time in 64
  const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.slice(-1);
  assert.notEqual(flipped, s);
  assert.equal(verifyGatewayToken(SECRET, `${h}.${p}.${flipped}`), null);
});

test('malformed tokens → null, never throw', () => {
  for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', '...', 'eyJ.eyJ.', '!!.??.##', 'x'.repeat(10000)]) {
    assert.equal(verifyGatewayToken(SECRET, bad), null, bad.slice(0, 20));
  }
  assert.equal(verifyGatewayToken(SECRET, undefined as unknown as string), null);
});

test('expired token → null', () => {
  const sign = (payload: object, header: object = { alg: 'HS256', typ: 'JWT' }) => {
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
  };
  const now = Math.floor(Date.now() / 1000);
  const base = { sub: 'ws_a', ip: '10.0.0.1', port: 9990, gen: 1, kind: 'gateway', iat: now - 100, jti: 'jjjjjjjjjjjjjjjj' };
  assert.equal(verifyGatewayToken(SECRET, sign({ ...base, exp: now - 1 })), null);
  assert.ok(verifyGatewayToken(SECRET, sign({ ...base, exp: now + 100 })));
  // alg confusion and wrong claim types are rejected even with a valid MAC
  assert.equal(verifyGatewayToken(SECRET, sign({ ...base, exp: now + 100 }, { alg: 'none' })), null);
  assert.equal(verifyGatewayToken(SECRET, sign({ ...base, exp: now + 100, port: '9990' })), null);
  assert.equal(verifyGatewayToken(SECRET, sign({ ...base, exp: now + 100, kind: 'admin' })), null);
  assert.equal(verifyGatewayToken(SECRET, sign([1, 2])), null);
});

test('signing rejects a non-positive ttl', () => {
  assert.throws(() => signGatewayToken(SECRET, INPUT, 0));
});

test('newRawToken is 64 hex chars and random', () => {
  const a = newRawToken();
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.notEqual(a, newRawToken());
  assert.equal(looksLikeJwt(a), false);
});

test('safeEqual', () => {
  assert.equal(safeEqual('abc', 'abc'), true);
  assert.equal(safeEqual('abc', 'abd'), false);
  assert.equal(safeEqual('abc', 'abcd'), false);
  assert.equal(safeEqual('', ''), true);
});
