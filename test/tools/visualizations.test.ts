/**
 * The statecharts in visualizations/ are generated from the machine
 * definitions by `npm run visualize`, as are the dashboard's charts and its
 * compiled page script (src/dashboard/charts.ts, src/dashboard/script.ts). This
 * fails when a source changed and they were not regenerated, and checks that each chart shows what the machine
 * has: every state, and every transition of the test model (the same list the
 * model-based tests cover), by the same name.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { chartOf } from '../../tools/statechart/chart.js';
import type { Box } from '../../tools/statechart/layered.js';
import { layoutChart } from '../../tools/statechart/layout.js';
import { toMermaid, toSvg } from '../../tools/statechart/statechart.js';
import { CHARTED_MACHINES, staleFiles } from '../../tools/statechart/visualize-files.js';
import { toTestMachine, type ModelTransition } from '../../src/testing/model.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function stateNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states as Record<string, AnyStateNode>).flatMap(stateNodes)];
}

/** The chart's label for a model event: `after.retryDelay` → `after retryDelay`, `release[recycle]` → `release [recycle]`. */
function chartLabel(transition: ModelTransition): string {
  return transition.event.replace(/^after\./, 'after ').replace(/\[(.*)\]$/, ' [$1]');
}

/** What a Mermaid state diagram declares: state names, edges, and the lines of the notes beside each state. */
function parseMermaid(source: string) {
  const states = new Set<string>();
  const edges: string[] = [];
  const notes = new Map<string, string[]>();
  let note: string[] | undefined;
  for (const raw of source.split('\n').slice(1)) {
    const line = raw.trim();
    let match: RegExpMatchArray | null;
    if (note) {
      if (line === 'end note') note = undefined;
      else note.push(line);
    } else if ((match = line.match(/^note right of (\S+)$/))) notes.set(match[1]!, (note = []));
    else if ((match = line.match(/^state (\S+) \{$/) ?? line.match(/^state ".*" as (\S+)$/) ?? line.match(/^(\w+)$/))) states.add(match[1]!);
    else if (line.includes(' --> ') && !line.includes('[*]')) edges.push(line);
  }
  return { states, edges, notes };
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

it('visualizations/ and the dashboard\'s generated modules hold what their sources generate (else run `npm run visualize`)', () => {
  expect(staleFiles(root)).toEqual([]);
});

describe.each(Object.entries(CHARTED_MACHINES))('the %s statechart', (_, machine: AnyStateMachine) => {
  const nodes = stateNodes(machine.root);
  const { transitions } = toTestMachine(machine);
  const keyOf = (id: string) => (id === machine.id ? machine.id : nodes.find((node) => node.id === id)!.key);

  it('has a data-state group for every state node in the SVG', () => {
    const svg = toSvg(machine);
    for (const node of nodes) expect(svg).toContain(`data-state="${node.id}"`);
  });

  it('marks the states given as active, and only those', () => {
    const leaf = nodes.find((node) => node.type === 'atomic')!;
    const svg = toSvg(machine, { active: [leaf.id] });
    expect(svg).toMatch(new RegExp(`<g class="state [a-z]+ active" data-state="${leaf.id}">`));
    expect(svg.match(/ active"/g)).toHaveLength(1);
  });

  it('draws every transition of the model in the SVG', () => {
    const svg = toSvg(machine);
    for (const transition of transitions) {
      const label = chartLabel(transition);
      if (!transition.targets.length) expect(svg).toContain(`class="line">${label}</text>`);
      for (const target of transition.targets) expect(svg).toContain(`data-source="${transition.source}" data-target="${target}" data-label="${label}"`);
    }
  });

  it('names every state in the Mermaid source', () => {
    const { states } = parseMermaid(toMermaid(machine));
    const keys = nodes.slice(1).map((node) => node.key);
    // Keys are unique in these machines, so Mermaid names each state by its key (see tools/statechart/mermaid.ts).
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(states).toContain(key);
  });

  it('has every transition of the model in the Mermaid source, and no other', () => {
    const { edges, notes } = parseMermaid(toMermaid(machine));
    let moves = 0;
    for (const transition of transitions) {
      const label = chartLabel(transition);
      if (!transition.targets.length) expect(notes.get(keyOf(transition.source))).toContain(label);
      for (const target of transition.targets) {
        expect(edges).toContain(`${keyOf(transition.source)} --> ${keyOf(target)} : ${label}`);
        moves++;
      }
    }
    expect(edges).toHaveLength(moves);
  });

  it('keeps edges and labels clear of the states they do not join', () => {
    const layout = layoutChart(chartOf(machine));
    const related = (state: string, ends: string[]) => ends.some((end) => end === state || end.startsWith(`${state}.`));
    for (const route of layout.routes) {
      if (!route.edge) continue;
      const ends = [route.edge.source, route.edge.target];
      const clear = layout.states.filter((shape) => !related(shape.state.id, ends));
      // Each step of a route stays inside the box its two points span (an S-curve does too).
      route.points.slice(1).forEach((point, i) => {
        const previous = route.points[i]!;
        const step = { x: Math.min(point.x, previous.x), y: Math.min(point.y, previous.y), width: Math.abs(point.x - previous.x), height: Math.abs(point.y - previous.y) };
        for (const shape of clear) expect(overlaps(step, shape.box), `${route.edge!.label} crosses ${shape.state.id}`).toBe(false);
      });
      for (const shape of layout.states.filter((s) => !s.state.children.length)) {
        expect(overlaps(route.label!, shape.box), `label ${route.edge.label} on ${shape.state.id}`).toBe(false);
      }
    }
  });
});
