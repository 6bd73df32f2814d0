/**
 * Test paths from machines and composed models (lifeline-supervisor/testing):
 * custom state ids survive the model, a composed model covers the app's
 * transitions the feed's states drive, maxSteps prunes the search itself, and
 * seeded random walks repeat and reach two reconnects. Pure: no sockets.
 */
import { describe, expect, it } from 'vitest';
import { setup, type AnyStateMachine } from 'xstate';
import {
  composeMachines,
  distinctPaths,
  feedMachine,
  machinePaths,
  pathFromEvents,
  regionState,
  toTestMachine,
  transitionKey,
  type ModelPath,
} from '../../src/testing/index.js';
import { feedReconnects } from '../helpers/model.js';

/** An app that hears the feed's states: `feed.healthy` and `feed.poisoned`, as `feed.on('state')` would tell it. */
const bookMachine = setup({
  types: { events: {} as { type: 'feed.healthy' } | { type: 'feed.poisoned' } | { type: 'depth' } | { type: 'snapshot' } },
  guards: { isCurrent: () => true },
}).createMachine({
  id: 'book',
  initial: 'waiting',
  on: { 'feed.poisoned': '.waiting' },
  states: {
    waiting: { on: { 'feed.healthy': 'syncing' } },
    syncing: {
      on: { snapshot: { guard: 'isCurrent', target: '#live' }, depth: {} },
    },
    // A custom id, targeted as #live.
    live: { id: 'live', on: { depth: { actions: () => {} } } },
  },
});

const feedEvents = { events: [{ type: 'lost', fault: 'drop' }] };

describe('toTestMachine', () => {
  it('keeps custom state ids: a #live target resolves, and coverage names the state by its id', () => {
    const model = toTestMachine(bookMachine);
    expect(model.machine.getStateNodeById('live').key).toBe('live');
    expect(model.transitions.map(transitionKey)).toContain('book.syncing --snapshot[isCurrent]--> live');
    const path = pathFromEvents(bookMachine, [{ type: 'feed.healthy' }, { type: 'snapshot[isCurrent]' }]);
    expect(path.state.value).toBe('live');
  });
});

describe('composeMachines', () => {
  const model = composeMachines('orderbook', { book: bookMachine, feed: feedMachine }, { announce: ['feed'] });

  it('moves the app in the same step as the feed state it hears', () => {
    const path = pathFromEvents(model, [{ type: 'open.done' }, { type: 'always[allAcked]' }]);
    expect(path.steps.map((s) => regionState(s.state.value, 'book'))).toEqual(['waiting', 'waiting', 'syncing']);
    expect(path.steps.map((s) => regionState(s.state.value, 'feed'))).toEqual(['connecting', 'subscribing', 'healthy']);
  });

  it("covers every transition of both machines, the app's raised ones included, and never offers a raised event as a step", () => {
    const { paths, transitions, uncovered, summary } = machinePaths(model, feedEvents);
    expect(transitions.length).toBe(toTestMachine(bookMachine).transitions.length + toTestMachine(feedMachine).transitions.length);
    expect(uncovered.map(transitionKey)).toEqual([]);
    expect(summary).toMatch(/^orderbook: \d+ shortest paths, \d+ steps, 24\/24 transitions covered$/);
    const performed = new Set(paths.flatMap((p) => p.steps.slice(1).map((s) => s.event.type)));
    expect([...performed].filter((type) => type.startsWith('feed.'))).toEqual([]);
  });

  it('refuses two machines with one id', () => {
    expect(() => composeMachines('feed', { feed: feedMachine })).toThrow(/two of the model's machines would have the id feed/);
  });
});

describe('maxSteps', () => {
  const model = composeMachines('orderbook', { book: bookMachine, feed: feedMachine }, { announce: ['feed'] });
  const options = { ...feedEvents, strategy: 'simple' as const, simpleSelfLoops: true, limit: 5_000 };

  it('prunes the search: simple paths too many to enumerate are bounded by maxSteps as they are searched', () => {
    // Enumerating first and filtering after would meet the limit before any filter ran.
    expect(() => machinePaths(model, options)).toThrow(/simple paths: more than 5000/);
    const { paths } = machinePaths(model, { ...options, maxSteps: 4 });
    expect(paths.length).toBeGreaterThan(100);
    expect(Math.max(...paths.map((p) => p.steps.length - 1))).toBe(4);
  });

  it('bounds shortest paths too', () => {
    const { paths, uncovered } = machinePaths(model, { ...feedEvents, maxSteps: 2 });
    expect(Math.max(...paths.map((p) => p.steps.length - 1))).toBe(2);
    expect(uncovered.length).toBeGreaterThan(0);
  });
});

describe('random walks', () => {
  const model = composeMachines('orderbook', { book: bookMachine, feed: feedMachine }, { announce: ['feed'] });
  // Faults and the way back only: subscriptions would dilute the walk, and giving up or closing end it.
  const filterEvents = (_: unknown, event: { type: string }) =>
    !['subscribe', 'unsubscribe', 'setUrls', 'close', 'always[reconnectsExhausted]'].includes(event.type);
  const walks = (seed: number) => machinePaths(model, { ...feedEvents, filterEvents, strategy: 'random', walks: 20, maxSteps: 30, seed });

  it('repeat for a seed, print it, and differ for another', () => {
    const a = walks(7);
    const key = (paths: ModelPath[]) => paths.map((p) => p.steps.map((s) => s.event.type).join(' '));
    expect(key(walks(7).paths)).toEqual(key(a.paths));
    expect(key(walks(8).paths)).not.toEqual(key(a.paths));
    expect(a.seed).toBe(7);
    expect(a.summary).toContain('seed 7; replay: LIFELINE_SEED=7');
  });

  it('reach two reconnects in a row, which no simple path does', () => {
    const { paths, seed } = walks(20_260_614);
    console.log(`random walks: seed ${seed}, reconnects per walk: ${paths.map((p) => feedReconnects(p, 'feed')).join(' ')}`);
    expect(paths.some((p) => feedReconnects(p, 'feed') >= 2)).toBe(true);
    const simple = machinePaths(model, { ...feedEvents, filterEvents, strategy: 'simple', maxSteps: 30 });
    expect(Math.max(...simple.paths.map((p) => feedReconnects(p, 'feed')))).toBeLessThan(2);
  });
});

describe('distinctPaths', () => {
  it('runs each path once: repeats and prefixes of longer paths go', () => {
    const machine: AnyStateMachine = feedMachine;
    const p = (...types: string[]) => pathFromEvents(machine, types.map((type) => ({ type })));
    const long = p('open.done', 'always[allAcked]', 'close');
    const other = p('open.error', 'close');
    const kept = distinctPaths([p('open.done'), long, p('open.done', 'always[allAcked]'), other, p('open.error', 'close'), p()]);
    expect(kept).toEqual([long, other]);
  });
});
