/**
 * The dashboard page's script, run by the browser. Type-checked against the DOM
 * by its own tsconfig (./tsconfig.json, part of `npm run typecheck`), never
 * imported by the library: `npm run visualize` strips its types and writes the
 * text to src/dashboard/script.ts, which the page inlines, allowed by its hash.
 *
 * It may import types only (the inlined script is one file, with no loader).
 * It knows nothing of the machines: the snapshot says which states their actors
 * report and which chart node each one lights (src/dashboard/machines.ts).
 * Every value from the stream goes in the DOM as text (`textContent`), never as
 * markup: an error message is whatever a server sent.
 */
import type { ActorView, PageEvents, PageFeed, PageGovernor, PageMachine, PageMachines, PagePool, PageRecord, PageRequest, PageSnapshot, PageState, PageView } from '../protocol.js';

interface Card {
  /** The states of the card's machine, by the name actors report. */
  states: ReadonlyMap<string, PageState>;
  counters: HTMLElement;
  /** A pool's governor strip (hidden while the pool has none). */
  governor: HTMLElement;
  /** What the strip shows but the time left of a pause, so an unchanged governor redraws nothing. */
  governorKey?: string;
  timeline: HTMLElement;
  chart: HTMLElement;
  /** What is lit now, so an unchanged view redraws nothing. */
  lit: string;
  /** The id of the template its chart was cloned from: charts of one template share their measurements. */
  template: string;
  /** What badges may not cover now: the chart's obstacles and the badges placed so far. */
  obstacles?: Obstacles;
}


/** A governor in a pause: its badge counts the time left down between two stats. */
interface Pause {
  badge: HTMLElement;
  state: string;
  /** When the pause ends, on the server's clock. */
  until: number;
}

/** An actor on a chart: its state, and its badge (a slot's number, a feed's state). */
interface Lit {
  state: string;
  label: string;
}

/** A rectangle in a chart's coordinates. */
interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** What a badge must not cover: text and boxes (state titles, event labels, atomic states), and points along every line (arrows, borders). */
interface Obstacles {
  /** `owner`: the state (its `data-state`) whose own badge may sit inside the box. */
  boxes: { box: Box; owner: string | null }[];
  points: DOMPoint[];
  /** The machine's outer box: badges stay inside it. */
  bounds: Box;
}

/** A state an actor entered, as its timeline draws it. */
interface Change {
  /** When (server clock); -Infinity for the state it was in before the first change the page knows. */
  at: number;
  to: string;
  event?: string | undefined;
  reason?: string | undefined;
}

/** One slot's or feed's timeline. */
interface Track {
  bar: HTMLElement;
  /** Oldest first; the first may have begun before the window. */
  changes: Change[];
  /** Drawn segments by change, reused so a tooltip being read is not replaced under the pointer. */
  segments: Map<string, HTMLElement>;
  /** Filled from the 500 ms stats (recording off): a short state between two of them is not seen. */
  sampled: boolean;
}

/** The cells of an actor's row in the table. */
interface Row {
  tr: HTMLTableRowElement;
  actor: HTMLTableCellElement;
  state: HTMLTableCellElement;
  age: HTMLTableCellElement;
  attempts: HTMLTableCellElement;
  error: HTMLTableCellElement;
  served: HTMLTableCellElement;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/** How far back the timelines show (ms). */
const WINDOW = 60_000;
/**
 * The narrowest a state is drawn on a timeline (px). At 60 s over 600 px a pixel is
 * 100 ms, so a slot that heals in 5 ms would otherwise not show at all.
 */
const MIN_SEGMENT = 4;

/** The page's element that `selector` names; the page is served with all of them. */
function find<T extends Element>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}

const cardsEl = find<HTMLElement>('#cards');
const actorsEl = find<HTMLTableSectionElement>('#actors tbody');
const logEl = find<HTMLTableSectionElement>('#log tbody');
const statusEl = find<HTMLElement>('#status');
const requestsEl = find<HTMLTableSectionElement>('#requests tbody');
const requestsTable = find<HTMLTableElement>('#requests');
const requestsOff = find<HTMLElement>('#requests-off');

