/**
 * Case 7: a reconnect storm. A thousand feeds on one venue; the venue goes down
 * for `downMs` (refusing and dropping every connection) and listens again.
 * Every feed's backoff (100 ms doubling, full jitter) already spreads the
 * retries in time; a shared `DialLimiter` also bounds how many handshakes are
 * under way at once and how many start per second. Measured: the peak of dials
 * under way at once, the time from listening again until every feed is live,
 * and the worst event-loop stall of the process meanwhile (a storm of
 * handshakes is also a storm of CPU). The venue is a fault server in this
 * process, so one clock times both sides.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DialLimiter, Feed } from '../../src/index.js';
import { startFaultWsServer } from '../../src/testing/index.js';
import type { BenchCase } from '../lib/case.js';
import { sleep, waitUntil } from '../lib/wait.js';

interface Storm {
  name: string;
  /** A limiter with no bound still counts the dials: the unlimited contender uses one to report its peak. */
  limiter: () => DialLimiter;
}

const STORMS: Storm[] = [
  { name: 'no limit', limiter: () => new DialLimiter() },
  { name: 'DialLimiter concurrency 32', limiter: () => new DialLimiter({ concurrency: 32 }) },
  { name: 'DialLimiter concurrency 32, 500/s', limiter: () => new DialLimiter({ concurrency: 32, perSecond: 500 }) },
];

const LIVE_TIMEOUT = 60_000;

async function storm(limiter: DialLimiter, feeds: number, downMs: number) {
  const server = await startFaultWsServer();
  const opened: Feed[] = [];
  try {
    for (let i = 0; i < feeds; i++) {
      opened.push(Feed.connect({ url: server.url, subscriptions: [`{"sub":${i}}`], dialLimiter: limiter }));
    }
    const allLive = () => opened.every((feed) => feed.state === 'healthy');
    await waitUntil(allLive, LIVE_TIMEOUT, 'every feed to connect');
    const before = limiter.stats().started;
    // Peaks are of the storm alone, not of the first connects.
    const counting = new DialLimiterPeak(limiter);
    await server.stop();
    await sleep(downMs);
    const lag = monitorEventLoopDelay({ resolution: 10 });
    await server.restart();
    const listening = performance.now();
    lag.enable();
    const live = await waitUntil(allLive, LIVE_TIMEOUT, 'every feed to come back');
    lag.disable();
    counting.stop();
    return {
      peak: counting.peak,
      dials: limiter.stats().started - before,
      live: live - listening,
      lag: lag.max / 1e6,
    };
  } finally {
    await Promise.all(opened.map((feed) => feed.close()));
    await server.close();
  }
}

/** The most dials under way at once from now on, sampled at every turn of the event loop. */
class DialLimiterPeak {
  peak = 0;
  #stopped = false;

  constructor(limiter: DialLimiter) {
    const sample = () => {
      if (this.#stopped) return;
      this.peak = Math.max(this.peak, limiter.stats().active);
      setImmediate(sample);
    };
    sample();
  }

  stop(): void {
    this.#stopped = true;
  }
}

export const stormCase: BenchCase = {
  name: 'storm',
  title: 'A reconnect storm: every feed of a process loses its venue at once',
  async run(context) {
    const feeds = context.settings.quick ? 200 : 1_000;
    const downMs = 200;
    const rows = [];
    for (const contender of STORMS) {
      const result = await storm(contender.limiter(), feeds, downMs);
      rows.push({ limit: contender.name, ...result });
    }
    context.table({
      title: `${feeds} feeds, the venue down ${downMs} ms, then listening again; default backoff (100 ms doubling, full jitter)`,
      note: 'Peak: dials under way at once (sampled every event-loop turn). Live: ms from listening again until every feed is live. Stall: the longest event-loop delay meanwhile.',
      columns: [
        { key: 'limit', label: 'dial limit', format: 'text' },
        { key: 'peak', label: 'peak dials', format: 'int' },
        { key: 'dials', label: 'dials', format: 'int' },
        { key: 'live', label: 'all live ms', format: 'int' },
        { key: 'lag', label: 'max stall ms', format: 'num' },
      ],
      rows,
    });
    const limited = rows[1]!;
    context.target({
      name: 'reconnect storm: dials under way at once',
      goal: 'never more than the limit (32)',
      measured: `peak ${limited.peak} (no limit: ${rows[0]!.peak}); all ${feeds} live in ${Math.round(limited.live)} ms (no limit: ${Math.round(rows[0]!.live)} ms)`,
      pass: limited.peak <= 32,
    });
  },
};
