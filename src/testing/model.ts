/**
 * Turns a lifeline machine (or any XState v5 machine) into a test model that
 * `createTestModel` from `xstate/graph` accepts, and measures which of the
 * machine's transitions a set of test paths covers.
 *
 * `xstate/graph` refuses machines with `invoke` and `after`, and it cannot
 * drive an `always` transition: those fire on a condition, not on an event. So
 * the model keeps the machine's states and transitions one for one and gives
 * each transition an event a test can map to a real action or fault:
 *
 * - an invoked actor's completion becomes `<invoke id>.done`, its failure `<invoke id>.error`;
 * - a delayed transition becomes `after.<delay name>`;
 * - an eventless transition becomes `always`;
 * - a guarded transition gets the guard's name in brackets (`release[recycle]`, `always[allAcked]`),
 *   so each branch is its own event and a test makes the guard true in the real system.
 *
 * Every state node keeps its id, custom ones included, so a target such as
 * `#live` resolves in the model as in the machine, and a composed model
 * (compose.ts) reports each transition under the id it has in its own machine.
 *
 * The machine's actions and guards are dropped: the model says which state
 * follows which event; the system under test does the work. Each transition
 * gets one marker action instead, naming it, so coverage is read from the
 * transitions a step actually took (raised events included), not guessed from
 * the event.
 */
import { createMachine, type AnyStateMachine, type AnyStateNode, type StateNodeConfig } from 'xstate';
import { childNodes, nodeTransitions, type NodeTransition } from '../telemetry/transitions.js';

export { modelEventName } from '../telemetry/transitions.js';

/** One transition of the original machine, named as the model names it. */
export interface ModelTransition {
  /** Id of the state node that owns the transition, e.g. `slot.connected`. */
  source: string;
  /** The model's event, e.g. `dial.done`, `after.retryDelay`, `release[recycle]`. */
  event: string;
  /** Ids of the target state nodes; empty for a transition that stays put. */
  targets: string[];
}

export interface TestMachine {
  /** The model machine: same ids and states, one plain event per transition. */
  machine: AnyStateMachine;
  /** Every transition of the original machine(s), in definition order. */
  transitions: ModelTransition[];
  /**
   * Events the model raises itself (a composed model's `feed.healthy`): a test
   * never performs them, so no path offers them as a step.
   */
  internal: ReadonlySet<string>;
  /** A composed model's regions (compose.ts), by key; empty for one machine. */
  regions: readonly string[];
}

type NodeConfig = StateNodeConfig<any, any, any, any, any, any, any, any, any, any>;

/** What a marker action carries: the transition it stands for. */
interface Marker {
  (): void;
  readonly transition: ModelTransition;
}

function marker(transition: ModelTransition): Marker {
  // xstate lists a transition with neither target nor action as no event at all, so a
  // transition that stays put needs an action anyway: the marker is that action.
  return Object.assign(() => {}, { transition });
}

/** The transition a marker action names, or undefined for any other action (a composed model's raise). */
export function markedTransition(action: { exec?: unknown }): ModelTransition | undefined {
  return typeof action.exec === 'function' ? (action.exec as { transition?: ModelTransition }).transition : undefined;
}

/** `source --event--> target`, the form coverage reports use. */
export function transitionKey(transition: ModelTransition): string {
  return `${transition.source} --${transition.event}--> ${transition.targets.length ? transition.targets.join(',') : '(stays)'}`;
}

function describe(source: AnyStateNode, transition: NodeTransition): ModelTransition {
  return {
    source: source.id,
    event: transition.guard === undefined ? transition.event : `${transition.event}[${transition.guard}]`,
    targets: transition.targets.map((target) => target.id),
  };
}

/**
 * The model's config for `node` and its children. `entry`, when given, adds
 * entry actions to a node (how compose.ts announces a region's states).
 */
export function modelConfig(node: AnyStateNode, transitions: ModelTransition[], entry?: (node: AnyStateNode) => unknown[]): NodeConfig {
  const on: Record<string, { target?: string[]; actions: Marker }> = {};
  const add = (transition: ModelTransition) => {
    if (on[transition.event]) throw new Error(`toTestMachine: two transitions of ${node.id} would both be ${transition.event}`);
    transitions.push(transition);
    on[transition.event] = {
      ...(transition.targets.length ? { target: transition.targets.map((id) => `#${id}`) } : {}),
      actions: marker(transition),
    };
  };
  for (const transition of nodeTransitions(node)) add(describe(node, transition));
  const states: Record<string, NodeConfig> = {};
  for (const child of childNodes(node)) states[child.key] = modelConfig(child, transitions, entry);
  const actions = entry?.(node) ?? [];
  return {
    // The id as the machine has it (`#live`, or the default `feed.connected`), so targets resolve.
    id: node.id,
    ...(node.type === 'final' ? { type: 'final' as const } : {}),
    ...(node.type === 'parallel' ? { type: 'parallel' as const } : {}),
    ...(node.initial?.target?.length ? { initial: node.initial.target[0]!.key } : {}),
    ...(Object.keys(states).length ? { states } : {}),
    ...(Object.keys(on).length ? { on } : {}),
    ...(actions.length ? { entry: actions } : {}),
  } as NodeConfig;
}

/** Builds the event-driven model of `machine` (see the module comment). */
export function toTestMachine(machine: AnyStateMachine): TestMachine {
  const transitions: ModelTransition[] = [];
  const config = modelConfig(machine.root, transitions);
  return { machine: createMachine({ ...config, id: machine.id }), transitions, internal: new Set(), regions: [] };
}

/** A machine or a model already built from one (toTestMachine, composeMachines). */
export type ModelSource = AnyStateMachine | TestMachine;

/** The model of `source`, built once if it is a machine. */
export function asTestMachine(source: ModelSource): TestMachine {
  return 'root' in source ? toTestMachine(source) : source;
}
