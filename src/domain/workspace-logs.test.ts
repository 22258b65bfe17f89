import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../contract/errors.js';
import type { WorkspaceRecord } from '../store/store.js';
import { WorkspaceLogs } from './workspace-logs.js';

const rec = { id: 'ws_1', state: 'running', version: 3 } as unknown as WorkspaceRecord;
const boot: any = { files: async () => [], read: async () => [], clear: async () => undefined, readFile: async () => null };
const deadAgent: any = { call: async () => { throw new AppError('agent_unreachable', 'The workspace agent did not answer'); } };

test('an agent gone because the workspace stopped or restarted meanwhile is 409 workspace_not_running', async () => {
  for (const now of [{ ...rec, state: 'stopped' }, { ...rec, version: 4 }]) {
    const logs = new WorkspaceLogs(boot, deadAgent, () => ({}) as any, async () => now as WorkspaceRecord);
    await assert.rejects(logs.files(rec), (e: any) => e.code === 'workspace_not_running' && e.details.field === 'id');
  }
});

test('an agent that does not answer while its workspace still runs is still agent_unreachable', async () => {
  const logs = new WorkspaceLogs(boot, deadAgent, () => ({}) as any, async () => rec);
  await assert.rejects(logs.files(rec), (e: any) => e.code === 'agent_unreachable');
});
