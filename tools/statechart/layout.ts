/**
 * Where everything of a drawn statechart goes: a box per state, compound
 * states around their children, and a route and label box per transition.
 *
 * Each compound state (the root included) lays its children out as one level
 * of a layered graph (tools/statechart/layered.ts). An edge between states of
 * different compounds is laid out once, between the two children of the
 * innermost compound that holds both ends (the level it is labelled in), and
 * in each compound it crosses on the way as an edge to a point on that
 * compound's border: the bottom border when it runs down at its own level,
 * the top when it runs up. Inside the compound that point is a node pinned
 * below (or above) everything, so the edge gets a lane out past its siblings
 * instead of cutting through them; outside, the edge meets the compound there.
 * Levels are layered first (layers need no sizes), then placed from the
 * innermost out (a compound's size is its content's), then put together.
 *
 * Transitions the root defines are drawn once, from an `any state` box at the
 * top level, rather than from every top-level state. A transition between a
 * state and its own ancestor (or itself) is drawn as a loop out of the right
 * side, with no lane kept for it: lifeline's machines have none.
 */
import { ancestorsOf, parentsOf, type Chart, type ChartEdge, type ChartState } from './chart.js';
import { arrange, assignLayers, type Box, type LayerEdge, type LayerNode, type Placement, type Point } from './layered.js';
import { BOX, FONT, headerHeight, headerWidth, textWidth } from './text-metrics.js';

export interface StateShape {
  state: ChartState;
  box: Box;
  /** How deep it is nested: 0 for the root. */
  depth: number;
}

export interface RouteShape {
  /** The transition; undefined for the arrow from an initial dot. */
  edge: ChartEdge | undefined;
  /** From the source's border to the target's; the arrow head goes at the last point. */
  points: Point[];
  label: Box | undefined;
}

export interface ChartLayout {
  width: number;
  height: number;
  /** Parents before children. */
  states: StateShape[];
  /** Centres of the initial-state dots. */
  initials: Point[];
  /** The box transitions defined on the root start from, if the root defines any. */
  anyState: Box | undefined;
  routes: RouteShape[];
}

/** The text of the `any state` box. */
export const ANY_STATE = 'any state';

/** The part of an edge laid out in one compound's level. */
interface Segment {
  level: string;
  from: string;
  to: string;
  labelled: boolean;
}

/** The nodes and edges of one compound's level. */
interface Level {
  nodes: string[];
  edges: LayerEdge[];
  /** The border points: the side each is on and the edge that crosses there. */
  pins: Map<string, { side: 'top' | 'bottom'; edge: string }>;
}

/** A compound's level, placed: its size, and where its content and border points are, relative to it. */
interface PlacedLevel {
  width: number;
  height: number;
  content: Point;
  placement: Placement;
  /** x of each edge's border point, by edge id. */
  ports: Map<string, number>;
}

const initialId = (level: string) => `${level}#initial`;
const anyId = (root: string) => `${root}#any`;
const portId = (level: string, edge: string, side: 'top' | 'bottom') => `${level}#${side}#${edge}`;

class ChartLayouter {
  readonly #root: ChartState;
  readonly #parent: Map<string, ChartState>;
  readonly #levels = new Map<string, Level>();
  readonly #layers = new Map<string, Map<string, number>>();
  readonly #segments = new Map<number, Segment[]>();
  readonly #placed = new Map<string, PlacedLevel>();
  /** Top-left corner of each compound, in chart coordinates. */
  readonly #origins = new Map<string, Point>();

  constructor(readonly chart: Chart) {
    this.#root = chart.root;
    this.#parent = parentsOf(chart.root);
  }

