/**
 * The transitions a state node defines, each with its event named the way a
 * person would say it. Test models (src/testing/model.ts) and statecharts
 * (tools/statechart/statechart.ts) both read a machine through this, so a chart and
 * a coverage report always call a transition by the same name.
 *
 * xstate names the events it raises itself after internals:
 * `xstate.done.actor.dial`, `xstate.after.retryDelay.slot.backoff`. Here they
 * become `dial.done` and `after.retryDelay`; an eventless transition is
 * `always`; events the machine receives keep their type.
 */
import type { AnyStateNode, AnyTransitionDefinition } from 'xstate';

/** One transition definition of a state node. */
export interface NodeTransition {
  /** The event as models name it: `dial.done`, `dial.error`, `after.retryDelay`, `always`, `lease`. */
  event: string;
  /** For a delayed transition, the delay's name (`retryDelay`): charts write `after retryDelay`. */
  delay: string | undefined;
  /** The guard's name, when the transition has one. */
  guard: string | undefined;
  /** The target state nodes; empty for a transition that stays put. */
  targets: AnyStateNode[];
}

const DONE = 'xstate.done.actor.';
const ERROR = 'xstate.error.actor.';
const AFTER = 'xstate.after.';

/**
 * The delay of an `xstate.after.<delay>.<state node id>` event type, or undefined
 * for any other event. Without the state node's id (an inspected event carries
 * none), the delay is the first segment: lifeline's delay names have no dot.
 */
function delayName(eventType: string, sourceId: string | undefined): string | undefined {
  if (!eventType.startsWith(AFTER)) return undefined;
  const rest = eventType.slice(AFTER.length);
  if (sourceId === undefined) return rest.split('.', 1)[0];
  const suffix = `.${sourceId}`;
  return rest.endsWith(suffix) ? rest.slice(0, -suffix.length) : rest;
}

/**
 * An event type as a person would say it: `dial.done`, `dial.error`,
 * `after.retryDelay`; an event the machine receives keeps its type.
 */
export function eventLabel(eventType: string, sourceId?: string): string {
  if (eventType.startsWith(DONE)) return `${eventType.slice(DONE.length)}.done`;
  if (eventType.startsWith(ERROR)) return `${eventType.slice(ERROR.length)}.error`;
  const delay = delayName(eventType, sourceId);
  return delay === undefined ? eventType : `after.${delay}`;
}

/** The model's name for an event type of the original machine. */
export function modelEventName(eventType: string, source: AnyStateNode): string {
  return eventLabel(eventType, source.id);
}

function guardName(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String((guard as { type: unknown }).type);
  const name = (guard as { name?: string }).name;
  // A branch is told apart by its guard's name; an inline arrow function has none.
  if (!name) throw new Error('give every guard a name (in setup({ guards })) so its branch can be named');
  return name;
}

function named(definition: AnyTransitionDefinition, event: string, delay: string | undefined): NodeTransition {
  return { event, delay, guard: guardName(definition.guard), targets: [...(definition.target ?? [])] };
}

/**
 * The transitions `node` itself defines (not its children's), in definition
 * order: evented ones first, then eventless ones.
 */
export function nodeTransitions(node: AnyStateNode): NodeTransition[] {
  const transitions: NodeTransition[] = [];
  for (const [eventType, definitions] of node.transitions as Map<string, AnyTransitionDefinition[]>) {
    const event = modelEventName(eventType, node);
    const delay = delayName(eventType, node.id);
    for (const definition of definitions) transitions.push(named(definition, event, delay));
  }
  for (const definition of (node.always ?? []) as AnyTransitionDefinition[]) transitions.push(named(definition, 'always', undefined));
  return transitions;
}

/** The child state nodes of `node`, in definition order. */
export function childNodes(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states as Record<string, AnyStateNode>);
}
