/**
 * Where end-to-end servers keep their response logs: every server `startServer` starts
 * appends its JSON responses (WARREN_TEST_RESPONSE_LOG) to a file here, and
 * test/zz-contract/responses.test.ts, sorted to run after every other suite, validates them
 * against the OpenAPI document. Overridable with WARREN_TEST_RESPONSE_DIR.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function responseLogDir(): string {
  const dir = process.env.WARREN_TEST_RESPONSE_DIR ?? join(tmpdir(), 'warren-test-responses');
  mkdirSync(dir, { recursive: true });
  return dir;
}
