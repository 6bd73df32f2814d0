/**
 * The `meter` option against real loopback servers, read through the real
 * OpenTelemetry SDK: slots by state, acquire waits, request durations,
 * reconnects, feed messages and staleness; attributes without secrets; the
 * callbacks gone after close(); several pools or feeds of one origin summed.
 */
import { describe, expect, it } from 'vitest';
import { ClientPool, Feed, isLifelineError } from '../../src/index.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { startHttpServer } from '../helpers/http-server.js';
import { isFull, nextTurn, openPool, waitFor, waitForStats } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';
import { points, testMeter, valueOf } from './reader.js';

interface HistogramValue {
  count: number;
  sum: number;
  min?: number;
}

const origin = (url: string) => new URL(url).origin;

describe('OpenTelemetry meter: pools', () => {
  it('reports slots by state from stats(), waiting callers, and acquire waits with their outcome', async () => {
    const server = await startHttpServer();
    const { meter, collect } = testMeter();
    const pool = await openPool({ url: server.url, connections: 2, meter });
    const at = { origin: origin(server.url) };

    const held = pool.tryAcquire()!;
    const waiting = pool.acquire({ timeout: 10_000 });
    let metrics = await collect();
    expect(valueOf(metrics, 'lifeline.pool.slots', { ...at, state: 'busy' })).toBe(2);
    expect(valueOf(metrics, 'lifeline.pool.slots', { ...at, state: 'healthy' })).toBe(0);
    expect(valueOf(metrics, 'lifeline.pool.slots', { ...at, state: 'connecting' })).toBe(0);
    // The second slot went to the waiter at once; nobody queues.
    expect(valueOf(metrics, 'lifeline.pool.waiting', at)).toBe(0);

    const second = await waiting;
    expect(pool.tryAcquire()).toBeUndefined();
    const queued = pool.acquire({ timeout: 10_000 });
    const timedOut = pool.acquire({ timeout: 20 });
    metrics = await collect();
    expect(valueOf(metrics, 'lifeline.pool.slots', { ...at, state: 'busy' })).toBe(2);
    expect(valueOf(metrics, 'lifeline.pool.waiting', at)).toBe(2);
    expect(isLifelineError(await timedOut.catch((e: unknown) => e), 'ACQUIRE_TIMEOUT')).toBe(true);
    held.release();
    (await queued).release();
    second.release();

    metrics = await collect();
    const wait = (mode: string, outcome: string) => valueOf(metrics, 'lifeline.pool.acquire.wait', { ...at, mode, outcome }) as HistogramValue;
    expect(wait('try', 'granted').count).toBe(1);
    expect(wait('try', 'unavailable').count).toBe(1);
    expect(wait('wait', 'granted').count).toBe(2);
    expect(wait('wait', 'ACQUIRE_TIMEOUT').count).toBe(1);
    // The timed-out wait lasted at least its timeout (timers never fire early); a try never waits.
    expect(wait('wait', 'ACQUIRE_TIMEOUT').sum).toBeGreaterThanOrEqual(19);
    expect(wait('try', 'granted').sum).toBe(0);
    expect(valueOf(metrics, 'lifeline.pool.slots', { ...at, state: 'healthy' })).toBe(2);
  });

  it('records request durations by method and status class or error code, and counts reconnects', async () => {
    const server = await startHttpServer((req, res) => {
      if (req.url === '/missing') res.writeHead(404).end('no');
      else if (req.url === '/cut') {
        res.setHeader('content-length', 1000);
        res.write('x');
        setTimeout(() => res.socket?.destroy(), 5);
      } else res.end('ok');
    });
    const { meter, collect } = testMeter();
    const pool = await openPool({ url: server.url, connections: 2, meter });
    const at = { origin: origin(server.url) };

    await pool.request({ path: '/' });
    await pool.request({ method: 'POST', path: '/', body: 'x' });
    await pool.request({ path: '/missing' });
    const lease = pool.tryAcquire()!;
    const error = await lease.request({ path: '/cut' }).catch((e: unknown) => e);
    lease.release();
    expect(isLifelineError(error, 'CONNECTION_LOST')).toBe(true);
    // The cut connection redials: one reconnect.
    await waitForStats(pool, isFull);
    let metrics = await collect();
    const duration = (method: string, outcome: string) =>
      valueOf(metrics, 'lifeline.pool.request.duration', { ...at, method, outcome }) as HistogramValue;
    expect(duration('GET', '2xx').count).toBe(1);
    expect(duration('POST', '2xx').count).toBe(1);
    expect(duration('GET', '4xx').count).toBe(1);
    expect(duration('GET', 'CONNECTION_LOST').count).toBe(1);
    expect(duration('GET', '2xx').min).toBeGreaterThan(0);
    // The cut is a failure (a reset mid-response): one reconnect after a failure, none after a clean end.
    expect(valueOf(metrics, 'lifeline.pool.reconnects', { ...at, after: 'failure' })).toBe(1);
    expect(points(metrics, 'lifeline.pool.reconnects').some((p) => p.attributes.after === 'clean-end')).toBe(false);

    // Both connections serve, then the server closes them while idle: two clean ends, redialed at once.
    await nextTurn();
    const leases = [pool.tryAcquire()!, pool.tryAcquire()!];
    for (const each of leases) expect((await each.request({ path: '/' })).status).toBe(200);
    for (const each of leases) each.release();
    await nextTurn();
    server.dropAll();
    // Accepted so far: 2 first dials, 1 redial, then 2 more.
    await waitFor(() => server.connections === 5 && isFull(pool.stats()), () => [server.connections, pool.stats()]);
    metrics = await collect();
    expect(valueOf(metrics, 'lifeline.pool.reconnects', { ...at, after: 'clean-end' })).toBe(2);
    expect(valueOf(metrics, 'lifeline.pool.reconnects', { ...at, after: 'failure' })).toBe(1);
  });

  it('names the origin without credentials, sums pools of one origin, and stops reading a pool once closed', async () => {
    const server = await startHttpServer();
    const { meter, collect } = testMeter();
    const withCredentials = server.url.replace('http://', 'http://trader:hunter2-password@');
    const a = await openPool({ url: withCredentials, connections: 2, meter, headers: { 'x-api-key': 'key-5ecret-value' } });
    const b = await openPool({ url: server.url, connections: 3, meter });
    const at = { origin: origin(server.url) };

    let metrics = await collect();
    // The SDK keeps one value per attribute set: two pools of one origin must be summed, not overwrite each other.
    expect(valueOf(metrics, 'lifeline.pool.slots', { ...at, state: 'healthy' })).toBe(5);
    const everything = JSON.stringify([...metrics.values()].map((m) => m.dataPoints.map((p) => p.attributes)));
    expect(everything).not.toContain('hunter2');
    expect(everything).not.toContain('trader');
    expect(everything).not.toContain('5ecret');

    await a.close();
    metrics = await collect();
    expect(valueOf(metrics, 'lifeline.pool.slots', { ...at, state: 'healthy' })).toBe(3);
    await b.close();
    metrics = await collect();
    // No source is left, so the callback is gone: the SDK repeats its last reading (3
    // healthy) instead of reading the closed pools (which would say 0 healthy, 5 closed).
    expect(valueOf(metrics, 'lifeline.pool.slots', { ...at, state: 'healthy' })).toBe(3);
    expect(valueOf(metrics, 'lifeline.pool.slots', { ...at, state: 'closed' })).toBe(0);
  });
});

