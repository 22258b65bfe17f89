/**
 * Which rows are on screen (IntersectionObserver), so only their stats are polled.
 * `track(id)` is a stable ref callback per id; `visible()` is the set of ids on screen, or
 * null before the observer has reported once (or where there is no observer): "unknown".
 */
import { useEffect, useRef } from 'preact/hooks';

export function useVisibleRows(): { track: (id: string) => (el: Element | null) => void; visible: () => ReadonlySet<string> | null } {
  const seen = useRef(new Set<string>());
  const reported = useRef(false);
  const observer = useRef<IntersectionObserver | null>(null);
  const byEl = useRef(new Map<Element, string>());
  const byId = useRef(new Map<string, Element>());
  const callbacks = useRef(new Map<string, (el: Element | null) => void>());

  useEffect(() => {
    if (typeof IntersectionObserver === 'undefined') return;
    const o = new IntersectionObserver((entries) => {
      reported.current = true;
      for (const e of entries) {
        const id = byEl.current.get(e.target);
        if (!id) continue;
        if (e.isIntersecting) seen.current.add(id);
        else seen.current.delete(id);
      }
    });
    observer.current = o;
    for (const el of byEl.current.keys()) o.observe(el);
    return () => { o.disconnect(); observer.current = null; };
  }, []);

  const track = (id: string) => {
    let cb = callbacks.current.get(id);
    if (!cb) {
      cb = (el: Element | null) => {
        const old = byId.current.get(id);
        if (old && old !== el) {
          observer.current?.unobserve(old);
          byEl.current.delete(old);
          byId.current.delete(id);
          seen.current.delete(id);
        }
        if (el && old !== el) {
          byEl.current.set(el, id);
          byId.current.set(id, el);
          observer.current?.observe(el);
        }
      };
      callbacks.current.set(id, cb);
    }
    return cb;
  };
  const visible = () => (observer.current && reported.current ? seen.current : null);
  return { track, visible };
}
