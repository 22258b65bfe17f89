/**
 * In-process delivery of bus messages to this instance's subscribers: synchronous, in
 * subscription order. A handler that throws is reported and does not stop the others.
 */
import type { BusTopics } from '../domain/ports.js';

type Handler = (payload: never) => void;

export class Dispatch {
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(private readonly onError: (topic: string, err: unknown) => void = () => {}) {}

  subscribe<K extends keyof BusTopics>(topic: K, handler: (payload: BusTopics[K]) => void): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    const h = handler as Handler;
    set.add(h);
    return () => void set.delete(h);
  }

  deliver(topic: string, payload: unknown): void {
    for (const h of [...(this.handlers.get(topic) ?? [])]) {
      try {
        (h as (p: unknown) => void)(payload);
      } catch (err) {
        this.onError(topic, err);
      }
    }
  }
}
