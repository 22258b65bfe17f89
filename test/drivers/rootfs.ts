/**
 * Image layers for driver tests: the debian-12 catalog image of the shared test image
 * store (built once per machine from Debian's archive, cached; concurrent test files
 * coordinate through the builder's locks).
 */
import { testImageStore } from '../support/images.js';

/** Host directories usable as `spec.image.layers` (base first), building the image if needed. */
export async function testLayers(): Promise<string[]> {
  const store = testImageStore();
  return store.layerDirs(await store.ensure('debian-12'));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  testLayers().then((dirs) => console.log(dirs.join('\n')));
}
