/**
 * A first-come, first-served queue of waiting callbacks, each of which can withdraw
 * itself: what a dial waiting for its turn needs (`DialLimiter`, `DialRamp`), without a
 * promise or an abort signal per waiting dial.
 */
export class WaitQueue<T> {
  readonly #items: T[] = [];

  get length(): number {
    return this.#items.length;
  }

  /** Adds `item` last; returns its withdrawal, which takes it out if still queued (idempotent). */
  add(item: T): () => void {
    this.#items.push(item);
    return () => {
      const index = this.#items.indexOf(item);
      if (index >= 0) this.#items.splice(index, 1);
    };
  }

  /** The first item, taken out; undefined when none waits. */
  take(): T | undefined {
    return this.#items.shift();
  }
}
