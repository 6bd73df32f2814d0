/**
 * Model-based tests of a WebSocket feed: every path `xstate/graph` finds
 * through the feed machine is driven on a real feed against a real fault
 * server. After every step the feed must have entered exactly the state the
 * model says; a live feed's newest connection must have received every
 * subscription; a lost connection must carry the error its fault implies.
 *
 * Time is the feed's simulated clock. The feed acknowledges subscriptions
 * (`isAck`) so that `subscribing` is a state the test holds and leaves by
 * sending acks. A heartbeat and staleness are timed far apart (pings every
 * 1e6 ms, stale after 5e5 ms) so that a step that moves the clock trips only
 * the timer it means to.
 */
import { expect } from 'vitest';
import { SimulatedClock, type EventObject } from 'xstate';
import { Feed, type FeedState } from '../../src/index.js';
import { feedMachine } from '../../src/machines/feed.js';
import { logFeed, pathFromEvents, type ModelPath, type ModelSnapshot, type StateLog } from '../../src/testing/index.js';
import { startWsServer, type TestWsServer } from '../helpers/ws-server.js';
import { modelSuite, plainState, stays, waitUntil, type Step } from '../helpers/model.js';

const ACK = 'ack';
const TICK = 'tick';
const INITIAL_SUBSCRIPTIONS = ['sub:a', 'sub:b'];
const HEARTBEAT = { interval: 1_000_000, timeout: 1_000 };
const STALE_AFTER = 500_000;
const ACK_TIMEOUT = 2_000;
const MAX_MESSAGE_SIZE = 4_096;
const STABLE_AFTER = 5_000;
/** The feed's backoff policy, as configured: each delay is checked against it (see `policyDelay`), never against the feed's context. */
const BACKOFF = { initial: 100, max: 400, jitter: 'none' } as const;

type Fault = 'drop' | 'reset' | 'oversized' | 'pong' | 'stale';
const lostFaults: (EventObject & { fault: Fault })[] = (['drop', 'reset', 'oversized', 'pong', 'stale'] as const).map((fault) => ({
  type: 'lost',
  fault,
}));
/** The error a feed must report for each fault. */
const lostCode: Record<Fault, string> = {
  drop: 'FEED_LOST',
  reset: 'FEED_LOST',
  oversized: 'MESSAGE_TOO_LARGE',
  pong: 'HEARTBEAT_TIMEOUT',
  stale: 'FEED_STALE',
};
/** Heartbeat and staleness are faults of a live feed; while subscribing, a dead socket is enough. */
const timerFaults = new Set<string>(['pong', 'stale']);
/** setUrls is refused (FEED_CLOSED) once the feed is closing: the model's machine would take it. */
const filterEvents = (snapshot: ModelSnapshot, event: EventObject) =>
  !(event.type === 'lost' && timerFaults.has((event as { fault?: string }).fault ?? '') && !snapshot.matches({ connected: 'healthy' })) &&
  !(event.type === 'setUrls' && snapshot.matches('closing'));

interface Run {
  server: TestWsServer;
  feed: Feed;
  clock: SimulatedClock;
  log: StateLog<FeedState>;
  messages: number;
  added: string[];
  /** Unsubscribed subscriptions, with the number of connections opened before the unsubscribe. */
  removed: Map<string, number>;
  nextSubscription: number;
  closing: Promise<void> | undefined;
  fault: Fault | undefined;
}

/** The event that will take the feed out of the state step `index` leads to (skipping steps that stay put). */
function leaving(path: ModelPath, index: number): EventObject | undefined {
  for (let i = index + 1; i < path.steps.length; i++) if (!stays(path, i)) return path.steps[i]!.event;
  return undefined;
}

/**
 * Consecutive failures the feed has counted after step `index`: failed connects, lost
 * connections, unacknowledged subscriptions. A stable spell forgives them: the
 * `after.stableAfter` step, and the clock a heartbeat or staleness fault moves while the feed
 * is live (far past `stableAfter`), so such a loss is the first failure again.
 */
function failuresAt(path: ModelPath, index: number): number {
  let failures = 0;
  for (const { event } of path.steps.slice(1, index + 1)) {
    if (event.type === 'after.stableAfter') failures = 0;
    else if (event.type === 'lost' && timerFaults.has((event as { fault?: string }).fault ?? '')) failures = 1;
    else if (event.type === 'lost' || event.type === 'open.error' || event.type === 'after.ackTimeout') failures++;
  }
  return failures;
}

