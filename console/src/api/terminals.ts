/**
 * Terminal sessions of the runtime API (runtime.md §6): list, create, close. Their I/O goes
 * over the workspace's `/ws` (terminal/socket.ts); ids are decimal strings "1"…"255".
 */
import { ApiError } from './errors.js';
import { runtimeJson } from './runtime.js';

export interface TerminalInfo {
  id: string;
  command?: string[];
  cols?: number;
  rows?: number;
  alive?: boolean;
  exit_code?: number;
  created_at?: string;
  scrollback_size?: number;
}

export async function listTerminals(workspaceId: string): Promise<TerminalInfo[]> {
  const body = await runtimeJson<{ terminals?: TerminalInfo[] }>(workspaceId, 'GET', '/terminals');
  return (body.terminals ?? []).map((t) => ({ ...t, id: String(t.id) }));
}

export async function createTerminal(workspaceId: string, size: { cols: number; rows: number }): Promise<TerminalInfo> {
  const body = await runtimeJson<TerminalInfo>(workspaceId, 'POST', '/terminals', { body: size });
  return { ...body, id: String(body.id) };
}

/** Kills the session; one that is already gone counts as closed. */
export async function closeTerminal(workspaceId: string, id: string): Promise<void> {
  try {
    await runtimeJson(workspaceId, 'DELETE', `/terminals/${encodeURIComponent(id)}`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
}
