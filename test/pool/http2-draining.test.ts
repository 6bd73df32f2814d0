/**
 * A server's GOAWAY with streams open, on a real node:http2 server (issue 19): the slot enters
 * `draining`, where the streams under the last id finish and the ledger leases nothing more on
 * its connection; once the last one is done it dials its replacement. A clean end throughout:
 * no failure, no backoff, nothing lost. (The HTTP/1.1 slot model, test/machines/slot-model.test.ts,
 * leaves these transitions to this file.)
 */
import { describe, expect, it } from 'vitest';
import { logSlot } from '../../src/testing/index.js';
import { answer, NGHTTP2_NO_ERROR, startH2Server } from '../helpers/h2-server.js';
import { expectConserved, openPool, waitFor, waitForStats } from '../helpers/pool.js';

/** A server whose first session holds its first three streams and, at the third, sends GOAWAY naming it the last. */
async function goawayServer() {
  const held: (() => void)[] = [];
  const server = await startH2Server((stream, { nth, session, sessions, headers }) => {
    if (session !== sessions[0] || nth > 3) return answer(stream, headers);
    held.push(() => answer(stream, headers));
    if (nth === 3) session.goaway(NGHTTP2_NO_ERROR, stream.id!);
  });
  return { server, held, releaseAll: () => held.splice(0).forEach((go) => go()) };
}

describe('HTTP/2 draining', () => {
  it('GOAWAY with streams open: draining until they finish (nothing new on it, no replacement yet), then a replacement; a clean end', async () => {
    const { server, held, releaseAll } = await goawayServer();
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 1 });
    const log = logSlot(pool, 0);
    const inFlight = [1, 2, 3].map((i) => pool.request({ method: 'POST', path: `/held/${i}`, body: 'x' }));
    await waitFor(() => held.length === 3, () => held.length);
    expect(await log.next()).toBe('draining');
    const stats = pool.stats();
    expectConserved(stats);
    expect(stats).toMatchObject({ draining: 1, healthy: 0, busy: 0, streams: 3, cleanEnds: 1, failures: 0 });
    // Nothing is leased on a draining connection: a caller waits, and no replacement is dialed while its streams run.
    expect(pool.tryAcquire()).toBeUndefined();
    const waiting = pool.request({ path: '/next' });
    await waitForStats(pool, (s) => s.waiting === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.sessions).toHaveLength(1);
    expect(log.current).toBe('draining');
    // The streams under the last id finish: answered, each once.
    releaseAll();
    expect((await Promise.all(inFlight)).map((r) => r.text())).toEqual(['POST /held/1', 'POST /held/2', 'POST /held/3']);
    expect(await log.next()).toBe('connecting');
    expect(await log.next()).toBe('healthy');
    expect((await waiting).text()).toBe('GET /next');
    expect(server.sessions).toHaveLength(2);
    expect(server.streams).toBe(4);
    expect(pool.stats()).toMatchObject({ draining: 0, dials: 2, cleanEnds: 1, failures: 0, backoffs: 0, resends: 0, streams: 0 });
    const slot = pool.history().filter((r) => r.actor === 'slot 0').map((r) => `${r.from}>${r.to}:${r.event}${r.reason ? ` ${r.reason} ${r.detail}` : ''}`);
    expect(slot.slice(-3)).toEqual(['healthy>draining:goaway ENDED goaway', 'draining>connecting:drained', 'connecting>healthy:dial.done']);
  });

  it('a GOAWAY with no stream open ends the connection at once, as before: no draining', async () => {
    const server = await startH2Server((stream, { nth, session, headers }) => {
      answer(stream, headers);
      if (nth === 1) stream.on('close', () => session.goaway(NGHTTP2_NO_ERROR, stream.id!));
    });
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 1 });
    const log = logSlot(pool, 0);
    expect((await pool.request({ path: '/one' })).status).toBe(200);
    expect(await log.next()).toBe('connecting');
    expect(await log.next()).toBe('healthy');
    expect(pool.stats()).toMatchObject({ dials: 2, cleanEnds: 1, failures: 0 });
  });

  it('the server dies while the slot drains: the streams fail with their codes (a GET replayed), the slot redials', async () => {
    const { server, held } = await goawayServer();
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 1 });
    const log = logSlot(pool, 0);
    const get = pool.request({ path: '/held/get' });
    const post = pool.request({ method: 'POST', path: '/held/post', body: 'x' }).catch((e: unknown) => e);
    const third = pool.request({ path: '/held/third' });
    await waitFor(() => held.length === 3, () => held.length);
    expect(await log.next()).toBe('draining');
    server.killSessions();
    expect(await log.next()).toBe('connecting');
    expect((await get).text()).toBe('GET /held/get');
    expect((await third).text()).toBe('GET /held/third');
    expect(await post).toMatchObject({ code: 'CONNECTION_LOST', sent: 'written-no-response' });
    await waitForStats(pool, (s) => s.healthy === 1);
    expect(pool.stats()).toMatchObject({ replays: 2, cleanEnds: 1, failures: 0 });
  });

  it('close while draining: the draining connection is closed with the pool', async () => {
    const { server, held } = await goawayServer();
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 1, drainTimeout: 50 });
    const log = logSlot(pool, 0);
    // POSTs, so that none is replayed (a replay after close would fail POOL_CLOSED, of its own attempt).
    const inFlight = [1, 2, 3].map((i) => pool.request({ method: 'POST', path: `/held/${i}`, body: 'x' }).catch((e: unknown) => e));
    await waitFor(() => held.length === 3, () => held.length);
    expect(await log.next()).toBe('draining');
    await pool.close();
    expect(pool.stats().closed).toBe(1);
    // Past drainTimeout the draining connection is closed under them: written, unanswered.
    for (const error of await Promise.all(inFlight)) expect(error).toMatchObject({ code: 'CONNECTION_LOST', sent: 'written-no-response' });
  });
});
