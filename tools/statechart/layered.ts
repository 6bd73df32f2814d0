/**
 * Layered graph layout (after Sugiyama), top to bottom, for one level of a
 * statechart: the children of one compound state and the edges between them.
 * tools/statechart/layout.ts nests these levels into a whole chart.
 *
 * The steps, each kept simple and deterministic (same input, same output):
 * 1. layers: cycles are broken by reversing the edges a depth-first search
 *    finds going back, then each node goes one layer below the last of its
 *    predecessors, then slides toward the side it has more edges to;
 * 2. ranks: layer L is rank 2L+1, and the ranks between hold the edges'
 *    labels, so a label gets a place of its own and never sits on a box; an
 *    edge longer than one rank passes each rank as a dummy node, which keeps a
 *    lane open between the boxes it passes;
 * 3. order within each rank: barycentre sweeps, keeping the order with the
 *    fewest crossings;
 * 4. x: every node pulled toward its neighbours (long edges pulled hardest),
 *    boxes kept apart, by isotonic regression; then each long edge put in one
 *    straight lane where the ranks it passes leave room;
 * 5. edge points: from the side of one box through its dummies to the side of
 *    the other, several edges on one side spread along it.
 *
 * Nodes pinned `top` or `bottom` are the points where edges cross the border
 * of the compound state that holds this level.
 */

