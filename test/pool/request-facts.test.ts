/**
 * Issue 17, item 1: every request error carries its facts (requestId, slot, origin, attempt,
 * sent), so "was my order sent?" is answered without reading a message. The two resets a
 * CONNECTION_LOST used to hide behind one message are told apart: a server that resets
 * before reading (the socket refuses the write: `never-left`) and one that reads the whole
 * request and then resets (`written-no-response`: it may have acted).
 */
import net from 'node:net';
import { once } from 'node:events';
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LifelineError } from '../../src/index.js';
import { ownError, stampFacts } from '../../src/pool/request-trace.js';
import { openPool } from '../helpers/pool.js';
import { rejection } from '../helpers/errors.js';
import { startHttpServer } from '../helpers/http-server.js';

/** A raw TCP server on 127.0.0.1 port 0: `onSocket` gets each accepted socket. Closed with the test. */
async function rawServer(onSocket: (socket: net.Socket) => void, options: net.ServerOpts = {}): Promise<{ url: string; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer(options, (socket) => {
    socket.on('error', () => {});
    sockets.push(socket);
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    const closed = new Promise((resolve) => server.close(resolve));
    for (const socket of sockets) socket.destroy();
    await closed;
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, sockets };
}

function facts(error: LifelineError) {
  const { code, requestId, slot, origin, attempt, sent } = error;
  return { code, requestId, slot, origin, attempt, sent };
}

describe('request error facts', () => {
  it('a server that resets before reading: the socket refused the write, the order never left', async () => {
    // The server never reads (paused from accept) and resets the connection in the same turn as the
    // request is made: by the time undici writes, the reset is there, and the write itself fails.
    const server = await rawServer(() => {}, { pauseOnConnect: true });
    const pool = await openPool({ url: server.url, connections: 1, history: 0 });
    const lease = pool.tryAcquire()!;
    server.sockets[0]!.resetAndDestroy();
    const error = await rejection(lease.request({ method: 'POST', path: '/order', body: 'buy 1' }));
    lease.release();
    expect(error.message).toBe('connection lost: write ECONNRESET');
    expect(facts(error)).toEqual({ code: 'CONNECTION_LOST', requestId: expect.any(Number), slot: 0, origin: server.url, attempt: 1, sent: 'never-left' });
  });

  it('a server that reads the whole request, then resets: it may have acted (written-no-response)', async () => {
    let received = '';
    const server = await rawServer((socket) =>
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        if (received.endsWith('\r\n\r\nbuy 1')) socket.resetAndDestroy();
      }),
    );
    const pool = await openPool({ url: server.url, connections: 1, history: 0 });
    const error = await rejection(pool.request({ method: 'POST', path: '/order', body: 'buy 1' }));
    expect(received).toMatch(/^POST \/order HTTP\/1.1\r\n/);
    expect(error.message).toBe('connection lost: read ECONNRESET');
    expect(facts(error)).toEqual({ code: 'CONNECTION_LOST', requestId: expect.any(Number), slot: 0, origin: server.url, attempt: 1, sent: 'written-no-response' });
  });

  it('part of a response came: partial-response; each request has its own id', async () => {
    const server = await startHttpServer((req, res) => {
      if (req.url === '/cut') {
        res.setHeader('content-length', 100);
        res.write('x');
        setTimeout(() => res.socket?.destroy(), 5);
      } else res.end('ok');
    });
    const pool = await openPool({ url: server.url, connections: 1, history: 0 });
    const first = await rejection(pool.request({ path: '/cut' }));
    const second = await rejection(pool.request({ path: '/cut' }));
    expect(facts(first)).toMatchObject({ code: 'CONNECTION_LOST', slot: 0, origin: server.url, attempt: 1, sent: 'partial-response' });
    expect(second.requestId).toBe(first.requestId! + 1);
  });

  it('DEADLINE_EXCEEDED carries the same facts: before the send (never-left) and after it (written-no-response)', async () => {
    const server = await startHttpServer(() => {}); // never answers
    const pool = await openPool({ url: server.url, connections: 2, history: 0 });
    const late = await rejection(pool.request({ method: 'POST', path: '/order', body: 'x', deadline: Date.now() + 50 }));
    expect(facts(late)).toMatchObject({ code: 'DEADLINE_EXCEEDED', origin: server.url, attempt: 1, sent: 'written-no-response' });
    expect(late.slot).toBeTypeOf('number');
    const lease = pool.tryAcquire()!;
    const past = await rejection(lease.request({ path: '/order', deadline: Date.now() - 1 }));
    lease.release();
    expect(facts(past)).toEqual({ code: 'DEADLINE_EXCEEDED', requestId: expect.any(Number), slot: lease.slot, origin: server.url, attempt: 1, sent: 'never-left' });
  });

  it('a retried request: its error names the attempt that failed', async () => {
    // Every connection reads the whole GET and resets: the retry fails as the first did.
    const server = await rawServer((socket) => socket.on('data', (chunk) => chunk.includes('\r\n\r\n') && socket.resetAndDestroy()));
    const pool = await openPool({ url: server.url, connections: 1, history: 0 });
    const error = await rejection(pool.request({ path: '/ticker', retry: 1 }));
    expect(facts(error)).toMatchObject({ code: 'CONNECTION_LOST', attempt: 2, sent: 'written-no-response', origin: server.url });
  });

  it('through pool.dispatcher (undici.request) the error has the same facts', async () => {
    const server = await rawServer((socket) => socket.on('data', (chunk) => chunk.includes('\r\n\r\n') && socket.resetAndDestroy()));
    const pool = await openPool({ url: server.url, connections: 1, history: 0, replay: false });
    const error = await rejection(request(`${server.url}/order`, { method: 'POST', body: 'x', dispatcher: pool.dispatcher }));
    expect(facts(error)).toEqual({ code: 'CONNECTION_LOST', requestId: expect.any(Number), slot: 0, origin: server.url, attempt: 1, sent: 'written-no-response' });
  });

  it('no connection in time: ACQUIRE_TIMEOUT still names the request and its attempt, and nothing left', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 1, history: 0, acquireTimeout: 20 });
    const lease = pool.tryAcquire()!;
    const error = await rejection(pool.request({ path: '/' }));
    const viaDispatcher = await rejection(request(`${server.url}/`, { dispatcher: pool.dispatcher }));
    lease.release();
    const expected = { code: 'ACQUIRE_TIMEOUT', requestId: expect.any(Number), slot: undefined, origin: server.url, attempt: 1, sent: 'never-left' };
    expect(facts(error)).toEqual(expected);
    expect(facts(viaDispatcher)).toEqual(expected);
    expect(viaDispatcher.requestId).not.toBe(error.requestId);
  });

  it('an error object handed to two requests is copied for the second: one request never wears the facts of another', () => {
    const shared = new LifelineError('CONNECTION_LOST', 'the connection is closed');
    expect(ownError(shared, 7)).toBe(shared);
    stampFacts(shared, { id: 7, attempt: 1, repeat: 'first', queued: -1, acquired: -1 }, 0, 'http://a:1', 'never-left');
    expect(ownError(shared, 7)).toBe(shared);
    const copy = ownError(shared, 8);
    expect(copy).not.toBe(shared);
    expect([copy.code, copy.message, copy.requestId]).toEqual(['CONNECTION_LOST', 'the connection is closed', undefined]);
  });

  it('errors carry no secret: origins are scheme://host:port, never credentials', async () => {
    const server = await startHttpServer(() => {});
    const url = server.url.replace('http://', 'http://trader:hunter2-password@');
    const pool = await openPool({ url, connections: 1, history: 0 });
    const error = await rejection(pool.request({ path: '/x', query: { token: 'q-5ecret' }, deadline: Date.now() + 30 }));
    expect(error.origin).toBe(server.url);
    expect(JSON.stringify(facts(error))).not.toMatch(/hunter2|q-5ecret|trader/);
  });
});
