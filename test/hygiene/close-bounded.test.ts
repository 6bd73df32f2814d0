/**
 * close() settles within its bound when the peer never acknowledges anything
 * (issue 14, item 9): a pool within `drainTimeout` plus about a second, a feed
 * within its close handshake's timeout (1 s) plus about a second. And when it
 * has settled, every socket it opened is closed, not merely being destroyed.
 *
 * The peers, all on 127.0.0.1: one that stops reading (its receive window
 * fills, nothing is acknowledged), one that never answers a WebSocket close
 * frame, one that black-holes the TLS handshake or the upgrade, a listener
 * whose accept queue is full (SYNs go unanswered), and a dial limiter whose one
 * turn is held by such a dial. scripts/close-under-loss.sh runs the same
 * clients against servers behind 30% packet loss in network namespaces.
 *
 * Which sockets: every one lifeline opens with `net.connect` is published on
 * the `net.client.socket` diagnostics channel (documented since Node 16);
 * TLS sockets are not, so the https/wss cases assert the bound only.
 */
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer } from 'ws';
import { ClientPool, DialLimiter, Feed, isLifelineError } from '../../src/index.js';
import { TEST_CERT, TEST_KEY } from '../fixtures/tls.js';
import { waitFor } from '../helpers/pool.js';

/** What the contract allows on top of drainTimeout or the close handshake's timeout. */
const SLACK = 1_000;
const DRAIN = 300;
/** DEFAULT_CLOSE_TIMEOUT: how long a feed's close handshake may take. */
const CLOSE_HANDSHAKE = 1_000;

/** The sockets lifeline dialed (with net.connect) during the current test. */
const dialed: net.Socket[] = [];
/**
 * Those that emitted 'close': their handle is closed. Not `socket.closed` nor `destroyed`, which
 * a socket sets as soon as destroy() is called, a loop turn or more before the handle is gone.
 */
const gone = new WeakSet<net.Socket>();
let capturing = false;
const onClientSocket = (message: unknown) => {
  if (!capturing) return;
  const { socket } = message as { socket: net.Socket };
  dialed.push(socket);
  socket.once('close', () => gone.add(socket));
};
subscribe('net.client.socket', onClientSocket);
afterAll(() => void unsubscribe('net.client.socket', onClientSocket));

function captureDials(): void {
  dialed.length = 0;
  capturing = true;
  onTestFinished(() => void (capturing = false));
}

/** Runs close() and returns how long it took (ms); every socket dialed (but `others'`) must have emitted 'close' by then. */
async function timeClose(close: () => Promise<void>, others: net.Socket[] = []): Promise<number> {
  const started = performance.now();
  // A close that hangs fails here, saying so, rather than at the test's timeout.
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), 5_000)));
  const outcome = await Promise.race([close(), pending]);
  clearTimeout(timer);
  expect(outcome, 'close() still pending after 5 s').not.toBe('pending');
  const took = performance.now() - started;
  const open = dialed.filter((socket) => !gone.has(socket) && !others.includes(socket));
  expect(open.map((socket) => `${socket.remoteAddress ?? 'connecting'} -> ${socket.remotePort ?? '?'}`)).toEqual([]);
  return took;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A TCP (or TLS) server whose connections are held and never answered; `stopReading` stops reading after the first bytes. */
