/**
 * `pool.dispatcher`: the pool behind `fetch` (undici's, and Node's own: Node 20 bundles undici 6),
 * `undici.request`, `setGlobalDispatcher` and undici's interceptors, on real servers on loopback.
 * Every request still takes a lease: the pool's slots, timeouts, replay rules and healing hold,
 * errors reach fetch callers as the `cause` of its TypeError, and every slot comes back.
 */
import type http from 'node:http';
import { gzipSync } from 'node:zlib';
import { getGlobalDispatcher, interceptors, request, setGlobalDispatcher, fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { isLifelineError, type ClientPool, type LifelineError } from '../../src/index.js';
import { slotState } from '../../src/testing/index.js';
import { rejection } from '../helpers/errors.js';
import { startHttpServer } from '../helpers/http-server.js';
import { answer, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, startDyingH2Server, startH2Server, startRefusingH2Server } from '../helpers/h2-server.js';
import { isFull, nextTurn, openPool, waitFor, waitForStats } from '../helpers/pool.js';

/** Node's own fetch takes an undici dispatcher; its RequestInit type does not declare one. */
function through(pool: ClientPool, init: RequestInit = {}): RequestInit {
  return { ...init, dispatcher: pool.dispatcher } as unknown as RequestInit;
}

/** The LifelineError a fetch rejected with, as its TypeError's cause. */
async function fetchCause(promise: Promise<unknown>): Promise<LifelineError> {
  const error = await promise.then(
    () => new Error('expected fetch to reject, but it resolved'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TypeError);
  const cause = (error as TypeError).cause;
  if (!isLifelineError(cause)) throw new Error(`expected a LifelineError as the cause, got ${String(cause)}`);
  return cause;
}

/** Every slot free and healthy again, and nobody waiting: nothing leaked. */
async function everySlotBack(pool: ClientPool): Promise<void> {
  await waitForStats(pool, (stats) => isFull(stats) && stats.busy === 0 && stats.waiting === 0);
}

const echo = (req: http.IncomingMessage, res: http.ServerResponse) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, key: req.headers['x-api-key'] ?? null, body })));
};

