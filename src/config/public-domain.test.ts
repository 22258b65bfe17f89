import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePublicDomain } from './public-domain.js';

test('public domain: default, normalised, invalid refused', () => {
  assert.equal(parsePublicDomain(undefined), 'localhost');
  assert.equal(parsePublicDomain('Apps.Example.COM.'), 'apps.example.com');
  for (const bad of ['', 'a..b', '-x.com', 'x_y.com', 'ex ample.com']) assert.throws(() => parsePublicDomain(bad), /public-domain/);
});
