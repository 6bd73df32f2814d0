/**
 * HTTP/2 slots (issue 19) against node:http2 servers on 127.0.0.1 that end connections, refuse
 * streams, reset them and die, for real: nothing safe to send again is lost (a refused stream,
 * or one above a GOAWAY's last id, goes again whatever its method), every other request gets
 * its code, and a server's GOAWAY is a clean end (no backoff, no failure counted).
 */
import { once } from 'node:events';
import type http2 from 'node:http2';
import https from 'node:https';
import { Readable } from 'node:stream';
import net, { type AddressInfo } from 'node:net';
import { request as undiciRequest, fetch as undiciFetch } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ClientPool, isLifelineError, type LifelineError } from '../../src/index.js';
import { answer, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, startDyingH2Server, startH2Server, startRefusingH2Server } from '../helpers/h2-server.js';
import { rejection } from '../helpers/errors.js';
import { openPool, waitForStats } from '../helpers/pool.js';
import { TEST_CERT, TEST_KEY } from '../fixtures/tls.js';

type Outcome = { method: string; ok: true } | { method: string; ok: false; error: LifelineError };

/** `callers` concurrent callers, `each` requests apiece, GETs and POSTs alternating, through pool.request. */
async function load(pool: ClientPool, callers: number, each: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let i = 0; i < each; i++) {
        const method = (caller + i) % 2 === 0 ? 'GET' : 'POST';
        try {
          const res = await pool.request({ method, path: `/r/${caller}/${i}`, body: method === 'POST' ? 'order' : undefined });
          expect(res.status).toBe(200);
          expect(res.text()).toBe(`${method} /r/${caller}/${i}`);
          outcomes.push({ method, ok: true });
        } catch (error) {
          if (!isLifelineError(error)) throw error;
          outcomes.push({ method, ok: false, error });
        }
      }
    }),
  );
  return outcomes;
}

const failed = (outcomes: Outcome[]) => outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok).map((o) => `${o.method} ${o.error.code}: ${o.error.message}`);

