/**
 * A `messages()` reader that falls behind: its bounded buffer drops the oldest
 * (or newest) messages, every drop is counted (`stats().dropped`), and the
 * feed tells once per episode (`slow`, `stats().slowConsumers`): from the
 * first drop until that reader has emptied its buffer again.
 */
import { describe, expect, it } from 'vitest';
import type { Feed, FeedMessage } from '../../src/index.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { waitFor } from '../helpers/pool.js';
import { startWsServer, type TestWsServer } from '../helpers/ws-server.js';

async function live(options: { messageBuffer: number; overflow?: 'drop-oldest' | 'drop-newest' }): Promise<{ server: TestWsServer; feed: Feed; slow: () => number }> {
  const server = await startWsServer();
  const feed = openFeed({ url: server.url, ...options });
  let slow = 0;
  feed.on('slow', () => slow++);
  await waitForState(feed, 'healthy');
  return { server, feed, slow: () => slow };
}

/** Broadcasts `texts` and waits until the feed has received them all. */
async function broadcast(server: TestWsServer, feed: Feed, texts: string[]): Promise<void> {
  const target = feed.stats().messages + texts.length;
  for (const text of texts) server.broadcast(text);
  await waitFor(() => feed.stats().messages === target, () => feed.stats());
}

async function take(iterator: AsyncIterator<FeedMessage>, n: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push((await iterator.next()).value.data);
  return out;
}

describe('feed slow consumers', () => {
  it('a reader behind by 2 over a buffer of 3 loses the 2 oldest, and the feed says so once', async () => {
    const { server, feed, slow } = await live({ messageBuffer: 3 });
    const iterator = feed.messages();
    await broadcast(server, feed, ['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(feed.stats()).toMatchObject({ dropped: 2, slowConsumers: 1 });
    expect(slow()).toBe(1);
    expect(await take(iterator, 3)).toEqual(['m3', 'm4', 'm5']);

    // Caught up (the buffer emptied): falling behind again is a new episode.
    await broadcast(server, feed, ['n1', 'n2', 'n3', 'n4']);
    expect(feed.stats()).toMatchObject({ dropped: 3, slowConsumers: 2 });
    expect(slow()).toBe(2);
  });

  it("with 'drop-newest' the reader keeps the oldest; an episode lasts until its buffer is empty, not merely below full", async () => {
    const { server, feed, slow } = await live({ messageBuffer: 3, overflow: 'drop-newest' });
    const iterator = feed.messages();
    await broadcast(server, feed, ['m1', 'm2', 'm3', 'm4']);
    expect(await take(iterator, 1)).toEqual(['m1']);
    await broadcast(server, feed, ['m5', 'm6']); // one fits, one is dropped: the same episode
    expect(feed.stats()).toMatchObject({ dropped: 2, slowConsumers: 1 });
    expect(slow()).toBe(1);
    expect(await take(iterator, 3)).toEqual(['m2', 'm3', 'm5']);
  });

  it('a reader that keeps up is never slow, whatever another does', async () => {
    const { server, feed, slow } = await live({ messageBuffer: 2 });
    const fast = feed.messages();
    const lagging = feed.messages();
    const read: unknown[] = [];
    const reading = (async () => {
      for await (const { data } of fast) if (read.push(data) === 6) break;
    })();
    for (let i = 1; i <= 6; i++) await broadcast(server, feed, [`m${i}`]);
    await reading;
    expect(read).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    expect(feed.stats()).toMatchObject({ dropped: 4, slowConsumers: 1 });
    expect(slow()).toBe(1);
    expect(await take(lagging, 2)).toEqual(['m5', 'm6']);
  });
});