/** This tab's clock minus the server's: times in state are the server's. */
let offset = 0;
/** Rows the event log keeps: the server says how many. */
let logRows = 0;
const cards = new Map<string, Card>();
const rows = new Map<string, Row>();
const tracks = new Map<string, Track>();
/** What each chart template's badges may not cover: measured once, as every clone of it is the same drawing. */
const measured = new Map<string, Obstacles>();
/** Set when the stream ended: the server's time of the last thing heard, where the page stops its clocks. */
let goneAt: number | undefined;
/** The server's time of the last event. */
let lastHeard = 0;
/** The requests shown, so an unchanged log redraws nothing. */
let requestsKey = '';
/** The governors in a pause, by pool id: their badges' time left runs on between stats. */
const pauses = new Map<string, Pause>();

/** The server's time now, or when the stream ended: times in state and timelines stop there. */
function now(): number {
  return goneAt ?? Date.now() - offset;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string | number): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function duration(ms: number): string {
  if (!(ms >= 0)) return '';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  if (ms < 3600000) return Math.floor(ms / 60000) + ' m ' + Math.floor((ms % 60000) / 1000) + ' s';
  return Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' m';
}

function clockTime(at: number): string {
  const d = new Date(at);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
}

function card(kind: keyof PageMachines, machine: PageMachine, id: string, label: string): void {
  const article = el('article', { class: 'card', 'data-source': id, 'data-kind': kind });
  const title = el('h2', {}, id);
  title.appendChild(el('span', { class: 'label' }, label));
  article.appendChild(title);
  const counters = el('div', { class: 'counters' });
  article.appendChild(counters);
  const governor = el('div', { class: 'governor', 'data-source': id });
  governor.hidden = true;
  article.appendChild(governor);
  const timeline = el('div', { class: 'timeline' });
  article.appendChild(timeline);
  const chart = el('div', { class: 'chart' });
  const template = find<HTMLTemplateElement>('#' + CSS.escape(machine.chart));
  chart.appendChild(template.content.cloneNode(true));
  article.appendChild(chart);
  cardsEl.appendChild(article);
  const states = new Map(machine.states.map((state) => [state.name, state]));
  cards.set(id, { states, counters, governor, timeline, chart, lit: '', template: machine.chart });
}

/** A timeline row for each actor of a card, then the time axis under them. */
function timelines(source: string, actors: readonly ActorView[], recording: boolean): void {
  const entry = cards.get(source);
  if (!entry) return;
  for (const actor of actors) {
    const row = el('div', { class: 'track-row' });
    row.appendChild(el('span', { class: 'track-name' }, actor.actor));
    const bar = el('div', { class: 'track', 'data-source': source, 'data-actor': actor.actor });
    row.appendChild(bar);
    entry.timeline.appendChild(row);
    tracks.set(source + '/' + actor.actor, { bar, changes: [], segments: new Map(), sampled: !recording });
  }
  const axis = el('div', { class: 'axis' });
  axis.appendChild(el('span', {}, 'last ' + WINDOW / 1000 + ' s'));
  const marks = el('span');
  for (const mark of ['-' + WINDOW / 1000 + ' s', '-' + WINDOW / 2000 + ' s', 'now']) marks.appendChild(el('span', {}, mark));
  axis.appendChild(marks);
  entry.timeline.appendChild(axis);
  if (!recording) entry.timeline.appendChild(el('div', { class: 'note' }, 'recording off: sampled every 500 ms, short states are missed'));
}

function build(view: PageSnapshot): void {
  cardsEl.textContent = '';
  actorsEl.textContent = '';
  cards.clear();
  rows.clear();
  pauses.clear();
  tracks.clear();
  for (const pool of view.pools) {
    card('pool', view.machines.pool, pool.id, pool.origin);
    timelines(pool.id, pool.slots, pool.recording);
  }
  for (const feed of view.feeds) {
    card('feed', view.machines.feed, feed.id, feed.url);
    timelines(feed.id, [feed.summary], feed.recording);
  }
  if (!view.pools.length && !view.feeds.length) cardsEl.appendChild(el('p', { class: 'empty' }, 'No pools or feeds to show.'));
}

function counters(target: HTMLElement, pairs: [string, string | number][], recording: boolean): void {
  target.textContent = '';
  for (const [name, value] of pairs) {
    const item = el('span', {}, name + ' ');
    item.appendChild(el('b', {}, value));
    target.appendChild(item);
  }
  if (!recording) target.appendChild(el('span', {}, 'recording off'));
}

// --- a pool's governor: its state, its shared store, the budget of each window, its waiters ------

