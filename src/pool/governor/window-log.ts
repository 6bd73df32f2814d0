/**
 * One rate-limit window (a weight per duration) as a sliding log: the weight spent at each
 * send, oldest first, and their running sum. Sliding rather than fixed: a venue that counts
 * per calendar minute never sees more than the limit in any of its minutes when no span of
 * `per` ms holds more than the limit, whatever the phase between its clock and ours.
 *
 * Times come from the governor's clock and never go back, so the log stays sorted and
 * expiring is a walk from the head: O(1) amortised per spend, no allocation but the push.
 */
export class WindowLog {
  readonly per: number;
  #times: number[] = [];
  #weights: number[] = [];
  #head = 0;
  #sum = 0;

  constructor(per: number) {
    this.per = per;
  }

  /** Weight spent within the last `per` ms. */
  used(now: number): number {
    this.#expire(now);
    return this.#sum;
  }

  /** Weight spent and not yet expired at the last look: never less than `used(now)`, and read without a clock. */
  get upperBound(): number {
    return this.#sum;
  }

  add(weight: number, now: number): void {
    // Expired entries go as new ones come, so a log read only through `upperBound` stays bounded.
    this.#expire(now);
    if (weight <= 0) return;
    this.#times.push(now);
    this.#weights.push(weight);
    this.#sum += weight;
  }

  /** Takes back `weight` spent at `at` (a request that never left): from the newest entry of that time. */
  remove(weight: number, at: number): void {
    for (let i = this.#times.length - 1; i >= this.#head && weight > 0; i--) {
      if (this.#times[i]! !== at) continue;
      const taken = Math.min(weight, this.#weights[i]!);
      this.#weights[i]! -= taken;
      this.#sum -= taken;
      weight -= taken;
    }
  }

  /** Weight spent after `at` (strictly): what a venue could not yet count when it answered a request sent at `at`. */
  spentAfter(at: number): number {
    let sum = 0;
    for (let i = this.#times.length - 1; i >= this.#head && this.#times[i]! > at; i--) sum += this.#weights[i]!;
    return sum;
  }

  /**
   * The venue's count wins: makes the window's sum `target`, adding the difference now
   * (it expires a full window from now, which is conservative) or taking it from the oldest entries.
   */
  correct(target: number, now: number): void {
    this.#expire(now);
    if (target > this.#sum) return this.add(target - this.#sum, now);
    let excess = this.#sum - target;
    for (let i = this.#head; i < this.#times.length && excess > 0; i++) {
      const taken = Math.min(excess, this.#weights[i]!);
      this.#weights[i]! -= taken;
      this.#sum -= taken;
      excess -= taken;
    }
  }

  /** ms until at least `excess` of the spent weight has left the window; `per` if the log cannot free that much. */
  waitToFree(excess: number, now: number): number {
    this.#expire(now);
    let freed = 0;
    for (let i = this.#head; i < this.#times.length; i++) {
      freed += this.#weights[i]!;
      if (freed >= excess) return Math.max(1, this.#times[i]! + this.per - now);
    }
    return this.per;
  }

  #expire(now: number): void {
    const times = this.#times;
    const horizon = now - this.per;
    while (this.#head < times.length && times[this.#head]! <= horizon) {
      this.#sum -= this.#weights[this.#head]!;
      this.#head++;
    }
    // Compact once the dead half dominates: the arrays do not grow with the life of the process.
    if (this.#head > 1024 && this.#head * 2 > times.length) {
      this.#times = times.slice(this.#head);
      this.#weights = this.#weights.slice(this.#head);
      this.#head = 0;
    }
    if (this.#head === times.length) this.#sum = 0;
  }
}