export interface Point {
  x: number;
  y: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LayerNode {
  id: string;
  width: number;
  height: number;
  /** Above (or below) every other node: a point on the border of the enclosing state. */
  pin?: 'top' | 'bottom';
}

export interface LayerEdge {
  id: string;
  from: string;
  to: string;
  label?: { width: number; height: number };
  /** Where the edge must meet its `from` node, from the node's left: it continues inside that node. */
  fromX?: number;
  /** The same for the `to` node. */
  toX?: number;
}

export interface PlacedEdge {
  /** From the `from` node's border, through the edge's dummies, to the `to` node's border. */
  points: Point[];
  label: Box | undefined;
}

export interface Placement {
  width: number;
  height: number;
  /** Top-left corners, with the nodes' sizes. */
  nodes: Map<string, Box>;
  edges: Map<string, PlacedEdge>;
}

/** How far from a box's corner an edge may meet it: clear of the rounding. */
const BOX_INSET = 10;

const SPACING = {
  /** Between the bands of two ranks. */
  rank: 14,
  /** Between two boxes (or labels) side by side. */
  node: 24,
  /** Beside a dummy: the lane of an edge passing between boxes. */
  lane: 10,
  /** Between edges that leave or meet one side of a box. */
  port: 14,
};

/**
 * The layer of every node: edges point down, except those `assignLayers`
 * reverses to break cycles (it still returns every edge as given).
 */
export function assignLayers(nodes: string[], edges: { from: string; to: string }[]): Map<string, number> {
  const index = new Map(nodes.map((id, i) => [id, i]));
  const out = new Map<string, string[]>(nodes.map((id) => [id, []]));
  for (const edge of edges) if (edge.from !== edge.to) out.get(edge.from)!.push(edge.to);

  // Depth-first from each node in order: an edge to a node still on the stack closes a cycle.
  const dag: [string, string][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string) => {
    state.set(id, 'open');
    for (const next of out.get(id)!) {
      if (state.get(next) === 'open') dag.push([next, id]);
      else {
        dag.push([id, next]);
        if (!state.has(next)) visit(next);
      }
    }
    state.set(id, 'done');
  };
  for (const id of nodes) if (!state.has(id)) visit(id);

  const preds = new Map<string, string[]>(nodes.map((id) => [id, []]));
  const succs = new Map<string, string[]>(nodes.map((id) => [id, []]));
  for (const [from, to] of dag) {
    succs.get(from)!.push(to);
    preds.get(to)!.push(from);
  }

  // Longest path from the sources, in topological order (ties by input order).
  const layer = new Map<string, number>();
  const waiting = new Map(nodes.map((id) => [id, preds.get(id)!.length]));
  const ready = nodes.filter((id) => waiting.get(id) === 0);
  while (ready.length) {
    ready.sort((a, b) => index.get(a)! - index.get(b)!);
    const id = ready.shift()!;
    layer.set(id, Math.max(0, ...preds.get(id)!.map((p) => layer.get(p)! + 1)));
    for (const next of succs.get(id)!) {
      waiting.set(next, waiting.get(next)! - 1);
      if (waiting.get(next) === 0) ready.push(next);
    }
  }

  // Slide each node within the room its neighbours leave, toward the side with more edges
  // (toward its successors on a tie): a node reached only from a far source moves down beside
  // its successor instead of stretching its out-edge across the chart.
  const deepest = Math.max(0, ...layer.values());
  for (let pass = 0; pass < 8; pass++) {
    let moved = false;
    for (const id of nodes) {
      const p = preds.get(id)!;
      const s = succs.get(id)!;
      const low = Math.max(0, ...p.map((n) => layer.get(n)! + 1));
      const high = s.length ? Math.min(...s.map((n) => layer.get(n)! - 1)) : deepest;
      const want = s.length >= p.length && s.length ? high : low;
      if (want !== layer.get(id) && want >= low && want <= high) {
        layer.set(id, want);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const least = Math.min(...layer.values());
  return new Map(nodes.map((id) => [id, layer.get(id)! - least]));
}

/** A node of the rank grid: a given node, or a point where an edge passes a rank. */
interface Cell {
  id: string;
  width: number;
  height: number;
  rank: number;
  dummy: boolean;
}

/** Two cells of adjacent ranks joined by (part of) an edge, `dx` its offsets from their centres. */
interface Link {
  upper: Cell;
  lower: Cell;
  upperDx: number;
  lowerDx: number;
  /** How hard the link pulls its ends into line. */
  weight: number;
}

function countCrossings(order: Cell[][], links: Link[]): number {
  const position = new Map<Cell, number>();
  for (const rank of order) rank.forEach((cell, i) => position.set(cell, i));
  let crossings = 0;
  for (let i = 0; i < links.length; i++) {
    for (let j = i + 1; j < links.length; j++) {
      const a = links[i]!;
      const b = links[j]!;
      if (a.upper.rank !== b.upper.rank) continue;
      const up = position.get(a.upper)! - position.get(b.upper)!;
      const down = position.get(a.lower)! - position.get(b.lower)!;
      if (up * down < 0) crossings++;
    }
  }
  return crossings;
}

/** Reorders each rank by the mean position of its cells' neighbours in the rank before (or after). */
function sweep(order: Cell[][], links: Link[], downward: boolean): Cell[][] {
  const next = order.map((rank) => [...rank]);
  const ranks = next.map((_, i) => i);
  if (!downward) ranks.reverse();
  for (const r of ranks.slice(1)) {
    const position = new Map<Cell, number>();
    for (const rank of next) rank.forEach((cell, i) => position.set(cell, i));
    const key = new Map<Cell, number>();
    for (const cell of next[r]!) {
      const neighbours = links
        .filter((link) => (downward ? link.lower === cell : link.upper === cell))
        .map((link) => position.get(downward ? link.upper : link.lower)!);
      key.set(cell, neighbours.length ? neighbours.reduce((a, b) => a + b, 0) / neighbours.length : position.get(cell)!);
    }
    next[r]!.sort((a, b) => key.get(a)! - key.get(b)!);
  }
  return next;
}

/**
 * Positions `x` (centres, in order) as close to `want` as their weights ask,
 * with at least `gap[i]` between centre i and centre i+1: pool adjacent
 * violators over the positions less their minimum offsets.
 */
function fit(want: number[], weight: number[], gap: number[]): number[] {
  const offset = [0];
  for (let i = 1; i < want.length; i++) offset.push(offset[i - 1]! + gap[i - 1]!);
  const blocks: { mean: number; weight: number; size: number }[] = [];
  want.forEach((x, i) => {
    let block = { mean: x - offset[i]!, weight: weight[i]!, size: 1 };
    while (blocks.length && blocks[blocks.length - 1]!.mean >= block.mean) {
      const last = blocks.pop()!;
      const total = last.weight + block.weight;
      block = { mean: (last.mean * last.weight + block.mean * block.weight) / total, weight: total, size: last.size + block.size };
    }
    blocks.push(block);
  });
  const result: number[] = [];
  for (const block of blocks) for (let k = 0; k < block.size; k++) result.push(block.mean + offset[result.length]!);
  return result;
}

/** The rank grid of one level: every cell in its rank, in order, and the edges as chains of linked cells. */
interface Grid {
  order: Cell[][];
  links: Link[];
  chains: Map<string, { cells: Cell[]; label: Cell | undefined; down: boolean }>;
}

/** Step 2: the given nodes in their ranks, each edge a chain of cells down the ranks it spans. */
function buildGrid(nodes: LayerNode[], edges: LayerEdge[], layers: Map<string, number>): Grid & { cells: Map<string, Cell> } {
  const lastLayer = Math.max(0, ...nodes.filter((node) => !node.pin).map((node) => layers.get(node.id)!));
  const rankOf = (node: LayerNode) => (node.pin === 'top' ? 0 : node.pin === 'bottom' ? 2 * lastLayer + 2 : 2 * layers.get(node.id)! + 1);
  const cells = new Map<string, Cell>(nodes.map((node) => [node.id, { id: node.id, width: node.width, height: node.height, rank: rankOf(node), dummy: false }]));
  const order: Cell[][] = Array.from({ length: 2 * lastLayer + 3 }, () => []);
  for (const cell of cells.values()) order[cell.rank]!.push(cell);

  const links: Link[] = [];
  const chains: Grid['chains'] = new Map();
  for (const edge of edges) {
    const from = cells.get(edge.from)!;
    const to = cells.get(edge.to)!;
    const down = from.rank < to.rank;
    const [upper, lower] = down ? [from, to] : [to, from];
    // The label goes in the middle one of the gaps between layers that the edge spans.
    const gaps: number[] = [];
    for (let r = upper.rank + 1; r < lower.rank; r++) if (r % 2 === 0) gaps.push(r);
    const labelRank = edge.label ? gaps[Math.floor((gaps.length - 1) / 2)] : undefined;
    const chain = [upper];
    let label: Cell | undefined;
    for (let r = upper.rank + 1; r < lower.rank; r++) {
      const dummy: Cell = { id: `${edge.id}@${r}`, width: 0, height: 0, rank: r, dummy: true };
      if (r === labelRank) {
        Object.assign(dummy, edge.label);
        label = dummy;
      }
      order[r]!.push(dummy);
      chain.push(dummy);
    }
    chain.push(lower);
    const upperX = down ? edge.fromX : edge.toX;
    const lowerX = down ? edge.toX : edge.fromX;
    for (let i = 0; i + 1 < chain.length; i++) {
      const a = chain[i]!;
      const b = chain[i + 1]!;
      links.push({
        upper: a,
        lower: b,
        upperDx: i === 0 && upperX !== undefined ? upperX - a.width / 2 : 0,
        lowerDx: i + 2 === chain.length && lowerX !== undefined ? lowerX - b.width / 2 : 0,
        weight: a.dummy && b.dummy ? 8 : a.dummy || b.dummy ? 2 : 1,
      });
    }
    chains.set(edge.id, { cells: chain, label, down });
  }
  return { cells, order, links, chains };
}

/** Step 3: barycentre sweeps down and up; the order with the fewest crossings seen wins. */
function leastCrossings(order: Cell[][], links: Link[]): Cell[][] {
  let best = order;
  let fewest = countCrossings(order, links);
  let current = order;
  for (let round = 0; round < 8 && fewest > 0; round++) {
    for (const downward of [true, false]) {
      current = sweep(current, links, downward);
      const crossings = countCrossings(current, links);
      if (crossings < fewest) {
        best = current;
        fewest = crossings;
      }
    }
  }
  return best;
}

/** The least distance between the centres of each two neighbours in a rank. */
function gapsOf(rank: Cell[]): number[] {
  return rank.slice(0, -1).map((cell, i) => {
    const next = rank[i + 1]!;
    const lane = (cell.dummy && cell.width === 0) || (next.dummy && next.width === 0);
    return (cell.width + next.width) / 2 + (lane ? SPACING.lane : SPACING.node);
  });
}

/** Step 4: x of every cell's centre, the leftmost edge at 0. */
function placeX({ order, links, chains }: Grid): Map<Cell, number> {
  const x = new Map<Cell, number>();
  for (const rank of order) {
    let left = 0;
    for (const cell of rank) {
      x.set(cell, left + cell.width / 2);
      left += cell.width + SPACING.node;
    }
  }
  // Each cell wants the weighted mean of where its links would have it; ranks in turn, down then up.
  for (let round = 0; round < 24; round++) {
    const ranks = order.map((_, i) => i);
    if (round % 2) ranks.reverse();
    for (const r of ranks) {
      const rank = order[r]!;
      const want: number[] = [];
      const weight: number[] = [];
      for (const cell of rank) {
        let sum = 0;
        let total = 0;
        for (const link of links) {
          if (link.upper === cell) sum += link.weight * (x.get(link.lower)! + link.lowerDx - link.upperDx);
          else if (link.lower === cell) sum += link.weight * (x.get(link.upper)! + link.upperDx - link.lowerDx);
          else continue;
          total += link.weight;
        }
        want.push(total ? sum / total : x.get(cell)!);
        weight.push(total || 0.01);
      }
      fit(want, weight, gapsOf(rank)).forEach((value, i) => x.set(rank[i]!, value));
    }
  }
  // A long edge runs in one straight lane (its label's, or its middle dummy's) where every rank it passes leaves room.
  for (const { cells: chain, label } of chains.values()) {
    const dummies = chain.slice(1, -1);
    if (dummies.length < 2) continue;
    const lane = x.get(label ?? dummies[Math.floor((dummies.length - 1) / 2)]!)!;
    const room = dummies.every((cell) => {
      const rank = order[cell.rank]!;
      const i = rank.indexOf(cell);
      const gaps = gapsOf(rank);
      return (i === 0 || lane - x.get(rank[i - 1]!)! >= gaps[i - 1]!) && (i === rank.length - 1 || x.get(rank[i + 1]!)! - lane >= gaps[i]!);
    });
    if (room) for (const cell of dummies) x.set(cell, lane);
  }
  const left = Math.min(...[...x].map(([cell, value]) => value - cell.width / 2));
  for (const [cell, value] of x) x.set(cell, value - left);
  return x;
}

/** Each rank's band: as tall as its tallest cell; an empty rank takes no room. */
function bandsOf(order: Cell[][]): { top: number[]; bottom: number[]; height: number } {
  const top: number[] = [];
  const bottom: number[] = [];
  let y = 0;
  order.forEach((rank, r) => {
    const height = Math.max(0, ...rank.map((cell) => cell.height));
    top[r] = y;
    bottom[r] = y + height;
    if (rank.length) y += height + SPACING.rank;
  });
  return { top, bottom, height: Math.max(0, y - SPACING.rank) };
}

/**
 * Step 5: where each edge meets its boxes, by `<edge id>|bottom` (its upper
 * end) and `<edge id>|top`: in line with where it goes next when the box is
 * wide enough, kept apart from the other edges on that side; an edge that goes
 * on inside a box meets it where it must.
 */
function attachPoints(grid: Grid, edges: LayerEdge[], x: Map<Cell, number>, boxOf: (cell: Cell) => Box, pinned: Set<string>): Map<string, number> {
  const attach = new Map<string, number>();
  const sides = new Map<string, { key: string; want: number; fixed: boolean; box: Box }[]>();
  const within = (value: number, box: Box) => {
    const inset = Math.min(BOX_INSET, box.width / 2);
    return Math.min(Math.max(value, box.x + inset), box.x + box.width - inset);
  };
  for (const edge of edges) {
    const { cells: chain, down } = grid.chains.get(edge.id)!;
    const ends: [Cell, Cell, number | undefined, 'bottom' | 'top'][] = [
      [chain[0]!, chain[1]!, down ? edge.fromX : edge.toX, 'bottom'],
      [chain[chain.length - 1]!, chain[chain.length - 2]!, down ? edge.toX : edge.fromX, 'top'],
    ];
    for (const [cell, neighbour, fixed, side] of ends) {
      const key = `${edge.id}|${side}`;
      if (pinned.has(cell.id)) {
        attach.set(key, x.get(cell)!);
        continue;
      }
      const box = boxOf(cell);
      const want = fixed !== undefined ? box.x + fixed : within(x.get(neighbour)!, box);
      const sideKey = `${cell.id}|${side}`;
      sides.set(sideKey, [...(sides.get(sideKey) ?? []), { key, want, fixed: fixed !== undefined, box }]);
    }
  }
  for (const ends of sides.values()) {
    ends.sort((a, b) => a.want - b.want);
    const spread = fit(
      ends.map((end) => end.want),
      ends.map((end) => (end.fixed ? 1000 : 1)),
      ends.slice(1).map(() => SPACING.port),
    );
    ends.forEach((end, i) => attach.set(end.key, end.fixed ? end.want : within(spread[i]!, end.box)));
  }
  return attach;
}

/** Lays out one level (see the module comment); `layers` comes from `assignLayers`. */
export function arrange(nodes: LayerNode[], edges: LayerEdge[], layers: Map<string, number>): Placement {
  const built = buildGrid(nodes, edges, layers);
  const grid: Grid = { ...built, order: leastCrossings(built.order, built.links) };
  const x = placeX(grid);
  const bands = bandsOf(grid.order);
  const boxOf = (cell: Cell): Box => {
    const mid = (bands.top[cell.rank]! + bands.bottom[cell.rank]!) / 2;
    return { x: x.get(cell)! - cell.width / 2, y: mid - cell.height / 2, width: cell.width, height: cell.height };
  };
  const attach = attachPoints(grid, edges, x, boxOf, new Set(nodes.filter((node) => node.pin).map((node) => node.id)));

  const placedEdges = new Map<string, PlacedEdge>();
  for (const edge of edges) {
    const { cells: chain, label, down } = grid.chains.get(edge.id)!;
    const first = chain[0]!;
    const last = chain[chain.length - 1]!;
    const start = { x: attach.get(`${edge.id}|bottom`)!, y: boxOf(first).y + first.height };
    const end = { x: attach.get(`${edge.id}|top`)!, y: boxOf(last).y };
    // Straight out of the box's band and into the other's, so no bend cuts across a box beside them.
    const points: Point[] = [start, { x: start.x, y: bands.bottom[first.rank]! }];
    for (const cell of chain.slice(1, -1)) points.push({ x: x.get(cell)!, y: bands.top[cell.rank]! }, { x: x.get(cell)!, y: bands.bottom[cell.rank]! });
    points.push({ x: end.x, y: bands.top[last.rank]! }, end);
    const distinct = points.filter((p, i) => i === 0 || p.x !== points[i - 1]!.x || p.y !== points[i - 1]!.y);
    placedEdges.set(edge.id, { points: down ? distinct : distinct.reverse(), label: label && boxOf(label) });
  }

  const cells = [...x.keys()];
  return {
    width: Math.max(0, ...cells.map((cell) => x.get(cell)! + cell.width / 2)),
    height: bands.height,
    nodes: new Map(nodes.map((node) => [node.id, boxOf(built.cells.get(node.id)!)])),
    edges: placedEdges,
  };
}