async function startSilentPeer(options: { tls?: boolean; stopReading?: boolean } = {}): Promise<number> {
  const held = new Set<net.Socket>();
  const onSocket = (socket: net.Socket) => {
    held.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => held.delete(socket));
    if (options.stopReading) socket.once('data', () => socket.pause());
    else socket.resume();
  };
  const server = options.tls ? tls.createServer({ cert: TEST_CERT, key: TEST_KEY }, onSocket) : net.createServer(onSocket);
  const port = await listen(server);
  onTestFinished(() => {
    for (const socket of held) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return port;
}

/**
 * A listener that never accepts: another process, blocked, with a backlog of 1, and its accept
 * queue filled here, so the kernel leaves further SYNs unanswered and a dial stays in connect().
 */
async function startFullBacklog(): Promise<number> {
  const script =
    "const s = require('net').createServer().listen(0, '127.0.0.1', 1, () => {" +
    ' console.log(s.address().port); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000); });';
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  onTestFinished(() => void child.kill('SIGKILL'));
  const port = Number(await new Promise<string>((resolve) => child.stdout.once('data', (data) => resolve(String(data)))));
  const fillers = Array.from({ length: 4 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
  onTestFinished(() => fillers.forEach((socket) => socket.destroy()));
  // The first connections complete in the kernel's queue; the later ones stay in SYN-SENT.
  await waitFor(() => fillers.filter((socket) => !socket.connecting).length >= 2, () => fillers.map((s) => s.connecting));
  return port;
}

/** A wss:// or ws:// server that upgrades, then stops reading and never answers a close frame. */
async function startDeafWsServer(secure: boolean): Promise<string> {
  const server = secure ? https.createServer({ cert: TEST_CERT, key: TEST_KEY }) : undefined;
  const wss = server ? new WebSocketServer({ server }) : new WebSocketServer({ port: 0, host: '127.0.0.1' });
  const sockets = new Set<net.Socket>();
  wss.on('connection', (_ws, request) => {
    sockets.add(request.socket);
    request.socket.pause();
  });
  const port = server ? await listen(server) : await new Promise<number>((resolve) => wss.once('listening', () => resolve((wss.address() as net.AddressInfo).port)));
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}/`;
}

describe('close() settles within its bound when the peer acknowledges nothing', () => {
  it.each([
    ['http', false],
    ['https', true],
  ])('a %s pool uploading into a peer that stopped reading: drainTimeout + 1 s, every request settled', async (scheme, secure) => {
    const port = await startSilentPeer({ tls: secure, stopReading: true });
    captureDials();
    const pool = await ClientPool.connect({
      url: `${scheme}://127.0.0.1:${port}`,
      connections: 2,
      drainTimeout: DRAIN,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
      tls: { ca: TEST_CERT },
    });
    // 16 MiB each: more than the socket buffers and the peer's receive window hold on loopback.
    const requests = [1, 2].map(() => pool.request({ method: 'POST', path: '/', body: Buffer.alloc(16 << 20) }).catch((e: unknown) => e));
    await waitFor(() => pool.stats().busy === 2, () => pool.stats());
    const took = await timeClose(() => pool.close());
    expect(took).toBeLessThan(DRAIN + SLACK);
    for (const error of await Promise.all(requests)) expect(isLifelineError(error, 'CONNECTION_LOST'), String(error)).toBe(true);
    if (!secure) expect(dialed).toHaveLength(2);
  });

  it('a pool dialing into a black-holed TLS handshake and into a full accept queue: within 1 s, every socket closed', async () => {
    const blackHole = await startSilentPeer();
    const backlog = await startFullBacklog();
    captureDials();
    for (const url of [`https://127.0.0.1:${blackHole}`, `http://127.0.0.1:${backlog}`]) {
      const pool = await ClientPool.connect({ url, connections: 2, lazy: true, connectTimeout: 60_000, drainTimeout: DRAIN });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(pool.stats().connecting, url).toBe(2);
      expect(await timeClose(() => pool.close()), url).toBeLessThan(DRAIN + SLACK);
    }
    expect(dialed).toHaveLength(2); // the http pool's two dials
  });

  it('a pool and a feed whose dials wait behind a dial limiter held by a dial that never connects: within 1 s', async () => {
    const backlog = await startFullBacklog();
    captureDials();
    const limiter = new DialLimiter({ concurrency: 1 });
    const holder = Feed.connect({ url: `ws://127.0.0.1:${backlog}`, connectTimeout: 60_000, dialLimiter: limiter });
    onTestFinished(() => holder.close());
    await waitFor(() => dialed.length === 1, () => dialed.length);
    const pool = await ClientPool.connect({ url: `http://127.0.0.1:${backlog}`, connections: 2, lazy: true, dialLimiter: limiter, drainTimeout: DRAIN });
    onTestFinished(() => pool.close());
    const queued = Feed.connect({ url: `ws://127.0.0.1:${backlog}`, dialLimiter: limiter });
    onTestFinished(() => queued.close());
    await waitFor(() => limiter.stats().queued === 3, () => limiter.stats());
    // The holder's dial stays in connect() meanwhile: the others close without it.
    expect(await timeClose(() => pool.close(), dialed)).toBeLessThan(DRAIN + SLACK);
    expect(await timeClose(() => queued.close(), dialed)).toBeLessThan(SLACK);
    expect(dialed).toHaveLength(1);
    expect(await timeClose(() => holder.close())).toBeLessThan(SLACK);
    expect(limiter.stats()).toMatchObject({ active: 0, queued: 0 });
  });

  it('a feed closed while connecting (upgrade or TLS handshake black-holed, SYNs unanswered): within 1 s, its socket closed', async () => {
    const blackHole = await startSilentPeer();
    const backlog = await startFullBacklog();
    captureDials();
    for (const url of [`ws://127.0.0.1:${blackHole}`, `wss://127.0.0.1:${blackHole}`, `ws://127.0.0.1:${backlog}`]) {
      const feed = Feed.connect({ url, connectTimeout: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(feed.state, url).toBe('connecting');
      expect(await timeClose(() => feed.close()), url).toBeLessThan(SLACK);
    }
    expect(dialed).toHaveLength(2); // the two ws:// dials
  });

  it.each([
    ['ws', false],
    ['wss', true],
  ])('a %s feed whose peer stopped reading and never answers the close frame: closeTimeout + 1 s, sends rejected', async (_scheme, secure) => {
    const url = await startDeafWsServer(secure);
    captureDials();
    const feed = Feed.connect({ url, tls: { ca: TEST_CERT } });
    await waitFor(() => feed.state === 'healthy', () => feed.stats());
    // Far more than the buffers hold: the close frame queues behind them and is never acknowledged.
    const sends = Array.from({ length: 8 }, () => feed.send('x'.repeat(8 << 20)).catch((e: unknown) => e));
    const messages = feed.messages();
    const next = messages.next();
    const took = await timeClose(() => feed.close());
    expect(took).toBeLessThan(CLOSE_HANDSHAKE + SLACK);
    expect(await next).toEqual({ value: undefined, done: true });
    const outcomes = await Promise.all(sends);
    expect(outcomes.filter((outcome) => isLifelineError(outcome, 'NOT_LIVE')).length).toBeGreaterThan(0);
    if (!secure) expect(dialed).toHaveLength(1);
  });
});