/** What a state badge says: the state, and while paused or banned the time left (`paused 2.9 s left`). */
/** A venue's window as it names it: 10 s, 1 min, 1 h, 1 day; ms only when it is not whole seconds. */
function windowLength(ms: number): string {
  for (const [unit, size] of [['day', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1_000]] as const) {
    if (ms >= size && ms % size === 0) return ms / size + ' ' + unit;
  }
  return ms + ' ms';
}

function pauseText(state: string, left: number): string {
  return left > 0 ? state + ' ' + duration(left) + ' left' : state;
}

/**
 * The governor strip of a pool's card: a badge for its state (open, paused, banned: with the
 * time left of a pause, counted down between stats), a `degraded` badge while its shared store is
 * unreachable, a bar per window (used / limit, and what is left), and its waiters by priority.
 * Redrawn whole when anything but the time left changed (a few elements), so a badge being read is
 * not replaced under the pointer every 500 ms; the time left of a pause ticks with the clock.
 */
function drawGovernor(source: string, entry: Card, g: PageGovernor | undefined, at: number): void {
  const target = entry.governor;
  const key = g ? JSON.stringify({ ...g, pausedFor: g.pausedFor > 0 }) : '';
  const pause = pauses.get(source);
  if (key === entry.governorKey) {
    // The same pause: only its end, as this view of the server's clock says it.
    if (pause && g) pause.until = at + g.pausedFor;
    return;
  }
  entry.governorKey = key;
  target.textContent = '';
  target.hidden = g === undefined;
  pauses.delete(source);
  if (!g) return;
  target.setAttribute('data-state', g.state);
  target.setAttribute('data-store', g.store);
  target.appendChild(el('span', { class: 'gov-title' }, 'governor'));
  const state = el('span', { class: 'gov-badge gov-state', 'data-governor-state': g.state }, pauseText(g.state, g.pausedFor));
  target.appendChild(state);
  if (g.pausedFor > 0) pauses.set(source, { badge: state, state: g.state, until: at + g.pausedFor });
  if (g.store === 'degraded') {
    target.appendChild(el('span', { class: 'gov-badge gov-degraded', title: 'the shared budget store is unreachable: this process counts on its local share' }, 'degraded'));
  } else if (g.store !== 'local') {
    target.appendChild(el('span', { class: 'gov-store' }, 'store ' + g.store));
  }
  g.limits.forEach((limit, i) => {
    const used = g.used[i] ?? 0;
    const left = Math.max(0, limit - used);
    const name = 'per ' + windowLength(g.pers[i] ?? 0);
    const item = el('span', { class: 'gov-window', 'data-window': String(i), title: name + ': ' + used + ' of ' + limit + ' spent or reserved, ' + left + ' left' });
    item.appendChild(el('span', { class: 'gov-name' }, name));
    const bar = el('span', { class: 'gov-bar' });
    const fill = el('span', { class: 'gov-fill' });
    fill.style.width = Math.min(100, limit > 0 ? (used / limit) * 100 : 100).toFixed(1) + '%';
    fill.classList.toggle('full', left === 0);
    bar.appendChild(fill);
    item.appendChild(bar);
    item.appendChild(el('b', { class: 'gov-used' }, used + '/' + limit));
    item.appendChild(el('span', { class: 'gov-left' }, left + ' left'));
    target.appendChild(item);
  });
  const waiting = el('span', { class: 'gov-waiting' }, 'waiting');
  for (const [priority, count] of Object.entries(g.waiting)) {
    const one = el('span', { 'data-priority': priority }, ' ' + priority + ' ');
    one.appendChild(el('b', {}, count));
    waiting.appendChild(one);
  }
  target.appendChild(waiting);
  const tally = el('span', { class: 'gov-counts' }, 'rate limited ');
  tally.appendChild(el('b', {}, g.rateLimited));
  tally.appendChild(document.createTextNode(' pauses '));
  tally.appendChild(el('b', {}, g.pauses));
  tally.appendChild(document.createTextNode(' bans '));
  tally.appendChild(el('b', {}, g.bans));
  if (g.degradations > 0) {
    tally.appendChild(document.createTextNode(' degradations '));
    tally.appendChild(el('b', {}, g.degradations));
  }
  target.appendChild(tally);
}

/** The time left of every pause, counted down on the server's clock (stopped when the stream ended). */
function pauseClocks(): void {
  const at = now();
  for (const pause of pauses.values()) pause.badge.textContent = pauseText(pause.state, Math.max(0, pause.until - at));
}

