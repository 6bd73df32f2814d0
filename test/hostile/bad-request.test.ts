/**
 * Bad request input never hurts the pool (issue 14, item 10): every malformed
 * request option is refused with INVALID_REQUEST naming the field, nothing is
 * sent, no slot stays busy, no waiter is stuck, and the pool serves the next
 * request, through `lease.request`, `pool.request` and `pool.acquire`.
 */
import { describe, expect, it } from 'vitest';
import { isLifelineError, type ClientPool, type Lease } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { nextTurn, openPool } from '../helpers/pool.js';

async function onePool(): Promise<{ server: TestServer; pool: ClientPool }> {
  const server = await startHttpServer();
  const pool = await openPool({ url: server.url, connections: 1 });
  return { server, pool };
}

/** The pool is whole: nothing busy, nobody waiting, and a good request goes through. */
async function expectServes(pool: ClientPool): Promise<void> {
  expect(pool.stats()).toMatchObject({ busy: 0, waiting: 0 });
  const response = await pool.request({ path: '/after', timeout: 2_000 });
  expect(response.status).toBe(200);
}

describe('a signal that is no AbortSignal', () => {
  for (const [name, signal] of [['{}', {}], ["'x'", 'x']] as const) {
    it(`signal: ${name} is INVALID_REQUEST through pool.request while the call waits, and the supervisor lives`, async () => {
      const { server, pool } = await onePool();
      // The only connection is held: the bad call has to wait for it.
      const holder = pool.tryAcquire()!;
      const bad = pool.request({ path: '/bad', signal: signal as never });
      // Freeing the slot hands it to the waiter, if one was queued: that must not fail the supervisor.
      setTimeout(() => holder.release(), 10);
      const error = await rejection(bad);
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toMatch(/^Expected `signal` to be an AbortSignal, got /);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(pool.actor.getSnapshot().status).toBe('active');
      await expectServes(pool);
      expect(server.requests).toBe(1);
    });

    it(`signal: ${name} is INVALID_REQUEST through lease.request and pool.acquire, and nothing stays busy`, async () => {
      const { server, pool } = await onePool();
      const lease: Lease = pool.tryAcquire()!;
      expect((await rejection(lease.request({ path: '/bad', signal: signal as never }))).code).toBe('INVALID_REQUEST');
      // The lease is still usable, and released it frees its slot.
      expect((await lease.request({ path: '/ok' })).status).toBe(200);
      lease.release();
      await nextTurn();
      expect((await rejection(pool.request({ path: '/bad', signal: signal as never }))).code).toBe('INVALID_REQUEST');
      // The acquire would have to wait: it is refused before it joins the queue.
      const held = pool.tryAcquire()!;
      expect((await rejection(pool.acquire({ timeout: 1_000, signal: signal as never }))).code).toBe('INVALID_REQUEST');
      expect(pool.stats().waiting).toBe(0);
      held.release();
      await expectServes(pool);
      expect(server.requests).toBe(2);
    });
  }
});

