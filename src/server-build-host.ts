/**
 * The host side of a build's RUN step (the domain's StepHostPort, src/domain/build-steps.ts)
 * for the namespace-sandbox driver: where the step wrapper lives inside a sandbox, the
 * control files that release and acknowledge it, the workspace's cmd log on the host,
 * and taking the sandbox's network interface away.
 *
 * The cmd log sits in a directory the workspace can write (bound at /.warren/logs), so it
 * is read like the agent writes it: opened with O_NOFOLLOW | O_NONBLOCK, used only when
 * the opened inode is a regular file, never held open between reads (the layer it lives
 * on is unmounted when the sandbox ends), and parsed defensively.
 */
import { constants } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { CMD_LOG } from './agent/logs/logs-dir.js';
import type { OutputReader, StepHostPort } from './domain/build-steps.js';
import { controlDirOf, workspaceDir } from './domain/sandbox-spec.js';
import { AGENT_ENTRY, AGENT_NODE } from './drivers/ns/bwrap-args.js';
import { statePaths } from './drivers/ns/names.js';
import type { WorkspaceRecord } from './store/store.js';
import { linkExists } from './network/plumbing.js';
import { run } from './util/exec.js';

/** Where the sandbox sees its control directory and the agent's code. */
const SANDBOX_CONTROL_DIR = '/.warren/control';
const STEP_ENTRY = posix.join(posix.dirname(AGENT_ENTRY), 'build-step.js');
/** Most log bytes taken in one read. */
const READ_STEP = 1024 * 1024;

export interface BuildHostOptions {
  workspacesDir: string;
  /** The host end of a sandbox's veth (src/drivers/ns/names.ts). */
  hostIfName: (shortId: string) => string;
}

export function buildStepHost(o: BuildHostOptions): StepHostPort {
  const control = (rec: WorkspaceRecord, file: string) => join(controlDirOf(o.workspacesDir, rec.id), file);
  return {
    command: (argv, nonce, user) => [AGENT_NODE, STEP_ENTRY, SANDBOX_CONTROL_DIR, nonce, user ?? '', ...argv],
    async isolate(rec) {
      // Deleting one end of a veth pair deletes both: the sandbox's netns keeps only lo.
      const hostIf = o.hostIfName(rec.shortId);
      if (linkExists(hostIf)) await run('ip', ['link', 'delete', hostIf]);
    },
    release: (rec) => writeFile(control(rec, 'build-go'), 'go\n', { mode: 0o644 }),
    acknowledge: (rec) => writeFile(control(rec, 'build-ack'), 'ack\n', { mode: 0o644 }),
    output: (rec) => new CmdLogReader(join(statePaths(join(workspaceDir(o.workspacesDir, rec.id), 'sandbox')).agentLogs, CMD_LOG)),
  };
}

/** Follows the agent's cmd log (JSON lines, rotated to `<path>.1`) from its start. */
class CmdLogReader implements OutputReader {
  private ino: number | null = null;
  private offset = 0;
  private partial = '';
  private decoder = new StringDecoder('utf8');

  constructor(private readonly path: string) {}

  async read(): Promise<string> {
    const cur = await readFrom(this.path, this.ino, this.offset);
    if (cur === null) return '';
    let text = '';
    if (this.ino !== null && cur.ino !== this.ino) {
      // Rotated since the last read: the rest of the old generation first.
      const old = await readFrom(`${this.path}.1`, this.ino, this.offset);
      if (old && old.ino === this.ino) text += this.entries(old.data);
      this.partial = '';
      this.decoder = new StringDecoder('utf8');
      const fresh = await readFrom(this.path, cur.ino, 0);
      this.ino = cur.ino;
      this.offset = fresh?.data.length ?? 0;
      return text + this.entries(fresh?.data ?? Buffer.alloc(0));
    }
    this.ino = cur.ino;
    this.offset = cur.from + cur.data.length;
    return text + this.entries(cur.data);
  }

  /** The output text of the complete JSON lines in `data` (a partial last line waits). */
  private entries(data: Buffer): string {
    this.partial += this.decoder.write(data);
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    return lines.map(entryText).join('');
  }
}

/** The output in one line of the log; '' for a line the agent did not write (the directory is writable). */
function entryText(line: string): string {
  try {
    const v = JSON.parse(line) as { d?: unknown } | null;
    return v && typeof v === 'object' && typeof v.d === 'string' ? v.d : '';
  } catch {
    return '';
  }
}

/** Up to READ_STEP bytes of the regular file at `path` from `offset` (0 when it is another file than `ino`). */
async function readFrom(path: string, ino: number | null, offset: number): Promise<{ ino: number; from: number; data: Buffer } | null> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null; // not there (yet), or not a file we may read
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return null;
    const from = ino === st.ino && offset <= st.size ? offset : 0;
    const want = Math.min(READ_STEP, st.size - from);
    if (want <= 0) return { ino: st.ino, from, data: Buffer.alloc(0) };
    const buf = Buffer.alloc(want);
    const { bytesRead } = await fh.read(buf, 0, want, from);
    return { ino: st.ino, from, data: buf.subarray(0, bytesRead) };
  } finally {
    await fh.close();
  }
}
