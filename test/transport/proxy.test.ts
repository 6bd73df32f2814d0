/**
 * The CONNECT tunnel of dial(), against proxies that misbehave: real sockets on 127.0.0.1,
 * a net server playing the proxy (the well-behaved proxy is tinyproxy: test/peers/proxy.test.ts).
 * Every failure is CONNECT_FAILED naming the proxy as http://host:port, settled once the
 * socket is gone; bytes behind a 2xx head are the tunnel's and reach its reader.
 */
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Cancel } from '../../src/transport/cancel.js';
import { dial, type DialTarget } from '../../src/transport/dial.js';
import { MAX_PROXY_HEAD } from '../../src/transport/proxy.js';
import { checkProxy } from '../../src/transport/proxy-options.js';
import { TEST_CERT, TEST_KEY } from '../fixtures/tls.js';
import { rejection } from '../helpers/errors.js';
import { waitFor } from '../helpers/pool.js';
import { listenOnLoopback } from '../helpers/loopback.js';

interface FakeProxy {
  port: number;
  url: string;
  /** Each CONNECT request head received, as text. */
  heads: string[];
  /** Client sockets that have closed on the proxy's side. */
  closed: number;
}

/** A net server that reads one request head per connection and hands it to `answer`. */
async function startFakeProxy(answer: (socket: net.Socket, head: string) => void): Promise<FakeProxy> {
  const proxy: FakeProxy = { port: 0, url: '', heads: [], closed: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      proxy.closed++;
      sockets.delete(socket);
    });
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      proxy.heads.push(text.slice(0, end + 4));
      answer(socket, text.slice(0, end + 4));
    };
    socket.on('data', onData);
  });
  proxy.port = await listenOnLoopback(server, sockets);
  proxy.url = `http://127.0.0.1:${proxy.port}`;
  return proxy;
}

function target(proxy: string, overrides: Partial<DialTarget> = {}): DialTarget {
  return { host: '127.0.0.1', port: 4000, tls: undefined, proxy: checkProxy('proxy', proxy)!.target, connectTimeout: 2_000, noDelay: true, keepAlive: 0, ...overrides };
}

const failure = (proxy: FakeProxy, reason: string) => `connect to 127.0.0.1:4000 through the proxy ${proxy.url} failed: ${reason}`;

async function dialed(promise: Promise<net.Socket>): Promise<net.Socket> {
  const socket = await promise;
  onTestFinished(() => void socket.destroy());
  return socket;
}

