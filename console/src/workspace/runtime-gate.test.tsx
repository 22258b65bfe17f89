import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { saveCredential } from '../api/session.js';
import { RuntimeGate } from './runtime-gate.js';

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** A workspace whose access state the fake API keeps and changes. */
function fakeApi(state: { enabled: boolean; public_access: boolean }, failEnable = false) {
  const calls: string[] = [];
  vi.stubGlobal('fetch', vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const key = `${init?.method ?? 'GET'} ${String(input)}`;
    calls.push(key);
    switch (key) {
      case 'GET /workspace/ws_1/runtime-api-access': return json(200, { success: true, enabled: state.enabled });
      case 'GET /workspace/ws_1/network': return json(200, { success: true, public_access: state.public_access });
      case 'PATCH /workspace/ws_1/network': state.public_access = true; return json(200, { success: true });
      case 'POST /workspace/ws_1/runtime-api-access/enable':
        if (failEnable) return json(409, { success: false, code: 'conflict', message: 'The workspace is busy', details: { current_state: 'restarting' } });
        state.enabled = true;
        return json(200, { success: true, enabled: true, token: 't' });
      default: return json(404, { success: false, code: 'not_found', message: key });
    }
  }));
  return calls;
}

const running = { id: 'ws_1', status: 'running' };

describe('RuntimeGate', () => {
  beforeEach(() => saveCredential({ kind: 'key', clientId: 'id', clientSecret: 'secret' }));
  afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

  it('says what is missing and turns it on with one button', async () => {
    const calls = fakeApi({ enabled: false, public_access: false });
    const refresh = vi.fn();
    render(<RuntimeGate ws={running} refresh={refresh} purpose="the terminal">{() => <p>inside</p>}</RuntimeGate>);
    await screen.findByRole('heading', { name: 'Runtime access is off' });
    expect(screen.getByText('public access on the workspace network')).toBeTruthy();
    expect(screen.getByText("the workspace's runtime API")).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Turn on runtime access' }));
    await screen.findByText('inside');
    expect(calls).toContain('PATCH /workspace/ws_1/network');
    expect(calls).toContain('POST /workspace/ws_1/runtime-api-access/enable');
    expect(refresh).toHaveBeenCalled();
  });

  it('only lists what is off, and shows a refusal with the current state', async () => {
    const calls = fakeApi({ enabled: false, public_access: true }, true);
    render(<RuntimeGate ws={running} refresh={() => undefined} purpose="the files">{() => <p>inside</p>}</RuntimeGate>);
    await screen.findByRole('heading', { name: 'Runtime access is off' });
    expect(screen.queryByText('public access on the workspace network')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Turn on runtime access' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('The workspace is busy (the workspace is restarting)');
    expect(calls).not.toContain('PATCH /workspace/ws_1/network');
  });

  it('renders its children when access is on and the workspace runs; says so when it does not run', async () => {
    fakeApi({ enabled: true, public_access: true });
    const { rerender } = render(<RuntimeGate ws={running} refresh={() => undefined} purpose="the files">{() => <p>inside</p>}</RuntimeGate>);
    await screen.findByText('inside');
    rerender(<RuntimeGate ws={{ id: 'ws_1', status: 'stopped' }} refresh={() => undefined} purpose="the files">{() => <p>inside</p>}</RuntimeGate>);
    await waitFor(() => expect(screen.getByText(/The workspace is stopped: start it to use the files/)).toBeTruthy());
  });
});
