/**
 * Responses that are not valid HTTP/1.1, or are cut short, from a raw server:
 * the caller gets the exact code, the slot is recycled on a new connection,
 * and the next request is served once the server behaves.
 */
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/index.js';
import { expectHealed, expectRejection, openHostilePool } from './hostile-pool.js';
import { ok, startRawHttpServer, type RawReply } from './raw-http-server.js';

const head = (...lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

/** Each case: what the first connection's first answer is, and the code the caller must get. */
const CUT_SHORT = 'connection lost: the server closed before the response body was complete';

const cases: { name: string; reply: string | RawReply; code: ErrorCode; message?: string }[] = [
  { name: 'a bad status line', reply: head('HTTX/1.1 200 OK', 'Content-Length: 2') + 'ok', code: 'MALFORMED_RESPONSE' },
  { name: 'a status code out of range', reply: head('HTTP/1.1 2000 OK', 'Content-Length: 2') + 'ok', code: 'MALFORMED_RESPONSE' },
  { name: 'a header name with a space', reply: head('HTTP/1.1 200 OK', 'Bad Name: x', 'Content-Length: 2') + 'ok', code: 'MALFORMED_RESPONSE' },
  { name: 'a header value with a bare CR', reply: head('HTTP/1.1 200 OK', 'X-Note: a\rb', 'Content-Length: 2') + 'ok', code: 'MALFORMED_RESPONSE' },
  { name: 'a header value with a NUL', reply: head('HTTP/1.1 200 OK', 'X-Note: a\0b', 'Content-Length: 2') + 'ok', code: 'MALFORMED_RESPONSE' },
  {
    // undici's limit is node's http.maxHeaderSize (16 KiB) unless the Client says otherwise.
    name: 'a header block over undici’s limit',
    reply: head('HTTP/1.1 200 OK', `X-Big: ${'a'.repeat(20 * 1024)}`, 'Content-Length: 2') + 'ok',
    code: 'MALFORMED_RESPONSE',
  },
  {
    name: 'a chunk size that is not hex',
    reply: head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked') + 'zz\r\nok\r\n0\r\n\r\n',
    code: 'MALFORMED_RESPONSE',
  },
  {
    name: 'a chunk longer than its declared size',
    reply: head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked') + '2\r\nokay\r\n0\r\n\r\n',
    code: 'MALFORMED_RESPONSE',
  },
  {
    name: 'both Content-Length and chunked (a request-smuggling shape)',
    reply: head('HTTP/1.1 200 OK', 'Content-Length: 2', 'Transfer-Encoding: chunked') + '2\r\nok\r\n0\r\n\r\n',
    code: 'MALFORMED_RESPONSE',
  },
  {
    // A keep-alive body cut short by the server's FIN: the connection died in flight.
    name: 'a Content-Length longer than the body, then a close',
    reply: { parts: [head('HTTP/1.1 200 OK', 'Content-Length: 10') + 'short'], end: true },
    code: 'CONNECTION_LOST',
  },
  {
    // Chunked, then FIN before the last chunk: cut short in flight too.
    name: 'a chunked body with no last chunk, then a close',
    reply: { parts: [head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked') + '2\r\nok\r\n'], end: true },
    code: 'CONNECTION_LOST',
  },
  // The same two cuts after `Connection: close`: undici names them differently (a length
  // mismatch, llhttp's "Invalid EOF state"), but it is the same event and gets the same code.
  {
    name: 'Connection: close, a Content-Length longer than the body, then a close',
    reply: { parts: [head('HTTP/1.1 200 OK', 'Connection: close', 'Content-Length: 10') + 'short'], end: true },
    code: 'CONNECTION_LOST',
    message: CUT_SHORT,
  },
  {
    name: 'Connection: close, a chunked body with no last chunk, then a close',
    reply: { parts: [head('HTTP/1.1 200 OK', 'Connection: close', 'Transfer-Encoding: chunked') + '2\r\nok\r\n'], end: true },
    code: 'CONNECTION_LOST',
    message: CUT_SHORT,
  },
];

describe('hostile HTTP peer: malformed responses', () => {
  it.each(cases)('$name gives $code and the slot heals', async ({ reply, code, message }) => {
    const server = await startRawHttpServer(({ connection }) => (connection === 0 ? reply : ok()));
    const pool = await openHostilePool(server);
    expect(server.connections).toBe(1);
    await expectRejection(pool.request({ path: '/bad' }), code, message);
    await expectHealed(pool, server, 1);
  });
});