describe('HTTP/2 slots', () => {
  it('speaks HTTP/2 with prior knowledge over http:// (h2c): GETs and POSTs, headers both ways', async () => {
    let seen: Record<string, unknown> = {};
    const server = await startH2Server((stream, { headers }) => {
      seen = { ...headers };
      answer(stream, headers);
    });
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 2, headers: { 'x-api-key': 'k', connection: 'keep-alive' } });
    const res = await pool.request({ method: 'POST', path: '/order', query: { a: '1' }, body: 'hello', headers: { 'x-one': '1' } });
    expect(res.status).toBe(200);
    expect(res.text()).toBe('POST /order?a=1');
    expect(res.headers['x-body-length']).toBe('5');
    expect(seen).toMatchObject({ ':method': 'POST', ':path': '/order?a=1', ':scheme': 'http', 'x-api-key': 'k', 'x-one': '1' });
    // A connection-specific header is dropped (HTTP/2 forbids it), not sent and refused.
    expect(seen.connection).toBeUndefined();
    expect(server.sessions).toHaveLength(2);
    expect(pool.stats()).toMatchObject({ dials: 2, failures: 0 });
  });

  it("the pool's dispatcher (fetch, undici.request) runs over HTTP/2 slots, streamed bodies included", async () => {
    const server = await startH2Server();
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 1 });
    const fetched = await undiciFetch(`${server.url}/f`, { dispatcher: pool.dispatcher, method: 'POST', body: 'abc' });
    expect(await fetched.text()).toBe('POST /f');
    expect(fetched.headers.get('x-body-length')).toBe('3');
    async function* chunks() {
      yield Buffer.from('12');
      yield Buffer.from('345');
    }
    const { statusCode, headers, body } = await undiciRequest(`${server.url}/r`, { dispatcher: pool.dispatcher, method: 'PUT', body: Readable.from(chunks()) });
    expect(statusCode).toBe(200);
    expect(headers['x-body-length']).toBe('5');
    expect(await body.text()).toBe('PUT /r');
    expect(pool.stats()).toMatchObject({ dials: 1, streams: 0 });
  });

  it("protocol 'auto' speaks HTTP/2 when ALPN picks h2, and 'http2' refuses a TLS server that will not", async () => {
    const h2 = await startH2Server(undefined, { tls: true });
    const auto = await openPool({ url: h2.url, protocol: 'auto', connections: 1, tls: { ca: TEST_CERT } });
    expect((await auto.request({ path: '/x' })).text()).toBe('GET /x');
    expect(h2.streams).toBe(1);

    // An HTTPS server without HTTP/2: ALPN picks http/1.1.
    const h1only = https.createServer({ cert: TEST_CERT, key: TEST_KEY }, (req, res) => res.end(`http/${req.httpVersion}`));
    h1only.listen(0, '127.0.0.1');
    await once(h1only, 'listening');
    onTestFinished(() => void h1only.close());
    const h1url = `https://127.0.0.1:${(h1only.address() as AddressInfo).port}`;
    const auto1 = await openPool({ url: h1url, protocol: 'auto', connections: 1, tls: { ca: TEST_CERT } });
    expect((await auto1.request({ path: '/x' })).text()).toBe('http/1.1');
    const refused = await ClientPool.connect({ url: h1url, protocol: 'http2', connections: 1, tls: { ca: TEST_CERT } }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'CONNECT_FAILED' });
  });

  it('GOAWAY mid-load is a clean end: streams under its last id finish, no request is lost, nothing backs off', async () => {
    // Every session is sent a GOAWAY (NO_ERROR) at its 20th stream, naming that stream as the last: it is
    // answered, and the streams opened after it on that connection are refused and go again on another.
    const server = await startH2Server((stream, { nth, session, headers }) => {
      if (nth === 20) session.goaway(NGHTTP2_NO_ERROR, stream.id!);
      answer(stream, headers, 2);
    });
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 4 });
    const outcomes = await load(pool, 8, 20);
    expect(failed(outcomes)).toEqual([]);
    const stats = pool.stats();
    expect(stats.cleanEnds).toBeGreaterThan(0);
    expect(stats).toMatchObject({ failures: 0, backoffs: 0 });
    expect(pool.history().some((r) => r.reason === 'ENDED' && r.detail === 'goaway')).toBe(true);
  });

  it('a stream above a GOAWAY last id is sent again on another connection, a POST too', async () => {
    // At its 3rd stream a session is sent a GOAWAY whose last id is the stream before: this one was not processed.
    const server = await startH2Server((stream, { nth, session, headers }) => {
      if (nth === 3) {
        session.goaway(NGHTTP2_NO_ERROR, stream.id! - 2);
        return;
      }
      answer(stream, headers);
    });
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 2 });
    const outcomes = await load(pool, 4, 10);
    expect(failed(outcomes)).toEqual([]);
    expect(pool.stats().resends).toBeGreaterThan(0);
    expect(pool.stats()).toMatchObject({ failures: 0, backoffs: 0 });
  });

  it.each(['pool.request', 'pool.dispatcher'] as const)('a reload ends every connection at once: a stream refused by one GOAWAY after another goes again until a connection takes it, a POST too (%s)', async (via) => {
    // The reload: each connection that was up sends a GOAWAY at its next stream, naming the one before as its
    // last (that stream was not processed), and a connection made meanwhile is sent one at birth (an old nginx
    // worker's last accepts). So one request meets every old connection, 4, before a new one answers it.
    const ending = new Set<http2.ServerHttp2Session>();
    const served = new Set<http2.ServerHttp2Session>();
    let posts = 0;
    const server = await startH2Server((stream, { session, headers }) => {
      if (ending.delete(session)) {
        session.goaway(NGHTTP2_NO_ERROR, stream.id! - 2);
        return;
      }
      served.add(session);
      if (headers[':method'] === 'POST') posts++;
      answer(stream, headers);
    });
    server.server.on('session', (session: http2.ServerHttp2Session) => {
      if (ending.size > 0) session.goaway(NGHTTP2_NO_ERROR);
    });
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 4, strategy: 'round-robin', backoff: { initial: 5, max: 20 } });
    // Every connection serves once first: the reload's GOAWAYs then name a stream that was.
    for (let i = 0; i < 4; i++) await pool.request({ path: `/warm/${i}` });
    expect(served.size).toBe(4);
    for (const session of served) ending.add(session);

    const text =
      via === 'pool.request'
        ? (await pool.request({ method: 'POST', path: '/order', body: 'order' })).text()
        : await (await undiciRequest(`${server.url}/order`, { method: 'POST', body: 'order', dispatcher: pool.dispatcher })).body.text();
    expect(text).toBe('POST /order');
    expect(ending.size).toBe(0);
    expect(pool.stats().resends).toBeGreaterThanOrEqual(4);
    expect(posts).toBe(1);
  });

  it('a server that sends GOAWAY at every stream: a request gives up after one refusal per connection and the 3 tries of any refusal', async () => {
    // Every connection is sent a GOAWAY (last stream id 0) at birth: the stream a request opens on it at once is refused.
    const server = await startH2Server(() => {});
    server.server.on('session', (session: http2.ServerHttp2Session) => session.goaway(NGHTTP2_NO_ERROR));
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 2, lazy: true, backoff: { initial: 5, max: 20 } });
    const error = await rejection(pool.request({ method: 'POST', path: '/order', body: 'order' }));
    expect(error).toMatchObject({ code: 'STREAM_REFUSED', attempt: 2 + 3, sent: 'never-left' });
    expect(server.streams).toBe(0);
  });

  it('REFUSED_STREAM: the request goes again whatever its method; the connection stays', async () => {
    // Every third request is refused the first time the server sees it.
    const seen = new Set<string>();
    let refused = 0;
    const server = await startH2Server((stream, { headers }) => {
      const path = String(headers[':path']);
      if (!seen.has(path) && seen.size % 3 === 0) {
        seen.add(path);
        refused++;
        stream.close(NGHTTP2_REFUSED_STREAM);
        return;
      }
      seen.add(path);
      answer(stream, headers);
    });
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 2 });
    const outcomes = await load(pool, 4, 10);
    expect(failed(outcomes)).toEqual([]);
    expect(refused).toBeGreaterThan(5);
    expect(pool.stats().resends).toBe(refused);
    // A refused stream costs no connection.
    expect(pool.stats()).toMatchObject({ dials: 2, cleanEnds: 0, failures: 0 });
    expect(server.sessions).toHaveLength(2);
  });

  it("a refused stream goes again on another connection: one whose server refuses every stream costs nothing", async () => {
    const server = await startRefusingH2Server();
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 2 });
    // Sequential POSTs: each first try lands on the warmest connection; a refused one must go to the other.
    for (let i = 0; i < 10; i++) expect((await pool.request({ method: 'POST', path: `/p/${i}`, body: 'x' })).status).toBe(200);
    expect(server.refused).toBeGreaterThan(0);
    expect(pool.stats()).toMatchObject({ resends: server.refused, failures: 0 });
  });

  it('a lease sees a refused stream as STREAM_REFUSED, never sent (it is not resent on a lease)', async () => {
    const server = await startH2Server((stream) => stream.close(NGHTTP2_REFUSED_STREAM));
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 1 });
    const lease = (await pool.acquire())!;
    const error = (await lease.request({ method: 'POST', path: '/order', body: 'x' }).catch((e: unknown) => e)) as LifelineError;
    lease.release();
    expect(error).toMatchObject({ code: 'STREAM_REFUSED', delivery: 'unsent', sent: 'never-left' });
  });

  it('a reset stream fails only its own request (STREAM_RESET); the others on the pool and the connection live on', async () => {
    const server = await startH2Server((stream, { headers }) => {
      if (headers[':path'] === '/bad') stream.close(NGHTTP2_INTERNAL_ERROR);
      else answer(stream, headers, 5);
    });
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 2 });
    const [bad, ...good] = await Promise.allSettled([
      pool.request({ method: 'POST', path: '/bad', body: 'x' }),
      ...Array.from({ length: 6 }, (_, i) => pool.request({ path: `/ok/${i}` })),
    ]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'STREAM_RESET', sent: 'written-no-response' } });
    expect(good.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(pool.stats()).toMatchObject({ dials: 2, cleanEnds: 0, failures: 0 });
  });

  it('GOAWAY with an error code is a failure: the slot backs off, and what was in flight gets its code', async () => {
    let sent = false;
    const server = await startH2Server((stream, { session, headers }) => {
      if (!sent && headers[':path'] === '/calm') {
        sent = true;
        session.goaway(NGHTTP2_ENHANCE_YOUR_CALM, 0);
        return;
      }
      answer(stream, headers);
    });
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 1 });
    await pool.request({ path: '/warm' });
    const error = (await pool.request({ method: 'POST', path: '/calm', body: 'x' }).catch((e: unknown) => e)) as LifelineError;
    expect(isLifelineError(error)).toBe(true);
    expect(['STREAM_REFUSED', 'CONNECTION_LOST']).toContain(error.code);
    await waitForStats(pool, (s) => s.failures === 1 && s.healthy === 1);
  });

  it('a server that dies under load: every GET is answered (replayed once on another connection), every POST answered or CONNECTION_LOST, none sent twice', async () => {
    // At its 60th stream the server dies, every connection at once.
    const server = await startDyingH2Server(60, 3);
    // Round-robin spreads the streams over all four connections, so each dies with streams on it.
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 4, strategy: 'round-robin' });
    const outcomes = await load(pool, 16, 10);
    expect(server.killed).toBe(true);
    const lost = outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
    // The GETs that died were on connections whose server had spoken (its SETTINGS): replayed, none lost.
    expect(lost.filter((o) => o.method === 'GET').map((o) => `${o.error.code} attempt ${o.error.attempt}, reused ${o.error.reused}`)).toEqual([]);
    expect(pool.stats().replays).toBeGreaterThan(0);
    expect(lost.length).toBeGreaterThan(0);
    for (const { error } of lost) expect(error).toMatchObject({ code: 'CONNECTION_LOST', sent: 'written-no-response', reused: true, attempt: 1 });
    expect([...server.posts.values()].every((n) => n === 1)).toBe(true);
    expect(pool.stats().failures).toBeGreaterThan(0);
    await waitForStats(pool, (s) => s.healthy === 4);
  });

  it('a server that dies before it answered anything: the GETs opened at once on new connections are replayed too', async () => {
    // A burst: 32 requests over 4 new connections, none answered, then the server dies. No connection has
    // served a response (HTTP/1.1's test for the stale race), but each server sent its SETTINGS.
    const server = await startDyingH2Server(32, -1);
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 4, strategy: 'round-robin', http2: { maxConcurrentStreams: 8 } });
    const outcomes = await load(pool, 32, 1);
    expect(server.killed).toBe(true);
    expect(failed(outcomes.filter((o) => o.method === 'GET'))).toEqual([]);
    expect(pool.stats().replays).toBe(16);
    for (const o of outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok)) expect(o.error).toMatchObject({ code: 'CONNECTION_LOST', reused: true, delivery: 'unanswered' });
  });

  it('a GET on a connection whose server never spoke (no SETTINGS) is not replayed: that is a connection that never worked', async () => {
    // A TCP server that takes the connection, reads the request and closes without a byte of HTTP/2.
    const sockets = new Set<import('node:net').Socket>();
    const mute = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('data', () => socket.destroy());
    });
    mute.listen(0, '127.0.0.1');
    await once(mute, 'listening');
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy();
      mute.close();
    });
    const pool = await openPool({ url: `http://127.0.0.1:${(mute.address() as AddressInfo).port}`, protocol: 'http2', connections: 1, lazy: true });
    const error = (await pool.request({ path: '/ticker' }).catch((e: unknown) => e)) as LifelineError;
    expect(error).toMatchObject({ code: 'CONNECTION_LOST', sent: 'written-no-response', reused: false, attempt: 1 });
    expect(pool.stats().replays).toBe(0);
  });

  it('a GOAWAY with an error code: the streams above its last id go again whatever their method, the one under it gets its code', async () => {
    let sent = false;
    const server = await startH2Server((stream, { nth, session, headers }) => {
      if (!sent && nth === 4) {
        // Streams 1 (/warm) and 3 processed, 5 and up not: the connection is closed with ENHANCE_YOUR_CALM.
        sent = true;
        session.goaway(NGHTTP2_ENHANCE_YOUR_CALM, 3);
        return;
      }
      // Stream 3 is held: it dies with its connection, processed.
      if (!sent && nth === 2) return;
      answer(stream, headers);
    });
    const pool = await openPool({ url: server.url, protocol: 'http2', connections: 2 });
    await pool.request({ path: '/warm' });
    // LIFO: all six go on the warm connection, streams 3 to 13.
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => pool.request({ method: 'POST', path: `/p/${i}`, body: 'x' })));
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as LifelineError);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ code: 'CONNECTION_LOST', sent: 'written-no-response' });
    expect(pool.stats().resends).toBe(5);
  });

});