// --- badges: placed where they cover no title, event label, state or arrow ----------------------

const overlaps = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const grow = (b: Box, by: number): Box => ({ x: b.x - by, y: b.y - by, w: b.w + 2 * by, h: b.h + 2 * by });
const inside = (p: DOMPoint, b: Box): boolean => p.x >= b.x && p.x <= b.x + b.w && p.y >= b.y && p.y <= b.y + b.h;
const boxOf = (node: SVGGraphicsElement): Box => {
  const b = node.getBBox();
  return { x: b.x, y: b.y, w: b.width, h: b.height };
};

/** Points every 3 px along `path` (a drawn line: an arrow, a divider, a border); `free` keeps badges 4 px from each. */
function along(path: SVGGeometryElement): DOMPoint[] {
  const length = path.getTotalLength();
  const points: DOMPoint[] = [];
  for (let at = 0; at <= length; at += 3) points.push(path.getPointAtLength(at));
  return points;
}

/** Everything in `svg` a badge may not cover. Measured in the chart's own units, so the chart's scale on screen does not matter. */
function measure(svg: SVGSVGElement): Obstacles {
  const boxes: Obstacles['boxes'] = [];
  const points: DOMPoint[] = [];
  for (const text of svg.querySelectorAll<SVGTextElement>('text')) boxes.push({ box: grow(boxOf(text), 2), owner: null });
  for (const rect of svg.querySelectorAll<SVGRectElement>('.transition > rect, .any > rect')) boxes.push({ box: boxOf(rect), owner: null });
  for (const dot of svg.querySelectorAll<SVGCircleElement>('circle')) boxes.push({ box: grow(boxOf(dot), 2), owner: null });
  // A leaf state: the badge may sit inside its own box (clear of its title), never on another's.
  for (const rect of svg.querySelectorAll<SVGRectElement>('.state.atomic > rect:not(.inner), .state.final > rect:not(.inner)')) {
    boxes.push({ box: grow(boxOf(rect), 2), owner: rect.parentElement?.getAttribute('data-state') ?? null });
  }
  // Arrows (and their heads, about 4 px either side of the line's end), dividers, and the borders of compound states.
  for (const path of svg.querySelectorAll<SVGPathElement>('g path')) points.push(...along(path));
  for (const rect of svg.querySelectorAll<SVGRectElement>('.state.compound > rect, .state.parallel > rect')) points.push(...along(rect));
  const root = svg.querySelector<SVGRectElement>('.state.root > rect');
  const bounds = root ? grow(boxOf(root), -3) : boxOf(svg);
  return { boxes, points, bounds };
}

/**
 * Places of a `w` x `h` badge near `b`, best first: inside its top-right corner, then beside
 * it on the right, left, above and below, then every place on a 4 px grid up to 40 px away,
 * nearest first (a crowded chart, a long label: a feed's `subscribing` has no free side).
 */
function candidates(b: Box, w: number, h: number): Box[] {
  const places: Box[] = [{ x: b.x + b.w - w - 4, y: b.y + 4, w, h }];
  const mid = b.y + b.h / 2 - h / 2;
  for (const gap of [4, 10]) {
    places.push(
      { x: b.x + b.w + gap, y: mid, w, h },
      { x: b.x - gap - w, y: mid, w, h },
      { x: b.x + b.w - w, y: b.y - gap - h, w, h },
      { x: b.x + b.w - w, y: b.y + b.h + gap, w, h },
    );
  }
  const near: [number, Box][] = [];
  for (let dy = -h - 40; dy <= b.h + 40; dy += 4) {
    for (let dx = -w - 40; dx <= b.w + 40; dx += 4) {
      const place = { x: b.x + dx, y: b.y + dy, w, h };
      const apartX = Math.max(b.x - (place.x + w), place.x - (b.x + b.w), 0);
      const apartY = Math.max(b.y - (place.y + h), place.y - (b.y + b.h), 0);
      if (apartX > 0 || apartY > 0) near.push([Math.hypot(apartX, apartY), place]);
    }
  }
  near.sort((a, b) => a[0] - b[0]);
  return [...places, ...near.map(([, place]) => place)];
}

