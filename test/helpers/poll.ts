/**
 * The one poll loop of the test helpers: `check` on a short real interval until it gives a value,
 * else, after `timeout` ms, the error `timedOut` makes. The bound is timed on performance's monotonic
 * clock: the wall clock here was once stepped ~4 s ahead mid-run, and a test that took 1 s failed
 * "not within 5000 ms". It bounds a failing test, not a passing one.
 */
export async function pollFor<T>(check: () => T | undefined, timeout: number, timedOut: () => Error, interval = 5): Promise<T> {
  const deadline = performance.now() + timeout;
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (performance.now() > deadline) throw timedOut();
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
