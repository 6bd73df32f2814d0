/**
 * What a degraded governor spent on its local share and could not confirm in the shared store: each
 * request whose commit there failed or did not answer in time (shared-store.ts, `record`). On the
 * store's return each is committed again under its own id, which counts it exactly once: a record
 * that reached the store after all is re-dated, a missing one (the store was down, or restarted
 * empty) is written. Pushing sums instead would count twice every spend a slow store did take.
 */
export interface UnrecordedSpend {
  id: string;
  weight: number;
  /** When its commit failed, on the governor's clock. */
  at: number;
}

export class UnrecordedSpends {
  readonly #longest: number;
  /** Oldest first. */
  #spends: UnrecordedSpend[] = [];

  constructor(pers: readonly number[]) {
    this.#longest = Math.max(...pers);
  }

  add(id: string, weight: number, at: number): void {
    this.#spends.push({ id, weight, at });
  }

  /** The spends some window still holds at `now`, oldest first (the older ones are dropped: they count no more). */
  due(now: number): readonly UnrecordedSpend[] {
    let expired = 0;
    while (expired < this.#spends.length && this.#spends[expired]!.at <= now - this.#longest) expired++;
    if (expired > 0) this.#spends.splice(0, expired);
    return this.#spends.slice();
  }

  /** Drops the oldest `count`: their commits succeeded (spends added since stay). */
  drop(count: number): void {
    this.#spends.splice(0, count);
  }
}
