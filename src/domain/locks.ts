/**
 * Keyed async mutex: operations on one workspace run one at a time, in arrival
 * order, while different workspaces proceed in parallel.
 *
 * `run` waits as long as the operations ahead take. `runWithin` gives up waiting after
 * `maxWaitMs` and throws what `onBusy` makes (its place in the queue passes on at once, and
 * `fn` never runs): for quick requests that must not sit behind a queue of long ones.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.enqueue(key, fn, null);
  }

  runWithin<T>(key: string, maxWaitMs: number, onBusy: () => Error, fn: () => Promise<T>): Promise<T> {
    return this.enqueue(key, fn, { maxWaitMs, onBusy });
  }

  private async enqueue<T>(key: string, fn: () => Promise<T>, bound: { maxWaitMs: number; onBusy: () => Error } | null): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    const done = () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    if (bound && !(await settlesWithin(prev, bound.maxWaitMs))) {
      // Give up the place: it is released as soon as the operations ahead finish.
      void prev.then(done);
      throw bound.onBusy();
    }
    try {
      await prev;
      return await fn();
    } finally {
      done();
    }
  }
}

/** Whether `p` settles within `ms` (a timer, unref'd, that never outlives the wait). */
function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    p.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
