/**
 * SSH on real workspaces with the real OpenSSH clients: `ssh -J` through Warren's jump
 * host into the workspace's own sshd (its hostname, a file written through the runtime
 * API), the official CLI's `oblien ssh connect` and `oblien scp` (push and pull), password
 * and key-only logins (ssh2's client, through the jump host), disable ending a live
 * session, the jump host refusing everything but an SSH-enabled workspace's ssh_id:22,
 * and host keys that survive a workspace restart and a Warren restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, ROOT, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { cliHarness } from '../support/cli.js';
import { adminClient, openRuntime, waitForStatus, type Client } from '../support/workspaces.js';
import { freePort, jumpConnect, jumpExec, jumpHostKey, run, sshFiles, type SshFiles } from '../support/ssh.js';

const OBLIEN = join(ROOT, 'node_modules', '.bin', 'oblien');

let server: TestServer;
let client: Client;
let files: SshFiles;
let sshPort: number;
const harness = cliHarness(() => server);
const created: string[] = [];

before(async () => {
  await ensureTestImages(['debian-12', 'node-20']);
  sshPort = await freePort();
  server = await startServer({ env: { WARREN_SSH_PORT: String(sshPort) } });
  client = adminClient(server);
  files = sshFiles();
});
after(async () => {
  for (const id of created) await client?.workspaces.delete(id).catch(() => undefined);
  await server?.stop();
  harness.cleanup();
  files?.cleanup();
});

async function workspace(config: Record<string, unknown> = {}, image = 'debian-12'): Promise<string> {
  const ws = await client.workspaces.create({ image, memory_mb: 256, config } as any);
  created.push(ws.id);
  await waitForStatus(server, ws.id, 'running');
  return ws.id;
}

/** SSH on with our test key; returns the status (connection block included). */
async function withKey(id: string): Promise<any> {
  await client.workspaces.ssh.enable(id);
  await client.workspaces.ssh.setKey(id, { public_key: files.publicKey });
  return client.workspaces.ssh.status(id);
}

const ssh = (st: any, command: string, timeoutMs = 30_000) =>
  run('ssh', ['-F', files.config, '-J', `root@${st.connection.bastion}`, `root@${st.ssh_id}`, command], { timeoutMs });

