import { test } from 'node:test';
import assert from 'node:assert/strict';
import { overlayOptions } from './overlay.js';

const hex = (c: string) => c.repeat(64);

test('layers of one directory are named relative to it, top layer first', () => {
  const { options, cwd } = overlayOptions({ lowers: [`/img/layers/${hex('a')}`, `/img/layers/${hex('b')}`], target: '/m' });
  assert.equal(cwd, '/img/layers');
  assert.equal(options, `lowerdir=${hex('b')}:${hex('a')},ro`);
});

test('a writable mount names its upper and work dirs; lowers from several places stay absolute', () => {
  const { options, cwd } = overlayOptions({
    lowers: ['/img/layers/base', '/snap/upper'], upper: '/w/upper', work: '/w/work', target: '/m', extra: ['nodev'],
  });
  assert.equal(cwd, undefined);
  assert.equal(options, 'lowerdir=/snap/upper:/img/layers/base,upperdir=/w/upper,workdir=/w/work,nodev');
});

test('paths overlayfs cannot express, an empty stack and a stack over one page are refused', () => {
  assert.throws(() => overlayOptions({ lowers: ['/a,b'], target: '/m' }), /not usable/);
  assert.throws(() => overlayOptions({ lowers: ['/a:b'], target: '/m' }), /not usable/);
  assert.throws(() => overlayOptions({ lowers: [], target: '/m' }), /at least one/);
  const deep = Array.from({ length: 70 }, (_, i) => `/img/layers/${i.toString(16).padStart(64, '0')}`);
  assert.throws(() => overlayOptions({ lowers: deep, target: '/m' }), /too deep/);
  assert.doesNotThrow(() => overlayOptions({ lowers: deep.slice(0, 60), target: '/m' }));
});
