/**
 * What a feed's upgrade offers beyond the URL, against real ws servers:
 * subprotocols (the server picks one, or none and the connect fails) and
 * permessage-deflate (negotiated, messages compressed on the wire both ways,
 * the size limit applied after decompression).
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { LifelineError } from '../../src/index.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { waitFor } from '../helpers/pool.js';
import { startWsVenue, type Upgrade } from '../helpers/ws-venue.js';

/** Bytes the server has written to the TCP socket under a WebSocket. */
const wireBytes = (upgrade: Upgrade) => (upgrade.socket as unknown as { _socket: Socket })._socket.bytesWritten;

/** A large, repetitive market-data message: what compression is for. */
const book = JSON.stringify({ bids: Array.from({ length: 2_000 }, (_, i) => [100_000 + i, 1.5]) });

describe('feed subprotocols', () => {
  it('offers them in order; the server picks one, and stats() says which', async () => {
    const venue = await startWsVenue({ handleProtocols: (offered) => (offered.has('v2.json') ? 'v2.json' : false) });
    const feed = openFeed({ url: venue.url, protocols: ['v3.json', 'v2.json'], subscriptions: ['s'] });
    await waitForState(feed, 'healthy');
    expect(venue.upgrades[0]!.headers['sec-websocket-protocol']).toBe('v3.json,v2.json');
    expect(venue.upgrades[0]!.protocol).toBe('v2.json');
    expect(feed.stats().protocol).toBe('v2.json');
    const got: unknown[] = [];
    feed.on('message', (data) => got.push(data));
    venue.upgrades[0]!.socket.send('tick');
    await waitFor(() => got.length === 1, () => got);
    expect(got).toEqual(['tick']);
  });

  it('a server that picks none of them fails the connect (CONNECT_FAILED), and the feed backs off', async () => {
    const venue = await startWsVenue({ handleProtocols: () => false });
    const feed = openFeed({ url: venue.url, protocols: 'v9', backoff: { initial: 1_000 } });
    const errors: LifelineError[] = [];
    feed.on('error', (error) => errors.push(error));
    await waitForState(feed, 'backoff');
    expect(errors.map((e) => [e.code, e.message])).toEqual([['CONNECT_FAILED', `connect to ${venue.url} failed: Server sent no subprotocol`]]);
    expect(feed.stats().protocol).toBeUndefined();
  });
});

describe('feed permessage-deflate', () => {
  it('is off by default: nothing is offered', async () => {
    const venue = await startWsVenue({ perMessageDeflate: true });
    const feed = openFeed({ url: venue.url });
    await waitForState(feed, 'healthy');
    expect(venue.upgrades[0]!.headers['sec-websocket-extensions']).toBeUndefined();
    expect(venue.upgrades[0]!.extensions).toEqual([]);
  });

  it('negotiated with a compressing server: large messages cross the wire compressed, both ways, and arrive whole', async () => {
    const venue = await startWsVenue({ perMessageDeflate: { threshold: 256 } });
    const feed = openFeed({ url: venue.url, perMessageDeflate: { clientMaxWindowBits: true, threshold: 256 }, subscriptions: ['s'] });
    await waitForState(feed, 'healthy');
    const upgrade = venue.upgrades[0]!;
    expect(upgrade.headers['sec-websocket-extensions']).toContain('permessage-deflate');
    expect(upgrade.extensions).toEqual(['permessage-deflate']);

    const got: (string | Buffer)[] = [];
    feed.on('message', (data) => got.push(data));
    const before = wireBytes(upgrade);
    upgrade.socket.send(book);
    upgrade.socket.send(book);
    await waitFor(() => got.length === 2, () => got.length);
    expect(got).toEqual([book, book]);
    // Two 40 KB messages in far fewer bytes: they were compressed.
    expect(wireBytes(upgrade) - before).toBeLessThan(book.length / 4);

    await feed.send(book); // and the feed compresses what it sends
    await waitFor(() => upgrade.received.length === 2, () => upgrade.received.length);
    expect(upgrade.received).toEqual(['s', book]);
  });

  it('maxMessageSize bounds a message after decompression: a small frame that inflates past it is MESSAGE_TOO_LARGE', async () => {
    const venue = await startWsVenue({ perMessageDeflate: true });
    const feed = openFeed({ url: venue.url, perMessageDeflate: true, maxMessageSize: 64 * 1024, backoff: { initial: 1_000 } });
    await waitForState(feed, 'healthy');
    const upgrade = venue.upgrades[0]!;
    const before = wireBytes(upgrade);
    upgrade.socket.send('x'.repeat(1 << 20)); // 1 MiB of one letter: about a kilobyte compressed
    await waitForState(feed, 'backoff');
    expect(wireBytes(upgrade) - before).toBeLessThan(64 * 1024);
    expect(feed.stats().lastError).toBe('MESSAGE_TOO_LARGE');
  });
});
