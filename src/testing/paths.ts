/**
 * Test paths from a machine or a composed model: the shortest path to every
 * (state, transition) pair, every simple path, or seeded random walks, with
 * the transitions they cover.
 *
 * A model state is identified by its value and by the transition that entered
 * it, so a path ends at every transition, self-loops included: the shortest
 * paths then cover every transition the model can reach, and what they leave
 * uncovered is a transition no event can drive, worth a look.
 */
import { getInitialSnapshot, getNextSnapshot, type EventObject } from 'xstate';
import { createTestModel, type TestModel } from 'xstate/graph';
import { asTestMachine, transitionKey, type ModelSource, type ModelTransition } from './model.js';
import { seededRandom } from './seeded-random.js';
import { testSeed } from './seed.js';
import {
  modelWalker,
  randomPaths,
  shortestPaths,
  simplePaths,
  stateKey,
  type EventOptions,
  type ModelPath,
  type ModelSnapshot,
  type ModelWalker,
} from './traversal.js';

export type { ModelPath, ModelSnapshot, ModelStep } from './traversal.js';

export interface MachinePathsOptions extends EventOptions {
  /**
   * `shortest` (the default): one shortest path per reachable transition.
   * `simple`: every path that visits no model state twice.
   * `random`: `walks` seeded random walks of `maxSteps` steps, which may come back to a state.
   */
  strategy?: 'shortest' | 'simple' | 'random';
  /**
   * No path longer than this: the search goes no deeper (simple paths grow
   * fast; this is what keeps them bounded). For `random`, the length of each walk (default 20).
   */
  maxSteps?: number;
  /**
   * Also walk transitions that stay put (targetless ones, such as `subscribe`
   * on a live feed) on simple paths. Off by default: each one multiplies the
   * simple paths through its state, and the shortest paths already cover them.
   */
  simpleSelfLoops?: boolean;
  /** The search stops with an error past this many paths, rather than running for minutes (default 10,000). */
  limit?: number;
  /** Random walks: how many (default 20). */
  walks?: number;
  /** Random walks: the seed (default: `testSeed()`, so `LIFELINE_SEED` explores). The summary prints it. */
  seed?: number;
}

export interface MachinePaths {
  /** The `xstate/graph` test model, for `model.testPath(path, params)`. */
  model: TestModel<ModelSnapshot, EventObject, unknown>;
  /** The paths, each once, without those that are a prefix of another (`distinctPaths`). */
  paths: ModelPath[];
  /** Every transition of the machine (of every region, for a composed model). */
  transitions: ModelTransition[];
  covered: ModelTransition[];
  uncovered: ModelTransition[];
  /** The seed of random walks; undefined for the other strategies. */
  seed: number | undefined;
  /** One line: how many paths, steps and transitions covered, the uncovered ones by name, and a random walk's seed. */
  summary: string;
}

/** The transitions `paths` take, raised events included. */
export function coveredTransitions(walker: ModelWalker, paths: readonly ModelPath[]): Set<ModelTransition> {
  const taken = new Set<ModelTransition>();
  for (const path of paths) {
    for (let i = 1; i < path.steps.length; i++) {
      for (const transition of walker.next(path.steps[i - 1]!.state, path.steps[i]!.event).taken) taken.add(transition);
    }
  }
  return taken;
}

/** Generates test paths for `source` (a machine, or a model from `toTestMachine` / `composeMachines`) and reports the transitions they cover. */
export function machinePaths(source: ModelSource, options: MachinePathsOptions = {}): MachinePaths {
  const testMachine = asTestMachine(source);
  const strategy = options.strategy ?? 'shortest';
  const walker = modelWalker(testMachine, options);
  const limit = options.limit ?? 10_000;
  const seed = strategy === 'random' ? (options.seed ?? testSeed()) : undefined;
  const moving = new Set(testMachine.transitions.filter((t) => t.targets.length > 0).map((t) => t.event));
  const noSelfLoops = strategy === 'simple' && options.simpleSelfLoops !== true;
  // Each path once: a prefix of another path checks nothing the longer one does not (see distinctPaths).
  const all =
    strategy === 'random'
      ? randomPaths(walker, options.walks ?? 20, options.maxSteps ?? 20, seededRandom(seed!))
      : strategy === 'simple'
        ? simplePaths(walker, options.maxSteps, limit, (event) => !noSelfLoops || moving.has(event.type))
        : shortestPaths(walker, options.maxSteps, limit);
  const paths = distinctPaths(all);

  const model = createTestModel(testMachine.machine, {
    events: options.events as never,
    filterEvents: options.filterEvents as never,
    serializeState: stateKey as never,
  }) as unknown as MachinePaths['model'];
  const taken = coveredTransitions(walker, paths);
  const covered = testMachine.transitions.filter((t) => taken.has(t));
  const uncovered = testMachine.transitions.filter((t) => !taken.has(t));
  const steps = paths.reduce((sum, path) => sum + path.steps.length - 1, 0);
  const summary =
    `${testMachine.machine.id}: ${paths.length} ${strategy} paths, ${steps} steps, ` +
    `${covered.length}/${testMachine.transitions.length} transitions covered` +
    (seed !== undefined ? ` (seed ${seed}; replay: LIFELINE_SEED=${seed}; explore: LIFELINE_SEED=random)` : '') +
    (noSelfLoops ? ' (simple paths leave out transitions that stay put)' : '') +
    (uncovered.length ? `; uncovered: ${uncovered.map(transitionKey).join('; ')}` : '');
  return { model, paths, transitions: testMachine.transitions, covered, uncovered, seed, summary };
}

/** The events of a path, one key: two paths with the same key are the same test. */
function eventsKey(path: ModelPath): string[] {
  return path.steps.slice(1).map((step) => JSON.stringify(step.event));
}

/**
 * Each distinct path once: drops repeats and every path that is a prefix of
 * another (a path is checked after every step, so the longer one checks all
 * the prefix does). Shortest paths are prefixes of simple ones, and simple
 * paths of each other, so running the union this way runs far fewer paths for
 * the same checks and the same coverage. Keeps the first-seen order.
 */
export function distinctPaths(paths: readonly ModelPath[]): ModelPath[] {
  const keys = paths.map(eventsKey);
  // A trie of every path's events marks the ones that continue further.
  const prefixes = new Set<string>();
  for (const key of keys) for (let n = 0; n < key.length; n++) prefixes.add(key.slice(0, n).join('\u0000'));
  const seen = new Set<string>();
  return paths.filter((_, i) => {
    const joined = keys[i]!.join('\u0000');
    if (prefixes.has(joined) || seen.has(joined)) return false;
    seen.add(joined);
    return true;
  });
}

/**
 * A path through `source`'s model from a sequence of model events, for a
 * scenario the generated paths do not reach (a subscription made while live,
 * then a reconnect). Same shape as a generated path: the first step is the
 * initial state. Throws on an event the model does not take where it is.
 */
export function pathFromEvents(source: ModelSource, events: EventObject[]): ModelPath {
  const { machine: modelMachine } = asTestMachine(source);
  let state = getInitialSnapshot(modelMachine) as ModelSnapshot;
  const steps: ModelPath['steps'] = [{ state, event: { type: 'xstate.init' } }];
  for (const event of events) {
    if (modelMachine.getTransitionData(state as never, event as never).length === 0) {
      throw new Error(`pathFromEvents: ${modelMachine.id} takes no ${event.type} in ${JSON.stringify(state.value)}`);
    }
    state = getNextSnapshot(modelMachine, state as never, event as never) as ModelSnapshot;
    steps.push({ state, event });
  }
  return { state, steps, weight: events.length };
}
