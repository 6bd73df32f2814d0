/**
 * The README's example of testing your own feed handling with lifeline-supervisor/testing:
 * a venue that drops the connection, a feed that must come back and re-send its
 * subscription, a book that must be rebuilt. Imported by package name, as a user would.
 */
import { expect, it, onTestFinished } from 'vitest';
import { SimulatedClock } from 'xstate';
import { Feed } from 'lifeline-supervisor';
import { logFeed, startFaultWsServer } from 'lifeline-supervisor/testing';

it('resubscribes and rebuilds the book after the venue drops the connection', async () => {
  const venue = await startFaultWsServer({
    // The venue answers a subscription with a snapshot of the book.
    onMessage: (socket, text) => socket.send(JSON.stringify({ snapshot: text, bids: [[100, 1]] })),
  });
  onTestFinished(() => venue.close());

  const clock = new SimulatedClock(); // backoff moves only when the test says so
  const feed = Feed.connect({ url: venue.url, subscriptions: ['book:BTC'], clock, backoff: { initial: 100, jitter: 'none' } });
  onTestFinished(() => feed.close());
  const log = logFeed(feed);

  // Your handling under test: rebuild from every snapshot.
  let snapshots = 0;
  feed.on('message', (data) => {
    if (JSON.parse(data.toString()).snapshot) snapshots++;
  });

  expect(await log.next()).toBe('healthy');
  await expect.poll(() => snapshots).toBe(1); // the book is built

  venue.dropAll(); // the venue drops every socket
  expect(await log.next()).toBe('poisoned');
  expect(await log.next()).toBe('backoff');
  clock.increment(100); // the first retry is due
  expect(await log.next()).toBe('connecting');
  expect(await log.next()).toBe('healthy');

  await expect.poll(() => snapshots).toBe(2); // and rebuilt
  expect(venue.received).toEqual([['book:BTC'], ['book:BTC']]); // one subscription per connection
});
