/**
 * The `lifeline:*` diagnostics channels against real loopback servers: the
 * payload of each, that no secret reaches any of them, and that no payload is
 * built while a channel has no subscriber.
 */
import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  FEED_MESSAGE_CHANNEL,
  FEED_STATE_CHANNEL,
  isLifelineError,
  POOL_ACQUIRE_CHANNEL,
  POOL_REQUEST_CHANNEL,
  SLOT_STATE_CHANNEL,
} from '../../src/index.js';
import { acquireChannel, feedMessageChannel, feedStateChannel, requestChannel, slotStateChannel } from '../../src/telemetry/diagnostics.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { startHttpServer } from '../helpers/http-server.js';
import { isFull, openPool, waitFor, waitForStats } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';
import { testMeter } from './reader.js';

const CHANNELS = [POOL_ACQUIRE_CHANNEL, POOL_REQUEST_CHANNEL, SLOT_STATE_CHANNEL, FEED_STATE_CHANNEL, FEED_MESSAGE_CHANNEL];

/** Subscribes to every lifeline channel until the test ends; the messages of each, by channel name. */
function listen(): Record<string, any[]> {
  const seen: Record<string, any[]> = Object.fromEntries(CHANNELS.map((name) => [name, []]));
  for (const name of CHANNELS) {
    const onMessage = (message: unknown) => seen[name]!.push(message);
    diagnostics.subscribe(name, onMessage);
    onTestFinished(() => void diagnostics.unsubscribe(name, onMessage));
  }
  return seen;
}

const SECRETS = ['hunter2-password', 'trader', 'Bearer t0ken-value', 't0ken-value', 'key-5ecret', 'q-5ecret', 'abcd-SECRET-1234'];

function expectNoSecret(seen: Record<string, any[]>): void {
  const all = JSON.stringify(seen);
  for (const secret of SECRETS) expect(all, secret).not.toContain(secret);
}

