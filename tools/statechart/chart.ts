/**
 * A machine's statechart as plain data: the tree of states, each transition
 * that moves as a labelled edge, and each transition that stays put as a line
 * listed on its state. The Mermaid and SVG renderers both draw this, so the
 * two always show the same chart.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { childNodes, nodeTransitions, type NodeTransition } from '../../src/telemetry/transitions.js';

export interface ChartState {
  /** The state node id, e.g. `slot.connected.healthy`; the root's is the machine id. */
  id: string;
  /** The key in its parent, e.g. `healthy`; the root's is the machine id. */
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  children: ChartState[];
  /** Id of the child a compound state starts in. */
  initial: string | undefined;
  /** Labels of the transitions this state defines that stay put (actions only). */
  internal: string[];
}

export interface ChartEdge {
  /** Id of the state that defines the transition; the root's id for a transition taken from any state. */
  source: string;
  target: string;
  label: string;
}

export interface Chart {
  root: ChartState;
  /** In definition order, parents before children; a transition with two targets is two edges. */
  edges: ChartEdge[];
}

/** How a chart writes a transition: `dial.done`, `after retryDelay`, `release [recycle]`, `always [allAcked]`. */
export function transitionLabel(transition: NodeTransition): string {
  const event = transition.delay === undefined ? transition.event : `after ${transition.delay}`;
  return transition.guard === undefined ? event : `${event} [${transition.guard}]`;
}

function chartState(node: AnyStateNode, edges: ChartEdge[]): ChartState {
  const internal: string[] = [];
  for (const transition of nodeTransitions(node)) {
    const label = transitionLabel(transition);
    if (transition.targets.length === 0) internal.push(label);
    for (const target of transition.targets) edges.push({ source: node.id, target: target.id, label });
  }
  const children = childNodes(node).map((child) => chartState(child, edges));
  return {
    id: node.id,
    key: node.parent ? node.key : node.id,
    type: node.type,
    children,
    initial: node.initial?.target?.[0]?.id,
    internal,
  };
}

/** The statechart of `machine`'s definition. */
export function chartOf(machine: AnyStateMachine): Chart {
  const edges: ChartEdge[] = [];
  const root = chartState(machine.root, edges);
  return { root, edges };
}

/** Every state of the chart, the root first, parents before children. */
export function allStates(state: ChartState): ChartState[] {
  return [state, ...state.children.flatMap(allStates)];
}

/** Each state's parent, by the state's id (the root has none). */
export function parentsOf(root: ChartState): Map<string, ChartState> {
  const parents = new Map<string, ChartState>();
  for (const state of allStates(root)) for (const child of state.children) parents.set(child.id, state);
  return parents;
}

/** The ancestors of the state `id`, nearest first. */
export function ancestorsOf(id: string, parents: Map<string, ChartState>): ChartState[] {
  const chain: ChartState[] = [];
  for (let state = parents.get(id); state; state = parents.get(state.id)) chain.push(state);
  return chain;
}
