/**
 * Single-host coordination (SQLite, `warren serve` alone): exactly the behaviour Warren had
 * before issue 16. Operations on a workspace queue in a KeyedLock, reservations in one key
 * of it; this instance is always the leader (epoch 1, never deposed); the bus delivers to
 * this process's subscribers synchronously, so a revocation's cut happens before the answer.
 */
import { KeyedLock } from '../domain/locks.js';
import { StaleEpochError, type BusPort, type CoordinationPort, type LeadershipPort } from '../domain/ports.js';
import { Dispatch } from './dispatch.js';

const RESERVE_KEY = 'reserve';
const EPOCH = 1;

export class LocalCoordination implements CoordinationPort {
  private readonly lock = new KeyedLock();
  /** Its own lock, so no workspace id can collide with the reservation key. */
  private readonly reservations = new KeyedLock();
  private readonly dispatch: Dispatch;
  readonly leadership: LeadershipPort;
  readonly bus: BusPort;

  constructor(readonly instanceId = 'local', onBusError: (topic: string, err: unknown) => void = () => {}) {
    this.dispatch = new Dispatch(onBusError);
    this.leadership = {
      isLeader: () => true,
      epoch: () => EPOCH,
      onChange: () => () => {},
      fenced: async (epoch, fn) => {
        if (epoch !== EPOCH) throw new StaleEpochError(epoch, EPOCH);
        return fn();
      },
    };
    this.bus = {
      publish: async (topic, payload) => this.dispatch.deliver(topic, payload),
      subscribe: (topic, handler) => this.dispatch.subscribe(topic, handler),
    };
  }

  run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(id, fn);
  }

  runWithin<T>(id: string, maxWaitMs: number, onBusy: () => Error, fn: () => Promise<T>): Promise<T> {
    return this.lock.runWithin(id, maxWaitMs, onBusy, fn);
  }

  reserve<T>(fn: () => Promise<T>): Promise<T> {
    return this.reservations.run(RESERVE_KEY, fn);
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}
