/**
 * The clock every lifeline actor runs on. xstate's default clock uses plain
 * `setTimeout`, which keeps the process alive; a connection library's timers
 * (backoff, deadlines, drain) must never be the only thing holding a process open.
 * Tests inject xstate's `SimulatedClock` instead.
 */
export interface Clock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
  /** Monotonic ms, for idle times and connection ages; `performance.now()` when absent. xstate's `SimulatedClock` has it. */
  now?(): number;
}

/** A clock that keeps its own time. */
export type TimedClock = Clock & { now(): number };

function keepsTime(clock: Clock): clock is TimedClock {
  return typeof clock.now === 'function';
}

/** The clock's own time when it keeps one (a simulated clock must be read, not the wall), else `performance.now()`. */
export function clockNow(clock: Clock): () => number {
  return keepsTime(clock) ? () => clock.now() : () => performance.now();
}

/** The clock itself when it keeps time, else the same timers with `performance.now()`. */
export function withNow(clock: Clock): TimedClock {
  if (keepsTime(clock)) return clock;
  return { setTimeout: (fn, timeout) => clock.setTimeout(fn, timeout), clearTimeout: (id) => clock.clearTimeout(id), now: () => performance.now() };
}

/** Real time: unref'd timers, and `now()` (monotonic, ms) for the feed's staleness check. */
export const unrefClock: TimedClock = {
  setTimeout(fn, timeout) {
    const timer = setTimeout(fn, timeout);
    timer.unref();
    return timer;
  },
  clearTimeout(id) {
    clearTimeout(id as NodeJS.Timeout);
  },
  now: () => performance.now(),
};

/** A timer `promptZero` runs itself: a 0 ms timer, on an immediate of the event loop. */
class DueNow {
  constructor(readonly immediate: NodeJS.Immediate) {}
}

/**
 * The clock with its timers of 0 ms (or less) run on the next turn of the event loop,
 * whether or not its time moves; every other timer is the clock's own.
 *
 * Why: a slot's first retry after a healthy spell, a redial after a clean end that failed,
 * a user's `backoff.delay` returning 0 are all delayed transitions of 0 ms, which xstate
 * hands to the clock. xstate's `SimulatedClock` runs a timer only from `increment()` or
 * `set()`, 0 ms ones included, so on a simulated clock an "immediate" reconnect waited for
 * a test to call `increment(0)` (issue 17). A timer due now is due whatever the clock: a
 * real clock runs it on the next turn, and so does this one. Real timers (`unrefClock`)
 * already behave so and are returned as they are.
 */
export function promptZero<C extends Clock>(clock: C): C {
  if (clock === (unrefClock as Clock)) return clock;
  const prompt: Clock = {
    setTimeout(fn, timeout) {
      if (timeout > 0) return clock.setTimeout(fn, timeout);
      // Unref'd: a timer never keeps the process alive on its own.
      return new DueNow(setImmediate(fn).unref());
    },
    clearTimeout(id) {
      if (id instanceof DueNow) clearImmediate(id.immediate);
      else clock.clearTimeout(id);
    },
  };
  if (typeof clock.now === 'function') prompt.now = () => clock.now!();
  return prompt as C;
}