/** Whether `place` (for `group`'s badge) stays in the chart and covers nothing. */
function free(place: Box, state: string | null, o: Obstacles): boolean {
  const { bounds } = o;
  if (place.x < bounds.x || place.y < bounds.y || place.x + place.w > bounds.x + bounds.w || place.y + place.h > bounds.y + bounds.h) return false;
  if (o.boxes.some(({ box, owner }) => owner !== state && overlaps(place, box))) return false;
  const reach = grow(place, 4);
  return !o.points.some((p) => inside(p, reach));
}

function badge(entry: Card, group: SVGGElement, text: string): void {
  const svg = group.ownerSVGElement;
  const box = group.querySelector<SVGGraphicsElement>(':scope > rect');
  if (!svg || !box) return;
  let base = measured.get(entry.template);
  if (!base) measured.set(entry.template, (base = measure(svg)));
  // This card's own copy of the boxes: the badges it places are added to it.
  const o = (entry.obstacles ??= { ...base, boxes: [...base.boxes] });
  const holder = document.createElementNS(SVG_NS, 'g');
  holder.setAttribute('class', 'badges');
  const bg = document.createElementNS(SVG_NS, 'rect');
  bg.setAttribute('class', 'badge-bg');
  const label = document.createElementNS(SVG_NS, 'text');
  label.setAttribute('class', 'badge');
  label.setAttribute('text-anchor', 'middle');
  label.textContent = text;
  holder.appendChild(bg);
  holder.appendChild(label);
  group.appendChild(holder);
  const width = Math.ceil(label.getComputedTextLength()) + 10;
  const places = candidates(boxOf(box), width, 16);
  // Nowhere free (a chart too crowded, a label too long): on the state's corner, covering the least.
  const state = group.getAttribute('data-state');
  const place = places.find((p) => free(p, state, o)) ?? places[0]!;
  bg.setAttribute('x', String(place.x));
  bg.setAttribute('y', String(place.y));
  bg.setAttribute('width', String(width));
  bg.setAttribute('height', '16');
  bg.setAttribute('rx', '8');
  label.setAttribute('x', String(place.x + width / 2));
  label.setAttribute('y', String(place.y + 12));
  // A badge placed is an obstacle for the next one.
  o.boxes.push({ box: grow(place, 1), owner: null });
}

/** Slot numbers as runs: 0-3,6 rather than 0,1,2,3,6, so the badge of a big pool stays small. */
function runs(labels: string[]): string {
  const numbers = labels.map(Number);
  if (numbers.some((n) => !Number.isInteger(n))) return labels.join(',');
  const parts: string[] = [];
  for (let i = 0; i < numbers.length; ) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    parts.push(j - i >= 2 ? numbers[i] + '-' + numbers[j] : numbers.slice(i, j + 1).join(','));
    i = j + 1;
  }
  return parts.join(',');
}

/** Lights the chart node of every actor's state, badged with the labels of the actors on it. */
function light(entry: Card, actors: Lit[]): void {
  const byNode = new Map<string, { state: string; parents: string[]; labels: string[] }>();
  for (const actor of actors) {
    const state = entry.states.get(actor.state);
    if (!state) continue; // a state the server did not name has no node to light
    let lit = byNode.get(state.node);
    if (!lit) byNode.set(state.node, (lit = { state: actor.state, parents: state.parents, labels: [] }));
    lit.labels.push(actor.label);
  }
  const key = JSON.stringify(Array.from(byNode));
  if (key === entry.lit) return;
  entry.lit = key;
  for (const n of entry.chart.querySelectorAll<SVGElement>('.lit, .lit-parent')) {
    n.classList.remove('lit', 'lit-parent');
    n.style.removeProperty('--lit');
  }
  for (const n of entry.chart.querySelectorAll('.badges')) n.remove();
  // The badges placed earlier are gone, and no longer in the way.
  delete entry.obstacles;
  for (const [node, lit] of byNode) {
    const group = entry.chart.querySelector<SVGGElement>('[data-state="' + CSS.escape(node) + '"]');
    if (!group) continue;
    group.classList.add('lit');
    group.style.setProperty('--lit', 'var(--' + lit.state + ')');
    for (const parent of lit.parents) entry.chart.querySelector('[data-state="' + CSS.escape(parent) + '"]')?.classList.add('lit-parent');
    badge(entry, group, runs(lit.labels));
  }
}

