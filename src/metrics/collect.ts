/**
 * Scrape-time sampling with bounded cost: at most `concurrency` readings at once and a
 * time budget; a reading that fails or has not finished when the budget ends is
 * skipped (undefined), so one slow workspace never stalls a scrape.
 */
export async function sampleWithin<T>(
  tasks: ReadonlyArray<() => Promise<T>>, opts: { concurrency: number; budgetMs: number },
): Promise<Array<T | undefined>> {
  const out: Array<T | undefined> = new Array(tasks.length).fill(undefined);
  const deadline = Date.now() + opts.budgetMs;
  let next = 0;
  let over = false;
  const worker = async () => {
    while (!over && next < tasks.length && Date.now() < deadline) {
      const i = next++;
      try {
        const v = await tasks[i]!();
        if (!over) out[i] = v;
      } catch {
        /* skipped: the workspace stopped or its counters could not be read */
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<void>((r) => (timer = setTimeout(r, opts.budgetMs)));
  const workers = Array.from({ length: Math.min(Math.max(1, opts.concurrency), tasks.length) }, worker);
  await Promise.race([Promise.all(workers), budget]);
  clearTimeout(timer);
  over = true;
  return out;
}