describe('pool.dispatcher', () => {
  it("fetch (undici's and Node's global one) and undici.request go through the pool's connections, with its headers", async () => {
    const server = await startHttpServer(echo);
    const pool = await openPool({ url: server.url, connections: 2, headers: { 'x-api-key': 'pool' } });

    const viaNode = await fetch(`${server.url}/node?x=1`, through(pool));
    expect(await viaNode.json()).toEqual({ method: 'GET', url: '/node?x=1', key: 'pool', body: '' });
    const viaUndici = await undiciFetch(`${server.url}/undici`, { dispatcher: pool.dispatcher, method: 'POST', body: 'order', headers: { 'x-api-key': 'mine' } });
    expect(await viaUndici.json()).toEqual({ method: 'POST', url: '/undici', key: 'mine', body: 'order' });
    const viaRequest = await request(`${server.url}/request`, { dispatcher: pool.dispatcher, method: 'PUT', body: 'qty=1' });
    expect(viaRequest.statusCode).toBe(200);
    expect(await viaRequest.body.json()).toEqual({ method: 'PUT', url: '/request', key: 'pool', body: 'qty=1' });
    // Dispatcher's own API, with no origin: the pool's.
    const direct = await pool.dispatcher.request({ path: '/direct', method: 'GET', headers: ['x-api-key', 'flat'] });
    expect(await direct.body.json()).toEqual({ method: 'GET', url: '/direct', key: 'flat', body: '' });

    // No connection of its own: the pool's two sockets served all four.
    expect(server.connections).toBe(2);
    await everySlotBack(pool);
    expect(pool.stats()).toMatchObject({ failures: 0, cleanEnds: 0, resends: 0, replays: 0 });
  });

  it("setGlobalDispatcher: Node's global fetch and undici.request without a dispatcher use the pool", async () => {
    const server = await startHttpServer(echo);
    const other = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 2, headers: { 'x-api-key': 'global' } });
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(pool.dispatcher);
    try {
      expect(await (await fetch(`${server.url}/a`)).json()).toMatchObject({ url: '/a', key: 'global' });
      expect(await (await request(`${server.url}/b`)).body.json()).toMatchObject({ url: '/b', key: 'global' });
      // The pool serves its own origin only, global or not.
      expect((await fetchCause(fetch(`${other.url}/`))).code).toBe('ORIGIN_MISMATCH');
    } finally {
      setGlobalDispatcher(previous);
    }
    expect(getGlobalDispatcher()).toBe(previous);
    expect(server.connections).toBe(2);
    expect(other.requests).toBe(0);
    await everySlotBack(pool);
  });

  it('another origin, an upgrade, CONNECT: refused with a code, nothing sent', async () => {
    const server = await startHttpServer();
    const other = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1 });

    const viaFetch = await fetchCause(fetch(`${other.url}/x`, through(pool)));
    expect(viaFetch.code).toBe('ORIGIN_MISMATCH');
    expect(viaFetch.message).toBe(`the pool's dispatcher sends to ${server.url} only, got a request for ${other.url}`);
    expect((await rejection(request(`${other.url}/x`, { dispatcher: pool.dispatcher }))).code).toBe('ORIGIN_MISMATCH');
    // Same host, other scheme: another origin.
    expect((await rejection(request(server.url.replace('http:', 'https:'), { dispatcher: pool.dispatcher }))).code).toBe('ORIGIN_MISMATCH');
    const upgrade = await rejection(pool.dispatcher.upgrade({ path: '/', protocol: 'websocket' }));
    expect(upgrade.code).toBe('INVALID_REQUEST');
    expect(upgrade.message).toBe('upgrade and CONNECT requests take the connection out of the pool: use an undici Client for them');
    expect((await rejection(pool.dispatcher.connect({ origin: server.url, path: '/' }))).code).toBe('INVALID_REQUEST');

    expect(server.requests + other.requests).toBe(0);
    await everySlotBack(pool);
  });

  it("the pool's timeouts and limits reach fetch callers as coded causes", async () => {
    const server = await startHttpServer((req, res) => {
      if (req.url === '/hang') return; // never answers
      if (req.url === '/chunked') {
        res.write(Buffer.alloc(1000, 'x'));
        return void setImmediate(() => res.end(Buffer.alloc(1000, 'x')));
      }
      res.end(req.url === '/big' ? Buffer.alloc(4096, 'x') : 'ok');
    });
    const pool = await openPool({ url: server.url, connections: 1, headersTimeout: 100, maxBodySize: 1024, acquireTimeout: 100 });

    const headers = await fetchCause(fetch(`${server.url}/hang`, through(pool)));
    expect(headers.code).toBe('HEADERS_TIMEOUT');
    expect(headers.delivery).toBe('unanswered');
    await everySlotBack(pool);

    const big = await fetchCause(fetch(`${server.url}/big`, through(pool)));
    expect(big.code).toBe('BODY_TOO_LARGE');
    await everySlotBack(pool);
    // No content-length: found too large as it arrives, after fetch has resolved; reading its body fails
    // (fetch's own TypeError 'terminated'), even when the head and the excess came in one read.
    const chunked = await fetch(`${server.url}/chunked`, through(pool));
    expect((await fetchCause(chunked.text())).code).toBe('BODY_TOO_LARGE');
    await everySlotBack(pool);

    const lease = await pool.acquire();
    const acquire = await fetchCause(fetch(`${server.url}/`, through(pool)));
    expect(acquire.code).toBe('ACQUIRE_TIMEOUT');
    expect(pool.stats().waiting).toBe(0);
    lease.release();
    expect(await (await fetch(`${server.url}/`, through(pool))).text()).toBe('ok');
    await everySlotBack(pool);

    await pool.close();
    expect((await fetchCause(fetch(`${server.url}/`, through(pool)))).code).toBe('POOL_CLOSED');
  });

  it('a dropped connection heals under fetch: requests succeed, the slots redial with no backoff and no failure', async () => {
    // Each round the four /warm requests are answered together, so each of the four connections has
    // served one (an end before any response would be a failure); then the server drops every idle
    // socket, and two fetches go out at once, before the client has read the FINs.
    const ROUNDS = 10;
    let held: (() => void)[] = [];
    const server = await startHttpServer((req, res) => {
      if (req.url !== '/warm') return void res.end('ok');
      held.push(() => res.end('warm'));
      if (held.length === 4) {
        for (const answer of held) answer();
        held = [];
      }
    });
    const pool = await openPool({ url: server.url, connections: 4 });
    const before = pool.stats();
    const seen = new Set<string>();
    const subscriptions = pool.actor.getSnapshot().context.slots.map((slot) => slot.subscribe((snapshot) => seen.add(slotState(snapshot))));

    for (let round = 1; round <= ROUNDS; round++) {
      await Promise.all(Array.from({ length: 4 }, async () => (await fetch(`${server.url}/warm`, through(pool))).text()));
      await everySlotBack(pool);
      // Past the settling turn (turn.ts): the four are free, so the fetches are handed dying sockets.
      await nextTurn();
      server.dropAll();
      const after = await Promise.all([fetch(`${server.url}/a`, through(pool)), fetch(`${server.url}/b`, through(pool))]);
      expect(await Promise.all(after.map((response) => response.text()))).toEqual(['ok', 'ok']);
      await waitFor(() => server.connections === 4 + 4 * round, () => server.connections);
      await everySlotBack(pool);
    }
    for (const subscription of subscriptions) subscription.unsubscribe();
    const after = pool.stats();
    expect(seen.has('backoff')).toBe(false);
    expect(after.failures).toBe(before.failures);
    expect(after.backoffs).toBe(before.backoffs);
    expect(after.cleanEnds - before.cleanEnds).toBe(4 * ROUNDS);
  });

  it('replay rules hold under fetch: a GET dying unanswered on a reused connection is replayed, a POST is not', async () => {
    // Answers the first request of each connection; closes the connection under the second, unanswered.
    const seen: string[] = [];
    const perSocket = new WeakMap<object, number>();
    const server = await startHttpServer((req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      seen.push(`${req.method} ${req.url} #${n}`);
      if (n === 2) return void req.socket.destroy();
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const pool = await openPool({ url: server.url, connections: 2 });
    await (await fetch(`${server.url}/warm`, through(pool))).text();
    await nextTurn();
    const replayed = await fetch(`${server.url}/get`, through(pool));
    expect(await replayed.text()).toBe('ok');
    expect(seen).toEqual(['GET /warm #1', 'GET /get #2', 'GET /get #1']);
    expect(pool.stats().replays).toBe(1);

    await everySlotBack(pool);
    await (await fetch(`${server.url}/warm`, through(pool))).text();
    await nextTurn();
    seen.length = 0;
    const post = await fetchCause(fetch(`${server.url}/order`, through(pool, { method: 'POST', body: 'buy' })));
    expect(post.code).toBe('CONNECTION_LOST');
    expect(post.delivery).toBe('unanswered');
    expect(post.reused).toBe(true);
    expect(seen).toEqual(['POST /order #2']);
    expect(pool.stats()).toMatchObject({ replays: 1, failures: 0 });
    await everySlotBack(pool);
  });

  it('Connection: close: no request goes out on the closing connection, each is sent once on a fresh one', async () => {
    const server = await startHttpServer();
    server.connectionClose();
    const pool = await openPool({ url: server.url, connections: 1 });
    for (let i = 0; i < 5; i++) expect(await (await fetch(`${server.url}/${i}`, through(pool))).text()).toBe('ok');
    expect(server.requestsPerConnection.slice(0, 5)).toEqual([1, 1, 1, 1, 1]);
    await everySlotBack(pool);
    expect(pool.stats()).toMatchObject({ failures: 0, backoffs: 0, resends: 0, replays: 0 });
  });

  it("undici's interceptors compose: retry on a 503, decompress, dns, cache", async () => {
    let flaky = 0;
    const server = await startHttpServer((req, res) => {
      if (req.url === '/cached') {
        res.setHeader('cache-control', 'public, max-age=60');
        return void res.end('fresh');
      }
      if (req.url === '/flaky' && flaky++ === 0) {
        res.statusCode = 503;
        return void res.end('busy');
      }
      res.setHeader('content-encoding', 'gzip');
      res.end(gzipSync(`fine ${req.url}`));
    });
    const pool = await openPool({ url: server.url, connections: 2 });
    const composed = pool.dispatcher.compose(
      interceptors.retry({ statusCodes: [503], minTimeout: 1, maxTimeout: 10 }),
      interceptors.decompress(),
      interceptors.dns(),
    );

    const viaRequest = await request(`${server.url}/flaky`, { dispatcher: composed });
    expect(viaRequest.statusCode).toBe(200);
    expect(await viaRequest.body.text()).toBe('fine /flaky');
    expect(server.requests).toBe(2);

    flaky = 0;
    const viaFetch = await fetch(`${server.url}/flaky`, { dispatcher: pool.dispatcher.compose(interceptors.retry({ statusCodes: [503], minTimeout: 1 })) } as unknown as RequestInit);
    expect(viaFetch.status).toBe(200);
    expect(await viaFetch.text()).toBe('fine /flaky'); // fetch decodes gzip itself
    expect(server.requests).toBe(4);

    const cached = pool.dispatcher.compose(interceptors.cache());
    for (let i = 0; i < 3; i++) expect(await (await request(`${server.url}/cached`, { dispatcher: cached })).body.text()).toBe('fresh');
    expect(server.requests).toBe(5); // the cache answered the last two

    await everySlotBack(pool);
    // The 503s were read to their end: their connections were reused, not retired.
    expect(pool.stats()).toMatchObject({ failures: 0, cleanEnds: 0, dials: 2 });
  });

  it('an abort mid-body and an abort while waiting for a slot: the slot comes back, no waiter is left', async () => {
    const server = await startHttpServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk'); // and never the rest
    });
    const pool = await openPool({ url: server.url, connections: 1, acquireTimeout: 60_000 });

    const controller = new AbortController();
    const response = await fetch(`${server.url}/stream`, through(pool, { signal: controller.signal }));
    const reader = response.body!.getReader();
    expect(Buffer.from((await reader.read()).value!).toString()).toBe('first chunk');
    expect(pool.stats().busy).toBe(1);
    controller.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
    await everySlotBack(pool);
    // Retired by lifeline: a clean end, redialed at once.
    expect(pool.stats()).toMatchObject({ failures: 0, backoffs: 0, cleanEnds: 1 });

    const lease = await pool.acquire();
    const waiting = new AbortController();
    const pending = fetch(`${server.url}/never`, through(pool, { signal: waiting.signal }));
    await waitForStats(pool, (stats) => stats.waiting === 1);
    waiting.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    // Cancelled at once, not left to time out (acquireTimeout is a minute here).
    expect(pool.stats().waiting).toBe(0);
    lease.release();
    await everySlotBack(pool);
    expect(server.requests).toBe(1);
  });

  it('a body never read: a small one frees its slot by itself, a large one once cancelled', async () => {
    const large = Buffer.alloc(4 << 20, 'x');
    const server = await startHttpServer((req, res) => res.end(req.url === '/large' ? large : 'small'));
    const pool = await openPool({ url: server.url, connections: 2, maxBodySize: 0 });

    await fetch(`${server.url}/small`, through(pool));
    await request(`${server.url}/small`, { dispatcher: pool.dispatcher });
    await everySlotBack(pool);

    const response = await fetch(`${server.url}/large`, through(pool));
    // Held while the caller neither reads nor cancels: fetch's buffer is full, the socket paused.
    expect(pool.stats().busy).toBe(1);
    await response.body!.cancel();
    await everySlotBack(pool);
    expect(pool.stats()).toMatchObject({ failures: 0, backoffs: 0 });
  });

  // The third goes through an interceptor: the pool's dispatcher then hears the controller API (pause()).
  for (const client of ['undici.request', 'fetch', 'undici.request through an interceptor'] as const) {
    it(`backpressure (${client}): a caller that does not read stops the socket; reading resumes it`, async () => {
      const TOTAL = 32 << 20;
      const chunk = Buffer.alloc(64 << 10, 'y');
      let written = 0;
      let blocked = false;
      let finished = false;
      const server = await startHttpServer((_req, res) => {
        res.writeHead(200, { 'content-length': TOTAL });
        const pump = () => {
          while (written < TOTAL) {
            written += chunk.length;
            if (!res.write(chunk)) {
              blocked = true;
              res.once('drain', () => {
                blocked = false;
                pump();
              });
              return;
            }
          }
          res.end(() => (finished = true));
        };
        pump();
      });
      const pool = await openPool({ url: server.url, connections: 1, maxBodySize: 0 });

      const read =
        client === 'fetch'
          ? await fetch(`${server.url}/big`, through(pool)).then((res) => () => res.arrayBuffer().then((body) => body.byteLength))
          : await request(`${server.url}/big`, {
              dispatcher: client === 'undici.request' ? pool.dispatcher : pool.dispatcher.compose(interceptors.decompress()),
            }).then((res) => () => res.body.arrayBuffer().then((body) => body.byteLength));
      // The caller reads nothing: the server's writes must stall (waiting for 'drain') well short of the end.
      let last = -1;
      let still = 0;
      await waitFor(
        () => {
          still = blocked && written === last ? still + 1 : 0;
          last = written;
          return still >= 10;
        },
        () => ({ written, blocked }),
        10_000,
      );
      expect(finished).toBe(false);
      expect(written).toBeLessThan(TOTAL);
      expect(pool.stats().busy).toBe(1);

      expect(await read()).toBe(TOTAL);
      await everySlotBack(pool);
      expect(pool.stats()).toMatchObject({ failures: 0, cleanEnds: 0 });
    });
  }

  describe('over HTTP/2 slots', () => {
    /** `n` requests through undici.request at once, GETs and POSTs alternating (from `offset`): each its body, or its LifelineError. */
    async function burst(pool: ClientPool, url: string, n: number, offset = 0): Promise<{ method: string; result: string | LifelineError }[]> {
      return Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const method = (i + offset) % 2 ? 'POST' : 'GET';
          try {
            const res = await request(`${url}/b/${i}`, { dispatcher: pool.dispatcher, method, body: method === 'POST' ? 'x' : undefined });
            return { method, result: await res.body.text() };
          } catch (error) {
            if (!isLifelineError(error)) throw error;
            return { method, result: error };
          }
        }),
      );
    }

    it('a server that dies under load: no GET lost (replayed on a connection that answers), each POST answered or CONNECTION_LOST, none sent twice', async () => {
      const server = await startDyingH2Server(60, 3);
      const pool = await openPool({ url: server.url, protocol: 'http2', connections: 4, strategy: 'round-robin' });
      const results = (await Promise.all(Array.from({ length: 16 }, async (_, caller) => {
        const mine = [];
        for (let i = 0; i < 10; i++) mine.push(...(await burst(pool, `${server.url}/c${caller}/${i}`, 1, caller + i)));
        return mine;
      }))).flat();
      expect(server.killed).toBe(true);
      expect(results.filter((r) => r.method === 'GET' && typeof r.result !== 'string').map((r) => { const e = r.result as LifelineError; return `${e.code} ${e.delivery} attempt ${e.attempt} reused ${e.reused} ${e.message}`; })).toEqual([]);
      expect(pool.stats().replays).toBeGreaterThan(0);
      expect([...server.posts.values()].every((n) => n === 1)).toBe(true);
      await waitForStats(pool, (s) => s.healthy === 4);
    });

    it('a server that dies before answering: every GET is replayed on a connection that answers, a POST gets CONNECTION_LOST', async () => {
      const server = await startDyingH2Server(32, -1);
      const pool = await openPool({ url: server.url, protocol: 'http2', connections: 4, strategy: 'round-robin', http2: { maxConcurrentStreams: 8 } });
      const results = await burst(pool, server.url, 32);
      expect(server.killed).toBe(true);
      expect(results.filter((r) => r.method === 'GET').map((r) => (typeof r.result === 'string' ? 'ok' : r.result.code))).toEqual(new Array(16).fill('ok'));
      for (const { result } of results.filter((r) => r.method === 'POST')) expect(result).toMatchObject({ code: 'CONNECTION_LOST', delivery: 'unanswered', reused: true });
      expect(pool.stats().replays).toBe(16);
      await waitForStats(pool, (s) => s.healthy === 4);
    });

    it('a refused stream goes again on another connection: one whose server refuses every stream costs nothing', async () => {
      const server = await startRefusingH2Server();
      const pool = await openPool({ url: server.url, protocol: 'http2', connections: 2 });
      // Sequential POSTs: each first try lands on the warmest connection; a refused one must go to the other.
      for (let i = 0; i < 10; i++) {
        const res = await request(`${server.url}/p/${i}`, { dispatcher: pool.dispatcher, method: 'POST', body: 'x' });
        expect(await res.body.text()).toBe(`POST /p/${i}`);
      }
      expect(server.refused).toBeGreaterThan(0);
      expect(pool.stats()).toMatchObject({ resends: server.refused, failures: 0 });
    });

    it('streams above a GOAWAY last id and REFUSED_STREAM mid-load: every request answered, a POST too, each processed once', async () => {
      // The first session refuses its 3rd stream; each at its 12th sends a GOAWAY naming its 11th as the last processed.
      const processed = new Map<string, number>();
      const server = await startH2Server((stream, { nth, session, sessions, headers }) => {
        if (nth === 3 && session === sessions[0]) return void stream.close(NGHTTP2_REFUSED_STREAM);
        if (nth === 12) return void session.goaway(NGHTTP2_NO_ERROR, stream.id! - 2);
        if (nth > 12) return; // above the last id: never processed, the client hears it refused
        const path = String(headers[':path']);
        processed.set(path, (processed.get(path) ?? 0) + 1);
        answer(stream, headers, 2);
      });
      const pool = await openPool({ url: server.url, protocol: 'http2', connections: 2 });
      const results = (await Promise.all(Array.from({ length: 8 }, async (_, caller) => {
        const mine = [];
        for (let i = 0; i < 8; i++) mine.push(...(await burst(pool, `${server.url}/c${caller}/${i}`, 1, caller + i)));
        return mine;
      }))).flat();
      expect(results.filter((r) => typeof r.result !== 'string').map((r) => `${r.method} ${(r.result as LifelineError).code}`)).toEqual([]);
      expect([...processed.values()].every((n) => n === 1)).toBe(true);
      expect(pool.stats().resends).toBeGreaterThan(0);
      expect(pool.stats()).toMatchObject({ failures: 0, backoffs: 0 });
    });
  });
});
