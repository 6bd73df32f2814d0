/**
 * The venue's word wins: its used-weight header corrects the governor's count, and a 429 or a
 * ban pauses every pool on the governor. Nothing is sent into a pause: the loopback servers
 * count what arrived. The governor runs on a simulated clock.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { Governor, type GovernorOptions, type MeterLike } from '../../../src/index.js';
import { startHttpServer } from '../../helpers/http-server.js';
import { openPool } from '../../helpers/pool.js';

type Reply = (req: IncomingMessage, res: ServerResponse) => void;

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  return (await promise.then(
    () => {
      throw new Error('resolved; expected a rejection');
    },
    (e: unknown) => e,
  )) as Record<string, unknown>;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** A venue whose next answers are scripted: each request takes the first reply left, then `ok`. */
async function venue() {
  const replies: Reply[] = [];
  const server = await startHttpServer((req, res) => (replies.shift() ?? ((_q, r) => r.end('ok')))(req, res));
  return { server, replies };
}

function governed(options: Omit<GovernorOptions, 'clock'>) {
  const clock = new SimulatedClock();
  return { clock, governor: new Governor({ ...options, clock }) };
}

describe('Governor: the venue corrects the count', () => {
  it('a used-weight header raises the local count (another process spent from the same key)', async () => {
    const { governor } = governed({ windows: [{ weight: 10, per: 60_000, header: 'x-mbx-used-weight-1m' }] });
    const { server, replies } = await venue();
    const pool = await openPool({ url: server.url, connections: 1, governor });
    replies.push((_req, res) => res.setHeader('x-mbx-used-weight-1m', '9').end('ok'));
    await pool.request({ path: '/' });
    expect(governor.stats().used).toEqual([9]);
    expect(await rejection(pool.request({ path: '/', weight: 2, timeout: 0 }))).toMatchObject({ code: 'RATE_LIMITED' });
    await pool.request({ path: '/', weight: 1 });
    expect(server.requests).toBe(2);
  });

  it('and lowers it (the venue window reset), counting what went out after the answered request', async () => {
    const { governor } = governed({ windows: [{ weight: 10, per: 60_000, header: 'x-mbx-used-weight-1m' }] });
    const { server, replies } = await venue();
    const pool = await openPool({ url: server.url, connections: 1, governor });
    for (let i = 0; i < 9; i++) await pool.request({ path: '/' });
    expect(governor.stats().used).toEqual([9]);
    replies.push((_req, res) => res.setHeader('x-mbx-used-weight-1m', '1').end('ok'));
    await pool.request({ path: '/' });
    expect(governor.stats().used).toEqual([1]);
    // Garbage corrects nothing.
    replies.push((_req, res) => res.setHeader('x-mbx-used-weight-1m', 'lots').end('ok'));
    await pool.request({ path: '/' });
    expect(governor.stats().used).toEqual([2]);
  });
});

describe('Governor: pauses and bans', () => {
  it('a 429 pauses every pool on the governor until Retry-After; nothing is sent into the pause', async () => {
    const { clock, governor } = governed({ windows: [{ weight: 100, per: 60_000 }] });
    const a = await venue();
    const b = await venue();
    const poolA = await openPool({ url: a.server.url, connections: 1, governor });
    const poolB = await openPool({ url: b.server.url, connections: 1, governor });
    // Leased before the pause: its request must not go out into it either.
    const held = await poolB.acquire();
    a.replies.push((_req, res) => res.writeHead(429, { 'retry-after': '2' }).end('slow down'));
    expect((await poolA.request({ path: '/' })).status).toBe(429);
    expect(governor.state).toBe('paused');
    expect(governor.stats()).toMatchObject({ state: 'paused', pausedFor: 2_000, pauses: 1 });
    expect(await rejection(poolB.request({ path: '/', timeout: 0 }))).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfter: 2_000,
      message: 'rate limited: the venue paused requests; retry after 2000 ms; nothing was sent',
    });
    expect(await rejection(held.request({ path: '/' }))).toMatchObject({ code: 'RATE_LIMITED', delivery: 'unsent' });
    held.release();
    // A pause longer than the caller's timeout fails fast; a patient caller waits it out.
    expect(await rejection(poolA.request({ path: '/', timeout: 1_000 }))).toMatchObject({ code: 'RATE_LIMITED' });
    let arrived = false;
    const patient = poolB.request({ path: '/', timeout: 10_000 }).then((res) => ((arrived = true), res));
    await settle();
    clock.increment(1_999);
    await settle();
    expect(arrived).toBe(false);
    expect(a.server.requests + b.server.requests).toBe(1);
    clock.increment(1);
    expect((await patient).status).toBe(200);
    expect(governor.state).toBe('open');
    expect(b.server.requests).toBe(1);
  });

  it('a 418 bans for its Retry-After (an HTTP date), state banned, counted by the meter', async () => {
    const added: [string, number, Record<string, string> | undefined][] = [];
    const meter = {
      createHistogram: () => ({ record() {} }),
      createCounter: (name: string) => ({ add: (value: number, attributes?: Record<string, string>) => added.push([name, value, attributes]) }),
      createObservableGauge: () => ({}),
      createObservableCounter: () => ({}),
      addBatchObservableCallback() {},
      removeBatchObservableCallback() {},
    } satisfies MeterLike;
    const { clock, governor } = governed({ windows: [{ weight: 100, per: 60_000 }], meter });
    const { server, replies } = await venue();
    const pool = await openPool({ url: server.url, connections: 1, governor });
    const until = new Date(Date.now() + 300_000).toUTCString();
    replies.push((_req, res) => res.writeHead(418, { 'retry-after': until }).end('banned'));
    expect((await pool.request({ path: '/' })).status).toBe(418);
    const stats = governor.stats();
    expect(stats).toMatchObject({ state: 'banned', bans: 1 });
    // An HTTP date has whole seconds: between 299 and 300 s from now (not banDefault's 120 s).
    expect(stats.pausedFor).toBeGreaterThan(298_000);
    expect(stats.pausedFor).toBeLessThanOrEqual(300_000);
    expect(added).toContainEqual(['lifeline.governor.pauses', 1, { state: 'banned' }]);
    expect(await rejection(pool.request({ path: '/', timeout: 0 }))).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringContaining('the venue banned requests') });
    expect(added).toContainEqual(['lifeline.governor.rate_limited', 1, { priority: 'normal' }]);
    clock.increment(stats.pausedFor);
    expect(governor.state).toBe('open');
    await pool.request({ path: '/' });
    expect(server.requests).toBe(2);
  });

  it('a configured ban status without Retry-After bans for banDefault; a 429 without one pauses for pauseDefault', async () => {
    const { clock, governor } = governed({ windows: [{ weight: 100, per: 60_000 }], banStatuses: [418, 403], banDefault: 30_000, pauseDefault: 5_000 });
    const { server, replies } = await venue();
    const pool = await openPool({ url: server.url, connections: 1, governor });
    replies.push((_req, res) => res.writeHead(403).end());
    await pool.request({ path: '/' });
    expect(governor.stats()).toMatchObject({ state: 'banned', pausedFor: 30_000 });
    clock.increment(30_000);
    replies.push((_req, res) => res.writeHead(429).end());
    await pool.request({ path: '/' });
    expect(governor.stats()).toMatchObject({ state: 'paused', pausedFor: 5_000, pauses: 1, bans: 1 });
    clock.increment(5_000);
    expect(governor.state).toBe('open');
    expect(server.requests).toBe(2);
  });
});