describe('dial through a CONNECT proxy', () => {
  it('sends CONNECT with Host and, from the URL credentials, Proxy-Authorization', async () => {
    const proxy = await startFakeProxy((socket) => socket.write('HTTP/1.1 200 Connection established\r\n\r\n'));
    await dialed(dial(target(`http://us%40er:p%3Ass@127.0.0.1:${proxy.port}`), new Cancel()));
    expect(proxy.heads).toEqual([
      `CONNECT 127.0.0.1:4000 HTTP/1.1\r\nHost: 127.0.0.1:4000\r\nProxy-Authorization: Basic ${Buffer.from('us@er:p:ss').toString('base64')}\r\n\r\n`,
    ]);
  });

  it('an IPv6 origin is written in brackets', async () => {
    const proxy = await startFakeProxy((socket) => socket.write('HTTP/1.0 200 OK\r\n\r\n'));
    await dialed(dial(target(proxy.url, { host: '::1', port: 443 }), new Cancel()));
    expect(proxy.heads[0]).toBe('CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n');
  });

  it.each([
    ['in the same write as the head', (socket: net.Socket) => socket.write('HTTP/1.1 200 OK\r\nVia: fake\r\n\r\nhello from the origin')],
    [
      'with the head split over writes',
      (socket: net.Socket) => {
        socket.write('HTTP/1.1 200 OK\r');
        setTimeout(() => socket.write('\n\r\nhello from the origin'), 20);
      },
    ],
  ])('bytes behind the 2xx head belong to the tunnel: %s', async (_name, answer) => {
    const proxy = await startFakeProxy(answer);
    for (const mode of ['data', 'readable'] as const) {
      const socket = await dialed(dial(target(proxy.url), new Cancel()));
      let received = '';
      if (mode === 'data') {
        socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      } else {
        // undici reads this way
        socket.on('readable', () => {
          for (let chunk; (chunk = socket.read() as Buffer | null) !== null; ) received += chunk.toString();
        });
      }
      await waitFor(() => received.length >= 21, () => ({ mode, received }));
      expect(received, mode).toBe('hello from the origin');
    }
  });

  it.each([
    ['a refusal', 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n', 'the proxy answered CONNECT with HTTP 407'],
    ['an origin the proxy cannot reach', 'HTTP/1.1 502 Bad Gateway\r\n\r\n', 'the proxy answered CONNECT with HTTP 502'],
    ['a 1xx', 'HTTP/1.1 100 Continue\r\n\r\n', 'the proxy answered CONNECT with HTTP 100'],
    ['no HTTP at all', 'SSH-2.0-OpenSSH_9.2\r\n\r\n', 'the proxy did not answer CONNECT with HTTP'],
    ['a malformed status', 'HTTP/1.1 2000 OK\r\n\r\n', 'the proxy did not answer CONNECT with HTTP'],
    ['HTTP/2 text', 'HTTP/2 200\r\n\r\n', 'the proxy did not answer CONNECT with HTTP'],
  ])('%s fails the dial with CONNECT_FAILED, the socket gone', async (_name, head, reason) => {
    const proxy = await startFakeProxy((socket) => socket.write(head));
    const error = await rejection(dial(target(proxy.url), new Cancel()));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toBe(failure(proxy, reason));
  });

  it('a response head past MAX_PROXY_HEAD fails, whether or not it ever ends', async () => {
    const endless = await startFakeProxy((socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Pad: ${'a'.repeat(MAX_PROXY_HEAD)}`));
    expect((await rejection(dial(target(endless.url), new Cancel()))).message).toBe(
      failure(endless, `the proxy's response head exceeds ${MAX_PROXY_HEAD} bytes`),
    );
    const long = await startFakeProxy((socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Pad: ${'a'.repeat(MAX_PROXY_HEAD)}\r\n\r\n`));
    expect((await rejection(dial(target(long.url), new Cancel()))).message).toBe(
      failure(long, `the proxy's response head exceeds ${MAX_PROXY_HEAD} bytes`),
    );
  });

  it('a proxy that closes before answering', async () => {
    const proxy = await startFakeProxy((socket) => socket.end('HTTP/1.1 200'));
    const error = await rejection(dial(target(proxy.url), new Cancel()));
    expect(error.message).toBe(failure(proxy, 'the proxy closed the connection before answering CONNECT'));
  });

  it('a proxy that never answers: connectTimeout covers the CONNECT, and the socket is closed', async () => {
    const proxy = await startFakeProxy(() => {});
    const error = await rejection(dial(target(proxy.url, { connectTimeout: 50 }), new Cancel()));
    expect(error.message).toBe(failure(proxy, 'no connection within connectTimeout (50 ms)'));
    await waitFor(() => proxy.closed === 1, () => proxy);
  });

  it('an abort during the CONNECT destroys the socket before the dial settles', async () => {
    const proxy = await startFakeProxy(() => {});
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const before = sockets();
    const cancel = new Cancel();
    const dialing = dial(target(proxy.url), cancel);
    await waitFor(() => proxy.heads.length === 1, () => proxy);
    expect(sockets()).toBe(before + 2); // ours, and the proxy's end of it
    cancel.cancel();
    const error = await rejection(dialing);
    expect(error.message).toBe(failure(proxy, 'aborted'));
    // Ours is gone when the dial settles; the proxy's end goes once it has read our FIN.
    expect(sockets()).toBeLessThanOrEqual(before + 1);
    await waitFor(() => proxy.closed === 1, () => proxy);
  });

  it('TLS inside the tunnel: the origin is verified; bytes from the proxy before TLS fail the dial', async () => {
    const origin = tls.createServer({ cert: TEST_CERT, key: TEST_KEY }, (socket) => socket.end('secret hello'));
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    onTestFinished(() => new Promise<void>((resolve) => origin.close(() => resolve())));
    const originPort = (origin.address() as net.AddressInfo).port;
    // A proxy that really tunnels: to the origin's port, whatever the CONNECT asked.
    const tunnel = await startFakeProxy((socket) => {
      const upstream = net.connect(originPort, '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 OK\r\n\r\n');
        socket.pipe(upstream).pipe(socket);
      });
      upstream.on('error', () => socket.destroy());
    });
    const secure = await dialed(dial(target(tunnel.url, { tls: { ca: TEST_CERT } }), new Cancel()));
    expect(secure).toBeInstanceOf(tls.TLSSocket);
    let text = '';
    secure.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await once(secure, 'end');
    expect(text).toBe('secret hello');

    const chatty = await startFakeProxy((socket) => socket.write('HTTP/1.1 200 OK\r\n\r\nnot TLS'));
    const error = await rejection(dial(target(chatty.url, { tls: { ca: TEST_CERT } }), new Cancel()));
    expect(error.message).toBe(failure(chatty, 'the proxy sent bytes before TLS began'));
  });
});
