/**
 * What every WebSocket bad-peer case checks: the feed reports the exact code
 * (and the cause ws gave), walks healthy -> poisoned -> backoff -> connecting
 * -> healthy on a new connection, re-sends its subscription there and
 * delivers what the now well-behaved server sends.
 */
import { expect } from 'vitest';
import type { ErrorCode, Feed, FeedOptions, FeedState, LifelineError } from '../../src/index.js';
import { openFeed } from '../helpers/feed.js';
import { waitFor } from '../helpers/pool.js';
import { frame, OPCODE, type RawWsServer } from './raw-ws-server.js';

export const SUBSCRIPTION = '{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}';

export interface WatchedFeed {
  feed: Feed;
  errors: LifelineError[];
  states: FeedState[];
  messages: (string | Buffer)[];
}

/** A feed with one subscription, 1-20 ms backoff, and its errors, states and messages recorded from birth. */
export function openHostileFeed(server: RawWsServer, options: Partial<FeedOptions> = {}): WatchedFeed {
  const feed = openFeed({ url: server.url, subscriptions: [SUBSCRIPTION], backoff: { initial: 1, max: 20 }, ...options });
  const watched: WatchedFeed = { feed, errors: [], states: [], messages: [] };
  feed.on('error', (error) => watched.errors.push(error));
  feed.on('state', (state) => watched.states.push(state));
  feed.on('message', (data) => watched.messages.push(data));
  return watched;
}

/**
 * The first connection failed with `code` (ws's own code in `cause`, when given)
 * and the feed is live again on the second.
 */
export async function expectFeedHealed({ feed, errors, states, messages }: WatchedFeed, server: RawWsServer, code: ErrorCode, wsCode?: string): Promise<void> {
  await waitFor(
    () => server.connections === 2 && feed.state === 'healthy' && server.received[1]?.length === 1,
    () => ({ stats: feed.stats(), states, errors: errors.map(String), received: server.received }),
  );
  expect(errors.map((error) => error.code)).toEqual([code]);
  expect((errors[0]!.cause as { code?: string } | undefined)?.code).toBe(wsCode);
  expect(states).toEqual(['healthy', 'poisoned', 'backoff', 'connecting', 'healthy']);
  expect(server.received[1]).toEqual([SUBSCRIPTION]);
  expect(feed.stats()).toMatchObject({ state: 'healthy', connections: 2, lastError: code });
  const before = messages.length;
  server.broadcast(frame(OPCODE.text, '{"p":1}'));
  await waitFor(() => messages.length > before, () => messages);
  expect(messages.at(-1)).toBe('{"p":1}');
}
