/**
 * What an image's config contributes to a new workspace (OCI semantics): its `Env` under
 * the workspace's own variables, and `Entrypoint` + `Cmd` as the command when the
 * create sets none. WorkingDir and User apply to that command at every boot (the
 * orchestrator reads them from the pinned image), so they are not copied here.
 */
import type { WorkspaceConfig } from '../contract/workspace.js';
import type { ImageFacts } from './ports.js';

export function withImageDefaults(config: WorkspaceConfig, image: ImageFacts): WorkspaceConfig {
  const env = new Map<string, string>();
  for (const entry of image.env) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const { key, value } of config.env) env.set(key, value);
  const cmd = config.cmd ?? (image.command.length > 0 ? [...image.command] : null);
  return { ...config, env: [...env].map(([key, value]) => ({ key, value })), cmd };
}
