/**
 * Log followers against a fast producer: a client that stops reading for a while gets
 * every byte in order once it resumes (caught up from the files, across a rotation), or,
 * if what it missed was rotated away, one notice and then everything still on disk.
 * The agent's buffer for the client stays bounded throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { get, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { EntryLog } from './entry-log.js';
import { FOLLOW_HIGH_WATER, CATCH_UP_STEP } from './follow.js';
import { streamLog } from './sse.js';

const MiB = 1024 * 1024;
const LINE = 100;

/** Numbered 100-byte lines, so any reordering or loss changes the bytes. */
function lines(from: number, count: number): Buffer {
  let s = '';
  for (let i = from; i < from + count; i++) s += `${String(i).padStart(10, '0')} ${'y'.repeat(LINE - 12)}\n`;
  return Buffer.from(s);
}

class Producer {
  private n = 0;
  readonly parts: Buffer[] = [];
  bytes = 0;
  constructor(private readonly log: EntryLog) {}
  /** Writes `bytes` in pipe-sized reads (64 KiB, cut mid-line), letting I/O run between them. */
  async write(bytes: number, until?: () => boolean): Promise<void> {
    let done = 0;
    while (done < bytes || (until && !until())) {
      const buf = lines(this.n, 656).subarray(0, 64 * 1024 + (this.n % 7)); // not line-aligned
      const whole = Math.floor(buf.length / LINE);
      const chunk = buf.subarray(0, buf.length); // the cut-off line goes out with the next read
      this.log.write('stdout', chunk.subarray(0, whole * LINE));
      this.log.write('stdout', chunk.subarray(whole * LINE));
      this.log.write('stdout', lines(this.n + whole, 1).subarray(chunk.length - whole * LINE));
      this.parts.push(lines(this.n, whole + 1));
      this.n += whole + 1;
      this.bytes += (whole + 1) * LINE;
      done += (whole + 1) * LINE;
      await tick();
    }
  }
  all(): Buffer {
    return Buffer.concat(this.parts);
  }
}

interface Client {
  data: string[];
  notices: string[];
  received: number;
  res: IncomingMessage | null;
  ended: Promise<void>;
}

function follow(url: string): Client {
  const c: Client = { data: [], notices: [], received: 0, res: null, ended: Promise.resolve() };
  c.ended = new Promise((resolve) => {
    const req = get(url, (res) => {
      c.res = res;
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (s: string) => {
        buf += s;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!block.startsWith('data: ')) continue;
          const e = JSON.parse(block.slice(6)) as { data: string };
          if (e.data.startsWith('[warren: ')) c.notices.push(e.data);
          else {
            c.data.push(e.data);
            c.received += e.data.length;
          }
        }
      });
      res.on('close', resolve);
    });
    req.on('error', () => resolve());
  });
  return c;
}

async function setup(t: { after: (fn: () => unknown) => void }, cap: number) {
  const dir = mkdtempSync(join(tmpdir(), 'wtest-follow-'));
  const log = new EntryLog(join(dir, 'x.log'), cap);
  let maxBacklog = 0;
  const responses: ServerResponse[] = [];
  const server = createServer((_req, res) => {
    responses.push(res);
    streamLog(res, log, 0);
  });
  const sampler = setInterval(() => {
    for (const r of responses) maxBacklog = Math.max(maxBacklog, r.writableLength);
  }, 2);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    clearInterval(sampler);
    log.remove();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  return { log, url, producer: new Producer(log), backlog: () => maxBacklog };
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(10);
  }
  return check();
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const BOUND = FOLLOW_HIGH_WATER + CATCH_UP_STEP + 256 * 1024;

test('a paused follower catches up from the files across a rotation: every byte, in order', async (t) => {
  const { log, url, producer, backlog } = await setup(t, 32 * MiB); // generations of 16 MiB
  const c = follow(url);
  assert.ok(await waitFor(() => c.res !== null && log.followers === 1, 5000));
  await producer.write(20 * MiB);
  assert.ok(await waitFor(() => c.received === producer.bytes, 20_000), 'follower keeps up before the pause');

  c.res!.pause();
  const pausedAt = log.end;
  const genBase = () => log.spans().at(-1)!.base;
  const before = genBase();
  // At least 12 MiB (more than the socket buffers take), and until the file has rotated.
  await producer.write(12 * MiB, () => genBase() !== before);
  await producer.write(MiB);
  assert.notEqual(genBase(), before, 'rotated during the pause');
  assert.ok(log.spans()[0]!.base <= pausedAt, 'the paused position is still on disk');
  await sleep(200);
  c.res!.resume();

  await producer.write(64 * MiB - producer.bytes);
  assert.ok(await waitFor(() => c.received >= producer.bytes, 60_000), `received ${c.received} of ${producer.bytes}`);
  await sleep(100);
  assert.deepEqual(c.notices, []);
  assert.equal(c.received, producer.bytes);
  assert.equal(sha(c.data.join('')), sha(producer.all()));
  assert.ok(c.data.length < producer.bytes / (16 * 1024), `entries are chunks (${c.data.length})`);
  assert.ok(backlog() <= BOUND, `backlog reached ${backlog()}`);
  assert.equal(log.followers, 1);
});

test('a follower paused past the files gets one notice, then the rest intact', async (t) => {
  const { log, url, producer, backlog } = await setup(t, 8 * MiB); // generations of 4 MiB
  const c = follow(url);
  assert.ok(await waitFor(() => c.res !== null && log.followers === 1, 5000));
  await producer.write(4 * MiB);
  assert.ok(await waitFor(() => c.received === producer.bytes, 20_000));
  const before = c.received;
  c.res!.pause();
  await producer.write(40 * MiB); // far more than the socket buffers and both generations
  await sleep(100);
  c.res!.resume();
  await producer.write(64 * MiB - producer.bytes);
  const all = producer.all();
  const tailSha = (n: number) => sha(all.subarray(all.length - n));
  assert.ok(await waitFor(() => c.notices.length > 0 && c.data.join('').endsWith(all.subarray(all.length - 200).toString()), 60_000));
  await sleep(100);
  assert.equal(c.notices.length, 1);
  assert.match(c.notices[0]!, /^\[warren: \d+ bytes of log were rotated away before this reader got them\]\n$/);
  assert.ok(Number(/\d+/.exec(c.notices[0]!)![0]) > 0);
  // Everything before the notice is a prefix of the output, everything after it a suffix.
  const text = c.data.join('');
  const got = Buffer.from(text);
  assert.ok(got.length < all.length);
  assert.equal(sha(got.subarray(0, before)), sha(all.subarray(0, before)));
  // Find where the notice fell: the received prefix continues the output until it, then the suffix follows.
  let prefix = before;
  while (prefix < got.length && got[prefix] === all[prefix]) prefix++;
  const suffix = got.length - prefix;
  assert.ok(suffix > 0 && suffix < all.length - prefix);
  assert.equal(sha(got.subarray(prefix)), tailSha(suffix), 'the rest after the notice is intact');
  assert.ok(backlog() <= BOUND, `backlog reached ${backlog()}`);
});
