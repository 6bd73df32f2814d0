/**
 * What a degraded governor tells the fleet's count (issue 18, item 4), against a real redis-server:
 * - a reservation Redis made after the governor stopped waiting for it is cancelled, not left to
 *   hold budget until its ttl;
 * - a request sent on the local share is recorded in Redis as it goes, in flight and after its
 *   settle, so the processes still on Redis see it when Redis was only slow;
 * - on recovery only what Redis missed is pushed: a request recorded is counted once, one whose
 *   record failed (Redis down) is counted by the push.
 * Windows of a minute, so nothing leaves them during a test; Redis's count is read through a second
 * store on the same key, as another process would see it.
 */
import { createServer } from 'node:http';
import { expect, it, onTestFinished, vi } from 'vitest';
import { Governor, isLifelineError, redisStore, type ClientPool, type RedisCommander } from '../../../src/index.js';
import { openPool } from '../../helpers/pool.js';
import { openRedisClient } from '../../helpers/redis-client.js';
import { startRedis } from '../../helpers/redis-server.js';
import { stallRedis } from '../../helpers/redis-stall.js';

const PER = 60_000;
const WINDOWS = [{ weight: 100, per: PER }];
/** Longer than any test's degraded stretch: the governor goes back to Redis only when a test waits for it. */
const RETRY = 2_500;
const HOLD = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A venue that answers every request after `HOLD` ms, so a request is in flight long enough to look at. */
async function slowVenue(): Promise<{ url: string; arrived: () => number }> {
  let arrived = 0;
  const server = createServer((request, response) => {
    arrived++;
    request.resume();
    setTimeout(() => response.end('ok'), HOLD);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, arrived: () => arrived };
}

async function fleetCount(client: RedisCommander, key: string): Promise<number> {
  const [used] = await redisStore(client, { key }).used([PER]);
  return used!;
}

async function degradedGovernor(url: string, key: string, timeout: number, localShare = 0.5) {
  const client = await openRedisClient(url);
  const governor = new Governor({ windows: WINDOWS, store: redisStore(client, { key, timeout, retry: RETRY }), localShare });
  const venue = await slowVenue();
  const pool: ClientPool = await openPool({ url: venue.url, connections: 8, governor });
  return { governor, pool, venue };
}

it('cancels a reservation Redis made after the governor stopped waiting for it', async () => {
  const redis = await startRedis();
  const [client, staller, reader] = [await openRedisClient(redis.url), await openRedisClient(redis.url), await openRedisClient(redis.url)];
  const store = redisStore(client, { key: 'late', timeout: 50 });
  const stall = stallRedis(staller, 300);
  await sleep(20);
  await expect(store.reserve(1, [100], [PER])).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  await stall;
  // The reserve ran after the stall, then its cancel: nothing is held.
  await vi.waitFor(async () => expect(await fleetCount(reader, 'late')).toBe(0), { timeout: 2_000, interval: 20 });
});

it('records requests sent on the local share in Redis while they are in flight, and counts each once after recovery', async () => {
  const redis = await startRedis();
  const [staller, reader] = [await openRedisClient(redis.url), await openRedisClient(redis.url)];
  const { governor, pool } = await degradedGovernor(redis.url, 'slow', 50);
  // Redis stalls: the first request's reserve times out, and it goes on the local share.
  const stall = stallRedis(staller, 300);
  await sleep(20);
  const first = pool.request({ path: '/' });
  await vi.waitFor(() => expect(governor.storeState).toBe('degraded'), { timeout: 2_000, interval: 5 });
  await stall;

  // Redis answers again; the governor stays degraded until its retry. Four more requests, all five in
  // flight at once: the fleet's count sees them before any has been answered.
  const more = [1, 2, 3, 4].map(() => pool.request({ path: '/' }));
  await vi.waitFor(async () => expect(await fleetCount(reader, 'slow')).toBe(5), { timeout: HOLD - 200, interval: 10 });
  await Promise.all([first, ...more]);
  expect(governor.storeState).toBe('degraded');
  expect(await fleetCount(reader, 'slow')).toBe(5);

  // Back on Redis: nothing pushed twice.
  await vi.waitFor(() => expect(governor.storeState).toBe('shared'), { timeout: 8_000, interval: 10 });
  expect(await fleetCount(reader, 'slow')).toBe(5);
});

it('pushes on recovery what Redis could not record while it was down', async () => {
  const redis = await startRedis();
  const reader = await openRedisClient(redis.url);
  const { governor, pool } = await degradedGovernor(redis.url, 'down', 200);
  await pool.request({ path: '/' });
  expect(await fleetCount(reader, 'down')).toBe(1);

  await redis.stop();
  await Promise.all([1, 2, 3].map(() => pool.request({ path: '/' })));
  expect(governor.storeState).toBe('degraded');
  // Back empty, as a server without persistence is: the push counts what was spent meanwhile.
  await redis.start();
  await vi.waitFor(() => expect(governor.storeState).toBe('shared'), { timeout: 8_000, interval: 10 });
  await vi.waitFor(async () => expect(await fleetCount(reader, 'down')).toBe(3), { timeout: 2_000, interval: 20 });
});

it('with localShare 0 sends nothing while Redis is out of reach: callers wait within their timeout, then RATE_LIMITED', async () => {
  const redis = await startRedis();
  const { governor, pool, venue } = await degradedGovernor(redis.url, 'strict', 200, 0);
  await pool.request({ path: '/' });
  await redis.stop();
  const refused = await pool.request({ path: '/', timeout: 100 }).catch((error: unknown) => error);
  expect(isLifelineError(refused) && refused.code).toBe('RATE_LIMITED');
  // Worth a try again by the store's next try, not a window away.
  expect(isLifelineError(refused) && refused.retryAfter).toBeLessThanOrEqual(RETRY);
  expect((refused as Error).message).toMatch(/out of reach, and localShare is 0; retry after \d+ ms; nothing was sent/);
  expect(governor.storeState).toBe('degraded');
  // A caller still waiting when Redis is back is handed over to it, and sent.
  const waiting = pool.request({ path: '/', timeout: 10_000 });
  await sleep(100);
  await redis.start();
  await waiting;
  expect(venue.arrived()).toBe(2);
});
