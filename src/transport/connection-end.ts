/**
 * How a slot hears a connection's end, once: what an HTTP/1.1 and an HTTP/2 connection both keep.
 * The verdict is given once; a listener added after it hears it a microtask later; a retired
 * connection (`silence`) tells nobody anything more, so its late end never reaches the slot's
 * next connection.
 */
import type { ConnectionEnd } from '../machines/slot.js';

export class ConnectionEndNotice {
  #listeners: ((end: ConnectionEnd) => void)[] = [];
  #silenced = false;
  /** The verdict, once given. */
  end: ConnectionEnd | undefined;

  /** Calls `listener` once with the verdict: now if it is given (a microtask later), else when it is. */
  listen(listener: (end: ConnectionEnd) => void): void {
    const end = this.end;
    if (end) {
      queueMicrotask(() => {
        if (!this.#silenced) listener(end);
      });
      return;
    }
    this.#listeners.push(listener);
  }

  /** Gives the verdict, unless one was given; returns whether this one was. */
  give(end: ConnectionEnd): boolean {
    if (this.end) return false;
    this.end = end;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener(end);
    return true;
  }

  /** No listener hears anything from now on. */
  silence(): void {
    this.#silenced = true;
    this.#listeners = [];
  }
}
