/**
 * Runs model paths (paths.ts) on the real system: each model event becomes a
 * real action or fault, and after every step the real system must be where the
 * model is. What lifeline's own model tests need, for an app's tests too:
 *
 * - **Look-ahead.** Actions get the step and its index, so a step that starts
 *   a dial can read the next step and make the server accept or refuse first
 *   (a dial cannot be held open on loopback).
 * - **Acting inside short-lived states.** A state the system leaves on its own
 *   within a moment (`poisoned`: torn down in a millisecond) is `transient`:
 *   when the next step is anything but its own way out, that step's action
 *   runs synchronously the instant the state is entered (`StateLog.onEnter`).
 * - **State checks.** Each state log (`logs`) must enter exactly the states the
 *   model's region enters, in order, and nothing where the model stays put.
 * - **Failing fast.** Every step is bounded (`stepTimeout`, real time: it bounds
 *   a failing test, never a passing one), a failure says which step of which
 *   path, what the logs entered and what `describeFailure` adds (the pool's or
 *   feed's history, the fault server's log), and a path that begins with the
 *   steps an earlier path failed at fails at once, without running; after
 *   `maxFailures` failed runs the rest fail at once too. A broken app costs
 *   seconds, not the minutes of every path waiting out every timeout.
 *
 * ```ts
 * const runner = createPathRunner({
 *   start: async () => ({ venue: await startFaultWsServer(), ... }),
 *   logs: (run) => ({ feed: run.log }),
 *   actions: (run, path) => ({ lost: () => run.venue.dropAll(), 'open.done': () => {}, ... }),
 *   transient: { poisoned: 'teardown.done' },
 *   describeFailure: (run) => formatHistory(run.feed),
 *   stop: (run) => run.feed.close(),
 * });
 * it.each(paths.map((p) => [describePath(p), p] as const))('%s', (_, path) => runner.run(path));
 * ```
 */
import type { EventObject } from 'xstate';
import type { StateLog } from './state-log.js';
import type { ModelPath, ModelStep } from './traversal.js';

/** How a path runner drives the real system. `R` is one run's state: servers, clients, logs. */
export interface PathSystem<R> {
  /** Builds the real system for `path` (servers, pool, feed, app). */
  start(path: ModelPath): Promise<R> | R;
  /**
   * The state logs the runner checks against the model (`logSlot`, `logFeed`, or an app's own),
   * by model region: the region's key in a composed model; for a model of one machine, any one key.
   */
  logs?(run: R): Record<string, StateLog<string>>;
  /** What each model event does to the real system; `index` is the step's index in `path.steps`. */
  actions(run: R, path: ModelPath): Record<string, (step: ModelStep, index: number) => unknown>;
  /** Runs after each step (index 0: the initial state), after the runner's own state checks. */
  check?(run: R, path: ModelPath, index: number): Promise<void> | void;
  /**
   * States the real system leaves on its own within a moment, each with the model event
   * that stands for leaving it that way: `{ poisoned: 'teardown.done' }`. Any other event
   * from such a state is performed synchronously the instant the state is entered.
   */
  transient?: Record<string, string>;
  /**
   * Model states the real system passes through within one step, so no log ever shows
   * them: a feed without `isAck` goes from connecting to healthy in one XState macrostep,
   * and its snapshot is never `subscribing`. The runner does not wait for them.
   */
  unseen?: readonly string[];
  /** Tears the system down; runs after every path, failed or not (bounded by `stepTimeout` too). */
  stop(run: R): Promise<void> | void;
  /** More to say when a path fails: the pool's or feed's history (`formatHistory`), a server's request log. */
  describeFailure?(run: R): string | Promise<string>;
}

export interface PathRunnerOptions {
  /** Real ms each step (action and checks) may take before the path fails. Default `DEFAULT_STEP_TIMEOUT`. */
  stepTimeout?: number;
  /** Check each log against the model after every step (default true). */
  checkStates?: boolean;
  /** After this many paths failed running, the rest fail at once without running. Default 3. */
  maxFailures?: number;
  /**
   * Fail a path that begins with the steps an earlier path failed at, without running it
   * (default true). The fast-check bridge turns this off: a shrunk sequence must really run.
   */
  rememberFailures?: boolean;
}

/** Real ms a step may take: loopback steps take milliseconds; this only bounds a failure. */
export const DEFAULT_STEP_TIMEOUT = 2_000;

export interface PathRunner {
  /** Runs `path` on a fresh system; rejects with a `PathFailure`. */
  run(path: ModelPath): Promise<void>;
  /** Starts `path` step by step (the fast-check bridge drives it this way). */
  open(path: ModelPath): Promise<PathRun>;
}

