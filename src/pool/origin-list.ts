/**
 * A pool's origins as they stand: the list (the options', until `setOrigins`
 * replaces it), which origin each slot dials (`OriginAssignment`), and the
 * homing tick that recycles slots away from home once their home may take them
 * back, or off an origin that was taken out of the list.
 */
import type { Clock } from '../clock.js';
import type { PoolOrigin } from './options.js';
import { HOMING_INTERVAL, OriginAssignment } from './origins.js';

export class OriginList {
  /** Which origin each slot dials (one origin: always the same). */
  readonly assignment: OriginAssignment;
  readonly #clock: Clock;
  /** Tells the ledger to recycle a slot, if it is free. */
  readonly #recycle: (slot: number) => void;
  #origins: readonly PoolOrigin[];
  #names: readonly string[];
  #homing: unknown;

  constructor(origins: readonly PoolOrigin[], slots: number, now: () => number, clock: Clock, recycle: (slot: number) => void) {
    this.#origins = origins;
    this.#names = origins.map(({ origin }) => origin);
    this.assignment = new OriginAssignment(origins.length, slots, now);
    this.#clock = clock;
    this.#recycle = recycle;
  }

  get origins(): readonly PoolOrigin[] {
    return this.#origins;
  }

  /** Each origin's `scheme://host:port`, in list order. */
  get names(): readonly string[] {
    return this.#names;
  }

  /**
   * A new list: an origin in both keeps its recent failures; free slots on an origin that is
   * gone are recycled now, leased ones at a homing tick once released.
   */
  replace(origins: readonly PoolOrigin[]): void {
    const kept = this.#origins.map(({ origin }) => origins.findIndex((each) => each.origin === origin));
    this.#origins = origins;
    this.#names = origins.map(({ origin }) => origin);
    this.assignment.replace(origins.length, kept);
    this.#recycleReturning();
    // The homing tick also moves the slots leased now, once released (a pool of one origin had none).
    this.startHoming();
  }

  /** Every HOMING_INTERVAL, slots whose home origin is back (or whose origin is gone) are recycled, while free. Idempotent. */
  startHoming(): void {
    if (this.#homing !== undefined) return;
    const tick = () => {
      this.#recycleReturning();
      this.#homing = this.#clock.setTimeout(tick, HOMING_INTERVAL);
    };
    this.#homing = this.#clock.setTimeout(tick, HOMING_INTERVAL);
  }

  stop(): void {
    if (this.#homing !== undefined) this.#clock.clearTimeout(this.#homing);
  }

  #recycleReturning(): void {
    for (const slot of this.assignment.returning()) this.#recycle(slot);
  }
}
