/**
 * The parts of the OCI image layout, image index, image manifest and image config (and of a
 * `docker save` manifest.json) Warren reads, as zod schemas. Unknown fields are ignored;
 * what Warren relies on is checked: digests are `sha256:<64 hex>` (the only algorithm
 * accepted), sizes are non-negative integers, the config's fields have their OCI types.
 */
import { z } from 'zod';

export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
/** Largest index, manifest or config JSON read (real ones are a few KiB). */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;
/** Most layers an image may have (overlayfs stacks far fewer; see the store). */
export const MAX_LAYERS = 128;

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

export const INDEX_TYPES: readonly string[] = [MEDIA.ociIndex, MEDIA.dockerList];
export const MANIFEST_TYPES: readonly string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];

/**
 * Layer media types Warren unpacks: OCI tar (plain, gzip, zstd; distributable or not) and
 * Docker's. The blob's real compression is sniffed from its first bytes, not taken from the
 * type: skopeo labels a `docker save` layer `…tar.gzip` although it is a plain tar.
 */
export const LAYER_TYPE_RE =
  /^application\/vnd\.(oci\.image\.layer(\.nondistributable)?\.v1\.tar(\+gzip|\+zstd)?|docker\.image\.rootfs(\.foreign)?\.diff\.tar(\.gzip)?)$/;

const digest = z.string().regex(DIGEST_RE, 'not a sha256 digest');

export const descriptorSchema = z.object({
  mediaType: z.string().max(255),
  digest,
  size: z.number().int().nonnegative(),
  platform: z.object({
    os: z.string().max(64),
    architecture: z.string().max(64),
    variant: z.string().max(64).optional(),
  }).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

export const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema).max(1024),
});

export const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema).max(MAX_LAYERS, `more than ${MAX_LAYERS} layers`),
});

const strings = z.array(z.string().max(65536)).max(4096);

/** The OCI config subset Warren honours, in OCI's own field names and types. */
export const runConfigSchema = z.object({
  Env: strings.nullish(),
  WorkingDir: z.string().max(4096).nullish(),
  Entrypoint: strings.nullish(),
  Cmd: strings.nullish(),
  User: z.string().max(256).nullish(),
  ExposedPorts: z.record(z.string().max(64), z.unknown()).nullish(),
  Labels: z.record(z.string().max(4096), z.string().max(65536)).nullish(),
});

export const imageConfigSchema = z.object({
  architecture: z.string().max(64).optional(),
  os: z.string().max(64).optional(),
  config: runConfigSchema.nullish(),
  rootfs: z.object({
    type: z.literal('layers'),
    diff_ids: z.array(digest).max(MAX_LAYERS, `more than ${MAX_LAYERS} layers`),
  }),
});

/** `docker save`'s manifest.json: one entry per image in the archive. */
export const dockerManifestSchema = z.array(z.object({
  Config: z.string(),
  RepoTags: z.array(z.string()).nullish(),
  Layers: z.array(z.string()),
})).min(1);

/** What an image's config says, normalised: absent lists empty, absent strings undefined. */
export interface OciImageConfig {
  Env: string[];
  WorkingDir?: string;
  Entrypoint?: string[];
  Cmd?: string[];
  User?: string;
  /** `port/proto` → {} as in OCI. */
  ExposedPorts: Record<string, Record<string, never>>;
  Labels: Record<string, string>;
}

export function normaliseRunConfig(c: z.infer<typeof runConfigSchema> | null | undefined): OciImageConfig {
  return {
    Env: c?.Env ?? [],
    ...(c?.WorkingDir ? { WorkingDir: c.WorkingDir } : {}),
    ...(c?.Entrypoint ? { Entrypoint: c.Entrypoint } : {}),
    ...(c?.Cmd ? { Cmd: c.Cmd } : {}),
    ...(c?.User ? { User: c.User } : {}),
    ExposedPorts: Object.fromEntries(Object.keys(c?.ExposedPorts ?? {}).map((p) => [p, {}])),
    Labels: { ...(c?.Labels ?? {}) },
  };
}

/** The platform Warren runs images for: linux and this host's architecture in OCI's words. */
export function hostPlatform(): { os: string; architecture: string } {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return { os: 'linux', architecture: arch };
}
