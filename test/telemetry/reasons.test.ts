/**
 * Issue 17, item 3: every change out of healthy records its true reason, in the flight recorder
 * (`pool.history()`) and on `lifeline:slot:state` alike: a clean end by the server (`ENDED`,
 * `server-closed`), a retirement with its cause (`RECYCLED`: connection-close, deadline, aborted,
 * body-too-large, idle, age, keep-alive, homing), or a failure with its code, errno and message
 * (a refused dial keeps `CONNECT_FAILED` *and* `ECONNREFUSED`).
 */
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SimulatedClock } from 'xstate';
import { ClientPool, SLOT_STATE_CHANNEL, type ClientPoolOptions, type SlotStateMessage } from '../../src/index.js';
import { startHttpServer, type Handler } from '../helpers/http-server.js';
import { isFull, nextTurn, openPool, waitFor, waitForStats } from '../helpers/pool.js';
import { rejection } from '../helpers/errors.js';

interface Change {
  slot: number;
  from: string;
  to: string;
  reason: string | null;
  detail: string | null;
  errno: string | null;
}

/** The slot state changes of the pool at `origin`, as published on the channel. */
function listen(): (origin: string) => Change[] {
  const seen: SlotStateMessage[] = [];
  const listener = (message: unknown) => seen.push(message as SlotStateMessage);
  diagnostics.subscribe(SLOT_STATE_CHANNEL, listener);
  onTestFinished(() => void diagnostics.unsubscribe(SLOT_STATE_CHANNEL, listener));
  return (origin) =>
    seen
      .filter((m) => m.origin === origin)
      .map((m) => ({ slot: m.slot, from: m.from, to: m.to, reason: m.reason ?? null, detail: m.detail ?? null, errno: m.errno ?? null }));
}

/** The same changes, as the flight recorder kept them. */
function recorded(pool: ClientPool): Change[] {
  return pool.history().map((r) => ({ slot: Number(r.actor.slice(5)), from: r.from, to: r.to, reason: r.reason ?? null, detail: r.detail ?? null, errno: r.errno ?? null }));
}

/** The first change out of healthy, once there is one; the channel and the recorder must agree on every change. */
async function leftHealthy(pool: ClientPool, channel: (origin: string) => Change[]): Promise<Change> {
  await waitFor(() => recorded(pool).some((c) => c.from === 'healthy'), () => recorded(pool));
  await waitFor(() => channel(pool.origin).length === recorded(pool).length, () => [channel(pool.origin), recorded(pool)]);
  expect(channel(pool.origin)).toEqual(recorded(pool));
  return recorded(pool).find((c) => c.from === 'healthy')!;
}

async function pool(handler: Handler | undefined, options: Partial<ClientPoolOptions> = {}) {
  const server = await startHttpServer(handler);
  const channel = listen();
  return { server, channel, pool: await openPool({ url: server.url, connections: 1, ...options }) };
}

const clean = (reason: string, detail: string) => ({ slot: 0, from: 'healthy', to: 'connecting', reason, detail, errno: null });

