/**
 * Small event helpers. `firstEvent` resolves on whichever of `names` the emitter
 * fires first and removes its listeners then, so a wait that lost the race (the
 * peer closed instead of draining, the task exited instead of starting) leaves no
 * listener behind.
 */
import type { EventEmitter } from 'node:events';

export function firstEvent(emitter: Pick<EventEmitter, 'on' | 'off'>, names: readonly string[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const name of names) emitter.off(name, done);
      resolve();
    };
    for (const name of names) emitter.on(name, done);
  });
}
