/** The private PostgreSQL of a test file starts, serves, survives a kill -9 and a restart, and is removed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startPostgres } from './postgres.js';

test('a test file gets its own PostgreSQL cluster, removed at stop', async () => {
  const pgs = await startPostgres();
  const url = await pgs.createDatabase();
  assert.equal((await pgs.query(url, 'select 1 as x'))[0]!.x, 1);
  pgs.kill();
  await pgs.restart();
  assert.equal((await pgs.query(url, 'select 2 as x'))[0]!.x, 2);
  const dir = (await pgs.query<{ d: string }>(url, 'show data_directory'))[0]!.d;
  await pgs.stop();
  assert.equal(existsSync(dir), false, 'the cluster directory is removed');
});
