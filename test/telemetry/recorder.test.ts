/**
 * The flight recorder: what a pool and a feed remember of their state changes,
 * how much, and that it survives being written out for a post-mortem.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { SimulatedClock } from 'xstate';
import { ClientPool, type TransitionRecord } from '../../src/index.js';
import { logFeed, logSlot } from '../../src/testing/index.js';
import { poolRecorder } from '../../src/pool/client-pool.js';
import { feedRecorder } from '../../src/feed/feed.js';
import { startHttpServer } from '../helpers/http-server.js';
import { nextTurn, waitFor } from '../helpers/pool.js';
import { openFeed } from '../helpers/feed.js';
import { startWsServer } from '../helpers/ws-server.js';

async function lazyPool(url: string, history = 100) {
  const clock = new SimulatedClock();
  const pool = await ClientPool.connect({ url, connections: 2, lazy: true, clock, history, backoff: { initial: 10, max: 10, jitter: 'none' } });
  onTestFinished(() => pool.close());
  return { pool, clock };
}

describe('flight recorder', () => {
  it('records each slot change with its event and reason; leases are counted by the ledger, not recorded', async () => {
    const server = await startHttpServer();
    const { pool } = await lazyPool(server.url);
    const log = logSlot(pool, 0);
    expect(await log.next()).toBe('healthy');
    await logSlot(pool, 1).next();
    // One at a time: each request takes the warmest connection that has settled (slot 1, then 0, then 1).
    for (let i = 0; i < 3; i++) await pool.request({ path: '/' });
    await nextTurn();
    // A connection that served, reset while idle: the server's business, a clean end.
    server.resetAll();
    expect(await log.next()).toBe('connecting');
    expect(await log.next()).toBe('healthy');
    // The new connection reset before it served anything: a failure.
    await waitFor(() => server.sockets.size === 2, () => server.sockets.size);
    server.resetAll();
    expect(await log.next()).toBe('poisoned');
    expect(await log.next()).toBe('backoff');

    const slot0 = pool.history().filter((r) => r.actor === 'slot 0');
    expect(slot0.map((r) => `${r.from}>${r.to}:${r.event}`)).toEqual([
      'connecting>healthy:dial.done',
      'healthy>connecting:ended',
      'connecting>healthy:dial.done',
      'healthy>poisoned:lost',
      'poisoned>backoff:teardown.done',
    ]);
    expect(slot0[3]!.reason).toMatch(/ECONNRESET|UND_ERR_SOCKET|CONNECTION_LOST/);
    const summaries = poolRecorder(pool)!.summaries();
    expect(summaries.map((s) => s.actor).sort()).toEqual(['slot 0', 'slot 1']);
    // Three requests were served: the ledger counts the leases; they are not slot transitions.
    const granted = pool.actor.getSnapshot().context.ledger.getSnapshot().context.granted;
    expect(granted).toEqual([1, 2]);
    expect(pool.history().some((r) => r.to === 'busy' || r.from === 'busy')).toBe(false);
  });

  it('keeps the last N changes per actor and no more, newest last', async () => {
    const server = await startHttpServer();
    await server.refuse();
    const { pool, clock } = await lazyPool(server.url, 3);
    const log = logSlot(pool, 0);
    // Every retry fails: connecting -> backoff -> connecting ... five times over.
    for (let i = 0; i < 5; i++) {
      expect(await log.next()).toBe('backoff');
      clock.increment(10);
      expect(await log.next()).toBe('connecting');
    }
    const history = pool.history();
    for (const actor of ['slot 0', 'slot 1']) {
      const records = history.filter((r) => r.actor === actor);
      expect(records.length).toBe(3);
    }
    const slot0 = history.filter((r) => r.actor === 'slot 0');
    // The newest change is the one the slot just made, and they are in order.
    expect(slot0.at(-1)).toMatchObject({ from: 'backoff', to: 'connecting', event: 'after.retryDelay' });
    expect(slot0.map((r) => r.seq)).toEqual([...slot0.map((r) => r.seq)].sort((a, b) => a - b));
    expect(slot0.some((r) => r.event === 'dial.error' && r.reason?.includes('CONNECT'))).toBe(true);
  });

  it('survives a JSON round trip', async () => {
    const server = await startHttpServer();
    const { pool } = await lazyPool(server.url);
    await logSlot(pool, 0).next();
    server.dropAll();
    await logSlot(pool, 0).next();
    const history = pool.history();
    expect(history.length).toBeGreaterThan(0);
    const copy = JSON.parse(JSON.stringify(history)) as TransitionRecord[];
    expect(copy).toEqual(history);
    for (const record of copy) {
      expect(typeof record.at).toBe('number');
      expect(record.from).not.toBe(record.to);
    }
  });

  it('records a pool by default, by watching its slots: no inspector, so leases cost nothing more', async () => {
    const server = await startHttpServer();
    const pool = await ClientPool.connect({ url: server.url, connections: 1 });
    onTestFinished(() => pool.close());
    // The actor is an xstate Actor; its options say whether an inspector was attached at creation.
    expect((pool.actor as unknown as { options: { inspect?: unknown } }).options.inspect).toBeUndefined();
    for (let i = 0; i < 5; i++) pool.tryAcquire()!.release();
    server.dropAll();
    const log = logSlot(pool, 0);
    while ((await log.next()) !== 'healthy');
    expect(pool.history().map((r) => `${r.from}>${r.to}:${r.event}`)).toEqual([
      'connecting>healthy:dial.done',
      'healthy>poisoned:lost',
      'poisoned>backoff:teardown.done',
      'backoff>connecting:after.retryDelay',
      'connecting>healthy:dial.done',
    ]);
  });

  it('is off for a pool with history: 0', async () => {
    const server = await startHttpServer();
    const pool = await ClientPool.connect({ url: server.url, connections: 1, history: 0 });
    onTestFinished(() => pool.close());
    server.dropAll();
    await logSlot(pool, 0).next();
    expect(poolRecorder(pool)).toBeUndefined();
    expect(pool.history()).toEqual([]);
  });

  it('records a feed losing its socket and healing', async () => {
    const server = await startWsServer();
    const feed = openFeed({ url: server.url, subscriptions: ['s'], backoff: { initial: 1, max: 5 } });
    const log = logFeed(feed);
    expect(await log.next()).toBe('healthy');
    server.dropAll();
    while ((await log.next()) !== 'healthy');
    const records = feed.history();
    expect(records.map((r) => r.to)).toEqual(['healthy', 'poisoned', 'backoff', 'connecting', 'healthy']);
    expect(records[1]).toMatchObject({ actor: 'feed', event: 'lost', reason: 'FEED_LOST' });
  });

  it('records a feed by subscribing to it: no inspector', async () => {
    const server = await startWsServer();
    const feed = openFeed({ url: server.url });
    // The actor is an xstate Actor; its options say whether an inspector was attached at creation.
    expect((feed.actor as unknown as { options: { inspect?: unknown } }).options.inspect).toBeUndefined();
    await logFeed(feed).next();
    expect(feed.history()).toMatchObject([{ actor: 'feed', from: 'connecting', to: 'healthy', event: 'open.done' }]);
  });

  it("names every feed change by the event that caused it, with the error's code where there is one", async () => {
    let ack = true;
    const server = await startWsServer({ onMessage: (socket, text) => ack && socket.send(`ack:${text}`) });
    const clock = new SimulatedClock();
    const feed = openFeed({
      url: server.url,
      subscriptions: ['s'],
      isAck: (data) => String(data).startsWith('ack:'),
      ackTimeout: 2_000,
      backoff: { initial: 100, max: 100, jitter: 'none' },
      clock,
    });
    const log = logFeed(feed);
    const retry = async () => {
      expect(await log.next()).toBe('backoff');
      clock.increment(feed.actor.getSnapshot().context.retryDelay);
    };
    while ((await log.next()) !== 'healthy');
    ack = false;
    server.dropAll();
    expect(await log.next()).toBe('poisoned');
    await retry();
    expect(await log.next()).toBe('connecting');
    expect(await log.next()).toBe('subscribing');
    clock.increment(2_000);
    expect(await log.next()).toBe('poisoned');
    await server.stop();
    await retry();
    expect(await log.next()).toBe('connecting');
    expect(await log.next()).toBe('backoff');
    await feed.close();
    const changes = feed.history().map((r) => `${r.from}>${r.to}:${r.event}${r.reason ? ` (${r.reason})` : ''}`);
    expect(changes).toEqual([
      'connecting>subscribing:open.done',
      'subscribing>healthy:ack',
      'healthy>poisoned:lost (FEED_LOST)',
      'poisoned>backoff:teardown.done',
      'backoff>connecting:after.retryDelay',
      'connecting>subscribing:open.done',
      'subscribing>poisoned:after.ackTimeout (ACK_TIMEOUT)',
      'poisoned>backoff:teardown.done',
      'backoff>connecting:after.retryDelay',
      'connecting>backoff:open.error (CONNECT_FAILED)',
      'backoff>closing:close',
      'closing>closed:shutdown.done',
    ]);
    expect(feedRecorder(feed)!.summaries()).toEqual([
      { actor: 'feed', state: 'closed', since: expect.any(Number), attempts: 3, lastError: 'CONNECT_FAILED' },
    ]);
  });

  it('records a feed that gives up, the error behind it as the reason', async () => {
    const server = await startWsServer();
    await server.stop();
    const feed = openFeed({ url: server.url, maxReconnects: 1, backoff: { initial: 1, max: 1 } });
    const log = logFeed(feed);
    while ((await log.next()) !== 'closed');
    expect(feed.history().map((r) => `${r.from}>${r.to}:${r.event} (${r.reason})`)).toEqual([
      'connecting>backoff:open.error (CONNECT_FAILED)',
      'backoff>connecting:after.retryDelay (undefined)',
      'connecting>closed:open.error (RECONNECTS_EXHAUSTED)',
    ]);
  });
});
