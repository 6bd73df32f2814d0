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

/** The clock's own time when it keeps one (a simulated clock must be read, not the wall), else `performance.now()`. */
export function clockNow(clock: Clock): () => number {
  return typeof clock.now === 'function' ? () => clock.now!() : () => performance.now();
}

/** Real time: unref'd timers, and `now()` (monotonic, ms) for the feed's staleness check. */
export const unrefClock: Clock & { now(): number } = {
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
