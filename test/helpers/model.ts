/**
 * Shared pieces of the model-based tests: a model step, a model state as the
 * plain string a pool or feed reports, a readable name for a path, and a path
 * runner that checks the system after every step.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyStateMachine, EventObject } from 'xstate';
import { machinePaths, type MachinePaths, type MachinePathsOptions, type ModelPath, type StateLog } from '../../src/testing/index.js';

export type Step = ModelPath['steps'][number];

/** `{ connected: 'healthy' }` → `healthy`; a final state is `closed`. */
export function plainState(snapshot: Step['state']): string {
  const value = snapshot.value as string | Record<string, string>;
  return typeof value === 'string' ? value : Object.values(value)[0]!;
}

/** The events of a path, with the fault a `lost` stands for: `open.done → lost(reset) → close`. */
export function describePath(path: ModelPath): string {
  return path.steps
    .slice(1)
    .map(({ event }) => {
      const fault = (event as EventObject & { fault?: string }).fault;
      return fault ? `${event.type}(${fault})` : event.type;
    })
    .join(' → ');
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
}

/** Runs `path` on a fresh real system with `model.testPath`, mapping each model event to a real action. */
export async function runModelPath<R extends { log: StateLog<string> }>(
  system: RealSystem<R>,
  model: MachinePaths['model'],
  path: ModelPath,
): Promise<void> {
  const run = await system.start(path);
  const actions = system.actions(run, path);
  let index = 0;
  const early = new Set<Step>();
  const events: Record<string, (step: Step) => unknown> = {};
  for (const [type, action] of Object.entries(actions)) {
    events[type] = (step) => {
      if (early.has(step)) return;
      const at = path.steps.indexOf(step);
      const next = path.steps[at + 1];
      const target = plainState(step.state);
      const leaves = system.transient[target];
      if (next && leaves !== undefined && next.event.type !== leaves && !stays(path, at)) {
        early.add(next);
        run.log.onEnter(target, () => void actions[next.event.type]!(next));
      }
      return action(step);
    };
  }
  try {
    await model.testPath(path, {
      events: events as never,
      states: { '*': () => system.check(run, path, index++) },
    });
  } finally {
    run.log.stop();
    await system.stop(run);
  }
}

/** Polls on a short real interval; the bound only limits how long a failing test takes. */
export async function waitUntil(condition: () => boolean, what: string, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * The shortest and the simple paths of `machine`, each run on the real system
 * by `system`, with a test that the shortest paths cover every transition and
 * the simple ones all but those that stay put. Prints the counts. `scenarios`
 * are extra paths (see `pathFromEvents`) run the same way.

 */
export function modelSuite(
  machine: AnyStateMachine,
  options: Omit<MachinePathsOptions, 'strategy'>,
  transitionCount: number,
  system: RealSystem<any>,
  scenarios: ModelPath[] = [],
): void {
  const summaries: string[] = [];
  if (scenarios.length) {
    describe(`${machine.id} machine, scenarios on real sockets`, () => {
      const { model } = machinePaths(machine, options);
      it.each(scenarios.map((path) => [describePath(path), path] as const))('%s', async (_name, path) => {
        await runModelPath(system, model, path);
      });
    });
  }
  afterAll(() => {
    console.log(`${machine.id} model: ${summaries.join('; ')}`);
  });
  describe.each(['shortest', 'simple'] as const)(`${machine.id} machine, %s paths on real sockets`, (strategy) => {
    const { model, paths, uncovered, transitions, summary } = machinePaths(machine, { ...options, strategy });
    summaries.push(summary);

    it(`covers the ${machine.id} machine's transitions (${summary})`, () => {
      expect(paths.length).toBeGreaterThan(0);
      expect(transitions.length).toBe(transitionCount);
      if (strategy === 'shortest') expect(uncovered).toEqual([]);
      // Simple paths leave out transitions that stay put; the shortest paths cover those.
      else expect(uncovered.every((t) => t.targets.length === 0)).toBe(true);
    });

    it.each(paths.map((path) => [describePath(path), path] as const))('%s', async (_name, path) => {
      await runModelPath(system, model, path);
    });
  });
}
