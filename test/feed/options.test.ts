/**
 * Feed options are checked at Feed.connect(): a wrong one throws INVALID_OPTIONS
 * saying what was expected and what came, before anything is dialed.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONNECTIONS,
  DEFAULT_FEED_CONNECT_TIMEOUT,
  DEFAULT_FEED_REF,
  DEFAULT_REPLAY,
  DEFAULT_SEND_QUEUE,
  Feed,
  FEED_DEFAULTS,
  POOL_DEFAULTS,
  type FeedOptions,
} from '../../src/index.js';
import { thrown } from '../helpers/errors.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { startWsServer } from '../helpers/ws-server.js';

describe('feed options', () => {
  it.each([
    [{}, 'Expected `url` to be a ws:// or wss:// URL string, got undefined'],
    [{ url: 'http://x' }, 'Expected `url` to be a ws:// or wss:// URL, got a http: URL'],
    [{ url: 'ws://x', urls: ['ws://y'] }, 'Expected `url` to be left out when `urls` is given, got both'],
    [{ urls: [] }, 'Expected `urls` to be a non-empty array of ws:// or wss:// URLs, got an array of 0'],
    [{ urls: ['ws://a', 5] }, 'Expected `urls[1]` to be a ws:// or wss:// URL string, got 5 (number)'],
    [{ url: 'ws://x', subscriptions: 'a' }, 'Expected `subscriptions` to be an array of strings, got a string of 1 characters'],
    [{ url: 'ws://x', subscriptions: [{}] }, 'Expected `subscriptions[0]` to be a string, got an object'],
    [{ url: 'ws://x', heartbeat: { interval: 1000 } }, 'Expected `heartbeat.timeout` to be an integer from 1 to 2147483647, got undefined'],
    [{ url: 'ws://x', staleAfter: 0 }, 'Expected `staleAfter` to be an integer from 1 to 2147483647, got 0 (number)'],
    [{ url: 'ws://x', overflow: 'block' }, "Expected `overflow` to be one of 'drop-oldest', 'drop-newest', got a string of 5 characters"],
    [{ url: 'ws://x', maxReconnects: -1 }, 'Expected `maxReconnects` to be an integer from 0 to 9007199254740991, got -1 (number)'],
    [{ url: 'ws://x', isAck: true }, 'Expected `isAck` to be a function, got true (boolean)'],
    [{ url: 'ws://x', ref: 'no' }, 'Expected `ref` to be a boolean, got a string of 2 characters'],
    [{ url: 'ws://x', ref: 0 }, 'Expected `ref` to be a boolean, got 0 (number)'],
    // The same header checks as a pool's default headers, so the same words.
    [{ url: 'ws://x', headers: { auth: 'k\r\nx: 1' } }, 'Expected `headers.auth` to contain no CR, LF or NUL character'],
    [{ url: 'ws://x', headers: { 'bad name': 'v' } }, 'Expected `headers` names to be HTTP tokens, got an invalid name of 8 characters'],
    [{ url: 'wss://x', tls: { rejectUnauthorized: 0 } }, 'Expected `tls.rejectUnauthorized` to be a boolean, got 0 (number)'],
    [{ url: 'ws://x', sendQueue: 5 }, 'Expected `sendQueue` to be an object, got 5 (number)'],
    [{ url: 'ws://x', sendQueue: { size: 0 } }, 'Expected `sendQueue.size` to be an integer from 1 to 1000000, got 0 (number)'],
    [{ url: 'ws://x', sendQueue: { maxAge: 0.5 } }, 'Expected `sendQueue.maxAge` to be an integer from 1 to 2147483647, got 0.5 (number)'],
    [{ url: 'ws://x', sendQueue: { ttl: 1 } }, 'Unknown option `sendQueue.ttl`; known options are size, maxAge'],
    [{ url: 'ws://x', protocols: 5 }, 'Expected `protocols` to be a subprotocol name or an array of them, got 5 (number)'],
    [{ url: 'ws://x', protocols: 'a b' }, 'Expected `protocols` to be a subprotocol name (an HTTP token), got a string of 3 characters'],
    [{ url: 'ws://x', protocols: ['v1', 'v1'] }, 'Expected `protocols[1]` to be a subprotocol not offered before, got a repeat'],
    [{ url: 'ws://x', protocols: ['v1', 2] }, 'Expected `protocols[1]` to be a subprotocol name (an HTTP token), got 2 (number)'],
    [{ url: 'ws://x', perMessageDeflate: 'yes' }, 'Expected `perMessageDeflate` to be a boolean or an object of permessage-deflate parameters, got a string of 3 characters'],
    [{ url: 'ws://x', perMessageDeflate: { serverMaxWindowBits: 16 } }, 'Expected `perMessageDeflate.serverMaxWindowBits` to be an integer from 8 to 15, got 16 (number)'],
    [{ url: 'ws://x', perMessageDeflate: { clientNoContextTakeover: 1 } }, 'Expected `perMessageDeflate.clientNoContextTakeover` to be a boolean, got 1 (number)'],
    [{ url: 'ws://x', perMessageDeflate: { zlibDeflateOptions: { level: 10 } } }, 'Expected `perMessageDeflate.zlibDeflateOptions.level` to be an integer from -1 to 9, got 10 (number)'],
    [
      { url: 'ws://x', perMessageDeflate: { zlibInflateOptions: {} } },
      'Unknown option `perMessageDeflate.zlibInflateOptions`; known options are serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits, threshold, concurrencyLimit, zlibDeflateOptions',
    ],
  ])('%j is refused', (options, message) => {
    expect(thrown(() => Feed.connect(options as FeedOptions))).toMatchObject({ code: 'INVALID_OPTIONS', message });
  });
});

describe('feed options shared with pools', () => {
  it('takes a URL object as a pool does, and connects through it', async () => {
    const server = await startWsServer();
    const feed = openFeed({ urls: [new URL(server.url)], subscriptions: ['hello'] });
    await waitForState(feed, 'healthy');
    expect(feed.stats().url).toBe(new URL(server.url).origin.replace('http', 'ws'));
  });

  it('refuses a URL object of another scheme, naming the field', () => {
    expect(() => Feed.connect({ url: new URL('http://127.0.0.1:1') })).toThrow('Expected `url` to be a ws:// or wss:// URL, got a http: URL');
  });

  it('lists every default in one frozen object, the same values as the constants', () => {
    expect(Object.isFrozen(FEED_DEFAULTS) && Object.isFrozen(POOL_DEFAULTS)).toBe(true);
    expect(FEED_DEFAULTS).toMatchObject({ connectTimeout: DEFAULT_FEED_CONNECT_TIMEOUT, ref: DEFAULT_FEED_REF, sendQueue: DEFAULT_SEND_QUEUE });
    expect(DEFAULT_SEND_QUEUE).toEqual({ size: 100, maxAge: 5_000 });
    expect(POOL_DEFAULTS).toMatchObject({ connections: DEFAULT_CONNECTIONS, replay: DEFAULT_REPLAY });
  });
});
