/**
 * Composition of who may call the control plane: the scoped-token service (its signing
 * keys in `<dataDir>/secrets/access-keys.json`, or in the database with PostgreSQL, shared
 * by every replica; `onKeysChanged` tells the others to re-read), the authenticator with its failed
 * sign-in throttle, API-key management and the first admin key.
 */
import { join } from 'node:path';
import type { WarrenConfig } from './config/config.js';
import { AccessTokens } from './domain/access-tokens.js';
import { ApiKeyService } from './domain/api-keys.js';
import { Authenticator, type BearerScoper } from './domain/auth.js';
import { RateLimiter } from './domain/rate-limit.js';
import type { WorkspaceService } from './domain/workspaces.js';
import { hostFiles } from './host/files.js';
import { KeyRingFile } from './storage/key-ring.js';
import { KeyRingSetting } from './storage/shared-secrets.js';
import type { Store } from './store/store.js';

interface AccessLog {
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

export async function startAccess(cfg: WarrenConfig, store: Store, workspaces: WorkspaceService, bearer: BearerScoper, log: AccessLog,
  onKeysChanged?: () => void) {
  const ring = cfg.databaseUrl ? new KeyRingSetting(store) : new KeyRingFile(join(cfg.dataDir, 'secrets', 'access-keys.json'));
  const tokens = new AccessTokens({ store, ring, findWorkspace: (id) => workspaces.find(id), ...(onKeysChanged ? { changed: onKeysChanged } : {}) });
  await tokens.init();
  const auth = new Authenticator(store, bearer, tokens, {
    byClient: new RateLimiter(cfg.limits.authFailures), byAddress: new RateLimiter(cfg.limits.authFailures),
  });
  const apiKeys = new ApiKeyService(store, (id) => auth.forget(id));
  const admin = await auth.bootstrapAdmin({ dataDir: cfg.dataDir, files: hostFiles },
    cfg.adminClientId && cfg.adminClientSecret ? { clientId: cfg.adminClientId, secret: cfg.adminClientSecret } : undefined);
  if (admin.created) {
    log.warn({ client_id: admin.clientId, file: admin.file }, 'generated the admin API key (shown once; also saved in the data dir, mode 0600)');
    process.stdout.write(`\nWarren admin API key\n  X-Client-ID:     ${admin.clientId}\n  X-Client-Secret: ${admin.secret}\n  (saved in ${admin.file})\n\n`);
  }
  // Expired tokens' rows and revoked ids are dropped hourly (by the leader, fenced to its term);
  // they could not be used anyway.
  let pruneTimer: NodeJS.Timeout | null = null;
  const prune = {
    name: 'token prune',
    start(fence: <T>(fn: () => Promise<T>) => Promise<T>) {
      pruneTimer = setInterval(() => {
        fence(() => tokens.prune()).catch((err) => log.error({ err }, 'pruning expired tokens failed'));
      }, 3_600_000);
      pruneTimer.unref();
    },
    stop() {
      if (pruneTimer) clearInterval(pruneTimer);
      pruneTimer = null;
    },
  };
  return { tokens, auth, apiKeys, prune };
}
