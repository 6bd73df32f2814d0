/**
 * HTTP/2 streams' headersTimeout and bodyTimeout (issue 19) run on the pool's clock: driven here by
 * xstate's SimulatedClock against a real node:http2 server that holds a head or stalls a body. A
 * timeout fails its own stream alone (RST_STREAM CANCEL, the server sees it), never the connection.
 */
import http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { LifelineError } from '../../src/index.js';
import { answer, startH2Server } from '../helpers/h2-server.js';
import { openPool, waitFor } from '../helpers/pool.js';

const { NGHTTP2_CANCEL } = http2.constants;
// Minutes on the clock: a timeout on the process's timers would not fire within the test.
const TIMEOUTS = { headersTimeout: 60_000, bodyTimeout: 120_000 };

/** A promise's outcome, read without waiting: undefined while it is pending. */
function watch<T>(promise: Promise<T>): { readonly value: T | undefined } {
  const seen: { value: T | undefined } = { value: undefined };
  void promise.then((value) => (seen.value = value));
  return seen;
}

/** Real time for frames to cross loopback: a few turns of the loop. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

/** A server that holds `/held` unanswered, answers `/stall` with a head and a first chunk and then nothing (more chunks on `more()`), and answers the rest. */
async function setUp() {
  const resets: number[] = [];
  const stalled: http2.ServerHttp2Stream[] = [];
  const server = await startH2Server((stream, { headers }) => {
    stream.on('close', () => resets.push(stream.rstCode));
    const path = String(headers[':path']);
    if (path === '/held') return;
    if (path === '/stall') {
      stream.respond({ ':status': 200 });
      stream.write('first ');
      stalled.push(stream);
      return;
    }
    answer(stream, headers);
  });
  const clock = new SimulatedClock();
  // No PING: the clock moves seconds at a time, and only the streams' timeouts are under test.
  const pool = await openPool({ url: server.url, protocol: 'http2', connections: 1, clock, http2: { pingInterval: 0 }, ...TIMEOUTS });
  return { server, clock, pool, resets, more: () => stalled.forEach((s) => s.write('more ')) };
}

describe('HTTP/2 stream timeouts on the pool clock', () => {
  it('headersTimeout: the held stream fails alone with HEADERS_TIMEOUT at its time on the clock, cancelled; the connection carries on', async () => {
    const { clock, pool, resets } = await setUp();
    const held = pool.request({ path: '/held' }).catch((e: unknown) => e as LifelineError);
    const outcome = watch(held);
    await settle();
    clock.increment(TIMEOUTS.headersTimeout - 1);
    await settle();
    expect(outcome.value).toBeUndefined();
    clock.increment(1);
    expect(await held).toMatchObject({ code: 'HEADERS_TIMEOUT', sent: 'written-no-response' });
    // The server heard the stream cancelled: RST_STREAM CANCEL.
    await waitFor(() => resets.includes(NGHTTP2_CANCEL), () => resets);
    // Same connection, next request: nothing was retired or failed.
    expect((await pool.request({ path: '/after' })).text()).toBe('GET /after');
    expect(pool.stats()).toMatchObject({ dials: 1, failures: 0, cleanEnds: 0, streams: 0, healthy: 1 });
  });

  it('bodyTimeout: a chunk restarts it; a body quiet for bodyTimeout fails with BODY_TIMEOUT, cancelled, and the connection carries on', async () => {
    const { clock, pool, resets, more } = await setUp();
    const lease = (await pool.acquire())!;
    const stalled = lease.stream({ path: '/stall' });
    const response = await stalled;
    const body: Buffer[] = [];
    const ended = new Promise<LifelineError>((resolve) => {
      response.body.on('data', (chunk: Buffer) => body.push(chunk));
      response.body.on('error', (error) => resolve(error as LifelineError));
    });
    const outcome = watch(ended);
    await settle();
    clock.increment(TIMEOUTS.bodyTimeout - 500);
    more();
    await settle();
    // The chunk came 500 ms before the timeout: quiet since, for less than bodyTimeout.
    clock.increment(TIMEOUTS.bodyTimeout - 500);
    await settle();
    expect(Buffer.concat(body).toString()).toBe('first more ');
    expect(outcome.value).toBeUndefined();
    clock.increment(500);
    expect(await ended).toMatchObject({ code: 'BODY_TIMEOUT', sent: 'partial-response' });
    lease.release();
    await waitFor(() => resets.includes(NGHTTP2_CANCEL), () => resets);
    expect((await pool.request({ path: '/after' })).text()).toBe('GET /after');
    expect(pool.stats()).toMatchObject({ dials: 1, failures: 0, cleanEnds: 0, streams: 0 });
  });

  it('a stream past its timeout on the clock fails while the others on its connection are answered', async () => {
    const { clock, pool } = await setUp();
    const held = pool.request({ method: 'POST', path: '/held', body: 'order' }).catch((e: unknown) => e as LifelineError);
    const others = Array.from({ length: 5 }, (_, i) => pool.request({ path: `/ok/${i}` }));
    expect((await Promise.all(others)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    clock.increment(TIMEOUTS.headersTimeout);
    expect(await held).toMatchObject({ code: 'HEADERS_TIMEOUT' });
    expect(pool.stats()).toMatchObject({ dials: 1, failures: 0 });
  });
});
