/**
 * One reader waiting for a writer: `wait()` resolves at the next `notify()`; a notify with no
 * one waiting is dropped (the reader checks its queue before it waits again).
 */
export function waiter(): { wait: () => Promise<void>; notify: () => void } {
  let wake: (() => void) | null = null;
  return {
    wait: () => new Promise<void>((r) => (wake = r)),
    notify: () => {
      const w = wake;
      wake = null;
      w?.();
    },
  };
}
