import { describe, expect, it } from 'vitest';
import { baseName, crumbs, joinPath, nameProblem, normalizePath, parentOf, resolveLink } from './paths.js';

describe('workspace paths', () => {
  it('normalises', () => {
    expect(normalizePath('/')).toBe('/');
    expect(normalizePath('')).toBe('/');
    expect(normalizePath('//srv//app/')).toBe('/srv/app');
    expect(normalizePath('/srv/./app/../lib')).toBe('/srv/lib');
    expect(normalizePath('/../..')).toBe('/');
  });

  it('joins, with absolute names winning', () => {
    expect(joinPath('/', 'etc')).toBe('/etc');
    expect(joinPath('/root', 'a/b.txt')).toBe('/root/a/b.txt');
    expect(joinPath('/root', '../tmp')).toBe('/tmp');
    expect(joinPath('/root', '/opt/x')).toBe('/opt/x');
  });

  it('parent and name', () => {
    expect(parentOf('/')).toBe('/');
    expect(parentOf('/etc')).toBe('/');
    expect(parentOf('/srv/app/')).toBe('/srv');
    expect(baseName('/srv/app/main.go')).toBe('main.go');
    expect(baseName('/')).toBe('/');
  });

  it('breadcrumbs', () => {
    expect(crumbs('/')).toEqual([{ name: '/', path: '/' }]);
    expect(crumbs('/srv/app')).toEqual([
      { name: '/', path: '/' }, { name: 'srv', path: '/srv' }, { name: 'app', path: '/srv/app' },
    ]);
  });

  it('checks names typed for new folders', () => {
    expect(nameProblem('docs')).toBeNull();
    expect(nameProblem('with space.txt')).toBeNull();
    expect(nameProblem('  ')).toMatch(/Enter a name/);
    expect(nameProblem('a/b')).toMatch(/"\/"/);
    expect(nameProblem('..')).toMatch(/reserved/);
    expect(nameProblem('x'.repeat(256))).toMatch(/too long/);
  });

  it('resolves symlink targets', () => {
    expect(resolveLink('/root/link', 'target.txt')).toBe('/root/target.txt');
    expect(resolveLink('/root/link', '../etc/hosts')).toBe('/etc/hosts');
    expect(resolveLink('/root/link', '/opt/real')).toBe('/opt/real');
  });
});
