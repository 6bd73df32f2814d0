/**
 * The governor's windows and weights, and its two paths: fail fast (tryAcquire, a timeout of
 * 0) and wait (pool.request, pool.acquire within their timeout). The governor runs on a
 * simulated clock; the requests go to a real loopback server, which counts what arrived.
 */
import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { Governor, isLifelineError, type GovernorOptions } from '../../../src/index.js';
import { startHttpServer } from '../../helpers/http-server.js';
import { openPool } from '../../helpers/pool.js';

async function setup(options: Omit<GovernorOptions, 'clock'>, connections = 2) {
  const clock = new SimulatedClock();
  const governor = new Governor({ ...options, clock });
  const server = await startHttpServer();
  const pool = await openPool({ url: server.url, connections, governor });
  return { clock, governor, server, pool };
}

/** The error a promise rejected with (it must reject). */
async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  const error = await promise.then(
    () => {
      throw new Error('resolved; expected a rejection');
    },
    (e: unknown) => e,
  );
  return error as Record<string, unknown>;
}

/** Lets pending promise callbacks and socket reads run (the server is real). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('Governor: windows and weights', () => {
  it('spends weight per request, refuses what would overrun a window, and frees it as the window slides', async () => {
    const { clock, governor, server, pool } = await setup({ windows: [{ weight: 10, per: 1_000 }] });
    await pool.request({ path: '/a', weight: 4 });
    clock.increment(400);
    await pool.request({ path: '/b', weight: 4 });
    expect(governor.stats().used).toEqual([8]);
    const refused = await rejection(pool.request({ path: '/c', weight: 4, timeout: 0 }));
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 600, delivery: undefined });
    expect(refused.message).toBe('rate limited: no budget was left in a window; retry after 600 ms; nothing was sent');
    expect(server.requests).toBe(2);
    // Weight 2 still fits.
    await pool.request({ path: '/d', weight: 2 });
    clock.increment(600);
    // The first request's 4 left the window: 6 used, 4 free.
    expect(governor.stats().used).toEqual([6]);
    await pool.request({ path: '/e', weight: 4 });
    expect(server.requests).toBe(4);
  });

  it('every window must have room: the tightest one decides, and says when', async () => {
    const { clock, pool, server } = await setup({ windows: [{ weight: 3, per: 1_000 }, { weight: 5, per: 10_000 }] });
    for (let i = 0; i < 3; i++) await pool.request({ path: '/' });
    expect(await rejection(pool.request({ path: '/', timeout: 0 }))).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 1_000 });
    clock.increment(1_000);
    for (let i = 0; i < 2; i++) await pool.request({ path: '/' });
    // The short window has room again; the long one is full until the first request leaves it.
    expect(await rejection(pool.request({ path: '/', timeout: 0 }))).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 9_000 });
    expect(server.requests).toBe(5);
  });

  it('refuses a weight no window can ever hold, with INVALID_REQUEST, and a bad weight or priority alike', async () => {
    const { pool, server } = await setup({ windows: [{ weight: 10, per: 1_000 }] });
    expect(await rejection(pool.request({ path: '/', weight: 11 }))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: "Expected `weight` to fit in the governor's window 0 for priority 'normal' (10), got 11",
    });
    expect(await rejection(pool.request({ path: '/', weight: 0 }))).toMatchObject({ code: 'INVALID_REQUEST', message: 'Expected `weight` to be an integer from 1 to 1000000, got 0 (number)' });
    expect(await rejection(pool.request({ path: '/', priority: 'urgent' as never }))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: "Expected `priority` to be one of 'order', 'normal', 'background', got a string of 6 characters",
    });
    expect(server.requests).toBe(0);
  });
});

describe('Governor: fail fast or wait', () => {
  it('tryAcquire throws RATE_LIMITED with retryAfter when there is no room, and takes no slot', async () => {
    const { clock, pool } = await setup({ windows: [{ weight: 2, per: 1_000 }] });
    await pool.request({ path: '/' });
    clock.increment(250);
    const lease = pool.tryAcquire()!;
    expect(lease).toBeDefined();
    let error: unknown;
    try {
      pool.tryAcquire();
    } catch (e) {
      error = e;
    }
    expect(isLifelineError(error, 'RATE_LIMITED')).toBe(true);
    expect((error as { retryAfter: number }).retryAfter).toBe(750);
    expect(pool.stats().busy).toBe(1);
    lease.release();
  });

  it('the patient path waits for budget within its timeout, holding no slot meanwhile', async () => {
    const { clock, pool, server, governor } = await setup({ windows: [{ weight: 1, per: 1_000 }] }, 1);
    await pool.request({ path: '/' });
    let done = false;
    const waiting = pool.request({ path: '/', timeout: 5_000 }).then((res) => {
      done = true;
      return res;
    });
    await settle();
    expect(done).toBe(false);
    expect(governor.stats().waiting.normal).toBe(1);
    // The only slot is free while the request waits for budget: another caller can lease it.
    expect(pool.stats().busy).toBe(0);
    clock.increment(1_000);
    expect((await waiting).status).toBe(200);
    expect(server.requests).toBe(2);
  });

  it('a wait that outlasts its timeout rejects RATE_LIMITED; a pool.acquire with timeout 0 fails fast', async () => {
    const { clock, pool, server } = await setup({ windows: [{ weight: 1, per: 10_000 }] });
    await pool.request({ path: '/' });
    const waiting = rejection(pool.request({ path: '/', timeout: 2_000 }));
    clock.increment(2_000);
    expect(await waiting).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 8_000 });
    expect(await rejection(pool.acquire({ timeout: 0 }))).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 8_000 });
    expect(server.requests).toBe(1);
  });

  it('weight is spent at send: a lease released unused, or a request refused before it left, gives it back', async () => {
    const { governor, pool, server } = await setup({ windows: [{ weight: 2, per: 1_000 }] });
    const lease = await pool.acquire({ weight: 2 });
    // Held from the acquire: nobody else may take it meanwhile.
    expect(governor.stats().used).toEqual([2]);
    expect(() => pool.tryAcquire()).toThrow(/rate limited/);
    lease.release();
    expect(governor.stats().used).toEqual([0]);
    // A request refused before the send (its deadline passed) spends nothing either.
    const late = await pool.acquire({ weight: 2 });
    expect(await rejection(late.request({ path: '/', weight: 2, deadline: Date.now() - 1 }))).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    late.release();
    expect(governor.stats().used).toEqual([0]);
    expect(server.requests).toBe(0);
    await pool.request({ path: '/', weight: 2 });
    expect(governor.stats().used).toEqual([2]);
  });

  it("tryAcquire's weight is held by the lease: its request spends it once, a release unused gives it back to a waiter", async () => {
    const { clock, governor, pool, server } = await setup({ windows: [{ weight: 3, per: 1_000 }] });
    const held = pool.tryAcquire({ weight: 2 })!;
    expect(governor.stats().used).toEqual([2]);
    // The lease's request spends what its try held, not 2 more.
    expect((await held.request({ path: '/', weight: 2 })).status).toBe(200);
    expect(governor.stats().used).toEqual([2]);
    held.release();
    // A try held, then a request of another weight on it: the hold goes back and the new weight is taken.
    const other = pool.tryAcquire()!;
    expect(governor.stats().used).toEqual([3]);
    expect(await rejection(other.request({ path: '/', weight: 2 }))).toMatchObject({ code: 'RATE_LIMITED', delivery: 'unsent' });
    expect(governor.stats().used).toEqual([2]);
    other.release();
    // Released unused: the waiter behind it is served at once, with no clock move.
    const blocking = pool.tryAcquire()!;
    const waiting = pool.request({ path: '/', timeout: 5_000 });
    await settle();
    expect(governor.stats().waiting.normal).toBe(1);
    blocking.release();
    expect((await waiting).status).toBe(200);
    expect(server.requests).toBe(2);
    expect(governor.stats().used).toEqual([3]);
    clock.increment(1_000);
    expect(governor.stats().used).toEqual([0]);
  });

  it('a spend counts from its send until a window after its settle: the venue may count it as late as its answer', async () => {
    const clock = new SimulatedClock();
    const governor = new Governor({ windows: [{ weight: 1, per: 1_000 }], clock });
    const held: { end(): void }[] = [];
    const server = await startHttpServer((_req, res) => held.push({ end: () => res.end('ok') }));
    const pool = await openPool({ url: server.url, connections: 2, governor });
    const answered = pool.request({ path: '/' });
    await settle();
    expect(held).toHaveLength(1);
    // In flight for 600 ms of the governor's clock, then answered.
    clock.increment(600);
    held[0]!.end();
    expect((await answered).status).toBe(200);
    // One window after the send it still counts: one window after the answer it does not.
    clock.increment(400);
    expect(() => pool.tryAcquire()).toThrow(expect.objectContaining({ code: 'RATE_LIMITED', retryAfter: 600 }));
    clock.increment(600);
    pool.tryAcquire()!.release();
  });

  it('a request that never left (its connection closed before the write) gets its weight back', async () => {
    const { governor, pool, server } = await setup({ windows: [{ weight: 5, per: 1_000 }] }, 1);
    const lease = await pool.acquire({ weight: 1 });
    server.endAll();
    await settle();
    const error = await rejection(lease.request({ path: '/', weight: 1 }));
    expect(error).toMatchObject({ code: 'CONNECTION_LOST', delivery: 'unsent' });
    lease.release();
    expect(governor.stats().used).toEqual([0]);
  });

  it('a request spent and then given up before undici wrote it gets its weight back', async () => {
    const { governor, pool, server } = await setup({ windows: [{ weight: 5, per: 1_000 }] }, 1);
    const lease = await pool.acquire({ weight: 3 });
    const controller = new AbortController();
    const sending = rejection(lease.request({ path: '/', weight: 3, signal: controller.signal }));
    // Spent at the send, in this turn...
    expect(governor.stats().used).toEqual([3]);
    // ...and aborted before undici's write, one turn later: unsent, so refunded.
    controller.abort();
    expect(await sending).toMatchObject({ code: 'REQUEST_ABORTED', delivery: 'unsent' });
    lease.release();
    expect(governor.stats().used).toEqual([0]);
    await settle();
    expect(server.requests).toBe(0);
  });
});
