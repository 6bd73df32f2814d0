/**
 * The fault servers of lifeline/testing against real clients on loopback
 * (node:net, node:http with a keep-alive Agent, ws): every control does what
 * its doc comment says. Timing is asserted only as an order of events, never
 * as a speed.
 */
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { startHttpServer } from '../helpers/http-server.js';
import { waitFor } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';
import type { FaultWsSocket } from '../../src/testing/index.js';

/** Rejects if `promise` has not settled within `ms`: turns a hang into a quick, named failure. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** A raw TCP connection, destroyed when the test finishes; rejects with the dial error. */
async function dial(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  onTestFinished(() => {
    socket.destroy();
  });
  await once(socket, 'connect');
  return socket;
}

/** Resolves once `socket` has closed (at once if it already has). */
async function whenClosed(socket: net.Socket): Promise<void> {
  if (socket.closed) return;
  await once(socket, 'close');
}

/** Everything a raw socket reads, as text. */
function reader(socket: net.Socket): () => string {
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  return () => text;
}

const count = (text: string, part: string) => text.split(part).length - 1;

const GET = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n';

// ---------------------------------------------------------------- HTTP client

/** A keep-alive agent with one socket, so consecutive requests share a connection. */
function keepAliveAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  onTestFinished(() => agent.destroy());
  return agent;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The client socket the request went out on. */
  socket: net.Socket;
  /** Whether that socket was an idle keep-alive socket reused for this request. */
  reused: boolean;
}

/** One GET through `agent`: the request, and its whole reply (rejects with the socket error). */
function get(url: string, agent: http.Agent): { req: http.ClientRequest; reply: Promise<Reply> } {
  const req = http.get(url, { agent });
  let socket: net.Socket | undefined;
  req.once('socket', (s: net.Socket) => (socket = s));
  const reply = new Promise<Reply>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('error', reject);
      res.once('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body, socket: socket!, reused: req.reusedSocket }),
      );
    });
  });
  return { req, reply };
}

// ----------------------------------------------------------- WebSocket client

/** A WebSocket client, terminated when the test finishes. Errors are left to the test to await. */
function openWs(url: string, options?: ClientOptions): WebSocket {
  const ws = new WebSocket(url, options);
  // A terminated or refused client emits 'error'; the tests await it with once() where it matters.
  ws.on('error', () => {});
  onTestFinished(() => ws.terminate());
  return ws;
}

async function connectWs(url: string): Promise<WebSocket> {
  const ws = openWs(url);
  await once(ws, 'open');
  return ws;
}

/** The client's raw TCP socket, known once the handshake response arrives. */
function tcpOf(ws: WebSocket): Promise<net.Socket> {
  return new Promise((resolve) => ws.once('upgrade', (res: http.IncomingMessage) => resolve(res.socket as net.Socket)));
}

/** Messages and pongs as the client saw them, in order: `text`, `pong:data`. */
function record(ws: WebSocket): string[] {
  const events: string[] = [];
  ws.on('message', (data, isBinary) => events.push(isBinary ? `binary:${String(data)}` : String(data)));
  ws.on('pong', (data) => events.push(`pong:${String(data)}`));
  return events;
}

const echo = (socket: FaultWsSocket, text: string) => socket.send(`echo:${text}`);

// ======================================================================= HTTP

