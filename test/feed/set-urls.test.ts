/**
 * `feed.setUrls()`: the endpoint list replaced at runtime, taking effect at the
 * next connect, with the recent failures of each endpoint in both lists kept
 * (as nats' set_server_pool), so the next connect still avoids what failed.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { thrown } from '../helpers/errors.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { waitFor } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';

describe('feed.setUrls', () => {
  it('takes effect at the next connect: the live connection stays, the reconnect goes to the new list', async () => {
    const a = await startWsServer();
    const b = await startWsServer();
    const feed = openFeed({ url: a.url, subscriptions: ['s'], backoff: { initial: 1, max: 5 } });
    await waitForState(feed, 'healthy');
    const token = 'tk-SECRET-set-urls';
    feed.setUrls([`${b.url}/stream?token=${token}`]);
    expect(feed.state).toBe('healthy');
    expect(a.clients.size).toBe(1);
    expect(feed.stats().url).toBe(a.url);

    a.dropAll();
    await waitFor(() => b.received[0]?.length === 1 && feed.state === 'healthy', () => feed.stats());
    expect(b.received[0]).toEqual(['s']);
    expect(feed.stats()).toMatchObject({ url: b.url, connections: 2 });
    // The new URL's token is a secret like one given at connect.
    const shown = [inspect(feed.actor, { depth: 6 }), JSON.stringify(feed.actor.getSnapshot().context.urls), JSON.stringify(feed.stats())];
    for (const text of shown) expect(text).not.toContain(token);
  });

  it('keeps the failure count of a URL in both lists (given as a URL object too): the next connect avoids it', async () => {
    const a = await startWsServer();
    const b = await startWsServer();
    const c = await startWsServer();
    await a.stop();
    const clock = new SimulatedClock();
    const feed = openFeed({ urls: [a.url, b.url], clock, backoff: { initial: 100, jitter: 'none' } });
    await waitForState(feed, 'backoff'); // a refused
    clock.increment(100);
    await waitForState(feed, 'healthy'); // on b
    expect(feed.actor.getSnapshot().context.failures).toEqual([1, 0]);

    // a keeps its failure, c is new; b, in use, leaves the list but stays connected.
    feed.setUrls([new URL(a.url), c.url]);
    expect(feed.actor.getSnapshot().context.failures).toEqual([1, 0]);
    await a.restart();
    b.dropAll(); // lost on b, which is no longer listed: it counts against nothing
    await waitForState(feed, 'backoff');
    expect(feed.actor.getSnapshot().context.failures).toEqual([1, 0]);
    clock.increment(feed.actor.getSnapshot().context.retryDelay);
    await waitForState(feed, 'healthy');
    // Fewest failures first: c, not a (a list with a's count reset would try a, the first).
    expect(feed.stats().url).toBe(c.url);
    expect([a.acceptedAt.length, c.acceptedAt.length]).toEqual([0, 1]);
  });

  it.each([
    [[], 'Expected `urls` to be a non-empty array of ws:// or wss:// URLs, got an array of 0'],
    [['ws://ok', 'http://x'], 'Expected `urls[1]` to be a ws:// or wss:// URL, got a http: URL'],
    [undefined, 'Expected `urls` to be a non-empty array of ws:// or wss:// URLs, got undefined'],
    ['ws://x', 'Expected `urls` to be a non-empty array of ws:// or wss:// URLs, got a string of 6 characters'],
  ])('refuses %j with INVALID_OPTIONS, and keeps the list it had', async (urls, message) => {
    const server = await startWsServer();
    const feed = openFeed({ url: server.url });
    expect(thrown(() => feed.setUrls(urls as never))).toMatchObject({ code: 'INVALID_OPTIONS', message });
    expect(JSON.parse(JSON.stringify(feed.actor.getSnapshot().context.urls))).toEqual([new URL(server.url).href]);
  });

  it('refuses with FEED_CLOSED once the feed is closed', async () => {
    const server = await startWsServer();
    const feed = openFeed({ url: server.url });
    await feed.close();
    expect(thrown(() => feed.setUrls([server.url])).code).toBe('FEED_CLOSED');
  });
});
