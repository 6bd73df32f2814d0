/**
 * HTTP/2 capacity (issue 19): a slot is leased up to its server's SETTINGS_MAX_CONCURRENT_STREAMS,
 * capped by `http2.maxConcurrentStreams`; `tryAcquire` stays synchronous; a waiter gets the first
 * free stream on any connection; `stats().streams` counts them; a server that lowers its limit
 * under load loses no request.
 */
import type http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import type { Lease } from '../../src/index.js';
import { answer, startH2Server } from '../helpers/h2-server.js';
import { openPool, waitFor } from '../helpers/pool.js';

/** A server that holds every response until the test lets them go; counts the streams open at once. */
async function heldServer(settings?: http2.Settings) {
  const held: (() => void)[] = [];
  let open = 0;
  let most = 0;
  const server = await startH2Server(
    (stream, { headers }) => {
      open++;
      most = Math.max(most, open);
      stream.on('close', () => open--);
      held.push(() => answer(stream, headers));
    },
    { settings },
  );
  return {
    server,
    held,
    get open() {
      return open;
    },
    get most() {
      return most;
    },
    releaseAll: () => held.splice(0).forEach((go) => go()),
  };
}

function tryAll(pool: { tryAcquire(): Lease | undefined }, most: number): Lease[] {
  const leases: Lease[] = [];
  for (let i = 0; i < most; i++) {
    const lease = pool.tryAcquire();
    if (!lease) break;
    leases.push(lease);
  }
  return leases;
}

describe('HTTP/2 stream capacity', () => {
  it("leases one connection up to the server's stream limit, synchronously, and counts the streams", async () => {
    const h = await heldServer({ maxConcurrentStreams: 8 });
    const pool = await openPool({ url: h.server.url, protocol: 'http2', connections: 1 });
    // The server's SETTINGS have come by the time a response has.
    const first = pool.request({ path: '/warm' });
    await waitFor(() => h.held.length === 1, () => h.held.length);
    h.releaseAll();
    await first;

    const leases = tryAll(pool, 20);
    expect(leases).toHaveLength(8);
    expect(pool.stats()).toMatchObject({ streams: 8, busy: 1, healthy: 0 });
    // All eight run at once on the one connection.
    const responses = leases.map((lease, i) => lease.request({ path: `/s/${i}` }));
    await waitFor(() => h.held.length === 8, () => h.held.length);
    expect(h.open).toBe(8);
    h.releaseAll();
    expect((await Promise.all(responses)).map((r) => r.status)).toEqual(new Array(8).fill(200));
    leases[0]!.release();
    expect(pool.stats().streams).toBe(7);
    const again = pool.tryAcquire();
    expect(again).toBeDefined();
    again!.release();
    for (const lease of leases) lease.release();
    expect(pool.stats()).toMatchObject({ streams: 0, busy: 0, healthy: 1, dials: 1 });
  });

  it('http2.maxConcurrentStreams caps what the server allows', async () => {
    const h = await heldServer({ maxConcurrentStreams: 100 });
    const pool = await openPool({ url: h.server.url, protocol: 'http2', connections: 2, http2: { maxConcurrentStreams: 3 } });
    const leases = tryAll(pool, 20);
    expect(leases).toHaveLength(6);
    expect(pool.stats().streams).toBe(6);
    for (const lease of leases) lease.release();
  });

  it('waiters are served by the first free stream on any connection', async () => {
    const h = await heldServer({ maxConcurrentStreams: 2 });
    const pool = await openPool({ url: h.server.url, protocol: 'http2', connections: 2, acquireTimeout: 10_000 });
    const warm = Promise.all([pool.request({ path: '/w1' }), pool.request({ path: '/w2' })]);
    await waitFor(() => h.held.length === 2, () => h.held.length);
    h.releaseAll();
    await warm;
    const requests = Array.from({ length: 10 }, (_, i) => pool.request({ path: `/q/${i}` }));
    await waitFor(() => h.held.length === 4, () => h.held.length);
    expect(pool.stats()).toMatchObject({ streams: 4, waiting: 6 });
    // Let them go as they come: each answer frees a stream for a waiter.
    const drain = setInterval(h.releaseAll, 2);
    try {
      const responses = await Promise.all(requests);
      expect(responses.every((r) => r.status === 200)).toBe(true);
    } finally {
      clearInterval(drain);
    }
    expect(h.most).toBeLessThanOrEqual(4);
    expect(pool.stats()).toMatchObject({ streams: 0, waiting: 0, dials: 2 });
  });

  it('a server that lowers its stream limit under load loses nothing: refused streams go again, and the pool keeps to the new limit', async () => {
    let lowered = false;
    let open = 0;
    let mostAfter = 0;
    const server = await startH2Server(
      (stream, { nth, headers }) => {
        open++;
        if (lowered) mostAfter = Math.max(mostAfter, open);
        stream.on('close', () => open--);
        if (nth === 10 && !lowered) {
          lowered = true;
          for (const each of server.sessions) each.settings({ maxConcurrentStreams: 2 });
        }
        answer(stream, headers, 3);
      },
      { settings: { maxConcurrentStreams: 16 } },
    );
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 1 });
    const results = await Promise.allSettled(
      Array.from({ length: 120 }, (_, i) => pool.request({ method: i % 2 ? 'POST' : 'GET', path: `/l/${i}`, body: i % 2 ? 'x' : undefined })),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(lowered).toBe(true);
    // Once the new limit is acknowledged the server sees at most 2 at once (a few in flight when it came may overlap).
    expect(mostAfter).toBeLessThanOrEqual(16);
    const late = Array.from({ length: 20 }, (_, i) => pool.request({ path: `/late/${i}` }));
    open = 0;
    mostAfter = 0;
    await Promise.all(late);
    expect(mostAfter).toBeLessThanOrEqual(2);
    expect(pool.stats()).toMatchObject({ failures: 0, streams: 0 });
  });
});
