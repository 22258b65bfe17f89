import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { WorkspaceList } from './workspaces.js';
import { apiError, routeFetch } from '../testing/route-fetch.js';

afterEach(() => { cleanup(); vi.unstubAllGlobals(); });

const workspaces = [
  { id: 'ws_run00001', name: 'api', image: 'node-20', status: 'running', info: { status: 'running' }, ip: '10.0.0.2', created_at: '2025-01-02T03:04:05Z' },
  { id: 'ws_stop0002', name: 'batch', image: 'debian-12', status: 'stopped', info: { status: 'stopped' }, ip: '10.0.0.3', created_at: '2025-01-03T03:04:05Z' },
];

describe('the workspace list', () => {
  it('lists, counts, filters and searches', async () => {
    routeFetch({ 'GET /workspace': { body: { workspaces, total: 2 } }, 'GET /workspace/ws_run00001/stats': { body: { cpu_percent_of_limit: 12.4, memory_usage: 40 } } });
    render(<WorkspaceList />);
    expect(await screen.findByText('2 workspaces')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'api' }).getAttribute('href')).toBe('/console/w/ws_run00001');
    fireEvent.input(screen.getByLabelText('Search'), { target: { value: 'debian' } });
    expect(screen.getByText('1 of 2 workspaces')).toBeTruthy();
    expect(screen.queryByRole('link', { name: 'api' })).toBeNull();
    fireEvent.input(screen.getByLabelText('Search'), { target: { value: '' } });
    fireEvent.change(screen.getByLabelText('State'), { target: { value: 'running' } });
    expect(screen.getByText('1 of 2 workspaces')).toBeTruthy();
    expect(screen.queryByRole('link', { name: 'batch' })).toBeNull();
    fireEvent.input(screen.getByLabelText('Search'), { target: { value: 'nothing-like-this' } });
    fireEvent.click(screen.getByRole('button', { name: 'Clear the filter' }));
    expect(screen.getByText('2 workspaces')).toBeTruthy();
  });

  it('draws sparklines for running workspaces only, from /stats', async () => {
    const calls = routeFetch({ 'GET /workspace': { body: { workspaces, total: 2 } }, 'GET /workspace/ws_run00001/stats': { body: { cpu_percent_of_limit: 12.4, memory_usage: 40 } } });
    render(<WorkspaceList />);
    expect(await screen.findByRole('img', { name: 'CPU 12%' })).toBeTruthy();
    expect(screen.getByRole('img', { name: 'Memory 40%' })).toBeTruthy();
    expect(screen.getAllByLabelText('CPU: not running')).toHaveLength(1);
    expect(calls.filter((c) => c.path.endsWith('/stats')).map((c) => c.path)).toEqual(['/workspace/ws_run00001/stats']);
  });

  it('says when there is no workspace', async () => {
    routeFetch({ 'GET /workspace': { body: { workspaces: [], total: 0 } } });
    render(<WorkspaceList />);
    expect(await screen.findByText(/No workspaces yet/)).toBeTruthy();
  });

  it("shows the API's error with a retry", async () => {
    routeFetch({ 'GET /workspace': apiError(503, 'unavailable', 'The store is unavailable') });
    render(<WorkspaceList />);
    expect((await screen.findByRole('alert')).textContent).toContain('The store is unavailable');
    expect(screen.getByRole('button', { name: 'Retry' })).toBeTruthy();
  });
});
