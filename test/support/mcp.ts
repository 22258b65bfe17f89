/**
 * Drives the unmodified `oblien-mcp` over stdio JSON-RPC (one JSON object per
 * line): initialize once, then call tools and wait for their replies by id.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ROOT } from './warren.js';

export interface McpSession {
  callTool(name: string, args: Record<string, unknown>, timeoutMs?: number): Promise<any>;
  close(): void;
}

export async function startMcp(env: NodeJS.ProcessEnv, initTimeoutMs = 15_000): Promise<McpSession> {
  const mcp = spawn(join(ROOT, 'node_modules', '.bin', 'oblien-mcp'), [], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = new Map<number, any>();
  let buf = '';
  mcp.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const msg = JSON.parse(line);
        if (msg.id !== undefined) replies.set(msg.id, msg);
      } catch {
        // not a JSON-RPC line
      }
    }
  });
  const send = (m: unknown) => mcp.stdin.write(JSON.stringify(m) + '\n');
  const reply = async (id: number, timeoutMs: number) => {
    for (let waited = 0; waited < timeoutMs && !replies.has(id); waited += 50) await new Promise((r) => setTimeout(r, 50));
    return replies.get(id);
  };
  let nextId = 1;
  try {
    send({ jsonrpc: '2.0', id: nextId, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'warren-test', version: '1' } } });
    assert.ok(await reply(nextId++, initTimeoutMs), 'oblien-mcp answered initialize');
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  } catch (err) {
    mcp.kill();
    throw err;
  }
  return {
    async callTool(name, args, timeoutMs = 15_000) {
      const id = nextId++;
      send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
      return reply(id, timeoutMs);
    },
    close: () => mcp.kill(),
  };
}