/** Each bad request option, and the whole message it gets: the field, what was expected, what came (never a string's content). */
const REFUSED: [string, Record<string, unknown>, string][] = [
  ['headersTimeout: 0 (would disable the timeout)', { headersTimeout: 0 }, 'Expected `headersTimeout` to be an integer from 1 to 2147483647, got 0 (number)'],
  ['bodyTimeout: 0 (would disable the timeout)', { bodyTimeout: 0 }, 'Expected `bodyTimeout` to be an integer from 1 to 2147483647, got 0 (number)'],
  ['a negative headersTimeout', { headersTimeout: -5 }, 'Expected `headersTimeout` to be an integer from 1 to 2147483647, got -5 (number)'],
  ['a NaN bodyTimeout', { bodyTimeout: Number.NaN }, 'Expected `bodyTimeout` to be an integer from 1 to 2147483647, got NaN (number)'],
  ['a string headersTimeout', { headersTimeout: '100' }, 'Expected `headersTimeout` to be an integer from 1 to 2147483647, got a string of 3 characters'],
  ['a bodyTimeout over MAX_TIMEOUT', { bodyTimeout: 2 ** 31 }, 'Expected `bodyTimeout` to be an integer from 1 to 2147483647, got 2147483648 (number)'],
  ['a query value with a lone surrogate', { query: { symbol: 'BTC\ud800' } }, 'Expected `query.symbol` to be well-formed Unicode, got a string with a lone surrogate'],
  ['a query key with a lone surrogate', { query: { ['k\udc00']: 'v' } }, 'Expected `query` keys to be well-formed Unicode, got a key of 2 characters with a lone surrogate'],
  ['a query value in an array with a lone surrogate', { query: { ids: ['1', '\udbff'] } }, 'Expected `query.ids` to be well-formed Unicode, got a string with a lone surrogate'],
  ['a query getter that throws', { query: { get symbol(): string { throw new Error('boom'); } } }, 'Expected `query.symbol` to be readable, got a getter that threw'],
  ['a query Proxy whose keys cannot be listed', { query: new Proxy({}, { ownKeys: () => { throw new Error('trap'); } }) }, 'Expected `query` to be a plain object, got one whose keys cannot be listed'],
  ['a query value that is an object', { query: { symbol: { toString: () => 'BTC' } } }, 'Expected `query.symbol` to be a string, a finite number, a boolean or a bigint, or an array of them, got an object'],
  ['a query value that is a symbol', { query: { symbol: Symbol('s') } }, 'Expected `query.symbol` to be a string, a finite number, a boolean or a bigint, or an array of them, got a symbol'],
  ['a query value that is a function', { query: { symbol: () => 'x' } }, 'Expected `query.symbol` to be a string, a finite number, a boolean or a bigint, or an array of them, got a function'],
  ['a query value that is null', { query: { symbol: null } }, 'Expected `query.symbol` to be a string, a finite number, a boolean or a bigint, or an array of them, got null'],
  ['a query value that is NaN', { query: { limit: Number.NaN } }, 'Expected `query.limit` to be a string, a finite number, a boolean or a bigint, or an array of them, got NaN (number)'],
  ['a query that is a string', { query: 'a=1' }, 'Expected `query` to be an object, got a string of 3 characters'],
  ['a method that is no string', { method: 5 }, 'Expected `method` to be an HTTP method (a token such as GET or POST), got 5 (number)'],
  ['a method that is no string, with retry', { method: {}, retry: 2 }, 'Expected `method` to be an HTTP method (a token such as GET or POST), got an object'],
  ['a method that is no HTTP token', { method: 'GE T' }, 'Expected `method` to be an HTTP method (a token such as GET or POST), got a string of 4 characters'],
  ['CONNECT', { method: 'connect' }, 'Expected `method` to be a method other than CONNECT (a pooled connection is not a tunnel), got a string of 7 characters'],
  ['a path with a space', { path: '/a b' }, 'Expected `path` to be a string starting with `/`, of visible ASCII characters (percent-encode the rest), got a string of 4 characters'],
  ['headers as a string', { headers: 'x-a: 1' }, 'Expected `headers` to be an object, or [name, value] pairs (an array of pairs, a Map or a Headers), got a string of 6 characters'],
  ['headers as an array of strings', { headers: ['x-a', '1'] }, 'Expected `headers[0]` to be a [name, value] pair with a string name, got a string of 3 characters'],
  ['headers as pairs with a bad value', { headers: [['x-a', { v: 1 }]] }, 'Expected `headers.x-a` to be a string or a finite number, got an object'],
  ['a Map of headers with a CR', { headers: new Map([['x-a', 'v\r\nx-b: 1']]) }, 'Expected `headers.x-a` to contain no CR, LF or NUL character'],
  ['a deadline that is a string', { deadline: '1000' }, 'Expected `deadline` to be a finite number of ms since the epoch (Date.now() + budget), got a string of 4 characters'],
  ['a deadline that is a Date', { deadline: new Date() }, 'Expected `deadline` to be a finite number of ms since the epoch (Date.now() + budget), got an object'],
  ['a body that is a number', { body: 5 }, 'Expected `body` to be a string, a Buffer, a Uint8Array, a Readable, a web ReadableStream or an async iterable, got 5 (number)'],
  ['a body that is an object', { body: { qty: 1 } }, 'Expected `body` to be a string, a Buffer, a Uint8Array, a Readable, a web ReadableStream or an async iterable, got an object'],
  ['a signal that is a Proxy whose get trap throws', { signal: new Proxy(new AbortController().signal, { get: () => { throw new Error('trap'); } }) }, 'Expected `signal` to be an AbortSignal, got an object'],
  ['a signal with no removeEventListener', { signal: { aborted: false, addEventListener: () => {} } }, 'Expected `signal` to be an AbortSignal, got an object'],
  ['a signal that is null', { signal: null }, 'Expected `signal` to be an AbortSignal, got null'],
];

