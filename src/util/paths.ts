import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project root (holding package.json, dist/ and node_modules/), found from this
 * file's location in either src/util (tsx) or dist/util (compiled).
 */
export function projectRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}
