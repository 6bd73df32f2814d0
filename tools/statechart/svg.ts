/**
 * A machine's statechart as a self-contained SVG, laid out by
 * tools/statechart/layout.ts: no Mermaid, no Graphviz, no browser, and the same
 * bytes for the same machine (coordinates rounded, nothing random or dated).
 *
 * Each state is a `<g class="state …" data-state="<state node id>">` whose
 * first child is its box (`rect`), nested inside its parent's group, so a page
 * can light the live state with CSS; `active` marks states with class
 * `active`. The styles are scoped under `svg.statechart`: the SVG may be
 * inlined into a page with its own `.state` classes.
 */
import type { AnyStateMachine } from 'xstate';
import { chartOf } from './chart.js';
import type { Box, Point } from './layered.js';
import { ANY_STATE, layoutChart, type ChartLayout, type StateShape } from './layout.js';
import { BOX, FONT, FONT_FAMILY } from './text-metrics.js';

export interface SvgOptions {
  /** State node ids to mark with class `active`, e.g. `['slot.connected', 'slot.connected.healthy']`. */
  active?: string[];
}

const MARGIN = 8;

/**
 * Colours are CSS variables with light defaults, so a page that inlines the
 * SVG (a dark dashboard) can restyle it by setting them on a parent.
 */
const STYLE = `
svg.statechart { --box: var(--statechart-box, #ffffff); --container: var(--statechart-container, #f6f8fa);
  --stroke: var(--statechart-stroke, #57606a); --faint: var(--statechart-faint, #d0d7de);
  --text: var(--statechart-text, #1f2328); --dim: var(--statechart-dim, #57606a); --event: var(--statechart-event, #0b5394);
  --active: var(--statechart-active, #fff1c2); --active-stroke: var(--statechart-active-stroke, #bf8700); }
svg.statechart .state > rect { fill: var(--box); stroke: var(--stroke); stroke-width: 1.2; }
svg.statechart .state.compound > rect, svg.statechart .state.parallel > rect { fill: var(--container); }
svg.statechart .state.parallel > rect { stroke-dasharray: 6 3; }
svg.statechart .state.root > rect { fill: var(--box); stroke: var(--faint); }
svg.statechart .state > .title { font-size: ${FONT.title}px; font-weight: 700; fill: var(--text); }
svg.statechart .state > .line, svg.statechart .any > .line { font-size: ${FONT.line}px; fill: var(--dim); }
svg.statechart .state > .divider, svg.statechart .any > .divider { stroke: var(--faint); }
svg.statechart .any > rect { fill: var(--box); stroke: var(--stroke); stroke-dasharray: 4 3; }
svg.statechart .any > .title { font-size: ${FONT.title}px; font-style: italic; fill: var(--dim); }
svg.statechart .initial { fill: var(--text); }
svg.statechart .transition > path { fill: none; stroke: var(--stroke); stroke-width: 1.2; }
svg.statechart .transition > rect { fill: var(--box); fill-opacity: 0.9; }
svg.statechart .transition > text { font-size: ${FONT.label}px; fill: var(--event); }
svg.statechart marker path { fill: var(--stroke); }
svg.statechart .state.active > rect { fill: var(--active); stroke: var(--active-stroke); stroke-width: 2.5; }
`;

/** Coordinates to one decimal place, so the output does not depend on float noise. */
function n(value: number): string {
  const rounded = Math.round(value * 10) / 10;
  return String(rounded === 0 ? 0 : rounded);
}

function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function rect(box: Box, radius: number, attributes = ''): string {
  return `<rect x="${n(box.x)}" y="${n(box.y)}" width="${n(box.width)}" height="${n(box.height)}" rx="${radius}"${attributes}/>`;
}

function text(x: number, y: number, value: string, attributes: string): string {
  return `<text x="${n(x)}" y="${n(y)}"${attributes}>${escape(value)}</text>`;
}

/** The title (centred for a leaf, at the left for a container) and the lines listing transitions that stay put. */
function header(box: Box, title: string, lines: string[], centred: boolean, titleClass = 'title'): string[] {
  const parts = [
    centred
      ? text(box.x + box.width / 2, box.y + 16, title, ` class="${titleClass}" text-anchor="middle"`)
      : text(box.x + BOX.textPadding, box.y + 16, title, ` class="${titleClass}"`),
  ];
  if (lines.length) {
    const y = box.y + BOX.titleHeight;
    parts.push(`<path class="divider" d="M${n(box.x)} ${n(y)}H${n(box.x + box.width)}"/>`);
    lines.forEach((line, i) => parts.push(text(box.x + BOX.textPadding, y + BOX.linesPadding + (i + 1) * BOX.lineHeight - 3, line, ' class="line"')));
  }
  return parts;
}

