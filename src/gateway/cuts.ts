/**
 * Open exchanges (proxied requests, WebSocket pipes) grouped by a key — a workspace
 * for the gateway, a workspace's exposed port for the edge — so that revoking the
 * key cuts all of them at once. `track(key)` is what the relays take as `track`.
 */
export class CutRegistry {
  private readonly open = new Map<string, Set<() => void>>();

  /**
   * The `track` function for exchanges of `key`: registers a cut, returns its unregister.
   * `observe`, when given, is told when each exchange begins and (once) when it ends.
   */
  track(key: string, observe?: () => () => void): (cut: () => void) => () => void {
    return (cut) => {
      let set = this.open.get(key);
      if (!set) this.open.set(key, (set = new Set()));
      set.add(cut);
      const end = observe?.();
      return () => {
        set.delete(cut);
        if (set.size === 0 && this.open.get(key) === set) this.open.delete(key);
        end?.();
      };
    };
  }

  /** Cuts every open exchange of `key`; returns how many there were. */
  cut(key: string): number {
    const set = this.open.get(key);
    if (!set) return 0;
    this.open.delete(key);
    const cuts = [...set];
    for (const c of cuts) c();
    return cuts.length;
  }

  keys(): IterableIterator<string> {
    return this.open.keys();
  }
}
