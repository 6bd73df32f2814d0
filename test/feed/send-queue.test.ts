/**
 * `feed.send(text, { queue: true })` while the feed is not live: queued, then
 * sent in order right after the subscriptions on the next connect; bounded in
 * size (SEND_QUEUE_FULL) and age (SEND_EXPIRED, on the feed's clock); refused
 * with FEED_CLOSED when the feed closes. A plain send still rejects NOT_LIVE.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { Feed, isLifelineError, type LifelineError } from '../../src/index.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { waitFor } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';

/** The outcome of a send, recorded as it settles: 'sent' or the error code. */
function track(send: Promise<void>): { outcome: string | undefined; error: LifelineError | undefined } {
  const result: { outcome: string | undefined; error: LifelineError | undefined } = { outcome: undefined, error: undefined };
  send.then(
    () => (result.outcome = 'sent'),
    (error: LifelineError) => {
      result.outcome = error.code;
      result.error = error;
    },
  );
  return result;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('feed send queue', () => {
  it('queues across a reconnect and sends in order after the subscriptions, before any send made once live', async () => {
    const server = await startWsServer();
    const clock = new SimulatedClock();
    const feed = openFeed({ url: server.url, subscriptions: ['sub:a', 'sub:b'], clock, backoff: { initial: 100, jitter: 'none' } });
    await waitForState(feed, 'healthy');
    server.dropAll();
    await waitForState(feed, 'backoff');

    const first = feed.send('order:1', { queue: true });
    const second = feed.send('order:2', { queue: true });
    await expect(feed.send('plain')).rejects.toMatchObject({ code: 'NOT_LIVE' });
    expect(feed.stats().queued).toBe(2);
    // A listener that sends the moment the feed is live comes after the queue.
    feed.on('state', (state) => {
      if (state === 'healthy') void feed.send('from-listener');
    });

    clock.increment(100);
    await Promise.all([first, second]);
    await waitFor(() => server.received[1]?.length === 5, () => server.received);
    expect(server.received[1]).toEqual(['sub:a', 'sub:b', 'order:1', 'order:2', 'from-listener']);
    expect(feed.stats().queued).toBe(0);
  });

  it('with acknowledgements, the queue waits for them: nothing queued is sent while subscribing', async () => {
    const server = await startWsServer();
    await server.stop();
    const feed = openFeed({ url: server.url, subscriptions: ['sub:a'], isAck: (data) => data === 'ack', backoff: { initial: 5, max: 20 } });
    const sent = feed.send('order:1', { queue: true });
    await server.restart();
    await waitForState(feed, 'subscribing');
    await waitFor(() => server.received[0]?.length === 1, () => server.received);
    await settle();
    expect(server.received[0]).toEqual(['sub:a']);
    server.broadcast('ack');
    await sent;
    await waitFor(() => server.received[0]?.length === 2, () => server.received);
    expect(server.received[0]).toEqual(['sub:a', 'order:1']);
  });

  it('refuses a message beyond sendQueue.size at once with SEND_QUEUE_FULL; the others still go', async () => {
    const server = await startWsServer();
    await server.stop();
    const feed = openFeed({ url: server.url, sendQueue: { size: 2 }, backoff: { initial: 5, max: 20 } });
    const kept = [feed.send('a', { queue: true }), feed.send('b', { queue: true })];
    const full = await feed.send('c', { queue: true }).catch((e: unknown) => e);
    expect(isLifelineError(full, 'SEND_QUEUE_FULL')).toBe(true);
    expect((full as Error).message).toBe('the send queue is full (sendQueue.size: 2); the message was not queued');
    await server.restart();
    await Promise.all(kept);
    await waitFor(() => server.received[0]?.length === 2, () => server.received);
    expect(server.received[0]).toEqual(['a', 'b']);
  });

  it('refuses each message once it has waited sendQueue.maxAge, on the feed clock, with SEND_EXPIRED', async () => {
    const server = await startWsServer();
    await server.stop();
    const clock = new SimulatedClock();
    // Refused, then backing off for far longer than the test: the feed stays not live.
    const feed = openFeed({ url: server.url, sendQueue: { maxAge: 1_000 }, clock, backoff: { initial: 1_000_000, jitter: 'none' } });
    await waitForState(feed, 'backoff');
    const a = track(feed.send('a', { queue: true }));
    clock.increment(600);
    const b = track(feed.send('b', { queue: true }));
    clock.increment(399);
    await settle();
    expect([a.outcome, b.outcome, feed.stats().queued]).toEqual([undefined, undefined, 2]);
    clock.increment(1);
    await settle();
    expect([a.outcome, b.outcome, feed.stats().queued]).toEqual(['SEND_EXPIRED', undefined, 1]);
    expect(a.error!.message).toBe('the message waited in the send queue for sendQueue.maxAge (1000 ms) without the feed going live; it was not sent');
    clock.increment(599);
    await settle();
    expect(b.outcome).toBeUndefined();
    clock.increment(1);
    await settle();
    expect([b.outcome, feed.stats().queued]).toEqual(['SEND_EXPIRED', 0]);
  });

  it('close() refuses what is queued with FEED_CLOSED: nothing is left pending', async () => {
    const server = await startWsServer();
    await server.stop();
    const feed = openFeed({ url: server.url, backoff: { initial: 1_000 } });
    const queued = [track(feed.send('a', { queue: true })), track(feed.send('b', { queue: true }))];
    await feed.close();
    await settle();
    expect(queued.map((q) => q.outcome)).toEqual(['FEED_CLOSED', 'FEED_CLOSED']);
    expect(feed.stats().queued).toBe(0);
    await expect(feed.send('c', { queue: true })).rejects.toMatchObject({ code: 'FEED_CLOSED' });
  });

  it('a feed that gives up (maxReconnects) refuses what is queued with FEED_CLOSED, caused by RECONNECTS_EXHAUSTED', async () => {
    const server = await startWsServer();
    await server.stop();
    const feed = Feed.connect({ url: server.url, maxReconnects: 0 });
    const error = await feed.send('a', { queue: true }).catch((e: unknown) => e);
    expect(isLifelineError(error, 'FEED_CLOSED')).toBe(true);
    expect(isLifelineError((error as Error).cause, 'RECONNECTS_EXHAUSTED')).toBe(true);
    expect(feed.state).toBe('closed');
  });

  it('refuses bad send options with INVALID_REQUEST', async () => {
    const server = await startWsServer();
    const feed = openFeed({ url: server.url });
    await expect(feed.send('a', { queue: 'yes' } as never)).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: 'Expected `options.queue` to be a boolean, got a string of 3 characters' });
    await expect(feed.send('a', { queued: true } as never)).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: 'Unknown option `options.queued`; known options are queue' });
  });
});
