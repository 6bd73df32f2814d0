/**
 * A node:http2 server of a test's own on 127.0.0.1, port 0 (h2c with prior knowledge, or TLS
 * with ALPN), cleanup registered at birth: what the HTTP/2 slot tests break for real. Each
 * stream goes to the test's `onStream`, which answers it, refuses it, resets it, or sends its
 * session a GOAWAY; the server counts sessions and streams. A `FreezingRelay` in front of it
 * stops forwarding bytes both ways while the TCP connection stays up: a server that answers no PING.
 */
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { onTestFinished } from 'vitest';
import { TEST_CERT, TEST_KEY } from '../fixtures/tls.js';

export const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_INTERNAL_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

export interface H2Context {
  /** The stream's number on its session, from 1 (stream ids are 2n - 1). */
  nth: number;
  session: http2.ServerHttp2Session;
  /** Every session the server has accepted, in order. */
  sessions: http2.ServerHttp2Session[];
  headers: http2.IncomingHttpHeaders;
}

export type H2Handler = (stream: http2.ServerHttp2Stream, context: H2Context) => void;

/** Answers 200 with the method and path, after reading the request body (echoed as `x-body-length`). */
export function answer(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, delay = 0): void {
  let length = 0;
  stream.on('data', (chunk: Buffer) => (length += chunk.length));
  stream.on('end', () => {
    const send = () => {
      if (stream.destroyed || stream.closed) return;
      stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-body-length': String(length) });
      stream.end(`${String(headers[':method'])} ${String(headers[':path'])}`);
    };
    if (delay > 0) setTimeout(send, delay);
    else send();
  });
}

export interface H2Server {
  url: string;
  port: number;
  server: http2.Http2Server | http2.Http2SecureServer;
  sessions: http2.ServerHttp2Session[];
  /** Streams received, over all sessions. */
  readonly streams: number;
  /** Destroys every session's socket at once: the server process died (it keeps listening). */
  killSessions(): void;
}

export async function startH2Server(onStream: H2Handler = (stream, { headers }) => answer(stream, headers), options: { tls?: boolean; settings?: http2.Settings } = {}): Promise<H2Server> {
  const settings = options.settings ?? {};
  const server = options.tls
    ? http2.createSecureServer({ cert: TEST_CERT, key: TEST_KEY, settings })
    : http2.createServer({ settings });
  const sessions: http2.ServerHttp2Session[] = [];
  const counts = new Map<http2.ServerHttp2Session, number>();
  let streams = 0;
  server.on('session', (session) => {
    sessions.push(session);
    session.on('error', () => {});
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const session = stream.session as http2.ServerHttp2Session;
    const nth = (counts.get(session) ?? 0) + 1;
    counts.set(session, nth);
    streams++;
    onStream(stream, { nth, session, sessions, headers });
  });
  // The raw sockets, to kill: node:http2 forbids touching a session's socket.
  const sockets = new Set<net.Socket>();
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  onTestFinished(async () => {
    for (const session of sessions) session.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    server,
    sessions,
    get streams() {
      return streams;
    },
    killSessions() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

export interface FreezingRelay {
  url: string;
  /** Stops forwarding bytes both ways; TCP stays up. */
  freeze(): void;
  readonly frozen: boolean;
}

/** A TCP relay to `port` on 127.0.0.1 that can freeze (see the module comment). */
export async function startFreezingRelay(port: number): Promise<FreezingRelay> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const relay = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (data) => void (frozen || upstream.write(data)));
    upstream.on('data', (data) => void (frozen || client.write(data)));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => relay.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`,
    freeze: () => void (frozen = true),
    get frozen() {
      return frozen;
    },
  };
}

export interface DyingH2Server extends H2Server {
  /** Whether it has died. */
  readonly killed: boolean;
  /** How many times each POST's path reached it. */
  readonly posts: ReadonlyMap<string, number>;
}

/**
 * A server that dies at its `at`th stream: every session's socket destroyed at once, that stream and
 * every other in flight unanswered. Before, each stream is answered after `delay` ms, or held when
 * `delay` is -1 (nothing answered before it dies); after, it answers at once (it keeps listening, as a
 * restarted process would: the replays and the slots' redials reach it).
 */
export async function startDyingH2Server(at: number, delay: number): Promise<DyingH2Server> {
  const posts = new Map<string, number>();
  let killed = false;
  const server: H2Server = await startH2Server((stream, { headers }) => {
    const path = String(headers[':path']);
    if (headers[':method'] === 'POST') posts.set(path, (posts.get(path) ?? 0) + 1);
    if (killed) return answer(stream, headers);
    if (server.streams === at) {
      killed = true;
      // From outside the session's own callback, all at once, as a dead process's sockets close: one
      // destroyed from inside its session's stream handler was seen to close turns after the others.
      setImmediate(() => server.killSessions());
      return;
    }
    if (delay >= 0) answer(stream, headers, delay);
  });
  // Getters kept as getters (Object.assign would copy their values once).
  return Object.defineProperties(server, { killed: { get: () => killed }, posts: { value: posts } }) as DyingH2Server;
}

/** A server one of whose connections, the one that gets the first stream (the warmest), refuses every stream it gets. */
export async function startRefusingH2Server(): Promise<H2Server & { readonly refused: number }> {
  let refused = 0;
  let refusing: unknown;
  const server = await startH2Server((stream, { session, headers }) => {
    refusing ??= session;
    if (session !== refusing) return answer(stream, headers);
    refused++;
    stream.close(NGHTTP2_REFUSED_STREAM);
  });
  return Object.defineProperty(server, 'refused', { get: () => refused }) as H2Server & { readonly refused: number };
}
