/**
 * The README's worked example of model-based testing of your own code: an
 * order-book client. A feed of depth updates from a real WebSocket venue on
 * 127.0.0.1; a REST snapshot fetched through a ClientPool every time the feed
 * comes back; updates that arrive while the snapshot is on its way buffered,
 * and never applied to a stale book.
 *
 * The app's own machine runs beside the feed's as one model (composeMachines),
 * tested two ways: composed shortest paths, and a fast-check `fc.commands`
 * property whose sequences may reconnect again and again. The buggy variant
 * remembers "the snapshot in flight is stale" as a flag where it needed a
 * count (or, as the fixed one, an id): right after one reconnect, wrong after
 * two, when the second stale snapshot goes live. The paths pass it; the
 * property catches it, and shrinks it to the two reconnects.
 *
 * Imported by package name, as a user would.
 */
import fc from 'fast-check';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, SimulatedClock, type ActorRefFrom } from 'xstate';
import { ClientPool, Feed } from 'lifeline-supervisor';
import {
  composeMachines,
  createPathRunner,
  describePath,
  feedMachine,
  formatHistory,
  logFeed,
  machinePaths,
  regionState,
  startFaultHttpServer,
  startFaultWsServer,
  StateLog,
  type FaultHttpServer,
  type FaultWsServer,
  type ModelPath,
  type ModelSnapshot,
  type PathSystem,
} from 'lifeline-supervisor/testing';
import { modelCommands } from 'lifeline-supervisor/testing/fast-check';
import { propertyParams } from '../helpers/seed.js';

// ---- The app under test --------------------------------------------------------------------------

type Level = [price: number, quantity: number];
interface Depth {
  /** The venue's update id: each update is the last one plus one. */
  u: number;
  bids: Level[];
}
interface Snapshot {
  lastUpdateId: number;
  bids: Level[];
}

type BookEvent =
  | { type: 'feed.healthy' }
  | { type: 'feed.poisoned' }
  | { type: 'depth'; update: Depth }
  | { type: 'snapshot'; fetch: number; snapshot: Snapshot };

interface BookContext {
  bids: Map<number, number>;
  lastUpdateId: number;
  /** Updates heard while the snapshot is on its way. */
  buffer: Depth[];
  /** The id of the snapshot fetch started last: the only one that may go live. */
  fetch: number;
  /** The buggy variant's memory: "the fetch in flight is stale". */
  staleInFlight: boolean;
}

const applyLevels = (bids: Map<number, number>, levels: Level[]) => {
  for (const [price, quantity] of levels) {
    if (quantity === 0) bids.delete(price);
    else bids.set(price, quantity);
  }
};

/**
 * The book: waiting for the feed, syncing (snapshot on its way, updates
 * buffered), live. The fetch itself is the app's (see `OrderBook`): the machine
 * asks for it on entering syncing and hears the answer as `snapshot`.
 */
const bookMachine = setup({
  types: { context: {} as BookContext, events: {} as BookEvent },
  actions: {
    startFetch: () => {},
    buffer: assign({ buffer: ({ context, event }) => (event.type === 'depth' ? [...context.buffer, event.update] : context.buffer) }),
    apply: assign(({ context, event }) => {
      if (event.type !== 'depth') return {};
      applyLevels(context.bids, event.update.bids);
      return { lastUpdateId: event.update.u };
    }),
    goLive: assign(({ context, event }) => {
      if (event.type !== 'snapshot') return {};
      const bids = new Map(event.snapshot.bids);
      let lastUpdateId = event.snapshot.lastUpdateId;
      // Buffered updates the snapshot already has are dropped; the newer ones apply in order.
      for (const update of context.buffer) {
        if (update.u <= lastUpdateId) continue;
        applyLevels(bids, update.bids);
        lastUpdateId = update.u;
      }
      return { bids, lastUpdateId, buffer: [] };
    }),
    forgetBuffer: assign({ buffer: [] }),
    markStale: () => {},
    dropStale: () => {},
  },
  guards: {
    // The fixed app: a snapshot is current when it answers the fetch started last.
    isCurrent: ({ context, event }) => event.type === 'snapshot' && event.fetch === context.fetch,
  },
}).createMachine({
  id: 'book',
  context: { bids: new Map(), lastUpdateId: 0, buffer: [], fetch: 0, staleInFlight: false },
  initial: 'waiting',
  on: {
    'feed.poisoned': { target: '.waiting', actions: 'forgetBuffer' },
    // A snapshot no one is waiting for: dropped.
    snapshot: { actions: 'dropStale' },
  },
  states: {
    waiting: { on: { 'feed.healthy': 'syncing' } },
    syncing: {
      entry: [assign({ fetch: ({ context }) => context.fetch + 1 }), 'startFetch'],
      on: {
        depth: { actions: 'buffer' },
        snapshot: { guard: 'isCurrent', target: '#live', actions: 'goLive' },
        // The fetch in flight will answer for a connection that is gone.
        'feed.poisoned': { target: 'waiting', actions: ['forgetBuffer', 'markStale'] },
      },
    },
    live: { id: 'live', on: { depth: { actions: 'apply' } } },
  },
});