test('an ssh -J session runs inside the right workspace: its hostname, a file written through the runtime API', async () => {
  const a = await workspace();
  const b = await workspace({}, 'node-20'); // images bring no sshd of their own: the bundle runs on any
  const rt = await openRuntime(client, server, a);
  await rt.files.write({ fullPath: '/root/marker.txt', content: 'written-by-runtime-api\n' });
  const hostname = (await rt.exec.run(['hostname'])).stdout.trim();

  const enabled: any = await client.workspaces.ssh.enable(a);
  assert.equal(enabled.ssh_enabled, true);
  assert.match(enabled.ssh_password, /^[A-Za-z0-9]{20}$/, 'enable returns a fresh password once');
  const st: any = await withKey(a);
  assert.match(st.ssh_id, /^[0-9a-f]{16}$/);
  assert.equal(st.ssh_key_set, true);
  assert.deepEqual(st.auth_methods, ['publickey']);
  assert.equal(st.connection.user, 'root');
  assert.equal(st.connection.host, st.ssh_id);
  assert.equal(st.connection.bastion, `127.0.0.1:${sshPort}`);
  assert.equal(st.connection.command, `ssh root@${st.ssh_id} -J root@127.0.0.1:${sshPort}`);
  assert.equal((await client.workspaces.ssh.status(a) as any).ssh_password, undefined, 'status never shows a password');

  const r = await ssh(st, 'hostname; cat /root/marker.txt; id -u');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${hostname}\nwritten-by-runtime-api\n0\n`);

  const other: any = await withKey(b);
  assert.notEqual(other.ssh_id, st.ssh_id);
  const rb = await ssh(other, 'hostname; test -e /root/marker.txt && echo leaked || echo clean');
  assert.equal(rb.code, 0, rb.stderr);
  assert.notEqual(rb.stdout.split('\n')[0], hostname);
  assert.match(rb.stdout, /clean\n$/);

  const details = await api(server, 'GET', `/workspace/${a}/details`);
  assert.deepEqual(details.body.workspace.ssh, { ssh_enabled: true, ssh_id: st.ssh_id, connection: { command: st.connection.command } });
  assert.equal((await api(server, 'GET', `/workspace/${a}`)).body.workspace.access.ssh_enabled, true);
});

test('oblien ssh connect and oblien scp upload + download, with the official CLI', async () => {
  const id = await workspace();
  const st: any = await withKey(id);
  const env = { ...harness.env(), PATH: `${files.binDir}:${process.env.PATH}` };
  // `ssh connect` runs the connection command; with stdin not a terminal the remote shell reads it.
  const conn = await run(OBLIEN, ['ssh', 'connect', id], { env, input: 'hostname\necho via-cli\nexit\n' });
  assert.equal(conn.code, 0, conn.stderr);
  assert.match(conn.stdout, new RegExp(`via-cli`));

  const local = join(files.root, 'upload.txt');
  writeFileSync(local, 'scp payload ✓\n');
  const up = await run(OBLIEN, ['scp', 'push', id, local, '--dest', '/root/'], { env });
  assert.equal(up.code, 0, up.stderr);
  assert.equal((await ssh(st, 'cat /root/upload.txt')).stdout, 'scp payload ✓\n');

  await ssh(st, 'mkdir -p /srv/out && printf "from the workspace\\n" > /srv/out/result.txt');
  const dest = join(files.root, 'down');
  mkdirSync(dest);
  const down = await run(OBLIEN, ['scp', 'pull', id, '/srv/out/result.txt', '--dest', dest], { env });
  assert.equal(down.code, 0, down.stderr);
  assert.equal(readFileSync(join(dest, 'result.txt'), 'utf8'), 'from the workspace\n');
});

test('passwords: enable\'s password logs in; a key makes the workspace key-only; set-password brings passwords back', async () => {
  const id = await workspace();
  const { ssh_password: password } = await client.workspaces.ssh.enable(id) as any;
  const st: any = await client.workspaces.ssh.status(id);
  assert.equal(st.password_auth_enabled, true);
  assert.equal((await jumpExec(st, sshPort, { password }, 'echo pw-ok')).trim(), 'pw-ok');
  await assert.rejects(jumpExec(st, sshPort, { password: 'wrong-password' }, 'true'), /authentication/i);

  await client.workspaces.ssh.setKey(id, { public_key: files.publicKey });
  const keyOnly: any = await client.workspaces.ssh.status(id);
  assert.equal(keyOnly.password_auth_enabled, false);
  await assert.rejects(jumpExec(st, sshPort, { password }, 'true'), /authentication/i, 'key-only refuses the password');
  assert.equal((await jumpExec(st, sshPort, { privateKey: files.privateKey }, 'echo key-ok')).trim(), 'key-ok');

  const bad = await api(server, 'POST', `/workspace/${id}/ssh/password`, { password: 'short' });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.details.field, 'password');
  const badKey = await api(server, 'POST', `/workspace/${id}/ssh/key`, { public_key: `command="sh" ${files.publicKey}` });
  assert.equal(badKey.body.details.field, 'public_key');
  await client.workspaces.ssh.setPassword(id, { password: 'a-new-password-123' });
  assert.equal((await jumpExec(st, sshPort, { password: 'a-new-password-123' }, 'echo back')).trim(), 'back');
  assert.equal((await client.workspaces.ssh.status(id) as any).ssh_password_changed, true);
});

test('disable ends a live session within seconds, and the jump host then refuses the workspace', async (t) => {
  const id = await workspace();
  const st: any = await withKey(id);
  const rt = await openRuntime(client, server, id);
  const sleepers = async () => (await rt.exec.run(['sh', '-c',
    'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f"; echo; done | grep -c "^sleep 60" || true'])).stdout.trim();
  const child = spawn('ssh', ['-F', files.config, '-J', `root@${st.connection.bastion}`, `root@${st.ssh_id}`, 'echo started; sleep 60'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number>((resolve) => child.once('exit', () => resolve(Date.now())));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
    child.once('exit', () => reject(new Error('the session ended before disable')));
  });
  assert.equal(await sleepers(), '1', 'the session runs inside the workspace');
  const t0 = Date.now();
  const off: any = await client.workspaces.ssh.disable(id);
  assert.equal(off.ssh_enabled, false);
  assert.equal(off.connection, null);
  const ms = (await exited) - t0;
  assert.ok(ms < 5000, `session lasted ${ms} ms after disable`);
  t.diagnostic(`the live session ended ${ms} ms after disable was called`);
  assert.equal(await sleepers(), '0', 'the session\'s processes are gone from the workspace too');
  await assert.rejects(jumpConnect(sshPort, st.ssh_id, 22), /Channel open failure/);
  assert.notEqual((await ssh(st, 'true', 15_000)).code, 0);
});

test('the jump host refuses 127.0.0.1:22, addresses, other ports, unknown ids, SSH-disabled workspaces and sessions', async () => {
  const on = await workspace();
  const off = await workspace();
  const st: any = await withKey(on);
  const offStatus = await api(server, 'GET', `/workspace/${off}/ssh`);
  assert.equal(offStatus.body.ssh_enabled, false);
  assert.equal(offStatus.body.connection, null);
  // A workspace that had SSH and turned it off keeps its ssh_id, which must lead nowhere.
  await client.workspaces.ssh.enable(off);
  const offId = (await client.workspaces.ssh.status(off) as any).ssh_id;
  await client.workspaces.ssh.disable(off);
  const ws = (await api(server, 'GET', `/workspace/${on}`)).body.workspace;
  for (const [host, port] of [['127.0.0.1', 22], ['localhost', 22], [ws.ip, 22], [st.ssh_id, 2222], [st.ssh_id, 9990],
    ['0000000000000000', 22], [offId, 22], [`${st.ssh_id}.example`, 22]] as const) {
    await assert.rejects(jumpConnect(sshPort, host, port), /Channel open failure/, `${host}:${port}`);
  }
  await assert.rejects(jumpConnect(sshPort, null, 0), /Channel open failure/, 'no shell on the jump host');
  await assert.rejects(jumpConnect(sshPort, 'forward', 0), /Unable to bind/, 'no remote forwarding');
  assert.equal((await ssh(st, 'echo still-fine')).stdout, 'still-fine\n', 'the allowed channel works');
});

test('host keys stay the same across a workspace restart and a Warren restart; ssh_access at create enables SSH', async () => {
  const id = await workspace({ ssh_access: true });
  const created0: any = await client.workspaces.ssh.status(id);
  assert.equal(created0.ssh_enabled, true);
  const st: any = await withKey(id);
  const key1 = await jumpHostKey(st, sshPort, files.privateKey);
  const jump1 = (await jumpConnect(sshPort, st.ssh_id, 22, { wantKey: true }) as any).jumpKey;

  await client.workspaces.restart(id);
  await waitForStatus(server, id, 'running');
  assert.equal(await jumpHostKey(st, sshPort, files.privateKey), key1, 'same host key after a workspace restart');

  await server.kill();
  await server.restart({ WARREN_SSH_PORT: String(sshPort) });
  client = adminClient(server);
  const again: any = await client.workspaces.ssh.status(id);
  assert.equal(again.ssh_id, st.ssh_id);
  assert.equal(await jumpHostKey(again, sshPort, files.privateKey), key1, 'same host key after a Warren restart');
  assert.equal((await jumpConnect(sshPort, st.ssh_id, 22, { wantKey: true }) as any).jumpKey, jump1, 'same jump host key');
  assert.equal((await ssh(again, 'echo after-restart')).stdout, 'after-restart\n');

  // A stopped workspace only records the change; it applies at the next start.
  await client.workspaces.stop(id);
  await waitForStatus(server, id, 'stopped');
  await client.workspaces.ssh.setPassword(id, { password: 'set-while-stopped' });
  await client.workspaces.start(id);
  await waitForStatus(server, id, 'running');
  assert.equal((await jumpExec(again, sshPort, { password: 'set-while-stopped' }, 'echo applied')).trim(), 'applied');
  assert.equal(await jumpHostKey(again, sshPort, files.privateKey), key1);
});