/** The delay the policy gives the retry after `failures` consecutive failures, computed here: `initial` doubling per failure, capped at `max`; even the first is a delay. */
function policyDelay(failures: number): number {
  return Math.min(BACKOFF.max, BACKOFF.initial * 2 ** (Math.max(1, failures) - 1));
}

/** One turn of the event loop: a timer of 0 ms has run by then. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Makes the server accept or refuse the connect that is about to start. */
async function prepareOpen(server: TestWsServer, next: EventObject | undefined): Promise<void> {
  if (next?.type === 'open.error' || next?.type === 'always[reconnectsExhausted]') await server.refuse();
  else await server.accept();
}

/** Backoff entries before the path's end: maxReconnects must outlast them unless the path exhausts it. */
function backoffEntries(path: ModelPath): number {
  return path.steps.filter((step, i) => !stays(path, i) && plainState(step.state) === 'backoff').length;
}

async function start(path: ModelPath): Promise<Run> {
  const server = await startWsServer();
  await prepareOpen(server, leaving(path, 0));
  const clock = new SimulatedClock();
  const feed = Feed.connect({
    url: server.url,
    subscriptions: INITIAL_SUBSCRIPTIONS,
    isAck: (data) => data.toString() === ACK,
    ackTimeout: ACK_TIMEOUT,
    heartbeat: HEARTBEAT,
    staleAfter: STALE_AFTER,
    maxMessageSize: MAX_MESSAGE_SIZE,
    maxReconnects: backoffEntries(path) + 1,
    backoff: BACKOFF,
    clock,
  });
  const run: Run = { server, feed, clock, log: logFeed(feed), messages: 0, added: [], removed: new Map(), nextSubscription: 0, closing: undefined, fault: undefined };
  feed.on('message', () => run.messages++);
  feed.on('error', () => {});
  return run;
}

const context = (run: Run) => run.feed.actor.getSnapshot().context;

/** While connected, a (un)subscription goes out at once: wait for the server to read it. */
async function sentIfConnected(run: Run, message: string): Promise<void> {
  if (run.log.current === 'subscribing' || run.log.current === 'healthy') {
    await waitUntil(() => run.server.received.at(-1)?.includes(message) === true, `the server reads ${message}`);
  }
}

/** Sends a message and waits until the feed has it: time may then pass without the feed going stale. */
async function tick(run: Run): Promise<void> {
  const before = run.messages;
  run.server.broadcast(TICK);
  await waitUntil(() => run.messages > before, 'the feed receives a tick');
}

