/**
 * Header injection: a CR, LF or NUL in a header value (or a name that is no
 * HTTP token) would let a caller's data split the header block and smuggle
 * headers or a second request. Default headers are refused at connect
 * (INVALID_OPTIONS, before anything is dialed), a request's own at send time
 * (INVALID_REQUEST): in both cases the server receives nothing, and the
 * connection that refused a request stays healthy for the next one.
 */
import { describe, expect, it } from 'vitest';
import { ClientPool, Feed, isLifelineError } from '../../src/index.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openPool } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';

const INJECTIONS = ['v\r\nx-injected: 1', 'v\nx-injected: 1', 'v\rx-injected: 1', 'v\0x-injected: 1', 'v\r\n\r\nGET /smuggled HTTP/1.1'];

describe('header injection', () => {
  it.each(INJECTIONS.map((value) => [JSON.stringify(value), value]))('a default header value %s is refused at connect, before any dial', async (_name, value) => {
    const server = await startHttpServer();
    for (const headers of [{ 'x-api-key': value }, { accept: ['text/plain', value] }]) {
      const error = await ClientPool.connect({ url: server.url, connections: 1, headers }).catch((e: unknown) => e);
      expect(isLifelineError(error, 'INVALID_OPTIONS'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/^Expected `headers\.(x-api-key|accept)` to contain no CR, LF or NUL character$/);
    }
    expect(server.connections).toBe(0);
  });

  it('a default header name that is no token is refused at connect', async () => {
    const server = await startHttpServer();
    const error = await ClientPool.connect({ url: server.url, connections: 1, headers: { 'x-a\r\nx-injected': 'v' } }).catch((e: unknown) => e);
    expect(isLifelineError(error, 'INVALID_OPTIONS')).toBe(true);
    expect(server.connections).toBe(0);
  });

  it('a request header, path or method with CR/LF is refused with INVALID_REQUEST, nothing is sent, and the connection stays healthy', async () => {
    const seen: string[] = [];
    const server = await startHttpServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
      res.end('ok');
    });
    const pool = await openPool({ url: server.url, connections: 1 });
    const refused: [string, Parameters<typeof pool.request>[0]][] = [
      ...INJECTIONS.map((value): [string, Parameters<typeof pool.request>[0]] => [`header ${JSON.stringify(value)}`, { path: '/', headers: { 'x-a': value } }]),
      ['header in an array', { path: '/', headers: { 'x-a': ['ok', 'v\r\nx-injected: 1'] } }],
      ['header name', { path: '/', headers: { 'x-a\r\nx-injected': '1' } }],
      ['path', { path: '/a\r\nx-injected: 1' }],
      ['method', { path: '/', method: 'GET /smuggled HTTP/1.1\r\n' }],
    ];
    for (const [what, options] of refused) {
      const error = await pool.request(options).catch((e: unknown) => e);
      expect(isLifelineError(error, 'INVALID_REQUEST'), `${what}: ${String(error)}`).toBe(true);
      // A request refused before it was written leaves the connection as it was.
      expect(pool.stats(), what).toMatchObject({ healthy: 1, poisoned: 0, backoff: 0, connecting: 0 });
    }
    expect(server.requests).toBe(0);
    // The same connection (the server saw one) serves the next request, and no injected header ever arrived.
    expect((await pool.request({ path: '/after', headers: { 'x-a': 'clean' } })).text()).toBe('ok');
    expect(server.connections).toBe(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain('"x-a":"clean"');
    expect(seen.join('\n')).not.toContain('injected');
  });

  it('a feed refuses an upgrade header with CR/LF at connect, before any dial', async () => {
    const server = await startWsServer();
    for (const value of INJECTIONS) {
      let error: unknown;
      try {
        Feed.connect({ url: server.url, headers: { authorization: value } });
      } catch (e) {
        error = e;
      }
      expect(isLifelineError(error, 'INVALID_OPTIONS'), JSON.stringify(value)).toBe(true);
    }
    expect(server.connections).toBe(0);
  });
});
