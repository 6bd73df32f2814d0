/**
 * The dial limiter: at most `concurrency` dials under way, at most `perSecond`
 * started, first come first served, shared by the pools and feeds given the same
 * one. Its own schedule runs on a simulated clock; the reconnect storm runs on
 * real sockets: many feeds and a pool lose their server at once, and the server
 * never sees more dials at once than the limit.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { ClientPool, DialLimiter, Feed, isLifelineError } from '../../src/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openFeed } from '../helpers/feed.js';
import { isFull, openPool, waitFor, waitForStats } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';

/** Asks for `n` turns and records the order they are granted in. */
function ask(limiter: DialLimiter, n: number, signal?: AbortSignal) {
  const granted: number[] = [];
  const releases = new Map<number, () => void>();
  const outcomes = Array.from({ length: n }, (_, i) =>
    limiter.acquire(signal).then(
      (release) => {
        granted.push(i);
        releases.set(i, release);
      },
      (error: unknown) => error,
    ),
  );
  return { granted, releases, outcomes };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('DialLimiter', () => {
  it('lets `concurrency` dials run at once and the rest in order as each ends', async () => {
    const limiter = new DialLimiter({ concurrency: 2 });
    const { granted, releases } = ask(limiter, 5);
    await turn();
    expect(granted).toEqual([0, 1]);
    expect(limiter.stats()).toEqual({ active: 2, queued: 3, peak: 2, started: 2 });
    releases.get(1)!();
    releases.get(1)!(); // a second release of the same turn frees nothing more
    await turn();
    expect(granted).toEqual([0, 1, 2]);
    expect(limiter.stats()).toMatchObject({ active: 2, queued: 2 });
    releases.get(0)!();
    releases.get(2)!();
    await turn();
    expect(granted).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.stats().peak).toBe(2);
  });

  it('spaces starts at `perSecond`, on its clock', async () => {
    const clock = new SimulatedClock();
    const limiter = new DialLimiter({ perSecond: 10, clock });
    const { granted } = ask(limiter, 3);
    await turn();
    expect(granted).toEqual([0]);
    clock.increment(99);
    await turn();
    expect(granted).toEqual([0]);
    clock.increment(1);
    await turn();
    expect(granted).toEqual([0, 1]);
    clock.increment(100);
    await turn();
    expect(granted).toEqual([0, 1, 2]);
  });

  it('an aborted wait leaves the queue and rejects with the reason', async () => {
    const limiter = new DialLimiter({ concurrency: 1 });
    const first = ask(limiter, 1);
    await turn();
    const controller = new AbortController();
    const waiting = ask(limiter, 2, controller.signal);
    controller.abort(new Error('slot closed'));
    const outcomes = await Promise.all(waiting.outcomes);
    expect(outcomes.map((o) => (o as Error).message)).toEqual(['slot closed', 'slot closed']);
    expect(limiter.stats()).toMatchObject({ active: 1, queued: 0 });
    first.releases.get(0)!();
    expect(limiter.stats().active).toBe(0);
  });

  it('refuses bad limits, and a dialLimiter that is not one, with INVALID_OPTIONS naming the field', async () => {
    for (const [options, field] of [
      [{ concurrency: 0 }, 'dialLimiter.concurrency'],
      [{ perSecond: -1 }, 'dialLimiter.perSecond'],
      [{ burst: 3 }, 'burst'],
    ] as const) {
      let error: unknown;
      try {
        new DialLimiter(options as never);
      } catch (e) {
        error = e;
      }
      expect(isLifelineError(error, 'INVALID_OPTIONS'), JSON.stringify(options)).toBe(true);
      expect((error as Error).message).toContain(field);
    }
    const server = await startHttpServer();
    await expect(ClientPool.connect({ url: server.url, dialLimiter: { concurrency: 2 } as never })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('`dialLimiter`'),
    });
    expect(() => Feed.connect({ url: 'ws://127.0.0.1:1', dialLimiter: 4 as never })).toThrow(/`dialLimiter`/);
  });

  it('a reconnect storm: 40 feeds and a pool of 8 share 4 dials at a time, and all come back', async () => {
    const limiter = new DialLimiter({ concurrency: 4 });
    const ws = await startWsServer();
    const http = await startHttpServer();
    const feeds = Array.from({ length: 40 }, (_, i) =>
      openFeed({ url: ws.url, subscriptions: [`sub-${i}`], dialLimiter: limiter, backoff: { initial: 1, max: 20 } }),
    );
    const pool = await openPool({ url: http.url, connections: 8, dialLimiter: limiter, backoff: { initial: 1, max: 20 }, history: 20 });
    const allLive = () => feeds.every((feed) => feed.state === 'healthy');
    await waitFor(allLive, () => feeds.map((feed) => feed.state));
    expect(limiter.stats()).toMatchObject({ peak: 4, started: 48, active: 0, queued: 0 });

    // The server may accept the last sockets a turn after the client saw them connect.
    await waitFor(() => http.connections === 8, () => http.connections);
    // The venue restarts: every connection drops at once.
    ws.dropAll();
    http.dropAll();
    await waitFor(
      () => ws.connections === 80 && http.connections === 16,
      () => ({ ...limiter.stats(), ws: ws.connections, http: http.connections, pool: pool.stats(), history: pool.history() }),
    );
    await waitFor(allLive, () => feeds.map((feed) => feed.state));
    await waitForStats(pool, isFull);
    expect(limiter.stats()).toMatchObject({ peak: 4, started: 96 });
    expect((await pool.request({ path: '/' })).status).toBe(200);
  });
});
