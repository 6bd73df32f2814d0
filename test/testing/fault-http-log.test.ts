/**
 * The fault HTTP server for tests of user code (issue 17, item 8): it logs each request
 * with its secrets scrubbed, holds responses until the test releases them, and runs its
 * timers on the test's clock. The client is lifeline's own pool, as a user's test has it.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { SimulatedClock } from 'xstate';
import WebSocket from 'ws';
import { ClientPool, isLifelineError } from '../../src/index.js';
import { startFaultHttpServer, startFaultWsServer, type FaultHttpServerOptions } from '../../src/testing/index.js';
import { waitFor } from '../helpers/pool.js';

async function serverAndPool(options: FaultHttpServerOptions = {}, connections = 1) {
  const server = await startFaultHttpServer(options);
  onTestFinished(() => server.close());
  const pool = await ClientPool.connect({ url: server.url, connections });
  onTestFinished(() => pool.close());
  return { server, pool };
}

describe('FaultHttpServer.requestLog', () => {
  it('logs method, path, headers and body of each request, with the connection and its place on it, secrets scrubbed', async () => {
    const { server, pool } = await serverAndPool({ secretNames: ['x-desk'] });
    const body = JSON.stringify({ symbol: 'BTCUSDT', side: 'BUY', qty: 1 });
    await pool.request({
      method: 'POST',
      path: '/api/order?symbol=BTCUSDT&signature=deadbeefcafe&api_key=k-123456',
      headers: { authorization: 'Bearer tok-98765', 'x-api-key': 'key-55555', cookie: 'session=abcdef', 'x-desk': 'desk-7777', 'content-type': 'application/json' },
      body,
    });
    await pool.request({ path: '/api/ping' });

    expect(server.requestLog).toHaveLength(2);
    const [order, ping] = server.requestLog;
    expect(order).toMatchObject({
      index: 0,
      method: 'POST',
      path: '/api/order?symbol=BTCUSDT&signature=[redacted]&api_key=[redacted]',
      body,
      bodyComplete: true,
      connection: 0,
      onConnection: 1,
    });
    expect(order!.headers).toMatchObject({
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      cookie: '[redacted]',
      'x-desk': '[redacted]',
      'content-type': 'application/json',
    });
    expect(ping).toMatchObject({ index: 1, method: 'GET', path: '/api/ping', body: '', connection: 0, onConnection: 2 });
    // No secret anywhere in the log, however it is printed.
    const printed = JSON.stringify(server.requestLog);
    for (const secret of ['deadbeefcafe', 'k-123456', 'tok-98765', 'key-55555', 'abcdef', 'desk-7777']) expect(printed).not.toContain(secret);
  });

  it('names the connection each request came on: a new one after the server dropped the first', async () => {
    const { server, pool } = await serverAndPool();
    await pool.request({ path: '/a' });
    server.dropAll();
    await waitFor(() => server.connections === 2 && pool.stats().healthy === 1, () => pool.stats());
    await pool.request({ path: '/b' });
    expect(server.requestLog.map((r) => [r.path, r.connection, r.onConnection])).toEqual([
      ['/a', 0, 1],
      ['/b', 1, 1],
    ]);
  });

  it('stamps each request with the time of the server clock', async () => {
    const clock = new SimulatedClock();
    const { server, pool } = await serverAndPool({ clock });
    await pool.request({ path: '/first' });
    clock.increment(1_234);
    await pool.request({ path: '/second' });
    expect(server.requestLog.map((r) => r.at)).toEqual([0, 1_234]);
  });

  it('logs a request the server swallows (blackHole), and a handler still reads the body it logged', async () => {
    const seen: string[] = [];
    const server = await startFaultHttpServer({
      handler: (req, res) => {
        let text = '';
        req.on('data', (chunk: Buffer) => (text += chunk.toString()));
        req.on('end', () => {
          seen.push(text);
          res.end('ok');
        });
      },
    });
    onTestFinished(() => server.close());
    const pool = await ClientPool.connect({ url: server.url, connections: 1 });
    onTestFinished(() => pool.close());
    await pool.request({ method: 'PUT', path: '/read', body: 'x'.repeat(100_000) });
    expect(seen).toEqual(['x'.repeat(100_000)]);
    expect(server.requestLog[0]).toMatchObject({ body: 'x'.repeat(100_000), bodyComplete: true });

    server.blackHole();
    const swallowed = pool.request({ method: 'POST', path: '/void', body: 'order-1', headersTimeout: 200, retry: 0 }).catch((e: unknown) => e);
    await waitFor(() => server.requestLog.length === 2, () => server.requestLog.length);
    expect(server.requestLog[1]).toMatchObject({ method: 'POST', path: '/void' });
    const error = await swallowed;
    expect(isLifelineError(error) && error.code).toBe('HEADERS_TIMEOUT');
  });
});

describe('FaultHttpServer.hold()', () => {
  it('holds every response until release(): the test acts while the server has the request and the client has no answer', async () => {
    const { server, pool } = await serverAndPool({}, 2);
    const held = server.hold();
    const answers: string[] = [];
    const first = pool.request({ method: 'POST', path: '/order/1', body: 'buy' }).then((r) => answers.push(r.text()));
    const second = pool.request({ method: 'POST', path: '/order/2', body: 'sell' }).then((r) => answers.push(r.text()));
    await held.arrived(2);
    // Two connections: the requests may arrive in either order.
    expect(held.requests.map((r) => [r.path, r.body]).sort()).toEqual([
      ['/order/1', 'buy'],
      ['/order/2', 'sell'],
    ]);
    // Held: no timer runs out, however long the test takes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answers).toEqual([]);
    held.release();
    await Promise.all([first, second]);
    expect(answers).toEqual(['ok', 'ok']);
    // Released: later requests are answered at once.
    expect((await pool.request({ path: '/after' })).status).toBe(200);
    expect(held.requests).toHaveLength(2);
  });

  it('a connection dropped while its response is held: the client says the request was sent, and release() answers nothing', async () => {
    const { server, pool } = await serverAndPool();
    const held = server.hold();
    const order = pool.request({ method: 'POST', path: '/order', body: 'buy' }).catch((e: unknown) => e);
    await held.arrived();
    server.dropAll();
    const error = await order;
    expect(isLifelineError(error) && error.code).toBe('CONNECTION_LOST');
    held.release(); // its connection is gone: nothing is written
    expect(server.requestLog.map((r) => r.path)).toEqual(['/order']);
  });

  it('a new hold releases the last one', async () => {
    const { server, pool } = await serverAndPool();
    const first = server.hold();
    const answered = pool.request({ path: '/one' });
    await first.arrived();
    const second = server.hold();
    expect(first.released).toBe(true);
    expect((await answered).status).toBe(200);
    const next = pool.request({ path: '/two' });
    await second.arrived();
    second.release();
    expect((await next).status).toBe(200);
  });
});

describe("the fault servers' timers run on the test's clock", () => {
  it('HTTP delay(ms): the response comes when the test clock has moved ms, not before, and not on real time', async () => {
    const clock = new SimulatedClock();
    const { server, pool } = await serverAndPool({ clock });
    server.delay(60_000); // an hour of real time would not do
    let answered = false;
    const response = pool.request({ path: '/slow' }).then((r) => {
      answered = true;
      return r;
    });
    await waitFor(() => server.requestLog.length === 1, () => server.requestLog.length);
    clock.increment(59_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answered).toBe(false);
    clock.increment(1);
    expect((await response).status).toBe(200);
  });

  it('HTTP idleTimeout(ms): the FIN comes when the clock has moved ms after the last response', async () => {
    const clock = new SimulatedClock();
    const { server, pool } = await serverAndPool({ clock });
    server.idleTimeout(60_000);
    await pool.request({ path: '/' });
    await waitFor(() => pool.stats().healthy === 1, () => pool.stats());
    clock.increment(59_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.closedConnections).toBe(0);
    clock.increment(1);
    await waitFor(() => server.closedConnections === 1, () => server.closedConnections);
  });

  it('WebSocket delay(ms): the handshake is answered when the clock has moved ms', async () => {
    const clock = new SimulatedClock();
    // The handshake's timer is set once the upgrade request is read: count the timers set.
    let timers = 0;
    const server = await startFaultWsServer({
      clock: { setTimeout: (fn, ms) => (timers++, clock.setTimeout(fn, ms)), clearTimeout: (id) => clock.clearTimeout(id as number), now: () => clock.now() },
    });
    onTestFinished(() => server.close());
    server.delay(60_000);
    const socket = new WebSocket(server.url);
    onTestFinished(() => socket.terminate());
    let open = false;
    socket.on('open', () => (open = true));
    socket.on('error', () => {});
    await waitFor(() => timers === 1, () => timers);
    clock.increment(59_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(open).toBe(false);
    clock.increment(1);
    await waitFor(() => open, () => open);
  });
});
