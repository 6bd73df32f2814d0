/**
 * Walks a test model (model.ts): the events a test may perform in a model
 * state, the state one leads to with the transitions it took, and three ways
 * to collect paths, each pruned by `maxSteps` as it searches (never by
 * filtering a full enumeration afterwards: simple paths of a composed model
 * run into the millions long before they end).
 *
 * A model state is identified by its value and by the transition that entered
 * it (`stateKey`), so a path ends at every transition, self-loops included.
 */
import { getInitialSnapshot, getMicrosteps, getNextTransitions, type EventObject } from 'xstate';
import type { StatePath } from 'xstate/graph';
import { markedTransition, type ModelTransition, type TestMachine } from './model.js';

export type ModelSnapshot = ReturnType<TestMachine['machine']['getInitialSnapshot']>;
export type ModelPath = StatePath<ModelSnapshot, EventObject>;
export type ModelStep = ModelPath['steps'][number];

export interface EventOptions {
  /**
   * Events with a payload: an event type listed here is tried with each of its
   * listed payloads instead of bare (`{ type: 'lost', fault: 'reset' }`).
   */
  events?: readonly EventObject[];
  /** Which events to try in which model states. Return false to leave the event out. */
  filterEvents?: (snapshot: ModelSnapshot, event: EventObject) => boolean;
}

/** A model with its event options: what every traversal needs. */
export interface ModelWalker {
  readonly model: TestMachine;
  initial(): ModelSnapshot;
  /** The events a test may perform in `snapshot`, in definition order. */
  enabled(snapshot: ModelSnapshot): EventObject[];
  /** The state `event` leads to, and the transitions it took (raised events included). */
  next(snapshot: ModelSnapshot, event: EventObject): { snapshot: ModelSnapshot; taken: ModelTransition[] };
}

export function stateKey(snapshot: ModelSnapshot, event?: EventObject, previous?: ModelSnapshot): string {
  return JSON.stringify(snapshot.value) + (event && previous ? ` via ${JSON.stringify(event)} from ${JSON.stringify(previous.value)}` : '');
}

export function modelWalker(model: TestMachine, options: EventOptions = {}): ModelWalker {
  const variants = new Map<string, EventObject[]>();
  for (const event of options.events ?? []) variants.set(event.type, [...(variants.get(event.type) ?? []), event]);
  // A model has no context: its value decides what comes next, so each answer is computed
  // once per value (a search asks the same ones thousands of times).
  const enabledCache = new Map<string, EventObject[]>();
  const nextCache = new Map<string, { snapshot: ModelSnapshot; taken: ModelTransition[] }>();
  const valueKey = (snapshot: ModelSnapshot) => snapshot.status + JSON.stringify(snapshot.value);
  return {
    model,
    initial: () => getInitialSnapshot(model.machine) as ModelSnapshot,
    enabled(snapshot) {
      // A finished model takes no more events.
      if (snapshot.status !== 'active') return [];
      // filterEvents may read more than the value (matches, tags): ask it every time.
      const key = valueKey(snapshot);
      let candidates = enabledCache.get(key);
      if (!candidates) {
        candidates = [];
        const types = new Set(getNextTransitions(snapshot as never).map((t) => t.eventType));
        for (const type of types) if (!model.internal.has(type)) candidates.push(...(variants.get(type) ?? [{ type }]));
        enabledCache.set(key, candidates);
      }
      return options.filterEvents ? candidates.filter((event) => options.filterEvents!(snapshot, event)) : candidates;
    },
    next(snapshot, event) {
      const key = `${valueKey(snapshot)} ${JSON.stringify(event)}`;
      let result = nextCache.get(key);
      if (!result) {
        const microsteps = getMicrosteps(model.machine, snapshot as never, event as never);
        const taken: ModelTransition[] = [];
        for (const [, actions] of microsteps) {
          for (const action of actions) {
            const transition = markedTransition(action);
            if (transition) taken.push(transition);
          }
        }
        result = { snapshot: (microsteps.at(-1)?.[0] ?? snapshot) as ModelSnapshot, taken };
        nextCache.set(key, result);
      }
      return result;
    },
  };
}

function path(steps: ModelStep[]): ModelPath {
  return { state: steps.at(-1)!.state, steps, weight: steps.length - 1 };
}

const init = (walker: ModelWalker): ModelStep => ({ state: walker.initial(), event: { type: 'xstate.init' } });

/** Too many paths to be tests: the search stops with this, rather than running for minutes. */
function tooMany(kind: string, limit: number): Error {
  return new Error(`${kind} paths: more than ${limit}; lower maxSteps, leave events out (filterEvents) or raise limit`);
}

/**
 * The shortest path to every model state (a state and the transition that
 * entered it), breadth first, going no deeper than `maxSteps`.
 */
export function shortestPaths(walker: ModelWalker, maxSteps = Infinity, limit = 10_000): ModelPath[] {
  const first = init(walker);
  const seen = new Set([stateKey(first.state)]);
  const found: ModelStep[][] = [[first]];
  for (let at = 0; at < found.length; at++) {
    const steps = found[at]!;
    if (steps.length - 1 >= maxSteps) continue;
    const from = steps.at(-1)!.state;
    for (const event of walker.enabled(from)) {
      const { snapshot } = walker.next(from, event);
      const key = stateKey(snapshot, event, from);
      if (seen.has(key)) continue;
      seen.add(key);
      if (found.length >= limit) throw tooMany('shortest', limit);
      found.push([...steps, { state: snapshot, event }]);
    }
  }
  return found.map(path);
}

/**
 * Every path from the initial state that visits no model state twice, each
 * one ending wherever it can (so a path's prefixes are paths too), depth first,
 * no longer than `maxSteps`. `moves` leaves out events that would keep the
 * model where it is (see machinePaths' `simpleSelfLoops`).
 */
export function simplePaths(walker: ModelWalker, maxSteps = Infinity, limit = 10_000, moves: (event: EventObject) => boolean = () => true): ModelPath[] {
  const found: ModelPath[] = [];
  const onPath = new Set<string>();
  const visit = (steps: ModelStep[], key: string) => {
    if (found.length >= limit) throw tooMany('simple', limit);
    found.push(path(steps));
    if (steps.length - 1 >= maxSteps) return;
    onPath.add(key);
    const from = steps.at(-1)!.state;
    for (const event of walker.enabled(from)) {
      if (!moves(event)) continue;
      const { snapshot } = walker.next(from, event);
      const next = stateKey(snapshot, event, from);
      if (!onPath.has(next)) visit([...steps, { state: snapshot, event }], next);
    }
    onPath.delete(key);
  };
  const first = init(walker);
  visit([first], stateKey(first.state));
  return found;
}

/**
 * `walks` random walks of up to `maxSteps` steps each, every step an event
 * chosen uniformly among those enabled, from `random` (seed it: seededRandom).
 * Unlike simple paths, a walk may come back to a state, so it reaches depths
 * such as two reconnects in a row.
 */
export function randomPaths(walker: ModelWalker, walks: number, maxSteps: number, random: () => number): ModelPath[] {
  const paths: ModelPath[] = [];
  for (let w = 0; w < walks; w++) {
    const steps = [init(walker)];
    while (steps.length - 1 < maxSteps) {
      const from = steps.at(-1)!.state;
      const events = walker.enabled(from);
      if (events.length === 0) break;
      const event = events[Math.floor(random() * events.length)]!;
      steps.push({ state: walker.next(from, event).snapshot, event });
    }
    paths.push(path(steps));
  }
  return paths;
}
