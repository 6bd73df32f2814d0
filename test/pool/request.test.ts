/**
 * Requests on real sockets: what the server sends back, what goes wrong on the
 * wire, and that the pool is full again afterwards.
 */
import { describe, expect, it } from 'vitest';
import { isLifelineError } from '../../src/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import { isFull, openPool, waitFor, waitForStats } from '../helpers/pool.js';

describe('request', () => {
  it('sends default headers, basePath and an encoded query; a request header overrides a default', async () => {
    const seen: { url?: string; headers?: Record<string, unknown>; body?: string; method?: string } = {};
    const server = await startHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        Object.assign(seen, { url: req.url, headers: req.headers, body, method: req.method });
        res.setHeader('content-type', 'application/json');
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.end(JSON.stringify({ got: body }));
      });
    });
    const pool = await openPool({
      url: `${server.url}/api`,
      basePath: '/v3',
      headers: { 'X-Api-Key': 'k-123', 'user-agent': 'lifeline-test' },
      connections: 1,
    });
    const res = await pool.request({
      method: 'POST',
      path: '/order',
      query: { symbol: 'BTC/USDT', side: ['buy', 'sell'], skip: undefined, qty: 1.5 },
      headers: { 'User-Agent': 'override', 'content-type': 'application/json' },
      body: '{"qty":1}',
    });
    expect(seen.url).toBe('/api/v3/order?symbol=BTC%2FUSDT&side=buy&side=sell&qty=1.5');
    expect(seen.method).toBe('POST');
    expect(seen.headers).toMatchObject({ 'x-api-key': 'k-123', 'user-agent': 'override' });
    expect(seen.body).toBe('{"qty":1}');
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.json()).toEqual({ got: '{"qty":1}' });
  });

  it('4xx and 5xx are responses, not errors, and keep the connection', async () => {
    const server = await startHttpServer((req, res) => {
      res.statusCode = req.url === '/missing' ? 404 : 503;
      res.end('no');
    });
    const pool = await openPool({ url: server.url, connections: 1 });
    expect((await pool.request({ path: '/missing' })).status).toBe(404);
    expect((await pool.request({ path: '/busy' })).status).toBe(503);
    expect(server.connections).toBe(1);
    expect(pool.stats().healthy).toBe(1);
  });

  it('a body over maxBodySize gives BODY_TOO_LARGE (declared or streamed) and the slot is recycled', async () => {
    const server = await startHttpServer((req, res) => {
      if (req.url === '/declared') {
        res.setHeader('content-length', 2048);
        res.end('x'.repeat(2048));
      } else {
        // Chunked, no content-length: caught as bytes arrive.
        res.write('x'.repeat(600));
        setTimeout(() => res.end('y'.repeat(600)), 5);
      }
    });
    const pool = await openPool({ url: server.url, connections: 1, maxBodySize: 1024 });
    for (const path of ['/declared', '/streamed']) {
      const error = await pool.request({ path }).catch((e: unknown) => e);
      expect(isLifelineError(error, 'BODY_TOO_LARGE')).toBe(true);
      expect((error as Error).message).toBe('the response body exceeded maxBodySize (1024 bytes)');
      await waitForStats(pool, isFull);
    }
    await waitFor(() => server.connections === 3, () => server.connections);
  });

  it('maxBodySize 0 means unlimited', async () => {
    const big = 'z'.repeat(3 << 20);
    const server = await startHttpServer((_req, res) => res.end(big));
    const pool = await openPool({ url: server.url, connections: 1, maxBodySize: 0 });
    expect((await pool.request({ path: '/' })).body.length).toBe(big.length);
  });

  it('Connection: close recycles the slot after release', async () => {
    const server = await startHttpServer((_req, res) => {
      res.setHeader('connection', 'close');
      res.end('bye');
    });
    const pool = await openPool({ url: server.url, connections: 1 });
    const lease = pool.tryAcquire()!;
    expect((await lease.request({ path: '/' })).text()).toBe('bye');
    lease.release();
    // Not put back on the free list: poisoned (or already healing), never healthy with a closing socket.
    expect(pool.stats().healthy).toBe(0);
    await waitForStats(pool, isFull);
    await waitFor(() => server.connections === 2, () => server.connections);
    expect((await pool.request({ path: '/' })).text()).toBe('bye');
  });

  it('headers that do not arrive in headersTimeout give HEADERS_TIMEOUT and the slot heals', async () => {
    const server = await startHttpServer((req, res) => {
      if (req.url === '/slow') return; // never answers
      res.end('fast');
    });
    const pool = await openPool({ url: server.url, connections: 1, headersTimeout: 100 });
    const error = await pool.request({ path: '/slow' }).catch((e: unknown) => e);
    expect(isLifelineError(error, 'HEADERS_TIMEOUT')).toBe(true);
    await waitForStats(pool, isFull);
    expect((await pool.request({ path: '/' })).text()).toBe('fast');
  });

  it('a body that stalls past bodyTimeout gives BODY_TIMEOUT', async () => {
    const server = await startHttpServer((_req, res) => {
      res.write('partial');
    });
    const pool = await openPool({ url: server.url, connections: 1 });
    const error = await pool.request({ path: '/', bodyTimeout: 100 }).catch((e: unknown) => e);
    expect(isLifelineError(error, 'BODY_TIMEOUT')).toBe(true);
    await waitForStats(pool, isFull);
  });

  it('a disconnect mid-body gives CONNECTION_LOST and the pool is full again', async () => {
    const server = await startHttpServer((_req, res) => {
      res.setHeader('content-length', 1000);
      res.write('x'.repeat(100));
      setTimeout(() => res.socket?.destroy(), 5);
    });
    const pool = await openPool({ url: server.url, connections: 2 });
    const error = await pool.request({ path: '/' }).catch((e: unknown) => e);
    expect(isLifelineError(error, 'CONNECTION_LOST')).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
    await waitForStats(pool, isFull);
  });

  it('an abort while in flight gives REQUEST_ABORTED and recycles the connection', async () => {
    const server = await startHttpServer(() => {});
    const pool = await openPool({ url: server.url, connections: 1 });
    const controller = new AbortController();
    const pending = pool.request({ path: '/', signal: controller.signal });
    await waitFor(() => server.requests === 1, () => server.requests);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'REQUEST_ABORTED' });
    await waitForStats(pool, isFull);
    await waitFor(() => server.connections === 2, () => server.connections);
  });

  it('a malformed request is refused with INVALID_REQUEST before sending, and keeps the slot', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    const lease = pool.tryAcquire()!;
    await expect(lease.request({ path: 'no-slash' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    const injected = await lease.request({ path: '/', headers: { 'x-a': 'v\r\nx-b: evil' } }).catch((e: unknown) => e);
    expect(isLifelineError(injected, 'INVALID_REQUEST')).toBe(true);
    expect((injected as Error).message).toBe('Expected `headers.x-a` to contain no CR, LF or NUL character');
    await expect(lease.request({ path: '/', method: 'GE T' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect((await lease.request({ path: '/' })).text()).toBe('ok');
    lease.release();
    expect(server.requests).toBe(1);
    expect(server.connections).toBe(1);
    expect(pool.stats().healthy).toBe(1);
  });

  it('request options whose getters throw are refused with INVALID_REQUEST naming the field, sending nothing', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1 });
    const hostile = (field: string) =>
      Object.defineProperty({ path: '/' }, field, {
        enumerable: true,
        get() {
          throw new Error('boom');
        },
      });
    for (const field of ['path', 'method', 'body', 'deadline']) {
      const viaPool = await pool.request(hostile(field) as never).catch((e: unknown) => e);
      expect(isLifelineError(viaPool, 'INVALID_REQUEST'), field).toBe(true);
      expect((viaPool as Error).message).toBe(`Expected \`${field}\` to be readable, got a getter that threw`);
      const lease = pool.tryAcquire()!;
      await expect(lease.request(hostile(field) as never)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      lease.release();
    }
    const viaTimeout = await pool.request(hostile('timeout') as never).catch((e: unknown) => e);
    expect(isLifelineError(viaTimeout, 'INVALID_REQUEST')).toBe(true);
    expect(server.requests).toBe(0);
    expect(pool.stats()).toMatchObject({ healthy: 1, busy: 0 });
  });
});
