/**
 * The body of extractLayer, run in a worker thread (src/images/oci/extract-worker.ts): the
 * blob streamed once through its hashes into tar-stream, each entry written by LayerWriter,
 * the digests compared, then whiteouts, opaque marks and directory metadata applied.
 * Throws AppErrors for what is wrong with the layer; leaves cleaning up to the caller.
 */
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { openTar } from './blob-stream.js';
import { LayerWriter } from './layer-writer.js';
import { invalid } from './refusals.js';
import { maxTarBytes, type ExtractResult, type LayerLimits, type OciLayer } from './layer-types.js';

export async function unpackLayer(layer: OciLayer, destDir: string, limits: LayerLimits): Promise<ExtractResult> {
  const source = await openTar(layer.blobPath, layer.size, maxTarBytes(limits));
  const extract = tar.extract();
  const writer = new LayerWriter(destDir, limits);
  const parsing = pipeline(source.tar, extract as unknown as NodeJS.WritableStream);
  try {
    await Promise.all([source.done, parsing, writer.consume(extract)]);
  } catch (err) {
    source.abort();
    await Promise.allSettled([source.done, parsing]);
    throw err;
  }
  const d = source.digests();
  const short = layer.digest.slice(7, 19);
  if (d.blobBytes !== layer.size || d.blob !== layer.digest) throw invalid(`Layer ${short} does not match its digest`);
  if (d.tar !== layer.diffId) throw invalid(`Layer ${short} does not match its diff_id in the image config`);
  await writer.finish();
  return { diffId: layer.diffId, bytes: writer.bytes, entries: writer.entries };
}
