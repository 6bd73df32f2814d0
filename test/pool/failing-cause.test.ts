/**
 * An acquire that times out while every connection is failing to connect says why:
 * the last dial error is its cause, and its message names it.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { rejection } from '../helpers/errors.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openPool, waitForStats } from '../helpers/pool.js';

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('an acquire that times out while every connection fails', () => {
  it('carries the last dial error as its cause, and says so', async () => {
    const port = await closedPort();
    const pool = await openPool({ url: `http://127.0.0.1:${port}`, connections: 4, lazy: true });
    await waitForStats(pool, (stats) => stats.failures >= 4);
    const error = await rejection(pool.acquire({ timeout: 50 }));
    expect(error.code).toBe('ACQUIRE_TIMEOUT');
    expect(error.message).toBe(
      `no connection became free before the acquire timeout: all 4 connections failing: connect to 127.0.0.1:${port} failed: ECONNREFUSED`,
    );
    expect(error.cause).toMatchObject({ code: 'CONNECT_FAILED' });
    // pool.request waits the same way and fails the same way.
    expect((await rejection(pool.request({ path: '/', timeout: 50 }))).message).toContain('all 4 connections failing');
  });

  it('a plain ACQUIRE_TIMEOUT when connections are up but all busy', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    const held = pool.tryAcquire()!;
    const error = await rejection(pool.acquire({ timeout: 20 }));
    held.release();
    expect(error.message).toBe('no connection became free before the acquire timeout');
    expect(error.cause).toBeUndefined();
  });
});