function row(source: string, actor: ActorView): void {
  const key = source + '/' + actor.actor;
  let cells = rows.get(key);
  if (!cells) {
    const tr = el('tr', { 'data-source': source, 'data-actor': actor.actor });
    const cell = (name: string) => tr.appendChild(el('td', { class: name }));
    cell('source').textContent = source;
    cells = {
      tr,
      actor: cell('actor'),
      state: cell('state'),
      age: cell('age num'),
      attempts: cell('attempts num'),
      error: cell('error wrap'),
      served: cell('served num'),
    };
    actorsEl.appendChild(tr);
    rows.set(key, cells);
  }
  // A slot of a pool with several origins names the one it is on (it can move).
  cells.actor.textContent = actor.origin ? actor.actor + ' @ ' + actor.origin : actor.actor;
  cells.tr.setAttribute('data-state-name', actor.state);
  if (actor.since !== undefined) cells.tr.setAttribute('data-since', String(actor.since));
  else cells.tr.removeAttribute('data-since');
  cells.state.textContent = actor.state;
  cells.attempts.textContent = String(actor.attempts);
  cells.error.textContent = actor.lastError || '';
  cells.served.textContent = actor.served === undefined ? '' : String(actor.served);
}

function ages(): void {
  pauseClocks();
  const at = now();
  for (const cells of rows.values()) {
    const since = cells.tr.getAttribute('data-since');
    cells.age.textContent = since === null ? '' : duration(at - Number(since));
  }
}

// --- timelines: the last minute of every slot and feed ------------------------------------------

/** Adds a state change to its actor's timeline. */
function remember(source: string, actor: string, at: number, from: string | undefined, c: Omit<Change, 'at'>): void {
  const track = tracks.get(source + '/' + actor);
  if (!track) return;
  // The first change the page learns of says what came before it.
  if (!track.changes.length && from !== undefined) track.changes.push({ at: -Infinity, to: from });
  track.changes.push({ at, ...c });
}

/**
 * What the stats say of an actor's state. A recorded actor's changes come as records: its
 * stats only start a timeline that has none (its state since `since`). An unrecorded one is
 * sampled: a change between two stats is not seen.
 */
function sample(source: string, actor: ActorView, at: number): void {
  const track = tracks.get(source + '/' + actor.actor);
  if (!track) return;
  const last = track.changes[track.changes.length - 1];
  if (!last) track.changes.push({ at: actor.since ?? -Infinity, to: actor.state });
  else if (track.sampled && last.to !== actor.state) track.changes.push({ at, to: actor.state });
}

interface Span {
  change: Change;
  end: number;
  /** Left and right edges (px). */
  x: number;
  right: number;
  short: boolean;
}

/**
 * Where each state of the window goes on a bar `width` px wide: by time, but none narrower
 * than MIN_SEGMENT. A short state pushes the ones after it right, and near `now` they are
 * pushed back left, so a burst of short states reads as a run of slivers, none hidden.
 */
function layout(changes: readonly Change[], at: number, width: number): Span[] {
  const start = at - WINDOW;
  const scale = width / WINDOW;
  const spans: Span[] = [];
  changes.forEach((change, i) => {
    const end = Math.min(changes[i + 1]?.at ?? at, at);
    if (end <= start) return;
    const x = (Math.max(change.at, start) - start) * scale;
    const right = (end - start) * scale;
    spans.push({ change, end, x, right, short: right - x < MIN_SEGMENT });
  });
  let edge = 0;
  for (const span of spans) {
    span.x = Math.max(span.x, edge);
    span.right = Math.max(span.right, span.x + MIN_SEGMENT);
    edge = span.right;
  }
  let limit = width;
  for (let i = spans.length - 1; i >= 0; i--) {
    const span = spans[i]!;
    span.right = Math.min(span.right, limit);
    span.x = Math.max(0, Math.min(span.x, span.right - MIN_SEGMENT));
    limit = span.x;
  }
  return spans;
}

/** What a segment's tooltip says: the state, how long, since when, and what caused it. */
function describe(span: Span, open: boolean): string {
  const { change } = span;
  if (change.at === -Infinity) return change.to + ' until ' + clockTime(span.end) + ' (since when is not known: before the first change recorded)';
  let text = change.to + ' ' + duration(span.end - change.at) + (open ? ' so far' : '') + ', from ' + clockTime(change.at);
  if (change.event) text += ', on ' + change.event;
  if (change.reason) text += ': ' + change.reason;
  return text;
}

