import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { NetworkTab } from './network.js';
import { apiError, routeFetch } from '../testing/route-fetch.js';

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

const policy = {
  ip: '10.0.0.2', gateway: '10.0.0.1', allow_internet: true, public_access: false, ingress: [], ingress_ports: [80],
  egress: [], egress_ports: [], outbound_ip: null, private_link_ids: [], private_links: [],
};
const others = { workspaces: [{ id: 'ws_me', name: 'me' }, { id: 'ws_peer', name: 'peer' }], total: 2 };
const input = (label: string) => screen.getByLabelText(label) as HTMLInputElement;

describe('the network tab', () => {
  it('saves only what changed, puts a refusal at its field, then shows what is in force', async () => {
    let current = { ...policy };
    const calls = routeFetch({
      'GET /workspace/ws_me/network': () => ({ body: current }),
      'GET /workspace': { body: others },
      'PATCH /workspace/ws_me/network': (c) => {
        const body = c.body as { ingress_ports?: unknown[] };
        if (body.ingress_ports?.includes(70000)) return apiError(400, 'validation_error', 'Port must be between 1 and 65535', { field: 'ingress_ports[1]' });
        current = { ...current, ...(body as object) };
        return { body: current };
      },
    });
    render(<NetworkTab ws={{ id: 'ws_me' }} refresh={() => undefined} />);
    await screen.findByText('In force');
    expect(screen.getByRole('button', { name: 'Save' }).hasAttribute('disabled')).toBe(true);

    fireEvent.input(input('Ingress ports'), { target: { value: '80, 70000' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(input('Ingress ports').getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByText('Port must be between 1 and 65535')).toBeTruthy();

    fireEvent.input(input('Ingress ports'), { target: { value: '80, 8080' } });
    fireEvent.click(screen.getByLabelText('peer (ws_peer)'));
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('Saved; it is in force now.');
    expect(calls.filter((c) => c.method === 'PATCH').at(-1)?.body).toEqual({ ingress_ports: [80, 8080], private_link_ids: ['ws_peer'] });
    expect(screen.getByText('80, 8080')).toBeTruthy();
    expect(screen.queryByLabelText('me (ws_me)')).toBeNull();
  });

  it('cancel returns the form to what is in force', async () => {
    routeFetch({ 'GET /workspace/ws_me/network': { body: policy }, 'GET /workspace': { body: others } });
    render(<NetworkTab ws={{ id: 'ws_me' }} refresh={() => undefined} />);
    await screen.findByText('In force');
    fireEvent.click(screen.getByLabelText('Allow internet access'));
    expect(input('Egress hosts').disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(input('Allow internet access').checked).toBe(true);
    expect(input('Egress hosts').disabled).toBe(false);
  });
});
