/**
 * lifeline's own model-based suites, on the runner `lifeline-supervisor/testing`
 * exports (createPathRunner): a model state as the plain string a pool or feed
 * reports, a readable name for a path, and `modelSuite`, which runs the
 * shortest paths, the simple paths and the scenarios of a machine, each distinct
 * path once, with a failure message that carries the pool's or feed's history.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import {
  createPathRunner,
  describePath as describeModelPath,
  distinctPaths,
  formatHistory,
  machinePaths,
  regionState,
  transitionKey,
  type HasHistory,
  type MachinePaths,
  type MachinePathsOptions,
  type ModelPath,
  type ModelStep,
  type PathRunnerOptions,
  type StateLog,
} from '../../src/testing/index.js';
import { pollFor } from './poll.js';

export type Step = ModelStep;

/** `{ connected: 'healthy' }` → `healthy`; a final state is `closed`. */
export function plainState(snapshot: Step['state']): string {
  return regionState(snapshot.value);
}

/** The events of a path, with the fault a `lost` stands for: `open.done → lost(reset) → close`. */
export function describePath(path: ModelPath): string {
  return describeModelPath(path);
}

/** Whether a step left the model in the state it was in (a transition that stays put). */
export function stays(path: ModelPath, index: number): boolean {
  return index > 0 && JSON.stringify(path.steps[index - 1]!.state.value) === JSON.stringify(path.steps[index]!.state.value);
}

/** How a model-based test drives its real system. */
export interface RealSystem<R extends { log: StateLog<string> }> {
  /** Builds the system for `path` (servers, pool or feed); `run.log` records its states. */
  start(path: ModelPath): Promise<R>;
  /** What each model event does to the real system. */
  actions(run: R, path: ModelPath): Record<string, (step: Step) => unknown>;
  /** Runs after each step (index 0 is the initial state): the real system is where the model is. */
  check(run: R, path: ModelPath, index: number): Promise<void>;
  /**
   * States the real system leaves on its own within a moment (`poisoned` → `backoff`
   * once the old socket is gone), each with the model event that stands for leaving
   * it that way. Any other event from such a state is performed synchronously
   * the instant the state is entered (see `StateLog.onEnter`).
   */
  transient: Record<string, string>;
  stop(run: R): Promise<void>;
  /** More for a failure message; by default the history of `run.pool` or `run.feed`. */
  describeFailure?(run: R): string | Promise<string>;
}

/** The pool's or feed's history, when the run has one. */
function historyOf(run: { pool?: HasHistory; feed?: HasHistory }): string {
  const source = run.pool ?? run.feed;
  return source ? formatHistory(source) : '';
}

/** The exported runner, driving a RealSystem: its checks read the log themselves, so the runner's state checks are off. */
export function modelRunner<R extends { log: StateLog<string> }>(system: RealSystem<R>, options: PathRunnerOptions = {}) {
  return createPathRunner<R>(
    {
      start: (path) => system.start(path),
      logs: (run) => ({ state: run.log }),
      actions: (run, path) => system.actions(run, path),
      check: (run, path, index) => system.check(run, path, index),
      transient: system.transient,
      stop: (run) => system.stop(run),
      describeFailure: (run) => (system.describeFailure ? system.describeFailure(run) : historyOf(run as never)),
    },
    { checkStates: false, ...options },
  );
}

/** Runs `path` on a fresh real system (a runner of its own: no fail-fast memory shared). */
export async function runModelPath<R extends { log: StateLog<string> }>(
  system: RealSystem<R>,
  _model: MachinePaths['model'] | undefined,
  path: ModelPath,
): Promise<void> {
  await modelRunner(system).run(path);
}

/** How many times a feed came back to healthy after a backoff on `path` (`region`: the feed's, in a composed model). */
export function feedReconnects(path: ModelPath, region?: string): number {
  let count = 0;
  let backedOff = false;
  for (const step of path.steps) {
    const state = regionState(step.state.value, region);
    if (state === 'backoff') backedOff = true;
    if (state === 'healthy' && backedOff) {
      count++;
      backedOff = false;
    }
  }
  return count;
}

/** Polls `condition` until it holds (see `pollFor`); the bound only limits how long a failing test takes. */
export async function waitUntil(condition: () => boolean, what: string, timeout = 5_000): Promise<void> {
  await pollFor(() => (condition() ? true : undefined), timeout, () => new Error(`${what}: not within ${timeout} ms`), 2);
}

/**
 * The shortest and the simple paths of `machine` and the `scenarios` (see
 * `pathFromEvents`), with a test that the shortest paths cover every transition
 * and the simple ones all but those that stay put (and those in `elsewhere`, which
 * other tests drive); then every distinct path of
 * them all run once on the real system by `system` (a path that is a prefix of
 * another is checked within the longer one). Prints the counts.
 */
export function modelSuite(
  machine: AnyStateMachine,
  options: Omit<MachinePathsOptions, 'strategy'>,
  transitionCount: number,
  system: RealSystem<any>,
  scenarios: ModelPath[] = [],
  runnerOptions: PathRunnerOptions = {},
  elsewhere: readonly string[] = [],
): void {
  const generated = (['shortest', 'simple'] as const).map((strategy) => ({ strategy, ...machinePaths(machine, { ...options, strategy }) }));
  const all = distinctPaths([...scenarios, ...generated.flatMap((g) => g.paths)]);
  const summary =
    generated.map((g) => g.summary).join('; ') +
    `; ${all.length} distinct paths run (${all.reduce((sum, p) => sum + p.steps.length - 1, 0)} steps)`;
  afterAll(() => {
    console.log(`${machine.id} model: ${summary}`);
  });

  describe(`${machine.id} machine, coverage`, () => {
    it.each(generated.map((g) => [g.strategy, g] as const))(`%s paths cover the ${machine.id} machine's transitions`, (strategy, g) => {
      expect(g.paths.length).toBeGreaterThan(0);
      expect(g.transitions.length).toBe(transitionCount);
      // `elsewhere`: transitions whose events `options` leaves out, named, because other tests drive them.
      const here = g.uncovered.filter((t) => !elsewhere.includes(transitionKey(t)));
      if (strategy === 'shortest') expect(here).toEqual([]);
      // Simple paths leave out transitions that stay put; the shortest paths cover those.
      else expect(here.every((t) => t.targets.length === 0)).toBe(true);
      if (strategy === 'shortest') expect(g.uncovered.map(transitionKey).sort()).toEqual([...elsewhere].sort());
    });
  });

  describe(`${machine.id} machine, paths on real sockets`, () => {
    const runner = modelRunner(system, runnerOptions);
    it.each(all.map((path) => [describePath(path), path] as const))('%s', async (_name, path) => {
      await runner.run(path);
    });
  });
}
