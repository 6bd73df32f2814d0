/**
 * The `inspect` option (issue 17, item 4): an XState inspector given to `ClientPool.connect`
 * or `Feed.connect` is attached to the root actor as it is created, so it sees every actor
 * from its birth: the supervisor, the ledger and the slots, or the feed. Root actors and
 * their children carry readable system ids. A `@statelyai/inspect` inspector works as it
 * is, through an adapter of our own (no browser, no socket). The option is checked like any.
 */
import { createInspector, type StatelyActorEvent, type StatelyInspectionEvent } from '@statelyai/inspect';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { ClientPool, Feed, isLifelineError, type ClientPoolOptions, type FeedOptions } from '../../src/index.js';
import { checkInspector } from '../../src/telemetry/inspector.js';
import { thrown } from '../helpers/errors.js';
import { openFeed, waitForState } from '../helpers/feed.js';
import { startHttpServer } from '../helpers/http-server.js';
import { openPool, waitFor } from '../helpers/pool.js';
import { startWsServer } from '../helpers/ws-server.js';

/** A `@statelyai/inspect` inspector whose adapter keeps what it is sent (instead of a browser or a WebSocket). */
function statelyInspector() {
  const events: StatelyInspectionEvent[] = [];
  const inspector = createInspector({ send: (event) => void events.push(event) });
  const actors = () => events.filter((event): event is StatelyActorEvent => event.type === '@xstate.actor');
  return { inspector, events, actors };
}

