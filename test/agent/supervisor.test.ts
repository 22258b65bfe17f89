/** The agent supervises config.json `cmd` with the workspace env and stops it on shutdown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, processGone, waitFor } from './harness.js';

test('config.cmd runs with the workspace env and dies with the agent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wtest-sup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out.txt');
  const agent = await startAgent({
    config: {
      workspace_id: 'ws_sup', hostname: 'wtest', env: { GREETING: 'hi-from-config' },
      cmd: ['sh', '-c', `echo "$GREETING" > ${out}; exec sleep 30`],
    },
  });
  let pid = 0;
  try {
    assert.ok(await waitFor(() => {
      try { return readFileSync(out, 'utf8') === 'hi-from-config\n'; } catch { return false; }
    }, 5000));
    const info = (await agent.call('/runtime')).body;
    const cmd = info.boot_services.cmd;
    assert.equal(cmd.subsystem, 'cmd');
    assert.equal(cmd.state, 'running');
    assert.equal(cmd.attempts, 1);
    assert.equal(cmd.supervisor_pid, agent.pid);
    assert.equal(typeof cmd.pid, 'number');
    pid = cmd.pid;
  } finally {
    await agent.stop();
  }
  assert.ok(await waitFor(() => processGone(pid), 4000), 'supervised command outlived the agent');
});

test('a command that cannot start is reported as failed', async () => {
  const agent = await startAgent({ config: { workspace_id: 'ws_sup2', env: {}, cmd: ['/nonexistent/app'] } });
  try {
    let cmd: any;
    for (let i = 0; i < 50; i++) {
      cmd = (await agent.call('/runtime')).body.boot_services.cmd;
      if (cmd.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(cmd.state, 'failed');
    assert.match(cmd.error, /ENOENT/);
    assert.equal((await agent.call('/health')).status, 200);
  } finally {
    await agent.stop();
  }
});

test('no cmd: no boot_services; bad config.json is tolerated', async () => {
  const agent = await startAgent({ config: { workspace_id: 'ws_sup3', env: 'not-an-object' } });
  try {
    const info = (await agent.call('/runtime')).body;
    assert.equal(info.boot_services, undefined);
    assert.equal((await agent.call('/exec', { method: 'POST', body: '{"cmd":["true"]}' })).body.exit_code, 0);
  } finally {
    await agent.stop();
  }
});

test('stopping the agent kills task groups that ignore SIGTERM', async () => {
  const agent = await startAgent();
  const pending = agent.call('/exec', {
    method: 'POST',
    body: JSON.stringify({ cmd: ['sh', '-c', 'trap "" TERM; sleep 30 & echo $!; wait'] }),
  }).catch(() => null);
  let pid = 0;
  for (let i = 0; i < 50 && !pid; i++) {
    const t = (await agent.call('/exec')).body.tasks[0];
    if (t?.status === 'running') pid = t.guest_pid;
    else await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(pid > 0);
  await agent.stop();
  await pending;
  assert.ok(await waitFor(() => processGone(pid), 3000), 'task survived the agent');
});
