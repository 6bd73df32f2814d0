/**
 * Where a governor keeps its count of spent weight: the seam between the governor (waiters,
 * priorities, pauses, the venue's headers) and the arithmetic of the windows.
 *
 * The in-process store below is the default, synchronous and allocation-free. A store shared
 * by a fleet (shared-store.ts, Redis in redis-store.ts) answers each call with a promise and
 * names each reservation by an id, so it has an interface of its own; the governor awaits it at
 * acquire only, and falls back to this store, at `localShare` of every cap, while it cannot be
 * reached (governor.ts, `#degrade`).
 *
 * A reservation counts against every window from the moment it is made (it may be sent at
 * any instant from now on), and is spent, at its send time, by `commit`.
 */
import { WindowLog } from './window-log.js';

export interface BudgetStore {
  /**
   * Reserves `weight` if each window's spent + reserved + `weight` stays within `caps[i]`: 0, else ms
   * until it might. `now` is read only when needed (a clock read costs more than the rest of a reservation).
   */
  reserve(weight: number, caps: readonly number[], now: () => number): number;
  /** Spends a reservation of `weight` at `now` (the request is being sent). */
  commit(weight: number, now: number): void;
  /** Drops a reservation of `weight` that was never spent. */
  cancel(weight: number): void;
  /** Gives back `weight` committed at `at`: the request never left the process. */
  refund(weight: number, at: number): void;
  /** Counts `weight` sent at `now` that was never reserved here (a shared reservation sent while its store is out of reach). */
  add(weight: number, now: number): void;
  /** Moves `weight` committed at `at` to `now`: its request settled, so the venue has had it by then. */
  redate(weight: number, at: number, now: number): void;
  /** The venue said window `index` holds `used` (its own count) when answering a request sent at `sentAt`. */
  correct(index: number, used: number, sentAt: number, now: number): void;
  /** Spent + reserved weight in each window. */
  used(now: number): number[];
}

/** The default store: this process's own count, synchronous, no allocation per reservation. */
export class LocalBudgetStore implements BudgetStore {
  readonly #logs: WindowLog[];
  /** Reserved weight not yet spent (counted against every window). */
  #reserved = 0;

  constructor(pers: readonly number[]) {
    this.#logs = pers.map((per) => new WindowLog(per));
  }

  reserve(weight: number, caps: readonly number[], now: () => number): number {
    let wait = 0;
    let time = -1;
    for (let i = 0; i < this.#logs.length; i++) {
      const log = this.#logs[i]!;
      // Room even counting what may have expired: no need to know the time.
      if (log.upperBound + this.#reserved + weight <= caps[i]!) continue;
      if (time < 0) time = now();
      const over = log.used(time) + this.#reserved + weight - caps[i]!;
      if (over > 0) wait = Math.max(wait, log.waitToFree(over, time));
    }
    if (wait === 0) this.#reserved += weight;
    return wait;
  }

  commit(weight: number, now: number): void {
    this.#reserved -= weight;
    for (const log of this.#logs) log.add(weight, now);
  }

  cancel(weight: number): void {
    this.#reserved -= weight;
  }

  refund(weight: number, at: number): void {
    for (const log of this.#logs) log.remove(weight, at);
  }

  add(weight: number, now: number): void {
    for (const log of this.#logs) log.add(weight, now);
  }

  redate(weight: number, at: number, now: number): void {
    for (const log of this.#logs) {
      log.remove(weight, at);
      log.add(weight, now);
    }
  }

  correct(index: number, used: number, sentAt: number, now: number): void {
    const log = this.#logs[index];
    // What went out after that request, the venue had not counted yet when it answered.
    if (log) log.correct(used + log.spentAfter(sentAt), now);
  }

  used(now: number): number[] {
    return this.#logs.map((log) => log.used(now) + this.#reserved);
  }
}
