/**
 * Shared workspace images for integration tests. Every integration test calls
 * `ensureTestImages()` before starting servers: the first run on a machine builds the
 * images' layers (a few minutes in all, progress on stderr), later runs find them cached
 * in TEST_IMAGES_DIR. Concurrent test files coordinate through the builder's lock files.
 */
import { ImageStore } from '../../src/images/image-store.js';
import { createProgressPrinter } from '../../src/images/progress.js';
import type { ImageRecord } from '../../src/images/records.js';

export const TEST_IMAGES_DIR = process.env.WARREN_TEST_IMAGES_DIR ?? '/var/cache/warren-test/images';

let store: ImageStore | undefined;

/** The process-wide test image store (dedupes concurrent ensure calls in one test file). */
export function testImageStore(): ImageStore {
  store ??= new ImageStore({
    imagesDir: TEST_IMAGES_DIR,
    onProgress: createProgressPrinter((line) => process.stderr.write(`${line}\n`)),
  });
  return store;
}

/** Builds the images once per machine; returns each id's image record. */
export async function ensureTestImages(ids: string[] = ['node-20', 'debian-12']): Promise<Record<string, ImageRecord>> {
  const s = testImageStore();
  const out: Record<string, ImageRecord> = {};
  // Sequential: the builds share layers and one .debs cache lock anyway.
  for (const id of ids) out[id] = await s.ensure(id);
  return out;
}