describe('the true reason of every change out of healthy', () => {
  it('the server closes an idle connection that served: ENDED, server-closed', async () => {
    const { server, channel, pool: p } = await pool(undefined);
    await p.request({ path: '/' });
    await nextTurn();
    server.endAll();
    expect(await leftHealthy(p, channel)).toEqual(clean('ENDED', 'server-closed'));
  });

  it('a response says Connection: close: RECYCLED, connection-close', async () => {
    const { channel, pool: p } = await pool((_req, res) => res.setHeader('connection', 'close').end('ok'));
    await p.request({ path: '/' });
    expect(await leftHealthy(p, channel)).toEqual(clean('RECYCLED', 'connection-close'));
  });

  it('a deadline passes in flight: RECYCLED, deadline', async () => {
    const { channel, pool: p } = await pool(() => {});
    await rejection(p.request({ path: '/', deadline: Date.now() + 30 }));
    expect(await leftHealthy(p, channel)).toEqual(clean('RECYCLED', 'deadline'));
  });

  it("the caller's signal aborts it in flight: RECYCLED, aborted", async () => {
    const { channel, pool: p } = await pool(() => {});
    await rejection(p.request({ path: '/', signal: AbortSignal.timeout(30) }));
    expect(await leftHealthy(p, channel)).toEqual(clean('RECYCLED', 'aborted'));
  });

  it('a body over maxBodySize: RECYCLED, body-too-large', async () => {
    const { channel, pool: p } = await pool((_req, res) => res.end('x'.repeat(100)), { maxBodySize: 10 });
    await rejection(p.request({ path: '/' }));
    expect(await leftHealthy(p, channel)).toEqual(clean('RECYCLED', 'body-too-large'));
  });

  describe('retired by the pool on its clock', () => {
    function advance(clock: SimulatedClock, ms: number): void {
      for (let t = 0; t < ms; t += 50) clock.increment(Math.min(50, ms - t));
    }
    async function timed(options: Partial<ClientPoolOptions>, keepAlive?: string) {
      const clock = new SimulatedClock();
      const set = await pool((_req, res) => {
        if (keepAlive) res.setHeader('keep-alive', keepAlive);
        res.end('ok');
      }, { clock, ...options });
      set.server.server.keepAliveTimeout = 0;
      await set.pool.request({ path: '/' });
      await nextTurn();
      return { ...set, clock };
    }

    it('idleTimeout: RECYCLED, idle', async () => {
      const { clock, channel, pool: p } = await timed({ idleTimeout: 500 });
      advance(clock, 600);
      expect(await leftHealthy(p, channel)).toEqual(clean('RECYCLED', 'idle'));
    });

    it('maxConnectionAge: RECYCLED, age', async () => {
      const { clock, channel, pool: p } = await timed({ maxConnectionAge: 2_000, random: () => 0 });
      advance(clock, 2_100);
      expect(await leftHealthy(p, channel)).toEqual(clean('RECYCLED', 'age'));
    });

    it("the server's Keep-Alive: timeout=N: RECYCLED, keep-alive", async () => {
      const { clock, channel, pool: p } = await timed({}, 'timeout=2');
      advance(clock, 1_000);
      expect(await leftHealthy(p, channel)).toEqual(clean('RECYCLED', 'keep-alive'));
    });
  });

  it('an origin dropped by setOrigins: RECYCLED, homing', async () => {
    const { channel, pool: p } = await pool(undefined);
    const other = await startHttpServer();
    const origin = p.origin;
    p.setOrigins([other.url]);
    await waitFor(() => recorded(p).some((c) => c.from === 'healthy'), () => recorded(p));
    await waitForStats(p, isFull);
    expect(channel(origin).find((c) => c.from === 'healthy')).toEqual(clean('RECYCLED', 'homing'));
    expect(recorded(p).find((c) => c.from === 'healthy')).toEqual(clean('RECYCLED', 'homing'));
  });

  it('a reset under a request: CONNECTION_LOST, with ECONNRESET and the message', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.on('data', () => socket.resetAndDestroy());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onTestFinished(() => {
      sockets.forEach((s) => s.destroy());
      server.close();
    });
    const channel = listen();
    const p = await openPool({ url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: 1 });
    await rejection(p.request({ path: '/' }));
    expect(await leftHealthy(p, channel)).toEqual({
      slot: 0,
      from: 'healthy',
      to: 'poisoned',
      reason: 'CONNECTION_LOST',
      detail: 'connection lost: read ECONNRESET',
      errno: 'ECONNRESET',
    });
  });

  it('a refused dial keeps CONNECT_FAILED and ECONNREFUSED', async () => {
    const free = net.createServer();
    free.listen(0, '127.0.0.1');
    await once(free, 'listening');
    const port = (free.address() as net.AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    const channel = listen();
    const p = await ClientPool.connect({ url: `http://127.0.0.1:${port}`, connections: 1, lazy: true, backoff: { initial: 60_000, max: 60_000 } });
    onTestFinished(() => p.close());
    await waitFor(() => recorded(p).length > 0 && channel(p.origin).length > 0, () => recorded(p));
    const expected = { slot: 0, from: 'connecting', to: 'backoff', reason: 'CONNECT_FAILED', detail: `connect to 127.0.0.1:${port} failed: ECONNREFUSED`, errno: 'ECONNREFUSED' };
    expect(recorded(p)[0]).toEqual(expected);
    expect(channel(p.origin)[0]).toEqual(expected);
  });
});
