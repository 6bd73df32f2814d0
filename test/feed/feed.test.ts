/**
 * Feeds against real WebSocket servers on loopback: subscriptions restored on
 * every connect, heartbeat and staleness on an injected clock, oversized
 * messages, acknowledgements, several URLs, and a clean close.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { isLifelineError, type LifelineError } from '../../src/index.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { waitFor } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';

const SUBS = ['{"sub":"btcusdt@trade"}', '{"sub":"ethusdt@trade"}', '{"sub":"btcusdt@depth"}'];

describe('feed', () => {
  it('goes live after sending its subscriptions, delivers messages, and resubscribes in order after the server drops it', async () => {
    const server = await startWsServer();
    const feed = openFeed({ url: server.url, subscriptions: SUBS, backoff: { initial: 5 } });
    const states: string[] = [];
    feed.on('state', (state) => states.push(state));
    await waitForState(feed, 'healthy');
    await waitFor(() => server.received[0]?.length === 3, () => server.received);
    expect(server.received[0]).toEqual(SUBS);

    const got: unknown[] = [];
    feed.on('message', (data, isBinary) => got.push([data, isBinary]));
    server.broadcast('{"p":1}');
    server.broadcast(Buffer.from([1, 2, 3]));
    await waitFor(() => got.length === 2, () => got);
    expect(got).toEqual([
      ['{"p":1}', false],
      [Buffer.from([1, 2, 3]), true],
    ]);

    feed.subscribe('{"sub":"solusdt@trade"}'); // live: sent at once, and kept
    await waitFor(() => server.received[0]?.length === 4, () => server.received);

    server.dropAll();
    await waitFor(() => server.received.length === 2 && server.received[1]!.length === 4, () => server.received);
    expect(server.received[1]).toEqual([...SUBS, '{"sub":"solusdt@trade"}']);
    await waitForState(feed, 'healthy');
    // Without isAck, subscribing lasts no longer than sending: observers see connecting -> healthy.
    expect(states).toEqual(['healthy', 'poisoned', 'backoff', 'connecting', 'healthy']);
    expect(feed.stats()).toMatchObject({ connections: 2, subscriptions: 4, lastError: 'FEED_LOST' });
  });

  it('subscribe and unsubscribe while not live are only recorded, and send() rejects with NOT_LIVE', async () => {
    const server = await startWsServer();
    await server.stop();
    const feed = openFeed({ url: server.url, subscriptions: ['a'], backoff: { initial: 5, max: 20 } });
    feed.subscribe('b');
    feed.subscribe('c');
    feed.unsubscribe('a', 'unsub-a'); // not live: the message is not sent
    await expect(feed.send('x')).rejects.toMatchObject({ code: 'NOT_LIVE' });
    await server.restart();
    await waitForState(feed, 'healthy');
    await waitFor(() => server.received[0]?.length === 2, () => server.received);
    expect(server.received[0]).toEqual(['b', 'c']);
    await feed.send('hello');
    await waitFor(() => server.received[0]?.length === 3, () => server.received);
    expect(server.received[0]![2]).toBe('hello');
  });

  it('a server that stops answering pings is poisoned within interval + timeout, then reconnects', async () => {
    const server = await startWsServer({ autoPong: false });
    const clock = new SimulatedClock();
    const feed = openFeed({ url: server.url, heartbeat: { interval: 1_000, timeout: 500 }, clock });
    await waitForState(feed, 'healthy');
    clock.increment(1_000); // ping goes out (for real)
    clock.increment(499);
    expect(feed.state).toBe('healthy');
    clock.increment(1);
    expect(feed.state).toBe('poisoned');
    expect(feed.actor.getSnapshot().context.lastError?.code).toBe('HEARTBEAT_TIMEOUT');
    await waitForState(feed, 'backoff');
    clock.increment(feed.actor.getSnapshot().context.retryDelay);
    await waitForState(feed, 'healthy');
    expect(server.received).toHaveLength(2);
  });

  it('a server that answers pings keeps the feed live', async () => {
    const server = await startWsServer();
    const clock = new SimulatedClock();
    let pongs = 0;
    const feed = openFeed({ url: server.url, heartbeat: { interval: 1_000, timeout: 500 }, clock });
    await waitForState(feed, 'healthy');
    const connection = feed.actor.getSnapshot().context.connection!;
    connection.onEvent((event) => event.type === 'pong' && pongs++);
    for (let i = 1; i <= 3; i++) {
      clock.increment(1_000);
      await waitFor(() => pongs === i, () => pongs);
      clock.increment(500);
      expect(feed.state).toBe('healthy');
    }
  });

  it('a silent server that keeps the socket is poisoned after staleAfter; messages keep it live', async () => {
    const server = await startWsServer();
    const clock = new SimulatedClock();
    const feed = openFeed({ url: server.url, staleAfter: 3_000, clock });
    await waitForState(feed, 'healthy');
    let seen = 0;
    feed.on('message', () => seen++);
    clock.increment(2_000);
    server.broadcast('tick');
    await waitFor(() => seen === 1, () => seen);
    clock.increment(2_000); // 4 s since connect, 2 s since the message: live
    expect(feed.state).toBe('healthy');
    clock.increment(999);
    expect(feed.state).toBe('healthy');
    clock.increment(1);
    expect(feed.state).toBe('poisoned');
    expect(feed.actor.getSnapshot().context.lastError?.code).toBe('FEED_STALE');
  });

  it('an oversized message gives MESSAGE_TOO_LARGE and the feed heals', async () => {
    const server = await startWsServer();
    const feed = openFeed({ url: server.url, subscriptions: ['s'], maxMessageSize: 1024, backoff: { initial: 5 } });
    const errors: LifelineError[] = [];
    feed.on('error', (error) => errors.push(error));
    await waitForState(feed, 'healthy');
    server.broadcast('x'.repeat(2048));
    await waitFor(() => errors.length === 1, () => errors);
    expect(isLifelineError(errors[0], 'MESSAGE_TOO_LARGE')).toBe(true);
    expect(errors[0]!.message).toBe('a message exceeded maxMessageSize (1024 bytes)');
    // Healthy means sent; wait for the server to have read it too.
    await waitFor(() => server.received[1]?.length === 1 && feed.state === 'healthy', () => feed.stats());
    expect(server.received[1]).toEqual(['s']);
  });

  it('with isAck, stays subscribing until every subscription is acknowledged; a missing ack poisons it', async () => {
    let ackNext = true;
    const server = await startWsServer({
      onMessage: (socket, text) => {
        if (ackNext) socket.send(JSON.stringify({ ack: text }));
      },
    });
    const clock = new SimulatedClock();
    const feed = openFeed({
      url: server.url,
      subscriptions: ['a', 'b'],
      isAck: (data) => typeof data === 'string' && data.startsWith('{"ack"'),
      ackTimeout: 2_000,
      clock,
    });
    await waitForState(feed, 'healthy');
    ackNext = false;
    server.dropAll();
    await waitForState(feed, 'backoff');
    clock.increment(feed.actor.getSnapshot().context.retryDelay);
    await waitForState(feed, 'subscribing');
    await waitFor(() => server.received[1]?.length === 2, () => server.received);
    clock.increment(1_999);
    expect(feed.state).toBe('subscribing');
    clock.increment(1);
    expect(feed.state).toBe('poisoned');
    expect(feed.actor.getSnapshot().context.lastError?.code).toBe('ACK_TIMEOUT');
  });

  it('follows the backoff schedule against a refusing server (jitter off): 100, 200, 400, 800 ms', async () => {
    const server = await startWsServer();
    await server.stop();
    const clock = new SimulatedClock();
    const feed = openFeed({ url: server.url, backoff: { jitter: 'none' }, clock });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      await waitForState(feed, 'backoff');
      const delay = feed.actor.getSnapshot().context.retryDelay;
      delays.push(delay);
      clock.increment(delay - 1);
      expect(feed.state).toBe('backoff');
      clock.increment(1);
      expect(feed.state).toBe('connecting');
    }
    expect(delays).toEqual([100, 200, 400, 800]);
    expect(feed.stats().lastError).toBe('CONNECT_FAILED');
  });

  it('100 feeds dropped together do not reconnect in the same millisecond (full jitter)', async () => {
    const server = await startWsServer();
    const feeds = Array.from({ length: 100 }, () => openFeed({ url: server.url }));
    await waitFor(() => feeds.every((f) => f.state === 'healthy'), () => feeds.map((f) => f.state));
    const firstWave = server.acceptedAt.length;
    const droppedAt = performance.now();
    server.dropAll();
    await waitFor(() => server.acceptedAt.length === firstWave + 100, () => server.acceptedAt.length);
    const delays = server.acceptedAt.slice(firstWave).map((t) => t - droppedAt);
    const distinctMs = new Set(delays.map((d) => Math.floor(d))).size;
    const spread = Math.max(...delays) - Math.min(...delays);
    console.log(`100 feeds: first reconnects spread over ${spread.toFixed(1)} ms, ${distinctMs} distinct milliseconds`);
    expect(delays).toHaveLength(100);
    expect(distinctMs).toBeGreaterThan(20);
    expect(spread).toBeGreaterThan(30);
  });

  it('several URLs: a reconnect tries the one with the fewest recent failures first', async () => {
    const down = await startWsServer();
    await down.stop();
    const up = await startWsServer();
    const feed = openFeed({ urls: [down.url, up.url], subscriptions: ['s'], backoff: { initial: 5, max: 10 } });
    await waitForState(feed, 'healthy');
    expect(feed.stats().url).toBe(`ws://127.0.0.1:${up.port}`);
    await waitFor(() => up.received[0]?.length === 1, () => up.received);
    expect(up.received[0]).toEqual(['s']);
  });

  it('maxReconnects ends in closed with RECONNECTS_EXHAUSTED, and messages() rejects with it', async () => {
    const server = await startWsServer();
    await server.stop();
    const feed = openFeed({ url: server.url, maxReconnects: 2, backoff: { initial: 1, max: 2 } });
    const iterator = feed.messages();
    await waitForState(feed, 'closed');
    expect(feed.actor.getSnapshot().context.lastError?.code).toBe('RECONNECTS_EXHAUSTED');
    await expect(iterator.next()).rejects.toMatchObject({ code: 'RECONNECTS_EXHAUSTED' });
    await expect(feed.send('x')).rejects.toMatchObject({ code: 'FEED_CLOSED' });
  });
});
