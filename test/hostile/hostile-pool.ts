/**
 * What every HTTP bad-peer case checks after the server has misbehaved: the
 * slot was recycled (the server saw a new connection), the pool is full
 * again, the next request is answered by a server that now behaves, slots are
 * conserved and nobody is left waiting.
 */
import { expect } from 'vitest';
import { isLifelineError, type ClientPool, type ClientPoolOptions, type ErrorCode } from '../../src/index.js';
import { expectConserved, isFull, openPool, waitFor, waitForStats } from '../helpers/pool.js';
import type { RawHttpServer } from './raw-http-server.js';

/** One connection, so "recycled" means exactly one new socket; 1-20 ms backoff so healing is quick. */
export function openHostilePool(server: RawHttpServer, options: Partial<ClientPoolOptions> = {}): Promise<ClientPool> {
  return openPool({ url: server.url, connections: 1, backoff: { initial: 1, max: 20 }, history: 100, ...options });
}

/** The request's rejection, which must be a LifelineError with exactly `code` (and `message`, when given). */
export async function expectRejection(request: Promise<unknown>, code: ErrorCode, message?: string): Promise<void> {
  const error = await request.then(
    (response) => ({ unexpected: response }),
    (e: unknown) => e,
  );
  expect(isLifelineError(error) ? error.code : error).toBe(code);
  if (message !== undefined) expect((error as Error).message).toBe(message);
}

/** The slot heals on a new connection (the server's `connections` passes `before`) and serves the next request. */
export async function expectHealed(pool: ClientPool, server: RawHttpServer, before: number): Promise<void> {
  await waitFor(() => server.connections > before, () => ({ connections: server.connections, stats: pool.stats() }));
  await waitForStats(pool, isFull);
  const response = await pool.request({ path: '/after' });
  expect(response.status).toBe(200);
  expect(response.text()).toBe('ok');
  const stats = pool.stats();
  expectConserved(stats);
  expect(stats.waiting).toBe(0);
}

/** The reasons the flight recorder gave for slot 0 leaving `healthy` or `busy` because its socket died. */
export function lostReasons(pool: ClientPool): (string | undefined)[] {
  return pool
    .history()
    .filter((record) => record.actor === 'slot 0' && record.event === 'lost')
    .map((record) => record.reason);
}
