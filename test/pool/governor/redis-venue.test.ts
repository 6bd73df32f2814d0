/**
 * The venue's used-weight header corrects the fleet's count in Redis (issue 18, item 2), against a
 * real redis-server and a loopback venue: in the commit of the answered request, atomically, the
 * venue's count replaces what the store counted that the venue had surely counted (everything
 * settled before that request was reserved, and the request itself), and nothing reserved, in
 * flight or settled since. The rule is written in src/pool/governor/redis-script.ts.
 * Windows of a minute: nothing leaves them during a test, so every count is exact.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Governor, redisStore, type ClientPool, type GovernorOptions } from '../../../src/index.js';
import type { Ticket } from '../../../src/pool/governor/governor.js';
import type { SharedBudgetStore } from '../../../src/pool/governor/shared-store.js';
import { startHttpServer } from '../../helpers/http-server.js';
import { openPool } from '../../helpers/pool.js';
import { openRedisClient } from '../../helpers/redis-client.js';
import { startRedis } from '../../helpers/redis-server.js';

type WindowOptions = GovernorOptions['windows'][number];

const HEADER = 'x-used-weight';
const PER = 60_000;
const POLL = { timeout: 5_000, interval: 10 };

/**
 * A venue that answers `/used/N` with the header `N` (whatever N is), anything else without it; `/hold/...` waits
 * until `release()` (in the order held).
 */
async function startVenue() {
  const held: (() => void)[] = [];
  const server = await startHttpServer((req, res) => {
    const answer = (response: ServerResponse) => {
      const used = /\/used\/([^/]+)$/.exec(req.url ?? '')?.[1];
      response.writeHead(200, used === undefined ? {} : { [HEADER]: used }).end('ok');
    };
    if (req.url?.startsWith('/hold')) held.push(() => answer(res));
    else answer(res);
  });
  return { url: server.url, release: () => held.shift()?.(), held: () => held.length };
}

/** A governor on `key` and a pool to `url` on it, plus a store on the same client to read the fleet's count. */
async function fleetMember(redisUrl: string, url: string, key: string, windows: WindowOptions[] = [{ weight: 100, per: PER, header: HEADER }]) {
  const client = await openRedisClient(redisUrl);
  // A store bound far above a loaded machine's round trips: these tests are about the correction, and a
  // call over the default 200 ms (seen beside a full `vitest run`) would turn the governor degraded.
  const governor = new Governor({ windows, store: redisStore(client, { key, timeout: 5_000 }) });
  const pool = await openPool({ url, connections: 4, governor });
  // The same client: its calls reach Redis after the governor's (one connection, in order).
  const reader: SharedBudgetStore = redisStore(client, { key });
  const pers = windows.map((window) => window.per);
  return { governor, pool, count: () => reader.used(pers) };
}

/** Two fleet members (as two processes) on one Redis and key, and their venue. */
async function twoProcesses(key: string) {
  const redis = await startRedis();
  const venue = await startVenue();
  return { venue, a: await fleetMember(redis.url, venue.url, key), b: await fleetMember(redis.url, venue.url, key) };
}

const requests = (pool: ClientPool, path: string, n: number) => Promise.all(Array.from({ length: n }, () => pool.request({ path })));

describe("the venue's used weight corrects the fleet's count in Redis", () => {
  it('lowers it to the venue\'s count (its window reset), and raises it (someone else spent from the key)', async () => {
    const { venue, a, b } = await twoProcesses('both-ways');
    await requests(a.pool, '/plain', 6);
    await requests(b.pool, '/plain', 4);
    await expect.poll(a.count, POLL).toEqual([10]);
    // The venue says 3 (it forgot 8 of ours): the 10 settled before, and this request, are 3 now.
    await a.pool.request({ path: '/used/3' });
    await expect.poll(a.count, POLL).toEqual([3]);
    // Another process (not on this Redis) spent 40 from the key: the venue says 44, so do we.
    await b.pool.request({ path: '/used/44' });
    await expect.poll(b.count, POLL).toEqual([44]);
    // And the budget follows: 100 - 44 left, fleet-wide.
    const granted = await Promise.allSettled(Array.from({ length: 60 }, () => Promise.resolve(a.governor.acquire(1, 'normal', 0, undefined))));
    expect(granted.filter((r) => r.status === 'fulfilled')).toHaveLength(56);
  });

  it('never lowers it below what the fleet has reserved or has in flight, nor by an answer older than one applied', async () => {
    const { venue, a, b } = await twoProcesses('floor');
    await requests(a.pool, '/plain', 5);
    // Held by another process: 3 reservations not yet sent, and 2 requests in flight (the venue holds them).
    const tickets: Ticket[] = [];
    for (let i = 0; i < 3; i++) tickets.push(await b.governor.acquire(1, 'normal', 1_000, undefined));
    const inFlight = [b.pool.request({ path: '/hold/used/0' }), b.pool.request({ path: '/hold/used/0' })];
    await expect.poll(venue.held, POLL).toBe(2);
    await expect.poll(a.count, POLL).toEqual([10]);
    // The venue says 0: the 5 settled go, this request too; the 3 reserved and the 2 in flight stay.
    await a.pool.request({ path: '/used/0' });
    await expect.poll(a.count, POLL).toEqual([5]);
    // The held requests were reserved before that answer was: their own answers (0) are older than
    // the correction applied, and lower nothing; they count as settled requests.
    venue.release();
    venue.release();
    await Promise.all(inFlight);
    await expect.poll(a.count, POLL).toEqual([5]);
    for (const ticket of tickets) b.governor.release(ticket);
    await expect.poll(a.count, POLL).toEqual([2]);
  });

  it('corrects only the windows whose header the response carried, and only with a number', async () => {
    const redis = await startRedis();
    const venue = await startVenue();
    const windows = [
      { weight: 100, per: PER, header: HEADER },
      { weight: 1_000, per: 10 * PER },
    ];
    const a = await fleetMember(redis.url, venue.url, 'two-windows', windows);
    await requests(a.pool, '/plain', 4);
    await a.pool.request({ path: '/used/20' });
    await expect.poll(a.count, POLL).toEqual([20, 5]);
    // Garbage in the header corrects nothing.
    await a.pool.request({ path: '/used/x' });
    await expect.poll(a.count, POLL).toEqual([21, 6]);
  });
});
