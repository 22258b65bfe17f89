import { describe, expect, it } from 'vitest';
import type { Workspace } from '../api/workspaces.js';
import { ALL, countLabel, filterWorkspaces, stateOptions } from './filter.js';

const list: Workspace[] = [
  { id: 'ws_aaa11111', name: 'api-server', image: 'node-20', status: 'running', info: { status: 'running' } },
  { id: 'ws_bbb22222', name: 'Batch', image: 'debian-12', status: 'stopped' },
  { id: 'ws_ccc33333', image: 'python-3', status: 'paused', info: { status: 'paused' } },
];
const ids = (ws: Workspace[]) => ws.map((w) => w.id);

describe('filterWorkspaces', () => {
  it('keeps everything with no filter', () => {
    expect(ids(filterWorkspaces(list, { state: ALL, query: '' }))).toEqual(ids(list));
  });

  it('filters by state (info.status first)', () => {
    expect(ids(filterWorkspaces(list, { state: 'paused', query: '' }))).toEqual(['ws_ccc33333']);
  });

  it('searches name, id and image, case-insensitively, every word', () => {
    expect(ids(filterWorkspaces(list, { state: ALL, query: 'batch' }))).toEqual(['ws_bbb22222']);
    expect(ids(filterWorkspaces(list, { state: ALL, query: 'CCC3' }))).toEqual(['ws_ccc33333']);
    expect(ids(filterWorkspaces(list, { state: ALL, query: 'node' }))).toEqual(['ws_aaa11111']);
    expect(ids(filterWorkspaces(list, { state: ALL, query: 'api node' }))).toEqual(['ws_aaa11111']);
    expect(ids(filterWorkspaces(list, { state: ALL, query: 'api debian' }))).toEqual([]);
  });

  it('combines state and search', () => {
    expect(ids(filterWorkspaces(list, { state: 'running', query: 'debian' }))).toEqual([]);
  });
});

describe('stateOptions and countLabel', () => {
  it('lists the states present, and keeps the selected one', () => {
    expect(stateOptions(list, ALL)).toEqual([ALL, 'paused', 'running', 'stopped']);
    expect(stateOptions(list, 'failed')).toEqual([ALL, 'failed', 'paused', 'running', 'stopped']);
  });

  it('says how many are shown', () => {
    expect(countLabel(3, 3)).toBe('3 workspaces');
    expect(countLabel(1, 1)).toBe('1 workspace');
    expect(countLabel(1, 3)).toBe('1 of 3 workspaces');
  });
});