describe('diagnostics channels: pools', () => {
  it('names each request and slot change by the origin the slot is on, in a pool of several', async () => {
    const [a, b] = await Promise.all([startHttpServer(), startHttpServer()]);
    const seen = listen();
    const pool = await openPool({ urls: [a.url, b.url], connections: 2 });
    await Promise.all([pool.request({ path: '/' }), pool.request({ path: '/' })]);
    const origins = [new URL(a.url).origin, new URL(b.url).origin];
    expect(seen[POOL_REQUEST_CHANNEL]!.map((r) => r.origin).sort()).toEqual([...origins].sort());
    // Slots connect in whatever order their dials finish.
    const ready = seen[SLOT_STATE_CHANNEL]!.filter((change) => change.to === 'healthy').sort((x, y) => x.slot - y.slot);
    expect(ready.map((change) => [change.slot, change.origin])).toEqual([
      [0, origins[0]],
      [1, origins[1]],
    ]);
    expect(pool.origins).toEqual(origins);
  });

  it('publishes acquires, requests and slot state changes, with no secret in any payload', async () => {
    const server = await startHttpServer((req, res) => {
      if (req.url?.startsWith('/cut')) {
        res.setHeader('content-length', 1000);
        res.write('x');
        setTimeout(() => res.socket?.destroy(), 5);
      } else res.writeHead(201).end('ok');
    });
    const seen = listen();
    const url = server.url.replace('http://', 'http://trader:hunter2-password@');
    const origin = new URL(server.url).origin;
    const pool = await openPool({ url, connections: 1, headers: { authorization: 'Bearer t0ken-value', 'x-api-key': 'key-5ecret' } });

    // The first dial: connecting -> healthy, no error behind it.
    expect(seen[SLOT_STATE_CHANNEL]).toEqual([{ origin, slot: 0, from: 'connecting', to: 'healthy', reason: undefined }]);

    const lease = pool.tryAcquire()!;
    expect(pool.tryAcquire()).toBeUndefined();
    const timedOut = await pool.acquire({ timeout: 10 }).catch((e: unknown) => e);
    expect(isLifelineError(timedOut, 'ACQUIRE_TIMEOUT')).toBe(true);
    const acquires = seen[POOL_ACQUIRE_CHANNEL]!;
    expect(acquires.map(({ mode, outcome }) => [mode, outcome])).toEqual([
      ['try', 'granted'],
      ['try', 'unavailable'],
      ['wait', 'ACQUIRE_TIMEOUT'],
    ]);
    expect(acquires[0]).toEqual({ origin, mode: 'try', outcome: 'granted', waitMs: 0 });
    expect(acquires[2].waitMs).toBeGreaterThanOrEqual(9);

    const response = await lease.request({ method: 'PUT', path: '/orders', query: { token: 'q-5ecret' }, headers: { 'x-signature': 'q-5ecret' }, body: 'q-5ecret' });
    expect(response.status).toBe(201);
    const failed = await lease.request({ path: '/cut' }).catch((e: unknown) => e);
    expect(isLifelineError(failed, 'CONNECTION_LOST')).toBe(true);
    lease.release();
    const requests = seen[POOL_REQUEST_CHANNEL]!;
    expect(requests).toHaveLength(2);
    const first = { kind: 'request', id: expect.any(Number), origin, slot: 0, attempt: 1, replayed: false, repeat: 'first', durationMs: expect.any(Number), times: expect.any(Object), at: expect.any(Number) };
    expect(requests[0]).toEqual({ ...first, method: 'PUT', path: '/orders?token=[redacted]', status: 201, error: undefined, sent: undefined });
    expect(requests[1]).toEqual({ ...first, method: 'GET', path: '/cut', status: undefined, error: 'CONNECTION_LOST', sent: 'partial-response' });
    expect(requests[1].id).toBe(requests[0].id + 1);
    expect(requests[0].durationMs).toBeGreaterThan(0);

    // The cut connection heals: every step of it is published, the loss with its reason.
    await waitForStats(pool, isFull);
    const heal = ['healthy->poisoned', 'poisoned->backoff', 'backoff->connecting', 'connecting->healthy'];
    await waitFor(() => seen[SLOT_STATE_CHANNEL]!.length === 5, () => seen[SLOT_STATE_CHANNEL]);
    expect(seen[SLOT_STATE_CHANNEL]!.slice(1).map(({ from, to }) => `${from}->${to}`)).toEqual(heal);
    expect(seen[SLOT_STATE_CHANNEL]!.slice(1).map((m) => m.reason)).toEqual(['CONNECTION_LOST', undefined, undefined, undefined]);

    // An idle connection that served, closed by the server: a clean end, redialed at once, no backoff.
    expect((await pool.request({ path: '/' })).status).toBe(201);
    server.dropAll();
    await waitFor(() => seen[SLOT_STATE_CHANNEL]!.length === 7, () => seen[SLOT_STATE_CHANNEL]);
    expect(seen[SLOT_STATE_CHANNEL]!.slice(5).map(({ from, to }) => `${from}->${to}`)).toEqual(['healthy->connecting', 'connecting->healthy']);
    expect(seen[SLOT_STATE_CHANNEL]![5]).toEqual({ origin, slot: 0, from: 'healthy', to: 'connecting', reason: 'ENDED', detail: 'server-closed' });

    await pool.close();
    expect(seen[SLOT_STATE_CHANNEL]!.at(-1)).toMatchObject({ from: 'healthy', to: 'closed' });
    expectNoSecret(seen);
  });

  it('tells a connection the pool retires (RECYCLED) from one it loses', async () => {
    const server = await startHttpServer();
    const seen = listen();
    // Idle for 20 ms: the supervisor's sweep recycles it, with no fault on the server's side.
    const pool = await openPool({ url: server.url, connections: 1, idleTimeout: 20 });
    await waitFor(() => seen[SLOT_STATE_CHANNEL]!.some((m) => m.from === 'healthy' && m.to === 'connecting'), () => seen[SLOT_STATE_CHANNEL]);
    expect(seen[SLOT_STATE_CHANNEL]!.find((m) => m.from === 'healthy')).toMatchObject({ to: 'connecting', reason: 'RECYCLED' });
    expect(seen[SLOT_STATE_CHANNEL]!.some((m) => m.to === 'backoff' || m.to === 'poisoned')).toBe(false);
    await waitForStats(pool, isFull);
  });

  it('names the reason of a failed dial', async () => {
    const server = await startHttpServer();
    const seen = listen();
    const pool = await openPool({ url: server.url, connections: 1, backoff: { initial: 5, max: 5, jitter: 'none' } });
    await server.refuse();
    server.dropAll();
    await waitFor(
      () => seen[SLOT_STATE_CHANNEL]!.some((m) => m.from === 'connecting' && m.to === 'backoff'),
      () => seen[SLOT_STATE_CHANNEL],
    );
    const failed = seen[SLOT_STATE_CHANNEL]!.find((m) => m.from === 'connecting' && m.to === 'backoff');
    expect(failed.reason).toMatch(/^[A-Z_]+$/);
    await server.accept();
    await waitForStats(pool, isFull);
  });
});

