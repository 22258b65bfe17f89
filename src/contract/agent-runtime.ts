/**
 * The agent's runtime bundle as every sandbox sees it: the host's Node, ripgrep, GNU tar
 * and gzip, the pty addon and every shared library they load (glibc and its loader
 * included), bound read-only at /.warren/runtime. Built on the host by
 * src/storage/runtime-bundle.ts; the agent runs from it and takes its own tools from it,
 * so an image needs no Node, glibc, shell or coreutils of its own for the runtime API.
 *
 * Shared by the host (what to build and where to bind it) and the agent (what to run), so
 * dependency-free: the agent imports it.
 */

/** Where the bundle appears inside a sandbox. Its libraries are in `${RUNTIME_MOUNT}/lib`. */
export const RUNTIME_MOUNT = '/.warren/runtime';

/** What the bundle holds, by path relative to its root. */
export const RUNTIME_FILES = {
  /** The Node binary the agent runs on. */
  node: 'bin/node',
  /** ripgrep, for content search (`/files/search`). */
  rg: 'bin/rg',
  /** GNU tar and gzip, for `/files/transfer/*`. */
  tar: 'bin/tar',
  gzip: 'bin/gzip',
  /** node-pty's native addon, built for this Node's ABI and glibc (terminals). */
  ptyAddon: 'addons/pty.node',
} as const;

export type RuntimeFile = keyof typeof RUNTIME_FILES;

/** The in-sandbox path of one file of the bundle. */
export function runtimePath(file: RuntimeFile): string {
  return `${RUNTIME_MOUNT}/${RUNTIME_FILES[file]}`;
}
