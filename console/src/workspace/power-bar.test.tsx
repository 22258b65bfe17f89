import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/preact';
import { PowerBar } from './power-bar.js';
import { apiError, routeFetch } from '../testing/route-fetch.js';

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

describe('the power bar', () => {
  it('offers the actions of a running workspace', () => {
    routeFetch({});
    render(<PowerBar ws={{ id: 'ws_1', status: 'running' }} refresh={() => undefined} />);
    for (const name of ['Stop', 'Restart', 'Pause', 'Delete']) expect(screen.getByRole('button', { name })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Resume' })).toBeNull();
  });

  it('offers nothing in a transitional state and says which', () => {
    routeFetch({});
    render(<PowerBar ws={{ id: 'ws_1', status: 'pausing', info: { status: 'pausing' } }} refresh={() => undefined} />);
    expect(screen.queryByRole('button', { name: 'Pause' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Resume' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Delete' }).hasAttribute('disabled')).toBe(true);
    expect(screen.getByRole('status').textContent).toBe('pausing…');
  });

  it('lets a creating workspace be deleted', () => {
    routeFetch({});
    render(<PowerBar ws={{ id: 'ws_1', status: 'creating' }} refresh={() => undefined} />);
    expect(screen.getByRole('button', { name: 'Delete' }).hasAttribute('disabled')).toBe(false);
  });

  it('shows a 409 with the current state', async () => {
    routeFetch({ 'POST /workspace/ws_1/pause': apiError(409, 'invalid_state', 'Cannot pause a workspace that is stopped', { current_state: 'stopped' }) });
    const refresh = vi.fn();
    render(<PowerBar ws={{ id: 'ws_1', status: 'running' }} refresh={refresh} />);
    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Cannot pause a workspace that is stopped (the workspace is stopped)');
    expect(refresh).toHaveBeenCalled();
  });
});
