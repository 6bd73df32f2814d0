/**
 * Pool helpers: open a pool whose close and slot-conservation check are
 * registered at birth, and wait for a pool condition without a fixed sleep.
 */
import { expect, onTestFinished } from 'vitest';
import { ClientPool, type ClientPoolOptions, type PoolStats } from '../../src/index.js';
import { pollFor } from './poll.js';

/** Every slot is in exactly one state: the pool never loses or invents a slot. */
export function expectConserved(stats: PoolStats): void {
  const { healthy, busy, draining, connecting, backoff, poisoned, closed, connections } = stats;
  expect(healthy + busy + draining + connecting + backoff + poisoned + closed).toBe(connections);
}

export async function openPool(options: ClientPoolOptions): Promise<ClientPool> {
  const pool = await ClientPool.connect(options);
  onTestFinished(async () => {
    expectConserved(pool.stats());
    await pool.close();
    expect(pool.stats().closed).toBe(pool.stats().connections);
  });
  return pool;
}

/** Polls `condition` until it holds; fails with the last stats after `timeout` ms (see `pollFor`). */
export async function waitFor(condition: () => boolean, describe: () => unknown, timeout = 5_000): Promise<void> {
  await pollFor(
    () => (condition() ? true : undefined),
    timeout,
    () => new Error(`condition not met within ${timeout} ms: ${JSON.stringify(describe())}`),
  );
}

export function waitForStats(pool: ClientPool, condition: (stats: PoolStats) => boolean, timeout?: number): Promise<void> {
  return waitFor(
    () => condition(pool.stats()),
    () => pool.stats(),
    timeout,
  );
}

export const isFull = (stats: PoolStats) => stats.healthy === stats.connections;

/**
 * Long enough for a connection that just served a response to be handed out again. It is
 * set aside until the check phase of the loop iteration after its response's (a FIN right
 * behind the response is read first: `src/transport/turn.ts`): after `await pool.request(...)`,
 * wait for this before counting on that connection. Three check phases, to be past both.
 */
export async function nextTurn(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}
