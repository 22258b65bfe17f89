import { describe, expect, it } from 'vitest';
import type { NetworkPolicy } from '../api/network.js';
import { diffNetwork, formOf, networkFieldOf } from './network-model.js';

const current: NetworkPolicy = {
  allow_internet: true, public_access: false, ingress: [], ingress_ports: [80, 443],
  egress: ['example.com'], egress_ports: [], private_link_ids: ['ws_a'],
};

describe('diffNetwork', () => {
  it('is empty when nothing changed (formatting aside)', () => {
    expect(diffNetwork(current, formOf(current))).toEqual({});
    expect(diffNetwork(current, { ...formOf(current), ingress_ports: '80 443 ' })).toEqual({});
  });

  it('sends only the fields that changed', () => {
    expect(diffNetwork(current, { ...formOf(current), ingress_ports: '80, 8080', public_access: true })).toEqual({
      ingress_ports: [80, 8080], public_access: true,
    });
  });

  it('sends a port that is not a number as typed (the API names it)', () => {
    expect(diffNetwork(current, { ...formOf(current), egress_ports: '443, abc' })).toEqual({ egress_ports: [443, 'abc'] });
  });

  it('clears a list with an empty array', () => {
    expect(diffNetwork(current, { ...formOf(current), egress: '' })).toEqual({ egress: [] });
  });

  it('does not send egress hosts while the internet is turned off', () => {
    expect(diffNetwork(current, { ...formOf(current), allow_internet: false, egress: 'other.org' })).toEqual({ allow_internet: false });
  });

  it('compares private links as a set', () => {
    const two = { ...current, private_link_ids: ['ws_a', 'ws_b'] };
    expect(diffNetwork(two, { ...formOf(two), private_link_ids: ['ws_b', 'ws_a'] })).toEqual({});
    expect(diffNetwork(two, { ...formOf(two), private_link_ids: ['ws_b'] })).toEqual({ private_link_ids: ['ws_b'] });
  });
});

describe('networkFieldOf', () => {
  it('maps indexed fields to their list, unknown ones to undefined', () => {
    expect(networkFieldOf('ingress_ports[0]')).toBe('ingress_ports');
    expect(networkFieldOf('egress')).toBe('egress');
    expect(networkFieldOf('private_link_ids[2]')).toBe('private_link_ids');
    expect(networkFieldOf('outbound_mode')).toBeUndefined();
    expect(networkFieldOf(undefined)).toBeUndefined();
  });
});
