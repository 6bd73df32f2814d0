/**
 * The opt-in retry policy: a request that failed in transport is sent again on
 * a fresh acquire, only if repeating it is harmless (an idempotent method, or
 * the caller's word), and never past its deadline. The server kills the socket
 * of the first request it reads, for real.
 */
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { rejection } from '../helpers/errors.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openPool, waitFor } from '../helpers/pool.js';

/** A server that destroys the socket of the first `kills` requests it reads, and counts every request by method and path. */
/** Kills the connection under each of the first `kills` requests; with `thenRefuse`, stops accepting connections at the last kill. */
async function killingServer(kills: number, thenRefuse = false) {
  const seen: string[] = [];
  let killed = 0;
  const server = await startHttpServer((req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push(`${req.method} ${req.url}`);
    if (killed < kills) {
      killed++;
      if (thenRefuse && killed === kills) void server.refuse();
      req.socket.destroy();
      return;
    }
    res.end('ok');
  });
  return { server, seen };
}

describe('retry', () => {
  it('off by default: a GET whose connection dies rejects with CONNECTION_LOST, sent once', async () => {
    const { server, seen } = await killingServer(1);
    const pool = await openPool({ url: server.url, connections: 2 });
    expect((await rejection(pool.request({ path: '/ticker' }))).code).toBe('CONNECTION_LOST');
    expect(seen).toEqual(['GET /ticker']);
  });

  it('a GET with retry is sent again on another connection and succeeds', async () => {
    const { server, seen } = await killingServer(2);
    const pool = await openPool({ url: server.url, connections: 3 });
    const response = await pool.request({ path: '/ticker', retry: 2 });
    expect(response.status).toBe(200);
    expect(seen).toEqual(['GET /ticker', 'GET /ticker', 'GET /ticker']);
    // Three different connections carried the three attempts.
    expect(server.requestsPerConnection.filter((n) => n > 0)).toEqual([1, 1, 1]);
  });

  it('gives up after `retry` attempts with the last error', async () => {
    const { server, seen } = await killingServer(10);
    const pool = await openPool({ url: server.url, connections: 2, backoff: { initial: 1, max: 5 } });
    expect((await rejection(pool.request({ path: '/x', method: 'DELETE', retry: 2 }))).code).toBe('CONNECTION_LOST');
    expect(seen).toEqual(['DELETE /x', 'DELETE /x', 'DELETE /x']);
  });

  it('never repeats a POST on its own, whatever `retry` says', async () => {
    const { server, seen } = await killingServer(1);
    const pool = await openPool({ url: server.url, connections: 2 });
    const error = await rejection(pool.request({ path: '/order', method: 'POST', body: 'buy', retry: 3 }));
    expect(error.code).toBe('CONNECTION_LOST');
    expect(seen).toEqual(['POST /order']);
  });

  it('repeats a POST the caller marks idempotent (an idempotency key the server deduplicates on)', async () => {
    const { server, seen } = await killingServer(1);
    const pool = await openPool({ url: server.url, connections: 2 });
    const response = await pool.request({
      path: '/order',
      method: 'POST',
      headers: { 'idempotency-key': 'k-1' },
      body: 'buy',
      retry: 1,
      idempotent: true,
    });
    expect(response.status).toBe(200);
    expect(seen).toEqual(['POST /order', 'POST /order']);
  });

  it('a GET the caller marks not idempotent is not repeated', async () => {
    const { server, seen } = await killingServer(1);
    const pool = await openPool({ url: server.url, connections: 2 });
    expect((await rejection(pool.request({ path: '/once', retry: 2, idempotent: false }))).code).toBe('CONNECTION_LOST');
    expect(seen).toEqual(['GET /once']);
  });

  it('does not repeat past the deadline: the retry waits for a connection and the deadline ends the wait', async () => {
    // The server refuses new connections once it has killed the first: the slot's redials fail, so the
    // retry waits for sure (with a server that accepted, a fast redial could serve it before anyone looked).
    const { server, seen } = await killingServer(1, true);
    const clock = new SimulatedClock();
    const pool = await openPool({ url: server.url, connections: 1, clock });
    const pending = rejection(pool.request({ path: '/quote', retry: 3, deadline: Date.now() + 1_000 }));
    // The only connection died under the first attempt; the retry waits while it heals.
    await waitFor(() => pool.stats().waiting === 1, () => pool.stats());
    // Simulated time runs the slot's backoff (its redials refused) and the deadline.
    clock.increment(1_000);
    const error = await pending;
    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect(error.message).toMatch(/while waiting for a connection/);
    expect(seen).toEqual(['GET /quote']);
  });

  it('does not repeat what is not a transport failure: a 503 is an answer', async () => {
    const seen: string[] = [];
    const server = await startHttpServer((req, res) => {
      seen.push(req.url!);
      res.statusCode = 503;
      res.end('busy');
    });
    const pool = await openPool({ url: server.url, connections: 1 });
    expect((await pool.request({ path: '/busy', retry: 3 })).status).toBe(503);
    expect(seen).toEqual(['/busy']);
  });

  it('refuses a retry count out of range with INVALID_REQUEST naming it (a per-call option, not a connect() one)', async () => {
    const { server } = await killingServer(0);
    const pool = await openPool({ url: server.url, connections: 1 });
    const error = await rejection(pool.request({ path: '/', retry: -1 }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toBe('Expected `retry` to be an integer from 0 to 10, got -1 (number)');
  });
});