describe('OpenTelemetry meter: feeds', () => {
  it('counts messages and reconnects, and reports staleness since the last message', async () => {
    const server = await startWsServer();
    const { meter, collect } = testMeter();
    const url = `${server.url}/stream?listenKey=abcd-SECRET-1234`;
    const feed = openFeed({ url, meter, backoff: { initial: 5 } });
    const at = { url: `ws://127.0.0.1:${server.port}` };
    await waitForState(feed, 'healthy');

    let got = 0;
    feed.on('message', () => got++);
    // Before any message, staleness counts from connect(), which was before `sentAt`.
    const sentAt = performance.now();
    for (let i = 0; i < 5; i++) server.broadcast(`{"p":${i}}`);
    await waitFor(() => got === 5, () => got);
    let metrics = await collect();
    expect(valueOf(metrics, 'lifeline.feed.messages', at)).toBe(5);
    // Received after `sentAt`: no older than that.
    const fresh = valueOf(metrics, 'lifeline.feed.staleness', at) as number;
    expect(fresh).toBeLessThanOrEqual(performance.now() - sentAt);

    // Staleness grows while nothing comes (a collection itself takes time)...
    metrics = await collect();
    const stale = valueOf(metrics, 'lifeline.feed.staleness', at) as number;
    expect(stale).toBeGreaterThan(fresh);
    // ...and starts again from the next message.
    const nextAt = performance.now();
    server.broadcast('{"p":5}');
    await waitFor(() => got === 6, () => got);
    metrics = await collect();
    expect(valueOf(metrics, 'lifeline.feed.staleness', at) as number).toBeLessThanOrEqual(performance.now() - nextAt);

    server.dropAll();
    await waitFor(() => feed.stats().connections === 2 && feed.state === 'healthy', () => feed.stats());
    metrics = await collect();
    expect(valueOf(metrics, 'lifeline.feed.reconnects', at)).toBe(1);
    expect(JSON.stringify([...metrics.values()].map((m) => m.dataPoints.map((p) => p.attributes)))).not.toContain('SECRET');
  });

  it('sums the messages of feeds of one URL, and keeps the count of a closed one so the counter never falls', async () => {
    const server = await startWsServer();
    const { meter, collect } = testMeter();
    const a = Feed.connect({ url: server.url, meter });
    const b = openFeed({ url: server.url, meter });
    let closedA = false;
    try {
      await waitForState(a, 'healthy');
      await waitForState(b, 'healthy');
      server.broadcast('one');
      server.broadcast('two');
      await waitFor(() => a.stats().messages === 2 && b.stats().messages === 2, () => [a.stats(), b.stats()]);
      const at = { url: `ws://127.0.0.1:${server.port}` };
      let metrics = await collect();
      expect(points(metrics, 'lifeline.feed.messages')).toHaveLength(1);
      expect(valueOf(metrics, 'lifeline.feed.messages', at)).toBe(4);
      await a.close();
      closedA = true;
      server.broadcast('three');
      await waitFor(() => b.stats().messages === 3, () => b.stats());
      metrics = await collect();
      expect(valueOf(metrics, 'lifeline.feed.messages', at)).toBe(5);
    } finally {
      if (!closedA) await a.close();
    }
  });
});

describe('meter option', () => {
  it('is checked like every option', async () => {
    const error = await ClientPool.connect({ url: 'http://127.0.0.1:1', meter: {} as never }).catch((e: unknown) => e);
    expect(isLifelineError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toBe(
      'Expected `meter` to be an object with createHistogram, createCounter, createObservableGauge, createObservableCounter, addBatchObservableCallback and removeBatchObservableCallback, got an object',
    );
    expect(() => Feed.connect({ url: 'ws://127.0.0.1:1', meter: 'otel' as never })).toThrow(
      'Expected `meter` to be an object with createHistogram, createCounter, createObservableGauge, createObservableCounter, addBatchObservableCallback and removeBatchObservableCallback, got a string of 4 characters',
    );
  });
});
