/**
 * Bytes nobody asked for, from a raw server: a second response after the
 * requested one, a response written at connect before any request, a protocol
 * switch nobody asked for. The danger is desync: a stray response taken as
 * the answer to the next request. The connection must be recycled instead,
 * with the flight recorder naming why.
 */
import { describe, expect, it } from 'vitest';
import { expectHealed, expectRejection, lostReasons, openHostilePool } from './hostile-pool.js';
import { ok, startRawHttpServer } from './raw-http-server.js';

describe('hostile HTTP peer: unsolicited bytes', () => {
  it.each([
    { name: 'a second response nobody asked for', reply: ok('first') + ok('stray') },
    // The 'rest' of the body is not a response at all, but it is still bytes out of turn.
    { name: 'a Content-Length shorter than the body', reply: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst and then some' },
  ])('$name after the requested response: that one is delivered, the stray bytes never answer a later request', async ({ reply }) => {
    const server = await startRawHttpServer(({ connection }) => (connection === 0 ? reply : ok()));
    const pool = await openHostilePool(server);
    const lease = await pool.acquire();
    // The requested response is complete by its own framing: the caller gets it, not an error.
    expect((await lease.request({ path: '/one' })).text()).toBe('first');
    lease.release();
    // At once, before the socket's 'close': the connection undici gave up on is not handed out again.
    expect(pool.tryAcquire()).toBeUndefined();
    await expectHealed(pool, server, 1);
    expect(server.requests).toBe(2);
    expect(lostReasons(pool)).toEqual(['MALFORMED_RESPONSE']);
  });

  it('a response written at connect, before any request: the idle slot is recycled before a caller can get it', async () => {
    const server = await startRawHttpServer(() => ok(), { atConnect: (connection) => (connection === 0 ? ok('early') : undefined) });
    const pool = await openHostilePool(server);
    await expectHealed(pool, server, 1);
    expect(server.requests).toBe(1); // no request was ever sent on the first connection
    expect(lostReasons(pool)).toEqual(['MALFORMED_RESPONSE']);
  });

  it('garbage written at connect, before any request: recycled the same way', async () => {
    const server = await startRawHttpServer(() => ok(), { atConnect: (connection) => (connection === 0 ? 'SSH-2.0-OpenSSH_9.6\r\n' : undefined) });
    const pool = await openHostilePool(server);
    await expectHealed(pool, server, 1);
    expect(server.requests).toBe(1);
    expect(lostReasons(pool)).toEqual(['MALFORMED_RESPONSE']);
  });

  it('101 Switching Protocols nobody asked for gives MALFORMED_RESPONSE and the slot heals', async () => {
    const server = await startRawHttpServer(({ connection }) =>
      connection === 0 ? 'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n' : ok(),
    );
    const pool = await openHostilePool(server);
    await expectRejection(pool.request({ path: '/plain' }), 'MALFORMED_RESPONSE');
    await expectHealed(pool, server, 1);
  });
});