/** The bug: a flag where a count was needed. Right after one reconnect; after two, the second stale snapshot passes. */
const buggyBookMachine = bookMachine.provide({
  guards: { isCurrent: ({ context }) => !context.staleInFlight },
  actions: {
    markStale: assign({ staleInFlight: true }),
    dropStale: assign({ staleInFlight: false }),
  },
});

/** The app: a feed, a pool, and the book machine between them. */
class OrderBook {
  readonly actor: ActorRefFrom<typeof bookMachine>;
  readonly log: StateLog<string>;
  /** Depth messages heard, for tests to wait on. */
  messages = 0;

  constructor(feed: Feed, pool: ClientPool, machine: typeof bookMachine) {
    this.actor = createActor(
      machine.provide({
        actions: {
          startFetch: ({ context }) => {
            const fetch = context.fetch;
            pool.request({ path: '/depth' }).then(
              (response) => this.actor.send({ type: 'snapshot', fetch, snapshot: response.json() as Snapshot }),
              () => {}, // the pool closed under it: the app is going away
            );
          },
        },
      }),
    );
    const subscription = { unsubscribe: () => {} };
    this.log = new StateLog<string>('waiting', () => subscription.unsubscribe());
    Object.assign(subscription, this.actor.subscribe((snapshot) => this.log.record(String(snapshot.value))));
    this.actor.start();
    feed.on('state', (state) => {
      if (state === 'healthy' || state === 'poisoned') this.actor.send({ type: `feed.${state}` });
    });
    feed.on('message', (data) => {
      this.messages++;
      this.actor.send({ type: 'depth', update: JSON.parse(data.toString()) as Depth });
    });
  }

  get bids(): Level[] {
    return [...this.actor.getSnapshot().context.bids].sort((a, b) => b[0] - a[0]);
  }
}

// ---- The real world around it: a venue, a REST server whose answers the test holds -------------

/** The venue's true book; every change is an update id. */
class Venue {
  readonly bids = new Map<number, number>([[100, 1]]);
  u = 1;
  change(broadcast: FaultWsServer | undefined): Depth {
    const price = 99 + (this.u % 5);
    const update: Depth = { u: ++this.u, bids: [[price, this.u % 3]] };
    applyLevels(this.bids, update.bids);
    broadcast?.broadcast(JSON.stringify(update));
    return update;
  }
  get sorted(): Level[] {
    return [...this.bids].sort((a, b) => b[0] - a[0]);
  }
}

/** A snapshot request held at the server until the test answers it. */
interface Held {
  fetch: number;
  answer: () => void;
}

interface Run {
  venue: Venue;
  ws: FaultWsServer;
  rest: FaultHttpServer;
  held: Held[];
  /** Snapshot requests the server has read. */
  requests: number;
  /** Stopping: requests are answered at once. */
  stopping: boolean;
  clock: SimulatedClock;
  feed: Feed;
  pool: ClientPool;
  book: OrderBook;
  feedLog: StateLog<string>;
}