describe('FaultHttpServer', () => {
  it('counts connections, requests, and requests per keep-alive connection', async () => {
    const server = await startHttpServer();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect([server.connections, server.requests, server.requestsPerConnection]).toEqual([0, 0, []]);

    const first = keepAliveAgent();
    const replies: Reply[] = [];
    for (let i = 0; i < 3; i++) replies.push(await get(server.url, first).reply);
    expect(replies.map((r) => [r.status, r.body, r.reused])).toEqual([
      [200, 'ok', false],
      [200, 'ok', true],
      [200, 'ok', true],
    ]);
    const last = await get(server.url, keepAliveAgent()).reply;
    expect(last.reused).toBe(false);

    expect(server.connections).toBe(2);
    expect(server.requests).toBe(4);
    expect(server.requestsPerConnection).toEqual([3, 1]);
    expect(server.sockets.size).toBe(2);
  });

  it('forgetClosed() drops the counts of closed connections; the open ones keep counting, in order', async () => {
    const server = await startHttpServer();
    const a = await dial(server.port);
    const b = await dial(server.port);
    const readA = reader(a);
    const readB = reader(b);
    a.write(GET);
    b.write(GET + GET);
    await waitFor(() => count(readA(), 'HTTP/1.1 200') === 1 && count(readB(), 'HTTP/1.1 200') === 2, () => [readA(), readB()]);
    expect(server.requestsPerConnection).toEqual([1, 2]);
    expect(server.forgetClosed()).toBe(0);
    a.destroy();
    await waitFor(() => server.sockets.size === 1, () => server.sockets.size);
    expect(server.forgetClosed()).toBe(1);
    expect(server.requestsPerConnection).toEqual([2]);
    b.write(GET);
    await waitFor(() => count(readB(), 'HTTP/1.1 200') === 3, () => readB());
    expect(server.requestsPerConnection).toEqual([3]);
    expect(server.connections).toBe(2);
  });

  it('refuse(): new connections get ECONNREFUSED, an open keep-alive socket still serves; accept() listens on the same port', async () => {
    const server = await startHttpServer();
    const port = server.port;
    const agent = keepAliveAgent();
    await get(server.url, agent).reply;

    await server.refuse();
    expect(server.listening).toBe(false);
    await expect(dial(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(get(server.url, keepAliveAgent()).reply).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const reused = await get(server.url, agent).reply;
    expect([reused.status, reused.body, reused.reused]).toEqual([200, 'ok', true]);
    expect(server.requestsPerConnection).toEqual([2]);

    await server.accept();
    expect(server.listening).toBe(true);
    expect(server.port).toBe(port);
    const fresh = await get(server.url, keepAliveAgent()).reply;
    expect([fresh.body, fresh.reused]).toEqual(['ok', false]);
    expect(server.requestsPerConnection).toEqual([2, 1]);
    expect(server.connections).toBe(2);
  });

  it('stop() refuses new connections and drops open ones; restart() listens on the same port', async () => {
    const server = await startHttpServer();
    const port = server.port;
    const agent = keepAliveAgent();
    const before = await get(server.url, agent).reply;

    await server.stop();
    expect(server.listening).toBe(false);
    await whenClosed(before.socket);
    await waitFor(() => server.sockets.size === 0, () => server.sockets.size);
    await expect(dial(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await server.restart();
    expect(server.listening).toBe(true);
    expect(server.port).toBe(port);
    const after = await get(server.url, agent).reply;
    expect([after.body, after.reused]).toEqual(['ok', false]);
    expect(server.requestsPerConnection).toEqual([1, 1]);
  });

  it('dropAll(): every open socket ends with a FIN, not an error; a keep-alive client reconnects', async () => {
    const server = await startHttpServer();
    const raw = await dial(server.port);
    await waitFor(() => server.connections === 1, () => server.connections);
    const agent = keepAliveAgent();
    const first = await get(server.url, agent).reply;
    expect(server.sockets.size).toBe(2);

    const errors: unknown[] = [];
    raw.on('error', (error) => errors.push(error));
    raw.resume();
    const rawEnded = once(raw, 'end');
    const rawClosed = once(raw, 'close');
    server.dropAll();
    await rawEnded;
    const [hadError] = await rawClosed;
    expect(hadError).toBe(false);
    expect(errors).toEqual([]);
    await whenClosed(first.socket);

    const second = await get(server.url, agent).reply;
    expect([second.body, second.reused]).toEqual(['ok', false]);
    expect(server.requestsPerConnection).toEqual([0, 1, 1]);
    expect(server.listening).toBe(true);
  });

  it('resetAll(): every open socket is reset: an idle client and an in-flight request see ECONNRESET', async () => {
    const server = await startHttpServer();
    const raw = await dial(server.port);
    server.blackHole();
    const inFlight = get(server.url, keepAliveAgent());
    await waitFor(() => server.requests === 1, () => server.requests);

    const rawError = once(raw, 'error');
    server.resetAll();
    const [error] = (await rawError) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNRESET');
    await expect(inFlight.reply).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(server.listening).toBe(true);
  });

  it('blackHole(): a request is counted and never answered; heal() answers the next one', async () => {
    const server = await startHttpServer();
    server.blackHole();
    const swallowed = get(server.url, keepAliveAgent());
    let answered = false;
    swallowed.reply.then(
      () => (answered = true),
      () => {},
    );
    await waitFor(() => server.requests === 1, () => server.requests);
    const [held] = server.sockets;

    server.heal();
    const next = await get(server.url, keepAliveAgent()).reply;
    expect(next.body).toBe('ok');
    // Had it been answered, it was written before the second request was even sent.
    expect(answered).toBe(false);
    expect(held!.bytesWritten).toBe(0);
    expect(server.requests).toBe(2);
    expect(server.requestsPerConnection).toEqual([1, 1]);
    swallowed.req.destroy();
  });

  it('delay(ms): the response is held while the server has the request, then arrives; delay(0) turns it off', async () => {
    const server = await startHttpServer();
    server.delay(200);
    let arrived = false;
    // Runs right after the fault server counted the request; the check runs half-way
    // through the delay (a 100 ms timer set after the 200 ms one always fires first).
    const halfway = new Promise<{ requests: number; endedAtReceipt: boolean; ended: boolean; arrived: boolean }>((resolve) =>
      server.server.once('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
        const endedAtReceipt = res.writableEnded;
        setTimeout(() => resolve({ requests: server.requests, endedAtReceipt, ended: res.writableEnded, arrived }), 100);
      }),
    );
    const { reply } = get(server.url, keepAliveAgent());
    void reply.then(
      () => (arrived = true),
      () => {},
    );
    expect(await halfway).toEqual({ requests: 1, endedAtReceipt: false, ended: false, arrived: false });
    const delayed = await reply;
    expect([delayed.status, delayed.body]).toEqual([200, 'ok']);

    server.delay(0);
    const endedAtReceipt: boolean[] = [];
    server.server.once('request', (_req: http.IncomingMessage, res: http.ServerResponse) => endedAtReceipt.push(res.writableEnded));
    expect((await get(server.url, keepAliveAgent()).reply).body).toBe('ok');
    expect(endedAtReceipt).toEqual([true]);
  });

  it('closeAfter(n): the connection ends after the nth response, which carries no Connection: close', async () => {
    const server = await startHttpServer();
    server.closeAfter(2);
    const agent = keepAliveAgent();
    const first = await get(server.url, agent).reply;
    const second = await get(server.url, agent).reply;
    expect(second.reused).toBe(true);
    expect(second.socket).toBe(first.socket);
    // Both responses look reusable: the stale keep-alive case.
    expect([first.headers.connection, second.headers.connection]).toEqual(['keep-alive', 'keep-alive']);

    // A keep-alive agent never closes an idle socket itself: the server did.
    await whenClosed(second.socket);
    expect(server.requestsPerConnection).toEqual([2]);
    const third = await get(server.url, agent).reply;
    expect([third.body, third.reused]).toEqual(['ok', false]);
    expect(server.requestsPerConnection).toEqual([2, 1]);
  });

  it('connectionClose(): the response carries Connection: close and the server closes the socket; connectionClose(false) keeps it', async () => {
    const server = await startHttpServer();
    server.connectionClose();
    // A raw client, which never closes a socket by itself, asking for keep-alive.
    const raw = await dial(server.port);
    const text = reader(raw);
    const ended = once(raw, 'end');
    raw.write(GET);
    await ended;
    expect(text()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text().toLowerCase()).toContain('\r\nconnection: close\r\n');
    expect(text()).toMatch(/\r\n\r\nok$/);

    // A keep-alive agent sees the header too.
    expect((await get(server.url, keepAliveAgent()).reply).headers.connection).toBe('close');

    server.connectionClose(false);
    const open = await dial(server.port);
    const openText = reader(open);
    open.write(GET);
    await waitFor(() => openText().endsWith('\r\n\r\nok'), openText);
    expect(openText().toLowerCase()).toContain('\r\nconnection: keep-alive\r\n');
    open.write(GET); // the same socket serves again
    await waitFor(() => count(openText(), 'HTTP/1.1 200 OK') === 2 && openText().endsWith('ok'), openText);
    expect(server.requestsPerConnection).toEqual([1, 1, 2]);
  });

  it('heal() clears blackHole, delay, closeAfter, connectionClose, keepAliveRequests, http10 and idleTimeout', async () => {
    const server = await startHttpServer();
    server.blackHole();
    server.delay(60_000);
    server.closeAfter(1);
    server.connectionClose();
    server.keepAliveRequests(1);
    server.http10();
    server.idleTimeout(1);
    server.heal();
    // Node's own keep-alive timeout (and its announcement) is back.
    expect(server.server.keepAliveTimeout).toBe(60_000);

    // Answered at once (no black hole, no delay): the response is ended when the request is counted.
    const endedAtReceipt: boolean[] = [];
    server.server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => endedAtReceipt.push(res.writableEnded));
    const agent = keepAliveAgent();
    const replies: Reply[] = [];
    for (let i = 0; i < 3; i++) replies.push(await within(get(server.url, agent).reply, 5_000, `request ${i + 1}`));
    expect(endedAtReceipt).toEqual([true, true, true]);
    expect(replies.map((r) => [r.body, r.headers.connection, r.headers['keep-alive'], r.reused])).toEqual([
      ['ok', 'keep-alive', 'timeout=60', false],
      ['ok', 'keep-alive', 'timeout=60', true],
      ['ok', 'keep-alive', 'timeout=60', true],
    ]);
    expect(replies.every((r) => r.socket.closed === false)).toBe(true);
    expect(server.requestsPerConnection).toEqual([3]);
  });
});

// ========================================================== HTTP normal ends

/** The head of the nth response (1-based) in a raw socket's text, lowercased, or '' if not there yet. */
function head(text: string, n: number): string {
  const start = text.split('HTTP/1.')[n];
  return start === undefined ? '' : ('HTTP/1.' + start.split('\r\n\r\n')[0]).toLowerCase();
}

/** Resolves with the text read and whether the socket closed with an error, once the server has ended it. */
async function ended(socket: net.Socket, text: () => string): Promise<{ text: string; hadError: boolean }> {
  const [hadError] = socket.closed ? [false] : ((await once(socket, 'close')) as [boolean]);
  return { text: text(), hadError };
}

/** Sends a GET on a raw socket and waits for its `ok`, the nth on that socket. */
async function ask(raw: net.Socket, text: () => string, nth: number): Promise<void> {
  raw.write(GET);
  await waitFor(() => count(text(), '\r\n\r\nok') === nth, text);
}

describe('FaultHttpServer: the normal ends of real servers', () => {
  it('connections and closedConnections count connections accepted and closed, whoever closed them', async () => {
    const server = await startHttpServer();
    const a = await dial(server.port);
    await dial(server.port);
    await waitFor(() => server.connections === 2, () => server.connections);
    expect(server.closedConnections).toBe(0);
    a.destroy(); // the client closes one
    await waitFor(() => server.closedConnections === 1, () => server.closedConnections);
    server.dropAll(); // the server closes the other
    await waitFor(() => server.closedConnections === 2, () => server.closedConnections);
    expect(server.connections).toBe(2);
    // A connection still open is not counted.
    await dial(server.port);
    await waitFor(() => server.connections === 3, () => server.connections);
    expect(server.closedConnections).toBe(2);
  });

  it('keepAliveRequests(n): the nth response on each connection says Connection: close, then the server sends a FIN', async () => {
    const server = await startHttpServer();
    server.keepAliveRequests(3);
    const raw = await dial(server.port);
    const text = reader(raw);
    for (let i = 1; i <= 3; i++) {
      await ask(raw, text, i);
    }
    const { hadError } = await ended(raw, text);
    expect(hadError).toBe(false);
    expect([1, 2, 3].map((n) => /\r\nconnection: (\S+)\r\n/.exec(head(text(), n))?.[1])).toEqual(['keep-alive', 'keep-alive', 'close']);
    expect(head(text(), 3)).not.toContain('keep-alive:');
    // The next connection starts counting afresh; keepAliveRequests(undefined) turns it off.
    server.keepAliveRequests(undefined);
    const agent = keepAliveAgent();
    const replies: Reply[] = [];
    for (let i = 0; i < 4; i++) replies.push(await get(server.url, agent).reply);
    expect(replies.map((r) => r.headers.connection)).toEqual(['keep-alive', 'keep-alive', 'keep-alive', 'keep-alive']);
    expect(server.requestsPerConnection).toEqual([3, 4]);
    expect(() => server.keepAliveRequests(0)).toThrow(RangeError);
  });

  it('http10(): HTTP/1.0 responses with Content-Length, no Connection or Keep-Alive header, and a FIN after every one', async () => {
    const server = await startHttpServer();
    server.http10();
    const raw = await dial(server.port);
    const text = reader(raw);
    raw.write(GET); // a keep-alive HTTP/1.1 request, as undici sends
    const { hadError } = await ended(raw, text);
    expect(hadError).toBe(false);
    expect(text()).toMatch(/^HTTP\/1\.0 200 OK\r\n/);
    expect(text()).toMatch(/\r\n\r\nok$/);
    const h = head(text(), 1);
    expect(h).toContain('\r\ncontent-length: 2');
    expect(h).not.toContain('connection:');
    expect(h).not.toContain('keep-alive:');
    expect(h).not.toContain('transfer-encoding:');

    // A keep-alive client gets each response on a fresh connection.
    const agent = keepAliveAgent();
    const replies: Reply[] = [];
    for (let i = 0; i < 3; i++) replies.push(await get(server.url, agent).reply);
    expect(replies.map((r) => [r.status, r.body, r.headers['content-length'], r.reused])).toEqual([
      [200, 'ok', '2', false],
      [200, 'ok', '2', false],
      [200, 'ok', '2', false],
    ]);
    expect(server.requestsPerConnection).toEqual([1, 1, 1, 1]);
    await waitFor(() => server.closedConnections === 4, () => server.closedConnections);

    server.http10(false);
    const back = await get(server.url, agent).reply;
    expect([back.body, back.headers.connection]).toEqual(['ok', 'keep-alive']);
  });

  it('http10({ contentLength: false }), or a streamed body: no length, the body ends at EOF', async () => {
    const server = await startHttpServer((req, res) => {
      if (req.url === '/stream') {
        res.write('str');
        setTimeout(() => res.end('eamed'), 10);
      } else res.end('whole body');
    });
    server.http10(true, { contentLength: false });
    for (const [path, body] of [
      ['/', 'whole body'],
      ['/stream', 'streamed'],
    ] as const) {
      const raw = await dial(server.port);
      const text = reader(raw);
      raw.write(GET.replace('GET / ', `GET ${path} `));
      const { hadError } = await ended(raw, text);
      expect(hadError).toBe(false);
      expect(text()).toMatch(/^HTTP\/1\.0 200 OK\r\n/);
      expect(text().endsWith(`\r\n\r\n${body}`)).toBe(true);
      expect(head(text(), 1)).not.toMatch(/content-length|transfer-encoding|connection|keep-alive/);
    }
    // With Content-Length on, a streamed body still has no length (HTTP/1.0 has no chunks).
    server.http10();
    const streamed = await get(`${server.url}/stream`, keepAliveAgent()).reply;
    expect([streamed.body, streamed.headers['content-length'], streamed.headers['transfer-encoding']]).toEqual(['streamed', undefined, undefined]);
  });

  it('idleTimeout(ms): a connection idle that long after its last response gets a FIN, unannounced; requests restart the clock; one that never served is left alone', async () => {
    const server = await startHttpServer();
    server.idleTimeout(500);
    const never = await dial(server.port);
    const raw = await dial(server.port);
    const text = reader(raw);
    // Requests 200 ms apart keep the connection open well past 500 ms.
    for (let i = 1; i <= 4; i++) {
      if (i > 1) await new Promise((resolve) => setTimeout(resolve, 200));
      await ask(raw, text, i);
      expect(raw.readableEnded).toBe(false);
    }
    const lastAt = performance.now();
    const { hadError } = await ended(raw, text);
    expect(hadError).toBe(false);
    // A timer never fires early (bar rounding): the close came after the idle time.
    expect(performance.now() - lastAt).toBeGreaterThanOrEqual(450);
    expect(server.requestsPerConnection).toEqual([0, 4]);
    for (let n = 1; n <= 4; n++) {
      expect(head(text(), n)).toContain('\r\nconnection: keep-alive');
      expect(head(text(), n)).not.toContain('keep-alive:');
    }
    expect(never.readableEnded).toBe(false);
    await waitFor(() => server.closedConnections === 1, () => server.closedConnections);
    expect(server.sockets.size).toBe(1);

    server.idleTimeout(undefined);
    expect(server.server.keepAliveTimeout).toBe(60_000);
    expect(() => server.idleTimeout(0)).toThrow(RangeError);
  });

  it('keepAliveTimeout(s): announces Keep-Alive: timeout=s and keeps its word with a FIN after s idle', async () => {
    const server = await startHttpServer();
    server.keepAliveTimeout(1);
    const raw = await dial(server.port);
    const text = reader(raw);
    await ask(raw, text, 1);
    const servedAt = performance.now();
    const { hadError } = await ended(raw, text);
    expect(hadError).toBe(false);
    expect(performance.now() - servedAt).toBeGreaterThanOrEqual(950);
    expect(head(text(), 1)).toContain('\r\nconnection: keep-alive\r\n');
    expect(head(text(), 1)).toContain('\r\nkeep-alive: timeout=1');
    // A response that closes anyway announces nothing.
    server.keepAliveRequests(1);
    const last = await get(server.url, keepAliveAgent()).reply;
    expect([last.headers.connection, last.headers['keep-alive']]).toEqual(['close', undefined]);
    expect(() => server.keepAliveTimeout(0.5)).toThrow(RangeError);
  });

  it('closeAfter(n): the nth response is written in full, then a FIN (no reset, no Connection: close)', async () => {
    const server = await startHttpServer();
    server.closeAfter(2);
    const raw = await dial(server.port);
    const text = reader(raw);
    await ask(raw, text, 1);
    raw.write(GET);
    const { hadError } = await ended(raw, text);
    expect(hadError).toBe(false);
    expect(count(text(), '\r\n\r\nok')).toBe(2);
    expect(text().endsWith('\r\n\r\nok')).toBe(true);
    expect(head(text(), 2)).toContain('\r\nconnection: keep-alive\r\n');
    await waitFor(() => server.closedConnections === 1, () => server.closedConnections);
  });

  it('endAll(): an idle connection gets a FIN now, a busy one its whole response (Connection: close) then a FIN; new connections are served', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = await startHttpServer((req, res) => {
      if (req.url === '/slow') void held.then(() => res.end('slow body'));
      else if (req.url === '/begun') {
        res.writeHead(200, { 'content-length': '7' });
        res.write('par');
        void held.then(() => res.end('tial'));
      } else res.end('ok');
    });
    const served = await dial(server.port); // idle after one response
    const servedText = reader(served);
    await ask(served, servedText, 1);
    const never = await dial(server.port); // idle, never asked anything
    const busy = await dial(server.port);
    const busyText = reader(busy);
    busy.write(GET.replace('GET / ', 'GET /slow '));
    const begun = await dial(server.port);
    const begunText = reader(begun);
    begun.write(GET.replace('GET / ', 'GET /begun '));
    await waitFor(() => begunText().endsWith('par'), begunText);
    await waitFor(() => server.requests === 3, () => server.requests);

    server.endAll();
    never.resume();
    expect((await ended(served, servedText)).hadError).toBe(false);
    expect((await ended(never, () => '')).hadError).toBe(false);
    expect(busy.readableEnded).toBe(false);
    expect(busyText()).toBe('');

    release();
    const slow = await ended(busy, busyText);
    expect(slow.hadError).toBe(false);
    expect(slow.text).toMatch(/\r\n\r\nslow body$/);
    // Its head was not written yet: it says so, as nginx's old worker does.
    expect(head(slow.text, 1)).toContain('\r\nconnection: close\r\n');
    // This one was under way: finished as it began (keep-alive), then the FIN.
    const partial = await ended(begun, begunText);
    expect(partial.hadError).toBe(false);
    expect(partial.text).toMatch(/\r\n\r\npartial$/);
    expect(head(partial.text, 1)).toContain('\r\nconnection: keep-alive\r\n');

    // The listener stays: a new connection is served (the new workers after a reload).
    expect(server.listening).toBe(true);
    const after = await get(server.url, keepAliveAgent()).reply;
    expect(after.body).toBe('ok');
    await waitFor(() => server.closedConnections === 4, () => server.closedConnections);
    expect(server.connections).toBe(5);
  });
});

// ================================================================== WebSocket

describe('FaultWsServer', () => {
  it('received logs each connection’s messages in order; clients and closedAt track open sockets; broadcast reaches every client', async () => {
    const server = await startWsServer();
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}`);
    const a = await connectWs(server.url);
    const b = await connectWs(server.url);
    expect(server.clients.size).toBe(2);
    expect(server.connections).toBe(2);
    expect(server.acceptedAt).toHaveLength(2);

    a.send('a1');
    a.send('a2');
    b.send('b1');
    await waitFor(() => server.received[0]?.length === 2 && server.received[1]?.length === 1, () => server.received);
    expect(server.received).toEqual([['a1', 'a2'], ['b1']]);

    const gotA = record(a);
    const gotB = record(b);
    server.broadcast('hello');
    server.broadcast(Buffer.from('bytes'));
    await waitFor(() => gotA.length === 2 && gotB.length === 2, () => [gotA, gotB]);
    expect(gotA).toEqual(['hello', 'binary:bytes']);
    expect(gotB).toEqual(['hello', 'binary:bytes']);

    expect(server.closedAt).toEqual([undefined, undefined]);
    a.close();
    await once(a, 'close');
    await waitFor(() => server.clients.size === 1, () => server.clients.size);
    // closedAt tells which logs belong to connections still open.
    expect(server.closedAt[0]).toBeGreaterThanOrEqual(server.acceptedAt[0]!);
    expect(server.closedAt[1]).toBeUndefined();
    server.broadcast('again');
    await waitFor(() => gotB.length === 3, () => gotB);
    expect(gotB[2]).toBe('again');
    expect(gotA).toEqual(['hello', 'binary:bytes']);
    // The log outlives the connection.
    expect(server.received).toEqual([['a1', 'a2'], ['b1']]);
  });

  it('forgetClosed() hands back and drops the logs of closed connections; the open ones stay, in order, and keep logging', async () => {
    const server = await startWsServer();
    const a = await connectWs(server.url);
    const b = await connectWs(server.url);
    const c = await connectWs(server.url);
    a.send('a1');
    b.send('b1');
    c.send('c1');
    await waitFor(() => server.received.every((log) => log.length === 1) && server.received.length === 3, () => server.received);
    expect(server.forgetClosed()).toEqual([]);
    b.close();
    await once(b, 'close');
    await waitFor(() => server.clients.size === 2, () => server.clients.size);
    const acceptedB = server.acceptedAt[1]!;
    const forgotten = server.forgetClosed();
    expect(forgotten).toEqual([{ index: 1, received: ['b1'], acceptedAt: acceptedB, closedAt: expect.any(Number) }]);
    expect(server.received).toEqual([['a1'], ['c1']]);
    expect(server.closedAt).toEqual([undefined, undefined]);
    expect(server.acceptedAt).toHaveLength(2);
    c.send('c2');
    await waitFor(() => server.received[1]?.length === 2, () => server.received);
    expect(server.received).toEqual([['a1'], ['c1', 'c2']]);
    c.close();
    await once(c, 'close');
    await waitFor(() => server.closedAt[1] !== undefined, () => server.closedAt);
    expect(server.closedAt[0]).toBeUndefined();
    expect(server.forgetClosed().map((log) => [log.index, log.received])).toEqual([[2, ['c1', 'c2']]]);
    expect(server.received).toEqual([['a1']]);
  });

  it('answerPings(false): a ping gets no pong; answerPings(true): it does', async () => {
    const server = await startWsServer({ onMessage: echo });
    server.answerPings(false);
    const ws = await connectWs(server.url);
    const events = record(ws);
    // Frames are handled in order: a pong for p1 would arrive before the echo of m1.
    ws.ping('p1');
    ws.send('m1');
    await waitFor(() => events.length >= 1, () => events);
    expect(events).toEqual(['echo:m1']);

    server.answerPings(true);
    ws.ping('p2');
    ws.send('m2');
    await waitFor(() => events.length >= 3, () => events);
    expect(events).toEqual(['echo:m1', 'pong:p2', 'echo:m2']);
  });

  it('silence(): broadcasts and onMessage replies are withheld but pings answered; silence(false) speaks again', async () => {
    const server = await startWsServer({ onMessage: echo });
    const ws = await connectWs(server.url);
    const events = record(ws);

    server.silence();
    server.broadcast('b1');
    ws.send('m1');
    ws.ping('p1');
    // Anything sent for b1 or m1 would arrive before the pong.
    await waitFor(() => events.length >= 1, () => events);
    expect(events).toEqual(['pong:p1']);
    expect(server.received).toEqual([['m1']]);
    expect(ws.readyState).toBe(WebSocket.OPEN);

    server.silence(false);
    server.broadcast('b2');
    ws.send('m2');
    await waitFor(() => events.length >= 3, () => events);
    expect(events).toEqual(['pong:p1', 'b2', 'echo:m2']);
  });

  it('sendOversized(bytes): every client receives a text message of that size, silent or not', async () => {
    const server = await startWsServer();
    const roomy = await connectWs(server.url);
    const small = openWs(server.url, { maxPayload: 1024 });
    await once(small, 'open');
    server.silence();

    const [, smallOnServer] = server.clients;
    const roomyGot = once(roomy, 'message');
    const smallError = once(small, 'error');
    const smallRefused = new Promise<number>((resolve) => smallOnServer!.once('close', (code: number) => resolve(code)));
    server.sendOversized(64 * 1024);
    const [data, isBinary] = (await roomyGot) as [Buffer, boolean];
    expect(isBinary).toBe(false);
    expect(data.length).toBe(64 * 1024);
    expect(data.toString()).toBe('x'.repeat(64 * 1024));
    // A client with a smaller limit cannot take it, and closes with 1009 (message too big). Under
    // load the server may still be writing the message when the client hangs up, and then sees the
    // connection reset (1006) before the close frame: either way the client refused it.
    const [error] = (await smallError) as [Error & { code?: string }];
    expect(error.code).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    expect([1009, 1006]).toContain(await smallRefused);
  });

  it('closeAfter(n): a connection is closed with 1001 once it has received n messages', async () => {
    const server = await startWsServer({ onMessage: echo });
    server.closeAfter(2);
    const ws = await connectWs(server.url);
    const events = record(ws);
    const closed = once(ws, 'close');
    ws.send('a');
    ws.send('b');
    const [code, reason] = (await closed) as [number, Buffer];
    expect(code).toBe(1001);
    expect(reason.toString()).toBe('going away');
    expect(server.received).toEqual([['a', 'b']]);
    // The nth message is logged and not answered.
    expect(events).toEqual(['echo:a']);

    // Each connection counts its own messages.
    const again = await connectWs(server.url);
    again.send('c');
    const [reply] = (await once(again, 'message')) as [Buffer];
    expect(reply.toString()).toBe('echo:c');
    expect(again.readyState).toBe(WebSocket.OPEN);
    expect(server.received).toEqual([['a', 'b'], ['c']]);
  });

  it('blackHole(): the TCP connection is accepted and the handshake never answered; heal() lets the next one through', async () => {
    const server = await startWsServer();
    server.blackHole();
    const ws = openWs(server.url, { handshakeTimeout: 300 });
    let upgraded = false;
    ws.once('upgrade', () => (upgraded = true));
    const [error] = (await once(ws, 'error')) as [Error];
    expect(error.message).toBe('Opening handshake has timed out');
    expect(upgraded).toBe(false);
    expect(server.connections).toBe(1);
    expect(server.clients.size).toBe(0);
    expect(server.received).toEqual([]);

    server.heal();
    const next = await connectWs(server.url);
    expect(next.readyState).toBe(WebSocket.OPEN);
    expect(server.connections).toBe(2);
    expect(server.received).toEqual([[]]);
  });

  it('delay(ms): the handshake is answered, later; delay(0) turns it off', async () => {
    const server = await startWsServer();
    server.delay(200);
    // Set before the client dials, so it fires before the server's 200 ms timer.
    const halfway = new Promise<void>((resolve) => setTimeout(resolve, 100));
    const ws = openWs(server.url);
    let opened = false;
    const open = once(ws, 'open').then(() => (opened = true));
    await halfway;
    expect(opened).toBe(false);
    expect(server.clients.size).toBe(0);
    await open;
    expect(server.clients.size).toBe(1);
    expect(server.received).toEqual([[]]);

    server.delay(60_000);
    server.delay(0);
    // Still 60 s if delay(0) were ignored: the bound only names that failure.
    await within(once(openWs(server.url), 'open'), 5_000, 'handshake after delay(0)');
    expect(server.clients.size).toBe(2);
  });

  it('refuse(): new WebSockets get ECONNREFUSED, an open one still works; accept() listens on the same port', async () => {
    const server = await startWsServer({ onMessage: echo });
    const port = server.port;
    const ws = await connectWs(server.url);

    await server.refuse();
    expect(server.listening).toBe(false);
    const refused = openWs(server.url);
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    ws.send('still');
    const [reply] = (await once(ws, 'message')) as [Buffer];
    expect(reply.toString()).toBe('echo:still');

    await server.accept();
    expect(server.listening).toBe(true);
    expect(server.port).toBe(port);
    await connectWs(server.url);
    expect(server.connections).toBe(2);
    expect(server.clients.size).toBe(2);
  });

  it('dropAll(): every WebSocket ends with a FIN and no close frame (1006)', async () => {
    const server = await startWsServer();
    const clients = [openWs(server.url), openWs(server.url)];
    const opened = clients.map((ws) => once(ws, 'open'));
    const tcp = await Promise.all(clients.map(tcpOf));
    await Promise.all(opened);
    const errors: unknown[] = [];
    for (const socket of tcp) socket.on('error', (error) => errors.push(error));
    const ended = tcp.map((socket) => once(socket, 'end'));
    const closed = clients.map((ws) => once(ws, 'close'));

    server.dropAll();
    await Promise.all(ended);
    const codes = (await Promise.all(closed)).map(([code]) => code as number);
    expect(codes).toEqual([1006, 1006]);
    expect(errors).toEqual([]);
    await waitFor(() => server.clients.size === 0, () => server.clients.size);
    expect(server.listening).toBe(true);
  });

  it('resetAll(): every WebSocket’s socket sees ECONNRESET (and the client 1006)', async () => {
    const server = await startWsServer();
    const clients = [openWs(server.url), openWs(server.url)];
    const opened = clients.map((ws) => once(ws, 'open'));
    const tcp = await Promise.all(clients.map(tcpOf));
    await Promise.all(opened);
    const resets = tcp.map((socket) => once(socket, 'error'));
    const closed = clients.map((ws) => once(ws, 'close'));

    server.resetAll();
    const codes = (await Promise.all(resets)).map(([error]) => (error as NodeJS.ErrnoException).code);
    expect(codes).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect((await Promise.all(closed)).map(([code]) => code as number)).toEqual([1006, 1006]);
    await waitFor(() => server.clients.size === 0, () => server.clients.size);
  });

  it('stop() refuses new WebSockets and drops open ones; restart() listens on the same port', async () => {
    const server = await startWsServer();
    const port = server.port;
    const ws = await connectWs(server.url);
    const closed = once(ws, 'close');

    await server.stop();
    expect(server.listening).toBe(false);
    const [code] = (await closed) as [number];
    expect(code).toBe(1006);
    const refused = openWs(server.url);
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');

    await server.restart();
    expect(server.listening).toBe(true);
    expect(server.port).toBe(port);
    const back = await connectWs(server.url);
    back.send('hi');
    await waitFor(() => server.received[1]?.length === 1, () => server.received);
    expect(server.received).toEqual([[], ['hi']]);
  });

  it('heal() clears blackHole, delay, closeAfter, answerPings(false) and silence', async () => {
    const server = await startWsServer({ onMessage: echo });
    server.blackHole();
    server.delay(60_000);
    server.closeAfter(1);
    server.answerPings(false);
    server.silence();
    server.heal();

    const ws = openWs(server.url);
    await within(once(ws, 'open'), 5_000, 'handshake after heal()');
    const events = record(ws);
    server.broadcast('b');
    ws.ping('p');
    ws.send('m');
    await waitFor(() => events.length >= 3, () => events);
    // Broadcast sent, ping answered, the first message answered rather than closed on.
    expect(events).toEqual(['b', 'pong:p', 'echo:m']);
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });
});
