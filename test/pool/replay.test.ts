/**
 * Replay after the stale race: a request that dies on a reused connection before any
 * byte of its response arrived is sent once more, on another connection, when it is
 * idempotent (by method, or marked so), and never otherwise. The server closes the
 * connection under the second request it reads on it, for real: exactly what a server's
 * idle close crossing a request looks like from the client.
 */
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import diagnostics from 'node:diagnostics_channel';
import { POOL_REQUEST_CHANNEL, type RequestMessage } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { startHttpServer } from '../helpers/http-server.js';
import { nextTurn, openPool } from '../helpers/pool.js';

/** Answers the first request of each connection; closes the connection under the second, unanswered. */
async function staleServer() {
  const seen: string[] = [];
  const perSocket = new WeakMap<object, number>();
  const server = await startHttpServer((req: http.IncomingMessage, res: http.ServerResponse) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    seen.push(`${req.method} ${req.url} #${n}`);
    if (n === 2) {
      req.socket.destroy();
      return;
    }
    res.end('ok');
  });
  return { server, seen };
}

/** A pool whose warmest connection has served one response: the next request goes out on it, reused. */
async function warmPool(url: string, options: { replay?: boolean } = {}) {
  const pool = await openPool({ url, connections: 2, ...options });
  expect((await pool.request({ path: '/warm' })).status).toBe(200);
  await nextTurn();
  return pool;
}

describe('replay after the stale race', () => {
  it('a GET that dies unanswered on a reused connection is replayed once on another, and succeeds', async () => {
    const { server, seen } = await staleServer();
    const pool = await warmPool(server.url);
    const messages: RequestMessage[] = [];
    const listener = (message: unknown) => messages.push(message as RequestMessage);
    diagnostics.subscribe(POOL_REQUEST_CHANNEL, listener);
    try {
      expect((await pool.request({ path: '/ticker' })).text()).toBe('ok');
    } finally {
      diagnostics.unsubscribe(POOL_REQUEST_CHANNEL, listener);
    }
    expect(seen).toEqual(['GET /warm #1', 'GET /ticker #2', 'GET /ticker #1']);
    expect(pool.stats()).toMatchObject({ replays: 1, resends: 0, failures: 0, backoffs: 0 });
    expect(messages.map((m) => [m.attempt, m.repeat, m.replayed, m.error ?? m.status])).toEqual([
      [1, 'first', false, 'CONNECTION_LOST'],
      [2, 'replay', true, 200],
    ]);
    // One request, two sends: one id.
    expect(messages[1]!.id).toBe(messages[0]!.id);
  });

  it('a POST is never replayed: CONNECTION_LOST says it was written, unanswered, on a reused connection', async () => {
    const { server, seen } = await staleServer();
    const pool = await warmPool(server.url);
    const error = await rejection(pool.request({ method: 'POST', path: '/order', body: 'buy' }));
    expect(error).toMatchObject({ code: 'CONNECTION_LOST', delivery: 'unanswered', reused: true });
    expect(seen).toEqual(['GET /warm #1', 'POST /order #2']);
    expect(pool.stats()).toMatchObject({ replays: 0, failures: 0 });
  });

  it('a PATCH is never replayed either', async () => {
    const { server, seen } = await staleServer();
    const pool = await warmPool(server.url);
    expect((await rejection(pool.request({ method: 'PATCH', path: '/order', body: 'qty=2' }))).code).toBe('CONNECTION_LOST');
    expect(seen).toEqual(['GET /warm #1', 'PATCH /order #2']);
  });

  it('a POST marked idempotent (an idempotency key the server deduplicates on) is replayed', async () => {
    const { server, seen } = await staleServer();
    const pool = await warmPool(server.url);
    const response = await pool.request({ method: 'POST', path: '/order', body: 'buy', headers: { 'idempotency-key': 'k-1' }, idempotent: true });
    expect(response.status).toBe(200);
    expect(seen).toEqual(['GET /warm #1', 'POST /order #2', 'POST /order #1']);
    expect(pool.stats().replays).toBe(1);
  });

  it('replay: false on the pool, or on the request, turns it off', async () => {
    const off = await staleServer();
    const pool = await warmPool(off.server.url, { replay: false });
    expect(await rejection(pool.request({ path: '/ticker' }))).toMatchObject({ code: 'CONNECTION_LOST', delivery: 'unanswered', reused: true });
    expect(off.seen).toEqual(['GET /warm #1', 'GET /ticker #2']);

    const perRequest = await staleServer();
    const other = await warmPool(perRequest.server.url);
    expect((await rejection(other.request({ path: '/ticker', replay: false }))).code).toBe('CONNECTION_LOST');
    expect(perRequest.seen).toEqual(['GET /warm #1', 'GET /ticker #2']);
    expect([pool.stats().replays, other.stats().replays]).toEqual([0, 0]);
  });

  it('replays once, not twice: a second stale race fails the request', async () => {
    const { server, seen } = await staleServer();
    const pool = await openPool({ url: server.url, connections: 2 });
    // Both connections serve one response, so the replay meets a reused connection too.
    const [a, b] = [pool.tryAcquire()!, pool.tryAcquire()!];
    await Promise.all([a.request({ path: '/warm' }), b.request({ path: '/warm' })]);
    a.release();
    b.release();
    await nextTurn();
    expect(await rejection(pool.request({ path: '/ticker' }))).toMatchObject({ code: 'CONNECTION_LOST', delivery: 'unanswered' });
    expect(seen.filter((line) => line.startsWith('GET /ticker'))).toEqual(['GET /ticker #2', 'GET /ticker #2']);
    expect(pool.stats().replays).toBe(1);
  });

  it('a request that dies on a fresh connection is not the stale race: not replayed', async () => {
    let first = true;
    const server = await startHttpServer((req, res) => {
      if (first) {
        first = false;
        req.socket.destroy();
        return;
      }
      res.end('ok');
    });
    const pool = await openPool({ url: server.url, connections: 2 });
    expect(await rejection(pool.request({ path: '/ticker' }))).toMatchObject({ code: 'CONNECTION_LOST', delivery: 'unanswered', reused: false });
    // A connection that died under its first request is a failure.
    expect(pool.stats()).toMatchObject({ replays: 0, failures: 1 });
  });
});