function stateGroup(shape: StateShape, children: Map<string, StateShape>, active: Set<string>): string[] {
  const { state, box, depth } = shape;
  const container = state.children.length > 0;
  const kind = depth === 0 ? 'root' : state.type;
  const classes = ['state', kind, ...(active.has(state.id) ? ['active'] : [])].join(' ');
  const parts = [`<g class="${classes}" data-state="${escape(state.id)}">`, rect(box, BOX.radius)];
  if (state.type === 'final') parts.push(rect({ x: box.x + 3, y: box.y + 3, width: box.width - 6, height: box.height - 6 }, BOX.radius - 3, ' class="inner"'));
  // The root's own transitions that stay put are listed in the `any state` box instead.
  parts.push(...header(box, state.key, depth === 0 ? [] : state.internal, !container));
  for (const child of state.children) parts.push(...stateGroup(children.get(child.id)!, children, active).map((line) => `  ${line}`));
  parts.push('</g>');
  return parts;
}

/** An S-curve through the points: straight where a step is straight, vertical tangents where it bends. */
function pathData(points: Point[]): string {
  let d = `M${n(points[0]!.x)} ${n(points[0]!.y)}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    if (Math.abs(a.x - b.x) < 0.05 || Math.abs(a.y - b.y) < 0.05) d += `L${n(b.x)} ${n(b.y)}`;
    else {
      const mid = (a.y + b.y) / 2;
      d += `C${n(a.x)} ${n(mid)} ${n(b.x)} ${n(mid)} ${n(b.x)} ${n(b.y)}`;
    }
  }
  return d;
}

function bounds(layout: ChartLayout): Box {
  const xs = [0, layout.width];
  const ys = [0, layout.height];
  for (const route of layout.routes) {
    for (const p of route.points) xs.push(p.x), ys.push(p.y);
    if (route.label) xs.push(route.label.x + route.label.width), ys.push(route.label.y + route.label.height);
  }
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

/** A self-contained SVG of `machine`'s statechart (see the module comment). */
export function toSvg(machine: AnyStateMachine, options: SvgOptions = {}): string {
  const chart = chartOf(machine);
  const layout = layoutChart(chart);
  const active = new Set(options.active ?? []);
  const shapes = new Map(layout.states.map((shape) => [shape.state.id, shape]));
  const area = bounds(layout);
  const width = area.width + 2 * MARGIN;
  const height = area.height + 2 * MARGIN;
  const marker = `statechart-arrow-${machine.id.replace(/\W/g, '-')}`;

  const body: string[] = [...stateGroup(shapes.get(chart.root.id)!, shapes, active)];
  if (layout.anyState) {
    const box = layout.anyState;
    body.push('<g class="any">', rect(box, BOX.radius), ...header(box, ANY_STATE, chart.root.internal, true), '</g>');
  }
  for (const dot of layout.initials) body.push(`<circle class="initial" cx="${n(dot.x)}" cy="${n(dot.y)}" r="${BOX.initialRadius}"/>`);
  for (const route of layout.routes) {
    const edge = route.edge;
    const data = edge ? ` data-source="${escape(edge.source)}" data-target="${escape(edge.target)}" data-label="${escape(edge.label)}"` : '';
    body.push(`<g class="${edge ? 'transition' : 'transition initial-transition'}"${data}>`);
    body.push(`  <path d="${pathData(route.points)}" marker-end="url(#${marker})"/>`);
    if (edge && route.label) {
      const label = route.label;
      body.push(`  ${rect(label, 3)}`);
      body.push(`  ${text(label.x + label.width / 2, label.y + 12, edge.label, ' text-anchor="middle"')}`);
    }
    body.push('</g>');
  }

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="statechart" data-machine="${escape(machine.id)}" width="${n(width)}" height="${n(height)}" viewBox="${n(area.x - MARGIN)} ${n(area.y - MARGIN)} ${n(width)} ${n(height)}" font-family="${escape(FONT_FAMILY)}" role="img">`,
    `<title>${escape(machine.id)} statechart</title>`,
    `<style>${STYLE}</style>`,
    `<defs><marker id="${marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z"/></marker></defs>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