const waitFor = async (condition: () => boolean, what: string) => {
  for (let i = 0; !condition(); i++) {
    if (i > 500) throw new Error(`${what}: not within 1 s`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

/** Answers held snapshot requests, oldest first, until the one for `fetch` is answered. */
async function answerUpTo(run: Run, fetch: number): Promise<void> {
  for (;;) {
    await waitFor(() => run.held.length > 0, `snapshot request ${fetch} reaches the server`);
    const held = run.held.shift()!;
    held.answer();
    if (held.fetch >= fetch) return;
  }
}

function orderBookSystem(machine: typeof bookMachine): PathSystem<Run> {
  return {
    async start(path) {
      const venue = new Venue();
      // A venue that comes back has moved on: an update the app never heard, so only a fresh snapshot is right.
      const ws = await startFaultWsServer({ onMessage: () => void venue.change(undefined) });
      const run = { venue, ws, held: [] as Held[], requests: 0, stopping: false } as Run;
      run.rest = await startFaultHttpServer({
        handler: (_req: IncomingMessage, res: ServerResponse) => {
          // The snapshot is the book when the request arrives; the answer waits for the test.
          const body = JSON.stringify({ lastUpdateId: venue.u, bids: venue.sorted } satisfies Snapshot);
          const held = { fetch: ++run.requests, answer: () => void res.writeHead(200, { 'content-type': 'application/json' }).end(body) };
          if (run.stopping) held.answer();
          else run.held.push(held);
        },
      });
      if (path.steps[1]?.event.type === 'open.error') await ws.refuse();
      run.clock = new SimulatedClock();
      run.feed = Feed.connect({ url: ws.url, subscriptions: ['depth:BTCUSDT'], clock: run.clock, backoff: { initial: 100, max: 400, jitter: 'none' } });
      run.feed.on('error', () => {});
      run.feedLog = logFeed(run.feed);
      // One connection: a second snapshot request waits for the first, as on a busy pool.
      run.pool = await ClientPool.connect({ url: run.rest.url, connections: 1 });
      run.book = new OrderBook(run.feed, run.pool, machine);
      return run;
    },
    logs: (run) => ({ book: run.book.log, feed: run.feedLog }),
    actions: (run, path) => ({
      'open.done': () => {},
      'open.error': () => {},
      'always[allAcked]': () => {},
      'teardown.done': () => {},
      lost: () => run.ws.dropAll(),
      'after.retryDelay': async (_step, index) => {
        // Look-ahead: the connect about to start is refused when the path says it fails.
        if (path.steps[index + 1]?.event.type === 'open.error') await run.ws.refuse();
        else await run.ws.accept();
        run.clock.increment(run.feed.actor.getSnapshot().context.retryDelay);
      },
      depth: async () => {
        const before = run.book.messages;
        run.venue.change(run.ws);
        await waitFor(() => run.book.messages > before, 'the app hears the update');
      },
      // The app's current snapshot arrives (stale ones still held arrive first, in order).
      'snapshot[isCurrent]': () => answerUpTo(run, run.book.actor.getSnapshot().context.fetch),
      // A stale snapshot arrives, if one is held: it must change nothing.
      snapshot: async () => {
        const current = run.book.actor.getSnapshot().context.fetch;
        if (run.held[0] && run.held[0].fetch < current) await answerUpTo(run, run.held[0].fetch);
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
    }),
    check(run, path, index) {
      // The property of the app: a live book is the venue's book, never an old snapshot's.
      if (regionState(path.steps[index]!.state.value, 'book') === 'live') {
        expect(run.book.bids, 'the live book').toEqual(run.venue.sorted);
      }
    },
    transient: { poisoned: 'teardown.done' },
    // Without isAck a feed is healthy in the macrostep that opened it: no log shows subscribing.
    unseen: ['subscribing'],
    describeFailure: (run) =>
      `${formatHistory(run.feed)}\n  snapshot requests: ${run.requests}, held: ${run.held.map((h) => h.fetch).join(', ') || 'none'}; ` +
      `the app's fetch: ${run.book.actor.getSnapshot().context.fetch}`,
    async stop(run) {
      // Requests still queued in the pool reach the server now: answered at once, so the pool can close.
      run.stopping = true;
      for (const held of run.held.splice(0)) held.answer();
      run.book.actor.stop();
      await run.feed.close();
      await run.pool.close();
      await run.ws.close();
      await run.rest.close();
    },
  };
}

// ---- The model and the tests -------------------------------------------------------------------

const model = composeMachines('orderbook', { book: bookMachine, feed: feedMachine }, { announce: ['feed'] });
/** What this app meets: a venue that drops and refuses, snapshots and updates. No acks, no closing. */
const performed = new Set(['open.done', 'open.error', 'always[allAcked]', 'lost', 'teardown.done', 'after.retryDelay', 'depth', 'snapshot', 'snapshot[isCurrent]']);
/**
 * Feed states the real feed leaves on its own, at once: a connect to loopback is through in a
 * millisecond, and without isAck subscribing passes within the step that opened. Nothing else
 * can happen there, so the model offers nothing else.
 */
const onItsOwn: Record<string, string[]> = { connecting: ['open.done', 'open.error'], subscribing: ['always[allAcked]'] };
const events = {
  events: [{ type: 'lost', fault: 'drop' }],
  filterEvents: (snapshot: ModelSnapshot, event: { type: string }) => {
    const feed = regionState(snapshot.value, 'feed');
    if (!performed.has(event.type)) return false;
    if (onItsOwn[feed]) return onItsOwn[feed].includes(event.type);
    // Updates come only over a live feed.
    return event.type !== 'depth' || feed === 'healthy';
  },
};

describe('order book: composed paths', () => {
  const { paths, summary, uncovered } = machinePaths(model, events);
  const runner = createPathRunner(orderBookSystem(bookMachine));

  it(`cover the app's transitions and the feed's it meets (${summary})`, () => {
    console.log(`order book model: ${summary}`);
    // Only the feed's transitions this app never drives stay uncovered.
    expect(uncovered.filter((t) => t.source.startsWith('book'))).toEqual([]);
  });

  it.each(paths.map((path) => [describePath(path), path] as const))('%s', (_name, path: ModelPath) => runner.run(path));
});

describe('order book: fc.commands', () => {
  // The suite's fixed, printed seed (testSeed() underneath: LIFELINE_SEED replays or explores).

  it('the fixed app: a live book is always the venue book', async () => {
    const { commands, run } = modelCommands(fc, model, orderBookSystem(bookMachine), { ...events, maxCommands: 30 });
    await fc.assert(fc.asyncProperty(commands, run), propertyParams('order book, fixed app', { numRuns: 15 }));
  });

  it('the buggy app: the property finds the old snapshot going live after two reconnects', async () => {
    const { commands, run } = modelCommands(fc, model, orderBookSystem(buggyBookMachine), { ...events, maxCommands: 30 });
    // endOnFailure: the first failing sequence is the finding; shrinking it (drop endOnFailure)
    // reruns hundreds of sequences on real sockets, about 40 s here, down to the 14 steps of two reconnects.
    const result = await fc.check(fc.asyncProperty(commands, run), propertyParams('order book, buggy app', { numRuns: 60, endOnFailure: true }));
    expect(result.failed, 'the property fails on the buggy app').toBe(true);
    const failure = String(result.errorInstance);
    console.log(`order book, buggy: failed at run ${result.numRuns}: ${failure.split('\n').slice(0, 2).join('\n')}`);
    // A stale snapshot took the book live: the model stays in syncing, the app did not.
    expect(failure).toMatch(/\(snapshot\): book entered live; the model stays in syncing/);
    // ...after at least two reconnects in the failing path.
    const path = /path: (.*)/.exec(failure)![1]!;
    const beforeFailure = path.slice(0, path.indexOf('[snapshot]'));
    expect(beforeFailure.match(/after\.retryDelay → open\.done/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it('the buggy app passes every composed shortest path: no shortest path reconnects twice', async () => {
    const runner = createPathRunner(orderBookSystem(buggyBookMachine));
    for (const path of machinePaths(model, events).paths) await runner.run(path);
  });
});