describe('the inspect option', () => {
  it('a @statelyai/inspect inspector sees the supervisor, the ledger and every slot of a pool from their birth', async () => {
    const server = await startHttpServer();
    const { inspector, events, actors } = statelyInspector();
    const pool = await openPool({ url: server.url, connections: 3, inspect: inspector.inspect });
    expect((await pool.request({ path: '/' })).status).toBe(200);
    // The adapter is sent each event a turn later (createInspector defers its serialisation).
    await waitFor(() => actors().length >= 5, () => actors().map((a) => a.name));

    const byName = new Map(actors().map((actor) => [actor.name, actor]));
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['supervisor', 'ledger', 'slot-0', 'slot-1', 'slot-2']));
    const root = byName.get('supervisor')!;
    for (const child of ['ledger', 'slot-0', 'slot-1', 'slot-2']) {
      expect(byName.get(child)!.parentId, child).toBe(root.sessionId);
      expect(byName.get(child)!.rootId, child).toBe(root.sessionId);
    }
    // Each slot's first state changes were seen, from `connecting` on.
    const slot0 = byName.get('slot-0')!.sessionId;
    const values = events.filter((e) => e.type === '@xstate.snapshot' && e.sessionId === slot0).map((e) => (e as { snapshot: { value?: unknown } }).snapshot.value);
    expect(values).toContain('healthy');
    expect(events.some((e) => e.type === '@xstate.event' && e.event.type === 'slot.ready')).toBe(true);
  });

  it('an inspector attached after connect (actor.system.inspect) misses those births: why the option exists', async () => {
    const server = await startHttpServer();
    const pool = await openPool({ url: server.url, connections: 2 });
    const late: InspectionEvent[] = [];
    pool.actor.system.inspect((event) => void late.push(event));
    expect((await pool.request({ path: '/' })).status).toBe(200);
    expect(late.filter((event) => event.type === '@xstate.actor')).toEqual([]);
  });

  it('a @statelyai/inspect inspector sees a feed from its birth, and its connect, subscriptions and live state', async () => {
    const server = await startWsServer();
    const { inspector, events, actors } = statelyInspector();
    const feed = openFeed({ url: `${server.url}/ws`, subscriptions: ['{"op":"subscribe","args":["trades"]}'], inspect: inspector.inspect });
    await waitForState(feed, 'healthy');
    feed.subscribe('{"op":"subscribe","args":["book"]}');
    await waitFor(() => events.some((e) => e.type === '@xstate.event' && e.event.type === 'subscribe'), () => events.length);

    const [root] = actors();
    expect(root).toMatchObject({ name: 'feed', parentId: undefined });
    const snapshots = events.filter((e) => e.type === '@xstate.snapshot') as { snapshot: { value?: unknown; context?: { subscriptions?: unknown } } }[];
    expect(snapshots.map((e) => e.snapshot.value)).toEqual(expect.arrayContaining(['connecting', { connected: 'healthy' }]));
    // Subscriptions show as the JSON they are (no field here looks secret).
    expect(snapshots.at(-1)!.snapshot.context!.subscriptions).toEqual(['{"op":"subscribe","args":["trades"]}', '{"op":"subscribe","args":["book"]}']);
  });

  it('root actors and their children have readable system ids: the origin, `ledger`, `slot N`, the feed URL', async () => {
    const server = await startHttpServer();
    const url = server.url.replace('http://', 'http://user:pw-0000@');
    const pool = await openPool({ url, connections: 2 });
    const system = pool.actor.system;
    const slots = pool.actor.getSnapshot().context.slots;
    expect(pool.origin).toBe(server.url.replace(/\/$/, ''));
    expect(system.get(pool.origin)).toBe(pool.actor);
    expect(system.get('ledger')).toBe(pool.actor.getSnapshot().context.ledger);
    expect([system.get('slot 0'), system.get('slot 1')]).toEqual(slots);
    expect(Object.keys(system.getAll()).sort()).toEqual([pool.origin, 'ledger', 'slot 0', 'slot 1'].sort());

    const ws = await startWsServer();
    const feed = openFeed({ url: `${ws.url}/private/ws?token=tk-0000` });
    // The URL as errors and stats name it: scheme, host and port, never the path or query.
    expect(feed.actor.system.get(ws.url)).toBe(feed.actor);
    expect(Object.keys(feed.actor.system.getAll())).toEqual([ws.url]);
    const provided = openFeed({ url: () => ws.url });
    expect(provided.actor.system.get('(url provider)')).toBe(provided.actor);
    await waitForState(provided, 'healthy');
  });

  it('takes a plain function, and an observer object whose `next` is called with itself as `this`', async () => {
    const server = await startWsServer();
    const seen: string[] = [];
    const observer = {
      prefix: 'obs:',
      next(this: { prefix: string }, event: InspectionEvent) {
        seen.push(this.prefix + event.type);
      },
    };
    openFeed({ url: server.url, inspect: observer });
    openFeed({ url: server.url, inspect: (event) => void seen.push(`fn:${event.type}`) });
    await waitFor(() => seen.includes('obs:@xstate.actor') && seen.includes('fn:@xstate.actor'), () => seen);
  });

  const REFUSED: [string, unknown, string][] = [
    ['a number', 5, 'Expected `inspect` to be a function or an observer with a `next` function (an XState inspector), got 5 (number)'],
    ['a string', 'console', 'Expected `inspect` to be a function or an observer with a `next` function (an XState inspector), got a string of 7 characters'],
    ['an object without next', {}, 'Expected `inspect` to be a function or an observer with a `next` function (an XState inspector), got an object'],
    ['an observer whose next is no function', { next: true }, 'Expected `inspect` to be a function or an observer with a `next` function (an XState inspector), got an object'],
    [
      'an observer whose next getter throws',
      {
        get next(): never {
          throw new Error('trap');
        },
      },
      'Expected `inspect` to be a function or an observer with a `next` function (an XState inspector), got an object',
    ],
    ['null', null, 'Expected `inspect` to be a function or an observer with a `next` function (an XState inspector), got null'],
  ];

  it.each(REFUSED)('ClientPool.connect refuses %s with INVALID_OPTIONS, dialing nothing', async (_name, inspect, message) => {
    const server = await startHttpServer();
    const error = await ClientPool.connect({ url: server.url, inspect } as unknown as ClientPoolOptions).catch((e: unknown) => e);
    expect(isLifelineError(error, 'INVALID_OPTIONS'), String(error)).toBe(true);
    expect((error as Error).message).toBe(message);
    expect(server.connections).toBe(0);
  });

  it.each(REFUSED)('Feed.connect refuses %s with INVALID_OPTIONS', (_name, inspect, message) => {
    const error = thrown(() => Feed.connect({ url: 'ws://127.0.0.1:1', inspect } as unknown as FeedOptions));
    expect(isLifelineError(error, 'INVALID_OPTIONS')).toBe(true);
    expect(error.message).toBe(message);
  });

  describe('an inspector that throws', () => {
    afterEach(() => void vi.useRealTimers());

    it('does not throw into the actor it inspects: its error is rethrown on a turn of its own', () => {
      vi.useFakeTimers();
      const inspect = checkInspector('inspect', () => {
        throw new Error('inspector bug');
      })!;
      const event = { type: '@xstate.event', actorRef: {} as AnyActorRef, rootId: 'x:0', event: { type: 'e' }, sourceRef: undefined } as InspectionEvent;
      expect(() => inspect(event)).not.toThrow();
      expect(() => vi.runOnlyPendingTimers()).toThrow('inspector bug');
    });
  });
});
