/**
 * GET /runtime → RuntimeInfo and GET /runtimes → discovery (runtime.md §2.2–2.3).
 * This agent is one Linux runtime: target `linux`, with `default` as its alias.
 */
import { arch, cpus, availableParallelism } from 'node:os';
import { reply, type Router } from '../http.js';
import { HOME, userShell } from '../process.js';
import type { BootServiceStatus } from '../supervisor.js';

export const PROTOCOL_VERSION = 1;
export const LOCAL_TARGET = 'linux';
export const TARGET_ALIASES: Record<string, string> = { default: LOCAL_TARGET };

/** Targets this agent answers to in `/runtimes/:target/…`. */
export function isKnownTarget(target: string): boolean {
  return target === LOCAL_TARGET || target in TARGET_ALIASES;
}

export interface RuntimeDeps {
  capabilities: string[];
  bootService: () => BootServiceStatus | null;
}

const UNAME_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', arm: 'armv7l' };

export function runtimeInfo(deps: RuntimeDeps): Record<string, unknown> {
  const info: Record<string, unknown> = {
    success: true,
    os: 'linux',
    arch: UNAME_ARCH[arch()] ?? arch(),
    cpus: typeof availableParallelism === 'function' ? availableParallelism() : cpus().length,
    home: HOME,
    shell: userShell(),
    protocol_version: PROTOCOL_VERSION,
    capabilities: deps.capabilities,
  };
  const boot = deps.bootService();
  if (boot) info.boot_services = { cmd: boot };
  return info;
}

export function registerRuntimeRoutes(router: Router, deps: RuntimeDeps): void {
  router.get('/runtime', () => reply(runtimeInfo(deps)));
  router.get('/runtimes', () => {
    const { success: _ignored, ...runtime } = runtimeInfo(deps);
    return reply({
      success: true,
      version: 1,
      default_target: LOCAL_TARGET,
      aliases: TARGET_ALIASES,
      targets: [{ id: LOCAL_TARGET, local: true, available: true, version: PROTOCOL_VERSION, runtime }],
    });
  }, { rootOnly: true });
}
