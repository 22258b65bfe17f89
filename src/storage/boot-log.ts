/**
 * The boot log of each workspace: Warren's own provisioning steps (image, layer, network,
 * sandbox, agent), written by the host — the workspace cannot touch it. Files live in
 * `<workspaces dir>/<id>/logs/`: `boot.log` (this boot) and `boot.log.1` (the one
 * before, unless `keep_logs` is false), JSON lines `{"t","l","m"}`. A boot writes at
 * most MAX_LINES lines, so the pair is bounded for every workspace. While a boot runs
 * its lines are also kept in memory, so a follower replays and then sees every new line
 * in order with no file race; `end` releases followers.
 */
import { appendFile, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BootLogLine, BootLogPort } from '../domain/ports.js';

const MAX_LINES = 1000;
const MAX_MESSAGE = 1000;
export const BOOT_LOG_FILES = ['boot.log', 'boot.log.1'] as const;

interface LiveBoot {
  lines: BootLogLine[];
  followers: Set<{ onLine: (l: BootLogLine) => void; onEnd: () => void }>;
  writes: Promise<void>;
}

function parseLines(text: string): BootLogLine[] {
  const out: BootLogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    try {
      const v = JSON.parse(raw) as { t?: unknown; l?: unknown; m?: unknown };
      if (typeof v.t === 'string' && typeof v.m === 'string') {
        out.push({ timestamp: v.t, message: v.m, level: v.l === 'error' ? 'error' : 'info' });
      }
    } catch { /* a torn last line after a crash */ }
  }
  return out;
}

export class BootLogFiles implements BootLogPort {
  private readonly live = new Map<string, LiveBoot>();

  constructor(private readonly workspacesDir: string) {}

  private dir(id: string): string {
    return join(this.workspacesDir, id, 'logs');
  }

  async begin(id: string, keepPrevious: boolean): Promise<void> {
    this.end(id);
    const dir = this.dir(id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (keepPrevious) await rename(join(dir, 'boot.log'), join(dir, 'boot.log.1')).catch(() => undefined);
    else await rm(join(dir, 'boot.log.1'), { force: true });
    await rm(join(dir, 'boot.log'), { force: true });
    this.live.set(id, { lines: [], followers: new Set(), writes: Promise.resolve() });
  }

  step(id: string, message: string, level: 'info' | 'error' = 'info'): void {
    const boot = this.live.get(id);
    if (!boot || boot.lines.length >= MAX_LINES) return;
    const line: BootLogLine = { timestamp: new Date().toISOString(), message: message.slice(0, MAX_MESSAGE), level };
    boot.lines.push(line);
    const text = `${JSON.stringify({ t: line.timestamp, l: level, m: line.message })}\n`;
    boot.writes = boot.writes.then(() => appendFile(join(this.dir(id), 'boot.log'), text).catch(() => undefined));
    for (const f of boot.followers) f.onLine(line);
  }

  end(id: string): void {
    const boot = this.live.get(id);
    if (!boot) return;
    this.live.delete(id);
    for (const f of boot.followers) f.onEnd();
  }

  booting(id: string): boolean {
    return this.live.has(id);
  }

  async read(id: string, tail: number): Promise<BootLogLine[]> {
    const boot = this.live.get(id);
    const lines = boot ? boot.lines : (await this.readFile(id, 'boot.log')) ?? [];
    return lines.slice(-tail);
  }

  async files(id: string): Promise<Array<{ name: string; size: number; modified: string }>> {
    const out = [];
    for (const name of BOOT_LOG_FILES) {
      const st = await stat(join(this.dir(id), name)).catch(() => null);
      if (st?.isFile()) out.push({ name, size: st.size, modified: st.mtime.toISOString() });
    }
    return out;
  }

  async readFile(id: string, name: string): Promise<BootLogLine[] | null> {
    if (!(BOOT_LOG_FILES as readonly string[]).includes(name)) return null;
    const boot = this.live.get(id);
    if (boot) await boot.writes;
    const text = await readFile(join(this.dir(id), name), 'utf8').catch(() => null);
    return text === null ? null : parseLines(text);
  }

  async clear(id: string): Promise<void> {
    const boot = this.live.get(id);
    if (boot) {
      await boot.writes;
      boot.lines = [];
    }
    for (const name of BOOT_LOG_FILES) await rm(join(this.dir(id), name), { force: true });
  }

  async follow(id: string, tail: number, onLine: (l: BootLogLine) => void, onEnd: () => void): Promise<() => void> {
    const boot = this.live.get(id);
    if (!boot) {
      for (const l of await this.read(id, tail)) onLine(l);
      onEnd();
      return () => undefined;
    }
    for (const l of boot.lines.slice(-tail)) onLine(l);
    const follower = { onLine, onEnd };
    boot.followers.add(follower);
    return () => boot.followers.delete(follower);
  }
}
