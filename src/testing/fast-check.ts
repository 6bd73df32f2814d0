/**
 * A bridge from a test model to fast-check's `fc.commands`: a command is a
 * choice among the events the model takes where it is (the nth possible one),
 * so every command is a step (one command per event kind would be impossible
 * most of the time, and sequences would rarely get past a reconnect); a
 * generated sequence runs on the real system through the path runner (look-ahead,
 * transient states, state checks, failure facts). Unlike shortest and simple
 * paths, a sequence may come back to a state, so two reconnects in a row are
 * found; and fast-check shrinks a failure to the fewest steps that still fail.
 *
 * Exported as `lifeline-supervisor/testing/fast-check`, not from the testing
 * kit's main entry: fast-check is an optional peer dependency, needed only by
 * those who import this. The caller passes its own `fc` in, so lifeline never
 * loads fast-check itself (one copy, the user's version).
 *
 * ```ts
 * import fc from 'fast-check';
 * import { modelCommands } from 'lifeline-supervisor/testing/fast-check';
 *
 * const { commands, run } = modelCommands(fc, model, system, { maxCommands: 40 });
 * await fc.assert(fc.asyncProperty(commands, run), { seed: testSeed(), numRuns: 100 });
 * ```
 */
import type FastCheck from 'fast-check';
import type { EventObject } from 'xstate';
import { asTestMachine, type ModelSource } from './model.js';
import { createPathRunner, describeEvent, type PathRun, type PathRunnerOptions, type PathSystem } from './path-runner.js';
import { modelWalker, type EventOptions, type ModelPath, type ModelSnapshot, type ModelStep } from './traversal.js';

/** The model a command sees: where the model is. */
export interface CommandModel {
  snapshot: ModelSnapshot;
  /** The event the command checked last will perform (a holder: fast-check hands `check` a read-only model). */
  readonly chosen: { event?: EventObject | undefined };
}

export type ModelCommand = FastCheck.AsyncCommand<CommandModel, PathRun, false>;

/** What the bridge calls of fast-check: `import fc from 'fast-check'` or `import * as fc` both fit. */
export type FastCheckApi = Pick<typeof FastCheck, 'commands' | 'nat' | 'asyncModelRun'>;

export interface ModelCommandsOptions extends EventOptions, Omit<PathRunnerOptions, 'maxFailures' | 'rememberFailures'> {
  /** The most commands in one sequence (fast-check's `maxCommands`; default 40). */
  maxCommands?: number;
  /**
   * fast-check's `size` for the sequences (default `'max'`: lengths spread up to maxCommands).
   * fast-check's own default, `'small'`, makes about ten commands, most of them impossible
   * where the model is, so a sequence rarely gets past one reconnect.
   */
  size?: FastCheck.SizeForArbitrary;
}

export interface ModelCommands {
  /** For `fc.asyncProperty`: sequences of model events. */
  commands: FastCheck.Arbitrary<Iterable<ModelCommand>>;
  /** Runs one generated sequence on a fresh real system (through `fc.asyncModelRun`). */
  run(commands: Iterable<ModelCommand>): Promise<void>;
}

const same = (a: EventObject, b: EventObject) => JSON.stringify(a) === JSON.stringify(b);

/** Commands for every event of `source`'s model, run on `system` (see the module comment). */
export function modelCommands<R>(fc: FastCheckApi, source: ModelSource, system: PathSystem<R>, options: ModelCommandsOptions = {}): ModelCommands {
  const walker = modelWalker(asTestMachine(source), options);
  // Shrinking reruns failing sequences on purpose: every one must really run.
  const runner = createPathRunner(system, { ...options, maxFailures: Infinity, rememberFailures: false });

  const command = (choice: number): ModelCommand => {
    let name = `the event at ${choice} among those possible`;
    return {
      // Possible wherever the model takes any event; `check` notes which, for the dry run below.
      check(model) {
        const events = walker.enabled(model.snapshot);
        model.chosen.event = events[choice % Math.max(1, events.length)];
        return model.chosen.event !== undefined;
      },
      async run(model, real) {
        const event = model.chosen.event!;
        name = describeEvent(event);
        model.snapshot = walker.next(model.snapshot, event).snapshot;
        const expected = real.path.steps[real.index + 1]?.event;
        if (!expected || !same(expected, event)) throw new Error(`model commands: ran ${name} where the path has ${expected ? describeEvent(expected) : 'no step'}`);
        await real.step();
      },
      // After a run, the event it ran: a counterexample reads as the path that failed.
      toString: () => name,
    };
  };

  return {
    commands: fc.commands(
      [fc.nat({ max: 0xffff }).map(command)],
      { maxCommands: options.maxCommands ?? 40, size: options.size ?? 'max' },
    ),
    async run(commands) {
      // The sequence as a path, known before it runs, so actions can look ahead (a dial to refuse).
      const model: CommandModel = { snapshot: walker.initial(), chosen: {} };
      const steps: ModelStep[] = [{ state: model.snapshot, event: { type: 'xstate.init' } }];
      for (const cmd of commands) {
        if (!cmd.check(model)) continue;
        const event = model.chosen.event!;
        model.snapshot = walker.next(model.snapshot, event).snapshot;
        steps.push({ state: model.snapshot, event });
      }
      const path: ModelPath = { state: model.snapshot, steps, weight: steps.length - 1 };
      const real = await runner.open(path);
      await fc.asyncModelRun(() => ({ model: { snapshot: walker.initial(), chosen: {} }, real }), commands);
      await real.close();
    },
  };
}
