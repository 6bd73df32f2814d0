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
