/** Waiting for a condition in the healing cases, where the time it takes is the measurement. */
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/**
 * Resolves with `performance.now()` at the first check where `condition()`
 * holds. It checks once per event-loop turn (setImmediate), so the time is
 * precise to one turn without a timer's millisecond granularity; it throws
 * after `timeoutMs` so a heal that never comes fails the run instead of hanging it.
 */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const now = performance.now();
    if (condition()) return now;
    if (now > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Waits for `promise` at most `ms`: resolves true when it settled in time (its rejection swallowed),
 * false when the time ran out. The timer is cleared either way, so nothing lingers after a fast settle.
 */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
