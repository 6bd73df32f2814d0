/**
 * `pool.dispatcher` under a governor: each request through it (fetch, undici.request) takes
 * weight 1 at priority normal with its lease, waits for budget within acquireTimeout, spends it at
 * its send and gives it back when nothing left; the venue's 429 pauses it as it does pool.request.
 * The governor runs on a simulated clock; the loopback server counts what arrived.
 */
import { SimulatedClock } from 'xstate';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { Governor, type GovernorOptions } from '../../../src/index.js';
import { startHttpServer } from '../../helpers/http-server.js';
import { openPool } from '../../helpers/pool.js';

async function setup(options: Omit<GovernorOptions, 'clock'>, pool: { acquireTimeout?: number } = {}) {
  const clock = new SimulatedClock();
  const governor = new Governor({ ...options, clock });
  let replies = 0;
  let statusFirst = 200;
  const server = await startHttpServer((_req, res) => {
    replies++;
    if (replies === 1 && statusFirst !== 200) res.writeHead(statusFirst, { 'retry-after': '5' });
    res.end('ok');
  });
  const opened = await openPool({ url: server.url, connections: 2, governor, ...pool });
  return { clock, governor, server, pool: opened, answerFirstWith: (status: number) => (statusFirst = status) };
}

/** fetch through the pool's dispatcher (Node's RequestInit does not declare `dispatcher`). */
function fetchThrough(url: string, dispatcher: unknown): Promise<Response> {
  return fetch(url, { dispatcher } as unknown as RequestInit);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('pool.dispatcher under a governor', () => {
  it('spends weight 1 per request at its send, and waits for budget within acquireTimeout', async () => {
    const { clock, governor, server, pool } = await setup({ windows: [{ weight: 2, per: 1_000 }] });
    expect((await fetchThrough(server.url, pool.dispatcher)).status).toBe(200);
    const { statusCode, body } = await request(server.url, { dispatcher: pool.dispatcher });
    await body.text();
    expect(statusCode).toBe(200);
    expect(governor.stats().used).toEqual([2]);
    expect(server.requests).toBe(2);
    // The window is full: the third waits for budget, holding no slot, and goes once the window slides.
    let done = false;
    const third = request(server.url, { dispatcher: pool.dispatcher }).then(async (res) => {
      done = true;
      await res.body.text();
      return res.statusCode;
    });
    await settle();
    expect(done).toBe(false);
    expect(governor.stats().waiting.normal).toBe(1);
    expect(pool.stats().busy).toBe(0);
    clock.increment(1_000);
    expect(await third).toBe(200);
    expect(server.requests).toBe(3);
  });

  it('no budget within acquireTimeout: fetch fails with RATE_LIMITED as its cause, nothing sent', async () => {
    const { clock, governor, server, pool } = await setup({ windows: [{ weight: 1, per: 10_000 }] }, { acquireTimeout: 500 });
    await (await fetchThrough(server.url, pool.dispatcher)).text();
    const failing = fetchThrough(server.url, pool.dispatcher).then(
      () => undefined,
      (error: unknown) => error as { cause?: Record<string, unknown> },
    );
    await settle();
    clock.increment(500);
    const error = await failing;
    expect(error?.cause).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 9_500 });
    expect(server.requests).toBe(1);
    expect(governor.stats().used).toEqual([1]);
  });

  it("a 429 through the dispatcher pauses the governor: the next request waits it out, sending nothing meanwhile", async () => {
    const { clock, governor, server, pool, answerFirstWith } = await setup({ windows: [{ weight: 100, per: 1_000 }] }, { acquireTimeout: 10_000 });
    answerFirstWith(429);
    const first = await request(server.url, { dispatcher: pool.dispatcher });
    await first.body.text();
    // The response itself reaches the caller; the governor is paused for its Retry-After (5 s).
    expect(first.statusCode).toBe(429);
    expect(governor.state).toBe('paused');
    let done = false;
    const next = request(server.url, { dispatcher: pool.dispatcher }).then(async (res) => {
      done = true;
      await res.body.text();
      return res.statusCode;
    });
    await settle();
    expect(done).toBe(false);
    expect(server.requests).toBe(1);
    clock.increment(5_000);
    expect(await next).toBe(200);
    expect(server.requests).toBe(2);
  });

  it('a request given up while it waits for budget takes none, and one that never left gives its weight back', async () => {
    const { clock, governor, server, pool } = await setup({ windows: [{ weight: 1, per: 1_000 }] });
    await (await fetchThrough(server.url, pool.dispatcher)).text();
    const controller = new AbortController();
    const aborted = fetch(server.url, { dispatcher: pool.dispatcher, signal: controller.signal } as unknown as RequestInit).then(
      () => 'resolved',
      () => 'rejected',
    );
    await settle();
    expect(governor.stats().waiting.normal).toBe(1);
    controller.abort();
    expect(await aborted).toBe('rejected');
    expect(governor.stats().waiting.normal).toBe(0);
    clock.increment(1_000);
    expect(governor.stats().used).toEqual([0]);
    // Never left: the connection closed under it before the write (a resend on the other one spends it once).
    server.endAll();
    await settle();
    await (await fetchThrough(server.url, pool.dispatcher)).text();
    expect(governor.stats().used).toEqual([1]);
    expect(server.requests).toBe(2);
  });
});
