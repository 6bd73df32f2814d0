/**
 * Bodies over the pool's maxBodySize from a raw server, declared up front or
 * streamed in: BODY_TOO_LARGE as soon as the limit is crossed, and the slot is
 * recycled (the rest of the body is never read, so the socket cannot be reused).
 */
import { describe, expect, it } from 'vitest';
import { expectHealed, expectRejection, openHostilePool } from './hostile-pool.js';
import { ok, startRawHttpServer, type RawReply } from './raw-http-server.js';

const MAX = 1024;
const chunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;

const cases: { name: string; reply: RawReply }[] = [
  {
    name: 'a Content-Length over the limit',
    reply: { parts: [`HTTP/1.1 200 OK\r\nContent-Length: ${MAX + 1}\r\n\r\n`, 'x'.repeat(MAX + 1)] },
  },
  {
    // Only the head arrives: the declared length alone must be enough to refuse it.
    name: 'a Content-Length over the limit, body never sent',
    reply: { parts: [`HTTP/1.1 200 OK\r\nContent-Length: ${10 * MAX}\r\n\r\n`] },
  },
  {
    name: 'a chunked body that grows past the limit',
    reply: {
      parts: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', chunk('x'.repeat(600)), chunk('y'.repeat(600)), '0\r\n\r\n'],
    },
  },
  {
    // One chunk that declares more than the limit and trickles in: counted as bytes arrive.
    name: 'a single huge chunk streamed in',
    reply: { parts: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', `${(8 * MAX).toString(16)}\r\n`, 'x'.repeat(600), 'y'.repeat(600)] },
  },
];

describe('hostile HTTP peer: bodies over maxBodySize', () => {
  it.each(cases)('$name gives BODY_TOO_LARGE and the slot heals', async ({ reply }) => {
    const server = await startRawHttpServer(({ connection }) => (connection === 0 ? reply : ok()));
    const pool = await openHostilePool(server, { maxBodySize: MAX });
    await expectRejection(pool.request({ path: '/big' }), 'BODY_TOO_LARGE');
    await expectHealed(pool, server, 1);
  });

  it('a body of exactly maxBodySize is delivered whole and keeps the connection', async () => {
    // The boundary: the limit is "over", not "at", so this must not be refused.
    const server = await startRawHttpServer(() => ok('z'.repeat(MAX)));
    const pool = await openHostilePool(server, { maxBodySize: MAX });
    expect((await pool.request({ path: '/exact' })).body.length).toBe(MAX);
    expect((await pool.request({ path: '/exact' })).body.length).toBe(MAX);
    expect(server.connections).toBe(1);
  });
});
