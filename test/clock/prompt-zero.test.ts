/**
 * A timer due now runs without the clock moving (issue 17, item 8): on xstate's
 * SimulatedClock a pool's "immediate" reconnect used to wait for `increment(0)`,
 * because the slot's first retry is a delayed transition of 0 ms and a simulated
 * clock runs timers only when a test moves it.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { SimulatedClock } from 'xstate';
import { promptZero } from '../../src/clock.js';
import { Feed } from '../../src/index.js';
import { logFeed, logSlot } from '../../src/testing/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import { startWsServer } from '../helpers/ws-server.js';
import { openPool } from '../helpers/pool.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('promptZero', () => {
  it('runs a 0 ms timer on the next turn, leaves others to the clock, and clears both', async () => {
    const simulated = new SimulatedClock();
    const clock = promptZero(simulated);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push('zero'), 0);
    clock.setTimeout(() => ran.push('negative'), -5);
    const cleared = clock.setTimeout(() => ran.push('cleared zero'), 0);
    clock.clearTimeout(cleared);
    clock.setTimeout(() => ran.push('ten'), 10);
    const clearedTen = clock.setTimeout(() => ran.push('cleared ten'), 10);
    clock.clearTimeout(clearedTen);
    expect(ran).toEqual([]); // never synchronously
    await nextTurn();
    expect(ran).toEqual(['zero', 'negative']);
    simulated.increment(9);
    expect(ran).toEqual(['zero', 'negative']);
    simulated.increment(1);
    expect(ran).toEqual(['zero', 'negative', 'ten']);
    expect(clock.now!()).toBe(10);
  });
});

describe('zero-delay reconnects on a SimulatedClock', () => {
  it("a pool's immediate retry after a lost connection needs no increment(0)", async () => {
    const server = await startHttpServer();
    const clock = new SimulatedClock();
    const pool = await openPool({ url: server.url, connections: 1, clock, backoff: { initial: 100, jitter: 'none' } });
    const log = logSlot(pool, 0);
    onTestFinished(() => log.stop());
    server.resetAll(); // a connection that never served dies: a failure, the first, retried at once
    expect(await log.next()).toBe('poisoned');
    expect(await log.next()).toBe('backoff');
    expect(await log.next()).toBe('connecting');
    expect(await log.next()).toBe('healthy');
    expect(clock.now()).toBe(0); // time never moved
    expect(server.connections).toBe(2);
    expect(pool.stats()).toMatchObject({ failures: 1, backoffs: 1 });
  });

  /** A live feed whose backoff is `delay` ms, dropped by its server: it waits in backoff. */
  async function droppedFeed(delay: number) {
    const server = await startWsServer();
    const clock = new SimulatedClock();
    const feed = Feed.connect({ url: server.url, clock, backoff: { delay: () => delay } });
    onTestFinished(() => feed.close());
    const log = logFeed(feed);
    expect(await log.next()).toBe('healthy');
    server.dropAll();
    expect(await log.next()).toBe('poisoned');
    expect(await log.next()).toBe('backoff');
    return { clock, log };
  }

  it('a feed whose backoff says 0 ms reconnects with the clock standing still', async () => {
    const { clock, log } = await droppedFeed(0);
    expect(await log.next()).toBe('connecting');
    expect(await log.next()).toBe('healthy');
    expect(clock.now()).toBe(0);
  });

  it('a delay above 0 still waits for the clock', async () => {
    const { clock, log } = await droppedFeed(1);
    for (let i = 0; i < 5; i++) await nextTurn();
    expect(log.current).toBe('backoff');
    clock.increment(1);
    expect(await log.next()).toBe('connecting');
  });
});
