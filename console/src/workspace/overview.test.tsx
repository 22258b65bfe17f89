import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { Overview } from './overview.js';
import { apiError, routeFetch } from '../testing/route-fetch.js';
import type { Workspace } from '../api/workspaces.js';

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

const ws: Workspace = {
  id: 'ws_ov', name: 'ov', image: 'debian-12', status: 'running', info: { status: 'running' }, ip: '10.0.0.9', mode: 'permanent',
  uptime: 3725, namespace: 'team-a', resources: { cpus: 1, memory_mb: 512, disk_size_mb: 1024 }, created_at: '2025-01-02T03:04:05Z',
};
const lifecycle = { mode: 'permanent', restart_policy: 'on-failure', max_restarts: 3, idle: null,
  restart_info: { count: 2, last_exit_code: 137, last_exit_reason: 'oom', last_exit_at: null, last_restart_at: null, next_restart_at: null } };
const connection = { user: 'root', host: 'ws_ov', bastion: 'warren.test:2222', command: 'ssh root@ws_ov -J root@warren.test:2222' };

describe('the overview tab', () => {
  it('shows the facts, the lifecycle, the ports and the SSH command; the raw object is collapsed', async () => {
    routeFetch({
      'GET /workspace/ws_ov/lifecycle': { body: lifecycle },
      'GET /workspace/ws_ov/public-access': { body: { ports: [{ port: 3000, hash: 'abc', label: 'web', url: 'http://abc.warren.test/', path_url: 'http://x/p/abc/' }] } },
      'GET /workspace/ws_ov/ssh': { body: { ssh_enabled: true, supported: true, connection } },
    });
    const { container } = render(<Overview ws={ws} refresh={() => undefined} />);
    expect(screen.getByText('1h 2m')).toBeTruthy();
    expect(screen.getByText('1 CPU · 512 MB memory · 1024 MB disk')).toBeTruthy();
    expect(screen.getByText('team-a')).toBeTruthy();
    expect(await screen.findByText('on-failure (at most 3)')).toBeTruthy();
    expect(screen.getByText('code 137 (oom)')).toBeTruthy();
    expect(await screen.findByRole('link', { name: 'http://abc.warren.test/' })).toBeTruthy();
    expect((await screen.findByLabelText('SSH command')).textContent).toBe(connection.command);
    expect(screen.getByRole('button', { name: 'Copy SSH command' })).toBeTruthy();
    const details = container.querySelector('details.raw') as HTMLDetailsElement;
    expect(details.open).toBe(false);
    expect(JSON.parse(details.querySelector('pre')!.textContent!)).toEqual(ws);
  });

  it('shows the provisioning phase while the workspace is created, and reloads it every second', async () => {
    vi.useFakeTimers();
    try {
      routeFetch({ 'GET /workspace/ws_ov/lifecycle': { body: lifecycle }, 'GET /workspace/ws_ov/public-access': { body: { ports: [] } },
        'GET /workspace/ws_ov/ssh': { body: { ssh_enabled: false, supported: true } } });
      const refresh = vi.fn();
      const creating = { ...ws, status: 'creating', info: { status: 'creating' }, provisioning: { state: 'running', phase: 'preparing', message: 'Provisioning the workspace' } };
      render(<Overview ws={creating} refresh={refresh} />);
      expect(screen.getByText(/Provisioning — preparing: Provisioning the workspace/)).toBeTruthy();
      vi.advanceTimersByTime(2100);
      expect(refresh).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("exposes a port (the API's refusal at the field) and revokes one after confirming", async () => {
    let ports = [{ port: 3000, hash: 'abc', url: 'http://abc.warren.test/' }];
    const calls = routeFetch({
      'GET /workspace/ws_ov/lifecycle': { body: lifecycle },
      'GET /workspace/ws_ov/public-access': () => ({ body: { ports } }),
      'POST /workspace/ws_ov/public-access': (c) => {
        const port = (c.body as { port: number }).port;
        if (port === 9990) return apiError(400, 'port_reserved', 'Port 9990 is reserved for the workspace agent and cannot be exposed', { field: 'port' });
        ports = [...ports, { port, hash: 'def', url: 'http://def.warren.test/' }];
        return { status: 201, body: { port: ports.at(-1) } };
      },
      'DELETE /workspace/ws_ov/public-access/3000': () => { ports = ports.filter((p) => p.port !== 3000); return { body: { success: true } }; },
      'GET /workspace/ws_ov/ssh': { body: { ssh_enabled: false, supported: true } },
    });
    render(<Overview ws={ws} refresh={() => undefined} />);
    await screen.findByRole('link', { name: 'http://abc.warren.test/' });
    const port = screen.getByLabelText('Port') as HTMLInputElement;
    fireEvent.input(port, { target: { value: '9990' } });
    fireEvent.click(screen.getByRole('button', { name: 'Expose' }));
    await waitFor(() => expect(port.getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByText(/Port 9990 is reserved/)).toBeTruthy();
    fireEvent.input(port, { target: { value: '8080' } });
    fireEvent.click(screen.getByRole('button', { name: 'Expose' }));
    expect(await screen.findByRole('link', { name: 'http://def.warren.test/' })).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Revoke port 3000' }));
    const dialog = await waitFor(() => {
      const d = screen.getAllByRole('dialog', { hidden: true }).find((el) => el.textContent?.includes('port 3000'));
      if (!d) throw new Error('no confirmation asked');
      return d;
    });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Revoke', hidden: true }));
    await waitFor(() => expect(screen.queryByRole('link', { name: 'http://abc.warren.test/' })).toBeNull());
    expect(calls.some((c) => c.method === 'DELETE' && c.path === '/workspace/ws_ov/public-access/3000')).toBe(true);
  });

  it('turns SSH on and shows the password made, once', async () => {
    let on = false;
    routeFetch({
      'GET /workspace/ws_ov/lifecycle': { body: lifecycle }, 'GET /workspace/ws_ov/public-access': { body: { ports: [] } },
      'GET /workspace/ws_ov/ssh': () => ({ body: { ssh_enabled: on, supported: true, connection: on ? connection : null } }),
      'POST /workspace/ws_ov/ssh/enable': () => { on = true; return { body: { ssh_enabled: true, supported: true, connection, ssh_password: 'pw-123' } }; },
    });
    render(<Overview ws={ws} refresh={() => undefined} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Turn SSH on' }));
    expect((await screen.findByLabelText('SSH password')).textContent).toBe('pw-123');
    expect((await screen.findByLabelText('SSH command')).textContent).toBe(connection.command);
    expect(screen.getByRole('button', { name: 'Turn SSH off' })).toBeTruthy();
  });

  it("sets root's password (a refusal at the field) and public key while SSH is on", async () => {
    const calls = routeFetch({
      'GET /workspace/ws_ov/lifecycle': { body: lifecycle }, 'GET /workspace/ws_ov/public-access': { body: { ports: [] } },
      'GET /workspace/ws_ov/ssh': { body: { ssh_enabled: true, supported: true, connection } },
      'POST /workspace/ws_ov/ssh/password': (c) => ((c.body as { password: string }).password.length < 8
        ? apiError(400, 'validation_error', 'password must be 8–128 characters', { field: 'password' })
        : { body: { ssh_enabled: true } }),
      'POST /workspace/ws_ov/ssh/key': { body: { ssh_enabled: true, ssh_key_set: true } },
    });
    render(<Overview ws={ws} refresh={() => undefined} />);
    const password = await screen.findByLabelText('Password') as HTMLInputElement;
    fireEvent.input(password, { target: { value: 'short' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set the password' }));
    await waitFor(() => expect(password.getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByText('password must be 8–128 characters')).toBeTruthy();
    fireEvent.input(password, { target: { value: 'long-enough-1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set the password' }));
    expect(await screen.findByText('Password set.')).toBeTruthy();
    fireEvent.input(screen.getByLabelText('Public key'), { target: { value: ' ssh-ed25519 AAAAC3 me@host\n' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set the key' }));
    expect(await screen.findByText('Public key set; passwords are no longer accepted.')).toBeTruthy();
    expect(calls.find((c) => c.path.endsWith('/ssh/key'))?.body).toEqual({ public_key: 'ssh-ed25519 AAAAC3 me@host' });
  });
});
