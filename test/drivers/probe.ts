/**
 * How the behavioural conformance suite looks inside a sandbox, whatever the driver:
 * its agent's health, a file of its writable layer, whether a process it reported is
 * alive. `agentProbe` reaches the test agent (harness.ts) that runs argv inside a real
 * sandbox; `memoryProbe` reaches the memory driver's in-process agent.
 */
import { readFileSync } from 'node:fs';
import type { SandboxSpec } from '../../src/drivers/driver.js';
import type { MemoryDriver } from '../../src/drivers/memory/driver.js';
import { execIn, health, waitForAgent } from './agent-client.js';

export interface SandboxProbe {
  health(spec: SandboxSpec, timeoutMs?: number): Promise<{ ok: boolean; hostname: string }>;
  /** Polls health until it answers; the time it took. */
  waitForAgent(spec: SandboxSpec, timeoutMs?: number): Promise<number>;
  writeFile(spec: SandboxSpec, path: string, text: string): Promise<void>;
  /** The file's text; null when it does not exist. */
  readFile(spec: SandboxSpec, path: string): Promise<string | null>;
  /** Whether the process `inspect` reported as the sandbox's init is alive. */
  alive(pid: number): boolean;
}

/** A live, non-zombie host process (a killed child may stay a zombie until its parent reaps it). */
export function hostProcessAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Real sandboxes with the test agent: files through `sh`/`cat` inside, processes in /proc. */
export const agentProbe: SandboxProbe = {
  health,
  waitForAgent,
  async writeFile(spec, path, text) {
    const r = await execIn(spec, ['/bin/sh', '-c', 'cat > "$0" && sync', path], { input: text });
    if (r.code !== 0) throw new Error(`writing ${path} failed: ${r.stderr}`);
  },
  async readFile(spec, path) {
    const r = await execIn(spec, ['/bin/cat', path]);
    return r.code === 0 ? r.stdout : null;
  },
  alive: hostProcessAlive,
};

function filesUrl(spec: SandboxSpec, path: string): string {
  return `http://${spec.network.ip}:${spec.agent.port}/_memory/files?path=${encodeURIComponent(path)}`;
}

/** The memory driver's sandboxes: files through its agent's /_memory/files, pids it handed out. */
export function memoryProbe(driver: () => MemoryDriver): SandboxProbe {
  return {
    health,
    waitForAgent,
    async writeFile(spec, path, text) {
      const res = await fetch(filesUrl(spec, path), { method: 'PUT', body: text, signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`writing ${path} failed: ${res.status}`);
    },
    async readFile(spec, path) {
      const res = await fetch(filesUrl(spec, path), { signal: AbortSignal.timeout(5000) });
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`reading ${path} failed: ${res.status}`);
      return ((await res.json()) as { text: string }).text;
    },
    alive: (pid) => driver().isAlive(pid),
  };
}
