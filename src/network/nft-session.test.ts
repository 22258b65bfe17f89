// The long-lived nft session against the real kernel, on a table of its own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { run, tryRun } from '../util/exec.js';
import { NftSession, NftSessionError } from './nft-session.js';
import { isAppError } from '../contract/errors.js';
import { toWireError } from '../contract/envelope.js';
import { findLeaks } from '../../test/support/leaks.js';

const table = `wtS_${randomBytes(3).toString('hex')}`;
const session = new NftSession();
const elements = async () => ((await run('nft', ['list', 'set', 'inet', table, 's'])).stdout.match(/elements = \{ ([^}]*) \}/)?.[1] ?? '').replace(/\s+/g, ' ');

before(async () => {
  await run('nft', ['-f', '-'], { input: `table inet ${table} { set s { type ipv4_addr; }; }\n` });
});
after(async () => {
  session.close();
  await tryRun('nft', ['delete', 'table', 'inet', table]);
});

test('a multi-line script is applied as one transaction', async () => {
  await session.apply(`add element inet ${table} s { 10.9.0.1 }\nadd element inet ${table} s { 10.9.0.2 }\n`);
  assert.equal(await elements(), '10.9.0.1, 10.9.0.2');
  const refused = await session.apply(`delete element inet ${table} s { 10.9.0.1 }\nadd element inet ${table} nosuch { 10.9.0.3 }`)
    .then(() => assert.fail('applied'), (err: unknown) => err);
  assert.match(String(refused), /nft refused the change/);
  // nft's text names addresses (issue 15): an internal error, answered as a generic 500.
  assert.ok(refused instanceof NftSessionError && !isAppError(refused));
  const { status, body } = toWireError(refused);
  assert.equal(status, 500);
  assert.deepEqual(findLeaks(body), [], JSON.stringify(body));
  assert.equal(await elements(), '10.9.0.1, 10.9.0.2', 'nothing of the failed batch applied');
});

test('changes are fast and serialised; the session survives errors and restarts after a kill', async () => {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 20 }, (_, i) =>
    session.apply(`${i % 2 ? 'delete' : 'add'} element inet ${table} s { 10.9.1.1 }`)));
  const perChange = (performance.now() - t0) / 20;
  assert.equal(await elements(), '10.9.0.1, 10.9.0.2');
  console.log(`session: ${perChange.toFixed(2)} ms per change`);
  session.close();
  await session.apply(`add element inet ${table} s { 10.9.0.3 }`);
  assert.equal(await elements(), '10.9.0.1, 10.9.0.2, 10.9.0.3');
});
