/**
 * The states a pool slot or a feed has entered, in order, read one at a time.
 *
 * Polling `feed.state` misses a state that lasts less than a poll (a poisoned
 * socket torn down in a millisecond); a log subscribed to the actor (through
 * the same watcher as the flight recorder and the metrics) does not.
 * A test reads the log with a cursor: `next()` answers the first state entered
 * after the cursor, waiting for it if need be, so a test can assert the exact
 * sequence a fault drove the connection through.
 */
import type { ClientPool } from '../pool/client-pool.js';
import type { Feed } from '../feed/feed.js';
import { slotState, type SlotState } from '../machines/slot.js';
import { feedState, type FeedState } from '../machines/feed.js';
import { watchStates, type Watched, type WatchedSnapshot } from '../telemetry/state-watch.js';

export class StateLog<S extends string> {
  /** Every state entered, oldest first; a state repeats only after another came between. */
  readonly entered: S[] = [];
  #cursor = 0;
  #wake: (() => void) | undefined;
  #hooks: { state: S; fn: () => void }[] = [];
  readonly #stop: () => void;

  /** `onStop` undoes whatever feeds the log (`record`): `stop()` calls it. */
  constructor(initial: S, onStop: () => void = () => {}) {
    this.entered.push(initial);
    this.#cursor = 1;
    this.#stop = onStop;
  }

  /** The state entered last. */
  get current(): S {
    return this.entered[this.entered.length - 1]!;
  }

  /** States entered after the cursor, not yet read. */
  get unread(): readonly S[] {
    return this.entered.slice(this.#cursor);
  }

  record(state: S): void {
    if (state === this.current) return;
    this.entered.push(state);
    const due = this.#hooks.filter((hook) => hook.state === state);
    this.#hooks = this.#hooks.filter((hook) => hook.state !== state);
    for (const hook of due) hook.fn();
    this.#wake?.();
  }

  /**
   * Calls `fn` once, synchronously, the next time `state` is entered: the way
   * to act inside a state that lasts only until the next I/O callback (a
   * poisoned connection is torn down within a millisecond).
   */
  onEnter(state: S, fn: () => void): void {
    this.#hooks.push({ state, fn });
  }

  /**
   * The first state entered after the cursor, once it is; moves the cursor past it.
   * Rejects after `timeout` ms (real time: it bounds a failing test, not a passing one).
   */
  async next(timeout = 5_000): Promise<S> {
    if (this.#cursor >= this.entered.length) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#wake = undefined;
          reject(new Error(`no state entered within ${timeout} ms; still ${this.current} (log: ${this.entered.join(' > ')})`));
        }, timeout);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
    }
    return this.entered[this.#cursor++]!;
  }

  /** Marks everything entered so far as read. */
  skip(): void {
    this.#cursor = this.entered.length;
  }

  /** Stops recording. */
  stop(): void {
    this.#stop();
  }
}

/** Logs the states of `actor`, from its current one on; an actor that fails ends `closed`, as one stopped does. */
function logStates<S extends WatchedSnapshot, T extends string>(actor: Watched<S>, stateOf: (snapshot: S) => T, closed: T): StateLog<T> {
  let subscription: { unsubscribe(): void } | undefined;
  const log = new StateLog<T>(stateOf(actor.getSnapshot()), () => subscription?.unsubscribe());
  subscription = watchStates(actor, {
    state: stateOf,
    changed: ({ to }) => log.record(to),
    failed: () => log.record(closed),
  });
  return log;
}

/** Logs the states of slot `index` of `pool`, from its current one on. */
export function logSlot(pool: ClientPool, index: number): StateLog<SlotState> {
  const slot = pool.actor.getSnapshot().context.slots[index];
  if (!slot) throw new RangeError(`the pool has no slot ${index}`);
  return logStates(slot, slotState, 'closed');
}

/** Logs the states of `feed`, from its current one on. */
export function logFeed(feed: Feed): StateLog<FeedState> {
  return logStates(feed.actor, feedState, 'closed');
}
