#!/usr/bin/env node
/**
 * The `warren` command.
 *   warren serve [--port P] [--data-dir D] [--host H] [--bridge B] [--subnet CIDR] [--images-dir DIR]
 *   warren node --database-url URL …   (one host's sandboxes and relay: src/server-node.ts)
 *   warren control --database-url URL … (API, gateway, edge, jump host over the nodes: src/server-control.ts)
 *   warren images list|build|commit|delete …   (src/cli/images.ts)
 */
import { pino } from 'pino';
import { loadConfig, parseFlags } from '../config/load.js';
import { startWarren } from '../server.js';
import { startNode } from '../server-node.js';
import { startControl } from '../server-control.js';
import type { WarrenRole } from '../config/node.js';
import { purge } from './purge.js';
import { statusCommand } from './status.js';
import { IMAGES_USAGE, imagesCommand } from './images.js';
import { BACKUP_USAGE, backupCommand, restoreCommand } from './backup.js';
import { MIGRATE_USAGE, migrateCommand } from './migrate.js';
import { NODES_USAGE, nodesCommand } from './nodes.js';

const USAGE = `usage:
  warren serve [--port 8080] [--host 127.0.0.1] [--data-dir /var/lib/warren] [--images-dir DIR]
               [--bridge warren0] [--subnet 10.213.0.0/16] [--driver ns] [--log-level info]
               [--database-url postgres://user:password@host:5432/db]   (default: SQLite in the data dir)
  warren node --database-url URL [--data-dir D] [--bridge B] [--subnet CIDR] [--images-dir DIR]
              [--relay-host H] [--relay-port 7443] [--advertise HOST:PORT] [--node-id ID] [--node-name NAME]
              [--capacity-cpus N] [--capacity-memory-mb N] [--capacity-disk-mb N] [--max-workspaces 256] [--labels k=v,…]
              (one host of a fleet: its sandboxes, firewall and relay; registers and heartbeats; no API)
  warren control --database-url URL [--port 8080] [--host H] [--data-dir D] [--public-url URL]
              (a control-plane replica: API, gateway, edge and SSH jump host over the registered nodes)
${IMAGES_USAGE}
  warren purge --data-dir D [--bridge B] --yes   (removes every sandbox, firewall table and the bridge of that instance)
  warren status [--data-dir D] [--json]          (what Warren instances own on this host: bridges, tables, sandboxes)
${BACKUP_USAGE}
${MIGRATE_USAGE}
${NODES_USAGE}
Environment: WARREN_ADMIN_CLIENT_ID / WARREN_ADMIN_CLIENT_SECRET preset the admin API key;
WARREN_PORT, WARREN_DATA_DIR, WARREN_IMAGES_DIR, WARREN_BRIDGE, WARREN_SUBNET, WARREN_DATABASE_URL mirror the flags.`;

/** `warren serve` (role all), `warren node` or `warren control`: runs until SIGINT/SIGTERM. */
async function serve(flags: ReturnType<typeof parseFlags>['flags'], role: WarrenRole = 'all'): Promise<void> {
  const cfg = loadConfig(flags, role);
  const log = pino({ level: cfg.logLevel, base: undefined });
  const warren = role === 'node' ? await startNode(cfg, log) : role === 'control' ? await startControl(cfg, log) : await startWarren(cfg, log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing in-flight operations; workspaces keep running and are reattached on next start');
    await warren.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  const { positional, flags } = parseFlags(rest);
  if (cmd === 'serve') return serve(flags);
  if (cmd === 'node') return serve(flags, 'node');
  if (cmd === 'control') return serve(flags, 'control');
  if (cmd === 'images') return imagesCommand(loadConfig(flags), positional[0], positional.slice(1), {
    url: flags.url as string | undefined, name: flags.name as string | undefined, raw: rest.slice(1),
  });
  if (cmd === 'purge') return purge(flags);
  if (cmd === 'status') return statusCommand(flags);
  if ((cmd === 'backup' || cmd === 'restore') && flags.help === true) return void process.stdout.write(`usage:\n${BACKUP_USAGE}\n`);
  if (cmd === 'backup') return backupCommand(flags);
  if (cmd === 'restore') return restoreCommand(flags);
  if (cmd === 'migrate') {
    process.exitCode = await migrateCommand(flags);
    return;
  }
  if (cmd === 'nodes') {
    process.exitCode = await nodesCommand(positional, flags);
    return;
  }
  process.stdout.write(`${USAGE}\n`);
  if (cmd && cmd !== 'help' && cmd !== '--help') process.exitCode = 2;
}

main().catch((err: unknown) => {
  process.stderr.write(`warren: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
