import { onTestFinished } from 'vitest';
import { Feed, type FeedOptions, type FeedState } from '../../src/index.js';
import { waitFor } from './pool.js';

/** Starts a feed whose close is registered at birth. */
export function openFeed(options: FeedOptions): Feed {
  const feed = Feed.connect(options);
  onTestFinished(() => feed.close());
  return feed;
}

export function waitForState(feed: Feed, state: FeedState, timeout?: number): Promise<void> {
  return waitFor(
    () => feed.state === state,
    () => feed.stats(),
    timeout,
  );
}
