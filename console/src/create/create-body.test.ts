import { describe, expect, it } from 'vitest';
import { buildCreateBody, EMPTY_FORM, formFieldOf, networkExtras, type CreateForm } from './create-body.js';

const form = (over: Partial<CreateForm>): CreateForm => ({ ...EMPTY_FORM, image: 'debian-12', ...over });

describe('buildCreateBody', () => {
  it('sends what the SDK sends: resources inside config, wait_ready false', () => {
    expect(buildCreateBody(form({ name: ' web ', cpus: '2', memory_mb: '512', disk_size_mb: '100' }))).toEqual({
      image: 'debian-12', name: 'web', mode: 'permanent',
      config: { cpus: 2, memory_mb: 512, disk_size_mb: 100 }, wait_ready: false,
    });
  });

  it('leaves empty fields to the server defaults, and sends non-numbers as typed', () => {
    expect(buildCreateBody(form({ cpus: 'two' }))).toEqual({
      image: 'debian-12', mode: 'permanent', config: { cpus: 'two' }, wait_ready: false,
    });
  });

  it('sends the TTL and its action only for a temporary workspace', () => {
    expect(buildCreateBody(form({ mode: 'temporary', ttl: '30m', ttl_action: 'remove' })).config).toEqual({ ttl: '30m', ttl_action: 'remove' });
    expect(buildCreateBody(form({ mode: 'temporary', ttl: '3600' })).config).toEqual({ ttl: 3600, ttl_action: 'stop' });
    expect(buildCreateBody(form({ mode: 'permanent', ttl: '30m' })).config).toEqual({});
  });

  it('sends network_config only to turn the internet off, and ssh_access when asked', () => {
    expect(buildCreateBody(form({ allow_internet: false, ssh: true })).config).toEqual({
      network_config: { allow_internet: false }, ssh_access: true,
    });
  });
});

describe('networkExtras', () => {
  it('is null when no ingress port or egress host was given', () => {
    expect(networkExtras(form({}))).toBeNull();
  });

  it('splits the lists; ports become numbers when they are', () => {
    expect(networkExtras(form({ ingress_ports: '80, 443 x1', egress: 'example.com,10.0.0.0/8' }))).toEqual({
      ingress_ports: [80, 443, 'x1'], egress: ['example.com', '10.0.0.0/8'],
    });
  });

  it('drops egress hosts when the internet is off', () => {
    expect(networkExtras(form({ allow_internet: false, egress: 'example.com' }))).toBeNull();
  });
});

describe('formFieldOf', () => {
  it('maps the API field to the form field', () => {
    expect(formFieldOf('config.cpus')).toBe('cpus');
    expect(formFieldOf('config.memory_mb')).toBe('memory_mb');
    expect(formFieldOf('config.writable_size_mb')).toBe('disk_size_mb');
    expect(formFieldOf('config.disk_size_mb')).toBe('disk_size_mb');
    expect(formFieldOf('config.ttl')).toBe('ttl');
    expect(formFieldOf('config.network_config.allow_internet')).toBe('allow_internet');
    expect(formFieldOf('image')).toBe('image');
    expect(formFieldOf('name')).toBe('name');
    expect(formFieldOf('egress[1]')).toBe('egress');
    expect(formFieldOf('ingress_ports[0]')).toBe('ingress_ports');
  });

  it('leaves unknown fields to a form-level error', () => {
    expect(formFieldOf(undefined)).toBeUndefined();
    expect(formFieldOf('namespace')).toBeUndefined();
    expect(formFieldOf('config.env[0]')).toBeUndefined();
    expect(formFieldOf('body')).toBeUndefined();
  });
});
