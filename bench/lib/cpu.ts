/**
 * Client CPU time, from `process.cpuUsage()` deltas. The server runs in another
 * process, so this process's user + system time is the client's cost alone
 * (its own GC included), which req/s hides once the server is the bottleneck.
 */

/** Starts a measurement; call the returned function for the CPU microseconds spent since. */
export function startCpuMeter(): () => number {
  const start = process.cpuUsage();
  return () => {
    const delta = process.cpuUsage(start);
    return delta.user + delta.system;
  };
}
