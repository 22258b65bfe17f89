import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgressPrinter } from './progress.js';

test('per-package debootstrap lines are folded into counts; other lines pass through', () => {
  const lines: string[] = [];
  const print = createProgressPrinter((l) => lines.push(l));
  const ev = (message: string, phase: 'debootstrap' | 'verify' = 'debootstrap') => print({ image: 'x', phase, message });
  for (let i = 0; i < 30; i++) ev(`I: Retrieving pkg${i} 1.${i}-1`);
  ev('I: Extracting adduser...');
  ev('I: Configuring required packages...');
  ev('I: Unpacking the base system...');
  ev('W: something odd');
  ev('node -v: v20.1.0', 'verify');
  assert.deepEqual(lines, [
    '[images] x debootstrap: Retrieving packages… (1)',
    '[images] x debootstrap: Retrieving packages… (25)',
    '[images] x debootstrap: Extracting packages… (1)',
    '[images] x debootstrap: I: Configuring required packages...',
    '[images] x debootstrap: I: Unpacking the base system...',
    '[images] x debootstrap: W: something odd',
    '[images] x verify: node -v: v20.1.0',
  ]);
});