/** Options only `pool.request` reads. */
const REFUSED_BY_POOL_REQUEST: [string, Record<string, unknown>, string][] = [
  ['a negative timeout', { timeout: -1 }, 'Expected `timeout` to be an integer from 0 to 2147483647, got -1 (number)'],
  ['a string timeout', { timeout: '10' }, 'Expected `timeout` to be an integer from 0 to 2147483647, got a string of 2 characters'],
  ['a retry of 1.5', { retry: 1.5 }, 'Expected `retry` to be an integer from 0 to 10, got 1.5 (number)'],
  ['a retry that is a string', { retry: '2' }, 'Expected `retry` to be an integer from 0 to 10, got a string of 1 characters'],
  ['idempotent: 1', { idempotent: 1 }, 'Expected `idempotent` to be a boolean, got 1 (number)'],
  ['idempotent: "yes"', { idempotent: 'yes' }, 'Expected `idempotent` to be a boolean, got a string of 3 characters'],
];

describe('bad request options', () => {
  it.each(REFUSED)('%s: INVALID_REQUEST through lease.request and pool.request, nothing sent, nothing held', async (_name, bad, message) => {
    const { server, pool } = await onePool();
    const lease = pool.tryAcquire()!;
    const viaLease = await rejection(lease.request({ path: '/bad', ...bad } as never));
    expect([viaLease.code, viaLease.message]).toEqual(['INVALID_REQUEST', message]);
    // The connection is kept: the same lease sends a good request.
    expect((await lease.request({ path: '/ok' })).status).toBe(200);
    lease.release();
    const viaPool = await rejection(pool.request({ path: '/bad', ...bad } as never));
    expect([viaPool.code, viaPool.message]).toEqual(['INVALID_REQUEST', message]);
    await expectServes(pool);
    expect(server.requests).toBe(2);
  });

  it.each(REFUSED_BY_POOL_REQUEST)('%s: INVALID_REQUEST through pool.request', async (_name, bad, message) => {
    const { server, pool } = await onePool();
    const error = await rejection(pool.request({ path: '/bad', ...bad } as never));
    expect([error.code, error.message]).toEqual(['INVALID_REQUEST', message]);
    await expectServes(pool);
    expect(server.requests).toBe(1);
  });

  it.each([
    ['a negative timeout', { timeout: -1 }, 'Expected `timeout` to be an integer from 0 to 2147483647, got -1 (number)'],
    ['a signal that is no AbortSignal', { signal: { aborted: false } }, 'Expected `signal` to be an AbortSignal, got an object'],
    ['a getter that throws', { get timeout(): number { throw new Error('boom'); } }, 'Expected `timeout` to be readable, got a getter that threw'],
    ['null', null, 'Expected `options` to be an object, got null'],
  ])('pool.acquire refuses %s with INVALID_REQUEST while it would wait, and queues nothing', async (_name, bad, message) => {
    const { pool } = await onePool();
    const held = pool.tryAcquire()!;
    const error = await rejection(pool.acquire(bad as never));
    expect([error.code, error.message]).toEqual(['INVALID_REQUEST', message]);
    expect(pool.stats().waiting).toBe(0);
    held.release();
    await expectServes(pool);
  });

  it('a secret in a refused value is never echoed', async () => {
    const { pool } = await onePool();
    const secret = 'sk-live-5ecret\ud800';
    for (const bad of [{ query: { signature: secret } }, { headers: { authorization: `${secret}\n` } }, { method: secret }, { body: [secret] }, { path: `/${secret}` }]) {
      const error = await rejection(pool.request({ path: '/', ...bad } as never));
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).not.toContain('sk-live');
    }
  });
});

