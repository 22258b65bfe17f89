import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { CreateWorkspace } from './create.js';
import { apiError, routeFetch, type Route } from '../testing/route-fetch.js';

const images: Route = { body: { images: [{ id: 'debian-12', label: 'Debian 12', built: true }, { id: 'node-20', label: 'Node 20', built: false }] } };
const quota: Route = { body: { limits: { cpus: { min: 1, max: 32, default: 1 } } } };

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

async function ready() {
  render(<CreateWorkspace />);
  await screen.findByRole('option', { name: 'Debian 12 (debian-12)' });
  await waitFor(() => expect((screen.getByLabelText('Image') as HTMLSelectElement).value).toBe('debian-12'));
}

const input = (label: string) => screen.getByLabelText(label) as HTMLInputElement;
const type = (label: string, value: string) => fireEvent.input(input(label), { target: { value } });
const submit = () => fireEvent.click(screen.getByRole('button', { name: /create workspace|apply the network/i }));

describe('the create form', () => {
  it('sends the SDK body and opens the new workspace', async () => {
    const calls = routeFetch({ 'GET /workspace/images': images, 'GET /workspace/quota': quota,
      'POST /workspace': { status: 201, body: { success: true, workspace: { id: 'ws_new', status: 'creating' } } } });
    await ready();
    expect(screen.getByText('1–32; default 1')).toBeTruthy();
    type('Name', 'web');
    type('CPUs', '2');
    submit();
    await waitFor(() => expect(location.pathname).toBe('/console/w/ws_new'));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      image: 'debian-12', name: 'web', mode: 'permanent', config: { cpus: 2 }, wait_ready: false,
    });
  });

  it("puts the API's message at the field details.field names", async () => {
    routeFetch({ 'GET /workspace/images': images, 'GET /workspace/quota': quota,
      'POST /workspace': apiError(403, 'RESOURCE_NOT_ALLOWED', 'config.cpus must be between 1 and 32 cpus', { field: 'config.cpus' }) });
    await ready();
    type('CPUs', '999');
    submit();
    await waitFor(() => expect(input('CPUs').getAttribute('aria-invalid')).toBe('true'));
    const describedBy = input('CPUs').getAttribute('aria-describedby')!.split(' ');
    const message = describedBy.map((id) => document.getElementById(id)?.textContent).join(' ');
    expect(message).toContain('config.cpus must be between 1 and 32 cpus');
    expect(input('Name').getAttribute('aria-invalid')).toBeNull();
  });

  it('shows an error naming no field of the form above the buttons', async () => {
    routeFetch({ 'GET /workspace/images': images, 'GET /workspace/quota': quota,
      'POST /workspace': apiError(409, 'SANDBOX_LIMIT_REACHED', 'This Warren holds its maximum of 2 workspaces') });
    await ready();
    submit();
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('This Warren holds its maximum of 2 workspaces');
  });

  it('asks for the TTL only for a temporary workspace', async () => {
    routeFetch({ 'GET /workspace/images': images, 'GET /workspace/quota': quota });
    await ready();
    expect(screen.queryByLabelText('TTL')).toBeNull();
    fireEvent.change(screen.getByLabelText('Mode'), { target: { value: 'temporary' } });
    expect(await screen.findByLabelText('TTL')).toBeTruthy();
    expect(screen.getByLabelText('When the TTL runs out')).toBeTruthy();
  });

  it('applies ingress ports and egress hosts after the create; a refusal keeps the workspace and retries only the network', async () => {
    let patches = 0;
    const calls = routeFetch({ 'GET /workspace/images': images, 'GET /workspace/quota': quota,
      'POST /workspace': { status: 201, body: { workspace: { id: 'ws_net', status: 'running' } } },
      'GET /workspace/ws_net': { body: { workspace: { id: 'ws_net', status: 'running' } } },
      'PATCH /workspace/ws_net/network': () => (++patches === 1
        ? apiError(400, 'validation_error', '"bad host" is not an IPv4 address, an IPv4 CIDR or a host name', { field: 'egress[0]' })
        : { body: { success: true } }),
    });
    await ready();
    type('Ingress ports', '8080');
    type('Egress hosts', 'bad_host!');
    submit();
    await waitFor(() => expect(input('Egress hosts').getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByText(/was\s+created, but its network settings were refused/)).toBeTruthy();
    type('Egress hosts', 'example.com');
    submit();
    await waitFor(() => expect(location.pathname).toBe('/console/w/ws_net'));
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    expect(calls.filter((c) => c.method === 'PATCH').at(-1)?.body).toEqual({ ingress_ports: [8080], egress: ['example.com'] });
  });
});
