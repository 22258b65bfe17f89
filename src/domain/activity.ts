/**
 * Traffic per workspace, for the idle policy: exchanges in flight (a proxied request
 * until its response ends, a WebSocket until it closes) and the time the last one
 * began or ended. In memory: after a restart every workspace counts as just active,
 * so nothing is put to sleep early.
 */
export class ActivityTracker {
  private readonly open = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private readonly idleListeners: Array<(id: string) => void> = [];

  /** An exchange with `id` began; call the returned function once when it ends. */
  begin(id: string): () => void {
    this.open.set(id, (this.open.get(id) ?? 0) + 1);
    this.last.set(id, Date.now());
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const n = (this.open.get(id) ?? 1) - 1;
      this.last.set(id, Date.now());
      if (n > 0) {
        this.open.set(id, n);
        return;
      }
      this.open.delete(id);
      for (const l of this.idleListeners) l(id);
    };
  }

  /** A momentary activity (a ping, a wake). */
  touch(id: string): void {
    this.last.set(id, Date.now());
    if (!this.busy(id)) for (const l of this.idleListeners) l(id);
  }

  busy(id: string): boolean {
    return (this.open.get(id) ?? 0) > 0;
  }

  /** When the workspace was last active (ms since epoch), if since this process started. */
  lastAt(id: string): number | undefined {
    return this.last.get(id);
  }

  /** `listener(id)` runs whenever a workspace's last exchange ends (its idle clock starts). */
  onIdle(listener: (id: string) => void): void {
    this.idleListeners.push(listener);
  }

  forget(id: string): void {
    this.open.delete(id);
    this.last.delete(id);
  }
}
