/**
 * Mermaid `stateDiagram-v2` source for a machine's statechart.
 *
 * Choices forced by how Mermaid reads and draws state diagrams:
 * - A state is named by its key (`healthy`), or by its id with `_` for `.`
 *   when two states share a key: Mermaid has one flat namespace of names.
 * - An edge is written in the innermost block that holds both its ends: an
 *   edge written inside `state connected { }` pulls a state it names into
 *   `connected`, so `busy --> poisoned` goes after the block, at the top.
 * - Transitions that stay put are a note beside their state: a description
 *   line (`healthy : subscribe`) would replace a leaf state's name and breaks
 *   a compound state.
 * - Transitions the root defines (`close` from any state) are drawn once, from
 *   a pseudo-state `any state` named after the machine, rather than as an edge
 *   from every top-level state, which would repeat `close` five times.
 */
import type { AnyStateMachine } from 'xstate';
import { allStates, ancestorsOf, chartOf, parentsOf, type ChartEdge, type ChartState } from './chart.js';

const INDENT = '  ';

/** Mermaid ends a label at `:` and `;`; its entity codes keep them in the text. */
function text(value: string): string {
  return value.replaceAll(':', '#58;').replaceAll(';', '#59;');
}

/** The Mermaid name of every state (see the module comment). */
function names(root: ChartState): Map<string, string> {
  const states = allStates(root);
  const word = (value: string) => value.replace(/\W/g, '_');
  const counts = new Map<string, number>();
  for (const state of states) counts.set(word(state.key), (counts.get(word(state.key)) ?? 0) + 1);
  return new Map(states.map((state) => [state.id, counts.get(word(state.key))! > 1 ? word(state.id) : word(state.key)]));
}

/** Id of the innermost state that holds both ends of `edge`; the root for an edge the root defines. */
function holder(edge: ChartEdge, parents: Map<string, ChartState>, root: ChartState): string {
  if (edge.source === root.id) return root.id;
  const targetAncestors = new Set(ancestorsOf(edge.target, parents));
  return ancestorsOf(edge.source, parents).find((state) => targetAncestors.has(state))?.id ?? root.id;
}

function note(name: string, lines: string[], depth: number): string[] {
  const pad = INDENT.repeat(depth);
  return [`${pad}note right of ${name}`, ...lines.map((line) => `${pad}${INDENT}${text(line)}`), `${pad}end note`];
}

interface Context {
  names: Map<string, string>;
  /** The edges to write in each state's block, by the state's id. */
  edgesIn: Map<string, ChartEdge[]>;
}

/** The lines of a compound state's body (or of the whole diagram for the root). */
function body(state: ChartState, context: Context, depth: number, lead: string[] = []): string[] {
  const pad = INDENT.repeat(depth);
  const name = (id: string) => context.names.get(id)!;
  const lines: string[] = [];
  if (state.initial) lines.push(`${pad}[*] --> ${name(state.initial)}`);
  lines.push(...lead);
  state.children.forEach((child, index) => {
    // Regions of a parallel state are separated by `--`.
    if (state.type === 'parallel' && index > 0) lines.push(`${pad}--`);
    if (child.children.length) lines.push(`${pad}state ${name(child.id)} {`, ...body(child, context, depth + 1), `${pad}}`);
    else lines.push(name(child.id) === child.key ? `${pad}${child.key}` : `${pad}state "${child.key}" as ${name(child.id)}`);
    if (child.internal.length) lines.push(...note(name(child.id), child.internal, depth));
    if (child.type === 'final') lines.push(`${pad}${name(child.id)} --> [*]`);
  });
  for (const edge of context.edgesIn.get(state.id) ?? []) lines.push(`${pad}${name(edge.source)} --> ${name(edge.target)} : ${text(edge.label)}`);
  return lines;
}

/** Mermaid `stateDiagram-v2` source for `machine`'s definition. */
export function toMermaid(machine: AnyStateMachine): string {
  const chart = chartOf(machine);
  const { root } = chart;
  const parents = parentsOf(root);
  const edgesIn = new Map<string, ChartEdge[]>();
  for (const edge of chart.edges) {
    const id = holder(edge, parents, root);
    edgesIn.set(id, [...(edgesIn.get(id) ?? []), edge]);
  }
  const context = { names: names(root), edgesIn };
  const rootName = context.names.get(root.id)!;
  const anyState = chart.edges.some((edge) => edge.source === root.id) || root.internal.length ? [`${INDENT}state "any state" as ${rootName}`] : [];
  if (root.internal.length) anyState.push(...note(rootName, root.internal, 1));
  return ['stateDiagram-v2', ...body(root, context, 1, anyState)].join('\n') + '\n';
}
