import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomSalt, sha512Crypt, SHA512_CRYPT_HASH } from './sha512-crypt.js';

test('matches glibc crypt(3) for $6$ (vectors from Drepper\'s specification and glibc)', () => {
  assert.equal(sha512Crypt('Hello world!', 'saltstring'),
    '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
  assert.equal(sha512Crypt('Hello world!', 'saltstringsaltstring', 10000),
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.');
  assert.equal(sha512Crypt('', 'abc'),
    '$6$abc$mJP3a6FyA8uCnzRtlnNypPwjnvpi5TP9qOrInzrfDmwxUQG38PkpCPdqfTb8JQfAngapMxeim4AZ..hSdRRzD.');
  assert.equal(sha512Crypt('a'.repeat(200), '0123456789abcdefXYZ'),
    '$6$0123456789abcdef$RBjxx9VcHjdfmVLoRNP7x08zbAVFOXyFy3mlyE0sWhfPSO/dqE70ouCpiWlbXYaHeO2LT4lgRz1jtlKJM0gSv/');
  assert.equal(sha512Crypt('pässwörd 🙂', './Zz'),
    '$6$./Zz$FqDCh0emTotvhk1XS7SlUDyEGlS394NEv/oqbw1bzTPj4x68ulpPxHW5G6Ji.sD5kIS6koAGCkyzs6XExoAj71');
});

test('fresh salts give well-formed, distinct hashes', () => {
  const a = sha512Crypt('secret-password', randomSalt());
  const b = sha512Crypt('secret-password', randomSalt());
  assert.match(a, SHA512_CRYPT_HASH);
  assert.match(b, SHA512_CRYPT_HASH);
  assert.notEqual(a, b);
});