describe('diagnostics channels: feeds', () => {
  it('publishes state changes and message sizes, never contents or secrets', async () => {
    const server = await startWsServer();
    const seen = listen();
    const url = `${server.url}/stream?listenKey=abcd-SECRET-1234`;
    const feed = openFeed({ url, headers: { 'x-api-key': 'key-5ecret' }, backoff: { initial: 5 } });
    const at = `ws://127.0.0.1:${server.port}`;
    await waitForState(feed, 'healthy');
    server.broadcast('héllo');
    server.broadcast(Buffer.from([1, 2, 3]));
    await waitFor(() => seen[FEED_MESSAGE_CHANNEL]!.length === 2, () => seen);
    expect(seen[FEED_MESSAGE_CHANNEL]).toEqual([
      { url: at, bytes: 6, isBinary: false },
      { url: at, bytes: 3, isBinary: true },
    ]);

    server.dropAll();
    await waitFor(() => feed.stats().connections === 2 && feed.state === 'healthy', () => feed.stats());
    expect(seen[FEED_STATE_CHANNEL]!.map(({ from, to }) => `${from}->${to}`)).toEqual([
      'connecting->healthy',
      'healthy->poisoned',
      'poisoned->backoff',
      'backoff->connecting',
      'connecting->healthy',
    ]);
    expect(seen[FEED_STATE_CHANNEL]![1]).toEqual({ url: at, from: 'healthy', to: 'poisoned', reason: 'FEED_LOST' });
    await feed.close();
    expect(seen[FEED_STATE_CHANNEL]!.at(-1)).toMatchObject({ to: 'closed' });
    expectNoSecret(seen);
  });
});

describe('diagnostics channels without subscribers', () => {
  it('build no payload, with or without a meter, and start publishing the moment one subscribes', async () => {
    const server = await startHttpServer();
    const ws = await startWsServer();
    for (const name of CHANNELS) expect(diagnostics.hasSubscribers(name), name).toBe(false);
    // Every payload is built as the argument of its channel's publish(): counting the calls counts the payloads.
    // The spy calls whatever publish the channel's prototype has now: Node swaps the prototype on subscribe.
    const publishes = [acquireChannel, requestChannel, slotStateChannel, feedStateChannel, feedMessageChannel].map((channel) =>
      vi.spyOn(channel, 'publish').mockImplementation((message) => (Object.getPrototypeOf(channel) as diagnostics.Channel).publish.call(channel, message)),
    );
    onTestFinished(() => publishes.forEach((spy) => spy.mockRestore()));
    const built = () => publishes.reduce((sum, spy) => sum + spy.mock.calls.length, 0);
    const { meter } = testMeter();
    const pool = await openPool({ url: server.url, connections: 2, meter });
    const feed = openFeed({ url: ws.url, meter, backoff: { initial: 5 } });
    await waitForState(feed, 'healthy');
    await pool.request({ path: '/' });
    pool.tryAcquire()!.release();
    // The drop reaches the client a little later: isFull alone can hold before the slots have even
    // seen it, and their heal then publishes slot changes after the subscription below (issue 14:
    // "expected 50 to be 49", on a loaded machine). Done when both replacements are connected.
    const accepted = server.requestsPerConnection.length;
    server.dropAll();
    await waitFor(
      () => server.requestsPerConnection.length === accepted + 2 && isFull(pool.stats()),
      () => ({ accepted: server.requestsPerConnection.length, stats: pool.stats() }),
    );
    ws.broadcast('m');
    await waitFor(() => feed.stats().messages === 1, () => feed.stats());
    expect(built()).toBe(0);

    // The same pool and feed publish once someone listens: the check above could have failed.
    const seen = listen();
    await pool.request({ path: '/' });
    ws.broadcast('m');
    await waitFor(() => seen[FEED_MESSAGE_CHANNEL]!.length === 1, () => seen);
    expect(seen[POOL_REQUEST_CHANNEL]).toHaveLength(1);
    expect(seen[POOL_ACQUIRE_CHANNEL]).toHaveLength(1);
    // Nothing else happened meanwhile: no slot or feed changed state.
    expect(seen[SLOT_STATE_CHANNEL]).toEqual([]);
    expect(seen[FEED_STATE_CHANNEL]).toEqual([]);
    expect(built()).toBe(3);
  });
});
