/**
 * A closed-loop HTTP load: `concurrency` callers, each sending its next request
 * as soon as the previous one is answered, for a fixed time. Time-boxed rather
 * than a fixed count, so a slow contender (fetch) costs a round no longer than
 * a fast one. Every request's duration is recorded for p50 and p99.
 */
import { startCpuMeter } from './cpu.js';
import { percentile } from './stats.js';

export interface LoadRound {
  /** Requests completed in the round. */
  requests: number;
  requestsPerSecond: number;
  /** Request latency percentiles of this round (microseconds). */
  p50: number;
  p99: number;
  /** Client CPU (user + system) per request (microseconds). */
  cpuPerRequest: number;
  /** Every request's latency (ms), sorted ascending: only when asked for (`keepLatencies`). */
  latencies?: Float64Array;
}

/** Room for a round at 1M req/s: far above what loopback allows, so no latency is ever dropped. */
const latencies = new Float64Array(1 << 20);

/**
 * Runs `send` from `concurrency` callers for `durationMs`; a request that fails fails the run.
 * `keepLatencies` returns a copy of the round's latencies, for percentiles pooled over rounds.
 */
export async function runLoad(send: () => Promise<unknown>, concurrency: number, durationMs: number, keepLatencies = false): Promise<LoadRound> {
  let count = 0;
  const cpu = startCpuMeter();
  const start = performance.now();
  const deadline = start + durationMs;
  const caller = async () => {
    let now = performance.now();
    while (now < deadline) {
      const sent = now;
      await send();
      now = performance.now();
      if (count < latencies.length) latencies[count] = now - sent;
      count++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const seconds = (performance.now() - start) / 1e3;
  const cpuMicros = cpu();
  const sorted = latencies.subarray(0, Math.min(count, latencies.length)).sort();
  return {
    requests: count,
    requestsPerSecond: count / seconds,
    p50: percentile(sorted, 50) * 1e3,
    p99: percentile(sorted, 99) * 1e3,
    cpuPerRequest: cpuMicros / count,
    ...(keepLatencies && { latencies: sorted.slice() }),
  };
}
