/**
 * close(): stop handing out, refuse waiters, drain busy leases up to a deadline,
 * then close every socket.
 */
import { describe, expect, it } from 'vitest';
import { ClientPool, isLifelineError } from '../../src/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import { waitFor } from '../helpers/pool.js';

describe('close', () => {
  it('refuses waiters and new acquires with POOL_CLOSED and waits for a busy lease to finish', async () => {
    const server = await startHttpServer();
    const pool = await ClientPool.connect({ url: server.url, connections: 1 });
    const lease = pool.tryAcquire()!;
    const waiter = pool.acquire({ timeout: 10_000 });
    let closed = false;
    const closing = pool.close().then(() => (closed = true));
    await expect(waiter).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    expect(() => pool.tryAcquire()).toThrow(expect.objectContaining({ code: 'POOL_CLOSED' }));
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    await expect(pool.request({ path: '/' })).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    // The leased connection still works until it is released.
    expect((await lease.request({ path: '/' })).text()).toBe('ok');
    expect(closed).toBe(false);
    lease.release();
    await closing;
    expect(pool.stats()).toMatchObject({ closed: 1, healthy: 0, busy: 0, waiting: 0 });
    await waitFor(() => server.sockets.size === 0, () => server.sockets.size);
  });

  it('closes anyway after drainTimeout when a lease is never released', async () => {
    const server = await startHttpServer();
    const pool = await ClientPool.connect({ url: server.url, connections: 2, drainTimeout: 50 });
    const lease = pool.tryAcquire()!;
    await pool.close();
    expect(pool.stats().closed).toBe(2);
    const error = await lease.request({ path: '/' }).catch((e: unknown) => e);
    expect(isLifelineError(error)).toBe(true);
    lease.release(); // a late release after close is harmless
  });

  it('close is idempotent, and await using closes the pool', async () => {
    const server = await startHttpServer();
    let outer: ClientPool | undefined;
    {
      await using pool = await ClientPool.connect({ url: server.url, connections: 2 });
      outer = pool;
      expect((await pool.request({ path: '/' })).status).toBe(200);
    }
    expect(outer.closed).toBe(true);
    await Promise.all([outer.close(), outer.close()]);
    expect(outer.stats().closed).toBe(2);
    await waitFor(() => server.sockets.size === 0, () => server.sockets.size);
  });

  it('leaves no socket or timer behind, even closed while backing off', async () => {
    const server = await startHttpServer();
    await server.stop();
    const before = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;
    const pool = await ClientPool.connect({ url: server.url, connections: 4, lazy: true, backoff: { initial: 10_000 } });
    await waitFor(() => pool.stats().backoff > 0, () => pool.stats());
    await pool.close();
    const after = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;
    expect(after).toBeLessThanOrEqual(before);
  });
});
