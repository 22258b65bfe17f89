/**
 * Found by the runtime fuzzer (seed 15015): a /files/write refused before its body was read
 * whole left the rest of the body on the keep-alive socket, and the next request on it (GET
 * /runtime) waited forever. The agent now drains the rest after its refusal (or closes the
 * connection when the rest can no longer be read); the gateway's side is replayed in
 * test/fuzz/regressions.json.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, type AgentHandle } from '../agent/harness.js';

let agent: AgentHandle;
before(async () => {
  agent = await startAgent();
});
after(async () => {
  await agent?.stop();
});

async function within(ms: number, p: Promise<{ status: number }>): Promise<number | 'hang'> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p.then((x) => x.status), new Promise<'hang'>((res) => (timer = setTimeout(() => res('hang'), ms)))]);
  clearTimeout(timer);
  return r;
}

test('a request after a refused, partly read body answers (keep-alive socket not reused)', async () => {
  for (let i = 0; i < 3; i++) {
    // A field of 1.1 MB the streaming parser refuses before the body ends (no file is written).
    const refused = await within(10_000, agent.call('/files/write', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"x":"${'y'.repeat(1_100_000)}"}`,
    }));
    assert.equal(refused, 400);
    for (let j = 0; j < 3; j++) assert.equal(await within(5_000, agent.call('/runtime', { method: 'GET' })), 200, 'the next request answers');
  }
});
