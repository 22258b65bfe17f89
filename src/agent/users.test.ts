import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveUser } from './users.js';

test('OCI User forms resolve against the image\'s passwd and group files', (t) => {
  const etc = mkdtempSync(join(tmpdir(), 'warren-etc-'));
  t.after(() => rmSync(etc, { recursive: true, force: true }));
  writeFileSync(join(etc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n');
  writeFileSync(join(etc, 'group'), 'root:x:0:\napp:x:1001:\nstaff:x:50:\n');
  assert.deepEqual(resolveUser('app', etc), { uid: 1000, gid: 1001, home: '/home/app' });
  assert.deepEqual(resolveUser('1000', etc), { uid: 1000, gid: 1001, home: '/home/app' });
  assert.deepEqual(resolveUser('app:staff', etc), { uid: 1000, gid: 50, home: '/home/app' });
  assert.deepEqual(resolveUser('4242:7', etc), { uid: 4242, gid: 7 });
  assert.deepEqual(resolveUser('4242', etc), { uid: 4242, gid: 0 });
  assert.throws(() => resolveUser('nobody-here', etc), /not in the image/);
  assert.throws(() => resolveUser('app:nogroup', etc), /not in the image/);
});
