/**
 * A Store that tells a listener about every workspace record it wrote: the record as
 * stored after insert/update, or null after a delete. Listeners run after the write
 * committed and must not throw (errors are theirs to log); they see writes from every
 * path (operations, reconciler, access control), so timers and watches derived from
 * records never go stale.
 */
import type { Store, WorkspaceRecord } from './store.js';

export type RecordListener = (rec: WorkspaceRecord | null, id: string) => void;

export function observeStore(store: Store, listener: RecordListener): Store {
  const notify = (rec: WorkspaceRecord | null, id: string) => {
    try {
      listener(rec, id);
    } catch {
      /* a listener's failure never fails the write that already happened */
    }
  };
  const wrapped: Partial<Store> = {
    async insertWorkspace(rec) {
      await store.insertWorkspace(rec);
      notify(rec, rec.id);
    },
    async insertWorkspaces(recs) {
      await store.insertWorkspaces(recs);
      for (const rec of recs) notify(rec, rec.id);
    },
    async updateWorkspace(rec, expectedVersion) {
      const saved = await store.updateWorkspace(rec, expectedVersion);
      notify(saved, saved.id);
      return saved;
    },
    async deleteWorkspace(id) {
      await store.deleteWorkspace(id);
      notify(null, id);
    },
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in wrapped) return wrapped[prop as keyof Store];
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
