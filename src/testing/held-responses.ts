/**
 * Responses a test holds back (`server.hold()`) and lets go when it chooses: the
 * moment between "the server has the order" and "the client has the answer", where a
 * test drops the connection, lets a deadline pass, closes the pool or checks what the
 * client reports while the request is in flight. No timer is involved, so nothing
 * depends on how fast the machine is.
 */
import type { LoggedRequest } from './request-log.js';

/** The handle `hold()` returns. */
export class HeldResponses {
  /** The requests held so far, in arrival order (released ones included). */
  readonly requests: LoggedRequest[] = [];
  #answers: (() => void)[] = [];
  #released = false;
  #waiters: { n: number; wake: () => void }[] = [];
  readonly #onRelease: (hold: HeldResponses) => void;

  /** @internal The server makes these. */
  constructor(onRelease: (hold: HeldResponses) => void) {
    this.#onRelease = onRelease;
  }

  /** Whether `release()` was called: requests arriving now are answered as usual. */
  get released(): boolean {
    return this.#released;
  }

  /** @internal Holds one request; `answer` sends its response (through the server's other faults). */
  add(request: LoggedRequest, answer: () => void): void {
    this.requests.push(request);
    this.#answers.push(answer);
    for (const waiter of this.#waiters.filter((w) => this.requests.length >= w.n)) waiter.wake();
    this.#waiters = this.#waiters.filter((w) => this.requests.length < w.n);
  }

  /**
   * Settles once `n` requests are held (at once if they are). Real time: `timeout` ms only
   * bounds a failing test.
   */
  arrived(n = 1, timeout = 5_000): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hold: ${this.requests.length} of ${n} requests arrived within ${timeout} ms`)), timeout);
      this.#waiters.push({
        n,
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Answers every held request, in arrival order, and holds no more. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#onRelease(this);
    const answers = this.#answers;
    this.#answers = [];
    for (const answer of answers) answer();
  }
}
