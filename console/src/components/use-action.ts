/**
 * One action at a time for a section of buttons: `run(label, fn)` marks `busy` with the
 * label, keeps the error it throws (for an ErrorBox) and calls `after` when done, whether
 * it worked or not (to read the lists again). Returns fn's result, or undefined on error.
 */
import { useState } from 'preact/hooks';

export function useAction(after?: () => void) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async <T>(label: string, fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(label);
    setError(null);
    try {
      return await fn();
    } catch (err) {
      setError(err);
      return undefined;
    } finally {
      setBusy(null);
      after?.();
    }
  };
  return { busy, error, run, clearError: () => setError(null) };
}
