/**
 * The path runner of lifeline-supervisor/testing, on a real feed against a real
 * WebSocket server: it acts inside a state that lasts a millisecond, checks the
 * feed's log against the model, and fails fast: a step past `stepTimeout` fails
 * with the path, the states entered, the feed's history and what the test's
 * `describeFailure` adds, and a path that begins with a failed one's steps fails
 * without running.
 */
import { describe, expect, it } from 'vitest';
import { createMachine, SimulatedClock, type EventObject } from 'xstate';
import { Feed } from '../../src/index.js';
import {
  composeMachines,
  createPathRunner,
  feedMachine,
  formatHistory,
  logFeed,
  pathFromEvents,
  PathFailure,
  type FaultWsServer,
  type ModelPath,
  type PathSystem,
  type StateLog,
} from '../../src/testing/index.js';
import { startWsServer } from '../helpers/ws-server.js';

interface Run {
  server: FaultWsServer;
  feed: Feed;
  clock: SimulatedClock;
  log: StateLog<string>;
}

const path = (...events: (string | EventObject)[]) => pathFromEvents(feedMachine, events.map((e) => (typeof e === 'string' ? { type: e } : e)));
const live = ['open.done', 'always[allAcked]'];
const drop = { type: 'lost', fault: 'drop' };

/** A feed test as a user writes one; `retryBy` is how far `after.retryDelay` moves the clock. */
function feedSystem(options: { transient?: boolean; retryBy?: (feed: Feed) => number } = {}): PathSystem<Run> & { starts: number } {
  const system = {
    starts: 0,
    async start(): Promise<Run> {
      system.starts++;
      const server = await startWsServer();
      const clock = new SimulatedClock();
      const feed = Feed.connect({ url: server.url, subscriptions: ['sub:a'], clock, backoff: { initial: 100, jitter: 'none' } });
      feed.on('error', () => {});
      return { server, feed, clock, log: logFeed(feed) };
    },
    logs: (run: Run) => ({ feed: run.log }),
    actions: (run: Run) => ({
      'open.done': () => {},
      // Without isAck, subscribing passes within the macrostep that opened: no log shows it (unseen).
      'always[allAcked]': () => {},
      lost: () => run.server.dropAll(),
      'teardown.done': () => {},
      'after.retryDelay': () => run.clock.increment(options.retryBy?.(run.feed) ?? run.feed.actor.getSnapshot().context.retryDelay),
      close: () => void run.feed.close(),
      'shutdown.done': () => {},
    }),
    unseen: ['subscribing'],
    ...(options.transient === false ? {} : { transient: { poisoned: 'teardown.done' } }),
    describeFailure: (run: Run) => `${formatHistory(run.feed)}\n  server: ${run.server.connections} connection(s) accepted`,
    stop: (run: Run) => run.feed.close(),
  };
  return system;
}

describe('createPathRunner', () => {
  it('runs a reconnect, reading each state the feed enters', async () => {
    await createPathRunner(feedSystem()).run(path(...live, drop, 'teardown.done', 'after.retryDelay', ...live));
  });

  it('follows a region of a composed model by the log named after it, though no other region has a log', async () => {
    const composed = composeMachines('app', { app: createMachine({ id: 'idle', initial: 'idle', states: { idle: {} } }), feed: feedMachine });
    const steps = [...live, drop, 'teardown.done', 'after.retryDelay', ...live].map((e) => (typeof e === 'string' ? { type: e } : e));
    await createPathRunner(feedSystem()).run(pathFromEvents(composed, steps));
  });

  it('acts inside a state that lasts a millisecond: close while poisoned', async () => {
    const closeWhilePoisoned = path(...live, drop, 'close', 'shutdown.done');
    await createPathRunner(feedSystem()).run(closeWhilePoisoned);
    // Without the look-ahead, the close comes after the teardown, from backoff.
    const late = createPathRunner(feedSystem({ transient: false }), { stepTimeout: 500 }).run(closeWhilePoisoned);
    await expect(late).rejects.toThrow(/feed entered backoff; the model says closing/);
  });

  it('fails fast with the path, the states, the history and the test own facts, and does not rerun a failed prefix', async () => {
    // A broken system: the retry timer is never moved far enough.
    const system = feedSystem({ retryBy: () => 1 });
    const runner = createPathRunner(system, { stepTimeout: 300 });
    const reconnect = path(...live, drop, 'teardown.done', 'after.retryDelay', ...live);
    const error: unknown = await runner.run(reconnect).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PathFailure);
    const failure = error as PathFailure;
    expect(failure.step).toBe(5);
    expect(failure.message).toContain('path failed at step 5/7 (after.retryDelay): step 5 (after.retryDelay): not done within 300 ms (stepTimeout)');
    expect(failure.message).toContain('path: open.done → always[allAcked] → lost(drop) → teardown.done → [after.retryDelay] → open.done');
    expect(failure.message).toContain('feed entered: connecting > healthy > poisoned > backoff');
    expect(failure.message).toMatch(/feed: healthy → poisoned \(lost: FEED_LOST\)/);
    expect(failure.message).toContain('server: 1 connection(s) accepted');

    // Same first five steps: fails at once, without starting a system.
    const starts = system.starts;
    const longer: ModelPath = path(...live, drop, 'teardown.done', 'after.retryDelay', 'close', 'shutdown.done');
    await expect(runner.run(longer)).rejects.toThrow(/not run: its first 5 step\(s\) failed on an earlier path/);
    expect(system.starts).toBe(starts);
    // A path that shares less runs.
    await runner.run(path(...live, drop, 'close', 'shutdown.done'));
    expect(system.starts).toBe(starts + 1);
  });

  it('after maxFailures failed runs, fails the rest without running them', async () => {
    const system = feedSystem({ retryBy: () => 1 });
    const runner = createPathRunner(system, { stepTimeout: 200, maxFailures: 1 });
    await expect(runner.run(path(...live, drop, 'teardown.done', 'after.retryDelay'))).rejects.toThrow(PathFailure);
    await expect(runner.run(path('open.done', 'close', 'shutdown.done'))).rejects.toThrow(/not run: 1 paths failed already \(maxFailures\)/);
    expect(system.starts).toBe(1);
  });
});