function drawTrack(track: Track, at: number): void {
  // Nothing older than the window is kept but the state it began in.
  while (track.changes.length > 1 && track.changes[1]!.at <= at - WINDOW) track.changes.shift();
  const width = track.bar.clientWidth;
  if (!width) return;
  const spans = layout(track.changes, at, width);
  const seen = new Set<string>();
  spans.forEach((span, i) => {
    const key = span.change.at + '/' + span.change.to;
    seen.add(key);
    let seg = track.segments.get(key);
    if (!seg) {
      seg = el('div', { class: 'seg', 'data-state': span.change.to });
      seg.style.setProperty('--seg', 'var(--' + span.change.to + ', var(--dim))');
      track.bar.appendChild(seg);
      track.segments.set(key, seg);
    }
    const open = i === spans.length - 1 && goneAt === undefined;
    seg.style.left = span.x.toFixed(1) + 'px';
    seg.style.width = (span.right - span.x).toFixed(1) + 'px';
    seg.classList.toggle('short', span.short);
    seg.classList.toggle('before', span.change.at === -Infinity);
    if (span.change.at !== -Infinity) seg.setAttribute('data-ms', String(Math.round(span.end - span.change.at)));
    seg.title = describe(span, open);
  });
  for (const [key, seg] of track.segments) {
    if (seen.has(key)) continue;
    seg.remove();
    track.segments.delete(key);
  }
}

function drawTimelines(): void {
  const at = now();
  for (const track of tracks.values()) drawTrack(track, at);
}

let drawing = false;

/** Draws the timelines at the next frame: a burst of records (every slot of a pool healing at once) draws once. */
function drawSoon(): void {
  if (drawing) return;
  drawing = true;
  requestAnimationFrame(() => {
    drawing = false;
    drawTimelines();
  });
}

// --- the requests panel --------------------------------------------------------------------------

/** Milliseconds from one step of a request to the next, when both happened. */
function step(from: number | undefined, to: number | undefined): string {
  return from === undefined || to === undefined ? '' : (to - from).toFixed(1) + ' ms';
}

function requests(view: PageView): void {
  const shown = view.pools.filter((pool) => pool.requests !== undefined);
  const all = shown.flatMap((pool) => (pool.requests ?? []).map((r): [string, PageRequest] => [pool.id, r]));
  all.sort((a, b) => b[1].times.done - a[1].times.done);
  const key = shown.length + ':' + all.length + ':' + (all[0] ? all[0][1].id + '/' + all[0][1].attempt + '/' + all[0][1].times.done : '');
  if (key === requestsKey) return;
  requestsKey = key;
  // Off for every pool: say how to turn it on. Off for some: their ids, so no one reads an empty log as no requests.
  const off = view.pools.filter((pool) => pool.requests === undefined).map((pool) => pool.id);
  requestsOff.hidden = off.length === 0;
  requestsOff.firstChild!.textContent = shown.length ? off.join(', ') + ': request log off: enable it with the pool option ' : 'request log off: enable it with the pool option ';
  requestsTable.hidden = shown.length === 0;
  requestsEl.textContent = '';
  for (const [source, r] of all) {
    const t = r.times;
    const tr = el('tr', { 'data-source': source, 'data-id': String(r.id) });
    tr.appendChild(el('td', {}, clockTime(t.done)));
    tr.appendChild(el('td', {}, source));
    tr.appendChild(el('td', { class: 'num' }, r.id));
    tr.appendChild(el('td', { class: 'num' }, r.slot));
    tr.appendChild(el('td', { class: 'wrap' }, r.method + ' ' + r.path));
    tr.appendChild(el('td', {}, r.attempt + (r.replayed ? ' (replayed)' : '')));
    tr.appendChild(el('td', { class: r.error ? 'error' : '' }, r.error ?? String(r.status ?? '')));
    tr.appendChild(el('td', { class: 'num' }, step(t.queued, t.acquired)));
    tr.appendChild(el('td', { class: 'num' }, step(t.acquired, t.written)));
    tr.appendChild(el('td', { class: 'num' }, step(t.written, t.headers)));
    tr.appendChild(el('td', { class: 'num' }, step(t.queued ?? t.acquired ?? t.written, t.done)));
    requestsEl.appendChild(tr);
  }
}

// --- the stream ----------------------------------------------------------------------------------

