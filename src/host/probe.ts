/**
 * Reads the host facts the default quota policy is sized from (HostFacts in
 * src/domain/ports.ts): memory and cores of the machine, size of the data dir's filesystem.
 */
import { statfs } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import type { HostFacts } from '../domain/ports.js';

export async function probeHost(dataDir: string): Promise<HostFacts> {
  const fs = await statfs(dataDir);
  return {
    memoryMb: Math.floor(totalmem() / (1024 * 1024)),
    cores: availableParallelism(),
    diskMb: Math.floor((fs.blocks * fs.bsize) / (1024 * 1024)),
  };
}
