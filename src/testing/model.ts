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
 * Actions and guards are dropped: the model says which state follows which
 * event; the system under test does the work.
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
  /** Every transition of the original machine, in definition order. */
  transitions: ModelTransition[];
}

/**
 * The marker action of a transition that stays put: xstate lists a transition
 * with neither target nor action as no event at all, and the graph would skip it.
 */
function stays(): void {}

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

function nodeConfig(node: AnyStateNode, transitions: ModelTransition[]): StateNodeConfig<any, any, any, any, any, any, any, any, any, any> {
  const on: Record<string, { target?: string[]; actions?: typeof stays }> = {};
  const add = (transition: ModelTransition) => {
    if (on[transition.event]) throw new Error(`toTestMachine: two transitions of ${node.id} would both be ${transition.event}`);
    transitions.push(transition);
    on[transition.event] = transition.targets.length ? { target: transition.targets.map((id) => `#${id}`) } : { actions: stays };
  };
  for (const transition of nodeTransitions(node)) add(describe(node, transition));
  const states: Record<string, StateNodeConfig<any, any, any, any, any, any, any, any, any, any>> = {};
  for (const child of childNodes(node)) states[child.key] = nodeConfig(child, transitions);
  return {
    ...(node.type === 'final' ? { type: 'final' as const } : {}),
    ...(node.type === 'parallel' ? { type: 'parallel' as const } : {}),
    ...(node.initial?.target?.length ? { initial: node.initial.target[0]!.key } : {}),
    ...(Object.keys(states).length ? { states } : {}),
    ...(Object.keys(on).length ? { on } : {}),
  };
}

/** Builds the event-driven model of `machine` (see the module comment). */
export function toTestMachine(machine: AnyStateMachine): TestMachine {
  const transitions: ModelTransition[] = [];
  const config = nodeConfig(machine.root, transitions);
  return { machine: createMachine({ ...config, id: machine.id }), transitions };
}