/** One path running: `step()` performs the next model step and checks it. */
export interface PathRun {
  readonly path: ModelPath;
  /** Index of the last step performed (0: started and checked). */
  readonly index: number;
  step(): Promise<void>;
  /** Stops the system; with an error, rethrows it as a `PathFailure` with the run's facts. */
  close(error?: unknown): Promise<void>;
}

/** A failed path: where it stopped, what the system went through, and the error. */
export class PathFailure extends Error {
  override readonly name = 'PathFailure';
  constructor(
    message: string,
    /** The step the path failed at (0: starting it). */
    readonly step: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An event as a path names it: its type, and a fault's name in brackets: `lost(reset)`. */
export function describeEvent(event: EventObject): string {
  const { type, ...payload } = event as EventObject & Record<string, unknown>;
  const values = Object.values(payload).filter((v) => typeof v === 'string' || typeof v === 'number');
  return values.length ? `${type}(${values.join(', ')})` : type;
}

/** The events of a path: `open.done → lost(reset) → close`; `mark` brackets step `mark`. */
export function describePath(path: ModelPath, mark?: number): string {
  const events = path.steps.slice(1).map(({ event }, i) => (i + 1 === mark ? `[${describeEvent(event)}]` : describeEvent(event)));
  return events.length ? events.join(' → ') : '(the initial state)';
}

/** The state a model region is in, as a log names it: `{ connected: 'healthy' }` is `healthy`. */
export function regionState(value: unknown, region?: string): string {
  let at = region !== undefined && typeof value === 'object' && value !== null && region in value ? (value as Record<string, unknown>)[region] : value;
  while (typeof at === 'object' && at !== null && Object.keys(at).length === 1) at = Object.values(at)[0];
  return typeof at === 'string' ? at : JSON.stringify(at);
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** `promise`, or an error once `ms` real ms have passed; a late rejection is swallowed, not left unhandled. */
async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  promise.catch(() => {});
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms (stepTimeout)`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const stepKeys = (path: ModelPath) => path.steps.slice(1).map((step) => JSON.stringify(step.event));

export function createPathRunner<R>(system: PathSystem<R>, options: PathRunnerOptions = {}): PathRunner {
  const stepTimeout = options.stepTimeout ?? DEFAULT_STEP_TIMEOUT;
  const checkStates = options.checkStates ?? true;
  const maxFailures = options.maxFailures ?? 3;
  const rememberFailures = options.rememberFailures ?? true;
  const transient = system.transient ?? {};
  const unseen = new Set(system.unseen ?? []);
  /** Failed runs: the steps up to the failing one, and the message. */
  const failures: { keys: string[]; message: string }[] = [];

  function failedBefore(path: ModelPath): PathFailure | undefined {
    const keys = stepKeys(path);
    for (const failure of rememberFailures ? failures : []) {
      if (failure.keys.length <= keys.length && failure.keys.every((key, i) => keys[i] === key)) {
        const n = failure.keys.length;
        return new PathFailure(`not run: its first ${n} step(s) failed on an earlier path (${describePath(path, n)})\n${failure.message}`, n);
      }
    }
    if (failures.length >= maxFailures) {
      return new PathFailure(`not run: ${failures.length} paths failed already (maxFailures); the first:\n${failures[0]!.message}`, 0);
    }
    return undefined;
  }

  async function open(path: ModelPath): Promise<PathRun> {
    const early = failedBefore(path);
    if (early) throw early;
    let index = 0;
    let run: R | undefined;
    let logs: Record<string, StateLog<string>> = {};
    let actions: ReturnType<PathSystem<R>['actions']> = {};
    /** Steps performed ahead of their turn, inside a transient state: their action's outcome. */
    const ahead = new Map<number, Promise<unknown>>();
    const regions = () => Object.keys(logs);
    // A log named after a region of a composed model follows that region; any other log, the whole model.
    const stateOf = (at: number, region: string) => regionState(path.steps[at]!.state.value, region);

    const act = (at: number): Promise<unknown> => {
      const step = path.steps[at]!;
      const action = actions[step.event.type];
      if (!action) return Promise.reject(new Error(`no action for the model event ${step.event.type}`));
      try {
        return Promise.resolve(action(step, at));
      } catch (error) {
        return Promise.reject(error);
      }
    };

    /** Before step `at` is performed: if it enters a transient state the next step does not leave by itself, act there. */
    const armTransient = (at: number) => {
      const next = path.steps[at + 1];
      if (!next) return;
      for (const region of regions()) {
        const target = stateOf(at, region);
        const leaves = transient[target];
        if (leaves === undefined || next.event.type === leaves || stateOf(at - 1, region) === target) continue;
        logs[region]!.onEnter(target, () => {
          if (ahead.has(at + 1)) return;
          const acted = act(at + 1);
          // Awaited when its step comes; until then a rejection must not count as unhandled.
          acted.catch(() => {});
          ahead.set(at + 1, acted);
        });
      }
    };

    const checkLogs = async (at: number) => {
      for (const [region, log] of Object.entries(logs)) {
        const expected = stateOf(at, region);
        if (at === 0) {
          if (log.current !== expected) throw new Error(`${region} starts in ${log.current}; the model starts in ${expected}`);
        } else if (unseen.has(expected)) {
          // Never logged: the next change the model makes reads past it.
        } else if (stateOf(at - 1, region) !== expected) {
          const entered = await log.next(stepTimeout * 2);
          if (entered !== expected) throw new Error(`${region} entered ${entered}; the model says ${expected}`);
        } else if (transient[expected] === undefined) {
          // The model stays put: nothing new may have been entered (a transient state may be gone already).
          if (log.unread.length) throw new Error(`${region} entered ${log.unread.join(' > ')}; the model stays in ${expected}`);
        }
      }
      await system.check?.(run!, path, at);
    };

    const facts = async (): Promise<string> => {
      const lines = [`  path: ${describePath(path, index)}`];
      if (index > 0) lines.push(`  model: ${JSON.stringify(path.steps[index - 1]!.state.value)} --${describeEvent(path.steps[index]!.event)}--> ${JSON.stringify(path.steps[index]!.state.value)}`);
      for (const [region, log] of Object.entries(logs)) lines.push(`  ${region} entered: ${log.entered.join(' > ')}`);
      if (run !== undefined && system.describeFailure) {
        try {
          lines.push(await bounded(Promise.resolve(system.describeFailure(run)), stepTimeout, 'describeFailure'));
        } catch (error) {
          lines.push(`  (describeFailure failed: ${errorMessage(error)})`);
        }
      }
      return lines.join('\n');
    };

    let closed = false;
    const close = async (error?: unknown) => {
      if (closed) return;
      closed = true;
      const summary = error === undefined ? '' : await facts();
      for (const log of Object.values(logs)) log.stop();
      let stopError: unknown;
      if (run !== undefined) {
        try {
          await bounded(Promise.resolve(system.stop(run)), stepTimeout, 'stopping the system');
        } catch (e) {
          stopError = e;
        }
      }
      const failure = error ?? stopError;
      if (failure === undefined) return;
      const where = index === 0 ? 'starting' : `step ${index}/${path.steps.length - 1} (${describeEvent(path.steps[index]!.event)})`;
      const message =
        `path failed at ${where}: ${errorMessage(failure)}\n${summary || (await facts())}` +
        (error !== undefined && stopError !== undefined ? `\n  stopping it failed too: ${errorMessage(stopError)}` : '');
      failures.push({ keys: stepKeys(path).slice(0, index), message });
      throw new PathFailure(message, index, { cause: failure });
    };

    try {
      run = await bounded(Promise.resolve(system.start(path)), stepTimeout, 'starting the system');
      logs = system.logs?.(run) ?? {};
      if (!checkStates && !system.transient) logs = {};
      actions = system.actions(run, path);
      if (checkStates) await bounded(checkLogs(0), stepTimeout, 'checking the initial state');
      else await bounded(Promise.resolve(system.check?.(run, path, 0)), stepTimeout, 'checking the initial state');
    } catch (error) {
      await close(error);
    }

    const stepOnce = async () => {
      const at = index + 1;
      if (at >= path.steps.length) throw new Error('the path has no more steps');
      index = at;
      try {
        armTransient(at);
        const work = (async () => {
          await (ahead.get(at) ?? act(at));
          if (checkStates) await checkLogs(at);
          else await system.check?.(run!, path, at);
        })();
        await bounded(work, stepTimeout, `step ${at} (${describeEvent(path.steps[at]!.event)})`);
      } catch (error) {
        await close(error);
      }
    };
    return {
      path,
      get index() {
        return index;
      },
      step: stepOnce,
      close,
    };
  }

  return {
    open,
    async run(path) {
      const run = await open(path);
      while (run.index < path.steps.length - 1) await run.step();
      await run.close();
    },
  };
}
