/**
 * A bound on dials: how many may be under way at once, and how many may start
 * per second, shared by every pool and feed given the same limiter.
 *
 * Why: when a venue restarts, every feed and every slot of a process loses its
 * connection in the same millisecond. Jittered backoff spreads the first
 * attempts over the first delay, but a thousand feeds still means hundreds of
 * TLS handshakes in one burst: the process's event loop stalls, the venue's
 * rate limiter answers with refusals, and the storm feeds itself. A limiter
 * turns the burst into a queue, first come, first served.
 *
 * ```ts
 * const dials = new DialLimiter({ concurrency: 16, perSecond: 200 });
 * const pool = await ClientPool.connect({ url, dialLimiter: dials });
 * const feed = Feed.connect({ url: wsUrl, dialLimiter: dials });
 * ```
 *
 * A dial waiting here is still `connecting`; its `connectTimeout` starts when
 * it leaves the queue. Aborting the wait (the slot or feed was closed) removes
 * it from the queue.
 */
import { clockNow, unrefClock, type Clock } from '../clock.js';
import type { CancelSignal } from './cancel.js';
import { WaitQueue } from './wait-queue.js';
import { LifelineError } from '../errors.js';
import { checkInstance, checkKnownKeys, checkNumber, checkObject, invalid, isInstance } from '../validate.js';

export interface DialLimiterOptions {
  /** Dials under way at once. Default unlimited. */
  concurrency?: number;
  /** Dials started per second, evenly spaced. Default unlimited. */
  perSecond?: number;
  /** Runs the spacing between starts. Default: real, unref'd timers. */
  clock?: Clock;
}

export interface DialLimiterStats {
  /** Dials under way now. */
  active: number;
  /** Dials waiting for their turn. */
  queued: number;
  /** The most dials ever under way at once. */
  peak: number;
  /** Dials started so far. */
  started: number;
}

/** A dial waiting for its turn: started with the turn's release once one is free. */
type Turn = (release: () => void) => void;

const KNOWN = ['concurrency', 'perSecond', 'clock'] as const;

export class DialLimiter {
  readonly concurrency: number;
  readonly perSecond: number;
  readonly #clock: Clock;
  readonly #now: () => number;
  /** ms between two starts; 0 when the rate is unlimited. */
  readonly #spacing: number;
  readonly #queue = new WaitQueue<Turn>();
  #active = 0;
  #peak = 0;
  #started = 0;
  /** When the next start is allowed, on the clock's scale. */
  #nextStart = 0;
  #timer: unknown;

  constructor(options: DialLimiterOptions = {}) {
    const checked = checkObject('dialLimiter', options) ?? {};
    checkKnownKeys('dialLimiter', checked, KNOWN);
    this.concurrency = checkNumber('dialLimiter.concurrency', checked.concurrency, Infinity, { min: 1, max: Infinity });
    this.perSecond = checkNumber('dialLimiter.perSecond', checked.perSecond, Infinity, { min: Number.MIN_VALUE, max: Infinity, integer: false });
    this.#clock = (checkInstance('dialLimiter.clock', checked.clock, ['setTimeout', 'clearTimeout']) as Clock | undefined) ?? unrefClock;
    this.#now = clockNow(this.#clock);
    this.#spacing = Number.isFinite(this.perSecond) ? 1_000 / this.perSecond : 0;
  }

  stats(): DialLimiterStats {
    return { active: this.#active, queued: this.#queue.length, peak: this.#peak, started: this.#started };
  }

  /** A turn at once, if one is free and nobody waits (a dial starts synchronously, as without a limiter); else undefined. */
  tryAcquire(): (() => void) | undefined {
    if (this.#queue.length > 0 || this.#active >= this.concurrency) return undefined;
    if (this.#spacing > 0) {
      const now = this.#now();
      if (this.#nextStart > now) return undefined;
      this.#nextStart = now + this.#spacing;
    }
    return this.#start();
  }

  /**
   * Resolves with a `release` to call once the dial has settled, when the dial
   * may start. Rejects with the signal's reason if it is aborted first.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new LifelineError('CONNECT_FAILED', 'the dial was aborted'));
    return new Promise((grant, fail) => {
      if (!signal) return void this.enqueue(grant);
      const onAbort = () => {
        withdraw();
        fail(signal.reason);
      };
      const withdraw = this.enqueue((release) => {
        signal.removeEventListener('abort', onAbort);
        grant(release);
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * @internal Calls `start` with a `release` when the dial may start (at once, synchronously,
   * when a turn is free); returns a withdrawal that takes it out of the queue (idempotent, a
   * no-op once started). No promise and no abort signal per waiting dial: a pool whose 16
   * connections a server ended at once queued 14 replacements, and their promises and
   * signals cost the event loop more than the ends themselves.
   */
  enqueue(start: Turn): () => void {
    const withdraw = this.#queue.add(start);
    this.#pump();
    return withdraw;
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#active < this.concurrency) {
      if (this.#spacing > 0) {
        const wait = this.#nextStart - this.#now();
        if (wait > 0) {
          this.#timer ??= this.#clock.setTimeout(() => {
            this.#timer = undefined;
            this.#pump();
          }, Math.ceil(wait));
          return;
        }
        this.#nextStart = Math.max(this.#nextStart, this.#now()) + this.#spacing;
      }
      const start = this.#queue.take()!;
      start(this.#start());
    }
  }

  /** Counts a dial under way; its release (idempotent) frees the turn. */
  #start(): () => void {
    this.#active++;
    this.#started++;
    this.#peak = Math.max(this.#peak, this.#active);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#pump();
    };
  }
}

/** A turn with `limiter`, when one comes before `signal` cancels (then CONNECT_FAILED). */
function turnBefore(limiter: DialLimiter, signal: CancelSignal): Promise<() => void> {
  if (signal.aborted) return Promise.reject(new LifelineError('CONNECT_FAILED', 'the dial was aborted'));
  return new Promise((grant, fail) => {
    const stopListening = signal.onCancel(() => {
      withdraw();
      fail(new LifelineError('CONNECT_FAILED', 'the dial was aborted'));
    });
    const withdraw = limiter.enqueue((release) => {
      stopListening();
      grant(release);
    });
  });
}

/** Runs `dial` in its turn when there is a limiter, at once when there is none; the turn ends when the dial settles. */
export async function limitedDial<T>(limiter: DialLimiter | undefined, signal: CancelSignal, dial: () => Promise<T>): Promise<T> {
  if (!limiter) return dial();
  const release = limiter.tryAcquire() ?? (await turnBefore(limiter, signal));
  try {
    return await dial();
  } finally {
    release();
  }
}

/** The `dialLimiter` option of a pool or a feed. */
export function checkDialLimiter(value: unknown): DialLimiter | undefined {
  // isInstance: a revoked Proxy must be refused as `dialLimiter`, not throw past the check (issue 14).
  if (value === undefined) return undefined;
  if (isInstance(value, DialLimiter)) return value as DialLimiter;
  throw invalid('dialLimiter', 'a DialLimiter (new DialLimiter({ concurrency, perSecond }))', value);
}
