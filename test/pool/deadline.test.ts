/**
 * Request deadlines: one point in time that the wait for a connection, the
 * send and the read must all fit in. Past it, a request is not sent; in
 * flight, it is aborted and its connection recycled; either way the caller
 * gets DEADLINE_EXCEEDED saying whether anything was sent. Timers run on the
 * pool's simulated clock, so no test waits for a deadline in real time.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { rejection } from '../helpers/errors.js';
import { startHttpServer } from '../helpers/http-server.js';
import { isFull, openPool, waitFor, waitForStats } from '../helpers/pool.js';

const BUDGET = 1_000;

async function simulatedPool(connections = 1) {
  const server = await startHttpServer();
  const clock = new SimulatedClock();
  const pool = await openPool({ url: server.url, connections, clock });
  return { server, clock, pool };
}

describe('request deadline', () => {
  it('a deadline already past: not sent, DEADLINE_EXCEEDED, and the lease stays usable', async () => {
    const { server, pool } = await simulatedPool();
    const lease = pool.tryAcquire()!;
    const error = await rejection(lease.request({ path: '/order', method: 'POST', body: 'x', deadline: Date.now() - 1 }));
    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect(error.message).toBe('the deadline passed before the request was sent; nothing was sent');
    expect(server.requests).toBe(0);
    // Nothing touched the connection: the same lease sends the next request.
    expect((await lease.request({ path: '/after' })).status).toBe(200);
    lease.release();
    expect(pool.stats()).toMatchObject({ healthy: 1, busy: 0 });
    expect(server.connections).toBe(1);
  });

  it('pool.request past its deadline never acquires', async () => {
    const { server, pool } = await simulatedPool();
    const error = await rejection(pool.request({ path: '/', deadline: Date.now() - 1 }));
    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect(error.message).toMatch(/while waiting for a connection; nothing was sent/);
    expect(server.requests).toBe(0);
    expect(pool.stats()).toMatchObject({ healthy: 1, waiting: 0 });
  });

  it('a response that is late: aborted at the deadline, the connection recycled, the pool heals', async () => {
    const { server, clock, pool } = await simulatedPool();
    server.blackHole();
    const pending = rejection(pool.request({ path: '/slow', deadline: Date.now() + BUDGET }));
    await waitFor(() => server.requests === 1, () => server.requests);
    // The deadline is wall-clock time and its timer runs on the simulated clock, set from what is
    // left at dispatch: real time spent since (a loaded machine) brings it forward, so stop short.
    clock.increment(BUDGET - 250);
    expect(pool.stats().busy).toBe(1);
    clock.increment(250);
    const error = await pending;
    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect(error.message).toMatch(/after the request was sent.*the server may have acted on it/);
    server.heal();
    // The aborted socket is not reused: lifeline retired it, a clean end, so the slot redials at once.
    await waitFor(() => server.connections === 2, () => server.connections);
    expect(pool.stats()).toMatchObject({ cleanEnds: 1, failures: 0, backoffs: 0 });
    await waitForStats(pool, isFull);
    expect((await pool.request({ path: '/next' })).status).toBe(200);
    expect(server.requestsPerConnection).toEqual([1, 1]);
  });

  it('the wait for a connection spends from the same deadline', async () => {
    const { server, clock, pool } = await simulatedPool();
    const held = pool.tryAcquire()!;
    // The acquire timeout is longer than the budget: the deadline decides.
    const pending = rejection(pool.request({ path: '/', timeout: 10 * BUDGET, deadline: Date.now() + BUDGET }));
    expect(pool.stats().waiting).toBe(1);
    clock.increment(BUDGET);
    const error = await pending;
    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect(error.message).toMatch(/while waiting for a connection/);
    expect(pool.stats().waiting).toBe(0);
    held.release();
    expect(server.requests).toBe(0);
  });

  it('an acquire timeout shorter than the deadline is still ACQUIRE_TIMEOUT', async () => {
    const { clock, pool } = await simulatedPool();
    const held = pool.tryAcquire()!;
    const pending = rejection(pool.request({ path: '/', timeout: 100, deadline: Date.now() + 60_000 }));
    clock.increment(100);
    expect((await pending).code).toBe('ACQUIRE_TIMEOUT');
    held.release();
  });

  it('a response in time is returned, and its deadline timer is cleared', async () => {
    const { clock, pool } = await simulatedPool();
    const timers = () => (clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size;
    const before = timers();
    const response = await pool.request({ path: '/', deadline: Date.now() + BUDGET });
    expect(response.status).toBe(200);
    // No timer left behind on the pool's clock: a cleared deadline cannot fire later.
    expect(timers()).toBe(before);
    clock.increment(BUDGET);
    expect(pool.stats()).toMatchObject({ healthy: 1, busy: 0 });
  });

  it('refuses a deadline that is not a time with INVALID_REQUEST, sending nothing', async () => {
    const { server, pool } = await simulatedPool();
    for (const deadline of [Number.NaN, Infinity, '1000' as unknown as number]) {
      const error = await rejection(pool.request({ path: '/', deadline }));
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toMatch(/`deadline`/);
    }
    expect(server.requests).toBe(0);
    expect(pool.stats()).toMatchObject({ healthy: 1, busy: 0 });
  });
});
