#!/usr/bin/env node
/**
 * The `warren` command.
 *   warren serve [--port P] [--data-dir D] [--host H] [--bridge B] [--subnet CIDR] [--images-dir DIR]
 *   warren images list|build|commit|delete …   (src/cli/images.ts)
 */
import { pino } from 'pino';
import { loadConfig, parseFlags } from '../config/load.js';
import { startWarren } from '../server.js';
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
${IMAGES_USAGE}
  warren purge --data-dir D [--bridge B] --yes   (removes every sandbox, firewall table and the bridge of that instance)
  warren status [--data-dir D] [--json]          (what Warren instances own on this host: bridges, tables, sandboxes)
${BACKUP_USAGE}
${MIGRATE_USAGE}
${NODES_USAGE}
Environment: WARREN_ADMIN_CLIENT_ID / WARREN_ADMIN_CLIENT_SECRET preset the admin API key;
WARREN_PORT, WARREN_DATA_DIR, WARREN_IMAGES_DIR, WARREN_BRIDGE, WARREN_SUBNET, WARREN_DATABASE_URL mirror the flags.`;

async function serve(flags: ReturnType<typeof parseFlags>['flags']): Promise<void> {
  const cfg = loadConfig(flags);
  const log = pino({ level: cfg.logLevel, base: undefined });
  const warren = await startWarren(cfg, log);
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
