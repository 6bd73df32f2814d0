/**
 * How many replacement dials a pool has under way at once: one to begin with, twice as
 * many after each connect that succeeds (up to a cap), one again after a failure or once
 * the pool has nothing left to redial. TCP's slow start, applied to reconnects.
 *
 * Why not a fixed number: when a server ends every connection at once (a reload, a
 * restart), every slot wants to redial in the same millisecond.
 * - On the first dial, nothing is known: the venue may be restarting and refusing. One
 *   dial finds out at the cost of one refused connect. And the caller waiting for the
 *   first connection waits behind every dial and connect the event loop runs meanwhile:
 *   each costs a few hundred microseconds (16 slots at once: 6 ms to the first response,
 *   against 2 ms for undici's Pool, which redials one socket).
 * - Once a connect succeeds, the venue is up: doubling heals 16 slots in about five round
 *   trips (1 + 2 + 4 + 8 + 1), where two at a time takes eight.
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

export class DialRamp {
  readonly #cap: number;
  #window = 1;
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
      // Nothing left to redial: the next burst of ends starts from one dial again.
      if (this.#active === 0 && this.#queue.length === 0) this.#window = 1;
      this.#pump();
    };
  }
}
