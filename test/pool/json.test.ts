/**
 * JSON both ways (issue 16, item 4): `json: value` on a request is sent as JSON with its
 * content-type, a value JSON cannot serialise is INVALID_REQUEST before anything is
 * acquired or sent, and `res.json<T>()` gives the parsed body.
 */
import { describe, expect, it } from 'vitest';
import { isLifelineError, LifelineError } from '../../src/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import { isFull, openPool } from '../helpers/pool.js';

interface Seen {
  method: string;
  contentType: string | undefined;
  body: string;
}

/** A server that answers every request with what it received, as JSON. */
async function echoServer() {
  return startHttpServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const seen: Seen = { method: req.method!, contentType: req.headers['content-type'], body };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(seen));
    });
  });
}

describe('json', () => {
  it('pool.request and lease.request send `json` serialised, as application/json; res.json<T>() parses the answer', async () => {
    const server = await echoServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    const order = { symbol: 'BTCUSDT', qty: 1.5, tags: ['a', null], nested: { at: new Date(0) } };
    const res = await pool.request({ method: 'POST', path: '/order', json: order });
    const seen = res.json<Seen>();
    expect(seen).toEqual({ method: 'POST', contentType: 'application/json', body: JSON.stringify(order) });
    expect(JSON.parse(seen.body)).toEqual({ symbol: 'BTCUSDT', qty: 1.5, tags: ['a', null], nested: { at: '1970-01-01T00:00:00.000Z' } });

    const lease = await pool.acquire();
    try {
      // Falsy values are values: null, 0, false and '' are sent, not left out.
      for (const value of [null, 0, false, '']) {
        const echoed = (await lease.request({ method: 'PUT', path: '/v', json: value })).json<Seen>();
        expect(echoed).toEqual({ method: 'PUT', contentType: 'application/json', body: JSON.stringify(value) });
      }
    } finally {
      lease.release();
    }
  });

  it("the request's own content-type wins; a pool default content-type does not", async () => {
    const server = await echoServer();
    const pool = await openPool({ url: server.url, connections: 1, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const own = await pool.request({ method: 'POST', path: '/a', headers: { 'Content-Type': 'application/vnd.api+json' }, json: { a: 1 } });
    expect(own.json<Seen>().contentType).toBe('application/vnd.api+json');
    const defaulted = await pool.request({ method: 'POST', path: '/b', json: { a: 1 } });
    expect(defaulted.json<Seen>().contentType).toBe('application/json');
    const plain = await pool.request({ method: 'POST', path: '/c', body: 'a=1' });
    expect(plain.json<Seen>().contentType).toBe('application/x-www-form-urlencoded');
  });

  it('`json` with `body`, or a value JSON cannot serialise, is INVALID_REQUEST: nothing sent, nothing leased', async () => {
    const server = await echoServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    const refused: [string, Record<string, unknown>, string, boolean][] = [
      ['json with body', { json: { a: 1 }, body: '{}' }, 'Expected one of `body` and `json`, got both', false],
      ['a BigInt', { json: { qty: 10n } }, 'Expected `json` to be a value JSON.stringify can serialise, got an object it threw on (TypeError, see cause)', true],
      ['a bare BigInt', { json: 10n }, 'Expected `json` to be a value JSON.stringify can serialise, got 10 (bigint) it threw on (TypeError, see cause)', true],
      ['a cycle', { json: cycle }, 'Expected `json` to be a value JSON.stringify can serialise, got an object it threw on (TypeError, see cause)', true],
      [
        'a toJSON that throws',
        { json: { toJSON: () => { throw new RangeError('no'); } } },
        'Expected `json` to be a value JSON.stringify can serialise, got an object it threw on (RangeError, see cause)',
        true,
      ],
      ['a function', { json: () => 1 }, 'Expected `json` to be a value JSON.stringify can serialise, got a function', false],
      ['a symbol', { json: Symbol('s') }, 'Expected `json` to be a value JSON.stringify can serialise, got a symbol', false],
    ];
    for (const [name, options, message, caused] of refused) {
      const viaPool = await pool.request({ method: 'POST', path: '/x', ...options }).catch((e: unknown) => e);
      expect(isLifelineError(viaPool, 'INVALID_REQUEST'), name).toBe(true);
      expect((viaPool as Error).message, name).toBe(message);
      if (caused) expect((viaPool as Error).cause, name).toBeInstanceOf(Error);
      expect(pool.stats(), name).toMatchObject({ busy: 0, waiting: 0 });
      expect(isFull(pool.stats()), name).toBe(true);

      const lease = await pool.acquire();
      try {
        const viaLease = await lease.request({ method: 'POST', path: '/x', ...options }).catch((e: unknown) => e);
        expect(viaLease instanceof LifelineError && viaLease.code === 'INVALID_REQUEST' && viaLease.message === message, name).toBe(true);
        // Refused before the connection was touched: the lease still serves.
        expect((await lease.request({ path: '/after' })).status, name).toBe(200);
      } finally {
        lease.release();
      }
    }
    expect(server.requests).toBe(refused.length);
    expect(server.connections).toBe(1);
  });
});
