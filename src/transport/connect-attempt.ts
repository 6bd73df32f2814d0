/**
 * One connect at a time, cancellable, whose outcome counts only while it is the
 * current one: what a slot's dial and a feed's connect both need. The machine
 * starts it on entering `connecting` and cancels it on leaving; a connection
 * that arrives after the cancel is closed, never reported.
 */

import { Cancel } from './cancel.js';

/** A connection as far as a late arrival needs it: something to close. */
interface Closeable {
  destroy(): void;
}

export class ConnectAttempt {
  #current: Cancel | undefined;

  /**
   * Runs `connect` with a {@link Cancel} that fires on `cancel()`; then calls `done` or `failed`
   * (a turn later at the earliest) if no cancel came first, else closes what it brought.
   * Returns the connect's own promise, settled whatever happens.
   */
  start<C extends Closeable>(connect: (cancel: Cancel) => Promise<C>, done: (connection: C) => void, failed: (error: unknown) => void): Promise<C> {
    const cancel = new Cancel();
    this.#current = cancel;
    const current = () => {
      if (this.#current !== cancel) return false;
      this.#current = undefined;
      return true;
    };
    const attempt = connect(cancel);
    attempt.then(
      (connection) => (current() ? done(connection) : connection.destroy()),
      (error: unknown) => {
        if (current()) failed(error);
      },
    );
    return attempt;
  }

  /** Abandons the attempt under way, if any. */
  cancel(): void {
    const current = this.#current;
    this.#current = undefined;
    current?.cancel();
  }
}
