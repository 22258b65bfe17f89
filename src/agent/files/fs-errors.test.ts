/**
 * fsError: a filesystem condition the caller's path can cause is a 4xx with the errno as
 * `details.reason`; only an unknown errno is a 500 (issue 15's runtime fuzzer: deleting `/tmp`,
 * a mount point inside the sandbox, answered 500).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_STATUS } from '../../contract/errors.js';
import { fsError } from './fs-errors.js';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, rmdir '/tmp'`), { code });
}

test('errnos a caller can cause are 4xx with the errno as reason, never the OS text', () => {
  const cases: Array<[string, number]> = [
    ['ENOENT', 404], ['ENOTDIR', 404], ['EACCES', 403], ['EPERM', 403], ['EROFS', 403],
    ['EBUSY', 409], ['EEXIST', 409], ['ENOTEMPTY', 409], ['EISDIR', 400], ['EINVAL', 400],
    ['ELOOP', 400], ['EXDEV', 400], ['ENAMETOOLONG', 400], ['ENOSPC', 413], ['EDQUOT', 413],
  ];
  for (const [code, status] of cases) {
    const e = fsError(errno(code), '/tmp');
    assert.equal(ERROR_STATUS[e.code], status, code);
    assert.equal(e.details?.field, 'path', code);
    assert.ok(!e.message.includes('rmdir'), `${code}: no OS text`);
  }
  assert.equal(fsError(errno('EBUSY'), '/tmp').details?.reason, 'EBUSY');
});

test('an errno no caller causes stays a 500, with the errno only', () => {
  const e = fsError(errno('EIO'), '/data');
  assert.equal(ERROR_STATUS[e.code], 500);
  assert.equal(e.details?.reason, 'EIO');
});

test('a spool the caller removed or filled is a 409 or 413 with the errno', async () => {
  const { spoolError } = await import('./fs-errors.js');
  assert.equal(ERROR_STATUS[spoolError(errno('ENOENT')).code], 409);
  assert.equal(spoolError(errno('ENOENT')).details?.reason, 'ENOENT');
  assert.equal(ERROR_STATUS[spoolError(errno('ENOSPC')).code], 413);
});
