/**
 * Which origin each slot of a many-origin pool dials. Slot i belongs to origin
 * i mod n (its home), so the connections are spread over the origins.
 *
 * Failover, as async-nats picks servers: a slot whose dials keep failing
 * (`FAILOVER_AFTER` in a row) moves to the origin with the fewest recent
 * failures. It goes back once its home has had no failure for `RETURN_AFTER`:
 * one displaced slot per home is recycled to try it (a probe), so a home still
 * down costs one slot's redial, not all of them; if the probe connects, the
 * others follow.
 */
export const FAILOVER_AFTER = 2;
/** How long a home origin must have been quiet (no failed dial) before its slots come back (ms). */
export const RETURN_AFTER = 5_000;
/** Failures older than this are forgotten when origins are compared (ms). */
export const FAILURE_WINDOW = 30_000;
/** How often the pool looks for slots to bring home (ms). */
export const HOMING_INTERVAL = 1_000;
/** Failures kept per origin: enough to compare origins, bounded whatever the outage. */
const MAX_FAILURES_KEPT = 64;

export class OriginAssignment {
  #count: number;
  readonly #now: () => number;
  /** Times of recent failed dials, per origin, oldest first. */
  #failures: number[][];
  /** The origin each slot dials now. */
  readonly #current: number[];
  /** Failed dials in a row of each slot on its current origin. */
  readonly #inARow: number[];
  /** The slot probing each home origin, or -1. */
  #probing: number[];
  /** Whether each slot's last dial on its current origin connected. */
  readonly #up: boolean[];
  /** Slots whose origin was taken out of the list (`replace`): they move at their next dial. */
  readonly #moving: boolean[];
  /** Bumped by `replace`: a dial's outcome counts against its origin only if no replace came between. */
  #generation = 0;

  constructor(origins: number, slots: number, now: () => number) {
    this.#count = origins;
    this.#now = now;
    this.#failures = Array.from({ length: origins }, () => []);
    this.#current = Array.from({ length: slots }, (_, slot) => slot % origins);
    this.#inARow = new Array<number>(slots).fill(0);
    this.#probing = new Array<number>(origins).fill(-1);
    this.#up = new Array<boolean>(slots).fill(false);
    this.#moving = new Array<boolean>(slots).fill(false);
  }

  /** Changes with every `replace`: what a dial under way holds to tell whether its origin index still means the same origin. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * A new list of origins (`pool.setOrigins`): `kept[i]` is the new index of old origin i, or
   * -1 if it is gone. An origin in both lists keeps its recent failures and its probe; a slot
   * on an origin that is gone moves home (`slot mod n`) at its next dial, and `returning()`
   * reports it until then.
   */
  replace(count: number, kept: readonly number[]): void {
    const failures: number[][] = Array.from({ length: count }, () => []);
    const probing = new Array<number>(count).fill(-1);
    kept.forEach((to, from) => {
      if (to < 0) return;
      failures[to] = this.#failures[from]!;
      probing[to] = this.#probing[from]!;
    });
    this.#count = count;
    this.#failures = failures;
    this.#probing = probing;
    this.#generation++;
    for (let slot = 0; slot < this.#current.length; slot++) {
      const to = kept[this.#current[slot]!] ?? -1;
      if (to >= 0) this.#current[slot] = to;
      else {
        this.#current[slot] = this.home(slot);
        this.#moving[slot] = true;
        this.#inARow[slot] = 0;
        this.#up[slot] = false;
      }
    }
  }

  home(slot: number): number {
    return slot % this.#count;
  }

  /** The origin slot `slot` dials now: its home when it may go back, elsewhere after failures, else where it was. */
  choose(slot: number): number {
    const home = this.home(slot);
    // Its origin is gone: it goes home (already its current origin), whoever probes there.
    if (this.#moving[slot]) {
      this.#moving[slot] = false;
      this.#up[slot] = false;
      return this.#current[slot]!;
    }
    let origin = this.#current[slot]!;
    if (origin !== home && this.#mayReturn(slot, home)) origin = home;
    else if (this.#inARow[slot]! >= FAILOVER_AFTER) origin = this.#leastFailing(home);
    if (origin !== this.#current[slot]) this.#inARow[slot] = 0;
    this.#current[slot] = origin;
    this.#up[slot] = false;
    return origin;
  }

  /** The slot dials `origin` instead (its first connect, trying the origins in turn). */
  place(slot: number, origin: number): void {
    this.#current[slot] = origin;
    this.#inARow[slot] = 0;
    this.#up[slot] = false;
  }

  failed(slot: number, origin: number): void {
    const failures = this.#failures[origin]!;
    failures.push(this.#now());
    if (failures.length > MAX_FAILURES_KEPT) failures.shift();
    this.#inARow[slot]!++;
    // A probe that failed ends: the home is not back yet, and its quiet time starts over.
    if (this.#probing[origin] === slot) this.#probing[origin] = -1;
  }

  connected(slot: number, origin: number): void {
    this.#inARow[slot] = 0;
    this.#up[slot] = true;
    if (this.#probing[origin] === slot) this.#probing[origin] = -1;
  }

  /**
   * Slots away from a home that may take them back, to recycle so they dial it:
   * one (the probe) while no slot of that home is up on it, all once one is.
   */
  returning(): number[] {
    const out: number[] = [];
    for (let slot = 0; slot < this.#current.length; slot++) {
      const home = this.home(slot);
      if (this.#moving[slot] || (this.#current[slot] !== home && this.#mayReturn(slot, home))) out.push(slot);
    }
    return out;
  }

  /** Whether a slot away from `home` may dial it now; the first to ask while home is unproven becomes its probe. */
  #mayReturn(slot: number, home: number): boolean {
    if (this.#probing[home] === slot) return true;
    if (this.#probing[home]! >= 0) return false;
    const last = this.#failures[home]!.at(-1);
    if (last !== undefined && this.#now() - last < RETURN_AFTER) return false;
    const proven = this.#current.some((origin, other) => origin === home && this.#up[other]);
    if (!proven) this.#probing[home] = slot;
    return true;
  }

  /** Where each slot dials now, by slot. */
  current(): readonly number[] {
    return this.#current;
  }

  #recentFailures(origin: number, now: number): number {
    const failures = this.#failures[origin]!;
    while (failures.length > 0 && now - failures[0]! > FAILURE_WINDOW) failures.shift();
    return failures.length;
  }

  /** The origin with the fewest recent failures; on a tie the home, then the first in order. */
  #leastFailing(home: number): number {
    const now = this.#now();
    let best = home;
    let fewest = this.#recentFailures(home, now);
    for (let origin = 0; origin < this.#count; origin++) {
      const failures = this.#recentFailures(origin, now);
      if (failures < fewest) {
        best = origin;
        fewest = failures;
      }
    }
    return best;
  }
}
