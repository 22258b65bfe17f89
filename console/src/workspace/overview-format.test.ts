import { describe, expect, it } from 'vitest';
import { formatDuration, formatResources } from './overview-format.js';

describe('formatDuration', () => {
  it('shows the two largest units', () => {
    expect(formatDuration(45)).toBe('45s');
    expect(formatDuration(125)).toBe('2m 5s');
    expect(formatDuration(3600)).toBe('1h');
    expect(formatDuration(3725)).toBe('1h 2m');
    expect(formatDuration(90061)).toBe('1d 1h');
  });

  it('is a dash for nothing or nonsense', () => {
    expect(formatDuration(undefined)).toBe('—');
    expect(formatDuration(-1)).toBe('—');
  });
});

describe('formatResources', () => {
  it('lists what is known', () => {
    expect(formatResources({ cpus: 1, memory_mb: 512, disk_size_mb: 1024 })).toBe('1 CPU · 512 MB memory · 1024 MB disk');
    expect(formatResources({ cpus: 2 })).toBe('2 CPUs');
    expect(formatResources(undefined)).toBe('—');
  });
});
