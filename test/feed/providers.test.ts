/**
 * `url` and `headers` as functions, called before every connect: what they
 * return is what the next connect uses; whatever goes wrong with one (a throw,
 * a rejection, a bad value, no answer) fails that connect with CONNECT_FAILED
 * naming the option, and the feed backs off and asks again.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { isLifelineError, type FeedOptions, type LifelineError } from '../../src/index.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { waitFor } from '../helpers/pool.js';
import { startWsVenue } from '../helpers/ws-venue.js';

describe('feed url and headers providers', () => {
  it('calls both before every connect and connects with what they return then', async () => {
    const venue = await startWsVenue();
    let calls = 0;
    const signals: AbortSignal[] = [];
    const feed = openFeed({
      url: async ({ signal }) => {
        signals.push(signal);
        calls++;
        // A URL object is taken too.
        return calls === 1 ? `${venue.url}/ws/key-1` : new URL(`${venue.url}/ws/key-${calls}`);
      },
      headers: () => [['x-attempt', String(calls)]],
      subscriptions: ['s'],
      backoff: { initial: 1, max: 5 },
    });
    await waitForState(feed, 'healthy');
    venue.dropAll();
    await waitFor(() => venue.upgrades.length === 2 && feed.state === 'healthy', () => feed.stats());
    expect(venue.upgrades.map((u) => [u.path, u.headers['x-attempt']])).toEqual([
      ['/ws/key-1', '1'],
      ['/ws/key-2', '2'],
    ]);
    await waitFor(() => venue.upgrades[1]!.received.length === 1, () => venue.upgrades[1]!.received);
    expect(venue.upgrades[1]!.received).toEqual(['s']);
    expect(signals.every((signal) => signal instanceof AbortSignal && !signal.aborted)).toBe(true);
    // scheme://host:port of the URL the provider gave last.
    expect(feed.stats()).toMatchObject({ url: venue.url, connections: 2 });
  });

  /** Each case: the options whose provider fails on its first call (and works after), and the error's message. */
  const failingOnce = (venueUrl: string): [string, (fail: () => boolean) => Partial<FeedOptions>, string, string | undefined][] => [
    [
      'a url provider that throws',
      (fail) => ({ url: () => { if (fail()) throw new Error('no listen key'); return venueUrl; } }),
      'the `url` provider failed (see cause)',
      'no listen key',
    ],
    [
      'a url provider that rejects, in a list',
      (fail) => ({ urls: [async () => { if (fail()) throw new Error('HTTP 503'); return venueUrl; }] }),
      'the `urls[0]` provider failed (see cause)',
      'HTTP 503',
    ],
    [
      'a url provider that returns an http URL',
      (fail) => ({ url: () => (fail() ? venueUrl.replace('ws:', 'http:') : venueUrl) }),
      'Expected `url()` to be a ws:// or wss:// URL, got a http: URL',
      undefined,
    ],
    [
      'a url provider that returns nothing',
      (fail) => ({ url: () => (fail() ? (undefined as unknown as string) : venueUrl) }),
      'Expected `url()` to be a ws:// or wss:// URL string, got undefined',
      undefined,
    ],
    [
      'a headers provider that rejects',
      (fail) => ({ url: venueUrl, headers: async () => { if (fail()) throw new Error('token expired'); return {}; } }),
      'the `headers` provider failed (see cause)',
      'token expired',
    ],
    [
      'a headers provider that returns a header with CR/LF',
      (fail) => ({ url: venueUrl, headers: () => ({ 'x-key': fail() ? 'a\r\nx-injected: 1' : 'a' }) }),
      'Expected `headers().x-key` to contain no CR, LF or NUL character',
      undefined,
    ],
  ];

  it.each(failingOnce('ws://placeholder').map(([name], i) => [name, i] as const))(
    '%s fails that connect with CONNECT_FAILED; the feed backs off and asks again',
    async (_name, i) => {
      const venue = await startWsVenue();
      const [, options, message, cause] = failingOnce(venue.url)[i]!;
      let calls = 0;
      const errors: LifelineError[] = [];
      const states: string[] = [];
      const feed = openFeed({ ...options(() => ++calls === 1), backoff: { initial: 1, max: 5 } } as FeedOptions);
      feed.on('error', (error) => errors.push(error));
      feed.on('state', (state) => states.push(state));
      await waitForState(feed, 'healthy');
      expect(states).toEqual(['backoff', 'connecting', 'healthy']);
      expect(errors).toHaveLength(1);
      expect(isLifelineError(errors[0], 'CONNECT_FAILED')).toBe(true);
      expect(errors[0]!.message).toBe(message);
      if (cause !== undefined) expect((errors[0]!.cause as Error).message).toBe(cause);
      expect(venue.upgrades).toHaveLength(1);
    },
  );

  it('a provider that never answers fails the connect at connectTimeout, on the feed clock, its signal aborted', async () => {
    const venue = await startWsVenue();
    const clock = new SimulatedClock();
    const signals: AbortSignal[] = [];
    const feed = openFeed({
      // The first call never settles; the second answers.
      url: ({ signal }) => (signals.push(signal) === 1 ? new Promise<string>(() => {}) : venue.url),
      // Far longer than the test: only the feed clock can bring it.
      connectTimeout: 60_000,
      backoff: { initial: 100, jitter: 'none' },
      clock,
    });
    await waitFor(() => signals.length === 1, () => signals);
    expect(feed.stats().url).toBe('(url provider)'); // until it first answers
    clock.increment(59_999);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(feed.state).toBe('connecting');
    clock.increment(1);
    await waitForState(feed, 'backoff');
    expect(signals[0]!.aborted).toBe(true);
    expect(feed.actor.getSnapshot().context.lastError?.message).toBe('the `url` provider did not answer within connectTimeout (60000 ms)');
    clock.increment(100);
    await waitForState(feed, 'healthy');
  });

  it('close() does not wait for a provider that never answers: it aborts its signal', async () => {
    let signal: AbortSignal | undefined;
    const feed = openFeed({
      // connectTimeout never passes on this clock: only close() can end the wait.
      clock: new SimulatedClock(),
      url: (context) => {
        signal = context.signal;
        return new Promise<string>(() => {});
      },
    });
    await waitFor(() => signal !== undefined, () => feed.stats());
    await feed.close();
    expect(signal!.aborted).toBe(true);
    expect(feed.state).toBe('closed');
  });
});
