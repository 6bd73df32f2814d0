/**
 * Acquiring connections from a real pool: LIFO order, the non-blocking try,
 * the patient wait, its deadline and its abort.
 */
import { describe, expect, it } from 'vitest';
import { isLifelineError } from '../../src/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import { expectConserved, isFull, openPool, waitForStats } from '../helpers/pool.js';

describe('acquire', () => {
  it('hands out the most recently released connection first (LIFO)', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 3 });
    const a = pool.tryAcquire()!;
    const b = pool.tryAcquire()!;
    expect(a.slot).not.toBe(b.slot);
    a.release();
    b.release();
    const c = pool.tryAcquire()!;
    const d = pool.tryAcquire()!;
    expect(c.slot).toBe(b.slot);
    expect(d.slot).toBe(a.slot);
    c.release();
    d.release();
  });

  it('tryAcquire answers undefined at once when every connection is busy', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 2 });
    const leases = [pool.tryAcquire(), pool.tryAcquire()];
    expect(leases.every(Boolean)).toBe(true);
    expect(pool.tryAcquire()).toBeUndefined();
    expect(pool.stats()).toMatchObject({ healthy: 0, busy: 2, waiting: 0 });
    expectConserved(pool.stats());
    for (const lease of leases) lease!.release();
    expect(pool.stats()).toMatchObject({ healthy: 2, busy: 0 });
  });

  it('acquire waits and is handed the first released connection; waiters are served in order', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    const held = pool.tryAcquire()!;
    const order: number[] = [];
    const first = pool.acquire({ timeout: 10_000 }).then((lease) => (order.push(1), lease));
    const second = pool.acquire({ timeout: 10_000 }).then((lease) => (order.push(2), lease));
    expect(pool.stats().waiting).toBe(2);
    held.release();
    const lease1 = await first;
    expect(lease1.slot).toBe(held.slot);
    expect(pool.stats()).toMatchObject({ busy: 1, waiting: 1 });
    // The handed-off connection works.
    expect((await lease1.request({ path: '/' })).text()).toBe('ok');
    lease1.release();
    (await second).release();
    expect(order).toEqual([1, 2]);
    expect(pool.stats()).toMatchObject({ healthy: 1, waiting: 0 });
  });

  it('acquire rejects with ACQUIRE_TIMEOUT at its deadline, and the pool is intact', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    const held = pool.tryAcquire()!;
    const error = await pool.acquire({ timeout: 30 }).catch((e: unknown) => e);
    expect(isLifelineError(error, 'ACQUIRE_TIMEOUT')).toBe(true);
    expect((error as Error).message).toBe('no connection became free before the acquire timeout');
    expect(pool.stats().waiting).toBe(0);
    held.release();
    expect(pool.stats().healthy).toBe(1);
  });

  it('acquire rejects with ACQUIRE_ABORTED when its signal fires, before or while waiting', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    const held = pool.tryAcquire()!;
    const controller = new AbortController();
    const waiting = pool.acquire({ timeout: 10_000, signal: controller.signal });
    expect(pool.stats().waiting).toBe(1);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ACQUIRE_ABORTED' });
    expect(pool.stats().waiting).toBe(0);
    await expect(pool.acquire({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ACQUIRE_ABORTED' });
    held.release();
    // An aborted waiter is not handed the released slot: it went back to the free list.
    expect(pool.stats()).toMatchObject({ healthy: 1, busy: 0 });
  });

  it('a lease is one request at a time and dead after release', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    const lease = pool.tryAcquire()!;
    const first = lease.request({ path: '/' });
    await expect(lease.request({ path: '/' })).rejects.toMatchObject({ code: 'LEASE_BUSY' });
    expect((await first).status).toBe(200);
    lease.release();
    lease.release(); // idempotent
    await expect(lease.request({ path: '/' })).rejects.toMatchObject({ code: 'LEASE_RELEASED' });
    expect(pool.stats()).toMatchObject({ healthy: 1, busy: 0 });
  });

  it('works with using: the lease is released at the end of the block', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    {
      using lease = pool.tryAcquire()!;
      expect((await lease.request({ path: '/' })).text()).toBe('ok');
      expect(pool.stats().busy).toBe(1);
    }
    expect(pool.stats()).toMatchObject({ healthy: 1, busy: 0 });
  });

  it('pool.request waits for a slot like acquire, up to its timeout', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    const held = pool.tryAcquire()!;
    await expect(pool.request({ path: '/', timeout: 20 })).rejects.toMatchObject({ code: 'ACQUIRE_TIMEOUT' });
    const pending = pool.request({ path: '/' });
    held.release();
    expect((await pending).text()).toBe('ok');
    await waitForStats(pool, isFull);
  });
});
