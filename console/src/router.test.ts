import { describe, expect, it } from 'vitest';
import { hrefOf, parseRoute } from './router.js';

describe('router', () => {
  it('parses every console path', () => {
    expect(parseRoute('/console/')).toEqual({ name: 'list' });
    expect(parseRoute('/console')).toEqual({ name: 'list' });
    expect(parseRoute('/console/sign-in')).toEqual({ name: 'sign-in' });
    expect(parseRoute('/console/new')).toEqual({ name: 'create' });
    expect(parseRoute('/console/w/ws_1')).toEqual({ name: 'workspace', id: 'ws_1', tab: 'overview' });
    expect(parseRoute('/console/w/ws_1/files')).toEqual({ name: 'workspace', id: 'ws_1', tab: 'files' });
    expect(parseRoute('/console/w/ws_1/nope')).toEqual({ name: 'not-found' });
    expect(parseRoute('/console/w')).toEqual({ name: 'not-found' });
  });

  it('round-trips hrefs, encoding ids', () => {
    for (const tab of ['overview', 'terminal', 'monitor'] as const) {
      const route = { name: 'workspace' as const, id: 'a b/c', tab };
      expect(parseRoute(hrefOf(route))).toEqual(route);
    }
    expect(hrefOf({ name: 'create' })).toBe('/console/new');
  });
});