describe('request option forms that are accepted', () => {
  /** A server that answers with what it saw: method, URL and the x- headers. */
  async function echoPool(): Promise<{ pool: ClientPool; seen: string[] }> {
    const seen: string[] = [];
    const server = await startHttpServer((req, res) => {
      const own = Object.entries(req.headers).filter(([name]) => name.startsWith('x-')).sort();
      seen.push(`${req.method} ${req.url} ${JSON.stringify(own)}`);
      res.end('ok');
    });
    const pool = await openPool({ url: server.url, connections: 1, headers: { 'x-default': 'd', 'x-over': 'default' } });
    return { pool, seen };
  }

  it('headers as an array of pairs, a Map or a Headers are sent as the object form is', async () => {
    const { pool, seen } = await echoPool();
    const pairs: [string, string][] = [['X-Over', 'mine'], ['x-list', 'a'], ['x-list', 'b']];
    await pool.request({ path: '/object', headers: { 'X-Over': 'mine', 'x-list': ['a', 'b'] } });
    await pool.request({ path: '/pairs', headers: pairs });
    await pool.request({ path: '/map', headers: new Map<string, string | string[]>([['X-Over', 'mine'], ['x-list', ['a', 'b']]]) });
    await pool.request({ path: '/headers', headers: new Headers(pairs) });
    const sent = JSON.stringify([['x-default', 'd'], ['x-list', 'a, b'], ['x-over', 'mine']]);
    expect(seen).toEqual([`GET /object ${sent}`, `GET /pairs ${sent}`, `GET /map ${sent}`, `GET /headers ${sent}`]);
  });

  it('the standard methods in any case go out upper-cased, others as given; bigints and booleans in a query', async () => {
    const { pool, seen } = await echoPool();
    await pool.request({ method: 'get', path: '/a' });
    await pool.request({ method: 'Patch', path: '/b', body: '{}' });
    await pool.request({ method: 'PURGE', path: '/c' });
    await pool.request({ path: '/d', query: { id: 2n ** 64n, on: true, skip: undefined, many: [1, undefined, 'x y'] } });
    expect(seen.map((line) => line.split(' [')[0])).toEqual(['GET /a', 'PATCH /b', 'PURGE /c', 'GET /d?id=18446744073709551616&on=true&many=1&many=x%20y']);
  });

  it('a deadline years away is no deadline, not one that fires at once (a timer over 2^31-1 ms fires after 1 ms)', async () => {
    const server = await startHttpServer((_req, res) => void setTimeout(() => res.end('ok'), 30));
    const pool = await openPool({ url: server.url, connections: 1 });
    for (const deadline of [Number.MAX_SAFE_INTEGER, 1e300, Date.now() + 2 ** 31 + 1_000]) {
      expect((await pool.request({ path: '/', deadline })).text()).toBe('ok');
      await nextTurn();
      const lease = pool.tryAcquire()!;
      expect((await lease.request({ path: '/', deadline })).text()).toBe('ok');
      lease.release();
      await nextTurn();
    }
  });

  it('a duck-typed signal (as from another realm: jsdom, a vm context) aborts, and its listener is removed after', async () => {
    const server = await startHttpServer((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('late'), 2_000).unref();
      else res.end('ok');
    });
    const pool = await openPool({ url: server.url, connections: 1 });
    const listeners = new Set<() => void>();
    const foreign = {
      aborted: false,
      addEventListener: (_type: string, listener: () => void) => void listeners.add(listener),
      removeEventListener: (_type: string, listener: () => void) => void listeners.delete(listener),
    };
    const slow = rejection(pool.request({ path: '/slow', signal: foreign as never }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(listeners.size).toBe(1);
    foreign.aborted = true;
    for (const listener of listeners) listener();
    expect((await slow).code).toBe('REQUEST_ABORTED');
    expect(listeners.size).toBe(0);
    foreign.aborted = false;
    expect((await pool.request({ path: '/ok', signal: foreign as never })).text()).toBe('ok');
    expect(listeners.size).toBe(0);
    await expectServes(pool);
  });

  it('a signal whose methods throw cannot throw into the pool or the supervisor: it is one that never fires', async () => {
    const { pool } = await onePool();
    const hostile = {
      aborted: false,
      addEventListener() {
        throw new Error('add');
      },
      removeEventListener() {
        throw new Error('remove');
      },
    };
    // The call waits for the held connection: the supervisor's reply removes the listener.
    const held = pool.tryAcquire()!;
    const queued = pool.request({ path: '/ok', signal: hostile as never });
    setTimeout(() => held.release(), 10);
    expect((await queued).text()).toBe('ok');
    const lease = await pool.acquire({ signal: hostile as never });
    expect((await lease.request({ path: '/ok', signal: hostile as never })).text()).toBe('ok');
    lease.release();
    expect(pool.actor.getSnapshot().status).toBe('active');
    await expectServes(pool);
  });

  it('a real AbortSignal (and a transparent Proxy of one) still aborts the wait and the request', async () => {
    const { pool } = await onePool();
    const held = pool.tryAcquire()!;
    const controller = new AbortController();
    const waiting = rejection(pool.request({ path: '/', signal: new Proxy(controller.signal, {}) }));
    setTimeout(() => controller.abort(), 10);
    expect((await waiting).code).toBe('ACQUIRE_ABORTED');
    held.release();
    await expectServes(pool);
  });
});
