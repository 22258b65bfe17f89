// Kernel behaviour of ensureBridge/removeBridge is covered in test/network/bridge.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../contract/errors.js';
import { assertIfname, ensureBridge, removeBridge } from './bridge.js';

test('assertIfname accepts Linux-sized safe names only', () => {
  for (const ok of ['wbr0', 'warren-br.1', 'a', 'x23456789012345']) assertIfname(ok);
  for (const bad of ['', 'x234567890123456', 'br 0', 'br"0', 'br;0', '-br', 'br/0', 'bré']) {
    assert.throws(() => assertIfname(bad), AppError, bad);
  }
});

test('ensureBridge and removeBridge validate before touching the host', async () => {
  await assert.rejects(ensureBridge('bad name', '10.213.0.0/16'), (e: unknown) =>
    e instanceof AppError && e.details?.field === 'bridge');
  await assert.rejects(ensureBridge('wbr0', '10.213.0.0/30'), (e: unknown) =>
    e instanceof AppError && e.details?.field === 'subnet');
  await assert.rejects(removeBridge('x"; flush ruleset'), AppError);
});