function actions(run: Run, path: ModelPath): Record<string, (step: Step) => Promise<void> | void> {
  const index = (step: Step) => path.steps.indexOf(step);
  return {
    'open.done': () => {},
    'open.error': () => {},
    'teardown.done': () => {},
    'shutdown.done': () => {},
    ack: async () => {
      const before = run.messages;
      run.server.broadcast(ACK);
      // Wait for it, so that the check after this step sees what one ack did.
      await waitUntil(() => run.messages > before, 'the feed receives the ack');
    },
    'always[allAcked]': () => {
      for (let i = context(run).pendingAcks; i > 0; i--) run.server.broadcast(ACK);
    },
    'after.ackTimeout': () => {
      run.clock.increment(ACK_TIMEOUT);
    },
    'after.stableAfter': () => {
      run.clock.increment(STABLE_AFTER);
      expect(context(run).attempts).toBe(0);
      expect(context(run).reconnects).toBe(0);
    },
    'after.retryDelay': async (step) => {
      const delay = policyDelay(failuresAt(path, index(step)));
      // The feed waits exactly the policy's delay: not a millisecond less...
      await nextTurn();
      run.clock.increment(delay - 1);
      expect(run.log.current, `still in backoff ${delay - 1} ms into a ${delay} ms retry delay`).toBe('backoff');
      await prepareOpen(run.server, leaving(path, index(step)));
      // ...nor a millisecond more: the check after this step waits for `connecting`.
      run.clock.increment(1);
    },
    'always[reconnectsExhausted]': async () => {
      // Retry against a refusing server until maxReconnects runs out.
      await run.server.refuse();
      for (let i = 0; i < 20 && run.log.current !== 'closed'; i++) {
        if (run.log.current === 'backoff') run.clock.increment(context(run).retryDelay);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      // The retries are not model steps: read past them to the final state.
      while (run.log.unread.length > 1) await run.log.next();
      expect(context(run).lastError?.code).toBe('RECONNECTS_EXHAUSTED');
    },
    subscribe: async () => {
      const message = `sub:extra-${run.nextSubscription++}`;
      run.added.push(message);
      run.feed.subscribe(message);
      await sentIfConnected(run, message);
    },
    unsubscribe: async () => {
      const subscription = run.added.pop() ?? 'sub:never-subscribed';
      run.removed.set(subscription, run.server.received.length);
      run.feed.unsubscribe(subscription, `un${subscription}`);
      await sentIfConnected(run, `un${subscription}`);
    },
    lost: async (step) => {
      const fault = (step.event as EventObject & { fault: Fault }).fault;
      run.fault = fault;
      switch (fault) {
        case 'drop':
          return run.server.dropAll();
        case 'reset':
          return run.server.resetAll();
        case 'oversized':
          return run.server.sendOversized(MAX_MESSAGE_SIZE + 1);
        case 'stale':
          run.server.silence();
          run.clock.increment(STALE_AFTER);
          return;
        case 'pong':
          // Keep messages flowing so that only the missing pong can poison the feed.
          run.server.answerPings(false);
          for (let i = 0; i < 8 && run.log.current === 'healthy'; i++) {
            await tick(run);
            run.clock.increment(HEARTBEAT.interval / 4);
          }
      }
    },
    close: () => {
      run.closing ??= run.feed.close();
    },
    setUrls: () => {
      // The same server, so the path goes on as the model says; its failure count is kept.
      const failures = context(run).failures;
      run.feed.setUrls([run.server.url]);
      expect(context(run).failures).toEqual(failures);
    },
  };
}

async function check(run: Run, path: ModelPath, index: number): Promise<void> {
  const step = path.steps[index]!;
  const expected = plainState(step.state) as FeedState;
  if (index === 0) {
    expect(run.log.current).toBe(expected);
  } else if (stays(path, index)) {
    // A state the feed leaves on its own may be gone already; the next step reads on.
    if (expected !== 'poisoned' && expected !== 'closing') {
      expect(run.log.unread).toEqual([]);
      expect(run.log.current).toBe(expected);
    }
  } else {
    expect(await run.log.next()).toBe(expected);
  }
  if (step.event.type === 'lost') {
    expect(context(run).lastError?.code).toBe(lostCode[run.fault!]);
    run.server.heal();
  }
  if (expected === 'healthy') {
    // The live connection got every subscription the feed holds, the added ones included.
    const subscriptions = context(run).subscriptions.map((s) => s.reveal());
    expect(subscriptions).toEqual([...INITIAL_SUBSCRIPTIONS, ...run.added]);
    await waitUntil(() => subscriptions.every((s) => run.server.received.at(-1)?.includes(s)), 'the server reads every subscription');
    // A subscription dropped before this connection opened is not replayed on it.
    const latest = run.server.received.length - 1;
    for (const [subscription, opened] of run.removed) {
      if (latest >= opened) expect(run.server.received[latest]).not.toContain(subscription);
    }
    expect(run.server.clients.size).toBe(1);
  }
  if (expected === 'closed') {
    await run.closing;
    await waitUntil(() => run.server.clients.size === 0, 'the server sees the feed gone');
  }
}

/** Scenarios the generated paths do not reach: subscriptions changed, then a reconnect. */
const live = ['open.done', 'always[allAcked]'];
const reconnect = (fault: Fault) => [{ type: 'lost', fault }, 'teardown.done', 'after.retryDelay', ...live];
const scenarios = [
  [...live, 'subscribe', ...reconnect('drop')],
  ['open.error', 'subscribe', 'after.retryDelay', ...live],
  [...live, 'subscribe', 'subscribe', 'unsubscribe', ...reconnect('reset')],
  ['open.done', 'subscribe', 'ack', 'unsubscribe', 'always[allAcked]', 'after.stableAfter', ...reconnect('stale')],
  // Reconnect twice, then fail to connect: every loss counts, so the delays grow 100, 200, 400 ms.
  [...live, ...reconnect('drop'), ...reconnect('reset'), { type: 'lost', fault: 'oversized' }, 'teardown.done', 'after.retryDelay', 'open.error', 'after.retryDelay', ...live],
  // Failed connects count too: 100, then 200 ms.
  ['open.error', 'after.retryDelay', 'open.error', 'after.retryDelay', ...live],
  // A stable spell forgives the failures before it: the retry after the next loss is the first delay again.
  ['open.error', 'after.retryDelay', ...live, 'after.stableAfter', ...reconnect('drop')],
].map((events) => pathFromEvents(feedMachine, events.map((e) => (typeof e === 'string' ? { type: e } : e))));

modelSuite(
  feedMachine,
  { events: lostFaults, filterEvents },
  19,
  {
    start,
    actions,
    check,
    transient: { poisoned: 'teardown.done', closing: 'shutdown.done' },
    stop: (run) => run.feed.close(),
  },
  scenarios,
);