  layout(): ChartLayout {
    this.#layerLevels();
    this.#splitEdges();
    const root = this.#place(this.#root);
    const result: ChartLayout = { width: root.width, height: root.height, states: [], initials: [], anyState: undefined, routes: [] };
    this.#collect(this.#root, { x: 0, y: 0 }, 0, result);
    this.chart.edges.forEach((edge, index) => {
      const segments = this.#segments.get(index);
      result.routes.push(segments ? this.#route(edge, index, segments) : this.#loop(edge, result));
    });
    return result;
  }

  /** Ancestors of `id`, nearest first. */
  #ancestors(id: string): ChartState[] {
    return ancestorsOf(id, this.#parent);
  }

  /** The child of `level` that is or holds `id`. */
  #childToward(level: string, id: string): string {
    let current = id;
    while (this.#parent.get(current)!.id !== level) current = this.#parent.get(current)!.id;
    return current;
  }

  /** Phase 1: the nodes of every level, the edges drawn in it, and its layers. */
  #layerLevels(): void {
    const containers = (state: ChartState): ChartState[] => [state, ...state.children.filter((child) => child.children.length).flatMap(containers)];
    for (const state of containers(this.#root)) {
      const nodes = state.children.map((child) => child.id);
      const edges: LayerEdge[] = [];
      if (state.initial) {
        nodes.unshift(initialId(state.id));
        edges.push({ id: 'initial', from: initialId(state.id), to: state.initial });
      }
      const fromAny = this.chart.edges.some((edge) => edge.source === state.id) || state.internal.length > 0;
      if (state === this.#root && fromAny) nodes.splice(state.initial ? 1 : 0, 0, anyId(state.id));
      this.#levels.set(state.id, { nodes, edges, pins: new Map() });
    }
    this.chart.edges.forEach((edge, index) => {
      const ends = this.#levelEnds(edge);
      const label = { width: textWidth(edge.label, FONT.label) + 2 * BOX.labelPadding, height: BOX.labelHeight };
      if (ends) this.#levels.get(ends.level)!.edges.push({ id: String(index), from: ends.from, to: ends.to, label });
    });
    for (const [id, level] of this.#levels) this.#layers.set(id, assignLayers(level.nodes, level.edges));
  }

  /** The level an edge is labelled in and the two nodes it joins there; undefined for a loop. */
  #levelEnds(edge: ChartEdge): { level: string; from: string; to: string } | undefined {
    const root = this.#root.id;
    if (edge.source === root) return { level: root, from: anyId(root), to: this.#childToward(root, edge.target) };
    const sourceAncestors = this.#ancestors(edge.source);
    const targetAncestors = this.#ancestors(edge.target);
    if (edge.source === edge.target || sourceAncestors.some((s) => s.id === edge.target) || targetAncestors.some((s) => s.id === edge.source)) return undefined;
    const level = sourceAncestors.find((state) => targetAncestors.includes(state))!.id;
    return { level, from: this.#childToward(level, edge.source), to: this.#childToward(level, edge.target) };
  }

  /** Each edge's segments, source side first; the border points they need go into the levels. */
  #splitEdges(): void {
    this.chart.edges.forEach((edge, index) => {
      const ends = this.#levelEnds(edge);
      if (!ends) return;
      const id = String(index);
      const layers = this.#layers.get(ends.level)!;
      const down = layers.get(ends.from)! < layers.get(ends.to)!;
      const crossing = (of: string, leaving: boolean): Segment[] => {
        const ancestors = this.#ancestors(of);
        return ancestors.slice(0, ancestors.findIndex((state) => state.id === ends.level)).map((state) => {
          const side = leaving === down ? 'bottom' : 'top';
          const port = portId(state.id, id, side);
          const level = this.#levels.get(state.id)!;
          level.nodes.push(port);
          level.pins.set(port, { side, edge: id });
          const child = this.#childToward(state.id, of);
          level.edges.push(leaving ? { id, from: child, to: port } : { id, from: port, to: child });
          return { level: state.id, from: leaving ? child : port, to: leaving ? port : child, labelled: false };
        });
      };
      const source = edge.source === this.#root.id ? [] : crossing(edge.source, true);
      const target = crossing(edge.target, false).reverse();
      this.#segments.set(index, [...source, { level: ends.level, from: ends.from, to: ends.to, labelled: true }, ...target]);
    });
  }

  /** Phase 2: places a compound's level, its compound children first. */
  #place(state: ChartState): PlacedLevel {
    const level = this.#levels.get(state.id)!;
    const byId = new Map(state.children.map((child) => [child.id, child]));
    const nodes: LayerNode[] = level.nodes.map((id) => {
      const pin = level.pins.get(id);
      if (pin) return { id, width: 0, height: 0, pin: pin.side };
      if (id === initialId(state.id)) return { id, width: 2 * BOX.initialRadius, height: 2 * BOX.initialRadius };
      if (id === anyId(state.id)) return { id, width: headerWidth(ANY_STATE, state.internal), height: headerHeight(state.internal.length) };
      const child = byId.get(id)!;
      if (!child.children.length) return { id, width: headerWidth(child.key, child.internal), height: headerHeight(child.internal.length) };
      const placed = this.#place(child);
      return { id, width: placed.width, height: placed.height };
    });
    // Where an edge goes on inside a compound child, it meets that child at the child's border point.
    const edges = level.edges.map((edge): LayerEdge => {
      const fromX = this.#placed.get(edge.from)?.ports.get(edge.id);
      const toX = this.#placed.get(edge.to)?.ports.get(edge.id);
      return { ...edge, ...(fromX === undefined ? {} : { fromX }), ...(toX === undefined ? {} : { toX }) };
    });
    const placement = arrange(nodes, edges, this.#layers.get(state.id)!);
    const header = headerHeight(state === this.#root ? 0 : state.internal.length);
    const width = Math.max(placement.width + 2 * BOX.padding, headerWidth(state.key, state === this.#root ? [] : state.internal));
    const content = { x: (width - placement.width) / 2, y: header };
    const ports = new Map<string, number>();
    for (const [id, pin] of level.pins) ports.set(pin.edge, content.x + placement.nodes.get(id)!.x);
    const placed = { width, height: header + placement.height + BOX.padding, content, placement, ports };
    this.#placed.set(state.id, placed);
    return placed;
  }

  /** Phase 3: absolute boxes, parents before children. */
  #collect(state: ChartState, origin: Point, depth: number, result: ChartLayout): void {
    const placed = this.#placed.get(state.id)!;
    this.#origins.set(state.id, origin);
    result.states.push({ state, box: { ...origin, width: placed.width, height: placed.height }, depth });
    const inner = (id: string): Box => {
      const node = placed.placement.nodes.get(id)!;
      return { ...this.#absolute(state.id, node, origin), width: node.width, height: node.height };
    };
    if (state.initial) {
      const dot = inner(initialId(state.id));
      result.initials.push({ x: dot.x + dot.width / 2, y: dot.y + dot.height / 2 });
      const route = placed.placement.edges.get('initial')!;
      result.routes.push({ edge: undefined, points: route.points.map((p) => this.#absolute(state.id, p, origin)), label: undefined });
    }
    if (placed.placement.nodes.has(anyId(state.id))) result.anyState = inner(anyId(state.id));
    for (const child of state.children) {
      const box = inner(child.id);
      if (child.children.length) this.#collect(child, { x: box.x, y: box.y }, depth + 1, result);
      else result.states.push({ state: child, box, depth: depth + 1 });
    }
  }

  /** A point of `level`'s content in chart coordinates. */
  #absolute(level: string, point: Point, origin: Point): Point {
    const placed = this.#placed.get(level)!;
    return { x: origin.x + placed.content.x + point.x, y: origin.y + placed.content.y + point.y };
  }

  /** An edge's route: its segments' points end to end, in chart coordinates. */
  #route(edge: ChartEdge, index: number, segments: Segment[]): RouteShape {
    const points: Point[] = [];
    let label: Box | undefined;
    for (const segment of segments) {
      const origin = this.#origins.get(segment.level)!;
      const placed = this.#placed.get(segment.level)!;
      const laid = placed.placement.edges.get(String(index))!;
      const absolute = laid.points.map((p) => this.#absolute(segment.level, p, origin));
      // A border point sits on the compound's border, above (or below) its header and padding.
      const border = (id: string) => {
        const side = this.#levels.get(segment.level)!.pins.get(id)?.side;
        return side === 'top' ? origin.y : side === 'bottom' ? origin.y + placed.height : undefined;
      };
      const fromY = border(segment.from);
      const toY = border(segment.to);
      if (fromY !== undefined) absolute.unshift({ x: absolute[0]!.x, y: fromY });
      if (toY !== undefined) absolute.push({ x: absolute[absolute.length - 1]!.x, y: toY });
      for (const point of absolute) {
        const last = points[points.length - 1];
        if (!last || Math.abs(last.x - point.x) > 0.01 || Math.abs(last.y - point.y) > 0.01) points.push(point);
      }
      if (segment.labelled && laid.label) label = { ...this.#absolute(segment.level, laid.label, origin), width: laid.label.width, height: laid.label.height };
    }
    return { edge, points, label };
  }

  /** A transition between a state and its ancestor (or itself): a loop out of the right side. */
  #loop(edge: ChartEdge, result: ChartLayout): RouteShape {
    const boxOf = (id: string) => result.states.find((shape) => shape.state.id === id)!.box;
    const from = boxOf(edge.source);
    const to = boxOf(edge.target);
    const out = Math.max(from.x + from.width, to.x + to.width) + 2 * BOX.padding;
    const fromY = from.y + Math.min(from.height / 3, BOX.titleHeight);
    const toY = edge.source === edge.target ? from.y + (2 * from.height) / 3 : to.y + to.height / 2;
    const width = textWidth(edge.label, FONT.label) + 2 * BOX.labelPadding;
    return {
      edge,
      points: [
        { x: from.x + from.width, y: fromY },
        { x: out, y: fromY },
        { x: out, y: toY },
        { x: to.x + to.width, y: toY },
      ],
      label: { x: out + 2, y: (fromY + toY) / 2 - BOX.labelHeight / 2, width, height: BOX.labelHeight },
    };
  }
}

/** Lays out `chart` (see the module comment). */
export function layoutChart(chart: Chart): ChartLayout {
  return new ChartLayouter(chart).layout();
}
