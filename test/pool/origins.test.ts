/**
 * A pool over several origins (pods behind a balancer, a venue's endpoints):
 * connections spread over them, requests spread by `round-robin`, slots that
 * fail over to the origin with the fewest failures and come back home once it
 * is quiet again. Real servers on loopback, one per origin, refused and
 * restarted for real; backoff and the return timer run on a simulated clock.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { FAILOVER_AFTER, HOMING_INTERVAL, RETURN_AFTER } from '../../src/pool/origins.js';
import { rejection } from '../helpers/errors.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { isFull, nextTurn, openPool, waitFor, waitForStats } from '../helpers/pool.js';

/** A server that answers with its own name, so a response says which origin served it. */
const named = (name: string) => startHttpServer((_req, res) => res.end(name));

const openSockets = (server: TestServer) => server.sockets.size;

describe('many origins', () => {
  it('spreads the connections over the origins: slot i on origin i mod n', async () => {
    const [a, b] = await Promise.all([named('a'), named('b')]);
    const pool = await openPool({ urls: [a.url, b.url], connections: 4 });
    await waitFor(() => a.connections === 2 && b.connections === 2, () => [a.connections, b.connections]);
    expect(pool.slotOrigins()).toEqual([0, 1, 0, 1]);
  });

  it('round-robin spreads requests over every connection; lifo keeps to the warmest', async () => {
    const [a, b] = await Promise.all([named('a'), named('b')]);
    const spread = await openPool({ urls: [a.url, b.url], connections: 4, strategy: 'round-robin' });
    const served: string[] = [];
    for (let i = 0; i < 8; i++) served.push((await spread.request({ path: '/' })).text());
    expect(served.filter((name) => name === 'a')).toHaveLength(4);
    expect([...a.requestsPerConnection, ...b.requestsPerConnection]).toEqual([2, 2, 2, 2]);

    const [c, d] = await Promise.all([named('c'), named('d')]);
    const warm = await openPool({ urls: [c.url, d.url], connections: 4 });
    for (let i = 0; i < 8; i++) {
      await warm.request({ path: '/' });
      await nextTurn();
    }
    // One request at a time: LIFO hands back the connection just released.
    expect([...c.requestsPerConnection, ...d.requestsPerConnection].sort()).toEqual([0, 0, 0, 8]);
    // Back to back, in the turn its response came in, the connection just released is not yet
    // known to be reusable (a FIN may follow the response): the next warmest takes the request.
    for (let i = 0; i < 8; i++) await warm.request({ path: '/' });
    expect([...c.requestsPerConnection, ...d.requestsPerConnection].sort((x, y) => x - y)).toEqual([0, 0, 4, 12]);
  });

  it('connect() succeeds with one origin down: each slot tries the others on its first connect', async () => {
    const [a, b] = await Promise.all([named('a'), named('b')]);
    await a.refuse();
    const pool = await openPool({ urls: [a.url, b.url], connections: 2 });
    expect(pool.stats().healthy).toBe(2);
    expect(pool.slotOrigins()).toEqual([1, 1]);
    expect((await pool.request({ path: '/' })).text()).toBe('b');
  });

  it('rejects connect() with CONNECT_FAILED naming every origin when none answers', async () => {
    const [a, b] = await Promise.all([named('a'), named('b')]);
    await Promise.all([a.refuse(), b.refuse()]);
    const error = await rejection(openPool({ urls: [a.url, b.url], connections: 2 }));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain(`127.0.0.1:${a.port}, 127.0.0.1:${b.port}`);
  });

  it('fails over when an origin keeps refusing, and comes home once it is quiet again', async () => {
    const [a, b] = await Promise.all([named('a'), named('b')]);
    const clock = new SimulatedClock();
    const pool = await openPool({
      urls: [a.url, b.url],
      connections: 2,
      clock,
      backoff: { initial: 10, max: 10, jitter: 'none' },
    });
    await waitFor(() => openSockets(a) === 1 && openSockets(b) === 1, () => [openSockets(a), openSockets(b)]);

    // Origin a goes away: its slot fails FAILOVER_AFTER dials in a row there, then dials b.
    await a.stop();
    const step = () => {
      clock.increment(10);
      return pool.stats().healthy === 2 && openSockets(b) === 2;
    };
    await waitFor(step, () => ({ stats: pool.stats(), origins: pool.slotOrigins() }));
    expect(pool.slotOrigins()).toEqual([1, 1]);
    expect(a.connections).toBe(1);
    expect(FAILOVER_AFTER).toBeGreaterThan(1);
    expect(new Set((await Promise.all([pool.request({ path: '/' }), pool.request({ path: '/' })])).map((r) => r.text()))).toEqual(
      new Set(['b']),
    );

    // a is back; nothing happens until it has been quiet for RETURN_AFTER, then slot 0 goes home.
    await a.restart();
    clock.increment(RETURN_AFTER - HOMING_INTERVAL - 10);
    expect(pool.slotOrigins()).toEqual([1, 1]);
    await waitFor(
      () => {
        clock.increment(HOMING_INTERVAL);
        return openSockets(a) === 1 && pool.stats().healthy === 2;
      },
      () => ({ stats: pool.stats(), origins: pool.slotOrigins(), a: openSockets(a), b: openSockets(b) }),
    );
    expect(pool.slotOrigins()).toEqual([0, 1]);
    await waitForStats(pool, isFull);
    expect(openSockets(b)).toBe(1);
    // Two requests at once take both connections: one on each origin again.
    const served = await Promise.all([pool.request({ path: '/' }), pool.request({ path: '/' })]);
    expect(served.map((r) => r.text()).sort()).toEqual(['a', 'b']);
  });

  it('refuses url with urls, mixed schemes or paths, and an unknown strategy, with INVALID_OPTIONS naming the field', async () => {
    const server = await startHttpServer();
    const cases: [Record<string, unknown>, string][] = [
      [{ url: server.url, urls: [server.url] }, '`url`'],
      [{ urls: [] }, '`urls`'],
      [{ urls: [server.url, 'ws://127.0.0.1:1'] }, '`urls[1]`'],
      [{ urls: [`${server.url}/v1`, `${server.url}/v2`] }, '`urls[1]`'],
      [{ urls: [server.url, 'https://127.0.0.1:1'] }, '`urls[1]`'],
      [{ url: server.url, strategy: 'random' }, '`strategy`'],
    ];
    for (const [options, field] of cases) {
      const error = await rejection(openPool(options as never));
      expect(error.code, JSON.stringify(options)).toBe('INVALID_OPTIONS');
      expect(error.message).toContain(field);
    }
  });
});
