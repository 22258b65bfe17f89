/**
 * skopeo (Debian's, 1.9) normalises any accepted archive into an OCI image layout directory
 * Warren owns: `skopeo copy <oci|oci-archive|docker-archive>:/archive oci:/target/layout`.
 *
 * Network: skopeo is only ever given local transports (oci:, oci-archive:, docker-archive:),
 * which never open a connection; and it runs in the bubblewrap jail of src/storage/jail.ts
 * with a network namespace of its own (--unshare-net) and no capabilities, seeing only the
 * host's programs and libraries (read-only), the archive (read-only, at /archive) and the
 * work directory (at /target). `--insecure-policy` because signatures mean nothing for a
 * local file the operator hands over, and no /etc/containers policy is needed.
 * Layers stay as they are (`--dest-oci-accept-uncompressed-layers`: skopeo would otherwise
 * gzip every plain layer of a docker save archive), and skopeo verifies every blob it copies
 * against its digest.
 */
import { spawn } from 'node:child_process';
import { constants as FS } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { exited, jailArgs, JAIL_TARGET } from '../../storage/jail.js';
import type { ArchiveFormat } from './detect.js';
import { invalid, unsupported } from './refusals.js';
import { hostPlatform } from './schema.js';

const TRANSPORT: Record<ArchiveFormat, string> = {
  'oci-layout': 'oci',
  'oci-archive': 'oci-archive',
  'docker-archive': 'docker-archive',
};
const IN_JAIL_ARCHIVE = '/archive';
const SKOPEO = '/usr/bin/skopeo';

export interface SkopeoSource {
  path: string;
  format: ArchiveFormat;
  /** Which image of the archive: an OCI ref name, or `@<n>` for the n-th image of a docker save. */
  ref?: string;
}

/** The source reference as skopeo reads it; refs are passed as one argv element, never through a shell. */
export function sourceReference(src: SkopeoSource): string {
  const ref = src.ref ? `:${src.ref}` : '';
  return `${TRANSPORT[src.format]}:${IN_JAIL_ARCHIVE}${ref}`;
}

/**
 * Copies the image into `<workDir>/layout` (an OCI layout) and returns that path. The
 * platform chosen from a multi-platform image is linux/<this host's architecture>.
 */
export async function normalise(src: SkopeoSource, workDir: string): Promise<string> {
  // a missing tool is the host's problem (scripts/setup.sh installs it), not the archive's
  await access(SKOPEO, FS.X_OK).catch(() => { throw new Error(`${SKOPEO} is missing: run scripts/setup.sh`); });
  await mkdir(join(workDir, 'tmp'), { mode: 0o700 });
  const { os, architecture } = hostPlatform();
  const args = [
    ...jailArgs(workDir, true),
    '--cap-drop', 'ALL', // after jailArgs' --cap-add list: skopeo needs none of them
    '--ro-bind', src.path, IN_JAIL_ARCHIVE,
    '--setenv', 'TMPDIR', `${JAIL_TARGET}/tmp`,
    '--setenv', 'HOME', `${JAIL_TARGET}/tmp`,
    '--', SKOPEO, '--insecure-policy', '--tmpdir', `${JAIL_TARGET}/tmp`,
    '--override-os', os, '--override-arch', architecture,
    'copy', '--quiet', '--dest-oci-accept-uncompressed-layers',
    sourceReference(src), `oci:${JAIL_TARGET}/layout:warren`,
  ];
  const child = spawn('bwrap', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
  try {
    await exited(child, 'skopeo copy');
  } catch (err) {
    throw refusalOf(err);
  }
  return join(workDir, 'layout');
}

/** What skopeo's failure means for the client (its words go only into the error's cause). */
function refusalOf(err: unknown): Error {
  const text = String((err as { stderr?: string }).stderr ?? (err as Error).message ?? '');
  if (/Digest did not match|digest mismatch|computed digest/i.test(text)) {
    return invalid('A blob of the archive does not match its digest', err);
  }
  if (/no image found in (manifest list|image index)|choosing an image from manifest list/i.test(text)) {
    const { os, architecture } = hostPlatform();
    return unsupported(`The archive has no image for ${os}/${architecture}`);
  }
  return invalid('The archive could not be read as an OCI or docker save image', err);
}
