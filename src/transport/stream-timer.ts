/**
 * An HTTP/2 stream's headers and body timeouts, on the pool's clock (tests drive it, as they
 * drive backoff and the PING heartbeat), where node:http2's `stream.setTimeout` ran on the
 * process's timers whatever clock the pool was given. One timer per stream, not one per chunk:
 * activity notes the time (`touch`), and the timer, when it fires, sees how long the stream has
 * really been quiet and, if not long enough, waits for the rest.
 *
 * ```
 *  start(limit) --> quiet for `limit` ms from now: expired()      (0: no limit)
 *  touch() -------> the quiet starts again now                     (a chunk of the response)
 *  stop() --------> no limit (a reader holding the body; the stream's end)
 * ```
 */
import type { Clock } from '../clock.js';

export class StreamTimer {
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #expired: () => void;
  #timer: unknown;
  /** When the armed timer fires (clock ms); it looks again then, so a later limit needs no new timer. */
  #firesAt = Infinity;
  #last = 0;
  #limit = 0;

  constructor(clock: Clock, now: () => number, expired: () => void) {
    this.#clock = clock;
    this.#now = now;
    this.#expired = expired;
  }

  start(limit: number): void {
    this.#limit = limit;
    if (limit <= 0) return this.stop();
    this.#last = this.#now();
    // Armed to fire no later than this limit needs: it will look again then (one timer per stream, mostly).
    if (this.#timer !== undefined && this.#firesAt <= this.#last + limit) return;
    this.#clear();
    this.#arm(limit);
  }

  touch(): void {
    this.#last = this.#now();
  }

  stop(): void {
    this.#limit = 0;
    this.#clear();
  }

  #arm(ms: number): void {
    this.#firesAt = this.#now() + ms;
    this.#timer = this.#clock.setTimeout(this.#fire, ms);
  }

  #clear(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firesAt = Infinity;
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#firesAt = Infinity;
    if (this.#limit <= 0) return;
    const quiet = this.#now() - this.#last;
    if (quiet >= this.#limit) this.#expired();
    else this.#arm(this.#limit - quiet);
  };
}
