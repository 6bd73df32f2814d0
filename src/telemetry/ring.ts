/**
 * A bounded ring of the newest items (the flight recorder's per-actor history, the pool's
 * request log): the last `capacity` items. It grows as items come and wraps once full: a slot or feed
 * that never changes state holds an empty array, not `capacity` holes (800 bytes each
 * at the default 100, measured per idle slot).
 */
export class Ring<T> {
  readonly #capacity: number;
  readonly #items: T[] = [];
  /** Where the next item goes once the ring is full (the oldest item's index). */
  #next = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  push(item: T): void {
    if (this.#items.length < this.#capacity) {
      this.#items.push(item);
      return;
    }
    if (this.#capacity === 0) return;
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** Oldest first. */
  toArray(): T[] {
    return [...this.#items.slice(this.#next), ...this.#items.slice(0, this.#next)];
  }
}
