/**
 * Turns a push subscription (listener + end callback) into an async iterable with a
 * bounded queue: a slow reader loses the oldest values (samples are latest-value data),
 * never memory. `subscribe` returns the unsubscribe function, called when the reader
 * stops (return/throw) or the signal aborts.
 */
import { waiter } from './waiter.js';

export function pushIterable<T>(
  subscribe: (push: (v: T) => void, end: () => void) => () => void,
  signal: AbortSignal,
  maxQueued = 16,
): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const queue: T[] = [];
      let ended = false;
      const { wait, notify } = waiter();
      const unsubscribe = subscribe((v) => {
        if (ended) return;
        queue.push(v);
        if (queue.length > maxQueued) queue.shift();
        notify();
      }, () => {
        ended = true;
        notify();
      });
      const finish = () => {
        ended = true;
        unsubscribe();
        notify();
      };
      signal.addEventListener('abort', finish, { once: true });
      return {
        async next(): Promise<IteratorResult<T>> {
          while (queue.length === 0 && !ended) await wait();
          if (queue.length > 0) return { value: queue.shift() as T, done: false };
          finish();
          return { value: undefined, done: true };
        },
        async return(): Promise<IteratorResult<T>> {
          finish();
          return { value: undefined, done: true };
        },
      };
    },
  };
}
