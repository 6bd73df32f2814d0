/**
 * The clock every lifeline actor runs on. xstate's default clock uses plain
 * `setTimeout`, which keeps the process alive; a connection library's timers
 * (backoff, deadlines, drain) must never be the only thing holding a process open.
 * Tests inject xstate's `SimulatedClock` instead.
 */
export interface Clock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

export const unrefClock: Clock = {
  setTimeout(fn, timeout) {
    const timer = setTimeout(fn, timeout);
    timer.unref();
    return timer;
  },
  clearTimeout(id) {
    clearTimeout(id as NodeJS.Timeout);
  },
};
