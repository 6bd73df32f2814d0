/**
 * How many replacement dials a pool has under way at once: two to begin with, twice as
 * many after each connect that succeeds (up to a cap), one after a failure, two again once
 * the pool has nothing left to redial. TCP's slow start, applied to reconnects.
 *
 * Why not a fixed number: when a server ends every connection at once (a reload, a
 * restart), every slot wants to redial in the same millisecond.
 * - On the first dials, nothing is known: the venue may be restarting and refusing. Two
 *   dials find out at the cost of two refused connects, and after a failure the dials go
 *   one at a time. And the caller waiting for the first connection waits behind every dial
 *   and connect the event loop runs meanwhile: each costs a few hundred microseconds (16
 *   slots all at once: 6 ms to the first response, against 2 ms for undici's Pool, which
 *   redials one socket).
 * - Once a connect succeeds, the venue is up: doubling heals 16 slots in about four round
 *   trips (2 + 4 + 8 + 2), where two at a time takes eight.
 *
 * Two, not one, to begin with: a server that ends connections one by one in the normal
 * course (nginx's `keepalive_requests`) often ends two close together, and the second
 * replacement need not wait for the first (one at first measured 0.63-0.77x undici on that row,
 * two 0.64-0.78x: inside the noise, and no reason to make it wait).
 *
 * A dial that is slow to answer (a black hole, a far venue's TLS) hands its turn back
 * without changing the window (`'slow'`), and goes on: one origin that swallows SYNs must
 * not hold every other slot's dial for its whole `connectTimeout`.
 *
 * The queue is first come, first served, as in `DialLimiter`; a waiting dial is a
 * callback, not a promise (a mass drop queues all of them at once).
 */

import { WaitQueue } from './wait-queue.js';

/** A dial waiting for its turn: started with the turn's `done` once one is free. */
export type RampTurn = (done: RampDone) => void;

/** How a turn ended: its dial connected, failed, or is still under way after the turn's time. */
export type RampOutcome = 'connected' | 'failed' | 'slow';

/** Ends a turn. Idempotent: only the first call counts. */
export type RampDone = (outcome: RampOutcome) => void;

/** Dials under way at once at the start of a burst of ends (see above). */
export const RAMP_START = 2;

export class DialRamp {
  readonly #cap: number;
  #window = RAMP_START;
  #active = 0;
  readonly #queue = new WaitQueue<RampTurn>();

  /** `cap`: the most dials under way at once, however many connects succeeded. */
  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Dials under way now, and how many may be: for tests and the curious. */
  get active(): number {
    return this.#active;
  }

  get window(): number {
    return this.#window;
  }

  /** A turn at once, if the window has room and nobody waits; else undefined. */
  tryAcquire(): RampDone | undefined {
    if (this.#queue.length > 0 || this.#active >= this.#window) return undefined;
    return this.#start();
  }

  /**
   * Calls `start` with a `done` when the dial may start (at once, synchronously, when the
   * window has room); returns a withdrawal that takes it out of the queue (idempotent, a
   * no-op once started).
   */
  enqueue(start: RampTurn): () => void {
    const withdraw = this.#queue.add(start);
    this.#pump();
    return withdraw;
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#active < this.#window) this.#queue.take()!(this.#start());
  }

  #start(): RampDone {
    this.#active++;
    let ended = false;
    return (outcome) => {
      if (ended) return;
      ended = true;
      this.#active--;
      if (outcome === 'connected') this.#window = Math.min(this.#cap, this.#window * 2);
      else if (outcome === 'failed') this.#window = 1;
      // Nothing left to redial: the next burst of ends starts afresh.
      if (this.#active === 0 && this.#queue.length === 0) this.#window = RAMP_START;
      this.#pump();
    };
  }
}