function updatePool(pool: PagePool, entry: Card, at: number): void {
  const s = pool.stats;
  // The count of slots in each state of the machine, in the order the stats list them.
  const stats: [string, unknown][] = Object.entries(s);
  const byState = stats.filter(([name]) => entry.states.has(name)).map(([name, count]): [string, string] => [name, String(count)]);
  counters(entry.counters, [['connections', s.connections], ...byState, ['waiting', s.waiting]], pool.recording);
  drawGovernor(pool.id, entry, pool.governor, at);
  light(entry, pool.slots.map((slot, index) => ({ state: slot.state, label: String(index) })));
  for (const slot of pool.slots) {
    row(pool.id, slot);
    sample(pool.id, slot, at);
  }
}

function updateFeed(feed: PageFeed, entry: Card, at: number): void {
  const s = feed.stats;
  counters(entry.counters, [['state', s.state], ['messages', s.messages], ['dropped', s.dropped],
    ['connections', s.connections], ['attempts', s.attempts], ['subscriptions', s.subscriptions]], feed.recording);
  // The badge says the state the feed is in, as the node it sits on does.
  light(entry, [{ state: feed.summary.state, label: feed.summary.state }]);
  row(feed.id, feed.summary);
  sample(feed.id, feed.summary, at);
}

function update(view: PageView): void {
  offset = Date.now() - view.now;
  lastHeard = view.now;
  for (const pool of view.pools) {
    const entry = cards.get(pool.id);
    if (entry) updatePool(pool, entry, view.now);
  }
  for (const feed of view.feeds) {
    const entry = cards.get(feed.id);
    if (entry) updateFeed(feed, entry, view.now);
  }
  requests(view);
  ages();
  drawTimelines();
}

function record(r: PageRecord, fresh: boolean): void {
  lastHeard = Math.max(lastHeard, r.at);
  remember(r.source, r.actor, r.at, r.from, { to: r.to, event: r.event, reason: r.reason });
  const tr = el('tr', { 'data-source': r.source, 'data-actor': r.actor, 'data-to': r.to, class: fresh ? 'fresh' : '' });
  tr.appendChild(el('td', {}, clockTime(r.at)));
  tr.appendChild(el('td', {}, r.source + ' / ' + r.actor));
  const change = el('td', {});
  change.appendChild(el('span', { class: 'to-' + r.from }, r.from));
  change.appendChild(document.createTextNode(' \u2192 '));
  change.appendChild(el('span', { class: 'to-' + r.to }, r.to));
  tr.appendChild(change);
  tr.appendChild(el('td', {}, r.event));
  tr.appendChild(el('td', { class: 'wrap' }, r.reason || ''));
  logEl.insertBefore(tr, logEl.firstChild);
  while (logEl.children.length > logRows) logEl.lastElementChild?.remove();
}

/** Calls `handle` with each `name` event of `source`, its data parsed as the server sent it. */
function on<E extends keyof PageEvents>(source: EventSource, name: E, handle: (data: PageEvents[E]) => void): void {
  source.addEventListener(name, (e) => handle(JSON.parse((e as MessageEvent<string>).data) as PageEvents[E]));
}

function snapshot(view: PageSnapshot): void {
  goneAt = undefined;
  document.body.classList.remove('gone');
  logRows = view.logRows;
  offset = Date.now() - view.now;
  build(view);
  logEl.textContent = '';
  requestsKey = '';
  // The history first: the timelines begin with what was recorded, and the view only starts those with no record.
  for (const r of view.history) record(r, false);
  update(view);
  statusEl.textContent = 'live';
  statusEl.className = 'live';
}

/**
 * The stream ended: the process is gone (or restarting, or its dashboard closed). What the
 * page shows is the last it heard, so it is greyed and its clocks stop there. EventSource
 * keeps retrying; a process back on the same port sends a snapshot, which makes the page live again.
 */
function gone(): void {
  if (goneAt === undefined) goneAt = lastHeard || Date.now() - offset;
  document.body.classList.add('gone');
  statusEl.textContent = 'process gone: last heard ' + clockTime(goneAt) + ', retrying';
  statusEl.className = 'gone';
  ages();
  drawTimelines();
}

function connect(): void {
  const source = new EventSource('events');
  on(source, 'snapshot', snapshot);
  on(source, 'stats', update);
  on(source, 'record', (r) => {
    record(r, true);
    drawSoon();
  });
  source.addEventListener('error', gone);
}

// Also while gone: the clocks are stopped, but a window resized still needs the timelines redrawn.
setInterval(() => {
  ages();
  drawTimelines();
}, 250);
connect();
