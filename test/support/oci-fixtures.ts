/**
 * Image archives made by tests from directories, by the formats' own rules: an OCI image
 * layout (directory or tar) and a `docker save` tar. Layers are Warren's canonical uncompressed
 * tars of the directories (whiteouts in a fixture directory are `.wh.` files the test writes itself).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { packLayer } from '../../src/images/oci/pack.js';

export interface FixtureConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string>;
}

interface Blob { digest: string; hex: string; size: number; bytes: Buffer }

function blob(bytes: Buffer): Blob {
  const hex = createHash('sha256').update(bytes).digest('hex');
  return { digest: `sha256:${hex}`, hex, size: bytes.length, bytes };
}

/** Warren's own canonical layer tar (src/images/oci/pack.ts): a fixture of a stored layer has its digest. */
export async function layerTar(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of packLayer(dir)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function imageConfig(layers: Blob[], config: FixtureConfig): Blob {
  return blob(Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    history: layers.map(() => ({ created_by: 'warren test fixture' })),
  })));
}

/** Writes an OCI image layout at `out` (a directory) for these layer dirs, base first. */
export async function writeOciLayout(layerDirs: string[], config: FixtureConfig, out: string, refName?: string): Promise<{ layers: string[] }> {
  const layers: Blob[] = [];
  for (const d of layerDirs) layers.push(blob(await layerTar(d)));
  const cfg = imageConfig(layers, config);
  const manifest = blob(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg.digest, size: cfg.size },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
  })));
  mkdirSync(join(out, 'blobs/sha256'), { recursive: true });
  for (const b of [...layers, cfg, manifest]) writeFileSync(join(out, 'blobs/sha256', b.hex), b.bytes);
  writeFileSync(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(out, 'index.json'), JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifest.digest, size: manifest.size,
      ...(refName ? { annotations: { 'org.opencontainers.image.ref.name': refName } } : {}) }],
  }));
  return { layers: layers.map((l) => l.digest) };
}

/** Tars a directory's contents (an OCI layout → an oci-archive). */
export function tarDirectory(dir: string, outFile: string): void {
  execFileSync('tar', ['-C', dir, '-cf', outFile, '.']);
}

/** Writes a `docker save` tar at `outFile` (manifest.json, <config>.json, <id>/layer.tar). */
export async function writeDockerSave(layerDirs: string[], config: FixtureConfig, repoTag: string, outFile: string, work: string): Promise<{ layers: string[] }> {
  const layers: Blob[] = [];
  for (const d of layerDirs) layers.push(blob(await layerTar(d)));
  const cfg = imageConfig(layers, config);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, `${cfg.hex}.json`), cfg.bytes);
  for (const l of layers) {
    mkdirSync(join(work, l.hex), { recursive: true });
    writeFileSync(join(work, l.hex, 'layer.tar'), l.bytes);
  }
  writeFileSync(join(work, 'manifest.json'), JSON.stringify([{
    Config: `${cfg.hex}.json`, RepoTags: [repoTag], Layers: layers.map((l) => `${l.hex}/layer.tar`),
  }]));
  writeFileSync(join(work, 'repositories'), JSON.stringify({ [repoTag.split(':')[0]!]: { [repoTag.split(':')[1] ?? 'latest']: layers.at(-1)!.hex } }));
  execFileSync('tar', ['-C', work, '-cf', outFile, '.']);
  return { layers: layers.map((l) => l.digest) };
}
